"""Call identity: one token = one call, across every session the app opens for it.

aiortc cannot restart ICE, so an app that re-checks its connection after an interruption opens a
fresh WHIP session with the same token; the harness stitches those sessions into one call, so
continuity is measured across the reconnect (arrival times are on the lab clock, so the call's
arrival-axis WAV spans every session).

A call's files live in ``<record dir>/<call id>/``; when an earlier peer run left files for the same
token there, this run's call takes ``<call id>-2/`` (``-3/``...): a second run never overwrites or
mixes with the first one's recordings (``harness peer decode`` rebuilds each folder on its own).
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


def fresh_dir(record_dir: Path, name: str) -> Path:
    """``record_dir/name``, or ``name-2``, ``name-3``... if an earlier run's files are there.

    ``mkdir`` without ``exist_ok`` is atomic: two peers sharing a record dir never pick the same one.
    """
    for n in range(1, 10_000):
        path = record_dir / (name if n == 1 else f"{name}-{n}")
        try:
            path.mkdir(parents=True)
            return path
        except FileExistsError:
            continue
    raise FileExistsError(f"{record_dir}: no free folder for {name}")


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
        self._dir: Path | None = None

    @property
    def dir(self) -> Path:
        """The call's folder, made when its first session needs it."""
        if self._dir is None:
            self._dir = fresh_dir(Path(self.record_dir), self.id)
        return self._dir

    def discard_dir(self) -> None:
        """Remove the folder of a call that never got a session (its offers were refused)."""
        if self._dir is not None and not any(self._dir.iterdir()):
            self._dir.rmdir()
            self._dir = None

    @property
    def reconnects(self) -> int:
        return max(0, len(self.sessions) - 1)

    @property
    def log_paths(self) -> list[Path]:
        return [s.log_path for s in self.sessions]

    @property
    def current(self) -> CallSession | None:
        return self.sessions[-1] if self.sessions else None

    @property
    def held_until_ns(self) -> int | None:
        """Until when the call's uplink was due: the latest end of a session the phone still held
        (see :attr:`CallSession.held_until_ns`); None before any session."""
        ends = [s.held_until_ns for s in self.sessions]
        known = [e for e in ends if e is not None]
        return max(known) if known else None

    def decode(self) -> dict[str, Path]:
        """Write the call's uplink WAVs (``uplink-rtp.wav``, ``uplink-arrival.wav``) from its logs.

        Both run to the end of the last session the phone still held, so an uplink that stopped
        while the call stayed up ends in silence (a ``missing-end`` gap), not at its last packet.
        """
        from harness.peer.rtp_log import write_wavs

        self.wavs = write_wavs(self.log_paths, self.dir / "uplink", end_ns=self.held_until_ns)
        return self.wavs

    def summary(self) -> dict[str, Any]:
        totals = [s.totals() for s in self.sessions]
        ends = [s.closed_ns or monotonic_ns() for s in self.sessions]
        return {
            "call": self.id,
            "sessions": len(self.sessions),
            "reconnects": self.reconnects,
            "duration_s": round((max(ends, default=self.created_ns) - self.created_ns) / 1e9, 3),
            "packets": sum(t.get("packets", 0) for t in totals),
            "lost": sum(t.get("lost", 0) for t in totals),
            "logs": [str(p) for p in self.log_paths],
            "wavs": {k: str(v) for k, v in self.wavs.items()},
        }
