"""Probe signals: seeded, band-limited, syllabic-modulated noise that is its own timecode.

Every 10 ms window of a probe is unique (it is fresh pseudo-random noise), so the analyzer can
place any captured window on the reference's timeline with sample accuracy by cross-correlation.
The noise is generated **per 1 s block** from ``(seed, band, rate, block index)``, so any stretch
of an hours-long probe is regenerated directly from its start offset without generating from 0.
Blocks join seamlessly: the band-pass FIR of block *k* runs over the last ``taps - 1`` raw samples
of block *k - 1* (they are regenerated from that block's seed), so the filter sees one endless
white-noise stream.

The level is about -18 dBFS RMS and a smooth 2-6 Hz "syllabic" envelope (a sum of three seeded
sines, never below -14 dB of its peak) keeps noise suppressors from treating the probe as
stationary noise while never going silent: a gap is only detectable where signal was expected.

Bands: ``voice`` is 300-3400 Hz (survives Bluetooth HFP CVSD/mSBC, the earpiece and Opus SILK);
``wide`` is 100 Hz-12 kHz (A2DP), clipped to 45 % of the sample rate.
"""

from __future__ import annotations

import functools
import math

import numpy as np
from scipy import signal as sps

# One seed per signal direction, so one capture can say which signal it holds.
DOWNLINK_SEED = 0x444C  # "DL": what the harness peer sends to the app
MOUTH_SEED = 0x4D54  # "MT": what the lab speaker plays into the phone microphone (uplink)
OTHER_AUDIO_SEED = 0x4F41  # "OA": another app's audio (ducking checks)

BANDS: dict[str, tuple[float, float]] = {"voice": (300.0, 3400.0), "wide": (100.0, 12000.0)}
LEVEL_DBFS = -18.0  # RMS of the whole probe
ENVELOPE_FLOOR_DB = -14.0  # the envelope's minimum relative to its maximum
_ENVELOPE_HZ = ((2.0, 2.8), (3.2, 4.4), (4.6, 6.0))  # one sine drawn from each range
_BAND_CODE = {"voice": 1, "wide": 2}
_U64 = (1 << 64) - 1  # seeds may be any int; SeedSequence wants non-negative


def _check(rate: int, channels: int, band: str) -> None:
    if band not in BANDS:
        raise ValueError(f"band must be one of {sorted(BANDS)}, not {band!r}")
    if channels not in (1, 2):
        raise ValueError(f"channels must be 1 or 2, not {channels}")
    if rate < 8000:
        raise ValueError(f"rate must be at least 8000 Hz, not {rate}")


@functools.lru_cache(maxsize=16)
def _fir(rate: int, band: str) -> np.ndarray:
    """Band-pass FIR normalised so that unit-variance white noise comes out with unit RMS."""
    lo, hi = BANDS[band]
    hi = min(hi, 0.45 * rate)
    taps = int(2 * round(20.0 * rate / 1000.0 / 2)) + 1  # 20 ms, odd: ~150 Hz transition bands
    h = sps.firwin(taps, [lo, hi], pass_zero=False, fs=rate, window=("kaiser", 6.0))
    return (h / np.sqrt(np.sum(h * h))).astype(np.float64)


@functools.lru_cache(maxsize=64)
def _raw_block(seed: int, rate: int, band: str, block: int) -> np.ndarray:
    seq = np.random.SeedSequence([seed & _U64, _BAND_CODE[band], rate, block + 1])  # block -1 exists
    rng = np.random.Generator(np.random.PCG64(seq))
    return rng.standard_normal(rate)


@functools.lru_cache(maxsize=32)
def _band_block(seed: int, rate: int, band: str, block: int) -> np.ndarray:
    """One second of band-limited unit-RMS noise, continuous with the block before it."""
    h = _fir(rate, band)
    prev = _raw_block(seed, rate, band, block - 1)[-(len(h) - 1):]
    x = np.concatenate([prev, _raw_block(seed, rate, band, block)])
    out = sps.oaconvolve(x, h, mode="valid")
    out.flags.writeable = False
    return out


@functools.lru_cache(maxsize=64)
def _envelope_params(seed: int) -> tuple[tuple[float, float], ...]:
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed & _U64, 0xE7])))
    return tuple((float(rng.uniform(lo, hi)), float(rng.uniform(0, 2 * math.pi))) for lo, hi in _ENVELOPE_HZ)


@functools.lru_cache(maxsize=64)
def _envelope_scale(seed: int) -> float:
    """Gain that puts the modulated noise at LEVEL_DBFS RMS (mean of g^2 over 10 minutes)."""
    t = np.arange(0, 600.0, 0.001)
    g = _envelope_gain(seed, t)
    return 10 ** (LEVEL_DBFS / 20) / float(np.sqrt(np.mean(g * g)))


def _envelope_gain(seed: int, t: np.ndarray) -> np.ndarray:
    """Linear envelope in (floor, 1] at absolute probe time ``t`` (seconds); smooth everywhere."""
    s = np.zeros_like(t, dtype=np.float64)
    for f, ph in _envelope_params(seed):
        s += np.sin(2 * math.pi * f * t + ph)
    s /= len(_ENVELOPE_HZ)  # in [-1, 1]
    return 10 ** ((ENVELOPE_FLOOR_DB / 2) * (1 - s) / 20)


def _samples(seed: int, rate: int, band: str, start: int, n: int) -> np.ndarray:
    """Mono probe samples [start, start + n) (sample indices from probe time 0), float64."""
    if n <= 0:
        return np.zeros(0)
    first, last = start // rate, (start + n - 1) // rate
    noise = np.concatenate([_band_block(seed, rate, band, b) for b in range(first, last + 1)])
    off = start - first * rate
    noise = noise[off:off + n]
    t = (start + np.arange(n)) / rate
    out = noise * _envelope_gain(seed, t) * _envelope_scale(seed)
    return np.clip(out, -0.999, 0.999)


def _shape(mono: np.ndarray, channels: int) -> np.ndarray:
    mono = mono.astype(np.float32)
    if channels == 1:
        return mono
    return np.repeat(mono[:, None], channels, axis=1)


def probe(
    seconds: float,
    seed: int,
    rate: int = 48000,
    channels: int = 1,
    band: str = "voice",
    start_s: float = 0.0,
) -> np.ndarray:
    """``seconds`` of the probe for ``seed`` starting at probe time ``start_s``.

    Returns float32, shape ``(n,)`` for mono or ``(n, channels)`` (the same signal on every channel).
    ``probe(a, s)`` followed by ``probe(b, s, start_s=a)`` equals ``probe(a + b, s)`` sample for sample
    when ``a * rate`` is a whole number.
    """
    _check(rate, channels, band)
    if seconds < 0 or start_s < 0:
        raise ValueError("seconds and start_s must not be negative")
    start = round(start_s * rate)
    n = round(seconds * rate)
    return _shape(_samples(seed, rate, band, start, n), channels)


class ProbeStream:
    """Endless probe for streaming (a player callback, a WebRTC source track)."""

    def __init__(self, seed: int, rate: int = 48000, channels: int = 1, band: str = "voice") -> None:
        _check(rate, channels, band)
        self.seed, self.rate, self.channels, self.band = seed, rate, channels, band
        self.position = 0  # samples already read

    def read(self, n: int) -> np.ndarray:
        """The next ``n`` samples (float32, shaped like :func:`probe`)."""
        out = _samples(self.seed, self.rate, self.band, self.position, n)
        self.position += n
        return _shape(out, self.channels)

    def seek(self, sample: int) -> None:
        self.position = int(sample)
