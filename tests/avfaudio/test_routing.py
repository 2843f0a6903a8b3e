"""Apple's route rules, one table row per rule (reference §1.5, §1.6)."""

from __future__ import annotations

import pytest

from harness.sim.avfaudio import routing
from harness.sim.avfaudio.constants import Category, CategoryOptions, Mode, PortOverride, RouteChangeReason
from harness.sim.avfaudio.ports import (
    RECEIVER,
    SPEAKER,
    Accessory,
    AccessoryKind,
    RouteDescription,
    airpods,
    bluetooth_headset,
    bluetooth_speaker,
    car_audio,
    wired_headphones,
    wired_headset,
)
from harness.sim.avfaudio.rules import Timings
from harness.sim.avfaudio.session import SessionConfig

HFP = CategoryOptions.allowBluetoothHFP
A2DP = CategoryOptions.allowBluetoothA2DP
SPK = CategoryOptions.defaultToSpeaker
PAR = Category.playAndRecord


def cfg(
    category: Category = PAR, options: CategoryOptions | int = 0, mode: Mode = Mode.default
) -> SessionConfig:
    return SessionConfig(category, mode, CategoryOptions(int(options)))


AIR, HEAD, BTSPK, WIRED, SET, CAR = (
    airpods(),
    bluetooth_headset(),
    bluetooth_speaker(),
    wired_headphones(),
    wired_headset(),
    car_audio(),
)

