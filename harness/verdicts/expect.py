"""Expectations a scenario checks, phrased in the app's terms, each naming the playbook rule.

They read only what a real lab has: where the probe was present in each route's capture (mapped
onto the lab clock) and the marks the scenario put on the timeline. A miss raises
:class:`harness.errors.AppFailure` with the rule id, so reports and the defect matrix can say
which rule the app broke.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from harness.errors import AppFailure
from harness.timeline import Span, ns
from harness.verdicts.playbook import rule

if TYPE_CHECKING:
    from harness.verdicts.evidence import Evidence
    from harness.verdicts.limits import Limits


def _fail(rule_id: str, what: str) -> AppFailure:
    return AppFailure(f"{what} (playbook rule: {rule(rule_id).text})", rule=rule_id)


def present_between(spans: list[Span], during: Span) -> float:
    """Seconds of presence during a stretch."""
    return sum(s.overlap_s(during.start_ns, during.end_ns) for s in spans)


def first_presence_after(spans: list[Span], t_ns: int, min_s: float = 0.2) -> int | None:
    """Lab-clock time at which presence lasting at least ``min_s`` starts at or after ``t_ns``."""
    for s in sorted(spans, key=lambda s: s.start_ns):
        start = max(s.start_ns, t_ns)
        if s.end_ns - start >= min_s * 1e9:
            return start
    return None


def expect_playing(spans: list[Span], during: Span, what: str, min_share: float = 0.8) -> None:
    """Audio must be there for most of ``during`` (the call before anything happened)."""
    got = present_between(spans, during)
    if during.seconds > 0 and got < min_share * during.seconds:
        raise AppFailure(f"{what}: call audio played only {got:.1f} s of {during.seconds:.1f} s before the "
                         "interruption; the call never worked, so nothing after it can be judged")


def expect_paused(spans: list[Span], during: Span, what: str, max_s: float = 0.3) -> None:
    got = present_between(spans, during)
    if got > max_s:
        raise _fail("pause-on-began", f"{what}: call audio kept playing {got:.1f} s while it was interrupted")


def expect_resumed(spans: list[Span], ended_ns: int, limit_s: float, what: str,
                   rule_id: str = "resume-on-should-resume") -> float:
    """Audio must come back within ``limit_s`` of ``ended_ns``; returns the resume latency (s)."""
    back = first_presence_after(spans, ended_ns)
    if back is None:
        raise _fail(rule_id, f"{what}: call audio never came back after the interruption ended")
    latency = (back - ended_ns) / 1e9
    if latency > limit_s:
        raise _fail(rule_id,
                    f"{what}: call audio came back {latency:.2f} s after the interruption ended "
                    f"(limit {limit_s:.2f} s)")
    return latency


def expect_stays_paused(spans: list[Span], after: Span, what: str) -> None:
    """iOS said not to resume: the app must not play again by itself during ``after``."""
    got = present_between(spans, after)
    if got > 0.3:
        raise _fail("honour-should-not-resume",
                    f"{what}: call audio came back by itself ({got:.1f} s) after an interruption that "
                    "ended without shouldResume")


def expect_uninterrupted(spans: list[Span], during: Span, what: str, rule_id: str,
                         min_share: float = 0.9) -> None:
    """Audio must keep playing through ``during`` (nothing in it may interrupt the call)."""
    got = present_between(spans, during)
    if during.seconds > 0 and got < min_share * during.seconds:
        raise _fail(rule_id, f"{what}: call audio played only {got:.1f} s of {during.seconds:.1f} s")


def expect_on_route(playing: list[str], wanted: str, what: str, rule_id: str = "") -> None:
    """The call must be heard on ``wanted`` (``playing``: the routes it was heard on). Without a rule
    the miss is still the app's (a feature of it did not work) but breaks no playbook rule."""
    if wanted not in playing:
        where = ", ".join(playing) or "no route"
        message = f"{what}: call audio played on {where}, not on the {wanted}"
        raise _fail(rule_id, message) if rule_id else AppFailure(message)


def expect_no_echo(erl_db: float | None, min_erl_db: float, what: str) -> None:
    """The uplink must not carry the downlink's echo (voice processing on)."""
    if erl_db is not None and erl_db < min_erl_db:
        raise _fail("session-mode", f"{what}: the downlink came back in the uplink only {erl_db:.1f} dB "
                    f"down (at least {min_erl_db:.0f} dB wanted): no echo cancellation")


