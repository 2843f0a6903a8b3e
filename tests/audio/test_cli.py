from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.cli import main


def test_probe_then_analyze_its_own_output(tmp_path: Path, capsys) -> None:
    out = tmp_path / "p.wav"
    assert main(["probe", "--seconds", "6", "--out", str(out), "--seed", "42", "--channels", "2"]) == 0
    capsys.readouterr()
    assert main(["analyze", "--reference", str(out), str(out), "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["gaps"] == [] and d["glitches"] == []
    assert d["latency_ms"] == 0.0 and d["level_db"] == [0.0]
    assert main(["analyze", "--reference", str(out), str(out)]) == 0
    assert "gaps: 0" in capsys.readouterr().out


@pytest.mark.parametrize("problem", ["missing", "garbage", "rate"])
def test_bad_input_is_one_line_naming_the_file_and_exit_2(tmp_path: Path, capsys, problem: str) -> None:
    ref = tmp_path / "ref.wav"
    assert main(["probe", "--seconds", "1", "--out", str(ref)]) == 0
    cap = tmp_path / "cap.wav"
    if problem == "garbage":
        cap.write_bytes(b"RIFF....WAVEjunk")
    elif problem == "rate":
        assert main(["probe", "--seconds", "1", "--out", str(cap), "--rate", "16000"]) == 0
    capsys.readouterr()
    assert main(["analyze", "--reference", str(ref), str(cap)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert ("cap.wav" if problem != "rate" else "ref.wav") in err[0]


def test_probe_rejects_bad_options(capsys) -> None:
    assert main(["probe", "--seconds", "0", "--out", "x.wav"]) == 2
    assert "--seconds" in capsys.readouterr().err
