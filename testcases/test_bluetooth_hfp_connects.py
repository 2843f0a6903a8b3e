"""AirPods (HFP and A2DP in one device) connect in the middle of the voice call.

Promise: the call moves to the headset (HFP: its microphone and its speaker) and stays there; it
never passes through the phone's loudspeaker on the way.
"""

from __future__ import annotations

import time

import pytest

from harness.verdicts.expect import expect_absent, expect_on_route, expect_playing


@pytest.mark.requires("hfp_headset", "capture:bt_hfp")
def test_bluetooth_hfp_connects(call, app, actions, evidence, limits):
    headset = actions.accessory_with("hfp")
    call.wait_connected()
    steady = actions.hold(3.0)
    connected = actions.connect_bluetooth(headset)
    time.sleep(limits.route_switch_s + 3.0)
    after = actions.since(connected).after(limits.route_switch_s)
    expect_playing(evidence.downlink("receiver"), steady, "receiver before")
    expect_on_route(evidence.routes_playing(after), "bt_hfp", f"once {headset} connected", "hfp-option")
    expect_absent(evidence.downlink("speaker"), "speaker", "speaker capture")
