"""facebook-wda 1.5.4's public API against the virtual WDA over a plain URL: every route the harness
uses, and WDA's errors (reference/wda.md §1-5)."""

from __future__ import annotations

import base64
import io
import xml.etree.ElementTree as ET

import pytest
import wda
from PIL import Image

from tests.wda.scene import VOICE_APP, Scene


@pytest.fixture
def phone(scene: Scene):
    return scene.add_phone()


def test_status_carries_the_active_session_id(phone) -> None:
    c = wda.Client(phone.url)
    status = c.status()
    assert status["ready"] is True and status["os"]["version"] == "17.5.1"
    assert status["sessionId"] is None
    sid = c.session_id  # no session: the client creates one
    assert c.status()["sessionId"] == sid
    assert wda.Client(phone.url).session_id == sid  # a second base client adopts it from /status


def test_session_with_bundle_launches_with_arguments_and_environment(phone) -> None:
    c = wda.Client(phone.url)
    s = c.session(VOICE_APP, ["-flag"], {"HARNESS_WHIP_URL": "http://peer/whip", "HARNESS_WHIP_TOKEN": "t1"})
    assert s.app_state(VOICE_APP).value == 4
    info = c.app_current()
    assert info["bundleId"] == VOICE_APP
    assert info["processArguments"] == {
        "args": ["-flag"],
        "env": {"HARNESS_WHIP_URL": "http://peer/whip", "HARNESS_WHIP_TOKEN": "t1"},
    }
    launch = phone.apps.launches[-1]
    assert (launch.arguments, launch.environment["HARNESS_WHIP_TOKEN"]) == (["-flag"], "t1")


def test_new_session_replaces_the_old_one_and_terminates_its_app(phone) -> None:
    c = wda.Client(phone.url)
    first = c.session(VOICE_APP)
    assert first.app_state(VOICE_APP).value == 4
    second = c.session()  # WDA kills the active session: its tested app is terminated
    assert second.session_id != first.session_id
    assert second.app_state(VOICE_APP).value == 1
    assert c.status()["sessionId"] == second.session_id


def test_app_launch_ignores_the_environment_of_a_running_app(phone) -> None:
    c = wda.Client(phone.url)
    c.app_launch(VOICE_APP, environment={"K": "first"})
    c.app_launch(VOICE_APP, environment={"K": "second"})
    assert [launch.environment for launch in phone.apps.launches] == [{"K": "first"}]
    assert c.app_current()["processArguments"]["env"] == {"K": "first"}


def test_terminate_state_list_and_home(phone) -> None:
    c = wda.Client(phone.url)
    assert c.app_state(VOICE_APP).value == 1
    c.app_launch(VOICE_APP)
    assert {"bundleId": VOICE_APP, "pid": phone.apps.pid(VOICE_APP)} in c.app_list()
    c.home()
    assert c.app_state(VOICE_APP).value == 3  # running, in the background
    assert c.app_current()["bundleId"] == "com.apple.springboard"
    c.app_activate(VOICE_APP)
    assert c.app_state(VOICE_APP).value == 4
    assert c.app_terminate(VOICE_APP).value is True
    assert c.app_terminate(VOICE_APP).value is False
    assert c.app_state(VOICE_APP).value == 1


def test_not_installed_app_is_an_error(phone) -> None:
    c = wda.Client(phone.url)
    with pytest.raises(wda.WDAUnknownError, match="not installed"):
        c.app_launch("com.example.missing")


def test_close_deletes_the_session_with_the_trailing_slash(phone) -> None:
    c = wda.Client(phone.url)
    s = c.session(VOICE_APP)
    s.close()  # DELETE /session/<sid>/
    assert ("DELETE", f"/session/{s.session_id}") in phone.wda.requests
    assert c.status()["sessionId"] is None
    assert phone.apps.state(VOICE_APP) == 1


