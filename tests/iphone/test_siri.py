"""Siri activates through WDA and its overlay is found (reference/real-iphone.md H11)."""

from __future__ import annotations

import pytest

from tests.iphone.conftest import matched_locators, report

pytestmark = pytest.mark.iphone


def test_siri_activates(open_phone, out_dir):
    dut = open_phone("dut")
    try:
        match = dut.ui.siri("what time is it")
        report(out_dir, "siri", matched=match.locator.label, steps=matched_locators(dut.timeline))
    finally:
        dut.ui.home()
