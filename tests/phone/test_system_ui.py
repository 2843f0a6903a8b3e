"""Siri and Control Center recipes against a virtual phone; ground truth from its SpringBoard."""

from __future__ import annotations

import threading

import pytest

from harness.errors import LabFault
from harness.phone import Phone
from harness.timeline import Timeline
from tests.phone.test_calls import ENV
from tests.wda.scene import VOICE_APP, Scene, ScenePhone


def _events(scene: Scene, sp: ScenePhone) -> list[tuple[str, dict]]:
    seen: list[tuple[str, dict]] = []
    scene.on_loop(lambda: sp.board.subscribe(lambda kind, fields: seen.append((kind, dict(fields)))))
    return seen


def test_siri_shows_the_overlay_until_home(scene: Scene, tmp_path) -> None:
    sp = scene.add_phone(variants={"siri_ui": "springboard"})
    seen = _events(scene, sp)
    tl = Timeline()
    phone = Phone(sp.url, timeline=tl, artifacts=tmp_path)
    phone.launch_app(VOICE_APP, ENV)
    m = phone.siri("what time is it")
    assert m.locator.label == "SpringBoard Siri overlay name=Siri" and m.index == 0
    assert scene.on_loop(lambda: sp.board.siri_text) == "what time is it"
    assert phone.wda.client.appium_settings()["defaultActiveApplication"] == "auto"  # restored
    assert ("siri", {"active": True, "text": "what time is it"}) in seen
    phone.home()
    assert scene.on_loop(lambda: sp.board.siri_text) is None
    assert ("siri", {"active": False}) in seen


def test_siri_goes_away_by_itself(scene: Scene, tmp_path) -> None:
    sp = scene.add_phone()
    done = threading.Event()
    scene.on_loop(lambda: setattr(sp.board, "siri_duration_s", 0.2))
    scene.on_loop(
        lambda: sp.board.subscribe(lambda k, f: done.set() if k == "siri" and not f["active"] else None)
    )
    phone = Phone(sp.url, artifacts=tmp_path)
    phone.launch_app(VOICE_APP, ENV)
    phone.siri("set a timer")
    assert done.wait(10)
    assert phone.foreground_app() == VOICE_APP


def test_siri_unavailable_is_a_lab_fault(scene: Scene, tmp_path) -> None:
    sp = scene.add_phone()
    scene.on_loop(lambda: setattr(sp.board, "siri_available", False))
    with pytest.raises(LabFault, match="Siri") as info:
        Phone(sp.url, artifacts=tmp_path).siri("hello")
    assert info.value.tag == "siri-unavailable"


def test_pick_route_through_control_center_keeps_the_app_in_front(scene: Scene, tmp_path) -> None:
    sp = scene.add_phone()
    seen = _events(scene, sp)
    tl = Timeline()
    phone = Phone(sp.url, timeline=tl, artifacts=tmp_path)
    phone.launch_app(VOICE_APP, ENV)
    phone.pick_route("Speaker")
    assert ("route-picked", {"route": "Speaker"}) in seen
    assert scene.on_loop(lambda: sp.board.control_center) is False
    assert phone.foreground_app() == VOICE_APP and phone.app_state(VOICE_APP) == 4
    recipes = [e.fields["recipe"] for e in tl.events(kind="recipe")]
    assert recipes == ["open_control_center", "open_route_picker", "pick_route Speaker"]


def test_missing_route_is_a_recipe_miss(scene: Scene, tmp_path) -> None:
    sp = scene.add_phone()
    phone = Phone(sp.url, artifacts=tmp_path)
    with pytest.raises(LabFault) as info:
        phone.pick_route("AirPods Pro", timeout=0.5)
    assert info.value.tag == "recipe-miss" and "AirPods Pro" in str(info.value)


def test_set_bluetooth(scene: Scene, tmp_path) -> None:
    sp = scene.add_phone()
    phone = Phone(sp.url, artifacts=tmp_path)
    assert phone.set_bluetooth(False) is True
    assert scene.on_loop(lambda: sp.board.bluetooth_on) is False
    assert phone.set_bluetooth(False) is False
    assert phone.set_bluetooth(True) is True
    assert scene.on_loop(lambda: (sp.board.bluetooth_on, sp.board.control_center)) == (True, False)