def test_invalid_session_id_recovery_through_the_base_client(phone) -> None:
    c = wda.Client(phone.url)
    c.session_id  # noqa: B018 - creates a session (the id of a fresh one is not cached)
    old = c.session_id  # adopted from /status and cached
    other = wda.Client(phone.url)
    new = other.session().session_id  # someone replaced the session
    assert new != old
    assert c.app_state(VOICE_APP).value == 1  # invalid session id -> /status -> adopts the new one
    assert c.session_id == new
    assert ("POST", f"/session/{old}/wda/apps/state") in phone.wda.requests


def test_child_clients_loop_on_invalid_session_id(phone) -> None:
    """The callback bug of reference/wda.md §1.4, reproduced: why harness.phone never holds a child."""
    c = wda.Client(phone.url)
    child = c.session(VOICE_APP)
    wda.Client(phone.url).session()
    with pytest.raises(RuntimeError, match="call depth exceed"):
        child.app_state(VOICE_APP)


def test_raw_invalid_session_error_envelope(phone) -> None:
    c = wda.Client(phone.url)
    c.session_id  # noqa: B018 - creates the session
    with pytest.raises(wda.WDAInvalidSessionIdError) as info:
        wda.Client(phone.url, _session_id="NOPE")._session_http.get("/window/size")
    assert info.value.value["message"] == "Session does not exist"


def test_unknown_command(phone) -> None:
    c = wda.Client(phone.url)
    with pytest.raises(wda.WDARequestError) as info:
        c.http.get("/wda/no/such/route")
    assert info.value.value["error"] == "unknown command"
    assert "Unhandled endpoint: /wda/no/such/route" in info.value.value["message"]
    with pytest.raises(wda.WDARequestError, match="unknown command"):
        c._fast_swipe(10, 10, 10, 400)  # the client's /wda/drag does not exist on WDA


def test_no_such_alert(phone) -> None:
    c = wda.Client(phone.url)
    assert c.alert.exists is False
    with pytest.raises(wda.WDARequestError) as info:
        c.alert.text  # noqa: B018
    assert info.value.value["error"] == "no such alert"
    with pytest.raises(wda.WDARequestError, match="no such alert"):
        c.alert.buttons()
    with pytest.raises(wda.WDARequestError, match="no such alert"):
        c.alert.accept()


def test_url_tel_shows_the_call_prompt_and_alert_commands_act_on_it(scene: Scene) -> None:
    a = scene.add_phone()
    scene.add_phone(number="+15550100002")
    c = wda.Client(a.url)
    c.open_url("tel:+15550100002")
    assert c.alert.exists and c.alert.text == "+15550100002"
    assert c.alert.buttons() == ["Cancel", "Call"]
    c.alert.dismiss()  # first button of an Alert: Cancel
    assert not c.alert.exists and scene.call_events == []
    c.open_url("tel:+15550100002")
    c.alert.accept()  # last button: Call
    assert [e.kind for e in scene.call_events] == ["dialing", "ringing"]


def test_url_with_unknown_scheme_is_an_unknown_error(phone) -> None:
    c = wda.Client(phone.url)
    with pytest.raises(wda.WDAUnknownError):
        c.open_url("nosuchscheme://x")


def test_alert_click_names_a_button(scene: Scene) -> None:
    a = scene.add_phone()
    c = wda.Client(a.url)
    c.open_url("tel:+15559999999")
    assert c.alert.click(["Nope", "Cancel"]) == "Cancel"
    assert not c.alert.exists
    c.open_url("tel:+15559999999")
    with pytest.raises(wda.WDARequestError, match="invalid element state"):
        c.alert.click("Nope")


