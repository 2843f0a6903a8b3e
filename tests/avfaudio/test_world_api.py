"""The facade's scene-side API: control verbs, Settings/Control Center views, the log, the clock."""

from __future__ import annotations

import asyncio
import json

import pytest

from harness.errors import UsageError
from harness.sim.avfaudio import (
    AudioWorld,
    LoopScheduler,
    ManualScheduler,
    airpods,
    control,
    wired_headphones,
)
from harness.sim.avfaudio.rules import RULES

APP = "com.example.voice"


def test_control_actions_drive_the_world() -> None:
    world = AudioWorld(17)
    world.launch(APP).set_category("playAndRecord", "voiceChat")
    control.apply(world, "accessory_paired", {"uid": "pods", "kind": "bluetooth", "hfp": True, "a2dp": True})
    control.apply(world, "accessory_connected", {"uid": "pods"})
    assert world.route(APP).output.port_type == "bluetoothHFP"
    control.apply(world, "accessory_powered_off", {"uid": "pods"})
    assert world.bluetooth_devices() == [
        {"uid": "pods", "name": "pods", "state": "powered_off", "hfp": True, "a2dp": True}
    ]
    control.apply(world, "mic_hardware_muted", {"muted": True})
    assert world.mic_muted
    control.apply(world, "media_services_reset")
    assert any(e.fields.get("event") == "media_services_reset" for e in world.log)


@pytest.mark.parametrize(
    ("action", "params", "message"),
    [
        ("teleport", {}, "unknown audio control action"),
        ("accessory_connected", {}, "needs uid"),
        ("accessory_paired", {"uid": "x", "kind": "bluetooth"}, "HFP and/or A2DP"),
        ("accessory_paired", {"uid": "x", "kind": "toaster"}, "accessory_paired"),
        ("accessory_connected", {"uid": "ghost"}, "no accessory 'ghost'"),
    ],
)
def test_control_bad_input_is_a_usage_error(action: str, params: dict, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        control.apply(AudioWorld(18), action, params)


def test_route_picker_shows_what_plays() -> None:
    world = AudioWorld(18)
    world.launch(APP).set_category("playAndRecord", "voiceChat")
    world.accessory_paired(airpods())
    world.accessory_paired(wired_headphones())
    world.accessory_connected("airpods")
    picker = world.route_picker(APP)
    assert [(p["portType"], p["selected"]) for p in picker] == [
        ("builtInReceiver", False),
        ("bluetoothHFP", True),
    ]
    system = world.route_picker()
    assert [(p["portType"], p["selected"]) for p in system] == [
        ("builtInSpeaker", False),
        ("bluetoothA2DP", True),
    ]
    world.accessory_connected("wired")
    assert [p["selected"] for p in world.route_picker(APP)] == [False, False, True]


def test_log_is_json_ready_and_cites_known_rules() -> None:
    seen = []
    world = AudioWorld(27, on_log=seen.append)
    session = world.launch(APP)
    session.set_category("playAndRecord", "voiceChat")
    session.set_active(True)
    world.incoming_call()
    world.call_declined()
    world.scheduler.advance(2)
    assert seen == world.log
    lines = [json.dumps(e.to_dict()) for e in world.log]
    assert all(
        json.loads(line)["kind"] in {"event", "decision", "post", "deliver", "route", "process"}
        for line in lines
    )
    assert set(world.rule_ids_applied()) <= set(RULES)
    assert {"ring_interrupts", "declined_ended_should_resume"} <= set(world.rule_ids_applied())


def test_playing_output_and_system_audio() -> None:
    world = AudioWorld(18)
    session = world.launch(APP)
    session.set_category("playAndRecord", "voiceChat")
    assert world.playing_output(APP) is None
    session.set_active(True)
    session.start_io()
    assert world.playing_output(APP).port_type == "builtInReceiver"
    call = world.incoming_call()
    assert world.playing_output(APP) is None
    world.call_answered()
    world.call_speaker(True)
    assert world.system_audio()[call].port_type == "builtInSpeaker"


def test_manual_scheduler_orders_and_cancels() -> None:
    clock = ManualScheduler()
    out: list[str] = []
    clock.call_later(2, lambda: out.append("b"))
    clock.call_later(1, lambda: out.append("a"))
    h = clock.call_later(1.5, lambda: out.append("x"))
    h.cancel()
    clock.call_later(1, lambda: clock.call_later(0.5, lambda: out.append("nested")))
    clock.advance(1.9)
    assert out == ["a", "nested"] and clock.now_ns() == 1_900_000_000 and clock.pending() == 1
    clock.advance(1)
    assert out == ["a", "nested", "b"]
    with pytest.raises(ValueError):
        clock.call_later(-1, lambda: None)


def test_loop_scheduler_delivers_on_an_event_loop() -> None:
    loop = asyncio.new_event_loop()
    try:
        world = AudioWorld(18, scheduler=LoopScheduler(loop))
        session = world.launch(APP)
        session.set_category("playAndRecord", "voiceChat")
        session.set_active(True)
        got = asyncio.Event()
        session.add_observer(
            lambda d: got.set() if d.user_info.get("AVAudioSessionInterruptionTypeKey") == 0 else None
        )
        world.incoming_call()
        world.call_declined()
        loop.run_until_complete(asyncio.wait_for(got.wait(), timeout=10))
        assert world.delivered(APP)[-1].user_info["AVAudioSessionInterruptionOptionKey"] == 1
    finally:
        loop.close()
