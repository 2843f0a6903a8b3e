"""A Clock timer goes off during the voice call and the user stops it.

Promise: the alarm interrupts the agent at most while it rings; once stopped, the agent is back by
itself on the receiver at its level. (Setting the timer goes through Siri, a first interruption
that is over before the alarm.)
"""

from __future__ import annotations

import time

import pytest

from harness.actions import Window
from harness.expect import expect_call_survives


# not quiet_after_resume: Siri, who sets the timer, already resumed the call quiet
@pytest.mark.catches("never_resumes")
def test_timer(call, app, actions, evidence, limits, record_property):
    call.wait_connected(timeout=limits.connect_s)
    actions.hold(2.0)
    alarm = actions.timer(8, ring_s=2.0)
    time.sleep(limits.resume_s + 2.0)
    evidence.close()
    steady = Window.before(alarm.start_ns, 2.0)
    expect_call_survives(evidence, "receiver", steady, alarm, actions.timeline.now(), limits, record_property)
