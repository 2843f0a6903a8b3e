"""The run's static ``index.html``: summary, run metadata, and per test its evidence.

Per test (and phone): the timeline plot, level plots around each interruption, the metrics
table, and links to the WAVs, logs and screenshots. Everything is inline (SVG, CSS); links are
relative to the folder the page is in, so the folder can be copied or zipped as it is.
"""

from __future__ import annotations

import os
import time
from html import escape
from pathlib import Path
from typing import Any

from harness.report.artifacts import ArtifactFolder
from harness.report.plots import level_svg, timeline_svg
from harness.report.results import TestResult

CSS = """
body{font-family:sans-serif;margin:1.5em;color:#222;max-width:1200px}
h1{font-size:1.4em}h2{font-size:1.15em;margin-top:2em;border-top:1px solid #ccc;padding-top:.8em}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ddd;padding:3px 8px;font-size:13px;
text-align:left;vertical-align:top}th{background:#f3f3f3}
.pass{color:#1a7f37}.app-failure{color:#cf222e;font-weight:bold}.lab-fault{color:#9a6700;font-weight:bold}
.error{color:#8250df;font-weight:bold}.skipped{color:#777}
.levels{display:flex;flex-wrap:wrap;gap:8px}.files li{font-size:13px}.msg{white-space:pre-wrap;font-size:13px}
.note{color:#777;font-size:12px}
"""


def render_index(out: Path, results: list[TestResult], meta: dict[str, Any], summary: dict[str, int],
                 exit_code: int, folders: dict[str, ArtifactFolder | None],
                 title: str = "harness run") -> str:
    parts = ["<!doctype html><html lang=en><head><meta charset=utf-8>",
             f"<title>{escape(title)}</title><style>{CSS}</style></head><body>",
             f"<h1>{escape(title)}</h1>", _run_header(meta, summary, exit_code), _summary_table(results)]
    for i, r in enumerate(results):
        parts.append(_test_section(out, i, r, folders.get(r.nodeid)))
    parts.append(_metadata_section(meta))
    parts.append("</body></html>")
    return "\n".join(parts)


def _run_header(meta: dict[str, Any], summary: dict[str, int], exit_code: int) -> str:
    when = meta.get("finished_at")
    stamp = time.strftime("%Y-%m-%d %H:%M:%S %Z", time.localtime(float(when))) if when else "?"
    counts = ", ".join(f"{v} {k}" for k, v in summary.items() if v)
    return (f'<p id="run-summary">exit code <b>{exit_code}</b> &mdash; {escape(counts or "no tests")} '
            f'&mdash; finished {escape(stamp)} on {escape(str(meta.get("host", "?")))}</p>'
            '<p class="note">exit codes: 0 pass, 1 app failure, 2 usage or bad input, 3 only lab faults, '
            '4 internal error. Files: <a href="results.json">results.json</a>, '
            '<a href="junit.xml">junit.xml</a></p>')


def _summary_table(results: list[TestResult]) -> str:
    rows = ["<table id=tests><tr><th>#</th><th>outcome</th><th>test</th><th>device</th><th>detail</th>"
            "<th>s</th></tr>"]
    for i, r in enumerate(results):
        detail = r.rule or r.lab_tag or ""
        if r.teardown_error:
            detail += " (teardown error)"
        rows.append(f'<tr><td>{i + 1}</td><td class="{r.outcome}">{r.outcome}</td>'
                    f'<td><a href="#t{i}">{escape(r.nodeid)}</a></td><td>{escape(r.device)}</td>'
                    f"<td>{escape(detail)}</td><td>{r.duration_s:.1f}</td></tr>")
    rows.append("</table>")
    return "".join(rows)


