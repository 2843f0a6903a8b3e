"""The audio daemon's interruption line, the one place a verdict reads iOS's own log.

(inference, unverified on hardware) iOS's audio daemon logs each interruption it posts to an app,
with the shouldResume option on "ended". The Siri verdict reads shouldResume from this line, so
that "should not resume" needs nothing from the app's own log. The wording below is the harness's
own guess: no public source shows a daemon line carrying shouldResume
(../shared/reference/real-ios-evidence.md Q3). A lab overrides it in lab.yaml ``system_log:``.
"""

from __future__ import annotations

from harness.ios import SYSTEM_AUDIO_PROCESS

INTERRUPTION_LOG_PATTERN = (
    r"posting interruption (?P<type>began|ended) to (?P<bundle>\S+)"
    r"(?: \(pid (?P<pid>\d+)\))?(?: shouldResume=(?P<should_resume>[01]))?"
)

__all__ = ["INTERRUPTION_LOG_PATTERN", "SYSTEM_AUDIO_PROCESS"]
