"""Real-phone-only paths of the device layer, on the lab file's DUT (``--device`` picks another)."""

from __future__ import annotations

import pytest

from harness.device import Device, Timeouts
from harness.device.wda_launcher import WDA_RUNNER
from tests.iphone.conftest import pick

pytestmark = pytest.mark.iphone


@pytest.fixture
def dut_spec(lab, request):
    return pick(lab, "dut", request.config.getoption("--device"))


async def test_wda_is_started_with_xcuitest_when_down(dut_spec):
    """The harness starts the lab's runner itself. It must find WDA down: a WDA someone else keeps up
    would make this pass without starting anything, so that case is skipped, saying so."""
    async with await Device.open(dut_spec.udid, timeouts=Timeouts(wda=90)) as phone:
        before = await phone.wda_status(dut_spec.wda_port)
        if before.ok:
            pytest.skip(f"WDA was already up on {dut_spec.name} ({before.detail}): this test checks that the "
                        "harness starts it; stop the runner (and whatever keeps it running) and run it again")
        run = await phone.ensure_wda(dut_spec.wda_runner or WDA_RUNNER, port=dut_spec.wda_port)
        try:
            assert run.started, run.detail
            assert (await phone.wda_status(dut_spec.wda_port)).ok
        finally:
            await run.stop()


async def test_screenshot_by_any_route_is_a_png(dut_spec):
    async with await Device.open(dut_spec.udid) as phone:
        data, route = await phone.screenshot()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and route in ("wda", "screenshotr", "dvt")


async def test_clock_offset_of_a_real_phone_is_small_and_stated(dut_spec, tmp_path):
    from harness.timeline import Timeline

    timeline = Timeline(tmp_path / "timeline.jsonl")
    async with await Device.open(dut_spec.udid, timeline=timeline) as phone:
        model = await phone.sync_clock()
    print(f"\nclock mapping of {dut_spec.name}: uncertainty {model.uncertainty_ns / 1e6:.3f} ms")
    assert model.uncertainty_ns < 20e6
    assert timeline.last("clock-offset", source="device-clock") is not None
