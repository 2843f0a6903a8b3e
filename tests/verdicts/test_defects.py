"""The public defect catalog: eleven known pitfalls, each naming a playbook rule; an unknown name is
a usage error that lists the known ones."""

from __future__ import annotations

import pytest

from harness.errors import UsageError
from harness.verdicts.defects import DEFECTS, known_defect
from harness.verdicts.playbook import RULES


def test_every_defect_names_a_rule_of_the_playbook() -> None:
    assert len(DEFECTS) == 11
    for name, defect in DEFECTS.items():
        assert defect.name == name and defect.rule in RULES and defect.symptom, defect


def test_an_unknown_defect_is_a_usage_error_listing_the_known_ones() -> None:
    assert known_defect("never_resumes").rule == "resume-on-should-resume"
    with pytest.raises(UsageError, match=r"'nevr_resumes' is not a known defect; known defects: .*never"):
        known_defect("nevr_resumes")
