"""What a real lab has to judge an app: route captures, the peer's packets, the phone's log.

:class:`Evidence` reads them after (or during) a scenario and answers in lab-clock terms: where the
downlink probe played on each route and at what level, what came back on the uplink (and how much
of the downlink's echo rode along), how loud other audio was on a route, which WHIP sessions the
app opened, and which interruptions iOS's audio daemon logged. Nothing here reads the app's own
log, so every verdict holds with the app's logging off.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from harness.audio.analyze import Analysis, analyze
from harness.audio.capture import read_capture
from harness.audio.probe import DOWNLINK_SEED, MOUTH_SEED, probe
from harness.errors import LabFault
from harness.ios import INTERRUPTION_LOG_PATTERN, SYSTEM_AUDIO_PROCESS
from harness.timeline import Span, Timeline

MIN_SEGMENT_S = 0.3
BROKEN = ("failed", "closed")


@dataclass(frozen=True)
class Level:
    """The downlink's level on a route over a stretch: capture RMS relative to the probe's RMS."""

    db: float
    seconds: float


@dataclass(frozen=True)
class LoggedInterruption:
    t_ns: int
    type: str  # began | ended
    bundle: str
    should_resume: bool | None


@dataclass(frozen=True)
class PeerSession:
    index: int
    created_ns: int
    closed_ns: int | None
    failed_ns: int | None
    """When the connection broke (failed, or closed by an ICE consent expiry or a hang-up)."""


class Evidence:
    def __init__(self, rig: Any, call: Any, timeline: Timeline, *,
                 interruption_pattern: str = INTERRUPTION_LOG_PATTERN,
                 system_process: str = SYSTEM_AUDIO_PROCESS) -> None:
        self.rig = rig
        self.call = call
        self.timeline = timeline
        self.interruption_pattern = re.compile(interruption_pattern)
        self.system_process = system_process
        self._routes: dict[str, Any] = {}
        self._closed = False

    def close(self) -> None:
        """Stop recording, then check the capture chain: a dropout (the reference channel went dead
        too) is the lab's fault, raised here, before any verdict could blame the app for the gap.
        Every later question is answered from the files."""
        if not self._closed:
            self.rig.close()
            self._closed = True
            check = getattr(self.rig, "check_capture", None)
            if check is not None:
                check()

    @cached_property
    def _seconds(self) -> float:
        return (self.timeline.now() - self.call.created_ns) / 1e9 + 5.0

    # -- downlink on each route -------------------------------------------------------------------

    def route(self, route: str) -> Any:
        """The route's analysis against the downlink probe (cached; close() first for the whole call)."""
        if route not in self._routes:
            reference = {"downlink": probe(self._seconds, DOWNLINK_SEED)}
            self._routes[route] = self.rig.analyze(route, reference)
        return self._routes[route]

    def downlink(self, route: str) -> list[Span]:
        """Where the downlink probe was heard on ``route``, on the lab clock."""
        return self.route(route).presence.get("downlink", [])

    def routes_playing(self, start_ns: int, end_ns: int, min_s: float = 0.3) -> list[str]:
        """The routes on which the downlink played at least ``min_s`` between two lab times."""
        return [r for r in self.rig.routes
                if sum(s.overlap_s(start_ns, end_ns) for s in self.downlink(r)) >= min_s]

    def level(self, route: str, start_ns: int, end_ns: int) -> Level | None:
        """The downlink's level on ``route`` between two lab times (None: not heard there)."""
        ra = self.route(route)
        rec_time = self._time_of(route)
        weights, levels = [], []
        for seg in ra.analysis.segments:
            if seg.reference != "downlink" or seg.end_s - seg.start_s < MIN_SEGMENT_S:
                continue
            span = Span(rec_time(seg.start_s), rec_time(seg.end_s))
            overlap = span.overlap_s(start_ns, end_ns)
            if overlap > 0:
                weights.append(overlap)
                levels.append(seg.level_db)
        if not weights:
            return None
        return Level(float(np.average(levels, weights=weights)), float(sum(weights)))

    def rms_dbfs(self, route: str, start_ns: int, end_ns: int) -> float:
        """Everything on ``route`` between two lab times (other apps' audio included), in dBFS."""
        rec = read_capture(self.rig.wav(route))
        x = rec.samples if rec.samples.ndim == 1 else rec.samples[:, 0]
        a, b = max(0, rec.frame_at(start_ns)), min(len(x), rec.frame_at(end_ns))
        if b - a < rec.rate // 10:
            raise LabFault(f"the {route} capture does not cover the stretch asked for", tag="capture-short")
        seg = x[a:b].astype(np.float64)
        if seg.dtype.kind == "i" or np.abs(seg).max(initial=0) > 1.5:
            seg = seg / 32768.0
        return float(20 * np.log10(max(np.sqrt(np.mean(seg**2)), 1e-7)))

    def _time_of(self, route: str) -> Any:
        rec = read_capture(self.rig.wav(route))
        return lambda s: rec.time_of(s * rec.rate)

    # -- uplink at the peer -----------------------------------------------------------------------

    @cached_property
    def uplink(self) -> tuple[Analysis, int] | None:
        """The uplink (arrival axis) against the mouth's probe and the downlink probe, with the lab
        time of its sample 0; None when the peer received nothing."""
        from harness.peer.rtp_log import decode_logs

        c = self.call.call
        if c is None or not c.log_paths:
            return None
        decoded = decode_logs(c.log_paths)
        if len(decoded.arrival) == 0:
            return None
        mono = decoded.arrival[:, 0]
        seconds = len(mono) / decoded.rate + 5.0
        refs = {"mouth": probe(seconds + 60, MOUTH_SEED), "downlink": probe(self._seconds, DOWNLINK_SEED)}
        return analyze(mono, decoded.rate, refs), decoded.origin_ns

    def echo_return_loss_db(self) -> float | None:
        """How far below the downlink its echo in the uplink was (median ERL); None: no echo found."""
        up = self.uplink
        if up is None:
            return None
        for echo in up[0].echo:
            if echo.reference == "downlink" and echo.detected:
                return echo.median_erl_db
        return None

    def uplink_present_s(self) -> float:
        up = self.uplink
        if up is None:
            return 0.0
        return sum(i.end_s - i.start_s for i in up[0].presence.get("mouth", []))

    # -- the peer's sessions and the phone's log --------------------------------------------------

    def peer_sessions(self) -> list[PeerSession]:
        out: dict[str, dict[str, int | None]] = {}
        call = self.call.call
        call_id = call.id if call is not None else None
        for e in self.timeline.events(source="peer"):
            if call_id is not None and e.fields.get("call") not in (None, call_id):
                continue
            key = str(e.fields.get("session", ""))
            if not key:
                continue
            if e.kind == "created":
                out[key] = {"created": e.t_ns, "closed": None, "failed": None}
            elif key in out and e.kind == "closed":
                out[key]["closed"] = e.t_ns
            elif key in out and e.kind == "connection-state" and e.fields.get("state") in BROKEN:
                out[key]["failed"] = out[key]["failed"] or e.t_ns  # consent expiry closes it (aioice)
        return [PeerSession(i, int(v["created"] or 0), v["closed"], v["failed"])
                for i, v in enumerate(sorted(out.values(), key=lambda v: v["created"] or 0))]

    def interruptions(self, bundle: str | None = None) -> list[LoggedInterruption]:
        """Interruptions iOS's audio daemon logged (see harness.ios: the line is to verify on hardware)."""
        out = []
        for e in self.timeline.events(source="device-log"):
            if e.fields.get("process") != self.system_process:
                continue
            m = self.interruption_pattern.search(str(e.fields.get("message", "")))
            if m is None or (bundle is not None and m.group("bundle") != bundle):
                continue
            sr = m.groupdict().get("should_resume")
            out.append(LoggedInterruption(e.t_ns, m.group("type"), m.group("bundle"),
                                          None if sr is None else sr == "1"))
        return out
