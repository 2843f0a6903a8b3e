"""A profile of its own (``harness sim up --phone-profile``, a surveyed real phone's): loaded on top of
the shipped major it extends, its observed screens untouched by the shipped patches, its defaults the
surveyed variant values, and a virtual phone that shows it and does what its tapped elements did."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from harness import ios
from harness.phone import Phone
from harness.sim import profiles
from harness.sim.profiles import ProfileError
from tests.wda.scene import Scene, scene_fixture

scene = pytest.fixture(scene_fixture, name="scene")

PROV = "survey iPhone15,4 22C152 2026-08-30"
BANNER = {
    "owner": "com.apple.InCallService", "surveyed": True, "provenance": PROV,
    "auto_detected": "com.apple.InCallService", "state": "incoming-app",
    "tree": [{"type": "Other", "label": "{caller}, mobile", "frame": [8, 50, 377, 80], "provenance": PROV,
              "children": [
                  {"type": "StaticText", "label": "{caller}", "frame": [24, 62, 200, 24], "provenance": PROV},
                  {"type": "Button", "id": "rejectCall", "label": "Decline", "frame": [250, 62, 56, 56],
                   "action": "call.decline", "provenance": PROV},
                  {"type": "Button", "id": "answerCall", "label": "Answer", "frame": [314, 62, 56, 56],
                   "action": "call.accept", "provenance": PROV + " (tapped: answer_call: ...)"}]}],
}


def _write(tmp_path: Path, **over: object) -> Path:
    doc = {"ios": 18, "version": "18.2", "extends": 18, "defaults": {"dial_prompt": "none"},
           "screens": {"incoming.banner": BANNER}, "survey": {"provenance": PROV}, **over}
    path = tmp_path / "profile.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def test_the_shipped_majors_are_the_harness_own_table() -> None:
    """harness.phone.survey extends the nearest of harness.ios.IOS_VERSIONS; the virtual lab has a
    profile for each."""
    assert profiles.majors() == ios.IOS_VERSIONS


def test_a_surveyed_file_replaces_its_screens_and_keeps_the_rest_of_its_major(tmp_path: Path) -> None:
    p = profiles.load_file(_write(tmp_path))
    shipped = profiles.load(18)
    assert p.ios == 18 and p.version == "18.2" and p.defaults["dial_prompt"] == "none"
    buttons = [n for n in p.screen("incoming.banner").tree[0]["children"] if n["type"] == "Button"]
    # iOS 18's patch (incoming.accept -> id acceptCall) leaves the observed screen alone
    assert [(b["id"], b["label"]) for b in buttons] == [("rejectCall", "Decline"), ("answerCall", "Answer")]
    assert p.screen("in_call").tree == shipped.screen("in_call").tree  # not surveyed: the shipped one
    assert p.interruption_formats == shipped.interruption_formats


@pytest.mark.parametrize(("over", "message"), [
    ({"extends": 19}, "extends 19, which has no shipped profile"),
    ({"defaults": {"dial_prompt": "maybe"}}, "dial_prompt='maybe' is not a value of dial_prompt"),
    ({"screens": {"incoming.banner": {**BANNER, "provenance": "seen somewhere"}}},
     "starts with neither a key"),
    ({"ios": "18"}, "not a phone profile"),
])
def test_a_bad_profile_file_is_refused_naming_the_problem(tmp_path: Path, over: dict, message: str) -> None:
    with pytest.raises((ProfileError, ValueError)) as info:
        profiles.load_file(_write(tmp_path, **over))
    assert message in str(info.value)


def test_a_virtual_phone_replays_the_surveyed_screen_and_what_its_elements_did(scene: Scene,
                                                                               tmp_path) -> None:
    surveyed = profiles.load_file(_write(tmp_path))
    caller = scene.add_phone(ios="18.2", number="+15550100001", name="A")
    dut = scene.add_phone(ios="18.2", number="+15550100002", name="B", profile=surveyed)
    assert scene.on_loop(lambda: dut.board.variants["dial_prompt"]) == "none"  # the surveyed value
    Phone(caller.url, name="caller").dial("tel:+15550100002")
    ui = Phone(dut.url, name="dut", artifacts=tmp_path)
    # the shipped locators find "Answer" only in InCallService forced (REV Q1.4's label), as on that phone
    match = ui.answer_call(timeout=5.0)
    assert match.locator.label == "InCallService (forced) button label Answer"
    assert scene.on_loop(lambda: dut.board.call.state) == "active"
    source = ui.wda.session_get("/source")
    assert "answerCall" not in str(source)  # the in-call screen (shipped) is up now
    ui.end_call()
