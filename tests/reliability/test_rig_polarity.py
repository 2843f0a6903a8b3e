"""An inverting capture chain is a property of the rig: `harness doctor --captures OUT` lists each route's
polarity from the newest capture a run kept (reliability-probe.md finding 2)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from harness.audio.probe import DOWNLINK_SEED, probe
from harness.audio.wav import write_wav
from harness.cli.doctor import polarity_section
from harness.report.rig_polarity import route_polarities

R = 48000
T0 = 10**12
NODE = "testcases/test_x.py::test_y"
FOLDER = "testcases_test_x.py_test_y"


def _capture(folder: Path, route: str, samples: np.ndarray) -> None:
    """A route capture as harness.audio.capture leaves it: 16-bit WAV plus its timing sidecar."""
    path = folder / "audio" / f"{route}.wav"
    write_wav(path, samples, R)
    lines = [{"kind": "header", "device": "USB Audio CODEC", "name": route, "rate": R, "channels": 1,
              "sample_format": "int16", "channel_names": [route]},
             {"kind": "anchor", "frame": 0, "t_ns": T0, "from": "test"},
             {"kind": "stop", "frames": len(samples)}]
    Path(str(path) + ".timing.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))


def _report(out: Path) -> Path:
    folder = out / "tests" / FOLDER
    folder.mkdir(parents=True)
    origin = T0 - 3 * 10**9  # the call (probe sample 0) started 3 s before the capture
    (folder / "timeline.jsonl").write_text(json.dumps({"t_ns": origin, "source": "peer", "kind": "downlink",
                                                       "mode": "probe", "seed": DOWNLINK_SEED,
                                                       "origin_ns": origin}) + "\n")
    heard = probe(13.0, DOWNLINK_SEED)[3 * R:] * 0.5  # what the route played, from the capture's start
    _capture(folder, "receiver", heard)
    _capture(folder, "speaker", -heard)
    _capture(folder, "bt_hfp", np.zeros(10 * R, np.float32))
    (out / "results.json").write_text(json.dumps({"schema": 2, "exit_code": 0, "tests": [
        {"nodeid": NODE, "name": "test_y", "outcome": "pass", "device": "QA iPhone 15"}]}))
    return out


def test_each_route_polarity_from_the_newest_capture(tmp_path: Path) -> None:
    out = _report(tmp_path / "out")
    got = {(r.device, r.route): r.polarity for r in route_polarities(out)}
    assert got == {("QA iPhone 15", "receiver"): "normal", ("QA iPhone 15", "speaker"): "inverted",
                   ("QA iPhone 15", "bt_hfp"): None}
    rows, text = polarity_section(str(out))
    assert len(rows) == 3 and "QA iPhone 15 speaker: INVERTED" in text and "bt_hfp: unknown" in text


def test_no_captures_yet_is_said_plainly(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    rows, text = polarity_section(None)
    assert rows == [] and "no captures yet" in text
    (tmp_path / "empty").mkdir()
    assert "holds no route captures" in polarity_section(str(tmp_path / "empty"))[1]


def test_doctor_prints_route_polarity(tmp_path: Path) -> None:
    """`harness doctor --captures` on a lab whose usbmuxd answers (the virtual lab's core only)."""
    out = _report(tmp_path / "out")
    state = tmp_path / "lab"
    lab = subprocess.Popen([sys.executable, "-m", "harness", "sim", "up", "--state-dir", str(state),
                            "--extensions", "none", "--phones", "1"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while not (state / "sim.json").exists():
            assert time.monotonic() < deadline and lab.poll() is None
            time.sleep(0.1)
        doctor = [sys.executable, "-m", "harness", "doctor", "--lab", str(state / "lab.yaml")]
        r = subprocess.run([*doctor, "--captures", str(out), "--timeout", "5"], capture_output=True,
                           text=True, timeout=120)
        assert r.returncode in (0, 3), r.stderr
        assert "route polarity (newest capture that holds the downlink" in r.stdout
        assert "speaker: INVERTED" in r.stdout and "receiver: normal" in r.stdout
        bad = subprocess.run([*doctor, "--captures", str(tmp_path / "nope")], capture_output=True, text=True,
                             timeout=60)
        assert bad.returncode == 2 and "--captures" in bad.stderr
    finally:
        lab.terminate()
        lab.wait(30)


def test_the_verdicts_own_analysis_is_read_when_kept(tmp_path: Path) -> None:
    out = _report(tmp_path / "out")
    audio = out / "tests" / FOLDER / "audio"
    (audio / "bt_hfp.analysis.json").write_text(json.dumps({"route": "bt_hfp",
                                                            "analysis": {"polarity": "inverted"}}))
    got = {r.route: r.polarity for r in route_polarities(out)}
    assert got["bt_hfp"] == "inverted" and got["speaker"] == "inverted" and got["receiver"] == "normal"
