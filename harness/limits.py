"""The thresholds verdicts use: one table, read by pytest's ini options and ``harness run``.

Each limit has an ini name (``harness_<name>`` in pytest.ini / pyproject), a default and a help
text. A lab tunes them to its rig (a noisier room needs a lower echo bar) without touching code.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any


@dataclass(frozen=True)
class Limits:
    resume_s: float = 2.0
    """Call audio must be back this soon after an interruption ends."""
    connect_s: float = 30.0
    """The app must reach the peer this soon after launch."""
    echo_min_erl_db: float = 40.0
    """The downlink's echo in the uplink must be at least this far down (voice processing on)."""
    level_tolerance_db: float = 6.0
    """After resuming, the call may be at most this much quieter than before."""
    duck_min_db: float = 6.0
    """Other audio must be at least this much quieter while the call is active."""
    other_audio_floor_dbfs: float = -60.0
    """Below this, other audio counts as stopped (not ducked)."""
    ice_reconnect_s: float = 15.0
    """After an interruption past ICE consent, a fresh session must come this soon."""
    route_switch_s: float = 1.0
    """A route change may take this long before audio must be on the new route."""

    @classmethod
    def ini_names(cls) -> dict[str, str]:
        """``harness_<name>`` -> the help text, for registering the ini options."""
        return {f"harness_{f.name}": LIMIT_HELP[f.name] for f in fields(cls)}

    @classmethod
    def from_ini(cls, getini: Callable[[str], Any]) -> Limits:
        """Each limit from ``getini`` (pytest's ``config.getini``); unregistered ones keep the default."""
        values = {}
        for f in fields(cls):
            try:
                raw = getini(f"harness_{f.name}")
            except ValueError:
                continue
            if raw not in (None, ""):
                try:
                    values[f.name] = float(raw)
                except ValueError:
                    raise ValueError(f"ini option harness_{f.name} = {raw!r} is not a number") from None
        return cls(**values)


LIMIT_HELP: dict[str, str] = {
    "resume_s": "call audio must be back this many s after an interruption ends",
    "connect_s": "the app must reach the peer within this many s of launch",
    "echo_min_erl_db": "the downlink's echo in the uplink must be at least this many dB down",
    "level_tolerance_db": "after resuming the call may be at most this many dB quieter",
    "duck_min_db": "other audio must be at least this many dB quieter during the call",
    "other_audio_floor_dbfs": "below this level other audio counts as stopped",
    "ice_reconnect_s": "a fresh session must come this many s after a long interruption ends",
    "route_switch_s": "a route change may take this many s",
}
