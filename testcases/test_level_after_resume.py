"""A declined phone call interrupts the voice call; the level of the agent before and after.

Promise: when the agent comes back after an interruption it is as loud as before (a known field
bug: the voice-processing unit resumes "inaudibly quiet").
"""

from __future__ import annotations

import time

import pytest

from harness.actions import Window
from harness.expect import expect_level_kept, expect_resumed


@pytest.mark.catches("quiet_after_resume")
def test_level_after_resume(call, caller, app, actions, evidence, limits, record_property):
    call.wait_connected(timeout=limits.connect_s)
    steady = actions.hold(3.0)
    actions.incoming_call("tel")
    time.sleep(1.0)
    declined = actions.decline()
    time.sleep(limits.resume_s + 3.0)
    end = actions.timeline.now()
    evidence.close()
    latency = expect_resumed(evidence.downlink("receiver"), declined.t_ns, limits.resume_s, "receiver")
    after = Window(declined.t_ns + int((latency + 0.5) * 1e9), end)
    before_level = evidence.level("receiver", steady.start_ns, steady.end_ns)
    after_level = evidence.level("receiver", after.start_ns, after.end_ns)
    record_property("level_before_db", before_level and round(before_level.db, 1))
    record_property("level_after_db", after_level and round(after_level.db, 1))
    expect_level_kept(before_level and before_level.db, after_level and after_level.db,
                      limits.level_tolerance_db, "receiver after the declined call")
