"""Per-test outcomes and measurements, and ``results.json``: the source for trends across nights.

Each test ends in one of: ``pass``, ``app-failure`` (the app broke a playbook rule), ``lab-fault``
(the lab failed; never blamed on the app), ``error`` (the harness's own bug) or ``skipped``. The
run's exit code follows from them with the one exit-code table.
"""

from __future__ import annotations

import json
import os
import platform
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import AppFailure, ExitCode, LabFault, UsageError

OUTCOMES = ("pass", "app-failure", "lab-fault", "error", "skipped")


@dataclass
class TestResult:
    nodeid: str
    outcome: str
    duration_s: float = 0.0
    message: str = ""
    rule: str = ""
    lab_tag: str = ""
    device: str = ""
    metrics: dict[str, Any] = field(default_factory=dict)
    artifacts: dict[str, str] = field(default_factory=dict)


def classify(exc: BaseException | None) -> tuple[str, str, str]:
    """(outcome, rule, lab tag) for how a test ended."""
    if exc is None:
        return "pass", "", ""
    if isinstance(exc, AppFailure):
        return "app-failure", exc.rule, ""
    if isinstance(exc, LabFault):
        return "lab-fault", "", exc.tag
    if isinstance(exc, AssertionError):
        return "app-failure", "", ""
    if isinstance(exc, UsageError):
        return "error", "", ""
    return "error", "", ""


def exit_code(results: list[TestResult]) -> ExitCode:
    """0 all pass; 1 any app failure; 3 only lab faults; 4 any harness error."""
    outcomes = {r.outcome for r in results}
    if "error" in outcomes:
        return ExitCode.INTERNAL
    if "app-failure" in outcomes:
        return ExitCode.APP_FAILURE
    if "lab-fault" in outcomes:
        return ExitCode.LAB_FAULT
    return ExitCode.PASS


def run_metadata(extra: dict[str, Any] | None = None) -> dict[str, Any]:
    from importlib import metadata

    versions = {}
    for dist in ("voiceharness", "aiortc", "pymobiledevice3", "facebook-wda", "pytest", "sounddevice"):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[dist] = None
    return {"host": platform.node(), "python": platform.python_version(), "pid": os.getpid(),
            "versions": versions, **(extra or {})}


def write_results(path: str | Path, results: list[TestResult], metadata: dict[str, Any]) -> None:
    data = {
        "metadata": metadata,
        "exit_code": int(exit_code(results)),
        "summary": {o: sum(1 for r in results if r.outcome == o) for o in OUTCOMES},
        "tests": [asdict(r) for r in results],
    }
    tmp = Path(str(path) + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, default=str))
    tmp.replace(path)


def read_results(path: str | Path) -> dict[str, Any]:
    try:
        return json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise UsageError(f"{path}: no such results file (run `harness run --out DIR` first)") from None
    except ValueError as exc:
        raise UsageError(f"{path}: not a results.json ({exc})") from None
