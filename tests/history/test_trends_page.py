"""The acceptance page: ten synthetic nights ingested the real way, the trends page opened in
headless Chromium: the injected drift, the flaky scenario and the phone with repeated lab faults
are each flagged (and nothing else is), visibly."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from harness.cli import main
from harness.history.page import FLAG_COLOUR
from tests.history import nights
from tests.report.chromium import decode_png, open_page


async def test_the_trends_page_flags_the_drift_the_flake_and_the_faulty_phone(
        tmp_path: Path, night_folders: list[Path]) -> None:
    url = f"sqlite:///{tmp_path / 'h.sqlite'}"
    assert main(["history", "ingest", *map(str, night_folders), "--db", url]) == 0
    assert main(["history", "report", "--db", url, "--nights", "30", "--out", str(tmp_path / "trends")]) == 0
    page, close = await open_page((tmp_path / "trends" / "index.html").as_uri(), tmp_path / "profile",
                                  height=2000)
    try:
        dom = json.loads(await page.evaluate("""JSON.stringify({
            flags: [...document.querySelectorAll('#flags li.flag')].map(li => ({
                kind: li.dataset.kind, text: li.textContent,
                target: document.querySelector(li.querySelector('a').getAttribute('href')) !== null})),
            flagged: [...document.querySelectorAll('figure.trend.flagged')].map(f => ({
                id: f.id, flag: f.dataset.flag, caption: f.querySelector('figcaption').textContent,
                dot: f.querySelectorAll('circle.flagged-point').length,
                rect: (() => { const r = f.getBoundingClientRect();
                               return {x: r.x + scrollX, y: r.y + scrollY,
                                       width: r.width, height: r.height}; })()})),
            trends: document.querySelectorAll('figure.trend svg.trend-plot polyline.p50').length,
            flaky: [...document.querySelectorAll('#flaky tr.flaky')].map(r => r.textContent),
            health: [...document.querySelectorAll('#lab-health tr.flagged')].map(r => r.textContent),
            newRows: [...document.querySelectorAll('#new tr')].slice(1).map(r => r.textContent),
            nights: document.querySelectorAll('#pass-rates tr:nth-child(2) td.night').length,
        })"""))
        shot = await page.screenshot(clip=dom["flagged"][0]["rect"]) if dom["flagged"] else b""
        errors = list(page.errors)
    finally:
        await close()
    assert errors == [], errors
    assert sorted(f["kind"] for f in dom["flags"]) == ["flaky", "lab-health", "outlier"], dom["flags"]
    assert all(f["target"] for f in dom["flags"])  # each flag links to what it flags
    # the drift: resume latency of test_call_declined on iOS 18.5, tonight outside its trailing values
    (drift,) = dom["flagged"]
    assert drift["flag"] == "outlier" and drift["dot"] == 1
    assert "resume_latency_ms" in drift["caption"] and "test_call_declined" in drift["caption"]
    assert f"iOS {nights.HOSTS['lab-a']['ios']}" in drift["caption"]
    assert dom["trends"] == 8  # 2 metrics x 2 scenarios x 2 iOS versions
    (flake,) = dom["flaky"]
    assert "test_siri" in flake and "iPhone A" in flake and "rerun" in flake
    (faulty,) = dom["health"]
    assert "iPhone C" in faulty and "wda-down x 5" in faulty
    (new,) = dom["newRows"]
    assert "test_timer" in new and "same build" in new
    assert dom["nights"] == nights.NIGHTS
    # painted, not only in the DOM: the flagged trend's red frame and dot
    img = decode_png(shot)
    red = np.array([int(FLAG_COLOUR[i:i + 2], 16) for i in (1, 3, 5)])
    assert int(np.sum(np.all(np.abs(img[..., :3].astype(int) - red) <= 12, axis=-1))) > 1500
