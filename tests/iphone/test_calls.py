"""A phone call between the lab's caller and DUT: dial, answer, end; which locators matched is kept."""

from __future__ import annotations

import time

import pytest

from tests.iphone.conftest import matched_locators, report

pytestmark = pytest.mark.iphone


def test_dial_answer_end(lab, open_phone, out_dir):
    dut_spec = lab.spec.role("dut")[0]
    if not dut_spec.phone_number:
        pytest.skip(f"{dut_spec.name} has no phone_number in the lab file")
    caller, dut = open_phone("caller"), open_phone("dut")
    steps: dict[str, object] = {}
    try:
        dialled = caller.ui.dial(f"tel:{dut.spec.phone_number}")
        steps["dial"] = dialled.locator.label
        t0 = time.monotonic()
        answered = dut.ui.answer_call()
        steps["answer"] = answered.locator.label
        steps["ring_to_answer_s"] = round(time.monotonic() - t0, 2)
        assert dut.ui.in_call()
        time.sleep(3)
        ended = caller.ui.end_call()
        steps["end"] = ended.locator.label
        time.sleep(2)
        assert not dut.ui.in_call()
    finally:
        report(out_dir, "calls", steps=steps, caller=matched_locators(caller.timeline),
               dut=matched_locators(dut.timeline))
