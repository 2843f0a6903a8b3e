"""An A2DP-only Bluetooth speaker (no microphone, no HFP) connects during the voice call.

Promise: with allowBluetoothA2DP the call plays on the speaker the user picked (and records from the
phone's microphone); without the option iOS keeps it on the receiver.
"""

from __future__ import annotations

import time

import pytest

from harness.verdicts.expect import expect_on_route


@pytest.mark.requires("a2dp_speaker", "capture:bt_a2dp")
@pytest.mark.catches("no_a2dp_option")
def test_a2dp_speaker(call, app, actions, evidence, limits):
    speaker = actions.accessory_with("a2dp", only=True)
    call.wait_connected()
    actions.hold(2.0)
    connected = actions.connect_bluetooth(speaker)
    time.sleep(limits.route_switch_s + 3.0)
    after = actions.since(connected).after(limits.route_switch_s)
    expect_on_route(evidence.routes_playing(after), "bt_a2dp", f"once {speaker} connected", "a2dp-option")
