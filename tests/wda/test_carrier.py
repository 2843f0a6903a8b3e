"""The virtual carrier's call life (pure logic, plus the ring timeout on an event loop)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import pytest

from harness.sim.carrier import Call, CallEvent, Carrier, normalize, parse_uri


@dataclass(eq=False)
class FakeLine:
    phone_number: str
    apple_id: str = ""
    seen: list[str] = field(default_factory=list)

    def call_changed(self, call: Call) -> None:
        self.seen.append(call.state)


def setup(ring_timeout_s: float | None = None) -> tuple[Carrier, FakeLine, FakeLine, list[CallEvent]]:
    carrier = Carrier(ring_timeout_s)
    a, b = FakeLine("+15550100001", "a@example.com"), FakeLine("+15550100002", "b@example.com")
    carrier.attach(a)
    carrier.attach(b)
    events: list[CallEvent] = []
    carrier.subscribe(events.append)
    return carrier, a, b, events


def test_answered_then_hung_up() -> None:
    carrier, a, b, events = setup()
    call = carrier.dial(a, "tel", "+1 (555) 010-0002")
    assert call.callee is b and call.state == "ringing"
    carrier.answer(call)
    carrier.hang_up(call, b)
    assert [e.kind for e in events] == ["dialing", "ringing", "answered", "ended"]
    assert events[-1].reason == "hung-up-by-callee" and call.t_answer_ns is not None
    assert b.seen == ["dialing", "ringing", "active", "ended"]
    assert carrier.active_call(a) is None


def test_declined_cancelled_busy_unknown() -> None:
    carrier, a, _b, events = setup()
    carrier.decline(carrier.dial(a, "tel", "+15550100002"))
    assert events[-1].reason == "declined"
    carrier.hang_up(carrier.dial(a, "tel", "+15550100002"), a)
    assert events[-1].reason == "cancelled"
    first = carrier.dial(a, "tel", "+15550100002")
    c = FakeLine("+15550100003")
    carrier.attach(c)
    busy = carrier.dial(c, "tel", "+15550100002")
    assert busy.reason == "busy" and first.state == "ringing"
    assert carrier.dial(a, "tel", "+15559999999").reason == "no-such-number"
    assert carrier.dial(a, "tel", "+15550100001").reason == "no-such-number"  # itself


def test_facetime_audio_by_apple_id_or_number() -> None:
    carrier, a, b, _ = setup()
    assert carrier.dial(a, "facetime-audio", "B@Example.com").callee is b
    carrier2, a2, b2, _ = setup()
    assert carrier2.dial(a2, "facetime-audio", "+15550100002").callee is b2


async def test_unanswered_call_ends_with_no_answer() -> None:
    carrier, a, _b, events = setup(ring_timeout_s=0.05)
    done = asyncio.Event()
    carrier.subscribe(lambda e: done.set() if e.kind == "ended" else None)
    carrier.dial(a, "tel", "+15550100002")
    await asyncio.wait_for(done.wait(), 10)
    assert events[-1].reason == "no-answer"


def test_uri_parsing() -> None:
    assert parse_uri("tel:+15550100002") == ("tel", "+15550100002")
    assert parse_uri("facetime-audio://b@example.com") == ("facetime-audio", "b@example.com")
    assert normalize("+1 (555) 010-0002") == "+15550100002"
    for bad in ("mailto:x", "tel:", "+1555"):
        with pytest.raises(ValueError, match="not a call URL"):
            parse_uri(bad)


# -- voicemail, Silence Unknown Callers, Focus ----------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _kinds(events: list[CallEvent]) -> list[tuple[str, str, bool]]:
    return [(e.kind, e.reason, e.rang) for e in events]


async def test_unanswered_call_goes_to_voicemail_and_the_callee_is_free_again() -> None:
    carrier, a, b, events = setup(ring_timeout_s=0.05)
    carrier.configure(b, voicemail=True)
    reached = asyncio.Event()
    carrier.subscribe(lambda e: reached.set() if e.kind == "voicemail" else None)
    call = carrier.dial(a, "tel", "+15550100002")
    await asyncio.wait_for(reached.wait(), 10)
    assert call.state == "active" and call.voicemail and call.reason == "no-answer"
    assert events[-1].voicemail is True and events[-1].rang is True
    assert b.seen == ["dialing", "ringing", "active"]  # told once that its ring is over
    assert carrier.active_call(b) is None and carrier.active_call(a) is call
    c = FakeLine("+15550100003")
    carrier.attach(c)
    assert carrier.dial(c, "tel", "+15550100002").state == "ringing"  # not busy
    carrier.hang_up(call, b)  # the callee is no longer part of it: ignored
    assert call.state == "active"
    carrier.hang_up(call, a)
    assert _kinds([e for e in events if e.call_id == call.call_id]) == [
        ("dialing", "", True),
        ("ringing", "", True),
        ("voicemail", "no-answer", True),
        ("ended", "hung-up-by-caller", True),
    ]
    assert events[-1].voicemail is True and b.seen[-1] == "ringing"  # the other call's ring, not the end


def test_silence_unknown_callers_never_rings_and_goes_to_voicemail() -> None:
    carrier, a, b, events = setup()
    carrier.configure(b, silence_unknown_callers=True, voicemail=True)
    call = carrier.dial(a, "tel", "+15550100002")
    assert _kinds(events) == [("dialing", "", False), ("voicemail", "silence-unknown-callers", False)]
    assert call.state == "active" and call.voicemail and not call.rang
    assert b.seen == [] and a.seen == ["dialing", "active"]
    carrier.hang_up(call, a)
    assert events[-1].kind == "ended" and events[-1].rang is False and b.seen == []

    carrier.configure(b, voicemail=False)
    assert carrier.dial(a, "tel", "+15550100002").reason == "silence-unknown-callers"
    assert events[-1].kind == "ended" and "ringing" not in [e.kind for e in events]

    carrier.configure(b, contacts=["+1 (555) 010-0001"])
    assert carrier.dial(a, "tel", "+15550100002").state == "ringing"  # a contact rings
    assert events[-1].kind == "ringing" and b.seen == ["dialing", "ringing"]


def test_silence_unknown_callers_lets_a_recently_called_number_ring() -> None:
    carrier, a, b, _events = setup()
    carrier.configure(b, silence_unknown_callers=True)
    carrier.hang_up(carrier.dial(b, "tel", "+15550100001"), b)  # b called a: a is in b's Recents
    assert carrier.dial(a, "tel", "+15550100002").state == "ringing"
    carrier2, a2, b2, _ = setup()
    carrier2.configure(b2, silence_unknown_callers=True, contacts=["a@example.com"])
    assert carrier2.dial(a2, "facetime-audio", "b@example.com").state == "ringing"  # known by Apple ID


def test_focus_silences_unless_allowed_or_repeated_within_three_minutes() -> None:
    clock = FakeClock()
    carrier = Carrier(None, clock=clock)
    a, b = FakeLine("+15550100001", "a@example.com"), FakeLine("+15550100002")
    c = FakeLine("+15550100003")
    for line in (a, b, c):
        carrier.attach(line)
    carrier.configure(b, focus="dnd", focus_allowed=["+15550100003"])
    first = carrier.dial(a, "tel", "+15550100002")
    assert (first.state, first.reason, first.rang) == ("ended", "focus", False)
    clock.now += 179
    second = carrier.dial(a, "tel", "+15550100002")
    assert second.state == "ringing" and second.rang  # repeated call within 3 minutes breaks through
    carrier.decline(second)
    clock.now += 181
    assert carrier.dial(a, "tel", "+15550100002").reason == "focus"  # > 3 min after the last attempt
    allowed = carrier.dial(c, "tel", "+15550100002")
    assert allowed.state == "ringing"
    carrier.decline(allowed)
    carrier.configure(b, repeated_calls=False)
    clock.now += 10
    assert carrier.dial(a, "tel", "+15550100002").reason == "focus"
    carrier.configure(b, focus="off")
    assert carrier.dial(a, "tel", "+15550100002").state == "ringing"
    assert b.seen == ["dialing", "ringing", "ended", "dialing", "ringing", "ended", "dialing", "ringing"]


def test_bad_settings_are_named_and_change_nothing() -> None:
    carrier, _a, b, _ = setup()
    carrier.configure(b, voicemail=True)
    with pytest.raises(ValueError, match="unknown call setting 'dnd'"):
        carrier.configure(b, voicemail=False, dnd=True)
    with pytest.raises(ValueError, match="voicemail: expected true or false"):
        carrier.configure(b, voicemail="yes")
    with pytest.raises(ValueError, match="contacts: expected a list"):
        carrier.configure(b, contacts="+15550100001")
    assert carrier.settings(b).voicemail is True
    assert carrier.configure(b, contacts=["+1 555 010 0001", "A@Example.com"]).to_json()["contacts"] == [
        "+15550100001",
        "a@example.com",
    ]
