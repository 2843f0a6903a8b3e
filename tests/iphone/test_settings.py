"""Settings > Developer is reachable (reference/real-iphone.md H5: it sits below the fold)."""

from __future__ import annotations

import pytest

from tests.iphone.conftest import matched_locators, report

pytestmark = pytest.mark.iphone


def test_settings_developer_is_reachable(open_phone, out_dir):
    dut = open_phone("dut")
    try:
        match = dut.ui.open_settings_developer()
        source = dut.ui.source()
        report(out_dir, "settings-developer", matched=match.locator.label,
               reset_media_services_listed="Reset Media Services" in source,
               steps=matched_locators(dut.timeline))
        assert "Reset Media Services" in source
    finally:
        dut.ui.home()
