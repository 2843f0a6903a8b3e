"""``harness phone survey``, ``harness doctor --profile`` and ``sim up --phone-profile`` with wrong
input: exit 2 and a message naming the thing and the fix, before any phone is touched (no lab runs:
a lab file naming phones nobody serves is enough, the checks come first)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from harness.errors import ExitCode

ROOT = Path(__file__).resolve().parents[2]
LAB = """devices:
  - {name: DUT, udid: 00008120-001A2B3C4D5E6F70, phone_number: "+15550100001"}
  - {name: Caller, udid: 00008120-001A2B3C4D5E6F71, role: caller, phone_number: "+15550100002"}
"""


def harness(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "harness", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120)


@pytest.fixture
def lab(tmp_path: Path) -> Path:
    (tmp_path / "lab.yaml").write_text(LAB)
    (tmp_path / "a-file").write_text("x")
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("mine")
    (tmp_path / "typo.yaml").write_text(LAB + "locators:\n  answer_cal:\n    - {id: acceptCall}\n")
    (tmp_path / "badquery.yaml").write_text(LAB + "locators:\n  answer_call:\n"
                                            "    - {predicate: \"label ==== 'Accept'\"}\n")
    return tmp_path


SURVEY = ("phone", "survey", "--device", "DUT", "--caller", "Caller")


@pytest.mark.parametrize(("args", "message"), [
    ((*SURVEY, "--lab", "missing.yaml", "--out", "o"), "lab file missing.yaml: not found; pass --lab PATH"),
    (("phone", "survey", "--lab", "lab.yaml", "--device", "Nobody", "--caller", "Caller", "--out", "o"),
     "no device 'Nobody' in the lab; known: DUT, Caller"),
    (("phone", "survey", "--lab", "lab.yaml", "--device", "DUT", "--caller", "DUT", "--out", "o"),
     "--caller DUT is the DUT itself; give the lab's other phone"),
    ((*SURVEY, "--lab", "lab.yaml", "--out", "a-file"),
     "a-file: exists and is not a folder; pick another --out"),
    ((*SURVEY, "--lab", "lab.yaml", "--out", "busy"), "holds other files (notes.txt): give an empty folder"),
    ((*SURVEY, "--lab", "lab.yaml", "--out", "o", "--timer", "1"), "--timer must be 3 to 600 seconds"),
    ((*SURVEY, "--lab", "typo.yaml", "--out", "o"),
     "locators: unknown recipe 'answer_cal'; the recipes that take locators: answer_call,"),
    ((*SURVEY, "--lab", "badquery.yaml", "--out", "o"),
     "locators.answer_call[0]: WDA would refuse it: Invalid predicate string"),
    (("doctor", "--profile", "missing.yaml"),
     "--profile missing.yaml: not found; give the profile.yaml a survey"),
    (("doctor", "--profile", "lab.yaml", "--lab", "typo.yaml"), "unknown recipe 'answer_cal'"),
    (("sim", "up", "--phone-profile", "missing.yaml"), "--phone-profile: missing.yaml: cannot read it"),
])
def test_wrong_input_exits_2_naming_the_thing_and_the_fix(lab: Path, args: tuple[str, ...],
                                                          message: str) -> None:
    run = harness(*args, cwd=lab)
    assert run.returncode == ExitCode.USAGE, run.stdout + run.stderr
    assert message in run.stderr and "Traceback" not in run.stderr, run.stderr
    assert not (lab / "o").exists()  # nothing written before the input was checked
