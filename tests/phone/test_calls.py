"""harness.phone's call recipes against two virtual phones on the virtual carrier (real HTTP, real
facebook-wda). Ground truth (the carrier's events, the SpringBoard state) is read from the scene."""

from __future__ import annotations

import io
import json

import pytest
from PIL import Image

from harness.errors import LabFault
from harness.lab_faults import RECIPE_MISS
from harness.phone import Phone
from harness.timeline import Timeline
from tests.wda.scene import VOICE_APP, Scene, ScenePhone

ENV = {"HARNESS_WHIP_URL": "http://127.0.0.1:9/whip", "HARNESS_WHIP_TOKEN": "call-1"}


def _pair(
    scene: Scene, ios_a: str = "17.5.1", ios_b: str = "17.5.1", variant_b: frozenset[str] = frozenset()
) -> tuple[ScenePhone, ScenePhone]:
    a = scene.add_phone(ios=ios_a, number="+15550100001", apple_id="a@example.com", name="A")
    b = scene.add_phone(
        ios=ios_b, number="+15550100002", apple_id="b@example.com", name="B", mutations=variant_b
    )
    return a, b


def _ui(scene: Scene, sp: ScenePhone) -> tuple[str, bool, object]:
    return scene.on_loop(lambda: (sp.board.foreground, sp.board.locked, sp.board.call))


def test_dial_answer_end_returns_both_phones_to_their_prior_state(scene: Scene, tmp_path) -> None:
    a, b = _pair(scene)
    tl = Timeline(tmp_path / "timeline.jsonl")
    caller = Phone(a.url, name="caller", timeline=tl, artifacts=tmp_path)
    dut = Phone(b.url, name="dut", timeline=tl, artifacts=tmp_path)
    dut.launch_app(VOICE_APP, ENV)
    caller.home()
    before = (_ui(scene, a), _ui(scene, b))
    assert before == (("com.apple.springboard", False, None), (VOICE_APP, False, None))
    assert b.apps.launches[-1].environment == ENV

    caller.dial("tel:+15550100002")
    assert [e.kind for e in scene.call_events] == ["dialing", "ringing"]
    dut.answer_call()
    assert scene.call_events[-1].kind == "answered"
    caller.end_call()
    assert scene.call_events[-1].kind == "ended" and scene.call_events[-1].reason == "hung-up-by-caller"

    assert (_ui(scene, a), _ui(scene, b)) == before
    assert dut.foreground_app() == VOICE_APP and dut.app_state(VOICE_APP) == 4
    recipes = [(e.fields["phone"], e.fields["recipe"], e.fields["locator"]) for e in tl.events(kind="recipe")]
    assert recipes == [
        ("caller", "dial", "alert button Call"),
        ("dut", "answer_call", "SpringBoard button name=Accept"),
        ("caller", "end_call", "button name='End call'"),
    ]
    assert all(e.fields["fallback"] is False for e in tl.events(kind="recipe"))
    assert any(e.kind == "recipe" for e in Timeline.load(tmp_path / "timeline.jsonl").all)


def test_callee_hangs_up(scene: Scene, tmp_path) -> None:
    a, b = _pair(scene, "26.1", "18.2")
    caller, dut = Phone(a.url, artifacts=tmp_path), Phone(b.url, artifacts=tmp_path)
    caller.dial("tel:+1-555-010-0002")
    dut.answer_call()
    dut.end_call()
    assert scene.call_events[-1].reason == "hung-up-by-callee"
    assert _ui(scene, a)[2] is None and _ui(scene, b)[2] is None


@pytest.mark.parametrize("uri", ["tel:+15550100002", "facetime-audio:b@example.com"])
def test_decline_returns_both_to_their_prior_state(scene: Scene, tmp_path, uri: str) -> None:
    a, b = _pair(scene, ios_b="18.2")
    tl = Timeline()
    caller, dut = Phone(a.url, artifacts=tmp_path), Phone(b.url, timeline=tl, artifacts=tmp_path)
    dut.launch_app(VOICE_APP, ENV)
    before = (_ui(scene, a), _ui(scene, b))
    caller.dial(uri)
    assert scene.call_events[-1].call_kind == uri.split(":")[0]
    m = dut.decline_call()
    assert m.locator.label == "InCallService id=rejectCall"
    assert scene.call_events[-1].kind == "ended" and scene.call_events[-1].reason == "declined"
    assert (_ui(scene, a), _ui(scene, b)) == before


