"""Client-side log filtering and the app contract's HARNESS-EVENT lines (pure)."""

from __future__ import annotations

from types import SimpleNamespace

from pymobiledevice3.services.os_trace import SyslogLabel, SyslogLogLevel

from harness.device.os_trace import LogFilter, entry_fields, parse_app_event


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
