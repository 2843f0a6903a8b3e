"""Each documented sequence of reference §1.8, walked on every iOS version in the shared table."""

from __future__ import annotations

import pytest

from harness.ios import IOS_VERSIONS
from harness.sim.avfaudio import (
    AudioSessionError,
    AudioWorld,
    CategoryOptions,
    ErrorCode,
    SetActiveOptions,
    Timings,
    WorldOptions,
    airpods,
)
from tests.avfaudio import expected as ex

APP = "com.example.voice"
VOICE = CategoryOptions.allowBluetoothHFP | CategoryOptions.allowBluetoothA2DP


def make(version: int, **world_kw):
    world = AudioWorld(version, seed=1, **world_kw)
    session = world.launch(APP)
    session.set_category("playAndRecord", "voiceChat", VOICE)
    session.set_active(True)
    session.start_io()
    return world, session


def received(world: AudioWorld, since: int = 0) -> list[ex.Item]:
    return [(d.name, d.user_info) for d in world.delivered(APP)[since:]]


def mark(world: AudioWorld) -> int:
    return len(world.delivered(APP))


versions = pytest.mark.parametrize("v", IOS_VERSIONS)


@versions
@pytest.mark.parametrize("how", ["call_declined", "call_ignored", "caller_hung_up"])
def test_cellular_call_not_answered_began_then_ended_should_resume(v: int, how: str) -> None:
    world, _ = make(v)
    start = mark(world)
    world.incoming_call()
    assert received(world, start) == ex.began(v)
    getattr(world, how)()
    world.scheduler.advance(5)
    assert received(world, start) == ex.began(v) + ex.ended(v, should_resume=True)


@versions
def test_cellular_call_answered_app_suspended_ended_after_call(v: int) -> None:
    world, session = make(v)
    start = mark(world)
    world.incoming_call()
    world.call_answered()
    world.scheduler.advance(10)
    assert world.app_state(APP)["suspended"], "iOS suspends the background app while the call is up"
    assert session.current_route.output.port_type == "builtInReceiver"
    world.caller_hung_up()
    hung_up_ns = world.scheduler.now_ns()
    world.scheduler.advance(5)
    assert received(world, start) == ex.began(v) + ex.ended(v, should_resume=True)
    end = next(d for d in world.delivered(APP) if d.user_info.get("AVAudioSessionInterruptionTypeKey") == 0)
    assert end.delivered_ns >= hung_up_ns + int(world.timings.call_ended_delay_s * 1e9)
    assert world.foreground_app == APP


@versions
def test_cellular_call_banner_with_prefers_no_interruptions(v: int) -> None:
    world, session = make(v, options=WorldOptions(call_style="banner"))
    session.set_prefers_no_interruptions_from_system_alerts(True)
    start = mark(world)
    world.incoming_call()
    assert received(world, start) == [], "no interruption while a banner call rings"
    assert world.playing_output(APP) is not None
    world.call_answered()
    assert received(world, start) == ex.began(v)
    world.call_ended()
    world.scheduler.advance(5)
    assert received(world, start) == ex.began(v) + ex.ended(v, should_resume=True)


@versions
def test_banner_declined_with_preference_never_interrupts(v: int) -> None:
    world, session = make(v, options=WorldOptions(call_style="banner"))
    session.set_prefers_no_interruptions_from_system_alerts(True)
    start = mark(world)
    world.incoming_call()
    world.call_declined()
    world.scheduler.advance(5)
    assert received(world, start) == []


@versions
def test_preference_has_no_effect_with_the_fullscreen_call(v: int) -> None:
    world, session = make(v, options=WorldOptions(call_style="fullscreen"))
    session.set_prefers_no_interruptions_from_system_alerts(True)
    start = mark(world)
    world.incoming_call()
    assert received(world, start) == ex.began(v)


def callkit_app(v: int):
    world = AudioWorld(v, seed=1)
    session = world.launch(APP)
    session.set_category("playAndRecord", "voiceChat", VOICE)
    session.callkit_call_started()
    world.scheduler.advance(1)
    return world, session


@versions
def test_callkit_activation_gives_did_activate_and_telephony_priority(v: int) -> None:
    world, session = callkit_app(v)
    assert received(world) == [*ex.became_active(v), (ex.DID_ACTIVATE, {})]
    assert world.app_state(APP)["activated_by"] == "callkit"
    session.start_io()
    start = mark(world)
    world.siri_started()
    assert received(world, start) == [], "Siri does not interrupt a telephony-priority session"


