"""Ten synthetic nights of two lab hosts, written as report folders by the harness's own writer
(:func:`harness.report.results.write_results`), for the history's tests to ingest the real way.

Planted in them (and nothing else that a rule should flag):

* drift: ``resume_latency_ms`` of ``test_call_declined`` on iOS 18.5 (lab-a's iPhone A) holds
  near 350 ms for six nights, then climbs 45 ms a night;
* a flaky scenario: ``test_siri`` on iPhone A fails and passes again on the same app build
  (nights 7 and 8, and a rerun passing within night 9);
* a phone with repeated lab faults: lab-b's iPhone C has ``wda-down`` on ``test_lock_screen`` on
  five of the last six nights;
* new since last night: ``test_timer`` fails tonight on iPhone C, which passed it last night.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from harness.report.results import TestResult, run_metadata, write_results

NIGHTS = 10
FIRST_NIGHT = (2026, 3, 1)
DRIFT_FROM = 6  # the first night (0-based) whose latency climbs
HOSTS = {
    "lab-a": {"device": "iPhone A", "udid": "00008120-00000000000000A1", "model": "iPhone17,1",
              "ios": "18.5"},
    "lab-b": {"device": "iPhone C", "udid": "00008110-00000000000000C3", "model": "iPhone14,5",
              "ios": "17.5.1"},
}
SCENARIOS = ("test_call_declined", "test_timer", "test_siri", "test_lock_screen")


def night_start(night: int) -> float:
    y, m, d = FIRST_NIGHT
    return time.mktime((y, m, d + night, 22, 0, 0, 0, 0, -1))


def build(night: int) -> str:
    return "230" if night < 5 else "231"


def outcomes(host: str, night: int) -> list[tuple[str, str, str, str]]:
    """(scenario, outcome, rule, lab tag) of one host's run on one night, in run order."""
    out = []
    for scenario in SCENARIOS:
        outcome, rule, tag = "pass", "", ""
        if host == "lab-a" and scenario == "test_siri" and night == 7:
            outcome, rule = "app-failure", "resume-on-should-resume"
        if host == "lab-b" and scenario == "test_lock_screen" and night in (4, 5, 6, 8, 9):
            outcome, tag = "lab-fault", "wda-down"
        if host == "lab-b" and scenario == "test_timer" and night == NIGHTS - 1:
            outcome, rule = "app-failure", "level-after-resume"
        out.append((scenario, outcome, rule, tag))
        if host == "lab-a" and scenario == "test_siri" and night == 8:  # failed, passed on the rerun
            out[-1] = (scenario, "app-failure", "resume-on-should-resume", "")
            out.append((scenario, "pass", "", ""))
    return out


def write_night(root: Path, host: str, night: int) -> Path:
    rng = np.random.default_rng(1000 * night + (1 if host == "lab-a" else 2))
    phone = HOSTS[host]
    results = []
    for scenario, outcome, rule, tag in outcomes(host, night):
        metrics: dict[str, float] = {}
        if outcome == "pass" and scenario in ("test_call_declined", "test_timer"):
            latency = 350 + rng.normal(0, 8)
            if host == "lab-a" and scenario == "test_call_declined" and night >= DRIFT_FROM:
                latency += 45 * (night - DRIFT_FROM + 1)
            metrics = {"resume_latency_ms": round(float(latency), 1),
                       "level_change_db": round(float(rng.normal(-0.1, 0.2)), 2)}
        results.append(TestResult(f"testcases/{scenario}.py::{scenario}", outcome, duration_s=20.0,
                                  rule=rule, lab_tag=tag, device=phone["device"], metrics=metrics,
                                  message="planted" if outcome != "pass" else ""))
    start = night_start(night) + (0 if host == "lab-a" else 120)
    device = {k: v for k, v in phone.items() if k != "device"}
    meta = run_metadata({"host": host, "pid": 4000 + night, "started_at": start, "finished_at": start + 600,
                         "lab": f"/etc/harness/{host}.yaml",
                         "devices": {phone["device"]: {**device, "role": "dut", "app_version": "2.3.0",
                                                       "app_build": build(night)}}})
    folder = root / f"night-{night:02d}" / host
    folder.mkdir(parents=True)
    write_results(folder / "results.json", results, meta)
    return folder


def write_nights(root: Path, nights: int = NIGHTS) -> list[Path]:
    return [write_night(root, host, n) for n in range(nights) for host in HOSTS]