def test_accept_permission_prompts_on_first_launch_only(scene: Scene, tmp_path) -> None:
    sp = scene.add_phone(ios="18.2")
    seen = _events(scene, sp)
    scene.on_loop(lambda: sp.board.first_run_prompts.update({VOICE_APP: ["microphone", "local-network"]}))
    phone = Phone(sp.url, artifacts=tmp_path)
    phone.launch_app(VOICE_APP, ENV)
    texts = phone.accept_permission_prompts(timeout=1.0)
    assert [t.split(" ")[0] for t in texts] == ["\u201cVoice\u201d", "\u201cVoice\u201d"]
    assert "Microphone" in texts[0] and "local network" in texts[1]
    granted = [(f["permission"], f["granted"]) for k, f in seen if k == "permission"]
    assert granted == [("microphone", True), ("local-network", True)]
    phone.launch_app(VOICE_APP, ENV)  # relaunch: iOS asks once
    assert phone.accept_permission_prompts(timeout=0.5) == []


def test_timer_through_siri_goes_off_and_stops(scene: Scene, tmp_path) -> None:
    sp = scene.add_phone()
    seen = _events(scene, sp)
    tl = Timeline()
    phone = Phone(sp.url, timeline=tl, artifacts=tmp_path)
    phone.launch_app(VOICE_APP, ENV)
    phone.start_timer(1)
    m = phone.stop_timer(timeout=20)
    assert m.locator.label in ("alert button Stop", "SpringBoard button name=Stop")  # whichever sweep saw it
    states = [f["state"] for k, f in seen if k == "timer"]
    assert states == ["started", "fired", "stopped"]
    assert phone.foreground_app() == VOICE_APP


def test_connect_bluetooth_in_settings_then_back_to_the_app(scene: Scene, tmp_path) -> None:
    sp = scene.add_phone()
    devices = {"AirPods Pro": False, "Car Kit": False}

    def wire() -> None:
        board = sp.board
        board.bluetooth_devices = lambda: list(devices.items())

        def on_change(kind: str, fields: dict) -> None:
            if kind == "bluetooth-connect":  # what the audio world would do: the accessory connects
                devices[fields["device"]] = True
                board.refresh()

        board.subscribe(on_change)

    scene.on_loop(wire)
    tl = Timeline()
    phone = Phone(sp.url, timeline=tl, artifacts=tmp_path)
    phone.launch_app(VOICE_APP, ENV)
    phone.connect_bluetooth("AirPods Pro")
    assert devices == {"AirPods Pro": True, "Car Kit": False}
    assert phone.foreground_app() == VOICE_APP
    recipes = [e.fields["recipe"] for e in tl.events(kind="recipe")]
    assert recipes == ["open Settings > Bluetooth", "connect_bluetooth AirPods Pro"]


def test_bluetooth_that_never_connects_is_a_lab_fault(scene: Scene, tmp_path) -> None:
    sp = scene.add_phone()
    scene.on_loop(lambda: setattr(sp.board, "bluetooth_devices", lambda: [("Car Kit", False)]))
    with pytest.raises(LabFault) as info:
        Phone(sp.url, artifacts=tmp_path).connect_bluetooth("Car Kit", timeout=1.0)
    assert info.value.tag == "bluetooth-connect"


def test_reset_media_services_and_other_audio(scene: Scene, tmp_path) -> None:
    sp = scene.add_phone()
    sp.phone.apps["com.apple.Music"] = {
        "CFBundleIdentifier": "com.apple.Music",
        "CFBundleDisplayName": "Music",
    }
    seen = _events(scene, sp)
    phone = Phone(sp.url, artifacts=tmp_path)
    phone.launch_app(VOICE_APP, ENV)
    phone.reset_media_services()
    assert ("media-services-reset", {}) in seen
    assert phone.foreground_app() == VOICE_APP
    phone.play_other_audio()
    assert ("other-audio", {"playing": True}) in seen
    assert phone.foreground_app() == VOICE_APP and phone.app_state("com.apple.Music") == 3
