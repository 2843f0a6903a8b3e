"""A declined phone call interrupts the voice call; the level of the agent before and after.

Promise: when the agent comes back after an interruption it is as loud as before (a known field
bug: the voice-processing unit resumes "inaudibly quiet").
"""

from __future__ import annotations

import time

import pytest

from harness.verdicts.expect import expect_level_kept, expect_resumed


@pytest.mark.catches("quiet_after_resume")
def test_level_after_resume(call, caller, app, actions, evidence, limits):
    call.wait_connected()
    steady = actions.hold(3.0)
    actions.incoming_call("tel")
    time.sleep(1.0)
    declined = actions.decline()
    time.sleep(limits.resume_s + 3.0)
    since = actions.since(declined)
    evidence.expect_call_released(declined.t_ns)  # Live Voicemail keeping the call is the lab's
    latency = expect_resumed(evidence.downlink("receiver"), declined.t_ns, limits.resume_s, "receiver")
    before = evidence.level("receiver", steady)
    after = evidence.level("receiver", since.after(latency + 0.5))
    evidence.record("level_before_db", before and round(before.db, 1))
    evidence.record("level_after_db", after and round(after.db, 1))
    expect_level_kept(before and before.db, after and after.db, limits.level_tolerance_db,
                      "receiver after the declined call")
