"""Real-phone-only paths behind the same interface: run them with a paired iPhone attached.

``HARNESS_IPHONE_UDID`` names the phone (else the first attached one). They are skipped on the
virtual lab (the ``iphone`` marker).
"""

from __future__ import annotations

import os

import pytest

from harness.device import Device, Timeouts, list_devices

pytestmark = pytest.mark.iphone


async def _udid() -> str:
    udid = os.environ.get("HARNESS_IPHONE_UDID")
    if udid:
        return udid
    attached = await list_devices()
    if not attached:
        pytest.fail("no iPhone attached (set HARNESS_IPHONE_UDID or plug one in)")
    return attached[0].udid


async def test_wda_is_started_with_xcuitest_when_down():
    async with await Device.open(await _udid(), timeouts=Timeouts(wda=90)) as phone:
        run = await phone.ensure_wda()
        try:
            assert (await phone.wda_status()).ok
        finally:
            await run.stop()


async def test_screenshot_by_any_route_is_a_png():
    async with await Device.open(await _udid()) as phone:
        data, route = await phone.screenshot()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and route in ("wda", "screenshotr", "dvt")


async def test_clock_offset_of_a_real_phone_is_small_and_stated(tmp_path):
    from harness.timeline import Timeline

    timeline = Timeline(tmp_path / "timeline.jsonl")
    async with await Device.open(await _udid(), timeline=timeline) as phone:
        model = await phone.sync_clock()
    assert model.uncertainty_ns < 20e6
    assert timeline.last("clock-offset", source="device-clock") is not None
