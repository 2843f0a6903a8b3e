"""A Clock timer goes off during the voice call and the user stops it.

Promise: the alarm interrupts the agent at most while it rings; once stopped, the agent is back by
itself on the receiver at the level it had before. (Setting the timer goes through Siri, a first
interruption that is over before the alarm, so the steady window is the one before Siri.)
"""

from __future__ import annotations

import time

import pytest

from harness.verdicts.expect import expect_call_survives


@pytest.mark.catches("never_resumes", "quiet_after_resume")
def test_timer(call, app, actions, evidence, limits):
    call.wait_connected()
    steady = actions.hold(2.0)  # before Siri is asked to set the timer
    alarm = actions.timer(8, ring_s=2.0)
    time.sleep(limits.resume_s + 2.0)
    expect_call_survives(evidence, "receiver", steady, alarm, limits)