@versions
def test_callkit_hold_and_accept_then_local_hangs_up(v: int) -> None:
    world, session = callkit_app(v)
    session.start_io()
    start = mark(world)
    world.incoming_call()
    assert received(world, start) == [], "a ringing call does not interrupt a CallKit call"
    world.call_answered("hold_and_accept")
    assert received(world, start) == [
        (ex.SET_HELD, {"isOnHold": True}),
        *ex.began(v),
        (ex.DID_DEACTIVATE, {}),
    ]
    start = mark(world)
    world.call_ended()
    world.scheduler.advance(2)
    assert received(world, start) == [
        (ex.SET_HELD, {"isOnHold": False}),
        *ex.became_active(v),
        (ex.DID_ACTIVATE, {}),
    ]
    assert session.is_active


@versions
def test_callkit_hold_and_accept_remote_hangs_up_no_unhold(v: int) -> None:
    world, session = callkit_app(v)
    world.incoming_call()
    world.call_answered("hold_and_accept")
    start = mark(world)
    world.caller_hung_up()
    world.scheduler.advance(5)
    assert received(world, start) == [], "no un-hold callback when the remote party hangs up [TW-VQ]"
    assert not session.is_active
    world.callkit_unhold(APP)
    assert received(world, start) == [
        (ex.SET_HELD, {"isOnHold": False}),
        *ex.became_active(v),
        (ex.DID_ACTIVATE, {}),
    ]


@versions
@pytest.mark.parametrize("how", ["call_declined", "call_ignored"])
def test_callkit_reject_or_ignore_no_interruption(v: int, how: str) -> None:
    world, session = callkit_app(v)
    start = mark(world)
    world.incoming_call()
    getattr(world, how)()
    world.scheduler.advance(5)
    assert received(world, start) == []
    assert session.is_active


@versions
def test_app_that_activates_itself_under_callkit_is_visible_and_gets_no_did_activate(v: int) -> None:
    world = AudioWorld(v)
    session = world.launch(APP)
    session.set_category("playAndRecord", "voiceChat", VOICE)
    session.callkit_call_started()
    session.set_active(True)
    world.scheduler.advance(2)
    assert (ex.DID_ACTIVATE, {}) not in received(world)
    state = world.app_state(APP)
    assert state["activated_itself_under_callkit"] and state["activated_by"] == "app"
    assert "callkit_self_activation" in world.rule_ids_applied()


@versions
def test_facetime_ignored(v: int) -> None:
    world, _ = make(v)
    start = mark(world)
    world.incoming_call("friend@example.com", kind="facetime")
    world.call_ignored()
    world.scheduler.advance(5)
    assert received(world, start) == ex.began(v) + ex.ended(v, should_resume=True)


@versions
def test_siri_ended_after_dismissal(v: int) -> None:
    world, _ = make(v, timings=Timings(siri_never_ends_probability=0.0, siri_end_delay_s=0.4))
    start = mark(world)
    world.siri_started()
    world.scheduler.advance(3)
    assert received(world, start) == ex.began(v), "no ended while Siri's panel is up"
    world.siri_dismissed()
    world.scheduler.advance(0.3)
    assert received(world, start) == ex.began(v)
    world.scheduler.advance(0.2)
    assert received(world, start) == ex.began(v) + ex.ended(v, should_resume=True)


@versions
def test_siri_ended_never(v: int) -> None:
    world, _ = make(v, timings=Timings(siri_never_ends_probability=1.0))
    start = mark(world)
    world.siri_started()
    world.siri_dismissed()
    world.scheduler.advance(60)
    assert received(world, start) == ex.began(v)


def test_siri_never_ending_is_seeded_and_near_its_probability() -> None:
    def never(seed: int) -> bool:
        world = AudioWorld(18, seed=seed)
        world.launch(APP)
        world.siri_started()
        decision = next(e for e in world.log if e.fields.get("rule") == "siri_ended_late_or_never")
        return not decision.fields["ended_will_come"]

    outcomes = [never(s) for s in range(400)]
    assert outcomes == [never(s) for s in range(400)], "same seed, same outcome"
    assert 0.05 < sum(outcomes) / len(outcomes) < 0.15  # default probability 0.1


