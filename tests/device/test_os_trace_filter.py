"""Client-side log filtering and the app contract's HARNESS-EVENT lines (pure)."""

from __future__ import annotations

from types import SimpleNamespace

from pymobiledevice3.services.os_trace import (
    OS_TRACE_RELAY_STREAM_FLAGS_DEFAULT,
    OsActivityStreamFlag,
    SyslogLabel,
    SyslogLogLevel,
)

from harness.device.os_trace import LogFilter, dut_log_filter, entry_fields, parse_app_event


def test_empty_filter_keeps_everything():
    assert LogFilter().keeps("anything", "", "")


def test_filters_are_globs_and_all_must_match():
    f = LogFilter(processes=("mediaserverd", "Voice*"), subsystems=("com.apple.coreaudio*",))
    assert f.keeps("mediaserverd", "com.apple.coreaudio", "AVAudioSession")
    assert f.keeps("VoiceApp", "com.apple.coreaudio.session", "")
    assert not f.keeps("SpringBoard", "com.apple.coreaudio", "")
    assert not f.keeps("mediaserverd", "com.apple.bluetooth", "")
    assert not LogFilter(categories=("AVAudioSession",)).keeps("x", "y", "Routing")


def test_harness_event_lines_are_parsed():
    assert parse_app_event('HARNESS-EVENT interruption-began reason=call note="two words"') == (
        "interruption-began", {"reason": "call", "note": "two words"})
    assert parse_app_event("HARNESS-EVENT resumed") == ("resumed", {})
    assert parse_app_event("some other line") is None
    assert parse_app_event("HARNESS-EVENT ") is None


def test_entries_become_timeline_fields():
    entry = SimpleNamespace(filename="/private/var/containers/Bundle/Application/X/VoiceApp.app/VoiceApp",
                            pid=321,
                            label=SyslogLabel(category="audio", subsystem="com.example.voice"),
                            level=SyslogLogLevel.ERROR, message="HARNESS-EVENT route-changed to=speaker")
    kind, fields = entry_fields(entry, "UDID")
    assert kind == "app-event"
    assert fields["process"] == "VoiceApp" and fields["pid"] == 321 and fields["level"] == "error"
    assert fields["event"] == "route-changed" and fields["args"] == {"to": "speaker"}
    plain = SimpleNamespace(filename="/usr/sbin/mediaserverd", pid=40, label=None,
                            level=SyslogLogLevel.NOTICE, message="hello")
    kind, fields = entry_fields(plain, "UDID")
    assert kind == "log" and fields["subsystem"] == "" and fields["level"] == "default"


def test_the_dut_filter_keeps_the_audio_daemons_the_app_and_what_the_lab_adds():
    f = dut_log_filter("VoiceAgent", ["CallKitExtension", "bluetooth*"])
    for process in ("audiomxd", "mediaserverd", "SpringBoard", "InCallService", "VoiceAgent",
                    "CallKitExtension", "bluetoothd"):
        assert f.keeps(process, "", ""), process
    assert not f.keeps("kernel", "", "") and not f.keeps("harness-sim-filler", "org.harness.sim.filler", "")
    # the app contract's lines are kept whatever process logs them (an app extension, say)
    assert f.keeps("VoiceAgentNetworkExtension", "", "", "HARNESS-EVENT route-changed to=speaker")
    assert not LogFilter(processes=("x",), app_events=False).keeps("y", "", "", "HARNESS-EVENT a")


def test_the_relay_is_asked_for_no_debug_and_no_backlog_unless_asked():
    # pymobiledevice3's default (Console's "info and debug") is PAYLOAD|HISTORICAL|CALLSTACK|DEBUG
    assert OS_TRACE_RELAY_STREAM_FLAGS_DEFAULT & OsActivityStreamFlag.DEBUG
    info = LogFilter().stream_flags
    assert info == OsActivityStreamFlag.PAYLOAD | OsActivityStreamFlag.CALLSTACK | OsActivityStreamFlag.INFO
    assert not info & (OsActivityStreamFlag.DEBUG | OsActivityStreamFlag.HISTORICAL)
    assert LogFilter(level="debug").stream_flags & OsActivityStreamFlag.DEBUG
    assert not LogFilter(level="default").stream_flags & OsActivityStreamFlag.INFO
