"""The recipes of harness.phone against every value of every variant of the virtual phone
(``harness sim variants``): each recipe gets through, and the timeline records which path it took.

Ground truth (the carrier's calls, SpringBoard's state) comes from the scene; the recipes reach the
phones only through facebook-wda. The catalog runs the same recipes on the whole lab
(``harness run --sim-variant ...``); these tests are the per-value proof that is quick to run.
"""

from __future__ import annotations

import time

import pytest

from harness.errors import LabFault
from harness.phone import Phone
from harness.timeline import Timeline
from tests.phone.test_calls import ENV
from tests.wda.scene import VOICE_APP, Scene, ScenePhone

CALLER, DUT = "+15550100001", "+15550100002"
RECIPE = ("recipe", "recipe-path")


def _pair(scene: Scene, ios: str = "17.5.1", **variants: str) -> tuple[ScenePhone, ScenePhone]:
    a = scene.add_phone(ios=ios, number=CALLER, apple_id="a@example.com", name="caller", variants=variants)
    b = scene.add_phone(ios=ios, number=DUT, apple_id="b@example.com", name="dut", variants=variants)
    return a, b


def _steps(tl: Timeline) -> list[tuple[str, str | None, str | None]]:
    return [
        (e.fields["recipe"], e.fields.get("locator"), e.fields.get("path"))
        for e in tl.events(source="phone")
        if e.kind in RECIPE
    ]


def _call_state(scene: Scene, sp: ScenePhone) -> str | None:
    return scene.on_loop(lambda: sp.board.call.state if sp.board.call else None)


@pytest.mark.parametrize(("prompt", "path"), [("shown", "prompt"), ("none", "no-prompt")])
def test_dial_taps_the_prompt_only_if_it_shows(scene: Scene, tmp_path, prompt: str, path: str) -> None:
    a, b = _pair(scene, dial_prompt=prompt)
    tl = Timeline()
    caller = Phone(a.url, name="caller", timeline=tl, artifacts=tmp_path)
    caller.dial(f"tel:{DUT}", timeout=5)
    assert _call_state(scene, b) == "ringing"
    assert next(s for s in _steps(tl) if s[0] == "dial")[2] == path


@pytest.mark.parametrize("ios", ["17.5.1", "18.2"])
@pytest.mark.parametrize("presentation", ["banner", "full-screen"])
@pytest.mark.parametrize("second", ["none", "springboard", "incallservice"])
def test_answer_in_each_presentation_with_each_second_accept(
    scene: Scene, tmp_path, ios: str, presentation: str, second: str
) -> None:
    a, b = _pair(scene, ios, incoming_call=presentation, second_accept=second)
    tl = Timeline()
    dut = Phone(b.url, name="dut", timeline=tl, artifacts=tmp_path)
    dut.launch_app(VOICE_APP, ENV)
    scene.on_loop(lambda: a.board.dial("tel", DUT))
    dut.answer_call(timeout=10)
    assert _call_state(scene, b) == "active"
    paths = [s[2] for s in _steps(tl) if s[0].startswith("answer_call") and s[2]]
    assert paths == (["one-tap"] if second == "none" else ["second-accept"])
    if second == "springboard":
        follow = [s[1] for s in _steps(tl) if s[0] == "answer_call follow-up"]
        assert follow == ["SpringBoard (forced) follow-up name=Accept"]


@pytest.mark.parametrize("presentation", ["banner", "full-screen"])
def test_decline_in_each_presentation(scene: Scene, tmp_path, presentation: str) -> None:
    a, b = _pair(scene, "18.2", incoming_call=presentation)
    dut = Phone(b.url, name="dut", artifacts=tmp_path)
    dut.launch_app(VOICE_APP, ENV)
    scene.on_loop(lambda: a.board.dial("tel", DUT))
    dut.decline_call(timeout=10)
    assert _call_state(scene, b) is None
    assert scene.call_events[-1].reason == "declined"


@pytest.mark.parametrize("ending", ["alert", "banner", "live-activity"])
def test_the_timer_stops_in_each_presentation(scene: Scene, tmp_path, ending: str) -> None:
    sp = scene.add_phone(variants={"timer_ending": ending})
    seen: list[dict] = []
    scene.on_loop(lambda: sp.board.subscribe(lambda k, f: seen.append(f) if k == "timer" else None))
    tl = Timeline()
    phone = Phone(sp.url, timeline=tl, artifacts=tmp_path)
    phone.launch_app(VOICE_APP, ENV)
    phone.start_timer(1)
    phone.wait_timer_alert(timeout=10)
    assert phone.timer_ringing()
    phone.stop_timer(timeout=5)
    assert [f["state"] for f in seen] == ["started", "fired", "stopped"]
    assert seen[-1]["presentation"] == ending
    assert not phone.timer_ringing() and phone.foreground_app() == VOICE_APP


