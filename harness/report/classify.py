"""Whose fault an exception is: the app's, the lab's, or the harness's own.

A verdict must never blame the app for a lab fault, nor pass a lab fault off as the harness's bug.
An exception is judged by what it is and by what it was raised from: a ``RuntimeError`` raised
while handling a :class:`LabFault` (``raise ... from fault`` or inside ``except``) is that lab
fault; an :class:`AppFailure` anywhere at the top wins over everything under it. A bare
``AssertionError`` counts as an app failure only when a scenario raised it; raised inside the
harness (``harness/`` or ``fixtures/``) it is the harness's bug.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from harness.errors import AppFailure, LabFault, UsageError

_ROOT = Path(__file__).resolve().parents[2]
_OWN_PACKAGES = (str(_ROOT / "harness"), str(_ROOT / "fixtures"))


@dataclass(frozen=True)
class Verdict:
    outcome: str  # pass, app-failure, lab-fault, error
    rule: str = ""
    lab_tag: str = ""


PASS = Verdict("pass")


def classify(exc: BaseException | None) -> Verdict:
    """The verdict for how a test phase ended (``None``: it passed)."""
    if exc is None:
        return PASS
    if isinstance(exc, AppFailure):
        return Verdict("app-failure", rule=exc.rule)
    if isinstance(exc, LabFault):
        return Verdict("lab-fault", lab_tag=exc.tag)
    if isinstance(exc, BaseExceptionGroup):
        return _classify_group(exc)
    fault = _lab_fault_under(exc)
    if fault is not None:
        return Verdict("lab-fault", lab_tag=fault.tag)
    if isinstance(exc, AssertionError) and not _raised_in_harness(exc):
        return Verdict("app-failure")
    if isinstance(exc, UsageError):
        return Verdict("error")  # a scenario called the harness wrongly: the catalog's bug
    return Verdict("error")


def _classify_group(group: BaseExceptionGroup) -> Verdict:
    verdicts = [classify(e) for e in group.exceptions]
    for outcome in ("app-failure", "error", "lab-fault"):
        hit = next((v for v in verdicts if v.outcome == outcome), None)
        if hit is not None:
            return hit
    return Verdict("error")


def _lab_fault_under(exc: BaseException) -> LabFault | None:
    """The first LabFault in ``exc``'s cause/context chain, unless an AppFailure comes first."""
    seen: set[int] = set()
    cur: BaseException | None = exc.__cause__ or exc.__context__
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        if isinstance(cur, AppFailure):
            return None
        if isinstance(cur, LabFault):
            return cur
        cur = cur.__cause__ or cur.__context__
    return None


def _raised_in_harness(exc: BaseException) -> bool:
    tb = exc.__traceback__
    last = None
    while tb is not None:
        last = tb.tb_frame.f_code.co_filename
        tb = tb.tb_next
    if last is None:
        return False
    path = str(Path(last).resolve())
    return any(path.startswith(p + "/") for p in _OWN_PACKAGES)
