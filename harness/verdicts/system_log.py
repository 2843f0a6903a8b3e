"""The audio daemon's interruption line, the one place a verdict reads iOS's own log.

(inference, unverified on hardware) iOS's audio daemon logs each interruption it posts to an app,
with the shouldResume option on "ended". The Siri verdict reads shouldResume from this line, so
that "should not resume" needs nothing from the app's own log. The wording below is the harness's
own guess: no public source shows a daemon line carrying shouldResume
(../shared/reference/real-ios-evidence.md Q3). A lab overrides it in lab.yaml ``system_log:``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from harness.ios import SYSTEM_AUDIO_PROCESS

INTERRUPTION_LOG_PATTERN = (
    r"posting interruption (?P<type>began|ended) to (?P<bundle>\S+)"
    r"(?: \(pid (?P<pid>\d+)\))?(?: shouldResume=(?P<should_resume>[01]))?"
)
PROCESS_NAME_MAX = 16
"""iOS's audio daemon names a client by its process name cut to 16 characters (REV Q3.1)."""
UNVERIFIED = ("no system_log pattern verified on this lab's phones, so iOS's shouldResume cannot be "
              "read; run `harness phone survey` and set system_log: interruption_pattern and "
              "verified: true in lab.yaml (harness.verdicts.system_log)")
"""Why a scenario that needs iOS's shouldResume is skipped."""


@dataclass(frozen=True)
class AppIdentity:
    """How iOS's daemons may name the app under test on a line: its bundle id, its executable (the
    process name), the pids it ran as."""

    bundle: str | None = None
    executable: str | None = None
    pids: frozenset[int] = frozenset()

    def named_by(self, m: re.Match[str]) -> bool:
        """Does the line ``m`` matched name this app (by whichever of bundle, pid, process it has)?"""
        groups = m.groupdict()
        bundle, pid, process = groups.get("bundle"), groups.get("pid"), groups.get("process")
        return bool((bundle is not None and bundle == self.bundle)
                    or (pid is not None and pid.isdigit() and int(pid) in self.pids)
                    or (process is not None and self.executable
                        and process == self.executable[:PROCESS_NAME_MAX]))


__all__ = ["INTERRUPTION_LOG_PATTERN", "SYSTEM_AUDIO_PROCESS", "UNVERIFIED", "AppIdentity"]
