"""The Bluetooth headset the call is on switches off in the middle of the call.

Promise (HIPAA): the call falls back to the receiver, never to the loudspeaker.
"""

from __future__ import annotations

import time

import pytest

from harness.expect import expect_absent, expect_on_route


@pytest.mark.requires("hfp_headset", "capture:bt_hfp")
@pytest.mark.catches("leaks_to_speaker")
def test_bluetooth_disconnects(call, app, actions, evidence, limits, record_property):
    headset = actions.accessory_with("hfp")
    call.wait_connected(timeout=limits.connect_s)
    connected = actions.connect_bluetooth(headset)
    time.sleep(limits.route_switch_s + 2.0)
    on_headset = (connected.t_ns + int(limits.route_switch_s * 1e9), actions.timeline.now())
    gone = actions.bluetooth_off(headset)
    time.sleep(limits.route_switch_s + 3.0)
    end = actions.timeline.now()
    evidence.close()
    expect_on_route(evidence.routes_playing(*on_headset), "bt_hfp", f"while {headset} was on")
    expect_absent(evidence.downlink("speaker"), "speaker", "speaker capture")
    after = (gone.t_ns + int(limits.route_switch_s * 1e9), end)
    expect_on_route(evidence.routes_playing(*after), "receiver", f"after {headset} went off",
                    "no-speaker-leak")
