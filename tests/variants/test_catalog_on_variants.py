"""The catalog under every variant of the virtual iPhone: a right verdict, or an honest skip, under each.

Where the evidence leaves a point open (a dial prompt, the incoming-call style, the Siri host, the
audio daemon's line, WDA's latency, the phone's network...), the virtual lab offers each plausible
answer as a variant (``harness sim variants``). These runs prove the harness under all of them on
two workers, within CI's budget (about 15 minutes in all):

* the ``field`` preset (the most hostile plausible combination) on the whole catalog, correct app:
  every scenario passes, or is skipped with a reason the variant makes honest (no verified
  audio-daemon line: the Siri scenario cannot read iOS's shouldResume);
* one run of the whole catalog with every remaining non-default value, correct app: all pass;
* the call and Siri defects under ``field``, each caught by its rule (the Siri ones with an audio
  daemon line the lab can read, in the formats the field run does not use);
* the lab misconfigurations among the values (Live Voicemail on, a passcode) end as lab faults
  naming them, never as the app's failure.

A test without a run checks that these runs and the defaults cover every value of every variant.
Each run is a real ``harness run`` on its own virtual lab (this process imports the virtual lab only
to read its variants table).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from harness.sim.variants import catalog
from harness.verdicts.defects import DEFECTS

ROOT = Path(__file__).resolve().parents[2]
FIELD = {name: v.field for name, v in catalog().items()}
DEFAULT = {name: v.default for name, v in catalog().items()}
MISCONFIGURATIONS = {"live_voicemail": "holds", "passcode": "on"}
"""Values a lab's prepare list rules out (harness doctor checks them): each must be a lab fault."""
SIRI_LINES = {"never_resumes": "harness", "ignores_should_resume": "sid-only"}
"""Audio daemon line formats the Siri defects run with under field (field itself has none)."""


def other_values() -> dict[str, str]:
    """For each variant, its first value that is neither the default, the field value, nor a lab
    misconfiguration: one catalog run covers them all."""
    out = {}
    for name, v in catalog().items():
        rest = [x for x in v.values if x not in (v.default, v.field, MISCONFIGURATIONS.get(name))
                and x not in SIRI_LINES.values()]
        if rest:
            out[name] = rest[0]
    return out


def variant_args(values: dict[str, str]) -> list[str]:
    return [a for name, value in sorted(values.items()) for a in ("--sim-variant", f"{name}={value}")]


def harness_run(out: Path, *args: str) -> dict[str, Any]:
    proc = subprocess.run([sys.executable, "-m", "harness", "run", "-n", "2", "--out", str(out), *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=1800)
    results = out / "results.json"
    assert results.exists(), proc.stdout[-3000:] + proc.stderr[-3000:]
    return json.loads(results.read_text()) | {"exit_code_seen": proc.returncode}


def summary(res: dict[str, Any]) -> str:
    return "\n".join(f"{t['outcome']:<12} {t['nodeid']} {t.get('rule') or t.get('lab_tag') or ''} "
                     f"{t.get('message', '')[:200]}" for t in res["tests"])


def test_the_runs_cover_every_value_of_every_variant() -> None:
    covered: dict[str, set[str]] = {name: {DEFAULT[name], FIELD[name]} for name in catalog()}
    for name, value in [*other_values().items(), *MISCONFIGURATIONS.items()]:
        covered[name].add(value)
    covered["audio_daemon_line"] |= set(SIRI_LINES.values())
    missing = {name: set(v.values) - covered[name] for name, v in catalog().items()
               if set(v.values) - covered[name]}
    assert not missing, f"no run shows these variant values: {missing}"


@pytest.mark.slow
def test_the_catalog_on_the_field_preset_passes_or_skips_honestly(tmp_path: Path) -> None:
    res = harness_run(tmp_path / "field", "--sim-variant", "field")
    print(f"\nfield preset: {res['summary']}")
    for t in res["tests"]:
        assert t["outcome"] in ("pass", "skipped"), summary(res)
        if t["outcome"] == "skipped":
            assert "test_siri" in t["nodeid"] and "system_log" in t["message"], summary(res)
    assert res["exit_code_seen"] == 0, summary(res)


@pytest.mark.slow
def test_the_catalog_on_every_other_value_passes(tmp_path: Path) -> None:
    values = other_values()
    res = harness_run(tmp_path / "other", *variant_args(values))
    print(f"\nother values {values}: {res['summary']}")
    assert all(t["outcome"] == "pass" for t in res["tests"]), summary(res)
    assert res["exit_code_seen"] == 0, summary(res)


@pytest.mark.slow
@pytest.mark.parametrize("defect", ["never_resumes", "leaks_to_speaker", "ignores_should_resume"])
def test_the_call_and_siri_defects_are_caught_under_field(defect: str, tmp_path: Path) -> None:
    extra = {"audio_daemon_line": SIRI_LINES[defect]} if defect in SIRI_LINES else {}
    res = harness_run(tmp_path / defect, "--defect", defect, "--sim-variant", "field", *variant_args(extra))
    rule = DEFECTS[defect].rule
    caught = {t["nodeid"].split("::")[-1].split("[")[0] for t in res["tests"]
              if t["outcome"] == "app-failure" and t.get("rule") == rule}
    declaring = {t["nodeid"].split("::")[-1].split("[")[0] for t in res["tests"]}
    print(f"\n{defect} under field {extra}: caught by {sorted(caught)}")
    assert caught == declaring, summary(res)  # every declaring scenario catches it (a case of it)
    assert not [t for t in res["tests"] if t["outcome"] in ("lab-fault", "error")], summary(res)
    assert res["exit_code_seen"] == 1, summary(res)


@pytest.mark.slow
@pytest.mark.parametrize(("variant", "scenarios", "tag"), [
    ("live_voicemail=holds", ["testcases/test_call_declined.py", "testcases/test_level_after_resume.py"],
     "call-held"),
    ("passcode=on", ["testcases/test_session_config.py"], "passcode-locked"),
])
def test_lab_misconfigurations_are_lab_faults_naming_them(variant: str, scenarios: list[str], tag: str,
                                                          tmp_path: Path) -> None:
    res = harness_run(tmp_path / "lab", "--sim-variant", variant, *scenarios)
    seen = [(t["outcome"], t.get("lab_tag")) for t in res["tests"]]
    assert seen == [("lab-fault", tag)] * len(scenarios), summary(res)
    assert res["exit_code_seen"] == 3, summary(res)
