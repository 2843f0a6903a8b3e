"""Reading shouldResume from iOS's audio log: the line the virtual phone writes parses back, and a
lab file can bring its own pattern (with an exact message when it lacks the named groups)."""

from __future__ import annotations

import re
from types import SimpleNamespace

import pytest
from pydantic import ValidationError

from harness.ios import SYSTEM_AUDIO_PROCESS, interruption_log_line
from harness.lab.schema import SystemLog
from harness.timeline import Timeline
from harness.verdicts.evidence import Evidence
from harness.verdicts.system_log import INTERRUPTION_LOG_PATTERN


def test_the_daemon_line_round_trips() -> None:
    began = interruption_log_line("com.example.app", 42, {"AVAudioSessionInterruptionTypeKey": 1})
    ended = interruption_log_line("com.example.app", 42, {"AVAudioSessionInterruptionTypeKey": 0,
                                                          "AVAudioSessionInterruptionOptionKey": 1})
    no = interruption_log_line("com.example.app", None, {"AVAudioSessionInterruptionTypeKey": 0})
    pattern = re.compile(INTERRUPTION_LOG_PATTERN)
    assert pattern.search(began).group("type") == "began"
    assert pattern.search(ended).group("should_resume") == "1"
    assert pattern.search(no).group("should_resume") == "0"


def test_evidence_reads_interruptions_from_the_device_log_only() -> None:
    tl = Timeline()
    tl.emit("device-log", "log", process=SYSTEM_AUDIO_PROCESS, message=interruption_log_line(
        "com.example.app", 7, {"AVAudioSessionInterruptionTypeKey": 0}))
    tl.emit("device-log", "app-event", process="VoiceAgent", message="HARNESS-EVENT interruption-ended")
    tl.emit("device-log", "log", process="SpringBoard", message="posting interruption ended to x")
    no_rig = SimpleNamespace(close=lambda: None, check_capture=lambda: None, routes=[])  # no captures
    ev = Evidence(no_rig, SimpleNamespace(created_ns=0, stitched=None), tl)  # type: ignore[arg-type]
    found = ev.interruptions("com.example.app")
    assert [(i.type, i.should_resume) for i in found] == [("ended", False)]


def test_a_lab_pattern_needs_the_named_groups() -> None:
    assert SystemLog(interruption_pattern=r"(?P<type>began|ended) (?P<bundle>\S+)").audio_process
    with pytest.raises(ValidationError, match="named groups"):
        SystemLog(interruption_pattern=r"interruption (began|ended)")
    with pytest.raises(ValidationError, match="not a regular expression"):
        SystemLog(interruption_pattern=r"(?P<type>")
