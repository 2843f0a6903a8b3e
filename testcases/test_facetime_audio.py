"""A FaceTime Audio call (dialled by Apple ID from the caller phone) interrupts the voice call.

Promise: as for a phone call: paused while it lasts, back on its own afterwards, never on the speaker.
"""

from __future__ import annotations

import time

import pytest

from harness.verdicts.expect import expect_call_survives


@pytest.mark.catches("never_resumes", "leaks_to_speaker")
def test_facetime_audio(call, caller, app, actions, evidence, limits):
    call.wait_connected()
    steady = actions.hold(3.0)
    facetime = actions.phone_call("facetime-audio", 3.0)
    time.sleep(limits.resume_s + 2.0)
    expect_call_survives(evidence, "receiver", steady, facetime, limits)