def test_facetime_audio_by_apple_id_returns_both_to_their_prior_state(scene: Scene, tmp_path) -> None:
    a, b = _pair(scene)
    caller, dut = Phone(a.url, artifacts=tmp_path), Phone(b.url, artifacts=tmp_path)
    dut.launch_app(VOICE_APP, ENV)
    caller.home()
    before = (_ui(scene, a), _ui(scene, b))
    caller.dial("facetime-audio:B@example.com")
    assert scene.call_events[-1].call_kind == "facetime-audio"
    dut.answer_call()
    caller.end_call()
    assert [e.kind for e in scene.call_events] == ["dialing", "ringing", "answered", "ended"]
    assert (_ui(scene, a), _ui(scene, b)) == before
    assert dut.foreground_app() == VOICE_APP


def test_locked_callee_answers_with_the_slider_and_goes_back_to_locked(scene: Scene, tmp_path) -> None:
    a, b = _pair(scene)
    tl = Timeline()
    caller, dut = Phone(a.url, artifacts=tmp_path), Phone(b.url, timeline=tl, artifacts=tmp_path)
    dut.launch_app(VOICE_APP, ENV)
    dut.lock()
    caller.dial("tel:+15550100002")
    m = dut.answer_call()
    assert m.locator.label.startswith("slider") and m.index > 0
    assert tl.last("recipe").fields["fallback"] is True
    assert scene.call_events[-1].kind == "answered"
    caller.end_call()
    assert _ui(scene, b) == (VOICE_APP, True, None)
    assert dut.locked()


def test_locked_callee_declines_with_the_side_button(scene: Scene, tmp_path) -> None:
    a, b = _pair(scene)
    caller, dut = Phone(a.url, artifacts=tmp_path), Phone(b.url, artifacts=tmp_path)
    dut.lock()
    caller.dial("tel:+15550100002")
    m = dut.decline_call()
    assert m.locator.gesture == "power-twice"
    assert scene.call_events[-1].reason == "declined"
    assert dut.locked()


def test_miss_is_a_lab_fault_with_screenshot_and_source(scene: Scene, tmp_path) -> None:
    (a,) = (scene.add_phone(),)
    tl = Timeline()
    phone = Phone(a.url, name="dut", timeline=tl, artifacts=tmp_path)
    with pytest.raises(LabFault) as info:
        phone.answer_call(timeout=0.5)
    fault = info.value
    assert fault.tag == RECIPE_MISS and "answer_call" in str(fault) and "acceptCall" in str(fault)
    png, xml, *sources, index = fault.artifacts
    assert Image.open(io.BytesIO(png.read_bytes())).size == (390, 844)
    assert "XCUIElementTypeApplication" in xml.read_text()
    assert [p.name for p in sources] == [f"{png.stem}.{a}.xml" for a in
                                         ("auto", "com.apple.springboard", "com.apple.InCallService")]
    assert all("XCUIElementTypeApplication" in p.read_text() for p in sources)
    # what WDA really searched: InCallService shows nothing, so WDA fell back to auto-detection (H10)
    searched = {app: v.get("searched") for app, v in json.loads(index.read_text()).items() if "source" in v}
    assert searched == {"auto": "com.apple.springboard", "com.apple.springboard": "com.apple.springboard",
                        "com.apple.InCallService": "com.apple.springboard"}
    assert tl.last("recipe-miss").fields["recipe"] == "answer_call"
    assert phone.wda.client.appium_settings()["defaultActiveApplication"] == "auto"  # left at auto


def test_dial_to_an_unknown_number_fails_as_a_lab_fault(scene: Scene, tmp_path) -> None:
    a = scene.add_phone()
    phone = Phone(a.url, artifacts=tmp_path)
    with pytest.raises(LabFault) as info:
        phone.dial("tel:+15559999999", timeout=1.0)
    assert info.value.tag == RECIPE_MISS
    assert scene.call_events[-1].reason == "no-such-number"
