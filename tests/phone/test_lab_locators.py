"""Lab-level locators: a lab file adds locators per recipe (tried first), so a lab fixes a recipe miss
on its phones without a release; the schema refuses an unknown recipe or a query WDA would refuse."""

from __future__ import annotations

import pytest

from harness.errors import LabFault, UsageError
from harness.lab.schema import Lab
from harness.lab_faults import RECIPE_MISS
from harness.phone import Phone
from harness.phone.locators import lab_tables
from harness.timeline import Timeline
from tests.wda.scene import Scene

BASE = {"devices": [{"name": "DUT", "udid": "00008120-001A2B3C4D5E6F70"}]}
PICK_UP = {"name": "Pick up", "className": "Button", "source": "survey iPhone15,4 21F90 2026-08-30"}


def _lab(locators: dict) -> Lab:
    return Lab.from_dict({**BASE, "locators": locators})


@pytest.mark.parametrize(("locators", "message"), [
    ({"answer_cal": [{"id": "acceptCall"}]}, "locators: unknown recipe 'answer_cal'; the recipes that take"),
    ({"answer_call": [{"predicate": "label ~ 'Accept'"}]}, "locators.answer_call[0]: WDA would refuse it: "
                                                           "Invalid predicate string"),
    ({"answer_call": [{"predicate": "labl == 'Accept'"}]}, "unknown attribute 'labl'"),
    ({"timer_stop": [{"classChain": "**/Button[`label == 'Stop'`]"}]}, "Invalid class name 'Button'"),
    ({"end_call": [{"name": "End", "className": "Buton"}]}, "className: 'Buton' is not an XCUIElementType"),
    ({"end_call": [{"id": "endCall", "name": "End"}]}, "give exactly one of id, name, predicate"),
    ({"end_call": [{"label": "nothing to find by"}]}, "(got none)"),
    ({"end_call": [{"id": "endCall", "app": "InCallService"}]}, "is not a bundle id"),
    ({"end_call": [{"id": "endCall", "colour": "red"}]}, "locators.end_call[0].colour: unknown key"),
])
def test_the_schema_refuses_an_unknown_recipe_or_a_query_wda_would_refuse(locators: dict,
                                                                          message: str) -> None:
    with pytest.raises(UsageError) as info:
        _lab(locators)
    assert message in str(info.value)


def test_a_valid_entry_becomes_a_locator_tried_before_the_harness_own() -> None:
    lab = _lab({"answer_call": [PICK_UP], "reset_confirm": [{"alert_button": "Reset"}]})
    (loc,) = lab_tables(lab.locator_specs())["answer_call"]
    assert loc.selector == {"name": "Pick up", "className": "Button"}
    assert loc.source.startswith("lab file: survey")
    phone = Phone("http://127.0.0.1:9", ios_version="17.5.1", locators=lab_tables(lab.locator_specs()))
    assert phone._ordered("answer_call")[0] == loc
    assert lab_tables(lab.locator_specs())["reset_confirm"][0].alert_button == "Reset"
    assert "locators" in lab.to_dict() and "locators" not in Lab.from_dict(BASE).to_dict()


def test_a_lab_locator_fixes_a_miss_on_its_phones(scene: Scene, tmp_path) -> None:
    """The DUT's Accept reads "Pick up" and has no identifier: none of the shipped locators finds it;
    the lab's own does, and the timeline says so."""
    mutated = frozenset({"incoming.accept:label=Pick up", "incoming.accept:noid"})
    caller_sp = scene.add_phone(number="+15550100001", name="A")
    dut_sp = scene.add_phone(number="+15550100002", name="B", mutations=mutated)
    tl = Timeline(tmp_path / "timeline.jsonl")
    caller = Phone(caller_sp.url, name="caller", timeline=tl, artifacts=tmp_path)
    plain = Phone(dut_sp.url, name="dut", timeline=tl, artifacts=tmp_path / "plain")
    caller.dial("tel:+15550100002")
    with pytest.raises(LabFault) as info:
        plain.answer_call(timeout=1.0)
    assert info.value.tag == RECIPE_MISS
    tables = lab_tables(_lab({"answer_call": [PICK_UP]}).locator_specs())
    dut = Phone(dut_sp.url, name="dut", timeline=tl, artifacts=tmp_path, locators=tables)
    match = dut.answer_call(timeout=5.0)
    assert match.locator is tables["answer_call"][0] and match.index == 0
    assert scene.on_loop(lambda: dut_sp.board.call.state) == "active"
    recipe = [e for e in tl.events(source="phone", kind="recipe") if e.fields["recipe"] == "answer_call"]
    assert recipe[-1].fields["locator"].startswith("lab: name=Pick up") and recipe[-1].fields["index"] == 0
    dut.end_call()
