"""A phone's audio rig during a test: the mouth playing into its microphone, and one capture per
output route, with the probe's presence in each capture mapped onto the lab clock.

The rig is described by the lab file (``Lab.audio_for(device)``): the same code records a USB
interface in a hardware lab and the virtual lab's PulseAudio monitors.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from harness.audio.analyze import Analysis, analyze
from harness.audio.capture import CaptureSet, read_capture
from harness.audio.player import Player, play_probe
from harness.audio.probe import MOUTH_SEED, probe
from harness.timeline import Span, Timeline


def apply_env(env: dict[str, str]) -> None:
    """Make this process able to open the rig's devices (the virtual lab's PulseAudio client env)."""
    if env:
        os.environ.update(env)


@dataclass
class RouteAnalysis:
    route: str
    analysis: Analysis
    presence: dict[str, list[Span]] = field(default_factory=dict)
    """Per reference: where it was present, on the lab clock."""


class AudioRig:
    def __init__(self, audio: Any, out_dir: str | Path, timeline: Timeline | None = None,
                 routes: list[str] | None = None) -> None:
        self.audio = audio
        self.out_dir = Path(out_dir)
        self.timeline = timeline
        self.routes = [r for r in (routes or list(audio.capture)) if r in audio.capture]
        self.mouth: Player | None = None
        self.captures: CaptureSet | None = None

    def open(self, timeout: float = 20.0) -> AudioRig:
        apply_env(self.audio.env)
        if self.audio.mouth is not None:
            self.mouth = play_probe(self.audio.mouth.device, MOUTH_SEED, timeline=self.timeline, name="mouth")
        devices = {route: self.audio.capture[route].device for route in self.routes}
        try:
            self.captures = CaptureSet(devices, self.out_dir, timeline=self.timeline).open(timeout)
        except BaseException:
            self.close()
            raise
        return self

    def close(self) -> None:
        if self.captures is not None:
            self.captures.close()
        if self.mouth is not None:
            self.mouth.close()
            self.mouth = None

    def __enter__(self) -> AudioRig:
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def wav(self, route: str) -> Path:
        return self.out_dir / f"{route}.wav"

    def analyze(self, route: str, references: dict[str, np.ndarray]) -> RouteAnalysis:
        """Analyze one route's capture (as recorded so far) against ``references``."""
        rec = read_capture(self.wav(route))
        samples = rec.samples if rec.samples.ndim == 1 else rec.samples[:, 0]
        result = analyze(samples, rec.rate, references)
        presence = {
            name: [Span(rec.time_of(i.start_s * rec.rate), rec.time_of(i.end_s * rec.rate)) for i in spans]
            for name, spans in result.presence.items()
        }
        return RouteAnalysis(route, result, presence)


def downlink_reference(seconds: float, seed: int, rate: int = 48000) -> np.ndarray:
    """The peer's downlink probe from its sample 0, long enough to cover a capture."""
    return probe(seconds, seed, rate=rate)