@versions
@pytest.mark.parametrize("kind", ["timer", "alarm"])
def test_timer_and_alarm(v: int, kind: str) -> None:
    world, _ = make(v)
    start = mark(world)
    world.alarm_fired(kind)
    assert received(world, start) == ex.began(v)
    world.alarm_dismissed(kind)
    world.scheduler.advance(5)
    assert received(world, start) == ex.began(v) + ex.ended(v, should_resume=True)


@versions
def test_other_media_app_ended_late_without_should_resume(v: int) -> None:
    world, _ = make(v, timings=Timings(media_app_ended_delay_s=3.0))
    start = mark(world)
    world.media_app_played("com.google.ios.youtube")
    assert received(world, start) == ex.began(v)
    world.media_app_stopped()
    world.scheduler.advance(30)
    assert received(world, start) == ex.began(v), "no ended until the user returns to the app [TW-VQ]"
    world.app_foreground(APP)
    back_ns = world.scheduler.now_ns()
    world.scheduler.advance(2.9)
    assert received(world, start) == ex.began(v)
    world.scheduler.advance(0.2)
    assert received(world, start) == ex.began(v) + ex.ended(v, should_resume=False)
    assert world.delivered(APP)[-1].delivered_ns - back_ns >= 3_000_000_000


@versions
def test_switching_back_without_stopping_the_video_also_ends_late(v: int) -> None:
    world, _ = make(v)
    start = mark(world)
    world.media_app_played()
    world.app_foreground(APP)
    world.scheduler.advance(10)
    assert received(world, start) == ex.began(v) + ex.ended(v, should_resume=False)


@versions
def test_airpods_connect_and_disconnect(v: int) -> None:
    world, session = make(v)
    world.accessory_paired(airpods())
    start = mark(world)
    world.accessory_connected("airpods")
    assert received(world, start) == ex.route_change(1, [ex.MIC], [ex.RECEIVER])
    hfp = ex.port("bluetoothHFP", "AirPods Pro", "airpods-tsco")
    assert session.current_route.to_dict() == {"inputs": [hfp], "outputs": [hfp]}, "HFP wins on one device"
    start = mark(world)
    world.accessory_disconnected("airpods")
    assert received(world, start) == ex.route_change(2, [hfp], [hfp])
    assert session.current_route.to_dict() == {"inputs": [ex.MIC], "outputs": [ex.RECEIVER]}


@versions
def test_airpods_out_of_range_interrupts_a_now_playing_session_from_ios_17(v: int) -> None:
    world, session = make(v)
    session.set_now_playing(True)
    world.accessory_paired(airpods())
    world.accessory_connected("airpods")
    start = mark(world)
    world.accessory_out_of_range("airpods")
    hfp = ex.port("bluetoothHFP", "AirPods Pro", "airpods-tsco")
    want = ex.route_change(2, [hfp], [hfp])
    if v >= 17:
        want += ex.began(v, reason=4)  # routeDisconnected
    assert received(world, start) == want


@versions
def test_opting_out_of_route_disconnect_interruptions(v: int) -> None:
    world, session = make(v)
    session.set_now_playing(True)
    session.set_prefers_interruption_on_route_disconnect(False)
    world.accessory_paired(airpods())
    world.accessory_connected("airpods")
    start = mark(world)
    world.accessory_powered_off("airpods")
    assert [n for n, _ in received(world, start)] == [ex.ROUTE_CHANGE]


@versions
def test_media_services_reset(v: int) -> None:
    world, session = make(v, timings=Timings(media_services_reset_delay_s=1.0))
    start = mark(world)
    world.media_services_reset()
    assert received(world, start) == [(ex.LOST, {})]
    world.scheduler.advance(1.0)
    assert received(world, start) == [(ex.LOST, {}), (ex.RESET, {})]
    assert (session.category, session.mode, int(session.category_options), session.is_active) == (
        "soloAmbient",
        "default",
        0,
        False,
    )
    lost = world.delivered(APP)[start]
    assert lost.notification.thread == "main"


@versions
def test_deactivation_by_the_app_and_reactivation(v: int) -> None:
    world, session = make(v)
    session.stop_io()
    start = mark(world)
    session.set_active(False, SetActiveOptions.notifyOthersOnDeactivation)
    session.set_active(True)
    assert received(world, start) == ex.app_deactivated(v) + ex.became_active(v)


