"""The virtual carrier: routes a dial from one virtual phone's number (or Apple ID) to another's.

A call goes ``dialing -> ringing -> active -> ended``; it may also end while ringing (declined by
the callee, cancelled by the caller) or fail at once (no such number, busy). Everything happens on
the lab's event loop and synchronously: a listener sees each change as it happens. Phones attach
as :class:`Line` objects; other parts of the lab (the iOS audio world, ground truth) subscribe to
:class:`CallEvent` with :meth:`Carrier.subscribe`.
"""

from __future__ import annotations

import asyncio
import itertools
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

TEL = "tel"
FACETIME_AUDIO = "facetime-audio"

DIALING, RINGING, ACTIVE, ENDED = "dialing", "ringing", "active", "ended"


class Line(Protocol):
    """A phone attached to the carrier (the SpringBoard of a virtual phone)."""

    phone_number: str
    apple_id: str

    def call_changed(self, call: Call) -> None:
        """Called for every state change of a call this line takes part in."""


@dataclass
class Call:
    call_id: int
    kind: str
    caller: Line
    callee: Line | None
    address: str
    state: str = DIALING
    reason: str = ""
    """Why it ended: declined, cancelled, no-answer, hung-up-by-caller or -callee, no-such-number, busy."""
    t_dial_ns: int = field(default_factory=time.monotonic_ns)
    t_answer_ns: int | None = None
    t_end_ns: int | None = None

    def other(self, line: Line) -> Line | None:
        return self.callee if line is self.caller else self.caller

    def role(self, line: Line) -> str:
        return "caller" if line is self.caller else "callee"


@dataclass(frozen=True)
class CallEvent:
    """One change of a call, for subscribers: kind is dialing|ringing|answered|ended."""

    kind: str
    call_id: int
    call_kind: str
    caller_number: str
    callee_number: str | None
    reason: str = ""
    t_ns: int = 0


def normalize(address: str) -> str:
    """``+1 (555) 010-0002`` -> ``+15550100002``; Apple IDs (emails) lower-cased."""
    address = address.strip()
    if "@" in address:
        return address.lower()
    return re.sub(r"[^0-9+]", "", address)


def parse_uri(uri: str) -> tuple[str, str]:
    """``tel:+1555...`` -> ("tel", "+1555..."); facetime-audio: likewise. ValueError otherwise."""
    scheme, sep, rest = uri.partition(":")
    scheme = scheme.lower()
    if not sep or scheme not in (TEL, FACETIME_AUDIO, "facetime") or not rest.strip("/"):
        raise ValueError(f"not a call URL: {uri!r} (expected tel:NUMBER or facetime-audio:ADDRESS)")
    return (TEL if scheme == TEL else FACETIME_AUDIO), rest.strip("/")


class Carrier:
    """``ring_timeout_s``: an unanswered call ends with reason ``no-answer`` after that long
    (needs a running event loop; None rings forever)."""

    def __init__(self, ring_timeout_s: float | None = 30.0) -> None:
        self.ring_timeout_s = ring_timeout_s
        self._lines: list[Line] = []
        self._ids = itertools.count(1)
        self.calls: dict[int, Call] = {}
        self._listeners: list[Callable[[CallEvent], None]] = []

    def attach(self, line: Line) -> None:
        if line not in self._lines:
            self._lines.append(line)

    def subscribe(self, listener: Callable[[CallEvent], None]) -> Callable[[], None]:
        """``listener(event)`` for every call change (e.g. the audio world: ringing/answered/ended)."""
        self._listeners.append(listener)

        def unsubscribe() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return unsubscribe

    def lookup(self, kind: str, address: str) -> Line | None:
        want = normalize(address)
        for line in self._lines:
            if kind == TEL and normalize(line.phone_number) == want:
                return line
            if kind == FACETIME_AUDIO and want in (normalize(line.phone_number), normalize(line.apple_id)):
                return line
        return None

    def active_call(self, line: Line) -> Call | None:
        for call in self.calls.values():
            if call.state != ENDED and line in (call.caller, call.callee):
                return call
        return None

    # -- the call's life -------------------------------------------------------------------------

    def dial(self, caller: Line, kind: str, address: str) -> Call:
        callee = self.lookup(kind, address)
        busy = callee is not None and self.active_call(callee) is not None
        call = Call(next(self._ids), kind, caller, None if busy else callee, address)
        self.calls[call.call_id] = call
        self._changed(call, "dialing")
        if callee is None or callee is caller:
            self._end(call, "no-such-number")
        elif busy:
            self._end(call, "busy")
        else:
            call.state = RINGING
            self._changed(call, "ringing")
            self._ring_timer(call)
        return call

    def _ring_timer(self, call: Call) -> None:
        if self.ring_timeout_s is None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        loop.call_later(self.ring_timeout_s, self._no_answer, call)

    def _no_answer(self, call: Call) -> None:
        if call.state == RINGING:
            self._end(call, "no-answer")

    def answer(self, call: Call) -> None:
        if call.state != RINGING:
            return
        call.state = ACTIVE
        call.t_answer_ns = time.monotonic_ns()
        self._changed(call, "answered")

    def decline(self, call: Call) -> None:
        if call.state == RINGING:
            self._end(call, "declined")

    def hang_up(self, call: Call, by: Line) -> None:
        if call.state == ENDED:
            return
        if call.state in (DIALING, RINGING):
            self._end(call, "cancelled" if by is call.caller else "declined")
        else:
            self._end(call, f"hung-up-by-{call.role(by)}")

    def _end(self, call: Call, reason: str) -> None:
        call.state = ENDED
        call.reason = reason
        call.t_end_ns = time.monotonic_ns()
        self._changed(call, "ended")

    def _changed(self, call: Call, kind: str) -> None:
        for line in (call.caller, call.callee):
            if line is not None:
                line.call_changed(call)
        event = CallEvent(
            kind,
            call.call_id,
            call.kind,
            call.caller.phone_number,
            call.callee.phone_number if call.callee else None,
            call.reason,
            time.monotonic_ns(),
        )
        for listener in list(self._listeners):
            listener(event)
