"""The user switches the call to the speaker in the app; a phone call interrupts; it ends.

Promise (HIPAA): an interruption ends the speaker override (iOS routes back to the receiver) and
the app must not put the call back on the speaker by itself: after the phone call the agent plays
on the receiver, never on the speaker.
"""

from __future__ import annotations

import time

import pytest

from harness.verdicts.expect import expect_absent, expect_on_route, expect_resumed


@pytest.mark.catches("leaks_to_speaker")
def test_speaker_override(call, caller, app, actions, evidence, limits):
    call.wait_connected()
    actions.hold(1.5)
    tapped = actions.tap_speaker_button()
    time.sleep(2.5)
    on_speaker = actions.since(tapped).after(limits.route_switch_s)
    phone_call = actions.phone_call("tel", 3.0)
    time.sleep(limits.resume_s + 2.0)
    expect_on_route(evidence.routes_playing(on_speaker), "speaker", "after the speaker button")
    after = phone_call.end_ns + int(0.3e9)
    expect_absent([s for s in evidence.downlink("speaker") if s.end_ns > after], "speaker",
                  "speaker after the phone call")
    latency = expect_resumed(evidence.downlink("receiver"), phone_call.end_ns, limits.resume_s,
                             "receiver after the phone call")
    evidence.record("resume_latency_ms", round(latency * 1000, 1))
