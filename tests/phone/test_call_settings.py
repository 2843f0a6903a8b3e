"""The callee's call settings with two virtual phones: voicemail, Silence Unknown Callers and Focus.

The caller dials with harness.phone's recipe; the callee's screen and the carrier's events are the
ground truth. A silenced call must never reach the callee's UI (no ``ringing`` event, no call on its
SpringBoard): the lab's audio world takes its interruptions from those events.
"""

from __future__ import annotations

import threading
import time

import pytest

from harness.errors import LabFault
from harness.phone import Phone
from tests.phone.test_calls import ENV
from tests.wda.scene import VOICE_APP, Scene, ScenePhone


def _pair(scene: Scene, tmp_path) -> tuple[ScenePhone, ScenePhone, Phone, Phone, list]:
    a = scene.add_phone(ios="18.2", number="+15550100001", apple_id="a@example.com", name="A")
    b = scene.add_phone(ios="17.5.1", number="+15550100002", apple_id="b@example.com", name="B")
    seen: list = []
    scene.on_loop(lambda: b.board.subscribe(lambda kind, fields: seen.append((kind, dict(fields)))))
    caller = Phone(a.url, name="caller", artifacts=tmp_path)
    dut = Phone(b.url, name="dut", artifacts=tmp_path)
    dut.launch_app(VOICE_APP, ENV)
    return a, b, caller, dut, seen


def _wait_event(scene: Scene, kind: str, timeout: float = 10.0) -> None:
    end = time.monotonic() + timeout
    while not any(e.kind == kind for e in scene.call_events):
        assert time.monotonic() < end, f"no {kind} event: {scene.call_events}"
        time.sleep(0.02)


def _calls_seen(seen: list) -> list[tuple]:
    return [(f.get("state"), f.get("reason", ""), f.get("voicemail", False)) for k, f in seen if k == "call"]


def test_unanswered_call_goes_to_voicemail(scene: Scene, tmp_path) -> None:
    a, b, caller, dut, seen = _pair(scene, tmp_path)
    scene.carrier.ring_timeout_s = 0.5
    scene.on_loop(lambda: b.board.configure_calls(voicemail=True))
    caller.dial("tel:+15550100002", timeout=5)
    _wait_event(scene, "voicemail")
    assert [e.kind for e in scene.call_events] == ["dialing", "ringing", "voicemail"]
    assert scene.call_events[-1].reason == "no-answer"
    # the callee's ring is over and its app is back; the caller is connected to the greeting
    assert scene.on_loop(lambda: (b.board.call, b.board.foreground)) == (None, VOICE_APP)
    assert dut.foreground_app() == VOICE_APP
    assert scene.on_loop(lambda: (a.board.call.state, a.board.call.voicemail)) == ("active", True)
    caller.end_call(timeout=5)
    last = scene.call_events[-1]
    assert (last.kind, last.reason, last.voicemail) == ("ended", "hung-up-by-caller", True)
    assert _calls_seen(seen) == [("dialing", "", False), ("ringing", "", False), ("ended", "no-answer", True)]
    assert scene.on_loop(lambda: a.board.call) is None


def test_silence_unknown_callers_sends_unknown_numbers_to_voicemail_without_ringing(
    scene: Scene, tmp_path
) -> None:
    a, b, caller, dut, seen = _pair(scene, tmp_path)
    rang = threading.Event()
    scene.carrier.subscribe(lambda e: rang.set() if e.kind == "ringing" else None)
    scene.on_loop(lambda: b.board.configure_calls(silence_unknown_callers=True, voicemail=True))
    caller.dial("tel:+15550100002", timeout=5)  # the caller's in-call screen shows: voicemail answers
    assert [(e.kind, e.reason, e.rang) for e in scene.call_events] == [
        ("dialing", "", False),
        ("voicemail", "silence-unknown-callers", False),
    ]
    assert not rang.is_set() and _calls_seen(seen) == []  # the callee's UI never knew
    with pytest.raises(LabFault):
        dut.answer_call(timeout=0.3)
    assert dut.foreground_app() == VOICE_APP
    caller.end_call(timeout=5)
    assert scene.call_events[-1].kind == "ended" and _calls_seen(seen) == []

    scene.on_loop(lambda: b.board.configure_calls(contacts=["+15550100001"]))  # now a contact: it rings
    caller.dial("tel:+15550100002", timeout=5)
    dut.answer_call(timeout=5)
    assert scene.call_events[-1].kind == "answered" and rang.is_set()
    caller.end_call(timeout=5)
    assert scene.on_loop(lambda: (a.board.call, b.board.call, b.board.foreground)) == (None, None, VOICE_APP)


def test_focus_silences_a_call_and_a_repeated_call_breaks_through(scene: Scene, tmp_path) -> None:
    a, b, caller, dut, seen = _pair(scene, tmp_path)
    scene.on_loop(lambda: b.board.configure_calls(focus="dnd", voicemail=True))
    caller.dial("facetime-audio:b@example.com", timeout=5)
    assert [(e.kind, e.reason) for e in scene.call_events] == [("dialing", ""), ("voicemail", "focus")]
    assert _calls_seen(seen) == []
    caller.end_call(timeout=5)
    caller.dial("facetime-audio:b@example.com", timeout=5)  # again within 3 minutes: it rings
    assert scene.call_events[-1].kind == "ringing" and scene.call_events[-1].rang is True
    dut.decline_call(timeout=5)
    assert scene.call_events[-1].reason == "declined"
    assert _calls_seen(seen) == [("dialing", "", False), ("ringing", "", False), ("ended", "declined", False)]
    assert scene.on_loop(lambda: (a.board.call, b.board.call, b.board.foreground)) == (None, None, VOICE_APP)