@versions
def test_deactivating_with_running_io_fails(v: int) -> None:
    _world, session = make(v)
    with pytest.raises(AudioSessionError) as err:
        session.set_active(False)
    assert err.value.code is ErrorCode.isBusy
    assert session.is_active


@versions
def test_activation_during_a_call_fails_and_after_it_succeeds(v: int) -> None:
    world, session = make(v)
    world.incoming_call()
    with pytest.raises(AudioSessionError) as err:
        session.set_active(True)
    assert err.value.code is ErrorCode.cannotInterruptOthers
    world.call_declined()
    session.set_active(True)
    assert session.is_active


def test_siri_blocks_activation_with_its_own_error() -> None:
    world, session = make(18)
    world.siri_started()
    with pytest.raises(AudioSessionError) as err:
        session.set_active(True)
    assert err.value.code is ErrorCode.siriIsRecording


@versions
def test_speaker_override_and_its_end_by_an_interruption(v: int) -> None:
    world, session = make(v)
    start = mark(world)
    session.override_output_audio_port(0x73706B72)  # 'spkr'
    assert received(world, start) == ex.route_change(4, [ex.MIC], [ex.RECEIVER])
    assert session.current_route.output.port_type == "builtInSpeaker"
    start = mark(world)
    world.siri_started()
    assert received(world, start) == ex.began(v) + ex.route_change(4, [ex.MIC], [ex.SPEAKER])
    assert session.current_route.output.port_type == "builtInReceiver"


@versions
def test_speaker_override_ends_when_a_device_connects(v: int) -> None:
    world, session = make(v)
    world.accessory_paired(airpods())
    session.override_output_audio_port(0x73706B72)
    start = mark(world)
    world.accessory_connected("airpods")
    assert received(world, start) == ex.route_change(1, [ex.MIC], [ex.SPEAKER])
    world.accessory_disconnected("airpods")
    assert session.current_route.output.port_type == "builtInReceiver", "override does not come back"


@versions
def test_category_change_posts_route_change_and_options_are_not_sticky(v: int) -> None:
    world, session = make(v)
    start = mark(world)
    session.set_category("playAndRecord", options=CategoryOptions.defaultToSpeaker)
    assert session.category_options == CategoryOptions.defaultToSpeaker | CategoryOptions.allowBluetoothHFP
    assert received(world, start) == ex.route_change(3, [ex.MIC], [ex.RECEIVER])
    assert session.current_route.output.port_type == "builtInSpeaker"  # defaultToSpeaker, nothing connected


@versions
def test_duck_others_ducks_while_active(v: int) -> None:
    world = AudioWorld(v)
    session = world.launch(APP)
    world.media_app_played("com.spotify.client", foreground=False)
    session.set_category("playAndRecord", "voiceChat", CategoryOptions.duckOthers)
    assert session.category_options & CategoryOptions.mixWithOthers
    session.set_active(True)
    assert world.other_audio_state == "ducked"
    session.set_active(False, SetActiveOptions.notifyOthersOnDeactivation)
    assert world.other_audio_state == "playing"


@versions
def test_deactivating_without_notify_leaves_other_audio_ducked(v: int) -> None:
    world = AudioWorld(v)
    session = world.launch(APP)
    world.media_app_played("com.spotify.client", foreground=False)
    session.set_category("playAndRecord", "voiceChat", CategoryOptions.duckOthers)
    session.set_active(True)
    session.set_active(False)
    assert world.other_audio_state == "ducked"
    assert "unduck_needs_notify" in world.rule_ids_applied()
    session.set_active(True)
    session.set_active(False, SetActiveOptions.notifyOthersOnDeactivation)
    assert world.other_audio_state == "playing"


def test_unduck_without_notify_when_the_option_says_so() -> None:
    world = AudioWorld(18, options=WorldOptions(unduck_needs_notify=False))
    session = world.launch(APP)
    world.media_app_played("com.spotify.client", foreground=False)
    session.set_category("playAndRecord", "voiceChat", CategoryOptions.duckOthers)
    session.set_active(True)
    session.set_active(False)
    assert world.other_audio_state == "playing"


