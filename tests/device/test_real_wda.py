"""WDA on a real phone: up (launched by the keeper or started elsewhere), its session adopted, and the
runner still alive afterwards. Run with ``--lab lab.yaml`` naming a hardware lab (the DUT is used).

pymobiledevice3 #1825: a WDA launched by ``developer dvt xcuitest`` (and by ``xcodebuild test``)
died about 33 s after an external client created a session (Appium on iPadOS 26.4). The virtual
WDA never dies of that, so only a real phone can say whether the harness's adoption is safe.
"""

from __future__ import annotations

import asyncio
import os

import pytest

from harness.device import Device, use_usbmuxd
from harness.device.wda_keeper import WdaKeeper
from harness.lab.schema import Lab
from harness.phone.wda_client import WdaConnection
from harness.timeline import Timeline

pytestmark = pytest.mark.iphone

WATCH_S = 45.0
"""Longer than the ~33 s after which the runner died in #1825."""


def _lab(request: pytest.FixtureRequest) -> Lab:
    path = request.config.getoption("--lab") or os.environ.get("HARNESS_SHARED_LAB")
    if not path:
        pytest.fail("run with --lab lab.yaml naming a hardware lab")
    lab = Lab.load(path)
    if lab.usbmuxd:
        use_usbmuxd(lab.usbmuxd)
    return lab


async def test_wda_up_and_adopted_without_killing_the_runner(request, tmp_path, record_property):
    spec = _lab(request).role("dut")[0]
    timeline = Timeline(tmp_path / "timeline.jsonl")
    async with await Device.open(spec.udid, timeline=timeline) as device:
        keeper = WdaKeeper.for_device(device, launch=spec.wda.launch, runner=spec.wda_runner,
                                      port=spec.wda_port, name=spec.name, watch_s=2.0)
        run = await keeper.start()
        record_property("wda_started_by_harness", run.started)
        try:
            async with device.forward(spec.wda_port) as fwd:
                conn = WdaConnection(fwd.url, name=spec.name)
                sid, created = await asyncio.to_thread(conn.adopt_session)
                record_property("wda_session_created", created)
                waited = 0.0
                while waited < WATCH_S:
                    await asyncio.sleep(5.0)
                    waited += 5.0
                    status = await asyncio.to_thread(conn.wait_ready, 10.0)
                    assert status.get("ready", True), status
                again = await asyncio.to_thread(conn.adopt_session)
        finally:
            await keeper.stop()
    assert again == (sid, False), "the session was lost: WDA restarted or replaced it"
    lost = [e.kind for e in keeper.events if e.kind in ("wda-lost", "wda-relaunched", "wda-relaunch-failed")]
    assert not lost, f"the runner died after the session was adopted: {keeper.events}"
    assert run.alive
