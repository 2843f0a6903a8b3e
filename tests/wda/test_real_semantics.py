"""The virtual WDA behaves as WebDriverAgent v16.7.0 does where a real phone differs from the old
emulation (reference/real-iphone.md §5): which app a forced defaultActiveApplication really
reaches, /source without a session, rows below the fold, /wda/scroll, taps outside the window, a
passcode, another client replacing the session, and find/source latency. Ground truth comes from
the virtual SpringBoard, the requests go through the real facebook-wda client."""

from __future__ import annotations

import time

import pytest
import wda

from harness.sim.wda import server as wda_server
from tests.wda.scene import VOICE_APP, Scene

SB, ICS = "com.apple.springboard", "com.apple.InCallService"


def _session_app(c: wda.Client) -> str:
    """The app WDA searches for this session (GET /session/:id/wda/activeAppInfo)."""
    return c._session_http.get("/wda/activeAppInfo").value["bundleId"]


def _ring(scene: Scene, callee: str, variants: dict[str, str] | None = None) -> None:
    caller = scene.add_phone(
        number="+15550109999", apple_id="c@example.com", name="caller", variants=variants
    )
    scene.on_loop(lambda: caller.board.dial("tel", callee))


def test_a_forced_app_is_honoured_only_while_it_is_in_front_or_active(scene: Scene) -> None:
    """FBSession.m activeApplication: else auto-detection from the detection point (78, 78)."""
    sp = scene.add_phone(ios="18.2", variants={"incoming_call": "full-screen"})
    c = wda.Client(sp.url)
    c.app_launch(VOICE_APP)
    assert c.appium_settings()["activeAppDetectionPoint"] == "78.00,78.00"
    c.appium_settings({"defaultActiveApplication": ICS})
    assert _session_app(c) == VOICE_APP  # InCallService shows nothing: WDA falls back to auto
    assert not c(id="acceptCall").exists
    _ring(scene, sp.phone.phone_number)
    assert _session_app(c) == ICS and c(id="acceptCall").exists  # full screen: in the foreground
    c.appium_settings({"defaultActiveApplication": SB})
    assert _session_app(c) == SB  # SpringBoard is always in the foreground (XCTest's system app)


def test_source_without_a_session_uses_auto_detection(scene: Scene) -> None:
    """FBDebugCommands.m: GET /source (no session) is fb_activeApplication, whatever the session forced."""
    sp = scene.add_phone(ios="17.5.1", variants={"incoming_call": "banner"})
    c = wda.Client(sp.url)
    c.app_launch(VOICE_APP)
    c.appium_settings({"defaultActiveApplication": SB})
    assert "Voice" in c.source()  # the app under the detection point, not the forced SpringBoard
    assert "Voice" not in c._session_http.get("/source").value  # the session route: SpringBoard
    _ring(scene, sp.phone.phone_number)
    # the banner covers the detection point: auto-detection now lands on SpringBoard's banner
    assert c.app_current()["bundleId"] == SB and "Accept" in c.source()


def test_a_banner_in_another_process_is_not_in_the_app_in_fronts_source(scene: Scene) -> None:
    """appium/appium#14640: the compact call banner is missing from the foreground app's source."""
    sp = scene.add_phone(ios="18.2", variants={"incoming_call": "banner"})
    c = wda.Client(sp.url)
    s = c.session(VOICE_APP)  # a session with a tested app: WDA searches it while it is in front
    _ring(scene, sp.phone.phone_number)
    assert _session_app(s) == VOICE_APP and not s(id="acceptCall").exists
    c.appium_settings({"defaultActiveApplication": ICS})
    assert s(id="acceptCall").exists is False  # the tested app in front beats a background InCallService
    c2 = wda.Client(sp.url)
    c2.session()  # a session without a tested app: auto-detection reaches the banner
    c2.appium_settings({"defaultActiveApplication": ICS})
    assert c2(id="acceptCall").exists


def _developer_page(scene: Scene, cells: str) -> tuple[wda.Client, object]:
    sp = scene.add_phone(variants={"offscreen_cells": cells})
    c = wda.Client(sp.url)
    c.app_launch("com.apple.Preferences")
    return c, sp


@pytest.mark.parametrize("cells", ["absent", "present"])
def test_rows_below_the_fold_and_scrolling(scene: Scene, cells: str) -> None:
    c, sp = _developer_page(scene, cells)
    developer = c(id="com.apple.settings.developer")
    if cells == "absent":
        assert not developer.exists  # not instantiated: not in the tree until scrolled
        c._session_http.post("/wda/scroll", {"direction": "down"})
        c._session_http.post("/wda/scroll", {"direction": "down"})
        assert developer.exists
    else:
        assert developer.exists and developer.get(timeout=1).visible is False
        rect = developer.get(timeout=1).bounds
        assert rect.y >= 844  # outside the window
        developer.get(timeout=1).scroll("visible")  # /wda/element/:uuid/scroll toVisible
    rect = developer.get(timeout=1).bounds
    assert 0 <= rect.y + rect.height / 2 < 844 and developer.get(timeout=1).visible
    c.tap(rect.x + rect.width / 2, rect.y + rect.height / 2)
    assert scene.on_loop(lambda: sp.board.settings_page) == "developer"


