"""The log-volume knob: synthetic filler lines a virtual phone's os_trace relay sends besides its real ones.

A real iPhone's unified log runs at hundreds to thousands of lines a second (more during calls and
Siri; reference real-iphone.md H6); the virtual phone writes only the lines its scene logs. The
filler brings the volume back so the harness's log path can be loaded as on hardware: every
open os_trace relay stream of the phone sends ``lines_per_s`` extra entries, round-robin from
``processes``, at ``level``. They are **marked as synthetic**: subsystem ``org.harness.sim.filler``,
category ``filler``, message ``SYNTHETIC FILLER <n> ...``; they are never claimed to be iOS lines,
never enter the phone's ground truth (``log_history``) and never reach syslog_relay.

API (one knob per phone, changed live):

* control route ``POST /phones/{udid}/log/filler`` with ``{"lines_per_s": 5000, "processes":
  ["harness-sim-filler"], "level": "default"}`` (any subset; ``lines_per_s: 0`` stops it), and
  ``GET /phones/{udid}/log/filler``: both answer the current setting;
* in process: ``phone.log_filler.update({...})``.

A process name from the filter the harness keeps (``audiomxd``, ``SpringBoard``) makes that share of
the filler pass the harness's filter, as real daemon chatter does.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from harness.errors import UsageError

FILLER_PROCESS = "harness-sim-filler"
FILLER_SUBSYSTEM = "org.harness.sim.filler"
FILLER_CATEGORY = "filler"
MAX_LINES_PER_S = 100_000.0
_LEVELS = ("default", "info", "debug", "error", "fault")


@dataclass
class LogFiller:
    lines_per_s: float = 0.0
    processes: tuple[str, ...] = (FILLER_PROCESS,)
    level: str = "default"
    """The filler's level: the relay sends info/debug lines only to a client that asked for them."""
    follows_variant: bool = True
    """Until the knob is set, the rate follows the phone's ``log_volume`` variant (``phone.log_rate()``:
    idle, a call, Siri); setting ``lines_per_s`` fixes it (the log bench does)."""

    def update(self, values: dict[str, Any]) -> None:
        """Apply ``values`` (any of lines_per_s, processes, level); UsageError naming a bad one."""
        unknown = set(values) - {"lines_per_s", "processes", "level"}
        if unknown:
            raise UsageError(f"unknown filler setting(s) {sorted(unknown)}; known: lines_per_s, processes, "
                             "level")
        rate = values.get("lines_per_s", self.lines_per_s)
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 <= rate <= MAX_LINES_PER_S:
            raise UsageError(f"lines_per_s must be a number from 0 to {MAX_LINES_PER_S:.0f}, got {rate!r}")
        processes = values.get("processes", list(self.processes))
        if (not isinstance(processes, (list, tuple)) or not processes
                or not all(isinstance(p, str) and p and "/" not in p for p in processes)):
            raise UsageError('processes must be a non-empty list of process names, e.g. '
                             '["harness-sim-filler"]')
        level = values.get("level", self.level)
        if level not in _LEVELS:
            raise UsageError(f"level must be one of {', '.join(_LEVELS)}, got {level!r}")
        self.lines_per_s, self.processes, self.level = float(rate), tuple(processes), str(level)
        if "lines_per_s" in values:
            self.follows_variant = False

    def message(self, n: int) -> str:
        return f"SYNTHETIC FILLER {n} (harness sim log-volume knob; not an iOS line)"

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["processes"] = list(self.processes)
        return d
