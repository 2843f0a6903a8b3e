"""A phone call interrupts the voice call; the user answers; the caller hangs up.

Promise to the user: the voice agent's audio stops while the phone call is up and comes back by
itself, on the same route and at the same level, soon after the phone call ends; it never comes
out of the speaker. Verdicts come only from the route captures, never from the app's own log.
"""

from __future__ import annotations

import time

import pytest

from harness.verdicts.expect import expect_call_survives

STEADY_S = 3.0  # the call runs this long before the phone rings
HOLD_S = 3.0  # the phone call lasts this long once answered


@pytest.mark.catches("never_resumes", "leaks_to_speaker", "quiet_after_resume")
def test_call_answered_then_ended(call, caller, app, actions, evidence, limits):
    call.wait_connected()
    steady = actions.hold(STEADY_S)
    phone_call = actions.phone_call("tel", HOLD_S)
    time.sleep(limits.resume_s + 2.0)
    expect_call_survives(evidence, "receiver", steady, phone_call, limits)
