"""Expectations a scenario checks, phrased in the app's terms, each naming the playbook rule.

They read only what a real lab has: where the probe was present in each route's capture (mapped
onto the lab clock) and the marks the scenario put on the timeline. A miss raises
:class:`harness.errors.AppFailure` with the rule id, so reports and the defect matrix can say
which rule the app broke.
"""

from __future__ import annotations

from harness.errors import AppFailure
from harness.playbook import rule
from harness.timeline import Span


def _fail(rule_id: str, what: str) -> AppFailure:
    return AppFailure(f"{what} (playbook rule: {rule(rule_id).text})", rule=rule_id)


def present_between(spans: list[Span], start_ns: int, end_ns: int) -> float:
    """Seconds of presence between two lab-clock times."""
    return sum(s.overlap_s(start_ns, end_ns) for s in spans)


def first_presence_after(spans: list[Span], t_ns: int, min_s: float = 0.2) -> int | None:
    """Lab-clock time at which presence lasting at least ``min_s`` starts at or after ``t_ns``."""
    for s in sorted(spans, key=lambda s: s.start_ns):
        start = max(s.start_ns, t_ns)
        if s.end_ns - start >= min_s * 1e9:
            return start
    return None


def expect_playing(spans: list[Span], start_ns: int, end_ns: int, what: str, min_share: float = 0.8) -> None:
    """Audio must be there for most of [start, end] (the call before anything happened)."""
    total = (end_ns - start_ns) / 1e9
    got = present_between(spans, start_ns, end_ns)
    if total > 0 and got < min_share * total:
        raise AppFailure(f"{what}: call audio played only {got:.1f} s of {total:.1f} s before the "
                         "interruption; the call never worked, so nothing after it can be judged")


def expect_paused(spans: list[Span], start_ns: int, end_ns: int, what: str, max_s: float = 0.3) -> None:
    got = present_between(spans, start_ns, end_ns)
    if got > max_s:
        raise _fail("pause-on-began", f"{what}: call audio kept playing {got:.1f} s while it was interrupted")


def expect_resumed(spans: list[Span], ended_ns: int, limit_s: float, what: str) -> float:
    """Audio must come back within ``limit_s`` of ``ended_ns``; returns the resume latency (s)."""
    back = first_presence_after(spans, ended_ns)
    if back is None:
        raise _fail("resume-on-should-resume",
                    f"{what}: call audio never came back after the interruption ended")
    latency = (back - ended_ns) / 1e9
    if latency > limit_s:
        raise _fail("resume-on-should-resume",
                    f"{what}: call audio came back {latency:.2f} s after the interruption ended "
                    f"(limit {limit_s:.2f} s)")
    return latency


def expect_absent(spans: list[Span], route: str, what: str) -> None:
    total = sum(s.duration_s for s in spans)
    if total > 0.1:
        raise _fail("no-speaker-leak", f"{what}: call audio played {total:.1f} s on the {route}")
