"""A test's phases become one result; teardown errors are counted; progress lines are written."""

from __future__ import annotations

import json
from pathlib import Path

from harness.errors import ExitCode
from harness.report.recorder import PhaseReport, RunRecorder
from harness.report.results import exit_code, summarize


def _run(rec: RunRecorder, nodeid: str, *phases: PhaseReport, props=None):
    result = None
    for p in phases:
        result = rec.phase(nodeid, p, props or [])
    return result


def test_a_passing_test_with_a_failing_teardown_is_not_a_pass(tmp_path: Path) -> None:
    rec = RunRecorder()
    r = _run(rec, "t::a", PhaseReport("setup", "pass"), PhaseReport("call", "pass"),
             PhaseReport("teardown", "error", message="RuntimeError: peer did not stop"))
    assert r.outcome == "error" and r.teardown_error == "RuntimeError: peer did not stop"
    assert r.message.startswith("teardown: ")
    assert summarize(rec.results)["teardown-errors"] == 1
    assert exit_code(rec.results) == ExitCode.INTERNAL


def test_a_lab_fault_in_teardown_stays_a_lab_fault() -> None:
    rec = RunRecorder()
    r = _run(rec, "t::a", PhaseReport("setup", "pass"), PhaseReport("call", "pass"),
             PhaseReport("teardown", "lab-fault", lab_tag="device-gone", message="phone detached"))
    assert (r.outcome, r.lab_tag) == ("lab-fault", "device-gone")
    assert exit_code(rec.results) == ExitCode.LAB_FAULT


def test_a_failed_test_keeps_its_verdict_and_counts_the_teardown_error() -> None:
    rec = RunRecorder()
    r = _run(rec, "t::a", PhaseReport("setup", "pass"),
             PhaseReport("call", "app-failure", rule="no-speaker-leak", message="leak"),
             PhaseReport("teardown", "lab-fault", lab_tag="wda-down", message="WDA died"))
    assert (r.outcome, r.rule, r.lab_tag) == ("app-failure", "no-speaker-leak", "")
    assert r.teardown_error == "WDA died"
    assert summarize(rec.results) == {"pass": 0, "app-failure": 1, "lab-fault": 0, "error": 0, "skipped": 0,
                                      "teardown-errors": 1}


def test_setup_decides_and_skips_are_skips() -> None:
    rec = RunRecorder()
    r = _run(rec, "t::a", PhaseReport("setup", "lab-fault", lab_tag="sim-start"),
             PhaseReport("teardown", "pass"))
    assert r.outcome == "lab-fault"
    r = _run(rec, "t::b", PhaseReport("setup", "skipped", message="no caller"),
             PhaseReport("teardown", "pass"))
    assert r.outcome == "skipped" and r.message == "no caller"
    assert exit_code(rec.results) == ExitCode.LAB_FAULT


def test_metrics_device_and_artifacts_come_from_the_properties() -> None:
    rec = RunRecorder()
    props = [("artifacts", "/x/tests/a"), ("device", "iPhone A"), ("resume_latency_ms", 364.5),
             ("outcome", "pass")]
    r = _run(rec, "t::a", PhaseReport("setup", "pass"), PhaseReport("call", "pass"),
             PhaseReport("teardown", "pass"), props=props)
    assert r.metrics == {"resume_latency_ms": 364.5}
    assert r.device == "iPhone A" and r.artifacts == {"dir": "/x/tests/a"}


def test_progress_lines_and_a_crashed_worker(tmp_path: Path) -> None:
    progress = tmp_path / "progress.jsonl"
    rec = RunRecorder(progress)
    rec.set_collected(3)
    _run(rec, "t::a", PhaseReport("setup", "pass"), PhaseReport("call", "pass"),
         PhaseReport("teardown", "pass"))
    rec.phase("t::b", PhaseReport("setup", "pass"))  # its worker died here
    rec.collection_error("testcases/test_broken.py", "SyntaxError: invalid syntax")
    results = rec.finish()
    assert [r.outcome for r in results] == ["pass", "error", "error"]
    lines = [json.loads(x) for x in progress.read_text().splitlines()]
    assert lines[0] == {"kind": "collected", "count": 3}
    assert [x["nodeid"] for x in lines[1:]] == ["t::a", "testcases/test_broken.py", "t::b"]
    assert lines[1]["index"] == 1 and lines[1]["total"] == 3
