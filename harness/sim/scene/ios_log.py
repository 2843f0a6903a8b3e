"""What iOS's own processes write to a virtual phone's log, in the formats its profile gives.

The audio daemon's interruption line is the one a verdict can read shouldResume from; no public
source shows it (REV Q3), so the profile offers plausible formats as the ``audio_daemon_line``
variant: the real client naming of ``-CMSessionMgr-`` or ``-MXCoreSession-`` lines with invented
wording, the client named only by ``sid:0x..., <16-char name>(<pid>)``, the harness's own invention
(one variant among others), or no line at all. Each format carries the system_log pattern a lab
that captured such lines would write into its lab file (the app named by bundle id, pid or its
16-character process name).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

from harness.sim.phone import VirtualPhone
from harness.sim.profiles import LineFormat

INTERRUPTION_TYPE_KEY = "AVAudioSessionInterruptionTypeKey"
INTERRUPTION_OPTION_KEY = "AVAudioSessionInterruptionOptionKey"
SHOULD_RESUME = 1


@dataclass
class IosLog:
    phone: VirtualPhone

    @property
    def daemon(self) -> dict[str, str]:
        return self.phone.profile.audio_daemon

    @property
    def line_format(self) -> LineFormat | None:
        """The audio daemon's interruption format on this phone (None: it logs none)."""
        name = self.phone.variants["audio_daemon_line"]
        return None if name == "absent" else self.phone.profile.interruption_formats[name]

    def lab_pattern(self) -> tuple[str, str] | None:
        """(audio process, system_log pattern) a lab that captured this phone's lines would write."""
        fmt = self.line_format
        if fmt is None or fmt.pattern is None:
            return None
        return self.daemon["process"], fmt.pattern

    def call_held_pattern(self) -> str | None:
        """The pattern a lab that captured this phone's Live Voicemail line would write (its literal
        text up to the first redacted or variable part)."""
        message = str(self.phone.profile.live_voicemail.get("message") or "")
        head = message.split("<private>", 1)[0].split("{", 1)[0].strip()
        return re.escape(head) if head else None

    def interruption(
        self, bundle_id: str, pid: int | None, executable: str, user_info: dict[str, Any]
    ) -> str | None:
        """Log the audio daemon's line for one interruption it posts to an app; returns the line."""
        fmt = self.line_format
        if fmt is None:
            return None
        began = user_info.get(INTERRUPTION_TYPE_KEY) == 1
        digest = hashlib.sha1(f"{bundle_id}:{pid}".encode()).digest()
        fields = {
            "bundle": bundle_id,
            "pid": pid if pid is not None else 0,
            "name16": executable[:16],  # process names are cut to 16 characters (REV Q3.1)
            "sid": f"0x{int.from_bytes(digest[:3], 'big') & 0xFFFFF:x}",
            "session_ptr": f"0x5{digest[3:7].hex()}0",
            "session_id": 100 + digest[7] % 200,
            "type": "began" if began else "ended",
            "should_resume": int(user_info.get(INTERRUPTION_OPTION_KEY, 0)) & SHOULD_RESUME,
        }
        line = (fmt.began if began else fmt.ended).format(**fields)
        self.phone.log(
            self.daemon["process"],
            line,
            subsystem=self.daemon.get("subsystem", ""),
            category=self.daemon.get("category", ""),
        )
        return line

    def call_line(self, key: str) -> None:
        """One of the profile's call lines (InCallService, callservicesd) around a call."""
        line = self.phone.profile.call_lines.get(key)
        if line is not None:
            self.phone.log(line["process"], line["message"])

    def live_voicemail(self) -> None:
        lv = self.phone.profile.live_voicemail
        self.phone.log(str(lv["process"]), str(lv["message"]))
