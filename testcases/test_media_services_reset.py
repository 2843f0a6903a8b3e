"""Settings > Developer > Reset Media Services during the voice call.

Promise: after iOS's media services come back, the app re-creates its audio and the call plays
again by itself (Apple's QA1749: re-create every audio object on mediaServicesWereReset).
"""

from __future__ import annotations

import time

import pytest

from harness.verdicts.expect import expect_playing, expect_resumed

RESET_S = 1.5  # iOS's media services come back about this long after the reset (inference)


@pytest.mark.catches("no_media_reset_recovery")
def test_media_services_reset(call, app, actions, evidence, limits):
    call.wait_connected()
    steady = actions.hold(3.0)
    reset = actions.reset_media_services()
    time.sleep(RESET_S + limits.ice_reconnect_s)
    spans = evidence.downlink("receiver")
    expect_playing(spans, steady, "receiver before the reset")
    latency = expect_resumed(spans, reset.t_ns, RESET_S + limits.ice_reconnect_s - 1.0,
                             "receiver after the media services reset", rule_id="media-reset-recovery")
    evidence.record("recovery_s", round(latency, 2))
