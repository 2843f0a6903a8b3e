"""A phone's audio rig during a test: the mouth playing into its microphone, the route captures,
and the capture chain's reference channel, with the probe's presence in each capture on the lab clock.

The rig is described by the lab file (``Lab.audio_for(device)``): the same code records a USB
interface in a hardware lab and the virtual lab's PulseAudio devices. Routes that share a device
are recorded as one multichannel stream (one clock, cheaper than a stream per route), opened with
the device's full width and split into ``<out_dir>/<route>.wav`` as it comes; the whole stream,
reference channel included, goes to ``<out_dir>-chain/<device>.wav``.

The reference (a pilot wired into an input of the interface, or the mouth looped back) tells a
dropout of the capture chain from an app's gap: a route channel silent while the reference plays is
the app's; both silent is the lab's (:meth:`AudioRig.capture_fault`, LabFault tags
``capture-dropout`` and ``capture-silent``).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from harness.audio.analyze import Analysis, analyze
from harness.audio.capture import Capture, CaptureClock, Recording, read_capture, reference_gaps
from harness.audio.player import Player, play_probe
from harness.audio.probe import MOUTH_SEED, probe
from harness.errors import LabFault, UsageError
from harness.naming import safe_name
from harness.timeline import Span, Timeline

REFERENCE = "reference"
ANALYSIS_SUFFIX = ".analysis.json"


def analysis_path(wav: Path) -> Path:
    """Where a route capture's analysis is kept, beside it: ``audio/<route>.wav`` ->
    ``audio/<route>.analysis.json`` (written by the evidence, read by the report)."""
    return wav.with_name(wav.stem + ANALYSIS_SUFFIX)


def apply_env(env: dict[str, str]) -> None:
    """Make this process able to open the rig's devices (the virtual lab's PulseAudio client env)."""
    if env:
        os.environ.update(env)


@dataclass
class RouteAnalysis:
    """One route's capture analysed against the probes, with the clock that maps it to the lab."""

    route: str
    analysis: Analysis
    clock: CaptureClock
    presence: dict[str, list[Span]] = field(default_factory=dict)
    """Per reference: where it was present, on the lab clock."""
    recording: Recording | None = None
    """The capture as read for this analysis (None when rebuilt from an analysis file)."""

    def to_dict(self) -> dict[str, Any]:
        """The analysis file's content (``<route>.analysis.json`` beside the capture)."""
        return {"route": self.route, "clock": self.clock.to_dict(),
                "presence_ns": {k: [[s.start_ns, s.end_ns] for s in v] for k, v in self.presence.items()},
                "analysis": self.analysis.to_dict()}


def read_presence(wav: Path) -> dict[str, list[Span]] | None:
    """Per reference, where the probe was heard in ``wav``'s capture, from its analysis file (None:
    the capture was never analysed by a verdict)."""
    path = analysis_path(wav)
    if not path.is_file():
        return None
    data = json.loads(path.read_text())
    return {k: [Span(int(a), int(b)) for a, b in v] for k, v in data["presence_ns"].items()}


@dataclass(frozen=True)
class ChainGap:
    """A stretch where the capture chain itself delivered nothing (``dead``) or lost/added frames
    (``discontinuity``, zero length), on the lab clock. ``open_ended``: still dead at the end of
    the recording (the chain went silent)."""

    span: Span
    kind: str
    open_ended: bool = False


@dataclass
class _Stream:
    device: str
    width: int
    names: list[str]
    split: dict[str, int]
    path: Path
    capture: Capture | None = None


