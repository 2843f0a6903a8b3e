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
