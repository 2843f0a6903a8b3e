"""Analyzer reproductions of ../shared/reference/reliability-probe.md (findings 1, 2, 9 and §4).

Each capture is the 22 s reference's first 20 s, changed the way the probe changed it; the right
answer is a gap (or a level change, or a polarity), never "coverage 100 %, gaps 0".
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from harness.audio.analyze import analyze
from harness.audio.probe import DOWNLINK_SEED, probe
from harness.cli import main

R = 48000
REF = probe(22.0, DOWNLINK_SEED)
X = REF[: 20 * R]


def _put(a: float, b: float, value: float | np.ndarray = 0.0) -> np.ndarray:
    y = X.copy()
    y[int(a * R):int(b * R)] = value
    return y


def _one(capture: np.ndarray, ref: np.ndarray = REF, **kw):
    return analyze(capture, R, {"ref": ref}, echo=False, **kw)


@pytest.mark.parametrize("fill", ["silence", "noise"])
def test_audio_that_stops_at_10_s_is_a_missing_end_gap(fill: str) -> None:
    rng = np.random.default_rng(3)
    rest = 0.0 if fill == "silence" else (rng.standard_normal(10 * R) * 0.1).astype(np.float32)
    a = _one(_put(10, 20, rest))
    assert [g.kind for g in a.gaps] == ["missing-end"]
    g = a.gaps[0]
    assert g.start_s == pytest.approx(10.0, abs=0.005) and g.end_s == pytest.approx(20.0, abs=0.001)
    assert a.coverage == pytest.approx(0.5, abs=0.002)


def test_late_start_is_a_missing_start_gap() -> None:
    a = _one(_put(0, 10))
    assert [g.kind for g in a.gaps] == ["missing-start"]
    assert a.gaps[0].start_s == pytest.approx(0.0, abs=0.001)
    assert a.gaps[0].duration_ms == pytest.approx(10000, abs=5)
    assert a.coverage == pytest.approx(0.5, abs=0.002)


def test_pure_latency_is_not_a_missing_start() -> None:
    """A capture that starts before the probe reaches it (latency) misses nothing."""
    a = _one(np.concatenate([np.zeros(int(0.3 * R), np.float32), X[: 8 * R]]))
    assert a.gaps == [] and a.coverage > 0.999 and a.latency_ms == pytest.approx(300, abs=0.1)


def test_capture_longer_than_its_reference_is_not_all_judged() -> None:
    """The 2 h capture against a 22 s probe, scaled down: 60 s against 10 s."""
    a = _one(probe(60.0, DOWNLINK_SEED), ref=probe(10.0, DOWNLINK_SEED))
    assert a.gaps == []
    assert a.unjudged_s == pytest.approx(50.0, abs=0.1)
    assert a.coverage == pytest.approx(10 / 60, abs=0.01)


def test_level_step_and_dip_are_reported_without_a_gap() -> None:
    drop = _one(_put(10, 20, X[10 * R:] * 10 ** (-30 / 20)))
    assert drop.gaps == []
    assert [(c.kind, round(c.change_db)) for c in drop.level_changes] == [("step", -30)]
    assert drop.level_changes[0].start_s == pytest.approx(10.0, abs=0.1)
    dip = _one(_put(10, 10.5, X[10 * R:int(10.5 * R)] * 10 ** (-40 / 20)))
    assert dip.gaps == []
    assert [(c.kind, round(c.change_db)) for c in dip.level_changes] == [("dip", -40)]
    assert dip.level_changes[0].end_s - dip.level_changes[0].start_s == pytest.approx(0.5, abs=0.1)
    assert _one(X).level_changes == [] and _one(X * 0.5).level_changes == []  # a steady level is not a change


def test_inverted_capture_is_a_polarity_not_a_gap() -> None:
    a = _one(-X)
    assert a.polarity == "inverted" and a.gaps == [] and a.glitches == [] and a.coverage > 0.999
    b = _one(X)
    assert b.polarity == "normal"
    gappy = _one(-_put(5, 6))  # an inverted capture with a real gap keeps that gap
    assert gappy.polarity == "inverted" and [g.kind for g in gappy.gaps] == ["lost"]


def test_non_finite_samples_are_silence_not_a_crash() -> None:
    y = X.copy()
    y[:1000] = np.nan
    y[10 * R] = np.inf
    a = _one(y)
    assert a.reference == "ref" and a.nonfinite_samples == 1001 and a.coverage > 0.99
    bad_ref = REF.copy()
    bad_ref[5] = np.nan
    with pytest.raises(ValueError, match="NaN or infinite"):
        _one(X, ref=bad_ref)
    with pytest.raises(ValueError, match="not audio"):
        _one(X * 1e30)


# -- the CLI ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("ana")
    out = {"ref": d / "ref.wav"}
    sf.write(out["ref"], REF, R, subtype="PCM_16")
    for name, y, subtype in (("stops", _put(10, 20), "PCM_16"), ("inv", -X, "PCM_16")):
        out[name] = d / f"{name}.wav"
        sf.write(out[name], y, R, subtype=subtype)
    y = X.copy()
    y[10 * R] = np.inf
    out["inf"] = d / "inf.wav"
    sf.write(out["inf"], y, R, subtype="FLOAT")
    return out


def test_cli_stops_at_10_s_says_missing_end_exit_0(files, capsys) -> None:
    assert main(["analyze", str(files["stops"]), "--reference", str(files["ref"])]) == 0
    text = capsys.readouterr().out
    assert "coverage 50.00 %" in text and "gaps: 1" in text and "missing-end" in text and "10000.0 ms" in text


def test_cli_inverted_says_polarity(files, capsys) -> None:
    assert main(["analyze", str(files["inv"]), "--reference", str(files["ref"])]) == 0
    text = capsys.readouterr().out
    assert "polarity: inverted" in text and "gaps: 0" in text and "coverage 100.00 %" in text


def test_cli_inf_sample_is_a_warning_not_exit_4(files, capsys) -> None:
    assert main(["analyze", str(files["inf"]), "--reference", str(files["ref"])]) == 0
    assert "1 NaN or infinite sample(s)" in capsys.readouterr().out


def test_cli_same_reference_twice_is_exit_2(files, capsys, tmp_path) -> None:
    assert main(["analyze", str(files["stops"]), "--reference", str(files["ref"]),
                 "--reference", str(files["ref"])]) == 2
    copy = tmp_path / "copy.wav"
    copy.write_bytes(files["ref"].read_bytes())
    assert main(["analyze", str(files["stops"]), "--reference", str(files["ref"]),
                 "--reference", str(copy)]) == 2
    assert "same probe" in capsys.readouterr().err


def test_cli_odd_wavs(files, capsys, tmp_path) -> None:
    b = files["ref"].read_bytes()
    trunc = tmp_path / "trunc.wav"
    trunc.write_bytes(b[: len(b) // 2])
    assert main(["analyze", str(trunc), "--reference", str(files["ref"])]) == 0
    assert "truncated: its header declares 22.000 s" in capsys.readouterr().err
    huge_rate = bytearray(b[: 44 + 2 * R])
    huge_rate[24:28] = (2_000_000_000).to_bytes(4, "little")
    bad = tmp_path / "rate.wav"
    bad.write_bytes(bytes(huge_rate))
    assert main(["analyze", str(bad), "--reference", str(bad)]) == 2
    assert "2000000000 Hz" in capsys.readouterr().err


def _cli(*args: str, timeout: float = 60, **kw) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "harness", *args], capture_output=True, text=True,
                          timeout=timeout, **kw)


def test_fifo_is_refused_not_waited_on(files, tmp_path) -> None:
    fifo = tmp_path / "fifo.wav"
    os.mkfifo(fifo)
    r = _cli("analyze", str(fifo), "--reference", str(files["ref"]), timeout=30)
    assert r.returncode == 2 and "not a regular file" in r.stderr
    r = _cli("probe", "--seconds", "1", "--out", str(fifo), timeout=30)
    assert r.returncode == 2 and "not a regular file" in r.stderr


def test_closed_output_pipe_is_never_exit_4(files) -> None:
    """`harness analyze ... --json | head -c 10` and `| true`: exit 0 or 2, no traceback."""
    for reader in (["head", "-c", "10"], ["true"]):
        for _ in range(3):
            writer = subprocess.Popen([sys.executable, "-m", "harness", "analyze", str(files["inv"]),
                                       "--reference", str(files["ref"]), "--json"],
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            subprocess.run(reader, stdin=writer.stdout, stdout=subprocess.DEVNULL, timeout=60)
            writer.stdout.close()
            err = writer.stderr.read().decode()
            assert writer.wait(60) in (0, 2), err
            assert "Traceback" not in err and "internal error" not in err