class AudioRig:
    def __init__(self, audio: Any, out_dir: str | Path, timeline: Timeline | None = None,
                 routes: list[str] | None = None, sample_format: str = "int16") -> None:
        self.audio = audio
        self.out_dir = Path(out_dir)
        self.chain_dir = self.out_dir.parent / f"{self.out_dir.name}-chain"
        self.timeline = timeline
        self.routes = [r for r in (routes or list(audio.capture)) if r in audio.capture]
        self.sample_format = sample_format
        self.mouth: Player | None = None
        self.reference = getattr(audio, "reference", None)
        self.streams = self._plan()
        self.captures: dict[str, Capture] = {}
        """Per device: its open capture."""

    def _plan(self) -> dict[str, _Stream]:
        ports = [(r, self.audio.capture[r]) for r in self.routes]
        if self.reference is not None:
            ports.append((REFERENCE, self.reference))
        by_device: dict[str, list[tuple[str, int]]] = {}
        for name, port in ports:
            by_device.setdefault(port.device, []).append((name, port.channel))
        streams: dict[str, _Stream] = {}
        for device, chans in by_device.items():
            width_of = getattr(self.audio, "width", None)
            width = width_of(device) if width_of is not None else max(c for _, c in chans) + 1
            width = max(width, max(c for _, c in chans) + 1)
            names = [f"ch{i}" for i in range(width)]
            for name, ch in chans:
                names[ch] = name
            split = {name: ch for name, ch in chans if name != REFERENCE}
            if width == 1 and len(split) == 1:  # one route on its own mono device: no split needed
                path, split = self.out_dir / f"{chans[0][0]}.wav", {}
            else:
                path = self.chain_dir / f"{safe_name(device, 'device')}.wav"
            streams[device] = _Stream(device, width, names, split, path)
        return streams

    def open(self, timeout: float = 20.0) -> AudioRig:
        apply_env(self.audio.env)
        if self.audio.mouth is not None:
            self.mouth = play_probe(self.audio.mouth.device, MOUTH_SEED, timeline=self.timeline, name="mouth")
        try:
            for device, st in self.streams.items():
                st.capture = Capture(
                    device, st.path, timeline=self.timeline, name=st.path.stem, channels=st.width,
                    channel_names=st.names, sample_format=self.sample_format, split=st.split,
                    split_dir=self.out_dir,
                )
                self.captures[device] = st.capture
                st.capture.open()
            for cap in self.captures.values():
                cap.wait_flowing(timeout)  # anchors come within seconds; read_capture needs them
        except BaseException:
            self.close()
            raise
        return self

    def close(self) -> None:
        for cap in self.captures.values():
            cap.close()
        if self.mouth is not None:
            self.mouth.close()
            self.mouth = None

    def __enter__(self) -> AudioRig:
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- routes -----------------------------------------------------------------------------------

    def wav(self, route: str) -> Path:
        if route not in self.routes:
            raise UsageError(f"the rig records no route {route!r}; its routes: {self.routes}")
        return self.out_dir / f"{route}.wav"

    def capture_for(self, route: str) -> Capture | None:
        """The open capture stream that records ``route`` (None before :meth:`open`)."""
        return self.captures.get(self.audio.capture[route].device)

    def _anchored(self, timeout: float = 15.0) -> None:
        """Captures still recording must have their first clock anchor before they are read."""
        for cap in self.captures.values():
            if cap.recording:
                cap.wait_started(timeout)

    def analyze(self, route: str, references: dict[str, np.ndarray]) -> RouteAnalysis:
        """Analyze one route's capture (as recorded so far) against ``references``."""
        self._anchored()
        rec = read_capture(self.wav(route))
        result = analyze(rec.mono, rec.rate, references)
        clock = rec.clock
        presence = {name: [Span(clock.time_of_s(i.start_s), clock.time_of_s(i.end_s)) for i in spans]
                    for name, spans in result.presence.items()}
        return RouteAnalysis(route, result, clock, presence, rec)

    # -- the capture chain ------------------------------------------------------------------------

    @property
    def has_reference(self) -> bool:
        return self.reference is not None

    def reference_gaps(self, start_ns: int | None = None, end_ns: int | None = None) -> list[ChainGap]:
        """Where the capture chain's reference was dead or broken (as recorded so far), on the lab
        clock, optionally only those touching ``start_ns``..``end_ns``. Empty without a reference."""
        if self.reference is None:
            return []
        st = self.streams[self.reference.device]
        self._anchored()
        rec = read_capture(st.path)
        ref = rec.channel(REFERENCE)
        gaps = reference_gaps(ref, rec.rate, self.reference.signal, self.reference.pilot_hz)
        out = [ChainGap(Span(rec.time_of(g.start_frame), rec.time_of(g.end_frame)), g.kind, g.open_ended)
               for g in gaps]
        lo = start_ns if start_ns is not None else -(2**63)
        hi = end_ns if end_ns is not None else 2**63
        return [g for g in out if g.span.end_ns >= lo and g.span.start_ns <= hi]

    def capture_fault(self, start_ns: int | None = None, end_ns: int | None = None) -> LabFault | None:
        """Did the capture chain drop out between ``start_ns`` and ``end_ns``? The LabFault to raise
        (``capture-silent`` when the reference went dead and stayed so to the end of the recording,
        else ``capture-dropout``), or None when it played throughout (or the rig has no reference:
        nothing to tell by)."""
        gaps = self.reference_gaps(start_ns, end_ns)
        if not gaps:
            return None
        silent = [g for g in gaps if g.open_ended]
        if silent:
            since = silent[0].span.start_ns
            return LabFault(f"the capture chain has delivered silence since {since} ns (lab clock): the "
                            "reference channel is dead too: the routes' silence says nothing about the app",
                            tag="capture-silent")
        where = ", ".join(f"{g.kind} {g.span.seconds * 1e3:.0f} ms" for g in gaps[:5])
        return LabFault(f"the capture chain dropped out ({where}): the reference channel broke too, so "
                        "gaps there are the lab's, not the app's", tag="capture-dropout")

    def check_capture(self, start_ns: int | None = None, end_ns: int | None = None) -> None:
        """Raise :meth:`capture_fault`'s LabFault if the capture chain dropped out in the window."""
        fault = self.capture_fault(start_ns, end_ns)
        if fault is not None:
            raise fault


def downlink_reference(seconds: float, seed: int, rate: int = 48000) -> np.ndarray:
    """The peer's downlink probe from its sample 0, long enough to cover a capture."""
    return probe(seconds, seed, rate=rate)