def test_scroll_routes_answer_as_fb_element_commands(scene: Scene) -> None:
    c, sp = _developer_page(scene, "absent")
    post = c._session_http.post
    with pytest.raises(wda.WDARequestError, match="Unsupported scroll type"):
        post("/wda/scroll", {})
    with pytest.raises(wda.WDARequestError, match="'nothing' identifier didn't match any elements"):
        post("/wda/scroll", {"name": "nothing"})
    with pytest.raises(wda.WDARequestError, match="predicate didn't match any elements"):
        post("/wda/scroll", {"predicateString": "label == 'Developer'"})  # not in the tree yet
    table = c(className="Table").get(timeout=1)
    table._wda_req("post", "/scroll", {"direction": "down", "distance": 3.0})
    post("/wda/scroll", {"predicateString": "label == 'Developer'"})  # now it exists: scrolled to
    post("/wda/scroll", {"name": "com.apple.settings.developer"})
    assert c(id="com.apple.settings.developer").get(timeout=1).visible
    offset = scene.on_loop(lambda: sp.board.scroll["settings.root"])
    post("/wda/scroll", {"direction": "up", "distance": 10})
    assert scene.on_loop(lambda: sp.board.scroll["settings.root"]) == 0 < offset


@pytest.mark.parametrize("mode", ["error", "lost"])
def test_a_tap_outside_the_window(scene: Scene, mode: str) -> None:
    sp = scene.add_phone(variants={"tap_outside_window": mode})
    c = wda.Client(sp.url)
    c.app_launch(VOICE_APP)
    post = c._session_http.post
    if mode == "error":
        with pytest.raises(wda.WDAUnknownError, match="outside of the application window"):
            post("/wda/tap", {"x": 200, "y": 900})
    else:
        post("/wda/tap", {"x": 200, "y": 900})  # answered OK, lands on nothing
    assert scene.on_loop(lambda: sp.board.foreground) == VOICE_APP


def test_a_passcode_defeats_unlock(scene: Scene, monkeypatch: pytest.MonkeyPatch) -> None:
    """fb_unlockScreen presses Home twice and times out (unknown error) with a passcode."""
    monkeypatch.setattr(wda_server, "UNLOCK_TIMEOUT_S", 0.2)
    sp = scene.add_phone(variants={"passcode": "on"})
    c = wda.Client(sp.url)
    c.lock()
    with pytest.raises(wda.WDAUnknownError, match="Timed out while waiting until the screen gets unlocked"):
        c.unlock()
    assert scene.on_loop(lambda: sp.board.locked) is True
    assert sp.phone.passcode_set and sp.phone.passcode_locked  # lockdown refuses services too
    unlocked = scene.add_phone(name="no passcode", variants={"passcode": "off"})
    c2 = wda.Client(unlocked.url)
    c2.lock()
    c2.unlock()
    assert scene.on_loop(lambda: unlocked.board.locked) is False


def test_another_client_replaces_the_session(scene: Scene) -> None:
    """wda_session=replaced: the harness's base client adopts the new session from /status; the
    settings it had set are back to their defaults."""
    sp = scene.add_phone(variants={"wda_session": "replaced"})
    intruder = sp.wda.intruder
    assert intruder is not None and intruder.interval_s == 45  # variants.yaml: about every 45 s
    scene.on_loop(lambda: (intruder.stop(), setattr(intruder, "interval_s", 0.3), intruder.start()))
    c = wda.Client(sp.url)
    first = c.session_id
    c.appium_settings({"defaultActiveApplication": SB})
    deadline = time.monotonic() + 10
    while intruder.count == 0 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert c.app_state(VOICE_APP).value == 1  # recovered: invalid session id -> /status -> new id
    assert c.session_id != first
    assert c.appium_settings()["defaultActiveApplication"] == "auto"
    kept = scene.add_phone(name="kept")
    assert kept.wda.intruder is None


def test_find_and_source_latency_is_drawn_seeded_from_the_variant(scene: Scene) -> None:
    sp = scene.add_phone(variants={"wda_latency": "typical"})
    c = wda.Client(sp.url)
    t0 = time.monotonic()
    assert c(name="nothing").find_element_ids() == []
    c.source()
    took = time.monotonic() - t0
    find_s, source_s = sp.wda.latency_s
    assert 0.1 <= find_s <= 0.6 and 0.2 <= source_s <= 1.2
    assert took >= find_s + source_s
    one, twin = wda_server.Latency.for_value("typical", 7), wda_server.Latency.for_value("typical", 7)
    assert [one.for_find() for _ in range(5)] == [twin.for_find() for _ in range(5)]  # seeded
    slow = wda_server.Latency.for_value("slow", 1)
    draws = [slow.for_find() for _ in range(200)]
    assert min(draws) >= 0.1 and max(draws) <= 2.0 and sorted(draws)[100] > 0.25
    instant = scene.add_phone(name="instant", variants={"wda_latency": "instant"})
    wda.Client(instant.url).source()
    assert instant.wda.latency_s == []