def _test_section(out: Path, i: int, r: TestResult, ev: ArtifactFolder | None) -> str:
    parts = [f'<section class="test" id="t{i}"><h2>{escape(r.nodeid)} '
             f'<span class="{r.outcome}">{r.outcome}</span></h2>']
    if r.message:
        parts.append(f'<div class="msg">{escape(r.message)}</div>')
    if r.teardown_error:
        parts.append(f'<div class="msg">teardown: {escape(r.teardown_error)}</div>')
    parts.append(_metrics_table(r))
    if ev is None:
        parts.append('<p class="note">no artifacts folder for this test</p></section>')
        return "".join(parts)
    phones = sorted({str(e.fields["phone"]) for e in ev.events if e.source == "phone" and "phone" in e.fields}
                    | {ev.phones.get(str(e.fields.get("udid")), "") for e in ev.events
                       if e.source == "device-log" and e.fields.get("udid")} - {""})
    parts.append(f'<h3>timeline{": " + escape(", ".join(phones)) if phones else ""}</h3>')
    parts.append('<p class="note">t = seconds since the test started (lab clock). Gap bands: no route '
                 "carried the call's downlink. Hover for details.</p>")
    parts.append(timeline_svg(ev, title=r.nodeid))
    windows = ev.interruption_windows()
    if windows and any(len(c.level_t_ns) for c in ev.captures):
        parts.append("<h3>levels around each interruption</h3><div class=levels>")
        for k, w in enumerate(windows):
            lo, hi = (w[0] - ev.start_ns) / 1e9, (w[1] - ev.start_ns) / 1e9
            parts.append(level_svg(ev, w, title=f"interruption {k + 1}: {lo:.1f}-{hi:.1f} s"))
        parts.append("</div>")
    problems = [f"{c.route}: {c.error}" for c in ev.captures if c.error]
    if problems:
        parts.append(f'<p class="note">captures: {escape("; ".join(problems))}</p>')
    parts.append(_files(out, ev))
    parts.append("</section>")
    return "".join(parts)


def _metrics_table(r: TestResult) -> str:
    rows = [("outcome", r.outcome), ("device", r.device), ("rule", r.rule), ("lab tag", r.lab_tag),
            ("duration (s)", f"{r.duration_s:.2f}")]
    rows = [(k, v) for k, v in rows if v]
    rows += [(k, v) for k, v in r.metrics.items()]
    body = "".join(f"<tr><th>{escape(str(k))}</th><td>{escape(str(v))}</td></tr>" for k, v in rows)
    return f'<table class="metrics">{body}</table>'


def _files(out: Path, ev: ArtifactFolder) -> str:
    groups = [("recordings (route captures)", ev.files["audio"]),
              ("recordings around each interruption (the rest pruned: the test passed)",
               ev.files.get("excerpts", [])), ("peer (uplink)", ev.files["peer"]),
              ("screenshots", ev.files["screenshots"]), ("logs", ev.files["logs"]),
              ("other", ev.files["other"])]
    parts = ["<h3>files</h3><ul class=files>"]
    for label, paths in groups:
        if not paths:
            continue
        links = ", ".join(f'<a href="{escape(_rel(out, p))}">{escape(str(p.relative_to(ev.dir)))}</a>'
                          for p in paths)
        parts.append(f"<li>{escape(label)}: {links}</li>")
    parts.append("</ul>")
    return "".join(parts)


def _rel(out: Path, p: Path) -> str:
    return Path(os.path.relpath(p.resolve(), out.resolve())).as_posix()


def _metadata_section(meta: dict[str, Any]) -> str:
    rows = []
    for key in ("host", "python", "platform", "lab", "device", "defect", "argv"):
        if meta.get(key):
            value = " ".join(meta[key]) if isinstance(meta[key], list) else str(meta[key])
            rows.append(f"<tr><th>{escape(key)}</th><td>{escape(value)}</td></tr>")
    for dist, version in (meta.get("versions") or {}).items():
        rows.append(f"<tr><th>{escape(dist)}</th><td>{escape(str(version))}</td></tr>")
    for name, seed in (meta.get("seeds") or {}).items():
        rows.append(f"<tr><th>seed {escape(name)}</th><td>{escape(str(seed))}</td></tr>")
    devices = meta.get("devices") or {}
    dev_rows = "".join(
        f"<tr><th>{escape(name)}</th><td>"
        + escape(", ".join(f"{k}={v}" for k, v in fields.items())) + "</td></tr>"
        for name, fields in devices.items())
    return (f'<h2>run metadata</h2><table id="metadata">{"".join(rows)}</table>'
            f'<h3>devices</h3><table id="devices">{dev_rows or "<tr><td>none recorded</td></tr>"}</table>')
