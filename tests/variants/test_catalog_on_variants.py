"""The catalog under every variant of the virtual iPhone: a right verdict, or an honest skip, under each.

Where the evidence leaves a point open (a dial prompt, the incoming-call style, the Siri host, the
audio daemon's line, WDA's latency, the phone's network...), the virtual lab offers each plausible
answer as a variant (``harness sim variants``). These runs prove the harness under all of them on
two workers, within CI's budget (about 12 minutes in all):

* the ``field`` preset (the most hostile plausible combination) on the whole catalog, correct app:
  every scenario passes, or is skipped with a reason the variant makes honest (no verified
  audio-daemon line: the Siri scenario cannot read iOS's shouldResume);
* the whole catalog with every remaining value, correct app: all pass (the defect matrix's
  logging-off run, tests/matrix; ``tests/variants/plan.py`` says which run shows which value);
* the defects of the call and Siri scenarios under ``field``, each caught by its rule (the Siri
  ones with an audio daemon line the lab can read, in the formats the field run does not use);
* the lab misconfigurations among the values (Live Voicemail on, a passcode) end as lab faults
  naming them, never as the app's failure.

A test without a run checks that these runs and the defaults cover every value of every variant.
Each run is a real ``harness run`` on its own virtual lab (this process imports the virtual lab only
to read its variants table).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.sim.variants import catalog
from harness.verdicts.defects import DEFECTS
from tests.catalog_run import declared, harness_run, scenario, summary
from tests.variants.plan import (
    CORRECT_APP_VARIANTS,
    DEFAULT,
    FIELD,
    MISCONFIGURATIONS,
    SIRI_LINES,
    SURVEY_REPLAY_DEFAULT,
    variant_args,
)

CALL_AND_SIRI_DEFECTS = ["never_resumes", "leaks_to_speaker", "quiet_after_resume", "ignores_should_resume"]
"""What the call scenarios (test_call_*, FaceTime Audio, lock screen) and Siri declare."""


def test_the_runs_cover_every_value_of_every_variant() -> None:
    covered: dict[str, set[str]] = {name: {DEFAULT[name], FIELD[name], SURVEY_REPLAY_DEFAULT[name]}
                                    for name in catalog()}
    matrix_runs = [item for values in CORRECT_APP_VARIANTS.values() for item in values.items()]
    for name, value in [*matrix_runs, *MISCONFIGURATIONS.items()]:
        covered[name].add(value)
    covered["audio_daemon_line"] |= set(SIRI_LINES.values())
    missing = {name: set(v.values) - covered[name] for name, v in catalog().items()
               if set(v.values) - covered[name]}
    assert not missing, f"no run shows these variant values: {missing}"


def test_the_field_defect_runs_are_those_the_call_and_siri_scenarios_declare() -> None:
    call_and_siri = {"test_call_answered_then_ended", "test_call_declined", "test_facetime_audio",
                     "test_lock_screen", "test_siri"}
    wanted = {d for d, scenarios in declared().items() if call_and_siri & set(scenarios)}
    assert wanted == set(CALL_AND_SIRI_DEFECTS)


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
@pytest.mark.parametrize("defect", CALL_AND_SIRI_DEFECTS)
def test_the_call_and_siri_defects_are_caught_under_field(defect: str, tmp_path: Path) -> None:
    extra = {"audio_daemon_line": SIRI_LINES[defect]} if defect in SIRI_LINES else {}
    res = harness_run(tmp_path / defect, "--defect", defect, "--sim-variant", "field", *variant_args(extra))
    rule = DEFECTS[defect].rule
    caught = {scenario(t["nodeid"]) for t in res["tests"]
              if t["outcome"] == "app-failure" and t.get("rule") == rule}
    declaring = set(declared()[defect])
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
