"""Siri interrupts the voice call; what happens after depends on what iOS says when Siri ends.

Promise: while Siri listens the agent is quiet. When Siri ends with shouldResume (a question like
"what time is it") the agent comes back by itself; when it ends without it (Siri started audio of
its own: "play some music"), or never ends, the agent stays quiet until the user acts. What iOS
said is read from iOS's own audio log, never from the app: on a lab that has not verified the
audio daemon's line on its phones (system_log: verified) the scenario is skipped, saying so.
"""

from __future__ import annotations

import time

import pytest

from harness.errors import LabFault
from harness.timeline import Span
from harness.verdicts.expect import expect_call_survives, expect_paused, expect_playing, expect_stays_paused
from harness.verdicts.system_log import UNVERIFIED

REQUESTS = {"question": "What time is it", "plays-audio": "Play some music"}


@pytest.mark.parametrize("request_kind", list(REQUESTS))
@pytest.mark.catches("ignores_should_resume", "never_resumes")
def test_siri(request_kind, call, app, actions, evidence, limits):
    if not evidence.system_log.verified:  # iOS's shouldResume is read from its own log, nowhere else
        pytest.skip(UNVERIFIED)
    call.wait_connected()
    steady = actions.hold(3.0)
    siri = actions.siri(REQUESTS[request_kind], hold_s=2.0)
    actions.back_to_app()  # Home dismissed Siri and left the app in the background
    time.sleep(limits.resume_s + 2.0)
    logged = [i for i in evidence.interruptions() if i.t_ns >= siri.start_ns]
    if not logged:
        raise LabFault("iOS's audio log showed no interruption for Siri although the lab verified its "
                       "system_log pattern: check it for this iOS version (harness phone survey)",
                       tag="system-log")
    ended = next((i for i in logged if i.type == "ended"), None)
    evidence.record("siri_should_resume", None if ended is None else ended.should_resume)
    if ended is not None and ended.should_resume:
        expect_call_survives(evidence, "receiver", steady, Span(siri.start_ns, ended.t_ns), limits)
        return
    # iOS may end the interruption before Home dismissed Siri (Siri went on to play audio of its own):
    # from that moment the question is no longer "paused while interrupted" but "stayed paused
    # without shouldResume"
    ended_ns = siri.end_ns if ended is None else min(ended.t_ns, siri.end_ns)
    spans = evidence.downlink("receiver")
    expect_playing(spans, steady, "receiver before Siri")
    expect_paused(spans, Span(siri.start_ns, ended_ns).after(0.3), "receiver while Siri listened")
    expect_stays_paused(spans, actions.since(ended_ns), "receiver after Siri")
