"""The Bluetooth headset the call is on switches off in the middle of the call.

Promise (HIPAA): the call falls back to the receiver, never to the loudspeaker.
"""

from __future__ import annotations

import time

import pytest

from harness.verdicts.expect import expect_absent, expect_on_route


@pytest.mark.requires("hfp_headset", "capture:bt_hfp")
@pytest.mark.catches("leaks_to_speaker")
def test_bluetooth_disconnects(call, app, actions, evidence, limits):
    headset = actions.accessory_with("hfp")
    call.wait_connected()
    connected = actions.connect_bluetooth(headset)
    time.sleep(limits.route_switch_s + 2.0)
    on_headset = actions.since(connected).after(limits.route_switch_s)
    gone = actions.bluetooth_off(headset)
    time.sleep(limits.route_switch_s + 3.0)
    after = actions.since(gone).after(limits.route_switch_s)
    expect_on_route(evidence.routes_playing(on_headset), "bt_hfp", f"while {headset} was on")
    expect_absent(evidence.downlink("speaker"), "speaker", "speaker capture")
    expect_on_route(evidence.routes_playing(after), "receiver", f"after {headset} went off",
                    "no-speaker-leak")
