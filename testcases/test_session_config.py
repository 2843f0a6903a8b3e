"""The voice call as configured, heard from the outside: no echo of the agent in the uplink, the
user's voice at the peer, the agent on the receiver.

Promise: the app uses voice processing (mode voiceChat), so what the agent says does not come back
to it through the phone's microphone; it records the microphone (playAndRecord).
"""

from __future__ import annotations

import pytest

from harness.errors import AppFailure
from harness.verdicts.expect import expect_no_echo, expect_on_route, expect_playing


@pytest.mark.catches("default_mode")
def test_session_config(call, app, actions, evidence, limits):
    call.wait_connected()
    steady = actions.hold(6.0)
    expect_playing(evidence.downlink("receiver"), steady, "receiver")
    expect_on_route(evidence.routes_playing(steady), "receiver", "the call", "session-category")
    uplink_s = evidence.uplink_present_s()
    evidence.record("uplink_present_s", round(uplink_s, 2))
    if uplink_s < 0.5 * steady.seconds:
        raise AppFailure(f"the peer heard the user's voice only {uplink_s:.1f} s of {steady.seconds:.1f} s: "
                         "the app does not record the microphone", rule="session-category")
    erl = evidence.echo_return_loss_db()
    evidence.record("echo_return_loss_db", None if erl is None else round(erl, 1))
    expect_no_echo(erl, limits.echo_min_erl_db, "uplink")
