from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from harness.audio.probe import DOWNLINK_SEED, probe
from harness.audio.wav import read_wav, write_wav
from harness.errors import UsageError


def test_round_trip_mono_stereo_and_float(tmp_path: Path) -> None:
    x = probe(0.5, DOWNLINK_SEED, channels=2)
    write_wav(tmp_path / "a.wav", x, 48000)
    y, rate = read_wav(tmp_path / "a.wav")
    assert rate == 48000 and y.shape == x.shape and np.abs(y - x).max() < 1e-4
    write_wav(tmp_path / "b.wav", x[:, 0], 16000, subtype="FLOAT")
    y, rate = read_wav(tmp_path / "b.wav")
    assert rate == 16000 and np.array_equal(y, x[:, 0])


@pytest.mark.parametrize("kind", ["missing", "dir", "garbage", "empty"])
def test_bad_input_names_the_file(tmp_path: Path, kind: str) -> None:
    p = tmp_path / "x.wav"
    if kind == "dir":
        p.mkdir()
    elif kind == "garbage":
        p.write_bytes(b"not a wav at all")
    elif kind == "empty":
        write_wav(p, np.zeros(0, dtype=np.float32), 48000)
    with pytest.raises(UsageError, match=r"x\.wav"):
        read_wav(p)
