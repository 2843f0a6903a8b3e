"""The plugin's results with and without pytest-xdist: outcomes, teardown errors, device metadata,
JUnit properties (xunit1), progress lines and ``--defect`` selection."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = "tests/cli/scenarios/outcomes.py"


def pytest_run(out: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pytest", SCENARIOS, "--harness-out", str(out),
                           f"--junitxml={out / 'junit.xml'}", "-o", "junit_family=xunit1",
                           "-p", "no:cacheprovider", "-q", *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["in-process", "xdist"])
def test_results_junit_and_progress(tmp_path: Path, workers: list[str]) -> None:
    run = pytest_run(tmp_path, *workers)
    assert run.returncode == 1, run.stdout[-3000:]
    data = json.loads((tmp_path / "results.json").read_text())
    by_name = {t["name"]: t for t in data["tests"]}
    assert {n: t["outcome"] for n, t in by_name.items()} == {
        "test_passes": "pass", "test_app_fails": "app-failure", "test_lab_fault_in_teardown": "lab-fault",
        "test_bug_in_teardown": "error", "test_skips": "skipped"}
    assert by_name["test_app_fails"]["rule"] == "resume-on-should-resume"
    assert by_name["test_lab_fault_in_teardown"]["lab_tag"] == "wda-down"
    assert by_name["test_lab_fault_in_teardown"]["teardown_error"].startswith("WDA died")
    assert by_name["test_bug_in_teardown"]["teardown_error"] == "RuntimeError: peer did not stop"
    assert by_name["test_passes"]["metrics"] == {"resume_latency_ms": 364.5}
    assert by_name["test_passes"]["device"] == "iPhone A"
    assert data["summary"]["teardown-errors"] == 2
    assert data["exit_code"] == 4  # a harness error outranks the app failure
    device = data["metadata"]["devices"]["iPhone A"]
    assert device["app_version"] == "1.4.0" and device["wda_version"] == "8.4.1"
    assert device["ios_build"] == "21F90"
    assert data["metadata"]["seeds"] == {"downlink": 17484, "mouth": 19796, "other_audio": 20289}
    assert (tmp_path / "index.html").is_file()

    cases = {c.get("name"): c for c in ET.parse(tmp_path / "junit.xml").getroot().iter("testcase")}
    props = {n: {p.get("name"): p.get("value") for p in c.iter("property")} for n, c in cases.items()}
    assert props["test_passes"]["resume_latency_ms"] == "364.5" and props["test_passes"]["outcome"] == "pass"
    assert props["test_passes"]["device"] == "iPhone A"
    assert props["test_app_fails"]["rule"] == "resume-on-should-resume"
    assert props["test_lab_fault_in_teardown"]["lab_tag"] == "wda-down"
    assert props["test_bug_in_teardown"]["outcome"] == "error"

    lines = [json.loads(x) for x in (tmp_path / "progress.jsonl").read_text().splitlines()]
    assert lines[0] == {"kind": "collected", "count": 5}
    assert sorted(x["name"] for x in lines[1:]) == sorted(by_name)


def test_defect_runs_only_the_scenarios_that_declare_it(tmp_path: Path) -> None:
    run = pytest_run(tmp_path, "--defect", "never_resumes")
    assert run.returncode == 1, run.stdout[-3000:]
    data = json.loads((tmp_path / "results.json").read_text())
    assert [t["name"] for t in data["tests"]] == ["test_app_fails"]
    assert data["exit_code"] == 1