def test_element_lookup_strategies(scene: Scene) -> None:
    a = scene.add_phone()
    b = scene.add_phone(number="+15550100002", ios="18.2")
    wda.Client(a.url).open_url("tel:+15550100002")
    wda.Client(a.url).alert.accept()
    c = wda.Client(b.url)
    assert c(id="acceptCall").exists
    assert c(name="Accept").exists is False  # name is the identifier when there is one
    assert c(label="Accept", className="Button").exists
    assert c(labelContains="ccep").exists
    assert c(predicate="label BEGINSWITH 'Acc' AND type == 'XCUIElementTypeButton'").exists
    assert c(predicate="label ==[c] 'accept' OR name == 'x'").exists
    assert c(predicate="NOT (label CONTAINS 'e')").count() >= 1
    assert c(classChain="**/XCUIElementTypeButton[`label == 'Decline'`]").exists
    assert c(classChain="**/XCUIElementTypeOther/XCUIElementTypeButton[-1]").get().label == "Accept"
    assert c(xpath="//XCUIElementTypeButton[@name='rejectCall']").exists
    assert c(className="StaticText").count() == 2
    assert c(nameMatches="^accept.*").exists
    assert not c(id="nothing").exists
    el = c(id="acceptCall").get()
    assert (el.label, el.className, el.name, el.text) == (
        "Accept",
        "XCUIElementTypeButton",
        "XCUIElementTypeButton",
        "Accept",
    )
    assert el.displayed and el.enabled and el.visible and el.accessible
    assert el.accessibility_container is False and el.selected() is False
    assert tuple(el.bounds) == (314, 62, 56, 56)
    with pytest.raises(wda.WDARequestError, match="invalid selector"):
        c(predicate="label ~~ 'x'").exists  # noqa: B018
    with pytest.raises(wda.WDARequestError, match="invalid argument"):
        c._session_http.post("/elements", {"using": "telepathy", "value": "x"})
    with pytest.raises(wda.WDARequestError, match="no such element"):
        c._session_http.post("/element", {"using": "id", "value": "nothing"})


def test_stale_element_reference(phone) -> None:
    c = wda.Client(phone.url)
    icon = c(id="Voice").get()  # the home screen icon
    assert icon.label == "Voice"
    icon.tap()  # POST /element/<id>/click launches the app
    assert c.app_current()["bundleId"] == VOICE_APP
    with pytest.raises(wda.WDAStaleElementReferenceError):
        icon.bounds  # noqa: B018
    with pytest.raises(wda.WDAStaleElementReferenceError):
        wda.Element(c, "NO-SUCH-ID").label  # noqa: B018


def test_taps_are_hit_tested_against_frames(scene: Scene) -> None:
    a = scene.add_phone()
    scene.add_phone(number="+15550100002")
    c = wda.Client(a.url)
    c.open_url("tel:+15550100002")
    c.tap(5, 5)  # the dimmed backdrop: nothing happens
    assert c.alert.exists
    call = c(label="Call", className="Button").get()
    x, y = call.bounds.center
    c.tap(x, y)
    assert not c.alert.exists
    assert [e.kind for e in scene.call_events] == ["dialing", "ringing"]


def test_buttons_lock_and_io_hid(phone) -> None:
    c = wda.Client(phone.url)
    c.app_launch(VOICE_APP)
    c.press("volumeUp")
    c.press("home")
    assert c.app_current()["bundleId"] == "com.apple.springboard"
    with pytest.raises(wda.WDAUnknownError, match="not supported"):
        c._session_http.post("/wda/pressButton", {"name": "siri"})
    assert c.locked() is False
    c.lock()
    assert c.locked() is True
    c.unlock()
    assert c.locked() is False
    c.press_duration("power", 0.05)  # side button locks
    assert c.locked() is True


def test_window_screen_orientation_device_battery_settings(phone) -> None:
    c = wda.Client(phone.url)
    assert tuple(c.window_size()) == (390, 844)
    assert c.scale == 3
    assert c.orientation == "PORTRAIT"
    info = c.device_info()
    assert info["uuid"] == phone.phone.udid and info["isSimulator"] is False
    assert c.battery_info() == {"level": 0.87, "state": 2}
    settings = c.appium_settings({"defaultActiveApplication": "com.apple.springboard"})
    assert settings["defaultActiveApplication"] == "com.apple.springboard"
    assert c.appium_settings()["respectSystemAlerts"] is False
    c.siri_activate("what time is it")
    assert phone.wda.siri_requests == ["what time is it"]
    c.set_clipboard("hello")
    assert base64.b64decode(c._session_http.post("/wda/getPasteboard").value) == b"hello"
    c.swipe(0.5, 0.9, 0.5, 0.1)
    c.double_tap(10, 10)
    c.tap_hold(10, 10, 0.1)
    c.send_keys("abc")
    assert ("POST", f"/session/{c.session_id}/wda/dragfromtoforduration") in phone.wda.requests


