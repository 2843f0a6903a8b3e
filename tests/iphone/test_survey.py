"""The survey on a real lab (reference real-iphone.md §8): every state recorded (reached, or unreachable
with why), a profile the virtual lab replays and the doctor reads, no personal data in it, and the
offline locator check agreeing with what the live recipes matched on the phone.

About 3 minutes; it places two calls from the caller to the DUT, asks Siri, sets an 8 s timer and
opens Settings > Developer (the Reset Media Services sheet is cancelled: nothing is reset).
"""

from __future__ import annotations

import json

import pytest
import yaml

from harness.phone import survey
from harness.phone.profile_check import check_profile
from harness.phone.survey.privacy import Scrubber
from harness.phone.survey.walk import STATES
from tests.iphone.conftest import pick, report

pytestmark = pytest.mark.iphone


@pytest.fixture
def surveyed(lab, out_dir):
    dut, caller = pick(lab, "dut"), pick(lab, "caller")
    return survey.run(lab, dut, caller, out_dir / "survey", log_window_s=20.0), dut, caller


def test_the_survey_records_every_state_and_writes_a_profile_without_personal_data(surveyed, lab, out_dir):
    result, dut, caller = surveyed
    summary = json.loads((result.out / "survey.json").read_text())
    states = {s["name"]: s for s in summary["states"]}
    report(out_dir, "survey", reached=result.reached, of=len(states), facts=summary["facts"],
           measured=summary["measured"],
           unreachable={k: s["why"] for k, s in states.items() if s["status"] != "reached"})
    assert tuple(states) == STATES  # every state recorded, in the walk's order
    assert all(s["status"] in ("reached", "unreachable") for s in states.values())
    assert all(s["why"] for s in states.values() if s["status"] == "unreachable")
    assert states["home"]["status"] == "reached" and summary["measured"]["log_lines_per_s"].get("idle")
    text = result.profile_path.read_text()
    scrubber = Scrubber(numbers=[p for p in (dut.phone_number, caller.phone_number) if p])
    scrubber.add_names([dut.name, caller.name])
    assert scrubber.found_in_doc(yaml.safe_load(text)) == []
    assert not [a for a in (dut.apple_id, caller.apple_id) if a and a in text]
    doc = yaml.safe_load(text)
    assert doc["survey"]["provenance"].startswith("survey iPhone")


def test_the_offline_check_agrees_with_the_live_recipes(surveyed):
    """What the doctor says of a saved screen is what the recipes did on the phone: each locator a
    recipe tapped on a state's screen matches that state's saved trees offline (an element XCTest
    builds only when asked, or a tree that changed between the save and the find, would break this)."""
    result, _dut, _caller = surveyed
    summary = json.loads((result.out / "survey.json").read_text())
    for state in summary["states"]:
        for act in state["acts"]:
            rows = state["recipes"].get(act["table"], [])
            assert act["locator"] in {r["locator"] for r in rows if r["matched"]}, (state["name"], act)
    _profile, checks = check_profile(result.profile_path)
    assert all(c.status != "fail" or "candidates" in c.detail for c in checks)
