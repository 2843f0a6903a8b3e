"""What a real lab has to judge an app: route captures, the peer's packets, the phone's log.

:class:`Evidence` reads them after a scenario and answers in lab-clock terms: where the downlink
probe played on each route and at what level, what came back on the uplink (and how much of the
downlink's echo rode along), how loud other audio was on a route, which WHIP sessions the app
opened, and which interruptions iOS's audio daemon logged. Nothing here reads the app's own log,
so every verdict holds with the app's logging off.

Before its first answer, evidence stops the recording and checks the capture chain: a dropout (the
reference channel went dead too) is the lab's fault, raised there, before any verdict could blame
the app for the gap; a scenario need not remember to. It then analyses every route once and writes
each analysis beside its capture (``audio/<route>.analysis.json``; the uplink's as
``peer/uplink.analysis.json``): the report draws its plots from those files, so a plot never
disagrees with the verdict it illustrates.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from harness.audio.analyze import Analysis, analyze
from harness.audio.probe import DOWNLINK_SEED, MOUTH_SEED, probe
from harness.audio.rig import AudioRig, RouteAnalysis, analysis_path
from harness.errors import LabFault
from harness.lab.schema import SystemLog
from harness.timeline import Event, Span, Timeline
from harness.verdicts.system_log import INTERRUPTION_LOG_PATTERN, AppIdentity

if TYPE_CHECKING:
    from harness.session import LabCall

MIN_SEGMENT_S = 0.3
BROKEN = ("failed", "closed")
UPLINK_ANALYSIS = "uplink.analysis.json"

@dataclass(frozen=True)
class Level:
    """The downlink's level on a route over a stretch: capture RMS relative to the probe's RMS."""

    db: float
    seconds: float


@dataclass(frozen=True)
class LoggedInterruption:
    t_ns: int
    type: str  # began | ended
    should_resume: bool | None


@dataclass(frozen=True)
class PeerSession:
    index: int
    created_ns: int
    closed_ns: int | None
    failed_ns: int | None
    """When the connection broke (failed, or closed by an ICE consent expiry or a hang-up)."""


class Evidence:
    def __init__(self, rig: AudioRig, call: LabCall, timeline: Timeline, *,
                 record: Callable[[str, Any], None] | None = None,
                 system_log: SystemLog | None = None,
                 app: Callable[[], AppIdentity] = AppIdentity) -> None:
        self.rig = rig
        self.call = call
        self.timeline = timeline
        self._record = record
        self.system_log = system_log or SystemLog()
        """The lab's system_log: the audio daemon's pattern and whether this lab verified it."""
        self.interruption_pattern = re.compile(self.system_log.interruption_pattern
                                               or INTERRUPTION_LOG_PATTERN)
        self._app = app
        self._routes: dict[str, RouteAnalysis] = {}
        self._closed = False

    def record(self, name: str, value: Any) -> None:
        """A measurement for the report and JUnit (pytest's ``record_property`` in a scenario)."""
        if self._record is not None:
            self._record(name, value)

    def close(self) -> None:
        """Stop recording, then check the capture chain (a LabFault if it dropped out), then analyse
        every route once and write the analysis files. Every query does this first by itself."""
        if self._closed:
            return
        self._closed = True
        self.rig.close()
        self.rig.check_capture()
        for route in self.rig.routes:
            ra = self._analyse(route)
            analysis_path(self.rig.wav(route)).write_text(json.dumps(ra.to_dict()))

    @cached_property
    def _seconds(self) -> float:
        return (self.timeline.now() - self.call.created_ns) / 1e9 + 5.0

    # -- downlink on each route -------------------------------------------------------------------

    def _analyse(self, route: str) -> RouteAnalysis:
        if route not in self._routes:
            reference = {"downlink": probe(self._seconds, DOWNLINK_SEED)}
            self._routes[route] = self.rig.analyze(route, reference)
        return self._routes[route]

    def route(self, route: str) -> RouteAnalysis:
        """The route's analysis against the downlink probe."""
        self.close()
        return self._analyse(route)

    def downlink(self, route: str) -> list[Span]:
        """Where the downlink probe was heard on ``route``, on the lab clock."""
        return self.route(route).presence.get("downlink", [])

    def routes_playing(self, during: Span, min_s: float = 0.3) -> list[str]:
        """The routes on which the downlink played at least ``min_s`` during a stretch."""
        return [r for r in self.rig.routes
                if sum(s.overlap_s(during.start_ns, during.end_ns) for s in self.downlink(r)) >= min_s]

    def level(self, route: str, during: Span) -> Level | None:
        """The downlink's level on ``route`` during a stretch (None: not heard there)."""
        ra = self.route(route)
        weights, levels = [], []
        for seg in ra.analysis.segments:
            if seg.reference != "downlink" or seg.end_s - seg.start_s < MIN_SEGMENT_S:
                continue
            span = Span(ra.clock.time_of_s(seg.start_s), ra.clock.time_of_s(seg.end_s))
            overlap = span.overlap_s(during.start_ns, during.end_ns)
            if overlap > 0:
                weights.append(overlap)
                levels.append(seg.level_db)
        if not weights:
            return None
        return Level(float(np.average(levels, weights=weights)), float(sum(weights)))

    def rms_dbfs(self, route: str, during: Span) -> float:
        """Everything on ``route`` during a stretch (other apps' audio included), in dBFS."""
        ra = self.route(route)
        rec = ra.recording
        assert rec is not None  # evidence analyses its own captures
        x = rec.mono
        a, b = max(0, ra.clock.frame_at(during.start_ns)), min(len(x), ra.clock.frame_at(during.end_ns))
        if b - a < rec.rate // 10:
            raise LabFault(f"the {route} capture does not cover the stretch asked for", tag="capture-short")
        seg = x[a:b].astype(np.float64)
        return float(20 * np.log10(max(np.sqrt(np.mean(seg**2)), 1e-7)))

    # -- uplink at the peer -----------------------------------------------------------------------

    @cached_property
    def uplink(self) -> tuple[Analysis, int] | None:
        """The uplink (arrival axis) against the mouth's probe and the downlink probe, with the lab
        time of its sample 0; None when the peer received nothing."""
        from harness.peer.rtp_log import decode_logs

        self.close()
        c = self.call.stitched
        if c is None or not c.log_paths:
            return None
        decoded = decode_logs(c.log_paths)
        if len(decoded.arrival) == 0:
            return None
        mono = decoded.arrival[:, 0]
        seconds = len(mono) / decoded.rate + 5.0
        refs = {"mouth": probe(seconds + 60, MOUTH_SEED), "downlink": probe(self._seconds, DOWNLINK_SEED)}
        result = analyze(mono, decoded.rate, refs)
        folder = Path(c.log_paths[0]).parent
        (folder / UPLINK_ANALYSIS).write_text(json.dumps({"origin_ns": decoded.origin_ns,
                                                          "analysis": result.to_dict()}))
        return result, decoded.origin_ns

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
        self.close()
        out: dict[str, dict[str, int | None]] = {}
        call = self.call.stitched
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

    def interruptions(self) -> list[LoggedInterruption]:
        """Interruptions iOS's audio daemon logged for the app under test (the lab's system_log
        pattern; see ``system_log.verified`` before trusting an empty answer)."""
        self.close()
        app = self._app()
        out = []
        for e in self.timeline.events(source="device-log"):
            if e.fields.get("process") != self.system_log.audio_process:
                continue
            m = self.interruption_pattern.search(str(e.fields.get("message", "")))
            if m is None or not app.named_by(m):
                continue
            sr = m.groupdict().get("should_resume")
            out.append(LoggedInterruption(e.t_ns, m.group("type"), None if sr is None else sr == "1"))
        return out

    def call_held(self, after_ns: int) -> Event | None:
        """The first line after ``after_ns`` that says iOS still holds a declined call (Live Voicemail
        answering it: the lab's ``system_log.call_held_pattern``), or None."""
        pattern = self.system_log.call_held_pattern
        if pattern is None:
            return None
        held = re.compile(pattern)
        self.close()
        return next((e for e in self.timeline.events(source="device-log")
                     if e.t_ns >= after_ns and held.search(str(e.fields.get("message", "")))), None)

    def expect_call_released(self, declined_ns: int) -> None:
        """Before the app is judged on its resume after a declined call: if iOS kept the call (Live
        Voicemail answered it), the missing resume is the lab's, never the app's."""
        held = self.call_held(declined_ns)
        if held is not None:
            raise LabFault(f"iOS kept the declined call ({held.fields.get('process')}: "
                           f"{str(held.fields.get('message', ''))[:160]!r}), so the app could not resume: "
                           "Live Voicemail answers declined calls; turn it off on the DUT (Settings > Apps > "
                           "Phone > Live Voicemail; harness doctor lists it)", tag="call-held")
