"""Per-test outcomes and measurements, and ``results.json``: the source for trends across nights.

Each test ends in one of: ``pass``, ``app-failure`` (the app broke a playbook rule), ``lab-fault``
(the lab failed; never blamed on the app), ``error`` (the harness's own bug) or ``skipped``. The
run's exit code follows from them with the one exit-code table.

``results.json`` layout (``schema`` 2)::

    {"schema": 2, "exit_code": 0,
     "summary": {"pass": 1, "app-failure": 0, "lab-fault": 0, "error": 0, "skipped": 0,
                 "teardown-errors": 0},
     "metadata": {"host", "python", "argv", "started_at", "finished_at", "versions": {dist: version},
                  "seeds": {"downlink", "mouth", "other_audio"},
                  "devices": {name: {udid, model, ios, ios_build, app_version, app_build, wda_version}},
                  ...},
     "tests": [{nodeid, name, outcome, rule, lab_tag, device, duration_s, message, teardown_error,
                metrics: {name: value}, artifacts: {dir, timeline, device_log, audio: [...], ...}}]}
"""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import ExitCode, UsageError
from harness.report.classify import Verdict, classify

__all__ = ["OUTCOMES", "SCHEMA", "TestResult", "Verdict", "classify", "exit_code", "read_results",
           "run_metadata", "summarize", "worst_exit_code", "write_results"]

SCHEMA = 2
OUTCOMES = ("pass", "app-failure", "lab-fault", "error", "skipped")
VERSIONED = ("voiceharness", "aiortc", "facebook-wda", "pymobiledevice3", "sounddevice", "pytest",
             "pytest-xdist", "numpy", "av")


@dataclass
class TestResult:
    __test__ = False  # not a pytest test class

    nodeid: str
    outcome: str
    duration_s: float = 0.0
    message: str = ""
    rule: str = ""
    lab_tag: str = ""
    device: str = ""
    teardown_error: str = ""
    metrics: dict[str, Any] = field(default_factory=dict)
    artifacts: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.nodeid.rsplit("::", 1)[-1]

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, **asdict(self)}


OUTCOME_EXIT_CODES = {"error": ExitCode.INTERNAL, "app-failure": ExitCode.APP_FAILURE,
                      "lab-fault": ExitCode.LAB_FAULT, "pass": ExitCode.PASS, "skipped": ExitCode.PASS}
RUN_EXIT_PRECEDENCE = (ExitCode.INTERNAL, ExitCode.APP_FAILURE, ExitCode.LAB_FAULT, ExitCode.PASS)
"""Worst first: a harness error makes a run untrustworthy, then an app failure, then lab faults."""


def worst_exit_code(codes: Iterable[int]) -> ExitCode:
    """The worst of run exit codes by :data:`RUN_EXIT_PRECEDENCE` (PASS for none); ValueError for a
    code a run cannot end with (2 is a command's usage error, never a run's)."""
    found = set()
    for code in codes:
        if code not in RUN_EXIT_PRECEDENCE:
            known = [int(c) for c in RUN_EXIT_PRECEDENCE]
            raise ValueError(f"{code} is not a run's exit code (one of {known})")
        found.add(ExitCode(code))
    return next((c for c in RUN_EXIT_PRECEDENCE if c in found), ExitCode.PASS)


def exit_code(results: list[TestResult]) -> ExitCode:
    """0 all pass (or skipped); 1 any app failure; 3 only lab faults; 4 any harness error."""
    return worst_exit_code(OUTCOME_EXIT_CODES[r.outcome] for r in results)


def summarize(results: list[TestResult]) -> dict[str, int]:
    counts = {o: sum(1 for r in results if r.outcome == o) for o in OUTCOMES}
    counts["teardown-errors"] = sum(1 for r in results if r.teardown_error)
    return counts


def seeds() -> dict[str, int]:
    from harness.audio.probe import DOWNLINK_SEED, MOUTH_SEED, OTHER_AUDIO_SEED

    return {"downlink": DOWNLINK_SEED, "mouth": MOUTH_SEED, "other_audio": OTHER_AUDIO_SEED}


def run_metadata(extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """What produced a run: host, versions of the harness and its dependencies, probe seeds."""
    from importlib import metadata

    versions: dict[str, str | None] = {}
    for dist in VERSIONED:
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[dist] = None
    return {"host": platform.node(), "python": platform.python_version(), "platform": platform.platform(),
            "pid": os.getpid(), "argv": list(sys.argv), "versions": versions, "seeds": seeds(),
            "devices": {}, "recorded_at": time.time(), **(extra or {})}


def write_results(path: str | Path, results: list[TestResult], metadata: dict[str, Any]) -> dict[str, Any]:
    data = {
        "schema": SCHEMA,
        "exit_code": int(exit_code(results)),
        "summary": summarize(results),
        "metadata": metadata,
        "tests": [r.to_dict() for r in results],
    }
    tmp = Path(str(path) + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, default=str))
    tmp.replace(path)
    return data


def read_results(path: str | Path) -> dict[str, Any]:
    try:
        data = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise UsageError(f"{path}: no such results file (run `harness run --out DIR` first)") from None
    except ValueError as exc:
        raise UsageError(f"{path}: not a results.json ({exc})") from None
    if not isinstance(data, dict) or "tests" not in data or "exit_code" not in data:
        raise UsageError(f"{path}: not a results.json (no 'tests' or 'exit_code'); was it written by "
                         "`harness run`?")
    return data


def load_test_results(data: dict[str, Any]) -> list[TestResult]:
    fields = set(TestResult.__dataclass_fields__)
    return [TestResult(**{k: v for k, v in t.items() if k in fields}) for t in data["tests"]]
