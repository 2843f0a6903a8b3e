"""Call identity: one token = one call, across every session the app opens for it.

aiortc cannot restart ICE, so an app that re-checks its connection after an interruption opens a
fresh WHIP session with the same token; the harness stitches those sessions into one call, so
continuity is measured across the reconnect (arrival times are on the lab clock, so the call's
arrival-axis WAV spans every session).
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.timeline import monotonic_ns

if TYPE_CHECKING:
    from harness.peer.session import CallSession


def call_id_for(token: str) -> str:
    """A stable, non-secret name for a token (file names and timeline fields never carry the token)."""
    return "call-" + hashlib.sha256(token.encode()).hexdigest()[:10]


@dataclass
class Call:
    token: str = field(repr=False)
    record_dir: Path
    id: str = ""
    sessions: list[CallSession] = field(default_factory=list)
    created_ns: int = field(default_factory=monotonic_ns)
    downlink_origin_s: float = field(default_factory=time.monotonic)  # probe sample 0, for every session
    wavs: dict[str, Path] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.id = self.id or call_id_for(self.token)
        self.dir = self.record_dir / self.id
        self.dir.mkdir(parents=True, exist_ok=True)

    @property
    def reconnects(self) -> int:
        return max(0, len(self.sessions) - 1)

    @property
    def log_paths(self) -> list[Path]:
        return [s.log_path for s in self.sessions]

    @property
    def current(self) -> CallSession | None:
        return self.sessions[-1] if self.sessions else None

    def decode(self) -> dict[str, Path]:
        """Write the call's uplink WAVs (``uplink-rtp.wav``, ``uplink-arrival.wav``) from its logs."""
        from harness.peer.rtp_log import write_wavs

        self.wavs = write_wavs(self.log_paths, self.dir / "uplink")
        return self.wavs

    def summary(self) -> dict[str, Any]:
        totals = [s.tap.totals() for s in self.sessions]
        ends = [s.closed_ns or monotonic_ns() for s in self.sessions]
        return {
            "call": self.id,
            "sessions": len(self.sessions),
            "reconnects": self.reconnects,
            "duration_s": round((max(ends, default=self.created_ns) - self.created_ns) / 1e9, 3),
            "packets": sum(t["packets"] for t in totals),
            "lost": sum(t["lost"] for t in totals),
            "logs": [str(p) for p in self.log_paths],
            "wavs": {k: str(v) for k, v in self.wavs.items()},
        }
