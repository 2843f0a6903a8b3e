"""AirPods (HFP and A2DP in one device) connect in the middle of the voice call.

Promise: the call moves to the headset (HFP: its microphone and its speaker) and stays there; it
never passes through the phone's loudspeaker on the way.
"""

from __future__ import annotations

import time

import pytest

from harness.expect import expect_absent, expect_on_route, expect_playing


@pytest.mark.requires("hfp_headset", "capture:bt_hfp")
def test_bluetooth_hfp_connects(call, app, actions, evidence, limits, record_property):
    headset = actions.accessory_with("hfp")
    call.wait_connected(timeout=limits.connect_s)
    steady = actions.hold(3.0)
    connected = actions.connect_bluetooth(headset)
    time.sleep(limits.route_switch_s + 3.0)
    end = actions.timeline.now()
    evidence.close()
    expect_playing(evidence.downlink("receiver"), steady.start_ns, steady.end_ns, "receiver before")
    after = (connected.t_ns + int(limits.route_switch_s * 1e9), end)
    expect_on_route(evidence.routes_playing(*after), "bt_hfp", f"once {headset} connected",
                    "hfp-option")
    expect_absent(evidence.downlink("speaker"), "speaker", "speaker capture")
