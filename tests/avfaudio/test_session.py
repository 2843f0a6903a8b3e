"""Session configuration: options and their side effects (reference §1.5)."""

from __future__ import annotations

import pytest

from harness.errors import UsageError
from harness.sim.avfaudio import AudioWorld
from harness.sim.avfaudio.constants import (
    ALLOW_BLUETOOTH,
    AudioSessionError,
    Category,
    CategoryOptions,
    ErrorCode,
    Mode,
    PortOverride,
    fourcc,
)
from harness.sim.avfaudio.session import SessionConfig, implied_options

HFP = CategoryOptions.allowBluetoothHFP
SPK = CategoryOptions.defaultToSpeaker


def test_voice_chat_sets_hfp_and_video_chat_sets_hfp_and_speaker() -> None:
    c = SessionConfig().with_category("playAndRecord", "voiceChat")
    assert c.options == HFP
    c = SessionConfig().with_category("playAndRecord", "videoChat")
    assert c.options == HFP | SPK
    assert c.with_mode("default").options == CategoryOptions(0), "side effects follow the mode"


def test_duck_others_sets_mix_with_others() -> None:
    c = SessionConfig().with_category("playback", options=CategoryOptions.duckOthers)
    assert c.options == CategoryOptions.duckOthers | CategoryOptions.mixWithOthers
    assert c.mixable
    assert not SessionConfig().with_category("playback").mixable
    assert SessionConfig(Category.ambient).mixable


def test_allow_bluetooth_is_allow_bluetooth_hfp() -> None:
    assert ALLOW_BLUETOOTH is HFP and int(HFP) == 0x4


def test_options_are_not_sticky_across_category_changes() -> None:
    c = SessionConfig().with_category("playAndRecord", options=SPK | CategoryOptions.allowBluetoothA2DP)
    c = c.with_category("playAndRecord")
    assert c.options == CategoryOptions(0)


def test_mode_is_kept_when_valid_and_reset_when_not() -> None:
    c = SessionConfig().with_category("playAndRecord", "voiceChat")
    assert c.with_category("playAndRecord").mode is Mode.voiceChat
    assert c.with_category("playback").mode is Mode.default


@pytest.mark.parametrize(
    ("category", "option"),
    [
        ("playback", SPK),
        ("playback", HFP),
        ("record", CategoryOptions.mixWithOthers),
        ("ambient", CategoryOptions.duckOthers),
        ("playback", CategoryOptions.allowBluetoothA2DP),
    ],
)
def test_option_outside_its_categories_fails_with_param_err(category: str, option: CategoryOptions) -> None:
    with pytest.raises(AudioSessionError) as err:
        SessionConfig().with_category(category, options=option)
    assert err.value.code is ErrorCode.badParam and err.value.code == -50


def test_mode_outside_its_categories_fails() -> None:
    with pytest.raises(AudioSessionError, match="voiceChat"):
        SessionConfig().with_category("playback", "voiceChat")
    with pytest.raises(AudioSessionError, match="unknown category"):
        SessionConfig().with_category("karaoke")
    with pytest.raises(AudioSessionError, match="unknown mode"):
        SessionConfig().with_mode("karaoke")


def test_newer_modes_and_options_need_their_ios() -> None:
    with pytest.raises(AudioSessionError, match=r"26\.2"):
        SessionConfig().with_category("multiRoute", "dualRoute", version=(26, 1))
    assert SessionConfig().with_category("multiRoute", "dualRoute", version=(26, 2)).mode is Mode.dualRoute
    with pytest.raises(AudioSessionError):
        SessionConfig().with_category("playAndRecord", options=CategoryOptions.farFieldInput, version=(18, 0))
    ok = SessionConfig().with_category(
        "playAndRecord", options=CategoryOptions.farFieldInput, version=(26, 2)
    )
    assert CategoryOptions.farFieldInput in ok.options


def test_implied_options_table() -> None:
    assert implied_options(Mode.default, CategoryOptions(0)) == CategoryOptions(0)
    assert implied_options(Mode.voiceChat, CategoryOptions.duckOthers) == HFP | CategoryOptions.mixWithOthers


def test_error_codes_are_apples_four_char_codes() -> None:
    assert int(ErrorCode.isBusy) == 560030580
    assert int(ErrorCode.cannotInterruptOthers) == 560557684
    assert int(PortOverride.speaker) == 0x73706B72
    with pytest.raises(ValueError):
        fourcc("abc")


def test_world_rejects_unknown_versions_and_apps() -> None:
    with pytest.raises(UsageError, match="16, 17, 18, 26, 27"):
        AudioWorld(15)
    with pytest.raises(UsageError):
        AudioWorld("seventeen")
    world = AudioWorld("17.5")
    assert world.version == (17, 5)
    with pytest.raises(UsageError, match="not launched"):
        world.session("com.nope")
    with pytest.raises(UsageError, match="no ringing call"):
        world.call_answered()
    with pytest.raises(UsageError, match="no accessory"):
        world.accessory_connected("ghost")


def test_override_needs_play_and_record() -> None:
    world = AudioWorld(18)
    s = world.launch("com.x")
    s.set_category("playback")
    with pytest.raises(AudioSessionError) as err:
        s.override_output_audio_port(PortOverride.speaker)
    assert err.value.code is ErrorCode.badParam


def test_io_needs_an_active_session() -> None:
    world = AudioWorld(18)
    s = world.launch("com.x")
    with pytest.raises(AudioSessionError):
        s.start_io()


def test_bluetooth_high_quality_recording_needs_ios_26() -> None:
    option = CategoryOptions.bluetoothHighQualityRecording
    with pytest.raises(AudioSessionError):
        SessionConfig().with_category("playAndRecord", options=option, version=(18, 7))
    assert option in SessionConfig().with_category("playAndRecord", options=option, version=(26, 0)).options
    with pytest.raises(AudioSessionError):
        SessionConfig().with_category("playAndRecord", options=CategoryOptions.farFieldInput, version=(26, 1))
