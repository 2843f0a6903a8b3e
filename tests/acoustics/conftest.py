"""Each test that needs audio starts its own PulseAudio server in its temp dir and stops it."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from harness.audio.pulse import PulseServer
from harness.timeline import Timeline

RATE = 48000


@pytest.fixture
def timeline(tmp_path: Path) -> Iterator[Timeline]:
    tl = Timeline(tmp_path / "timeline.jsonl")
    yield tl
    tl.close()


@pytest.fixture
def pulse(tmp_path: Path, timeline: Timeline) -> Iterator[PulseServer]:
    server = PulseServer(tmp_path / "pulse", timeline=timeline).start()
    server.activate()
    try:
        yield server
    finally:
        pid = server.pid
        server.stop()
        assert pid is not None
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)  # stopped, and reaped


def seeded_noise(seconds: float, seed: int, level: float = 0.1) -> np.ndarray:
    """Our own test signal (white noise, float32): every window is unique."""
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(round(seconds * RATE)) * level).astype(np.float32)


def locate(capture: np.ndarray, needle: np.ndarray, around: int | None = None, span: int = RATE) -> int:
    """Frame of ``capture`` where ``needle`` starts (FFT cross-correlation, optionally near ``around``)."""
    from scipy import signal as sps

    lo = 0 if around is None else max(0, around - span)
    hi = len(capture) if around is None else min(len(capture), around + span + len(needle))
    seg = capture[lo:hi]
    corr = sps.correlate(seg, needle, mode="valid", method="fft")
    return lo + int(np.argmax(np.abs(corr)))
