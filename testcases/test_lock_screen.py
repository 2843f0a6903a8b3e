"""The user locks the phone during the voice call, then a phone call comes in on the lock screen.

Promise: locking does not stop the call (background audio keeps playing); the incoming call on
the lock screen (full-screen UI, answered with the slider) interrupts it, and the agent is back
by itself after the phone call, on the receiver.
"""

from __future__ import annotations

import time

import pytest

from harness.timeline import Span
from harness.verdicts.expect import expect_call_survives, expect_uninterrupted


@pytest.mark.catches("never_resumes", "leaks_to_speaker")
def test_lock_screen(call, caller, app, actions, evidence, limits):
    call.wait_connected()
    actions.hold(2.0)
    locked = actions.lock()
    time.sleep(3.0)
    phone_call = actions.phone_call("tel", 3.0)
    time.sleep(limits.resume_s + 2.0)
    while_locked = Span.starting(locked.t_ns, 2.8).after(0.5)
    expect_uninterrupted(evidence.downlink("receiver"), while_locked, "receiver once locked",
                         "pause-on-began")
    expect_call_survives(evidence, "receiver", while_locked, phone_call, limits)
