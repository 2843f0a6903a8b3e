"""The voice app's playbook as data: every defect of the public catalog (harness.verdicts.defects)
is a change to the tables (never code) and differs from the correct playbook."""

from __future__ import annotations

import pytest

from harness.sim.voiceapp.playbook import CORRECT, DEFECTS, playbook_for
from harness.verdicts.defects import DEFECTS as CATALOG


def test_the_virtual_app_has_every_defect_of_the_public_catalog() -> None:
    assert set(DEFECTS) == set(CATALOG)
    for defect in DEFECTS.values():
        assert playbook_for(defect.name) != CORRECT, defect.name


def test_the_correct_playbook_is_apples() -> None:
    s = CORRECT.session
    assert (s.category, s.mode) == ("playAndRecord", "voiceChat") and s.voice_processing
    assert {"allowBluetoothHFP", "allowBluetoothA2DP", "duckOthers"} <= set(s.options)
    assert CORRECT.on_interruption_began == ("pause",)
    assert "resume" in CORRECT.on_interruption_ended_should_resume
    assert "recheck_ice" in CORRECT.on_interruption_ended_should_resume
    assert "resume" not in CORRECT.on_interruption_ended_without_resume
    assert CORRECT.on_call_ended[-1] == "deactivate_session_notify_others"
    assert not CORRECT.activates_itself_under_callkit
    assert "override_speaker" not in CORRECT.on_route_lost  # iOS itself falls back to the receiver


def test_leaks_to_speaker_overrides_after_an_interruption_and_a_lost_headset() -> None:
    bad = playbook_for("leaks_to_speaker")
    assert "override_speaker" in bad.on_interruption_ended_should_resume
    assert bad.on_route_lost == ("override_speaker",)


@pytest.mark.parametrize(("defect", "field"), [
    ("default_mode", "session"), ("ignores_should_resume", "on_interruption_ended_without_resume"),
    ("no_ice_recheck", "on_interruption_ended_should_resume"),
    ("quiet_after_resume", "output_gain_db_after_resume"),
])
def test_a_defect_changes_only_its_table_entry(defect: str, field: str) -> None:
    bad = playbook_for(defect)
    changed = [f for f in CORRECT.__dataclass_fields__ if getattr(bad, f) != getattr(CORRECT, f)]
    assert changed == [field]


def test_an_unknown_defect_names_the_known_ones() -> None:
    with pytest.raises(ValueError, match=r"known defects: .*never_resumes"):
        playbook_for("typo")
