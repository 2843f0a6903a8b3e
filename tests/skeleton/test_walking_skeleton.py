"""The first scenario end to end on the virtual lab, scored against the lab's ground truth.

These tests may read the virtual lab's ground truth (``truth/<udid>.jsonl``); the scenario itself
never does.
"""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from harness.audio.analyze import analyze
from harness.audio.capture import read_capture
from harness.audio.probe import DOWNLINK_SEED, probe
from harness.lab.virtual import LabProcess, start_lab_process
from harness.timeline import read_events

SCENARIO = "testcases/test_call_answered_then_ended.py"
ROOT = Path(__file__).resolve().parents[2]
Run = subprocess.CompletedProcess[str]


def harness_run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "harness", "run", SCENARIO, *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def lab_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LabProcess, Path, Run]]:
    """The scenario on a virtual lab this test started (so it can read the lab's state after)."""
    base = tmp_path_factory.mktemp("skeleton")
    sim = start_lab_process(base / "lab", phones=2)
    try:
        out = base / "out"
        # --keep-audio all: the gap is measured on the whole receiver capture, which a passing test
        # would otherwise keep only as an excerpt
        run = harness_run("--lab", str(sim.lab_yaml), "--out", str(out), "--keep-audio", "all")
        yield sim, out, run
    finally:
        sim.stop()


def test_correct_app_passes(lab_run) -> None:
    _, out, run = lab_run
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    results = json.loads((out / "results.json").read_text())
    assert results["summary"]["pass"] == 1
    metrics = results["tests"][0]["metrics"]
    assert 0 < metrics["resume_latency_ms"] < 2000
    junit = (out / "junit.xml").read_text()
    assert 'name="resume_latency_ms"' in junit


def test_wda_traffic_went_through_the_usbmux_forward(lab_run) -> None:
    sim, _, _ = lab_run
    lab = sim.state
    for phone in lab["phones"]:
        with urllib.request.urlopen(f"{lab['control_url']}/phones/{phone['udid']}/connects", timeout=10) as r:
            connects = json.load(r)
        # Every facebook-wda request opens a usbmux Connect to device port 8100 via the forwarder.
        assert connects.get("8100", 0) >= 5, (phone["name"], connects)


def test_measured_gap_matches_ground_truth_within_20_ms(lab_run) -> None:
    sim, out, _ = lab_run
    dut = next(p for p in sim.state["phones"] if p["role"] == "dut")
    truth = [e for e in read_events(sim.state_dir / "truth" / f"{dut['udid']}.jsonl") if e.source == "app"]
    stopped = [e.t_ns for e in truth if e.kind == "output-stopped"]
    started = [e.t_ns for e in truth if e.kind == "output-started"]
    assert len(stopped) >= 1 and len(started) >= 2, [e.kind for e in truth]
    true_start, true_end = stopped[0], next(t for t in started if t > stopped[0])

    test_dir = next((out / "tests").iterdir())
    rec = read_capture(test_dir / "audio" / "receiver.wav")
    samples = rec.samples if rec.samples.ndim == 1 else rec.samples[:, 0]
    seconds = len(samples) / rec.rate + 60
    result = analyze(samples, rec.rate, {"downlink": probe(seconds, DOWNLINK_SEED)})
    gaps = [g for g in result.gaps if g.duration_ms > 500]
    assert len(gaps) == 1, result.to_dict()["gaps"]
    gap = gaps[0]
    measured_start = rec.time_of(gap.start_s * rec.rate)
    measured_end = rec.time_of(gap.end_s * rec.rate)
    errors_ms = (np.array([measured_start - true_start, measured_end - true_end]) / 1e6).round(2)
    print(f"gap start/end error vs ground truth: {errors_ms.tolist()} ms; duration {gap.duration_ms:.1f} ms")
    assert np.all(np.abs(errors_ms) <= 20), errors_ms


def test_never_resumes_fails_naming_the_rule(tmp_path: Path) -> None:
    run = harness_run("--defect", "never_resumes", "--out", str(tmp_path))
    assert run.returncode == 1, run.stdout[-3000:] + run.stderr[-3000:]
    test = json.loads((tmp_path / "results.json").read_text())["tests"][0]
    assert test["outcome"] == "app-failure"
    assert test["rule"] == "resume-on-should-resume"
    assert "never came back" in test["message"]
