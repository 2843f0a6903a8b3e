from __future__ import annotations

import numpy as np
import pytest

from harness.audio.opus import OpusDecoder, OpusEncoder
from harness.audio.probe import DOWNLINK_SEED, probe


def _ncc(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.dot(a, b) / np.sqrt(np.dot(a, a) * np.dot(b, b)))


@pytest.mark.parametrize(("bitrate", "min_ncc"), [(12000, 0.7), (32000, 0.9), (64000, 0.95)])
def test_round_trip_keeps_the_waveform(bitrate: int, min_ncc: float) -> None:
    x = probe(2.0, DOWNLINK_SEED)
    enc = OpusEncoder(48000, 1, bitrate)
    dec = OpusDecoder(48000, 1)
    y = np.concatenate([dec.decode(p) for p in enc.encode_all(x)])
    seg = slice(24000, 72000)
    best = max(_ncc(x[seg], y[seg.start + k : seg.stop + k]) for k in range(300, 320))
    assert best > min_ncc


def test_lost_packet_is_concealed_with_a_full_frame() -> None:
    enc = OpusEncoder(48000, 2, 32000)
    packets = enc.encode_all(probe(0.2, DOWNLINK_SEED, channels=2))
    dec = OpusDecoder()  # 48 kHz stereo, what a WebRTC peer receives
    frames = [dec.decode(p) for p in packets[:5]] + [dec.decode(None), dec.decode(b"")]
    assert all(f.shape == (960, 2) and f.dtype == np.float32 for f in frames)
    assert np.sqrt(np.mean(frames[5] ** 2)) > 1e-3  # concealment, not silence
    assert dec.decode(packets[7], fec=True).shape == (960, 2)


def test_encoder_reports_lookahead_and_rejects_bad_frames() -> None:
    enc = OpusEncoder(48000, 1, 24000, fec=True, packet_loss_perc=10)
    assert enc.lookahead == 312
    with pytest.raises(ValueError):
        enc.encode(np.zeros(100, dtype=np.float32))
    with pytest.raises(ValueError):
        OpusDecoder(44100, 1)