@versions
def test_non_mixable_activation_interrupts_other_audio_and_notify_lets_it_resume(v: int) -> None:
    world = AudioWorld(v)
    session = world.launch(APP)
    world.media_app_played("com.spotify.client", foreground=False)
    session.set_category("playAndRecord", "voiceChat")
    session.set_active(True)
    assert world.other_audio_state == "interrupted"
    session.set_active(False, SetActiveOptions.notifyOthersOnDeactivation)
    assert world.other_audio_state == "playing"


@versions
def test_silence_secondary_audio_hint_for_a_mixable_foreground_session(v: int) -> None:
    world = AudioWorld(v)
    session = world.launch(APP)
    session.set_category("playback", options=CategoryOptions.mixWithOthers)
    session.set_active(True)
    start = mark(world)
    world.media_app_played("com.spotify.client", foreground=False)
    world.media_app_stopped()
    assert received(world, start) == [
        (ex.HINT, {"AVAudioSessionSilenceSecondaryAudioHintTypeKey": 1}),
        (ex.HINT, {"AVAudioSessionSilenceSecondaryAudioHintTypeKey": 0}),
    ]


@versions
def test_mic_hardware_muted(v: int) -> None:
    world, _session = make(v)
    start = mark(world)
    world.mic_hardware_muted(True)
    assert received(world, start) == ex.began(v, reason=2)
    world.mic_hardware_muted(False)
    assert received(world, start) == ex.began(v, reason=2) + ex.ended(v, should_resume=True)


@versions
def test_mic_muted_with_override_option_keeps_the_session_and_zeroes_buffers(v: int) -> None:
    world = AudioWorld(v)
    session = world.launch(APP)
    session.set_category("playAndRecord", "voiceChat", CategoryOptions.overrideMutedMicrophoneInterruption)
    session.set_active(True)
    start = mark(world)
    world.mic_hardware_muted(True)
    assert received(world, start) == []
    assert world.app_state(APP)["mic_zeroed"] and session.is_active


@versions
def test_suspended_app_gets_its_notifications_late_in_order(v: int) -> None:
    world, _ = make(v, options=WorldOptions(wake_on_should_resume=False))
    world.app_background(APP)
    world.siri_started()
    world.scheduler.advance(2)
    assert world.app_state(APP)["suspended"]
    start = mark(world)
    world.accessory_paired(airpods())
    world.accessory_connected("airpods")
    assert received(world, start) == []
    world.scheduler.advance(1)
    world.app_foreground(APP)
    got = world.delivered(APP)[start:]
    assert [d.name for d in got] == [ex.ROUTE_CHANGE]
    assert all(d.late for d in got)


def test_a_process_listener_sees_suspend_and_resume() -> None:
    calls: list[tuple[str, bool]] = []
    world = AudioWorld(18, on_process=lambda b, s: calls.append((b, s)))
    world.launch(APP)
    world.app_background(APP)
    world.scheduler.advance(2)
    world.app_foreground(APP)
    assert calls == [(APP, True), (APP, False)]


def test_observer_may_call_back_into_the_world() -> None:
    world, session = make(18)
    seen: list[str] = []

    def on_note(d) -> None:
        seen.append(d.name)
        if d.user_info.get("AVAudioSessionInterruptionOptionKey") == 1:
            session.set_active(True)
            session.start_io()

    session.add_observer(on_note)
    world.incoming_call()
    world.call_declined()
    world.scheduler.advance(2)
    assert seen == [ex.INTERRUPTION, ex.INTERRUPTION]
    assert world.playing_output(APP).port_type == "builtInReceiver"
    assert [d.name for d in session.drain()][-2:] == [ex.INTERRUPTION, ex.INTERRUPTION]
    assert session.drain() == []


@versions
def test_siri_that_plays_audio_ends_without_should_resume(v: int) -> None:
    world = AudioWorld(v, timings=Timings(siri_never_ends_probability=0.0))
    session = world.launch(APP)
    session.set_category("playAndRecord", "voiceChat", CategoryOptions.duckOthers)
    session.set_active(True)
    world.siri_started(plays_audio=True)
    world.siri_dismissed()
    world.scheduler.advance(1.0)
    ended = [d for d in world.delivered(APP) if d.user_info.get("AVAudioSessionInterruptionTypeKey") == 0]
    assert ended and not ended[-1].user_info.get("AVAudioSessionInterruptionOptionKey", 0) & 1
