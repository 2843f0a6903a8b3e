"""The thresholds verdicts use: one table, read by pytest's ini options and ``harness run``.

Each limit has an ini name (``harness_<name>`` in pytest.ini / pyproject), a default and a help
text. A lab tunes them to its rig (a noisier room needs a lower echo bar) without touching code.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Any


def _limit(default: float, help_text: str) -> Any:
    return field(default=default, metadata={"help": help_text})


@dataclass(frozen=True)
class Limits:
    resume_s: float = _limit(2.0, "call audio must be back this many s after an interruption ends")
    connect_s: float = _limit(30.0, "the app must reach the peer within this many s of launch")
    echo_min_erl_db: float = _limit(40.0, "the downlink's echo in the uplink must be at least this many dB "
                                          "down (voice processing on)")
    level_tolerance_db: float = _limit(6.0, "after resuming the call may be at most this many dB quieter")
    duck_min_db: float = _limit(6.0, "other audio must be at least this many dB quieter during the call")
    other_audio_floor_dbfs: float = _limit(-60.0, "below this level other audio counts as stopped "
                                                  "(not ducked)")
    ice_reconnect_s: float = _limit(15.0, "a fresh session must come this many s after a long interruption "
                                          "ends (past ICE consent)")
    route_switch_s: float = _limit(1.0, "a route change may take this many s before audio must be on the "
                                        "new route")

    @classmethod
    def ini_names(cls) -> dict[str, str]:
        """``harness_<name>`` -> the help text, for registering the ini options."""
        return {f"harness_{f.name}": f.metadata["help"] for f in fields(cls)}

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
