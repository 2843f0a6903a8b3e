"""Scenarios that break the virtual lab on purpose (run by tests/cli; not part of the catalog).

Each injects one lab fault through the virtual lab's control API; ``harness run`` must class each
as a lab fault with its tag, and exit 3.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest

from harness.lab.virtual import read_state
from harness.verdicts.expect import expect_uninterrupted


def control(lab, method: str, path: str, body: dict | None = None) -> dict:
    url = read_state(lab.path.parent)["control_url"] + path
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read() or b"{}")


@pytest.fixture
def silent_capture(lab) -> Iterator[str]:
    """Silences the DUT's whole capture chain once the test asks (the rig must be open first)."""
    dut = lab.spec.role("dut")[0]
    yield dut.udid
    try:
        control(lab, "POST", f"/phones/{dut.udid}/capture/silent", {"silent": False})
    except urllib.error.HTTPError:
        pass


@pytest.fixture
def detached(lab) -> Iterator[None]:
    dut = lab.spec.role("dut")[0]
    control(lab, "POST", f"/phones/{dut.udid}/detach", {})
    yield
    control(lab, "POST", f"/phones/{dut.udid}/attach", {})


def test_phone_detaches(lab, dut) -> None:
    control(lab, "POST", f"/phones/{dut.spec.udid}/detach", {"reattach_after_s": 3})
    dut.ui.launch_app("com.example.voiceagent", env={})


def test_phone_gone_before_the_test(detached, dut) -> None:
    pass


def test_capture_goes_silent(lab, silent_capture, capture) -> None:
    assert capture.has_reference, "the virtual lab's rig must have a reference channel"
    time.sleep(2.0)
    control(lab, "POST", f"/phones/{silent_capture}/capture/silent", {"silent": True})
    time.sleep(3.0)
    capture.close()
    capture.check_capture()


def test_capture_chain_drops_out(lab, call, app, capture, evidence, actions) -> None:
    """Half a second of the whole capture chain lost: the route gaps are the lab's, not the app's."""
    call.wait_connected()
    time.sleep(2.0)
    control(lab, "POST", f"/phones/{lab.spec.role('dut')[0].udid}/capture/dropout", {"ms": 500})
    time.sleep(2.0)
    evidence.close()  # raises the capture-dropout lab fault before any verdict
    raise AssertionError("the dropout was not noticed")  # pragma: no cover


def test_dropout_before_a_verdict_without_close(lab, call, app, evidence, actions, limits) -> None:
    """The scenario never closes the evidence itself: its first question must still check the capture
    chain, so a 500 ms chain dropout is a lab fault, not 'the call stopped playing'."""
    call.wait_connected()
    start = actions.hold(2.0)
    control(lab, "POST", f"/phones/{lab.spec.role('dut')[0].udid}/capture/dropout", {"ms": 500})
    time.sleep(2.0)
    expect_uninterrupted(evidence.downlink("receiver"), actions.since(start.start_ns), "receiver",
                         "pause-on-began")  # would fail the app on the dropout's gap


def test_peer_unreachable(call, launch_app, harness_loop) -> None:
    """The app cannot reach the lab's peer (it is down): a lab fault, not the app's."""
    harness_loop.run(call.peer.stop())
    launch_app()
    call.wait_connected(timeout=8)


def test_recipe_ui_missing(lab, dut) -> None:
    """SpringBoard no longer shows what the Control Center recipe looks for (as after an iOS update)."""
    control(lab, "POST", f"/phones/{dut.spec.udid}/springboard/mutations",
            {"mutations": ["cc.view", "cc.bluetooth"]})
    try:
        dut.ui.open_control_center(timeout=3)
    finally:
        control(lab, "POST", f"/phones/{dut.spec.udid}/springboard/mutations", {"mutations": []})


def test_wda_dies(lab, dut) -> None:
    """The phone's WebDriverAgent stops answering mid-test (back after a few seconds)."""
    control(lab, "POST", f"/phones/{dut.spec.udid}/wda/stop", {"restart_after_s": 5})
    dut.ui.siri("what time is it")