@pytest.mark.parametrize(
    ("ui", "path"),
    [("springboard", "ui-seen"), ("siri-view-service", "ui-seen"), ("absent", "ui-not-in-tree")],
)
def test_siri_records_where_its_ui_was(scene: Scene, tmp_path, ui: str, path: str) -> None:
    sp = scene.add_phone(variants={"siri_ui": ui})
    tl = Timeline()
    phone = Phone(sp.url, timeline=tl, artifacts=tmp_path)
    phone.launch_app(VOICE_APP, ENV)
    m = phone.siri("what time is it", timeout=5)
    assert scene.on_loop(lambda: sp.board.siri_text) == "what time is it"  # Siri ran either way
    assert _steps(tl)[-1][2] == path
    if ui == "absent":
        assert m.element is None and "siri/activate answered" in m.locator.label
    elif ui == "siri-view-service":
        assert m.locator.app == "com.apple.SiriViewService"


@pytest.mark.parametrize("cells", ["absent", "present"])
@pytest.mark.parametrize("outside", ["error", "lost"])
@pytest.mark.parametrize("confirmation", ["sheet", "none"])
def test_reset_media_services_scrolls_and_confirms(
    scene: Scene, tmp_path, cells: str, outside: str, confirmation: str
) -> None:
    sp = scene.add_phone(
        variants={"offscreen_cells": cells, "tap_outside_window": outside, "reset_confirmation": confirmation}
    )
    resets: list[str] = []
    scene.on_loop(
        lambda: sp.board.subscribe(lambda k, f: resets.append(k) if k == "media-services-reset" else None)
    )
    tl = Timeline()
    phone = Phone(sp.url, timeline=tl, artifacts=tmp_path)
    phone.launch_app(VOICE_APP, ENV)
    phone.reset_media_services(timeout=10)
    assert resets == ["media-services-reset"]
    assert phone.foreground_app() == VOICE_APP
    assert sp.wda.internal_errors == []
    scrolls = [e.fields for e in tl.events(kind="scroll")]
    if cells == "absent":
        assert any(f.get("direction") == "down" for f in scrolls)  # Developer is below the fold
    else:
        assert any("to_visible" in f for f in scrolls)  # found off-window, scrolled into view
    paths = [s[2] for s in _steps(tl) if s[0].startswith("reset_media_services") and s[2]]
    assert paths == (["sheet"] if confirmation == "sheet" else ["no-confirmation"])


def test_connect_bluetooth_scrolls_nothing_it_does_not_need_to(scene: Scene, tmp_path) -> None:
    """Settings > Bluetooth is near the top: no scroll, whatever offscreen_cells says."""
    sp = scene.add_phone(variants={"offscreen_cells": "absent"})
    tl = Timeline()
    phone = Phone(sp.url, timeline=tl, artifacts=tmp_path)
    phone.launch_app("com.apple.Preferences", {})
    phone._run("open Settings > Bluetooth", phone_locators().SETTINGS_BLUETOOTH, 5, scroll=True)
    assert scene.on_loop(lambda: sp.board.settings_page) == "bluetooth"
    assert tl.events(kind="scroll") == []


def phone_locators():
    from harness.phone import locators

    return locators


def test_recipes_survive_another_client_replacing_the_session(scene: Scene, tmp_path) -> None:
    sp = scene.add_phone(variants={"wda_session": "replaced", "siri_ui": "springboard"})
    intruder = sp.wda.intruder
    assert intruder is not None
    scene.on_loop(lambda: (intruder.stop(), setattr(intruder, "interval_s", 0.4), intruder.start()))
    tl = Timeline()
    phone = Phone(sp.url, timeline=tl, artifacts=tmp_path, timeout=10)
    phone.launch_app(VOICE_APP, ENV)
    for _ in range(3):
        phone.siri("what time is it", timeout=5)  # forces SpringBoard: lost at every replacement
        phone.home()
        phone.launch_app(VOICE_APP, ENV, relaunch=False)
        time.sleep(0.3)
    assert intruder.count >= 2
    assert [s[2] for s in _steps(tl) if s[0] == "siri"] == ["ui-seen"] * 3


