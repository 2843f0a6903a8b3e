"""Scenarios where WebDriverAgent itself fails (run by tests/cli; not part of the catalog).

Each injects one of WDA's own error answers through the virtual lab's control API
(``POST /phones/{udid}/wda/errors``); ``harness run`` must class each as a lab fault with its own
tag (exit 3), never as a harness error (exit 4). On a real phone WDA answers these by itself.
"""

from __future__ import annotations

from tests.cli.scenarios.lab_faults import control

# A real envelope, quoted from electricbubble/gwda gwda.go (getErrMsg comment): what WDA answers
# to /wda/unlock on a phone with a passcode (XCUIDevice+FBHelpers.m fb_unlockScreen).
UNLOCK_TIMEOUT = ('Error Domain=com.facebook.WebDriverAgent Code=1 "Timed out while waiting until the screen '
                  'gets unlocked" UserInfo={NSLocalizedDescription=Timed out while waiting until the screen '
                  'gets unlocked}')


def inject(lab, dut, route: str, error: str, message: str = "") -> None:
    control(lab, "POST", f"/phones/{dut.spec.udid}/wda/errors",
            {"route": route, "error": error, "message": message, "times": 1})


def test_wda_unknown_error(lab, dut) -> None:
    inject(lab, dut, "/wda/homescreen", "unknown error", "Timeout waiting for the Home screen")
    dut.ui.home()


def test_wda_passcode_locked(lab, dut) -> None:
    inject(lab, dut, "/wda/unlock", "unknown error", UNLOCK_TIMEOUT)
    dut.ui.unlock()


def test_wda_invalid_element_state(lab, dut) -> None:
    inject(lab, dut, "/wda/tap", "invalid element state", "The element is not hittable")
    dut.ui.reset_media_services()


def test_wda_no_such_element(lab, dut) -> None:
    inject(lab, dut, "/element/:uuid/rect", "no such element", "The element is gone")
    dut.ui.reset_media_services()
