"""The probe: deterministic, seamless across blocks and offsets, at level, band-limited, never silent."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import signal as sps

from harness.audio.probe import DOWNLINK_SEED, MOUTH_SEED, OTHER_AUDIO_SEED, ProbeStream, probe


def test_same_seed_same_signal_and_seeds_differ() -> None:
    a = probe(2.0, DOWNLINK_SEED)
    assert np.array_equal(a, probe(2.0, DOWNLINK_SEED))
    assert len({DOWNLINK_SEED, MOUTH_SEED, OTHER_AUDIO_SEED}) == 3
    b = probe(2.0, MOUTH_SEED)
    assert abs(np.corrcoef(a, b)[0, 1]) < 0.05


@pytest.mark.parametrize("split_s", [0.3, 1.0, 2.37])
def test_any_start_offset_regenerates_the_same_samples(split_s: float) -> None:
    whole = probe(4.0, DOWNLINK_SEED)
    head = probe(split_s, DOWNLINK_SEED)
    tail = probe(4.0 - split_s, DOWNLINK_SEED, start_s=split_s)
    assert np.array_equal(np.concatenate([head, tail]), whole)


def test_stream_reads_match_probe_and_stereo_is_the_same_on_both_channels() -> None:
    s = ProbeStream(MOUTH_SEED, channels=2)
    got = np.concatenate([s.read(n) for n in (1, 479, 48000, 333, 50000)])
    want = probe(len(got) / 48000, MOUTH_SEED)
    assert got.shape == (len(want), 2)
    assert np.array_equal(got[:, 0], want) and np.array_equal(got[:, 1], want)


def test_seamless_across_one_second_blocks() -> None:
    x = probe(3.0, DOWNLINK_SEED).astype(np.float64)
    d = np.abs(np.diff(x))
    # the step across a block edge is no bigger than typical steps nearby
    for edge in (48000, 96000):
        assert d[edge - 2 : edge + 2].max() < 5 * d[edge - 2000 : edge + 2000].std() + d.mean()


def test_level_band_and_envelope() -> None:
    x = probe(20.0, DOWNLINK_SEED).astype(np.float64)
    assert 20 * np.log10(np.sqrt(np.mean(x * x))) == pytest.approx(-18.0, abs=0.5)
    f, p = sps.welch(x, 48000, nperseg=8192)
    inband = p[(f > 400) & (f < 3300)].mean()
    assert p[(f < 150)].max() < inband * 1e-3
    assert p[(f > 3700)].max() < inband * 1e-3
    rms10 = np.sqrt((x[: len(x) // 480 * 480].reshape(-1, 480) ** 2).mean(axis=1))
    assert 20 * np.log10(rms10.min() / rms10.max()) > -30  # never silent


def test_every_10ms_window_is_unique() -> None:
    x = probe(30.0, OTHER_AUDIO_SEED, rate=8000).astype(np.float64)
    rng = np.random.default_rng(1)
    w = 80
    starts = rng.integers(0, len(x) - w, size=200)
    wins = np.stack([x[s : s + w] for s in starts])
    wins /= np.linalg.norm(wins, axis=1, keepdims=True)
    c = np.abs(wins @ wins.T)
    np.fill_diagonal(c, 0)
    same = np.abs(starts[:, None] - starts[None, :]) < w
    assert c[~same].max() < 0.7


def test_wide_band_and_other_rates() -> None:
    w = probe(2.0, DOWNLINK_SEED, rate=16000, band="wide")
    f, p = sps.welch(w.astype(np.float64), 16000, nperseg=2048)
    assert p[(f > 5000) & (f < 7000)].mean() > 0.1 * p[(f > 500) & (f < 3000)].mean()
    assert probe(1.0, DOWNLINK_SEED, rate=44100).shape == (44100,)
    with pytest.raises(ValueError):
        probe(1.0, DOWNLINK_SEED, band="fm")
