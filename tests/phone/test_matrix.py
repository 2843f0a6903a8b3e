"""Every recipe of harness.phone.Phone x every iOS version of the shared table, on the normal UI tree
and on a variant tree that drops (or renames) each step's first locator: the recipe still works and
the timeline records which locator matched (the fallback on the variant).

One virtual lab for the whole module (a phone per iOS version plus a partner phone on one carrier);
each test starts from an unlocked home screen (``SpringBoard.reset_ui``) and sets its variant on the
live SpringBoard. Ground truth comes from the SpringBoard and the carrier, never from the recipe.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from harness import ios
from harness.phone import Phone
from harness.sim.carrier import TEL
from harness.sim.versions import full_version
from harness.timeline import Timeline
from tests.phone.test_calls import ENV
from tests.wda.scene import VOICE_APP, Scene, ScenePhone, scene_fixture

PARTNER_NUMBER, PARTNER_ID = "+15550209999", "partner@example.com"
SPRINGBOARD = "com.apple.springboard"


def number(major: int) -> str:
    return f"+1555020{major:04d}"


@dataclass
class Lab:
    scene: Scene
    phones: dict[int, ScenePhone]
    partner: ScenePhone


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    for scene in scene_fixture():  # the scene fixture's teardown (and its WDA-bug check) runs after
        phones = {
            major: scene.add_phone(
                ios=full_version(str(major)),
                number=number(major),
                apple_id=f"v{major}@example.com",
                name=f"iOS {major}",
            )
            for major in ios.IOS_VERSIONS
        }
        partner = scene.add_phone(ios="18.2", number=PARTNER_NUMBER, apple_id=PARTNER_ID, name="partner")
        yield Lab(scene, phones, partner)


@dataclass
class Rig:
    """One test's view of the shared lab: the phone of one iOS version, its timeline, its board's events."""

    lab: Lab
    major: int
    sp: ScenePhone
    phone: Phone
    timeline: Timeline
    seen: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    @property
    def scene(self) -> Scene:
        return self.lab.scene

    def board(self, fn: Callable[[Any], Any]) -> Any:
        return self.scene.on_loop(lambda: fn(self.sp.board))

    def steps(self) -> list[tuple[str, str, bool]]:
        return [
            (e.fields["recipe"], e.fields["locator"], e.fields["fallback"])
            for e in self.timeline.events(kind="recipe")
        ]

    def incoming(self, kind: str = TEL) -> None:
        """The partner calls this phone (straight on the carrier: the caller side is not under test)."""
        address = number(self.major) if kind == TEL else f"v{self.major}@example.com"
        self.scene.on_loop(lambda: self.lab.partner.board.dial(kind, address))
        assert self.board(lambda b: b.call is not None and b.call.state == "ringing")


def _reset(lab: Lab) -> None:
    for sp in [*lab.phones.values(), lab.partner]:
        sp.board.reset_ui()


@pytest.fixture
def rig_for(lab: Lab, tmp_path) -> Iterator[Callable[[int, frozenset[str]], Rig]]:
    made: list[Callable[[], None]] = []

    def make(major: int, variant: frozenset[str] = frozenset()) -> Rig:
        sp = lab.phones[major]
        lab.scene.on_loop(lambda: _reset(lab))
        lab.scene.call_events.clear()
        tl = Timeline()
        phone = Phone(sp.url, name=f"ios{major}", timeline=tl, artifacts=tmp_path, timeout=15)
        rig = Rig(lab, major, sp, phone, tl)

        def wire() -> None:
            sp.board.mutations = variant
            sp.board.refresh()
            made.append(sp.board.subscribe(lambda kind, fields: rig.seen.append((kind, dict(fields)))))

        lab.scene.on_loop(wire)
        return rig

    yield make
    for unsubscribe in made:
        lab.scene.on_loop(unsubscribe)
    lab.scene.on_loop(lambda: _reset(lab))


MAJORS = pytest.mark.parametrize("major", ios.IOS_VERSIONS)
TREES = pytest.mark.parametrize("variant", [False, True], ids=["tree", "variant"])


def _pick(variant: bool, normal: Any, fallback: Any) -> Any:
    return fallback if variant else normal


# -- recipes without locators (WDA routes only): every version ---------------------------------------


@MAJORS
def test_launch_app(rig_for, major: int) -> None:
    rig = rig_for(major)
    rig.phone.launch_app(VOICE_APP, ENV)
    assert rig.board(lambda b: b.foreground) == VOICE_APP
    assert rig.sp.apps.launches[-1].environment == ENV
    assert rig.timeline.last("app-launched").fields["bundle_id"] == VOICE_APP


@MAJORS
def test_lock_unlock_home_press(rig_for, major: int) -> None:
    rig = rig_for(major)
    rig.phone.launch_app(VOICE_APP, ENV)
    rig.phone.lock()
    assert rig.board(lambda b: b.locked) is True
    rig.phone.unlock()
    assert rig.board(lambda b: (b.locked, b.foreground)) == (False, VOICE_APP)
    rig.phone.home()
    assert rig.board(lambda b: b.foreground) == SPRINGBOARD
    rig.phone.press("power")
    assert rig.board(lambda b: b.locked) is True
    rig.phone.unlock()
    rig.phone.launch_app(VOICE_APP, ENV, relaunch=False)
    rig.phone.press("home")
    assert rig.board(lambda b: b.foreground) == SPRINGBOARD
    buttons = [e.fields["button"] for e in rig.timeline.events(kind="button")]
    assert buttons == ["lock", "unlock", "home", "power", "unlock", "home"]


# -- recipes with locators: every version x (normal tree, first locator missing) ---------------------


@MAJORS
@TREES
def test_answer_call(rig_for, major: int, variant: bool) -> None:
    vt = frozenset({"incoming.accept:noid", "incoming.accept:label=Accept call"})
    rig = rig_for(major, _pick(variant, frozenset(), vt))
    rig.incoming()
    m = rig.phone.answer_call(timeout=5)
    assert rig.scene.call_events[-1].kind == "answered"
    first = "InCallService id=acceptCall" if major >= 18 else "SpringBoard button name=Accept"
    expected = _pick(variant, (first, False), ("button label BEGINSWITH Accept", True))
    assert rig.steps() == [("answer_call", *expected)]
    assert m.locator.label == expected[0]


@MAJORS
@TREES
def test_decline_call(rig_for, major: int, variant: bool) -> None:
    vt = frozenset({"incoming.decline:noid", "incoming.decline:label=Decline call"})
    rig = rig_for(major, _pick(variant, frozenset(), vt))
    rig.phone.launch_app(VOICE_APP, ENV)
    rig.incoming()
    rig.phone.decline_call(timeout=5)
    assert (rig.scene.call_events[-1].kind, rig.scene.call_events[-1].reason) == ("ended", "declined")
    assert rig.board(lambda b: (b.call, b.foreground)) == (None, VOICE_APP)
    first = "InCallService id=rejectCall" if major >= 18 else "SpringBoard button name=Decline"
    expected = _pick(variant, (first, False), ("button label BEGINSWITH Decline", True))
    assert rig.steps() == [("decline_call", *expected)]


@MAJORS
def test_locked_phone_answers_with_the_slider_and_declines_with_the_side_button(rig_for, major: int) -> None:
    rig = rig_for(major)
    rig.phone.lock()
    rig.incoming()
    rig.phone.answer_call(timeout=5)
    assert rig.scene.call_events[-1].kind == "answered"
    rig.scene.on_loop(lambda: rig.lab.partner.board.perform("call.end"))
    assert rig.board(lambda b: (b.call, b.locked)) == (None, True)
    rig.incoming()
    rig.phone.decline_call(timeout=5)
    assert rig.scene.call_events[-1].reason == "declined"
    assert [s[:2] for s in rig.steps()] == [
        ("answer_call", "slider 'slide to answer' (locked)"),
        ("decline_call", "side button twice (locked: no Decline button)"),
    ]
    assert all(fallback for _, _, fallback in rig.steps())  # the locked screen has no Accept/Decline


DIAL_VARIANT = frozenset({"prompt.call:label=Call now", "prompt.call:id=Call"})


@MAJORS
@TREES
@pytest.mark.parametrize("scheme", ["tel", "facetime-audio"])
def test_dial(rig_for, major: int, variant: bool, scheme: str) -> None:
    rig = rig_for(major, _pick(variant, frozenset(), DIAL_VARIANT))
    address = PARTNER_NUMBER if scheme == "tel" else PARTNER_ID
    rig.phone.dial(f"{scheme}:{address}", timeout=5)
    events = rig.scene.call_events
    assert [e.kind for e in events] == ["dialing", "ringing"]
    assert events[-1].call_kind == scheme and events[-1].caller_number == number(major)
    assert rig.scene.on_loop(lambda: rig.lab.partner.board.call.state) == "ringing"
    expected = _pick(variant, ("alert button Call", False), ("button name=Call", True))
    assert rig.steps() == [("dial", *expected)]


@MAJORS
@TREES
def test_end_call(rig_for, major: int, variant: bool) -> None:
    rig = rig_for(major, _pick(variant, frozenset(), frozenset({"incall.end:label=End call now"})))
    rig.phone.launch_app(VOICE_APP, ENV)
    call = rig.scene.on_loop(lambda: rig.sp.board.dial(TEL, PARTNER_NUMBER))
    rig.scene.on_loop(lambda: rig.lab.partner.board.carrier.answer(call))
    rig.phone.end_call(timeout=5)
    last = rig.scene.call_events[-1]
    assert (last.kind, last.reason) == ("ended", "hung-up-by-caller")
    assert rig.board(lambda b: (b.call, b.foreground)) == (None, VOICE_APP)
    expected = _pick(
        variant, ("button name='End call'", False), ("button label CONTAINS[c] 'end call'", True)
    )
    assert rig.steps() == [("end_call", *expected)]


SIRI_VARIANT = frozenset({"siri.overlay:label=Siri is listening"})
SIRI_STEP = {  # (siri_ui of the phone's profile, renamed overlay) -> the step the timeline records
    ("springboard", False): ("SpringBoard Siri overlay name=Siri", False),
    ("springboard", True): ("SpringBoard label CONTAINS[c] 'siri'", True),
    ("siri-view-service", False): ("SiriViewService (forced) name=Siri", True),
    ("siri-view-service", True): ("SiriViewService (forced) label CONTAINS[c] 'siri'", True),
}


def siri_step(rig: Rig, variant: bool) -> tuple[str, str, bool]:
    return ("siri", *SIRI_STEP[(rig.board(lambda b: b.variants["siri_ui"]), variant)])


@MAJORS
@TREES
def test_siri(rig_for, major: int, variant: bool) -> None:
    rig = rig_for(major, _pick(variant, frozenset(), SIRI_VARIANT))
    rig.phone.siri("what time is it", timeout=5)
    assert rig.board(lambda b: b.siri_text) == "what time is it"
    assert rig.steps() == [siri_step(rig, variant)]


@MAJORS
@TREES
def test_start_timer(rig_for, major: int, variant: bool) -> None:
    rig = rig_for(major, _pick(variant, frozenset(), SIRI_VARIANT))
    rig.phone.start_timer(90, timeout=5)
    assert ("timer", {"state": "started", "seconds": 90}) in rig.seen
    assert rig.steps() == [siri_step(rig, variant)]


@MAJORS
@TREES
def test_open_control_center(rig_for, major: int, variant: bool) -> None:
    rig = rig_for(major, _pick(variant, frozenset(), frozenset({"cc.view:noid"})))
    rig.phone.open_control_center(timeout=5)
    assert rig.board(lambda b: b.control_center) is True
    expected = _pick(variant, ("id=ControlCenterView", False), ("Bluetooth module visible", True))
    assert rig.steps() == [("open_control_center", *expected)]


@MAJORS
@TREES
def test_pick_route(rig_for, major: int, variant: bool) -> None:
    vt = frozenset({"cc.view:noid", "cc.routes:label=AirPlay Output", "route.row:id={name}-route"})
    rig = rig_for(major, _pick(variant, frozenset(), vt))
    rig.phone.launch_app(VOICE_APP, ENV)
    rig.phone.pick_route("Speaker", timeout=5)
    assert ("route-picked", {"route": "Speaker"}) in rig.seen
    assert rig.board(lambda b: (b.control_center, b.foreground)) == (False, VOICE_APP)
    if variant:
        assert rig.steps() == [
            ("open_control_center", "Bluetooth module visible", True),
            ("open_route_picker", "button label CONTAINS[c] 'airplay'", True),
            ("pick_route Speaker", "button label BEGINSWITH 'Speaker'", True),
        ]
    else:
        assert rig.steps() == [
            ("open_control_center", "id=ControlCenterView", False),
            ("open_route_picker", "button name=AirPlay", False),
            ("pick_route Speaker", "button name='Speaker'", False),
        ]


@MAJORS
@TREES
def test_set_bluetooth(rig_for, major: int, variant: bool) -> None:
    rig = rig_for(major, _pick(variant, frozenset(), frozenset({"cc.bluetooth:label=Bluetooth radio"})))
    assert rig.phone.set_bluetooth(False, timeout=5) is True
    assert rig.board(lambda b: (b.bluetooth_on, b.control_center)) == (False, False)
    expected = _pick(
        variant, ("button name=Bluetooth", False), ("button label CONTAINS[c] 'bluetooth'", True)
    )
    opened = ("open_control_center", "id=ControlCenterView", False)
    assert rig.steps() == [opened, ("set_bluetooth", *expected)]


@MAJORS
@TREES
def test_connect_bluetooth(rig_for, major: int, variant: bool) -> None:
    vt = frozenset({"settings.bluetooth:noid", "bt.row:id={name}-device"})
    rig = rig_for(major, _pick(variant, frozenset(), vt))
    devices = {"AirPods Pro": False}

    def wire() -> Callable[[], None]:
        board = rig.sp.board
        board.bluetooth_devices = lambda: list(devices.items())

        def on_change(kind: str, fields: dict[str, Any]) -> None:
            if kind == "bluetooth-connect":  # the audio world's part: the accessory connects
                devices[fields["device"]] = True
                board.refresh()

        return board.subscribe(on_change)

    unsubscribe = rig.scene.on_loop(wire)
    try:
        rig.phone.launch_app(VOICE_APP, ENV)
        rig.phone.connect_bluetooth("AirPods Pro", timeout=5)
    finally:
        rig.scene.on_loop(unsubscribe)
        rig.scene.on_loop(lambda: setattr(rig.sp.board, "bluetooth_devices", lambda: []))
    assert devices == {"AirPods Pro": True}
    assert rig.board(lambda b: b.foreground) == VOICE_APP
    if variant:
        assert rig.steps() == [
            ("open Settings > Bluetooth", "Settings cell label=Bluetooth", True),
            ("connect_bluetooth AirPods Pro", "cell label BEGINSWITH 'AirPods Pro'", True),
        ]
    else:
        assert rig.steps() == [
            ("open Settings > Bluetooth", "Settings cell id=com.apple.settings.bluetooth", False),
            ("connect_bluetooth AirPods Pro", "cell name='AirPods Pro'", False),
        ]


@MAJORS
@TREES
def test_disconnect_bluetooth(rig_for, major: int, variant: bool) -> None:
    """Settings > Bluetooth > (i) > Disconnect; the variant tree renames the (i) and shows Disconnect as
    its own label (the lab sets it), and a second call finds nothing to disconnect."""
    vt = frozenset({"bt.info:label=Info", "bt.disconnect:label=Disconnect Device"})
    rig = rig_for(major, _pick(variant, frozenset(), vt))
    devices = {"AirPods Pro": True}

    def wire() -> Callable[[], None]:
        board = rig.sp.board
        board.bluetooth_devices = lambda: list(devices.items())

        def on_change(kind: str, fields: dict[str, Any]) -> None:
            if kind == "bluetooth-disconnect":  # the audio world's part: the accessory disconnects
                devices[fields["device"]] = False
                board.refresh()

        return board.subscribe(on_change)

    unsubscribe = rig.scene.on_loop(wire)
    label = _pick(variant, "Disconnect", "Disconnect Device")
    try:
        rig.phone.launch_app(VOICE_APP, ENV)
        assert rig.phone.bluetooth_state("AirPods Pro", timeout=5) == "Connected"
        match = rig.phone.disconnect_bluetooth("AirPods Pro", timeout=5, disconnect_label=label)
        again = rig.phone.disconnect_bluetooth("AirPods Pro", timeout=5, disconnect_label=label)
        state = rig.phone.bluetooth_state("AirPods Pro", timeout=5)
    finally:
        rig.scene.on_loop(unsubscribe)
        rig.scene.on_loop(lambda: setattr(rig.sp.board, "bluetooth_devices", lambda: []))
    assert devices == {"AirPods Pro": False} and state == "Not Connected"
    assert match is not None and again is None
    assert rig.board(lambda b: b.foreground) == VOICE_APP
    opened = ("open Settings > Bluetooth", "Settings cell id=com.apple.settings.bluetooth", False)
    row = ("bluetooth row AirPods Pro", "cell name='AirPods Pro'", False)
    info = _pick(variant, ("open AirPods Pro info", "row 'AirPods Pro' button 'More Info'", False),
                 ("open AirPods Pro info", "row 'AirPods Pro' its only button", True))
    tapped = ("disconnect_bluetooth AirPods Pro", f"button label={label!r}", False)
    assert rig.steps() == [opened, row, opened, row, info, tapped, opened, row, opened, row]


@MAJORS
@TREES
def test_reset_media_services(rig_for, major: int, variant: bool) -> None:
    vt = frozenset({"settings.developer:noid", "settings.reset:label=Reset media services"})
    rig = rig_for(major, _pick(variant, frozenset(), vt))
    rig.phone.launch_app(VOICE_APP, ENV)
    rig.phone.reset_media_services(timeout=5)
    assert ("media-services-reset", {}) in rig.seen
    assert rig.board(lambda b: b.foreground) == VOICE_APP
    confirmed = ("reset_media_services confirm", "sheet button label CONTAINS[c] 'reset'", False)
    if variant:
        assert rig.steps() == [
            ("open Settings > Developer", "Settings cell label=Developer", True),
            ("reset_media_services", "label CONTAINS[c] 'reset media'", True),
            confirmed,
        ]
    else:
        assert rig.steps() == [
            ("open Settings > Developer", "Settings cell id=com.apple.settings.developer", False),
            ("reset_media_services", "button name='Reset Media Services'", False),
            confirmed,
        ]


@MAJORS
@TREES
def test_play_other_audio(rig_for, major: int, variant: bool) -> None:
    rig = rig_for(major, _pick(variant, frozenset(), frozenset({"music.play:label=Play music"})))
    rig.phone.launch_app(VOICE_APP, ENV)
    rig.phone.play_other_audio(timeout=5)
    assert rig.board(lambda b: (b.music_playing, b.foreground)) == (True, VOICE_APP)
    expected = _pick(
        variant, ("Music button name=Play", False), ("Music button label CONTAINS[c] 'play'", True)
    )
    assert rig.steps() == [("play_other_audio", *expected)]


@MAJORS
@TREES
def test_accept_permission_prompts(rig_for, major: int, variant: bool) -> None:
    vt = frozenset({"permission.allow:label=Allow While Using App"})
    rig = rig_for(major, _pick(variant, frozenset(), vt))
    prompts = {VOICE_APP: ["microphone", "local-network"]}
    rig.scene.on_loop(lambda: rig.sp.board.first_run_prompts.update(prompts))
    rig.phone.launch_app(VOICE_APP, ENV)
    texts = rig.phone.accept_permission_prompts(timeout=0.25)
    assert len(texts) == 2 and "Microphone" in texts[0]
    granted = [(f["permission"], f["granted"]) for k, f in rig.seen if k == "permission"]
    assert granted == [("microphone", True), ("local-network", True)]
    if variant:
        expected = [("accept_permission_prompts", "alert button Allow While Using App", True)] * 2
    else:
        mic = ("alert button OK", True) if major < 17 else ("alert button Allow", False)  # OK: unverified
        expected = [
            ("accept_permission_prompts", *mic),
            ("accept_permission_prompts", "alert button Allow", False),
        ]
    assert rig.steps() == expected