def expect_level_kept(before_db: float | None, after_db: float | None, tolerance_db: float,
                      what: str) -> None:
    """After resuming, the call must be as loud as before the interruption."""
    if before_db is None or after_db is None:
        return  # presence is judged elsewhere
    drop = before_db - after_db
    if drop > tolerance_db:
        raise _fail("level-after-resume", f"{what}: call audio came back {drop:.1f} dB quieter than "
                    f"before the interruption (tolerance {tolerance_db:.0f} dB)")


def expect_ducked(alone_dbfs: float, during_dbfs: float, floor_dbfs: float, min_duck_db: float,
                  what: str) -> float:
    """Other audio must go on, quieter, while the call is active; returns the duck depth (dB)."""
    if during_dbfs <= floor_dbfs:
        raise _fail("duck-others", f"{what}: other audio stopped during the call ({during_dbfs:.0f} dBFS) "
                    "instead of being ducked")
    depth = alone_dbfs - during_dbfs
    if depth < min_duck_db:
        raise _fail("duck-others", f"{what}: other audio was only {depth:.1f} dB quieter during the call "
                    f"(at least {min_duck_db:.0f} dB wanted)")
    return depth


def expect_restored(alone_dbfs: float, after_dbfs: float, tolerance_db: float, what: str) -> None:
    """Once the call has ended, other audio must be back at its level."""
    if alone_dbfs - after_dbfs > tolerance_db:
        raise _fail("notify-on-deactivate", f"{what}: other audio stayed {alone_dbfs - after_dbfs:.1f} dB "
                    "down after the call ended")


def expect_new_session(session_starts_ns: list[int], after_ns: int, limit_s: float, what: str) -> float:
    """After a long interruption the app must open a fresh session; returns how long that took (s)."""
    fresh = [t for t in session_starts_ns if t >= after_ns]
    if not fresh:
        raise _fail("ice-recheck", f"{what}: the app opened no new session after its connection expired")
    took = (min(fresh) - after_ns) / 1e9
    if took > limit_s:
        raise _fail("ice-recheck", f"{what}: the new session came {took:.1f} s after the interruption "
                    f"ended (limit {limit_s:.0f} s)")
    return took


def expect_absent(spans: list[Span], route: str, what: str) -> None:
    total = sum(s.seconds for s in spans)
    if total > 0.1:
        raise _fail("no-speaker-leak", f"{what}: call audio played {total:.1f} s on the {route}")


@dataclass(frozen=True)
class Survival:
    """What :func:`expect_call_survives` measured (also recorded through the evidence)."""

    downlink_present_s: float
    resume_latency_s: float
    level_change_db: float | None
    """After minus before (None when either stretch had no level to measure)."""


def expect_call_survives(evidence: Evidence, route: str, steady: Span, interrupted: Span,
                         limits: Limits, *, paused_margin_s: float = 0.3,
                         until_ns: int | None = None) -> Survival:
    """The whole playbook for one interruption, judged from the captures: the call played on
    ``route`` before (``steady``), paused during ``interrupted`` (after ``paused_margin_s``), came
    back on its own within ``limits.resume_s`` at its level (measured up to ``until_ns``, default
    now), and never played on another route. Records ``downlink_present_s``,
    ``resume_latency_ms`` and ``level_change_db``; returns them."""
    until_ns = evidence.timeline.now() if until_ns is None else until_ns
    spans = evidence.downlink(route)
    present_s = round(sum(s.seconds for s in spans), 3)
    evidence.record("downlink_present_s", present_s)
    expect_playing(spans, steady, f"{route} before the interruption")
    expect_paused(spans, interrupted.after(paused_margin_s), f"{route} during the interruption")
    for other in evidence.rig.routes:
        if other != route:
            expect_absent(evidence.downlink(other), other, f"{other} capture")
    latency = expect_resumed(spans, interrupted.end_ns, limits.resume_s, f"{route} after the interruption")
    evidence.record("resume_latency_ms", round(latency * 1000, 1))
    before = evidence.level(route, steady)
    after = evidence.level(route, Span(interrupted.end_ns + ns(latency + 0.5), until_ns))
    change = round(after.db - before.db, 1) if before is not None and after is not None else None
    if change is not None:
        evidence.record("level_change_db", change)
    expect_level_kept(before.db if before else None, after.db if after else None, limits.level_tolerance_db,
                      route)
    return Survival(present_s, latency, change)
