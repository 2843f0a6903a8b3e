"""What a test's artifacts folder shows, read back for the report.

The folder holds ``timeline.jsonl`` (every event on the lab clock), ``audio/<route>.flac`` (or
``.wav``, see :func:`harness.audio.capture.capture_file`) with their timing sidecars (one capture
per output route of the DUT; ``audio-excerpts/`` instead when a passing test's audio was pruned,
:mod:`harness.report.prune`), ``peer/<call>/`` (uplink WAVs, RTP
logs), per phone folders with screenshots and page sources saved by recipes, and, written by the
report, ``device-log.txt``. Here they become lanes for the timeline plot: where the downlink probe
was heard per route (the analyzer on each capture, mapped onto the lab clock), gap bands (no route
carried it), level envelopes, and the files to link.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from harness.audio.capture import CAPTURE_SUFFIXES, is_capture
from harness.timeline import Event, read_events

LEVEL_WINDOW_S = 0.02
LEVEL_FLOOR_DB = -100.0
MIN_GAP_S = 0.2  # shorter breaks in the union of routes are not drawn as gap bands
OPEN_GAP_S = 1.0  # silence this long at the end of the captures is a gap that never closed
EXCERPTS_DIR = "audio-excerpts"  # a pruned test's route captures, cut around each interruption


@dataclass
class RouteCapture:
    route: str
    wav: Path
    rate: int
    t0_ns: int
    duration_s: float
    presence: list[tuple[int, int]] = field(default_factory=list)  # downlink heard, lab-clock ns
    level_t_ns: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    level_db: np.ndarray = field(default_factory=lambda: np.zeros(0))
    error: str = ""
    analysed_by: str = ""
    """Whose analysis ``presence`` comes from: ``verdict`` (the test's analysis file) or ``report``."""

    @property
    def end_ns(self) -> int:
        return self.t0_ns + int(self.duration_s * 1e9)


@dataclass
class ArtifactFolder:
    dir: Path
    events: list[Event]
    captures: list[RouteCapture]
    files: dict[str, list[Path]]  # audio, peer, screenshots, logs, other
    phones: dict[str, str]  # udid -> name

    @property
    def start_ns(self) -> int:
        anchor = next((e for e in self.events if e.kind == "clock-anchor"), None)
        times = [e.t_ns for e in self.events] + [c.t0_ns for c in self.captures]
        return anchor.t_ns if anchor is not None else min(times, default=0)

    @property
    def end_ns(self) -> int:
        times = [e.t_ns for e in self.events] + [c.end_ns for c in self.captures]
        return max(times, default=self.start_ns + 1)

    def gap_bands(self, min_s: float = MIN_GAP_S) -> list[tuple[int, int]]:
        """Where no route carried the downlink, between its first and last presence."""
        spans = sorted(s for c in self.captures for s in c.presence)
        if not spans:
            return []
        merged: list[list[int]] = [list(spans[0])]
        for a, b in spans[1:]:
            if a <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], b)
            else:
                merged.append([a, b])
        bands = [(merged[i][1], merged[i + 1][0]) for i in range(len(merged) - 1)
                 if merged[i + 1][0] - merged[i][1] >= min_s * 1e9]
        end = max((c.end_ns for c in self.captures if c.presence), default=merged[-1][1])
        if end - merged[-1][1] >= max(min_s, OPEN_GAP_S) * 1e9:  # it never came back
            bands.append((merged[-1][1], end))
        return bands

    def interruption_windows(self, before_s: float = 2.0, after_s: float = 3.0,
                             limit: int = 6) -> list[tuple[int, int]]:
        """Windows for level plots: around each gap band, else around the marks."""
        points = self.gap_bands() or [(e.t_ns, e.t_ns) for e in self.events if e.source == "mark"]
        windows: list[list[int]] = []
        for a, b in sorted(points):
            lo, hi = a - int(before_s * 1e9), b + int(after_s * 1e9)
            if windows and lo <= windows[-1][1]:
                windows[-1][1] = max(windows[-1][1], hi)
            else:
                windows.append([lo, hi])
        return [(max(a, self.start_ns), min(b, self.end_ns)) for a, b in windows[:limit]]


def gather(folder: str | Path, phones: dict[str, str] | None = None,
           analyze_routes: bool = True) -> ArtifactFolder:
    """Read a test's artifacts folder (a missing or partial folder gives what is there)."""
    folder = Path(folder)
    timeline = folder / "timeline.jsonl"
    events = sorted(read_events(timeline), key=lambda e: e.t_ns) if timeline.is_file() else []
    files = list_files(folder)
    captures = [_route_capture(p) for p in files["audio"]]
    if analyze_routes:
        _downlink_presence(captures, events)
    names = dict(phones or {})
    for e in events:  # the phone layer names phones; the device log names udids
        if e.source == "device-log" and "udid" in e.fields:
            names.setdefault(str(e.fields["udid"]), str(e.fields["udid"])[:8])
    return ArtifactFolder(folder, events, captures, files, names)


