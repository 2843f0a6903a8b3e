"""``harness history report``: the window of nights read back, judged, and written as a page."""

from __future__ import annotations

from pathlib import Path

from harness.history.db import History
from harness.history.page import render
from harness.history.query import load_window
from harness.history.trends import Trends, judge


def trends_of(history: History, nights: int) -> Trends:
    window, rows = load_window(history, nights)
    return judge(window, rows)


def write_trends(history: History, out: Path, nights: int) -> Trends:
    trends = trends_of(history, nights)
    out.mkdir(parents=True, exist_ok=True)
    tmp = out / "index.html.tmp"
    tmp.write_text(render(trends, nights), encoding="utf-8")
    tmp.replace(out / "index.html")
    return trends
