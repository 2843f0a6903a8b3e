"""The app runs its call through CallKit; a Clock timer goes off during the call.

Promise: under CallKit the call has the phone call's priority, so an alarm does not interrupt it;
that holds only if the app let CallKit activate the audio session (didActivate) instead of
activating it itself.
"""

from __future__ import annotations

import time

import pytest

from harness import contract
from harness.verdicts.expect import expect_playing, expect_uninterrupted


@pytest.mark.app_env(**{contract.CALLKIT_ENV: "1"})
@pytest.mark.catches("activates_under_callkit")
def test_callkit_activation(call, app, actions, evidence, limits):
    call.wait_connected()
    steady = actions.hold(2.0)
    alarm = actions.timer(6, ring_s=2.0)
    time.sleep(1.0)
    spans = evidence.downlink("receiver")
    expect_playing(spans, steady, "receiver before the alarm")
    expect_uninterrupted(spans, alarm.after(0.3), "receiver while the alarm rang", "callkit-owns-activation")
