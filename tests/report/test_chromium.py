"""The report opens in headless Chromium: no console errors, plots in the DOM and on screen."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from harness.report.build import write_report
from harness.report.plots import GAP_FILL, route_colour
from harness.report.results import TestResult, run_metadata
from tests.report import scene
from tests.report.chromium import decode_png, open_page


def _rgb(hex_colour: str) -> np.ndarray:
    return np.array([int(hex_colour[i:i + 2], 16) for i in (1, 3, 5)])


def _pixels_near(img: np.ndarray, colour: np.ndarray, tol: int = 40) -> int:
    return int(np.sum(np.all(np.abs(img[..., :3].astype(int) - colour) <= tol, axis=-1)))


async def test_report_opens_without_console_errors_and_shows_its_plots(tmp_path: Path) -> None:
    out = tmp_path / "out"
    folder = scene.build(out / "tests" / "t_call")
    results = [TestResult("testcases/test_x.py::test_call", "pass", device=scene.PHONE,
                          metrics={"resume_latency_ms": 364.5}, artifacts={"dir": str(folder)}),
               TestResult("testcases/test_x.py::test_lab", "lab-fault", lab_tag="wda-down",
                          message="WDA died")]
    write_report(out, results, run_metadata())
    page, close = await open_page((out / "index.html").as_uri(), tmp_path / "profile")
    try:
        dom = await page.evaluate("""JSON.stringify({
            timeline: document.querySelectorAll('svg.timeline-plot').length,
            levels: document.querySelectorAll('svg.level-plot').length,
            presence: document.querySelectorAll('svg.timeline-plot rect.presence').length,
            bands: document.querySelectorAll('svg.timeline-plot rect.gap-band').length,
            lines: document.querySelectorAll('svg.level-plot polyline.level-line').length,
            metrics: document.querySelectorAll('table.metrics').length,
            wavLinks: [...document.querySelectorAll('a[href$=".wav"]')].map(a => a.href),
            rect: (() => {
                const r = document.querySelector('svg.timeline-plot').getBoundingClientRect();
                return {x: r.x + scrollX, y: r.y + scrollY, width: r.width, height: r.height}; })(),
        })""")
        import json

        dom = json.loads(dom)
        shot = await page.screenshot(clip=dom["rect"])
        errors = list(page.errors)
    finally:
        await close()
    assert errors == [], errors
    assert dom["timeline"] == 1 and dom["levels"] >= 1 and dom["metrics"] == 2
    assert dom["presence"] == 2 and dom["bands"] == 1 and dom["lines"] == 2
    assert any(h.endswith("/tests/t_call/audio/receiver.wav") for h in dom["wavLinks"])
    img = decode_png(shot)
    (tmp_path / "timeline.png").write_bytes(shot)
    assert img.shape[1] >= 1000
    # the receiver's presence bars and the gap band are painted, not only present in the DOM
    assert _pixels_near(img, _rgb(route_colour("receiver")), tol=10) > 2000
    band = 0.85 * 255 + 0.15 * _rgb(GAP_FILL)  # 15 % red over white
    assert _pixels_near(img, band, tol=12) > 1000
