"""A phone call rings during the voice call and the user declines it.

Promise: the ring interrupts the voice call at most while it rings; once declined, the agent's
audio is back on its own, on the receiver, at its level.
"""

from __future__ import annotations

import time

import pytest

from harness.timeline import Span
from harness.verdicts.expect import expect_call_survives


@pytest.mark.catches("never_resumes", "leaks_to_speaker")
def test_call_declined(call, caller, app, actions, evidence, limits):
    call.wait_connected()
    steady = actions.hold(3.0)
    dialled = actions.incoming_call("tel")
    time.sleep(1.5)  # it rings
    declined = actions.decline()
    time.sleep(limits.resume_s + 2.0)
    evidence.expect_call_released(declined.t_ns)  # Live Voicemail keeping the call is the lab's
    # The ring interrupts in the full-screen call style; with the banner style it may not: the
    # pause is only required while it rang, never more.
    rang = Span(dialled.t_ns, declined.t_ns)
    expect_call_survives(evidence, "receiver", steady, rang, limits, paused_margin_s=rang.seconds)
