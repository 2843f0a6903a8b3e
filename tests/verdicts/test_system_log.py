"""Reading iOS's audio log: what a verdict may conclude from it, and when it must not conclude.

No public source shows the audio daemon's line for an interruption it posts to a client, let alone
one carrying shouldResume (../shared/reference/real-ios-evidence.md Q3). So these tests do not
check the harness's pattern against its own writer. They check, against lines quoted from real
device logs, what the harness does rely on: how the daemon names a client (bundle id, pid, and
the process name cut to 16 characters), that a lab's own pattern may name the app by any of those,
that an unverified pattern makes the Siri scenario skip with a reason instead of judging, and that
a Live Voicemail hold is the lab's.
"""

from __future__ import annotations

import re
from types import SimpleNamespace

import pytest
from pydantic import ValidationError

from harness.errors import LabFault
from harness.lab.schema import SystemLog
from harness.timeline import Timeline
from harness.verdicts.evidence import Evidence
from harness.verdicts.system_log import UNVERIFIED, AppIdentity

# real-ios-evidence.md Q3.1: audiomxd's lines for com.hightowerai.MobileJarvisNative (iOS 17+ era;
# five unattributed public excerpts of Console output). Verbatim.
REAL_AUDIOMXD = [
    "-CMSessionMgr- CMSessionMgrHandleApplicationStateChange:17005 Client com.hightowerai.MobileJarvisNative "
    "with session sid:0x6f879, MobileJarvisNati(9964), 'prim' [0x5430ec380] with pid '9964' is now "
    "ForegroundRunning. Background entitlement: NO ActiveLongFormVideoSession: NO IsLongFormVideoApp NO",
]
APP = AppIdentity(bundle="com.hightowerai.MobileJarvisNative", executable="MobileJarvisNative",
                  pids=frozenset({9964}))

# A lab's own pattern, as one would write it after a survey, in the shape of the real line above
# (the interruption wording and shouldResume are this test's assumption: that is what a survey settles).
BY_BUNDLE = (r"Client (?P<bundle>\S+) with session sid:\S+, \S+\(\d+\), 'prim' .* interruption "
             r"(?P<type>began|ended)(?:, shouldResume: (?P<should_resume>[01]))?")
BY_PROCESS = (r"sid:\S+, (?P<process>.{1,16})\((?P<pid>\d+)\), 'prim' .* interruption "
              r"(?P<type>began|ended)(?:, shouldResume: (?P<should_resume>[01]))?")


def real_line_saying(kind: str, should_resume: int | None = None) -> str:
    """The real line with its state change replaced by an interruption (the part a survey settles)."""
    tail = f"interruption {kind}" + (f", shouldResume: {should_resume}" if should_resume is not None else "")
    return REAL_AUDIOMXD[0].replace("is now ForegroundRunning.", tail + ".")


@pytest.mark.parametrize("pattern", [BY_BUNDLE, BY_PROCESS])
def test_the_app_is_recognised_however_the_daemon_names_it(pattern: str) -> None:
    m = re.search(pattern, real_line_saying("ended", 1))
    assert m is not None and m.group("type") == "ended" and m.group("should_resume") == "1"
    assert APP.named_by(m)
    other = AppIdentity(bundle="com.example.other", executable="OtherApp", pids=frozenset({1}))
    assert not other.named_by(m)


def test_the_process_name_is_matched_as_the_daemon_cuts_it() -> None:
    m = re.search(BY_PROCESS, real_line_saying("began"))
    assert m is not None and m.group("process") == "MobileJarvisNati"  # 16 characters, as logged
    assert AppIdentity(executable="MobileJarvisNative").named_by(m)
    assert AppIdentity(pids=frozenset({9964})).named_by(m)


def evidence(tl: Timeline, system_log: SystemLog) -> Evidence:
    no_rig = SimpleNamespace(close=lambda: None, check_capture=lambda: None, routes=[])  # no captures
    return Evidence(no_rig, SimpleNamespace(created_ns=0, stitched=None), tl,  # type: ignore[arg-type]
                    system_log=system_log, app=lambda: APP)


def test_evidence_reads_interruptions_from_the_daemons_lines_only() -> None:
    tl = Timeline()
    tl.emit("device-log", "log", process="audiomxd", message=real_line_saying("ended", 0))
    tl.emit("device-log", "app-event", process="MobileJarvisNative",
            message="HARNESS-EVENT interruption-ended")
    tl.emit("device-log", "log", process="SpringBoard",  # the same words, another process
            message=real_line_saying("ended", 1))
    found = evidence(tl, SystemLog(interruption_pattern=BY_BUNDLE, verified=True)).interruptions()
    assert [(i.type, i.should_resume) for i in found] == [("ended", False)]


def test_an_unverified_pattern_is_said_to_be_so() -> None:
    assert not SystemLog().verified and SystemLog().interruption_pattern is None
    assert "survey" in UNVERIFIED and "verified: true" in UNVERIFIED
    with pytest.raises(ValidationError, match="verified: true needs the interruption_pattern"):
        SystemLog(verified=True)


def test_a_lab_pattern_needs_a_type_and_a_way_to_name_the_app() -> None:
    assert SystemLog(interruption_pattern=r"(?P<type>began|ended) (?P<pid>\d+)").interruption_pattern
    with pytest.raises(ValidationError, match="named group"):
        SystemLog(interruption_pattern=r"interruption (?P<type>began|ended)")
    with pytest.raises(ValidationError, match="not a regular expression"):
        SystemLog(interruption_pattern=r"(?P<type>")


def test_a_call_ios_keeps_after_a_decline_is_the_labs_not_the_apps() -> None:
    tl = Timeline()
    declined = tl.now()
    # twilio/voice-quickstart-ios#152 (real-ios-evidence Q1.5): callservicesd's line is real; the
    # Live Voicemail wording is this lab's pattern (unverified: no public line)
    tl.emit("device-log", "log", process="callservicesd", message="Stopped tracking call: <private>")
    ev = evidence(tl, SystemLog(call_held_pattern=r"Live Voicemail answering"))
    ev.expect_call_released(declined)  # nothing held
    tl.emit("device-log", "log", process="callservicesd", message="Live Voicemail answering declined call")
    with pytest.raises(LabFault) as info:
        ev.expect_call_released(declined)
    assert info.value.tag == "call-held" and "Live Voicemail" in str(info.value)