def test_a_passcode_makes_unlock_a_wda_error_and_the_phone_stays_locked(
    scene: Scene, tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import wda

    from harness.sim.wda import server

    monkeypatch.setattr(server, "UNLOCK_TIMEOUT_S", 0.2)
    sp = scene.add_phone(variants={"passcode": "on"})
    phone = Phone(sp.url, artifacts=tmp_path)
    phone.lock()
    with pytest.raises((wda.WDAError, LabFault), match="unlocked"):
        phone.unlock()
    assert phone.locked()


@pytest.mark.parametrize("latency", ["instant", "typical", "slow"])
def test_a_call_goes_through_at_each_wda_latency(scene: Scene, tmp_path, latency: str) -> None:
    a, b = _pair(scene, "18.2", wda_latency=latency)
    tl = Timeline()
    caller, dut = (
        Phone(x.url, name=n, timeline=tl, artifacts=tmp_path) for x, n in ((a, "caller"), (b, "dut"))
    )
    dut.launch_app(VOICE_APP, ENV)
    caller.dial(f"tel:{DUT}", timeout=20)
    answered = dut.answer_call(timeout=20)
    assert _call_state(scene, b) == "active"
    ended = caller.end_call(timeout=20)
    returned = time.monotonic_ns()
    assert _call_state(scene, b) is None
    # Match.t_ns is when the recipe acted, before what its tap caused; the recipe returns later
    events = {e.kind: e.t_ns for e in scene.call_events}
    assert answered.t_ns is not None and ended.t_ns is not None
    assert answered.t_ns <= events["answered"] and ended.t_ns <= events["ended"] <= returned
    draws = a.wda.latency_s + b.wda.latency_s
    assert (draws == []) if latency == "instant" else (len(draws) > 5 and min(draws) >= 0.1)


@pytest.mark.parametrize("ios", ["17.5.1", "18.2"])
@pytest.mark.parametrize("second", ["springboard", "incallservice"])
def test_the_second_accept_is_found_at_a_slow_wda(scene: Scene, tmp_path, ios: str, second: str) -> None:
    """One pass of finds can outlast the follow-up wait at WDA's slow latency: two passes at least."""
    a, b = _pair(scene, ios, second_accept=second, wda_latency="slow")
    tl = Timeline()
    dut = Phone(b.url, name="dut", timeline=tl, artifacts=tmp_path)
    dut.launch_app(VOICE_APP, ENV)
    scene.on_loop(lambda: a.board.dial("tel", DUT))
    dut.answer_call(timeout=20)
    assert _call_state(scene, b) == "active"
    assert [s[2] for s in _steps(tl) if s[0].startswith("answer_call") and s[2]] == ["second-accept"]


def test_an_element_found_before_another_client_replaced_the_session_is_found_again(
        scene: Scene, tmp_path) -> None:
    """wda_session=replaced: element references die with the session (stale element reference on the
    next use); the recipe finds the same thing once more instead of failing."""
    from harness.phone import locators as L

    sp = scene.add_phone()
    phone = Phone(sp.url, artifacts=tmp_path)
    phone.launch_app("com.apple.Music", {}, relaunch=False)
    locs = L.ordered(L.MUSIC_PLAY, phone.ios_major)
    hit = phone._find(locs, 2)
    assert hit is not None
    scene.run(sp.wda._replaced_by_another_client())
    phone._act(hit[1], hit[2])  # the old element id is stale in the new session: found again, tapped
    assert scene.on_loop(lambda: sp.board.music_playing) is True


def test_the_first_use_of_a_phone_resets_a_forced_app_an_earlier_test_left(scene: Scene, tmp_path) -> None:
    """An adopted session may still hold a forced defaultActiveApplication (a recipe raised mid-way):
    the first recipe of a new Phone sets it back to auto (RIP H10)."""
    import wda

    sp = scene.add_phone(variants={"siri_ui": "springboard"})
    earlier = wda.Client(sp.url)
    earlier.appium_settings({"defaultActiveApplication": "com.apple.springboard"})
    phone = Phone(sp.url, artifacts=tmp_path)
    phone.launch_app(VOICE_APP, ENV)
    # Music's Play is found only in the auto-detected app (Music): SpringBoard, forced, has none
    assert phone.play_other_audio(timeout=5).locator.label == "Music button name=Play"
    assert scene.on_loop(lambda: sp.board.music_playing) is True
    assert earlier.appium_settings()["defaultActiveApplication"] == "auto"
