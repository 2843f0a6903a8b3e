"""A phone call interrupts the voice call; the user answers; the caller hangs up.

Promise to the user: the voice agent's audio stops while the phone call is up and comes back by
itself, on the same route, soon after the phone call ends. Verdicts come only from the route
captures (where the downlink probe was heard), never from the app's own log.
"""

from __future__ import annotations

import time

import pytest

from harness.audio.probe import DOWNLINK_SEED
from harness.audio.rig import downlink_reference
from harness.expect import expect_absent, expect_paused, expect_playing, expect_resumed

STEADY_S = 3.0  # the call runs this long before the phone rings
HOLD_S = 3.0  # the phone call lasts this long once answered


@pytest.mark.catches("never_resumes")
def test_call_answered_then_ended(dut, caller, call, app, capture, timeline, limits, record_property):
    call.wait_connected(timeout=limits.connect_s)
    time.sleep(STEADY_S)
    steady_from = timeline.now() - int(STEADY_S * 0.8e9)

    caller.phone.dial(f"tel:{dut.number}")
    dut.phone.answer_call()
    answered = timeline.mark("call-answered")
    time.sleep(HOLD_S)
    caller.phone.end_call()
    ended = timeline.mark("call-ended")
    time.sleep(limits.resume_s + 2.0)
    capture.close()

    seconds = (timeline.now() - call.created_ns) / 1e9 + 5.0
    reference = {"downlink": downlink_reference(seconds, DOWNLINK_SEED)}
    receiver = capture.analyze("receiver", reference).presence["downlink"]
    record_property("downlink_present_s", round(sum(s.duration_s for s in receiver), 3))

    expect_playing(receiver, steady_from, answered.t_ns, "receiver before the call")
    # Allow the route-switch latency on both edges of the phone call.
    expect_paused(receiver, answered.t_ns + int(0.3e9), ended.t_ns, "receiver during the phone call")
    latency = expect_resumed(receiver, ended.t_ns, limits.resume_s, "receiver after the phone call")
    record_property("resume_latency_ms", round(latency * 1000, 1))
    for route in capture.routes:
        if route != "receiver":
            expect_absent(capture.analyze(route, reference).presence["downlink"], route, f"{route} capture")
