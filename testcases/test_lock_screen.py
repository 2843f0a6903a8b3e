"""The user locks the phone during the voice call, then a phone call comes in on the lock screen.

Promise: locking does not stop the call (background audio keeps playing); the incoming call on
the lock screen (full-screen UI, answered with the slider) interrupts it, and the agent is back
by itself after the phone call, on the receiver.
"""

from __future__ import annotations

import time

import pytest

from harness.actions import Window
from harness.expect import expect_call_survives, expect_uninterrupted


@pytest.mark.catches("never_resumes", "leaks_to_speaker")
def test_lock_screen(call, caller, app, actions, evidence, limits, record_property):
    call.wait_connected(timeout=limits.connect_s)
    actions.hold(2.0)
    locked = actions.lock()
    time.sleep(3.0)
    phone_call = actions.phone_call("tel", 3.0)
    time.sleep(limits.resume_s + 2.0)
    evidence.close()
    spans = evidence.downlink("receiver")
    expect_uninterrupted(spans, locked.t_ns + int(0.5e9), locked.t_ns + int(2.8e9), "receiver once locked",
                         "pause-on-began")
    expect_call_survives(evidence, "receiver", Window(locked.t_ns + int(0.5e9), locked.t_ns + int(2.8e9)),
                         phone_call, actions.timeline.now(), limits, record_property)
