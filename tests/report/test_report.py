"""The report from a known artifacts folder: lanes, gap band, files, results.json, the bundle."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.audio.capture import read_capture
from harness.report.artifacts import gather
from harness.report.build import write_report
from harness.report.bundle import cut_capture, write_bundle
from harness.report.results import TestResult, run_metadata
from tests.report import scene


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return scene.build(tmp_path_factory.mktemp("report") / "out" / "tests" / "t_call")


def test_gap_band_is_where_no_route_carried_the_downlink(folder: Path) -> None:
    ev = gather(folder, {scene.UDID: scene.PHONE})
    receiver = next(c for c in ev.captures if c.route == "receiver")
    speaker = next(c for c in ev.captures if c.route == "speaker")
    assert speaker.presence == []
    assert len(receiver.presence) == 2, receiver.presence
    bands = ev.gap_bands()
    assert len(bands) == 1
    start_s, end_s = ((t - scene.T0) / 1e9 for t in bands[0])
    assert abs(start_s - scene.GAP[0]) < 0.03 and abs(end_s - scene.GAP[1]) < 0.03, (start_s, end_s)
    assert ev.start_ns == scene.T0
    lo, hi = ev.interruption_windows()[0]
    assert lo < bands[0][0] < bands[0][1] < hi


def test_level_envelope_is_on_the_lab_clock(folder: Path) -> None:
    ev = gather(folder, analyze_routes=False)
    rx = next(c for c in ev.captures if c.route == "receiver")
    mid_gap = scene.T0 + int(sum(scene.GAP) / 2 * 1e9)
    before = scene.T0 + int(2.5e9)
    i_gap = int(abs(rx.level_t_ns - mid_gap).argmin())
    i_before = int(abs(rx.level_t_ns - before).argmin())
    assert rx.level_db[i_gap] < -70 and rx.level_db[i_before] > -45


def test_write_report_lists_artifacts_relative_and_writes_device_log(folder: Path) -> None:
    out = folder.parents[1]
    r = TestResult("testcases/test_x.py::test_call", "app-failure", rule="resume-on-should-resume",
                   message="never came back", device=scene.PHONE, metrics={"resume_latency_ms": 364.5},
                   artifacts={"dir": str(folder)})
    meta = run_metadata({"devices": {scene.PHONE: {"udid": scene.UDID, "app_version": "1.2"}}})
    data = write_report(out, [r], meta)
    assert data["exit_code"] == 1
    saved = json.loads((out / "results.json").read_text())
    arts = saved["tests"][0]["artifacts"]
    assert arts["dir"] == "tests/t_call"
    assert sorted(arts["audio"]) == ["tests/t_call/audio/receiver.wav", "tests/t_call/audio/speaker.wav"]
    assert arts["screenshots"] == ["tests/t_call/Virtual_iPhone_A/answer_call-miss.png"]
    assert saved["metadata"]["seeds"]["downlink"] == 17484
    assert saved["metadata"]["versions"]["aiortc"]
    log = (folder / "device-log.txt").read_text()
    assert f"{scene.PHONE}" in log and "interruption-began" in log and "+4.000s" in log
    html = (out / "index.html").read_text()
    for needle in ('class="timeline-plot"', 'class="level-plot"', 'class="gap-band"', 'class="metrics"',
                   'href="tests/t_call/audio/receiver.wav"', 'href="tests/t_call/device-log.txt"',
                   'href="tests/t_call/Virtual_iPhone_A/answer_call-miss.png"', "resume-on-should-resume",
                   "app_version=1.2"):
        assert needle in html, needle
    assert "<script" not in html and "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")


def test_cut_capture_stays_on_the_lab_clock(folder: Path, tmp_path: Path) -> None:
    src = folder / "audio" / "receiver.wav"
    window = (scene.T0 + int(3e9), scene.T0 + int(8e9))
    span = cut_capture(src, tmp_path / "rx.wav", window)
    assert span is not None and abs(span[0] - 2.0) < 1e-3 and abs(span[1] - 7.0) < 1e-3
    orig, cut = read_capture(src), read_capture(tmp_path / "rx.wav")
    assert cut.complete and abs(cut.t0_ns - window[0]) < 1e5
    k = 1234
    assert abs(cut.time_of(k) - orig.time_of(k + int(2.0 * scene.RATE))) < 1e5
    assert abs(cut.samples[k] - orig.samples[k + int(2.0 * scene.RATE)]) < 1e-4


def test_bundle_is_self_contained(folder: Path, tmp_path: Path) -> None:
    r = TestResult("testcases/test_x.py::test_call", "app-failure", rule="resume-on-should-resume",
                   message="never came back", artifacts={"dir": str(folder)})
    cmds = {"cwd": ["/work"], "run it once": ["harness", "run", "testcases/test_x.py::test_call"]}
    index = write_bundle(tmp_path / "bundle", r, folder, run_metadata(), cmds, {scene.UDID: scene.PHONE})
    b = index.parent
    assert (b / "reproduce.sh").read_text().splitlines()[-1] == "harness run testcases/test_x.py::test_call"
    readme = (b / "README.txt").read_text()
    assert "resume-on-should-resume" in readme and "audio/receiver.wav: 0.0-10.0 s of the original" in readme
    excerpt = (b / "tests" / "t_call" / "device-log-excerpt.txt").read_text()
    assert "interruption-began" in excerpt
    assert (b / "tests" / "t_call" / "Virtual_iPhone_A" / "answer_call-miss.png").is_file()
    html = index.read_text()
    assert 'href="tests/t_call/audio/receiver.wav"' in html and 'class="gap-band"' in html
    assert read_capture(b / "tests" / "t_call" / "audio" / "receiver.wav").complete


def test_a_folder_with_one_event_renders_quickly(tmp_path: Path) -> None:
    """A phone that vanished before anything happened leaves a timeline of one instant."""
    import time

    from harness.report.plots import timeline_svg
    from harness.timeline import Timeline

    with Timeline(tmp_path / "t" / "timeline.jsonl"):
        pass
    started = time.monotonic()
    ev = gather(tmp_path / "t")
    svg = timeline_svg(ev)
    assert time.monotonic() - started < 5
    assert svg.startswith('<svg class="timeline-plot"') and svg.count('class="axis"') == 1
    data = write_report(tmp_path, [TestResult("t::x", "lab-fault", lab_tag="device-gone",
                                              artifacts={"dir": str(tmp_path / "t")})], run_metadata())
    assert data["exit_code"] == 3 and (tmp_path / "index.html").is_file()


def test_audio_that_never_came_back_is_a_gap_band_to_the_end(tmp_path: Path) -> None:
    from harness.audio.probe import DOWNLINK_SEED, probe

    folder = scene.build(tmp_path / "t")
    n = int(scene.CAPTURE_S * scene.RATE)
    start = int(scene.CAPTURE_FROM_S * scene.RATE)
    rx = 0.3 * probe(scene.CAPTURE_FROM_S + scene.CAPTURE_S + 1, DOWNLINK_SEED)[start:start + n]
    rx[int((scene.GAP[0] - scene.CAPTURE_FROM_S) * scene.RATE):] = 0.0
    t0 = scene.T0 + int(scene.CAPTURE_FROM_S * 1e9)
    scene.write_capture(folder / "audio" / "receiver.wav", rx, t0, "rx")
    bands = gather(folder).gap_bands()
    assert len(bands) == 1
    assert abs((bands[0][0] - scene.T0) / 1e9 - scene.GAP[0]) < 0.03
    assert abs((bands[0][1] - scene.T0) / 1e9 - (scene.CAPTURE_FROM_S + scene.CAPTURE_S)) < 0.03


def test_the_plot_shows_the_verdicts_own_analysis_not_a_second_one(tmp_path: Path) -> None:
    """Measure once: with an analysis file beside a capture (written by the evidence a verdict read),
    the report draws that presence. The file here says something the audio does not (heard only
    from 1.5 to 2.5 s), so a re-analysis would show."""
    import re

    from harness.audio.rig import analysis_path
    from harness.report.plots import timeline_svg

    folder = scene.build(tmp_path / "out" / "tests" / "t_call")
    rx = folder / "audio" / "receiver.wav"
    said = (scene.T0 + int(1.5e9), scene.T0 + int(2.5e9))
    analysis_path(rx).write_text(json.dumps({
        "route": "receiver", "clock": read_capture(rx).clock.to_dict(),
        "presence_ns": {"downlink": [list(said)]}, "analysis": {}}))
    ev = gather(folder, {scene.UDID: scene.PHONE})
    receiver = next(c for c in ev.captures if c.route == "receiver")
    speaker = next(c for c in ev.captures if c.route == "speaker")
    assert (receiver.presence, receiver.analysed_by) == ([said], "verdict")
    assert speaker.analysed_by == "report"  # no file: analysed for the plot, as before
    bars = re.findall(r'<rect class="presence" data-route="receiver"', timeline_svg(ev))
    assert len(bars) == 1


def test_device_log_ticks_are_capped_but_app_events_all_drawn(tmp_path: Path) -> None:
    """A real phone's log runs at hundreds of lines a second: the plot draws at most MAX_LOG_TICKS
    plain lines per phone (every app event still), and says how many it left out."""
    from harness.report.plots import MAX_LOG_TICKS, timeline_svg
    from harness.timeline import Timeline

    with Timeline(tmp_path / "t" / "timeline.jsonl") as tl:
        t0 = tl.now()
        for i in range(5000):
            tl.emit("device-log", "log", t_ns=t0 + i * 2_000_000, udid=scene.UDID, process="audiomxd", pid=1,
                    subsystem="", category="", level="default", message=f"line {i}")
            if i % 1000 == 0:
                tl.emit("device-log", "app-event", t_ns=t0 + i * 2_000_000, udid=scene.UDID, process="App",
                        pid=2, subsystem="", category="", level="default", message="HARNESS-EVENT x",
                        event="x")
    svg = timeline_svg(gather(tmp_path / "t", {scene.UDID: scene.PHONE}))
    assert svg.count('class="event device-log log"') == MAX_LOG_TICKS
    assert svg.count('class="event device-log app-event"') == 5
    assert f"{MAX_LOG_TICKS} of 5000 lines drawn" in svg