# (id, config, connected in order, override, output port type or None, input port type or None, rules)
CASES = [
    ("plain_receiver", cfg(), [], PortOverride.none, "builtInReceiver", "builtInMic", ("receiver_default",)),
    (
        "default_to_speaker_alone",
        cfg(options=SPK),
        [],
        PortOverride.none,
        "builtInSpeaker",
        "builtInMic",
        ("default_to_speaker_only_alone",),
    ),
    (
        "default_to_speaker_not_with_wired",
        cfg(options=SPK),
        [WIRED],
        PortOverride.none,
        "headphones",
        "builtInMic",
        ("wired_follows_system", "last_in_wins"),
    ),
    (
        "videochat_speaker",
        cfg(mode=Mode.videoChat),
        [],
        PortOverride.none,
        "builtInSpeaker",
        "builtInMic",
        ("default_to_speaker_only_alone",),
    ),
    (
        "videochat_hfp",
        cfg(mode=Mode.videoChat),
        [HEAD],
        PortOverride.none,
        "bluetoothHFP",
        "bluetoothHFP",
        ("hfp_needs_option", "last_in_wins"),
    ),
    (
        "hfp_without_option",
        cfg(),
        [HEAD],
        PortOverride.none,
        "builtInReceiver",
        "builtInMic",
        ("receiver_default",),
    ),
    (
        "hfp_with_option",
        cfg(options=HFP),
        [HEAD],
        PortOverride.none,
        "bluetoothHFP",
        "bluetoothHFP",
        ("hfp_needs_option", "last_in_wins"),
    ),
    (
        "voicechat_sets_hfp",
        cfg(mode=Mode.voiceChat),
        [HEAD],
        PortOverride.none,
        "bluetoothHFP",
        "bluetoothHFP",
        ("hfp_needs_option", "last_in_wins"),
    ),
    (
        "a2dp_without_option",
        cfg(),
        [BTSPK],
        PortOverride.none,
        "builtInReceiver",
        "builtInMic",
        ("receiver_default",),
    ),
    (
        "a2dp_without_option_speaker",
        cfg(options=SPK),
        [BTSPK],
        PortOverride.none,
        "builtInSpeaker",
        "builtInMic",
        ("default_to_speaker_only_alone",),
    ),
    (
        "a2dp_with_option",
        cfg(options=A2DP),
        [BTSPK],
        PortOverride.none,
        "bluetoothA2DP",
        "builtInMic",
        ("a2dp_needs_option", "last_in_wins"),
    ),
    (
        "airpods_a2dp_only_option",
        cfg(options=A2DP),
        [AIR],
        PortOverride.none,
        "bluetoothA2DP",
        "builtInMic",
        ("a2dp_needs_option", "last_in_wins"),
    ),
    (
        "airpods_hfp_wins",
        cfg(options=A2DP | HFP),
        [AIR],
        PortOverride.none,
        "bluetoothHFP",
        "bluetoothHFP",
        ("hfp_wins_same_device", "last_in_wins"),
    ),
    (
        "last_in_a2dp",
        cfg(options=A2DP | HFP),
        [HEAD, BTSPK],
        PortOverride.none,
        "bluetoothA2DP",
        "builtInMic",
        ("a2dp_needs_option", "last_in_wins"),
    ),
    (
        "last_in_hfp",
        cfg(options=A2DP | HFP),
        [BTSPK, HEAD],
        PortOverride.none,
        "bluetoothHFP",
        "bluetoothHFP",
        ("hfp_needs_option", "last_in_wins"),
    ),
    (
        "unreachable_last_skipped",
        cfg(options=HFP),
        [HEAD, BTSPK],
        PortOverride.none,
        "bluetoothHFP",
        "bluetoothHFP",
        ("hfp_needs_option", "last_in_wins"),
    ),
    (
        "wired_headset_mic",
        cfg(),
        [SET],
        PortOverride.none,
        "headphones",
        "headsetMic",
        ("wired_follows_system", "last_in_wins"),
    ),
    (
        "car",
        cfg(),
        [CAR],
        PortOverride.none,
        "carAudio",
        "carAudio",
        ("wired_follows_system", "last_in_wins"),
    ),
    (
        "override_beats_everything",
        cfg(options=HFP),
        [HEAD],
        PortOverride.speaker,
        "builtInSpeaker",
        "builtInMic",
        ("speaker_override",),
    ),
    (
        "override_ignored_outside_play_and_record",
        cfg(Category.playback),
        [],
        PortOverride.speaker,
        "builtInSpeaker",
        None,
        ("default_to_speaker_only_alone",),
    ),
    (
        "playback_uses_a2dp",
        cfg(Category.playback),
        [BTSPK],
        PortOverride.none,
        "bluetoothA2DP",
        None,
        ("a2dp_for_playback", "last_in_wins"),
    ),
    (
        "playback_airpods_a2dp",
        cfg(Category.playback),
        [AIR],
        PortOverride.none,
        "bluetoothA2DP",
        None,
        ("a2dp_for_playback", "last_in_wins"),
    ),
    (
        "playback_not_hfp_only",
        cfg(Category.playback),
        [HEAD],
        PortOverride.none,
        "builtInSpeaker",
        None,
        ("default_to_speaker_only_alone",),
    ),
    (
        "playback_wired",
        cfg(Category.playback),
        [WIRED],
        PortOverride.none,
        "headphones",
        None,
        ("wired_follows_system", "last_in_wins"),
    ),
    (
        "record_builtin",
        cfg(Category.record),
        [],
        PortOverride.none,
        None,
        "builtInMic",
        ("receiver_default",),
    ),
    (
        "record_hfp",
        cfg(Category.record, HFP),
        [HEAD],
        PortOverride.none,
        None,
        "bluetoothHFP",
        ("hfp_needs_option", "last_in_wins"),
    ),
    (
        "record_ignores_a2dp",
        cfg(Category.record),
        [BTSPK],
        PortOverride.none,
        None,
        "builtInMic",
        ("receiver_default",),
    ),
    (
        "record_ignores_headphones_without_mic",
        cfg(Category.record),
        [WIRED],
        PortOverride.none,
        None,
        "builtInMic",
        ("receiver_default",),
    ),
    (
        "record_headset_mic",
        cfg(Category.record),
        [SET],
        PortOverride.none,
        None,
        "headsetMic",
        ("wired_follows_system", "last_in_wins"),
    ),
    (
        "multiroute_a2dp_needs_option",
        cfg(Category.multiRoute),
        [BTSPK],
        PortOverride.none,
        "builtInSpeaker",
        "builtInMic",
        ("default_to_speaker_only_alone",),
    ),
    (
        "multiroute_a2dp_with_option",
        SessionConfig(Category.multiRoute, Mode.default, A2DP),
        [BTSPK],
        PortOverride.none,
        "bluetoothA2DP",
        "builtInMic",
        ("a2dp_needs_option", "last_in_wins"),
    ),
    ("ambient_speaker", cfg(Category.ambient), [], PortOverride.none, "builtInSpeaker", None, None),
    ("solo_ambient_speaker", cfg(Category.soloAmbient), [], PortOverride.none, "builtInSpeaker", None, None),
]