def test_source_reflects_the_ui_state(phone) -> None:
    c = wda.Client(phone.url)
    home = ET.fromstring(c.source())
    assert home.tag == "AppiumAUT"
    assert home[0].tag == "XCUIElementTypeApplication" and home[0].get("name") == "SpringBoard"
    assert any(e.get("name") == "Voice" for e in home.iter("XCUIElementTypeIcon"))
    c.app_launch(VOICE_APP)
    app = ET.fromstring(c.source())
    assert app[0].get("name") == "Voice"
    tree = c.source(format="json")
    assert tree["type"] == "Application" and tree["name"] == "Voice"
    assert c.source(accessible=True)["type"] == "Application"


def _png(c: wda.Client) -> bytes:
    return c.screenshot(format="raw")


def test_screenshots_are_pngs_of_the_state(scene: Scene) -> None:
    a = scene.add_phone()
    scene.add_phone(number="+15550100002")
    c = wda.Client(a.url)
    shots = {"home": _png(c)}
    c.app_launch(VOICE_APP)
    shots["app"] = _png(c)
    c.open_url("tel:+15550100002")
    shots["prompt"] = _png(c)
    c.alert.accept()
    shots["in-call"] = _png(c)
    c(label="End call", className="Button").click()
    c.lock()
    shots["locked"] = _png(c)
    for name, png in shots.items():
        assert png.startswith(b"\x89PNG\r\n\x1a\n"), name
        img = Image.open(io.BytesIO(png))
        img.load()
        assert img.size == (390, 844), name
    assert len(set(shots.values())) == len(shots), "distinct states must give distinct screenshots"
    # the prompt dims the app behind it and draws the alert: the alert's centre is light, the backdrop darker
    img = Image.open(io.BytesIO(shots["prompt"])).convert("L")
    app = Image.open(io.BytesIO(shots["app"])).convert("L")
    assert img.getpixel((195, 345)) > 200 and img.getpixel((20, 800)) < app.getpixel((20, 800))


def test_health_and_healthcheck(phone) -> None:
    c = wda.Client(phone.url)
    c.app_launch(VOICE_APP)
    c.healthcheck()  # presses Home, as WDA does
    assert c.app_current()["bundleId"] == "com.apple.springboard"
    assert c.is_ready() and c.wait_ready(timeout=5, noprint=True)


def test_system_overlays_and_the_active_application(scene: Scene) -> None:
    """Siri's overlay (in SpringBoard: siri_ui=springboard) misses WDA's detection point: finds see it
    only with defaultActiveApplication."""
    phone = scene.add_phone(variants={"siri_ui": "springboard"})
    c = wda.Client(phone.url)
    c.app_launch(VOICE_APP)
    c.siri_activate("what time is it")
    assert c.app_current()["bundleId"] == VOICE_APP
    assert not c(name="Siri").exists
    c.appium_settings({"defaultActiveApplication": "com.apple.springboard"})
    assert c(name="Siri").exists
    c.appium_settings({"defaultActiveApplication": "auto"})
    w, h = c.window_size()
    c.swipe(0.95, 0.0, 0.95, 0.5)  # Control Center: swipe down from the top-right corner
    assert c.app_current()["bundleId"] == "com.apple.springboard"
    assert c(id="ControlCenterView").exists
    c.tap(w // 2, h - 20)  # the backdrop closes it
    assert not c(id="ControlCenterView").exists and c.app_current()["bundleId"] == VOICE_APP