def list_files(folder: Path) -> dict[str, list[Path]]:
    files: dict[str, list[Path]] = {"audio": [], "excerpts": [], "peer": [], "screenshots": [], "logs": [],
                                    "other": []}
    if not folder.is_dir():
        return files
    for p in sorted(folder.rglob("*")):
        if not p.is_file() or p.name.endswith((".tmp", ".timing.jsonl")):
            continue
        rel = p.relative_to(folder)
        timed = p.suffix in CAPTURE_SUFFIXES and Path(str(p) + ".timing.jsonl").is_file()
        if timed and not is_capture(p):
            continue  # a WAV whose FLAC copy is complete (a crash between the two): the FLAC is listed
        if rel.parts[0] == "audio" and timed:
            files["audio"].append(p)
        elif rel.parts[0] == EXCERPTS_DIR and p.suffix in CAPTURE_SUFFIXES:
            files["excerpts"].append(p)
        elif rel.parts[0] == "peer":
            files["peer"].append(p)
        elif p.suffix in (".png", ".jpg"):
            files["screenshots"].append(p)
        elif p.suffix in (".log", ".txt", ".jsonl", ".xml"):
            files["logs"].append(p)
        else:
            files["other"].append(p)
    return files


def _route_capture(wav: Path) -> RouteCapture:
    from harness.audio.capture import read_capture

    route = wav.stem
    try:
        rec = read_capture(wav)
        samples = rec.mono
        t0 = rec.t0_ns if rec.anchors else 0
    except Exception as exc:  # a torn or foreign file: show it, plot nothing
        return RouteCapture(route, wav, 48000, 0, 0.0, error=f"unreadable: {exc}")
    cap = RouteCapture(route, wav, rec.rate, t0, len(samples) / rec.rate)
    if not rec.anchors:
        cap.error = "no clock anchor (the capture never started)"
        return cap
    hop = max(1, int(LEVEL_WINDOW_S * rec.rate))
    n = len(samples) // hop
    if n:
        blocks = samples[: n * hop].astype(np.float64).reshape(n, hop)
        rms = np.sqrt(np.mean(blocks * blocks, axis=1))
        cap.level_db = np.maximum(20 * np.log10(np.maximum(rms, 1e-10)), LEVEL_FLOOR_DB)
        frames = np.arange(n) * hop + hop // 2
        cap.level_t_ns = np.array([rec.clock.time_of(float(f)) for f in frames], dtype=np.int64)
    cap._samples = samples  # type: ignore[attr-defined]  # kept for the presence analysis
    cap._rec = rec  # type: ignore[attr-defined]
    return cap


def _downlink_presence(captures: list[RouteCapture], events: list[Event]) -> None:
    """Where the downlink was heard per capture: from the analysis file the verdict wrote beside it
    (so the plot shows what the verdict judged), or, for folders without one (``watch``, runs from
    before analysis files), by analysing the capture now."""
    from harness.audio.rig import read_presence

    unread: list[RouteCapture] = []
    for cap in captures:
        presence = read_presence(cap.wav)
        if presence is None:
            unread.append(cap)
        else:
            cap.presence = [(s.start_ns, s.end_ns) for s in presence.get("downlink", [])]
            cap.analysed_by = "verdict"
    if unread:
        _analyse_presence(unread, events)
    for cap in captures:
        for attr in ("_samples", "_rec"):
            if hasattr(cap, attr):
                delattr(cap, attr)


def _analyse_presence(captures: list[RouteCapture], events: list[Event]) -> None:
    from harness.audio.analyze import analyze
    from harness.audio.probe import DOWNLINK_SEED, probe

    downlinks = [e for e in events if e.source == "peer" and e.kind == "downlink"]
    if not downlinks:
        return
    seed = int(downlinks[0].fields.get("seed", DOWNLINK_SEED))
    origin = min(int(e.fields.get("origin_ns", e.t_ns)) for e in downlinks)
    ref_cache: dict[int, np.ndarray] = {}
    for cap in captures:
        samples = getattr(cap, "_samples", None)
        rec = getattr(cap, "_rec", None)
        if samples is None or rec is None or cap.error or len(samples) < rec.rate:
            continue
        seconds = max(cap.end_ns - origin, 0) / 1e9 + cap.duration_s + 5.0
        if rec.rate not in ref_cache or len(ref_cache[rec.rate]) < seconds * rec.rate:
            ref_cache[rec.rate] = probe(seconds, seed, rate=rec.rate)
        try:
            result = analyze(samples, rec.rate, {"downlink": ref_cache[rec.rate]}, echo=False)
        except ValueError as exc:
            cap.error = f"not analysed: {exc}"
            continue
        cap.presence = [(rec.clock.time_of_s(i.start_s), rec.clock.time_of_s(i.end_s))
                        for i in result.presence.get("downlink", [])]
        cap.analysed_by = "report"


def device_log_lines(events: list[Event], phones: dict[str, str], start_ns: int,
                     window: tuple[int, int] | None = None) -> list[str]:
    """The device log as text lines, times in seconds from ``start_ns`` (optionally a window only)."""
    out = []
    for e in events:
        if e.source != "device-log" or e.kind not in ("log", "app-event", "stream-lost", "stream-started",
                                                      "stream-stopped"):
            continue
        if window is not None and not window[0] <= e.t_ns <= window[1]:
            continue
        f = e.fields
        who = phones.get(str(f.get("udid", "")), str(f.get("udid", ""))[:8])
        if e.kind in ("log", "app-event"):
            text = (f"{f.get('process', '?')}[{f.get('pid', '?')}] {f.get('subsystem', '')}:"
                    f"{f.get('category', '')} {f.get('level', '')}: {f.get('message', '')}")
        else:
            text = f"-- {e.kind} " + json.dumps({k: v for k, v in f.items() if k != "udid"}, default=str)
        out.append(f"{(e.t_ns - start_ns) / 1e9:+10.3f}s  {who:<18} {text}")
    return out


def summarize_events(events: list[Event]) -> dict[str, Any]:
    kinds: dict[str, int] = {}
    for e in events:
        key = f"{e.source}/{e.kind}"
        kinds[key] = kinds.get(key, 0) + 1
    return kinds