@pytest.mark.parametrize(
    ("config", "connected", "override", "out", "inp", "rules"),
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_route_rules(config, connected, override, out, inp, rules) -> None:
    decision = routing.route_for(config, connected, override)
    route = decision.route
    assert (route.output.port_type if route.output else None) == out
    assert (route.input.port_type if route.input else None) == inp
    assert len(route.outputs) == (1 if out else 0)
    assert len(route.inputs) == (1 if inp else 0)
    if rules is not None:
        assert decision.rules == rules


def test_bluetooth_ports_belong_to_their_device() -> None:
    route = routing.route_for(cfg(options=HFP), [AIR]).route
    assert route.output.uid == "airpods-tsco" and route.output.name == "AirPods Pro"
    assert AIR.owns(route.output) and not HEAD.owns(route.output)
    assert not AIR.owns(None)
    a2dp = routing.route_for(cfg(options=A2DP), [AIR]).route
    assert a2dp.output.uid == "airpods-tacl" and AIR.owns(a2dp.output)


def test_candidate_reports_what_one_accessory_offers() -> None:
    assert routing.candidate(BTSPK, cfg()) is None
    assert routing.candidate(HEAD, cfg(Category.playback)) is None
    offer = routing.candidate(AIR, cfg(options=HFP | A2DP))
    assert offer is not None and offer.rule == "hfp_wins_same_device"
    assert offer.output == offer.input == AIR.hfp_port
    rec = routing.candidate(HEAD, cfg(Category.record, HFP))
    assert rec is not None and rec.output is None and rec.input == HEAD.hfp_port
    wired = routing.candidate(WIRED, cfg())
    assert wired is not None and wired.input.port_type == "builtInMic"
    assert routing.candidate(WIRED, cfg(Category.record)) is None


def test_call_route() -> None:
    assert routing.call_route([]).route.output == RECEIVER
    assert routing.call_route([], speaker=True).route.output == SPEAKER
    assert routing.call_route([BTSPK]).route.output == RECEIVER, "calls never use A2DP"
    assert routing.call_route([AIR]).route.output.port_type == "bluetoothHFP"
    assert routing.call_route([AIR, WIRED]).route.output.port_type == "headphones"
    assert routing.call_route([AIR]).rules[-1] == "call_route"


def test_media_route() -> None:
    assert routing.media_route([]).route.output == SPEAKER
    assert routing.media_route([AIR]).route.output.port_type == "bluetoothA2DP"
    assert routing.media_route([AIR]).route.inputs == ()


@pytest.mark.parametrize(
    ("event", "after"),
    [
        ("route_change", PortOverride.none),
        ("interruption", PortOverride.none),
        ("set_mode", PortOverride.speaker),
    ],
)
def test_override_after(event: str, after: PortOverride) -> None:
    assert routing.override_after(event, PortOverride.speaker) is after
    assert routing.override_after(event, PortOverride.none) is PortOverride.none


def test_change_reason() -> None:
    a = RouteDescription((), (RECEIVER,))
    b = RouteDescription((), (SPEAKER,))
    assert routing.change_reason(a, a, RouteChangeReason.newDeviceAvailable) is None
    assert (
        routing.change_reason(a, b, RouteChangeReason.newDeviceAvailable)
        is RouteChangeReason.newDeviceAvailable
    )
    assert routing.change_reason(a, a, RouteChangeReason.categoryChange) is RouteChangeReason.categoryChange
    assert routing.change_reason(a, b, RouteChangeReason.override) is RouteChangeReason.override


def test_switch_latency_is_a_parameter_per_port() -> None:
    timings = Timings(route_switch_latency_ms={"bluetoothHFP": 123.0})
    hfp = routing.route_for(cfg(options=HFP), [HEAD]).route
    assert routing.switch_latency_ms(timings, hfp) == 123.0
    assert routing.switch_latency_ms(timings, routing.route_for(cfg(), []).route) == 0.0
    assert routing.switch_latency_ms(timings, RouteDescription()) == 0.0
    defaults = Timings()
    assert routing.switch_latency_ms(defaults, hfp) > routing.switch_latency_ms(
        defaults, routing.route_for(cfg(), []).route
    )


def test_accessory_validation() -> None:
    with pytest.raises(ValueError, match="HFP and/or A2DP"):
        Accessory("x", "X", AccessoryKind.bluetooth)
    with pytest.raises(ValueError, match="Bluetooth profiles"):
        Accessory("x", "X", AccessoryKind.wired_headphones, hfp=True)
    with pytest.raises(ValueError, match="needs a uid"):
        Accessory("", "X", AccessoryKind.wired_headphones)


def test_decisions_are_immutable_values() -> None:
    import dataclasses

    decision = routing.route_for(cfg(), [])
    with pytest.raises(dataclasses.FrozenInstanceError):
        decision.route = RouteDescription()  # type: ignore[misc]
    offer = routing.candidate(WIRED, cfg())
    with pytest.raises(dataclasses.FrozenInstanceError):
        offer.rule = "x"  # type: ignore[misc]
