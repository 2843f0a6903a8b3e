"""``harness phone dump`` walks every recipe screen and saves what each showed."""

from __future__ import annotations

import io

from PIL import Image

from harness.ios import IOS_VERSIONS
from harness.phone import Phone
from harness.phone.dump import SCREENS, Screen, dump
from harness.sim.versions import full_version
from tests.wda.scene import Scene


def test_dump_saves_a_distinct_source_and_screenshot_per_screen(scene: Scene, tmp_path) -> None:
    sp = scene.add_phone(ios=full_version(str(IOS_VERSIONS[-1])))
    rows = dump(Phone(sp.url), tmp_path)
    assert [r[0] for r in rows] == [s.name for s in SCREENS]
    assert all(status == "ok" for _, status, _ in rows), rows
    shots = {name: png.read_bytes() for name, _, png in rows}
    assert len(set(shots.values())) == len(shots), "two screens gave the same screenshot"
    for name, _, png in rows:
        assert Image.open(io.BytesIO(shots[name])).size == (390, 844)
        assert "XCUIElementTypeApplication" in png.with_suffix(".xml").read_text()
    # the walk leaves the phone as it found it: unlocked, nothing on top
    assert scene.on_loop(lambda: sp.board.locked) is False


def test_a_missed_recipe_still_saves_the_screen(scene: Scene, tmp_path) -> None:
    sp = scene.add_phone(mutations=frozenset({"cc.view"}))  # Control Center without its tree
    cc = Screen("control-center", lambda p: p.open_control_center(timeout=0.5), lambda p: p.home())
    ((name, status, png),) = dump(Phone(sp.url, timeout=5), tmp_path, screens=(cc,))
    assert name == "control-center" and status.startswith("recipe missed: ")
    assert "open_control_center" in status
    assert Image.open(io.BytesIO(png.read_bytes())).size == (390, 844)
    assert png.with_suffix(".xml").exists()
    assert scene.on_loop(lambda: sp.board.control_center) is False  # left by Home


def test_a_siri_ui_outside_the_tree_is_recorded_not_missed(scene: Scene, tmp_path) -> None:
    """siri_ui=absent: /wda/siri/activate answered, XCTest lists no Siri UI: the step is ok and the
    timeline says the UI was not seen (REV Q6)."""
    sp = scene.add_phone(variants={"siri_ui": "absent"})
    phone = Phone(sp.url, timeout=5)
    ((name, status, _png),) = dump(phone, tmp_path, screens=(SCREENS[3],))
    assert (name, status) == ("siri", "ok")
    assert scene.on_loop(lambda: sp.board.siri_text) is None
