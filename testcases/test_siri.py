"""Siri interrupts the voice call; what happens after depends on what iOS says when Siri ends.

Promise: while Siri listens the agent is quiet. When Siri ends with shouldResume (a question like
"what time is it") the agent comes back by itself; when it ends without it (Siri started audio of
its own: "play some music"), or never ends, the agent stays quiet until the user acts. What iOS
said is read from iOS's own audio log, never from the app.
"""

from __future__ import annotations

import time

import pytest

from harness.actions import Window
from harness.errors import LabFault
from harness.expect import expect_call_survives, expect_paused, expect_playing, expect_stays_paused

REQUESTS = {"question": "What time is it", "plays-audio": "Play some music"}


@pytest.mark.parametrize("request_kind", list(REQUESTS))
@pytest.mark.catches("ignores_should_resume", "never_resumes")
def test_siri(request_kind, call, app, actions, evidence, limits, record_property):
    call.wait_connected(timeout=limits.connect_s)
    steady = actions.hold(3.0)
    siri = actions.siri(REQUESTS[request_kind], hold_s=2.0)
    actions.back_to_app()  # Home dismissed Siri and left the app in the background
    time.sleep(limits.resume_s + 2.0)
    evidence.close()

    logged = [i for i in evidence.interruptions(app) if i.t_ns >= siri.start_ns]
    if not logged:
        raise LabFault("iOS's audio log showed no interruption for Siri: check the lab's "
                       "system_log pattern for this iOS version (harness.ios)", tag="system-log")
    ended = next((i for i in logged if i.type == "ended"), None)
    record_property("siri_should_resume", None if ended is None else ended.should_resume)
    if ended is not None and ended.should_resume:
        expect_call_survives(evidence, "receiver", steady, Window(siri.start_ns, ended.t_ns),
                             actions.timeline.now(), limits, record_property)
        return
    spans = evidence.downlink("receiver")
    expect_playing(spans, steady.start_ns, steady.end_ns, "receiver before Siri")
    expect_paused(spans, siri.start_ns + int(0.3e9), siri.end_ns, "receiver while Siri listened")
    expect_stays_paused(spans, siri.end_ns, actions.timeline.now(), "receiver after Siri")
