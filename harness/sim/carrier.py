"""The virtual carrier: routes a dial from one virtual phone's number (or Apple ID) to another's.

A call goes ``dialing -> ringing -> active -> ended``; it may also end while ringing (declined by
the callee, cancelled by the caller) or fail at once (no such number, busy). Everything happens on
the lab's event loop and synchronously: a listener sees each change as it happens. Phones attach
as :class:`Line` objects; other parts of the lab (the iOS audio world, ground truth) subscribe to
:class:`CallEvent` with :meth:`Carrier.subscribe`.

Each callee has :class:`CallSettings` (:meth:`Carrier.configure`): voicemail, Silence Unknown
Callers and a Focus. The event contract for listeners:

* a call that rings: ``dialing``, ``ringing``, then ``answered`` and ``ended`` (hung-up-by-...), or
  ``ended`` (declined, cancelled, no-answer);
* unanswered with voicemail set up: ``dialing``, ``ringing``, ``voicemail`` (reason ``no-answer``;
  the callee's ring is over, the caller is connected to the greeting: call state ``active``), then
  ``ended`` (hung-up-by-caller, ``voicemail=True``) when the caller hangs up;
* silenced (Silence Unknown Callers, or a Focus the caller may not break): never ``ringing``; every
  event has ``rang=False``: ``dialing``, then ``voicemail`` (reason ``silence-unknown-callers`` or
  ``focus``) and ``ended``, or without voicemail ``ended`` at once with that reason. The callee's
  phone (its SpringBoard, its audio session) sees nothing of it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

TEL = "tel"
FACETIME_AUDIO = "facetime-audio"

DIALING, RINGING, ACTIVE, ENDED = "dialing", "ringing", "active", "ended"

SILENCE_UNKNOWN_CALLERS = "silence-unknown-callers"
FOCUS = "focus"
REPEAT_WINDOW_S = 180.0
"""Focus > Allow Repeated Calls: "a second call from the same person within three minutes" is not
silenced (Apple iPhone User Guide, "Allow or silence notifications for a Focus"; quoted from memory)."""


@dataclass
class CallSettings:
    """A phone's own call settings, as the callee of a call.

    ``contacts`` and ``focus_allowed`` hold numbers or Apple IDs (normalised). ``focus`` is the
    name of the Focus that is on (``"dnd"`` for Do Not Disturb), None when none is.
    """

    voicemail: bool = False
    """Voicemail set up: an unanswered or silenced call goes to the greeting instead of ending."""
    silence_unknown_callers: bool = False
    """Settings > Phone > Silence Unknown Callers: callers not in Contacts, not called recently,
    are silenced and sent to voicemail (Apple iPhone User Guide, "Block or avoid unwanted calls";
    recent outgoing calls count as known: (inference) from that page's "Recents")."""
    focus: str | None = None
    contacts: frozenset[str] = frozenset()
    focus_allowed: frozenset[str] = frozenset()
    """People allowed to call through the Focus (Focus > People > Allow Calls From)."""
    repeated_calls: bool = True
    """Focus > Allow Repeated Calls (on by default (inference: the toggle's default on iOS 15+))."""

    def to_json(self) -> dict[str, object]:
        return {
            "voicemail": self.voicemail,
            "silence_unknown_callers": self.silence_unknown_callers,
            "focus": self.focus,
            "contacts": sorted(self.contacts),
            "focus_allowed": sorted(self.focus_allowed),
            "repeated_calls": self.repeated_calls,
        }


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
    """Why it ended: declined, cancelled, no-answer, hung-up-by-caller or -callee, no-such-number, busy,
    silence-unknown-callers, focus; while in voicemail, why it went there (no-answer or the silencing)."""
    rang: bool = True
    """False when the callee's phone was silenced: it never showed or rang the call."""
    voicemail: bool = False
    """The caller reached the callee's voicemail greeting (the call is ``active`` without the callee)."""
    t_dial_ns: int = field(default_factory=time.monotonic_ns)
    t_answer_ns: int | None = None
    t_end_ns: int | None = None

    def other(self, line: Line) -> Line | None:
        return self.callee if line is self.caller else self.caller

    def role(self, line: Line) -> str:
        return "caller" if line is self.caller else "callee"


@dataclass(frozen=True)
class CallEvent:
    """One change of a call, for subscribers: kind is dialing|ringing|answered|voicemail|ended.

    ``rang`` is False for a call the callee's phone silenced (no ``ringing`` event is ever sent for
    it); ``voicemail`` is True from the ``voicemail`` event on (the callee is no longer part of it).
    """

    kind: str
    call_id: int
    call_kind: str
    caller_number: str
    callee_number: str | None
    reason: str = ""
    t_ns: int = 0
    rang: bool = True
    voicemail: bool = False


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
    """``ring_timeout_s``: an unanswered call ends with reason ``no-answer`` after that long, or goes
    to the callee's voicemail (needs a running event loop; None rings forever). ``clock`` (seconds)
    times repeated calls for Focus."""

    def __init__(
        self, ring_timeout_s: float | None = 30.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.ring_timeout_s = ring_timeout_s
        self.clock = clock
        self._lines: list[Line] = []
        self._ids = itertools.count(1)
        self.calls: dict[int, Call] = {}
        self._listeners: list[Callable[[CallEvent], None]] = []
        self._settings: dict[int, CallSettings] = {}
        self._attempts: dict[tuple[int, str], float] = {}
        """(callee line id, caller key) -> when that caller last called (for repeated calls)."""
        self._dialled: dict[int, set[str]] = {}
        """Line id -> addresses it called (Recents: known callers for Silence Unknown Callers)."""

    def attach(self, line: Line) -> None:
        if line not in self._lines:
            self._lines.append(line)

    # -- settings --------------------------------------------------------------------------------

    def settings(self, line: Line) -> CallSettings:
        """``line``'s call settings (defaults: no voicemail, nothing silenced)."""
        return self._settings.setdefault(id(line), CallSettings())

    def configure(self, line: Line, **changes: object) -> CallSettings:
        """Change ``line``'s settings: ``voicemail``, ``silence_unknown_callers``, ``repeated_calls``
        (bools), ``focus`` (a Focus name such as ``"dnd"``; None, "" or "off" for none), ``contacts``
        and ``focus_allowed`` (lists of numbers or Apple IDs). ValueError names a bad key or value."""
        current = dataclasses.replace(self.settings(line))  # all or nothing: a bad key changes none
        for key, value in changes.items():
            if key in ("voicemail", "silence_unknown_callers", "repeated_calls"):
                if not isinstance(value, bool):
                    raise ValueError(f"call setting {key}: expected true or false, got {value!r}")
                setattr(current, key, value)
            elif key == "focus":
                if value is not None and not isinstance(value, str):
                    raise ValueError(f"call setting focus: expected a Focus name like 'dnd', got {value!r}")
                current.focus = None if value in (None, "", "off") else str(value)
            elif key in ("contacts", "focus_allowed"):
                if isinstance(value, str) or not isinstance(value, (list, tuple, set, frozenset)):
                    raise ValueError(f"call setting {key}: expected a list of numbers/Apple IDs: {value!r}")
                setattr(current, key, frozenset(normalize(str(v)) for v in value if str(v).strip()))
            else:
                raise ValueError(
                    f"unknown call setting {key!r}; use voicemail, silence_unknown_callers, focus, "
                    "contacts, focus_allowed or repeated_calls"
                )
        self._settings[id(line)] = current
        return current

    @staticmethod
    def _keys(line: Line) -> set[str]:
        return {normalize(a) for a in (line.phone_number, line.apple_id) if a}

    def _silenced_by(self, caller: Line, callee: Line) -> str:
        """Why ``callee``'s phone silences a call from ``caller`` ("" when it rings)."""
        s = self.settings(callee)
        keys = self._keys(caller)
        if s.silence_unknown_callers and not keys & (s.contacts | self._dialled.get(id(callee), set())):
            return SILENCE_UNKNOWN_CALLERS
        if s.focus and not keys & s.focus_allowed:
            now = self.clock()
            repeated = any(
                now - self._attempts.get((id(callee), k), -float("inf")) <= REPEAT_WINDOW_S for k in keys
            )
            if not (s.repeated_calls and repeated):
                return FOCUS
        return ""

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
        """The call ``line`` takes part in (a silenced call or one in voicemail only has its caller)."""
        for call in self.calls.values():
            if call.state == ENDED:
                continue
            if line is call.caller or (line is call.callee and call.rang and not call.voicemail):
                return call
        return None

    # -- the call's life -------------------------------------------------------------------------

    def dial(self, caller: Line, kind: str, address: str) -> Call:
        callee = self.lookup(kind, address)
        busy = callee is not None and self.active_call(callee) is not None
        call = Call(next(self._ids), kind, caller, None if busy else callee, address)
        self.calls[call.call_id] = call
        self._dialled.setdefault(id(caller), set()).add(normalize(address))
        silenced = ""
        if callee is not None and callee is not caller and not busy:
            silenced = self._silenced_by(caller, callee)
            now = self.clock()
            for key in self._keys(caller):
                self._attempts[(id(callee), key)] = now
            call.rang = not silenced
        self._changed(call, "dialing")
        if callee is None or callee is caller:
            self._end(call, "no-such-number")
        elif busy:
            self._end(call, "busy")
        elif silenced:
            # Silenced calls go to voicemail without ringing (Apple's wording for Silence Unknown
            # Callers; for a Focus (inference)); with no voicemail set up the call ends at once (inference).
            if self.settings(callee).voicemail:
                self._to_voicemail(call, silenced)
            else:
                self._end(call, silenced)
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
        if call.state != RINGING:
            return
        if call.callee is not None and self.settings(call.callee).voicemail:
            self._to_voicemail(call, "no-answer")
        else:
            self._end(call, "no-answer")

    def _to_voicemail(self, call: Call, reason: str) -> None:
        """The caller reaches the greeting: the call is active for the caller only."""
        call.state = ACTIVE
        call.voicemail = True
        call.reason = reason
        call.t_answer_ns = time.monotonic_ns()
        self._changed(call, "voicemail")

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
        if call.state == ENDED or (call.voicemail and by is not call.caller):
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
        call.caller.call_changed(call)
        # The callee's phone hears of a call only if it rang, and of voicemail only as its ring's end.
        if call.callee is not None and call.rang and (not call.voicemail or kind == "voicemail"):
            call.callee.call_changed(call)
        event = CallEvent(
            kind,
            call.call_id,
            call.kind,
            call.caller.phone_number,
            call.callee.phone_number if call.callee else None,
            call.reason,
            time.monotonic_ns(),
            call.rang,
            call.voicemail,
        )
        for listener in list(self._listeners):
            listener(event)
