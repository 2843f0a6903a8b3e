"""One exit-code table for every subcommand: 0 pass, 1 app failure, 2 usage, 3 lab faults, 4 internal.

Bad input is checked through the real command (a subprocess each); the dispatcher's mapping of
lab faults and unexpected exceptions is checked in process with a subcommand that raises.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import harness.cli
from harness.errors import ExitCode, LabFault

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = "testcases/test_call_answered_then_ended.py"

# (argv, words the message must contain): each names the thing that is wrong and the way out
BAD_INPUT = [
    (["probe", "--seconds", "-1", "--out", "x.wav"], ["--seconds", "positive"]),
    (["analyze", "missing.wav", "--reference", "ref.wav"], ["missing.wav", "no such file"]),
    (["peer", "--token", "t", "--record-dir", "rec", "--bind", "nonsense"], ["--bind", "HOST:PORT"]),
    (["devices", "--lab", "missing.yaml"], ["missing.yaml", "--lab"]),
    (["doctor", "--lab", "missing.yaml"], ["missing.yaml", "--lab"]),
    (["doctor", "--min-battery", "200"], ["--min-battery", "0..100"]),
    (["phone", "dump", "--device", "abc"], ["--device", "UDID"]),
    (["sim", "down", "--state-dir", "no-such-state"], ["no-such-state", "sim.json"]),
    (["sim", "up", "--defect", "nope", "--state-dir", "state"], ["nope", "known defects"]),
    (["sim", "up", "--variant", "nope=1", "--state-dir", "state"], ["'nope'", "harness sim variants"]),
    (["sim", "up", "--variant", "dial_prompt=maybe", "--state-dir", "state"],
     ["'maybe'", "values: shown, none"]),
    (["sim", "up", "--variant", "dial_prompt", "--state-dir", "state"], ["NAME=VALUE", "field"]),
    (["run", SCENARIO, "--sim-variant", "siri_ui=gone"], ["--sim-variant", "'gone'", "absent"]),
    (["run", SCENARIO, "--lab", "lab.yaml", "--sim-variant", "field"],
     ["--sim-variant", "virtual lab", "drop"]),
    (["run", "no_such_test.py"], ["no_such_test.py", "ls testcases"]),
    (["run", SCENARIO, "--lab", "missing.yaml"], ["missing.yaml", "--lab"]),
    (["run", SCENARIO, "--defect", "nope"], ["nope", "known defects"]),
    (["run", SCENARIO, "--lab", "lab.yaml", "--defect", "never_resumes"],
     ["--defect", "virtual lab", "drop"]),
    (["run", SCENARIO, "-n", "-2"], ["-n", "0 or more"]),
    (["run", SCENARIO, "--device", "Virtual iPhone Q"],
     ["'Virtual iPhone Q'", "virtual lab", "Virtual iPhone A"]),
    (["watch", "--device", "Virtual iPhone Q"], ["'Virtual iPhone Q'", "known"]),
    (["run", SCENARIO, "--out", "afile"], ["afile", "not a folder"]),
    (["run", SCENARIO, "--out", "busy"], ["busy", "other files"]),
    (["repro", SCENARIO, "--max", "0"], ["--max", "1 or more"]),
    (["repro", "no_such_test.py"], ["no_such_test.py", "no such scenario"]),
    (["repro", SCENARIO, "--lab", "lab.yaml", "--app-logging", "off"], ["--app-logging", "drop"]),
    (["watch", "--duration", "-1"], ["--duration", "positive"]),
    (["watch", "--lab", "missing.yaml"], ["missing.yaml", "--lab"]),
    (["bogus"], ["invalid choice", "bogus"]),
    (["run", "--no-such-option"], ["unrecognized arguments", "--no-such-option"]),
]


@pytest.mark.parametrize(("argv", "words"), BAD_INPUT, ids=[" ".join(a) for a, _ in BAD_INPUT])
def test_bad_input_exits_2_naming_the_thing(argv: list[str], words: list[str], tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("x")
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("mine")
    (tmp_path / "lab.yaml").write_text("version: 1\n")
    argv = [str(ROOT / a) if a in (SCENARIO,) else a for a in argv]
    run = subprocess.run([sys.executable, "-m", "harness", *argv], cwd=tmp_path, capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == ExitCode.USAGE, (run.returncode, run.stdout[-2000:], run.stderr[-2000:])
    for w in words:
        assert w in run.stderr, (w, run.stderr)
    assert "Traceback" not in run.stderr


def test_a_wrong_device_on_the_virtual_lab_is_refused_before_out_is_emptied(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "index.html").write_text("last night's report")
    argv = ["run", str(ROOT / SCENARIO), "--device", "iPhone 15"]
    run = subprocess.run([sys.executable, "-m", "harness", *argv], cwd=tmp_path, capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == ExitCode.USAGE, run.stderr[-2000:]
    assert (tmp_path / "out" / "index.html").read_text() == "last night's report"
    assert not (tmp_path / "out" / "virtual-lab").exists()  # the virtual lab was never started


def test_the_virtual_labs_udids_are_known_before_it_starts() -> None:
    from harness.cli.sim import _known_virtual_device
    from harness.sim.phone import VirtualPhone

    _known_virtual_device(VirtualPhone.stable_identity("Virtual iPhone B", "iPhone16,1", 1)[1], duts=1)
    _known_virtual_device("Virtual iPhone D", duts=2)  # -n 2: four phones


def _fake_subcommand(monkeypatch: pytest.MonkeyPatch, behaviour) -> None:
    import harness.cli.probe as probe

    monkeypatch.setattr(probe, "run", behaviour)


def test_a_lab_fault_exits_3_with_its_tag(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    def boom(args):
        raise LabFault("phone 0000: the connection to the phone dropped", tag="device-gone")

    _fake_subcommand(monkeypatch, boom)
    code = harness.cli.main(["probe", "--seconds", "1", "--out", "x.wav"])
    assert code == ExitCode.LAB_FAULT
    assert "lab fault [device-gone]: phone 0000" in capsys.readouterr().err


def test_an_unexpected_exception_exits_4_and_saves_the_traceback(monkeypatch: pytest.MonkeyPatch, capsys,
                                                                 tmp_path: Path) -> None:
    def boom(args):
        return {}["missing-key"]

    _fake_subcommand(monkeypatch, boom)
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    code = harness.cli.main(["probe", "--seconds", "1", "--out", "x.wav"])
    err = capsys.readouterr().err
    assert code == ExitCode.INTERNAL
    assert "internal error (exit 4): KeyError: 'missing-key'; traceback saved to" in err
    assert "Traceback" not in err and len(err.splitlines()) == 1
    saved = list(tmp_path.glob("harness-probe-*.traceback.txt"))
    assert len(saved) == 1 and "in boom" in saved[0].read_text()


def test_the_traceback_goes_into_out_when_the_command_has_one(monkeypatch: pytest.MonkeyPatch, capsys,
                                                               tmp_path: Path) -> None:
    import harness.cli.run as run_cli

    def boom(args):
        raise RuntimeError("bug")

    monkeypatch.setattr(run_cli, "run", boom)
    code = harness.cli.main(["run", "--out", str(tmp_path)])
    assert code == ExitCode.INTERNAL
    assert "bug" in (tmp_path / "harness-error.txt").read_text()
    assert str(tmp_path / "harness-error.txt") in capsys.readouterr().err


def test_ctrl_c_is_exit_4_interrupted(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    def interrupted(args):
        raise KeyboardInterrupt

    _fake_subcommand(monkeypatch, interrupted)
    assert harness.cli.main(["probe", "--seconds", "1", "--out", "x.wav"]) == ExitCode.INTERNAL
    assert "interrupted" in capsys.readouterr().err


def test_help_is_0_and_no_command_is_2(capsys) -> None:
    assert harness.cli.main(["--help"]) == 0
    assert harness.cli.main([]) == ExitCode.USAGE
