"""Turning a test's three phases (setup, call, teardown) into one :class:`TestResult`.

pytest reports each phase separately; a test's outcome is decided once its teardown is reported:

* the first phase that did not pass decides the outcome (a failed setup is the test's outcome, a
  skip in setup is ``skipped``);
* a teardown that fails after a passing test makes the test's outcome the teardown's own
  (a lab fault stays a lab fault, anything else is an error); after a failed test it is kept in
  ``teardown_error`` so it is still counted.

Progress lines (one JSON object per finished test) go to ``progress.jsonl`` for ``harness run``'s
display; the file is appended and flushed line by line.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.report.results import TestResult

RESERVED_PROPERTIES = frozenset({"artifacts", "device", "outcome", "rule", "lab_tag", "teardown_error"})


@dataclass
class PhaseReport:
    """What the plugin learned about one phase (plain data: it crosses pytest-xdist's wire)."""

    when: str  # setup, call, teardown
    outcome: str  # pass, app-failure, lab-fault, error, skipped
    rule: str = ""
    lab_tag: str = ""
    message: str = ""
    duration_s: float = 0.0


@dataclass
class _Pending:
    phases: list[PhaseReport] = field(default_factory=list)


def decide(phases: list[PhaseReport]) -> tuple[PhaseReport, str]:
    """The phase that decides a test's outcome, and its teardown error ("" when none)."""
    decided = next((p for p in phases if p.when != "teardown" and p.outcome != "pass"), None)
    teardown = next((p for p in phases if p.when == "teardown"), None)
    broken = teardown is not None and teardown.outcome not in ("pass", "skipped")
    teardown_error = (teardown.message or teardown.outcome) if broken and teardown is not None else ""
    if decided is not None:
        return decided, teardown_error
    if broken and teardown is not None:
        if teardown.outcome == "app-failure" and not teardown.rule:
            return PhaseReport("teardown", "error", message=teardown.message), teardown_error
        return teardown, teardown_error
    return next((p for p in phases if p.when == "call"), None) or PhaseReport("call", "pass"), ""


class RunRecorder:
    def __init__(self, progress: Path | None = None) -> None:
        self.results: list[TestResult] = []
        self.devices: dict[str, dict[str, Any]] = {}
        self.collected: int | None = None
        self._pending: dict[str, _Pending] = {}
        self._progress = progress
        self._lock = threading.Lock()
        if progress is not None:
            progress.parent.mkdir(parents=True, exist_ok=True)
            progress.write_text("")

    # -- input -----------------------------------------------------------------------------------

    def set_collected(self, count: int) -> None:
        self.collected = count
        self._write_progress({"kind": "collected", "count": count})

    def add_devices(self, devices: dict[str, dict[str, Any]]) -> None:
        for name, fields in devices.items():
            self.devices.setdefault(name, {}).update(fields)

    def phase(self, nodeid: str, phase: PhaseReport, properties: list[tuple[str, Any]] | None = None,
              device: str = "") -> TestResult | None:
        """Record one phase; at teardown return the test's final result (also kept in ``results``)."""
        with self._lock:
            pending = self._pending.setdefault(nodeid, _Pending())
            pending.phases.append(phase)
            if phase.when != "teardown":
                return None
            del self._pending[nodeid]
        return self._finish(nodeid, pending.phases, properties or [], device)

    def collection_error(self, nodeid: str, message: str) -> TestResult:
        """A scenario file that did not import: an error, so a broken catalog never passes."""
        result = TestResult(nodeid=nodeid or "<collection>", outcome="error",
                            message=f"collection failed: {message}"[:500])
        self._add(result)
        return result

    def finish(self) -> list[TestResult]:
        """Results, with tests that never reported a teardown (a crashed worker) as errors."""
        with self._lock:
            pending, self._pending = self._pending, {}
        for nodeid, p in pending.items():
            self._finish(nodeid, [*p.phases, PhaseReport("teardown", "error", message="no teardown report "
                                                         "(the worker running it crashed?)")], [], "")
        return list(self.results)

    # -- decision --------------------------------------------------------------------------------

    def _finish(self, nodeid: str, phases: list[PhaseReport], properties: list[tuple[str, Any]],
                device: str) -> TestResult:
        decided, teardown_error = decide(phases)
        props = dict(properties)
        artifacts: dict[str, Any] = {}
        if "artifacts" in props:
            artifacts["dir"] = str(props["artifacts"])
        result = TestResult(
            nodeid=nodeid,
            outcome=decided.outcome,
            duration_s=round(sum(p.duration_s for p in phases), 3),
            message=("teardown: " if decided.when == "teardown" and decided.outcome != "pass" else "")
            + decided.message,
            rule=decided.rule,
            lab_tag=decided.lab_tag,
            device=str(props.get("device", device) or ""),
            teardown_error=teardown_error,
            metrics={k: v for k, v in properties if k not in RESERVED_PROPERTIES},
            artifacts=artifacts,
        )
        self._add(result)
        return result

    def _add(self, result: TestResult) -> None:
        with self._lock:
            self.results.append(result)
            done = len(self.results)
        self._write_progress({"kind": "test", "index": done, "total": self.collected,
                              **{k: v for k, v in result.to_dict().items() if k != "artifacts"}})

    def _write_progress(self, record: dict[str, Any]) -> None:
        if self._progress is None:
            return
        with self._lock, open(self._progress, "a", encoding="utf-8") as f:
            f.write(json.dumps(record, default=str) + "\n")
