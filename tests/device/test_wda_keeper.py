"""WDA kept alive for a run, against the virtual lab (real pymobiledevice3 over the virtual usbmuxd).

The virtual phone has no DTX, so a launch ends in its honest lab fault (the success path is the
``@pytest.mark.iphone`` test in test_real_wda.py). WDA "dies" here as a real runner does for the
harness: its device port stops answering (``del phone.device_ports[8100]``), and comes back when
the port answers again.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time

import pytest
from aiohttp import web

from harness.device import Device, DeviceFault
from harness.device import errors as tags
from harness.device.tunnels import TunnelBroker, tunneld_tunnels
from harness.device.wda_keeper import WdaKeeper
from harness.device.wda_launcher import WDA_RUNNER, tunnel_status
from harness.errors import LabFault
from harness.lab_faults import WDA_RUNNER_MISSING
from harness.timeline import Timeline
from tests.device.test_device_on_virtual_lab import QUICK

RUNNER = "com.example.WebDriverAgentRunner.xctrunner"


def kinds(timeline: Timeline) -> list[str]:
    return [e.kind for e in timeline.events(source="device") if e.kind.startswith("wda-")]


async def test_a_running_wda_is_adopted_and_not_launched(lab, dut, tmp_path):
    timeline = Timeline(tmp_path / "t.jsonl")
    async with await Device.open(dut.udid, timeouts=QUICK, timeline=timeline) as phone:
        keeper = WdaKeeper.for_device(phone, launch="xcuitest", runner=RUNNER, watch_s=0.1)
        run = await keeper.start()
        await asyncio.sleep(0.5)  # a few watch steps: all "up"
        await keeper.stop()
    assert run.started is False and run.task is None and keeper.relaunches == 0
    assert kinds(timeline) == ["wda-ready"]
    ready = timeline.first("wda-ready", source="device")
    assert ready is not None and ready.fields["started"] is False and ready.fields["udid"] == dut.udid


async def test_an_external_wda_that_is_down_is_a_lab_fault_naming_the_fix(lab, dut):
    del dut.device_ports[8100]
    async with await Device.open(dut.udid, timeouts=QUICK) as phone:
        keeper = WdaKeeper.for_device(phone, launch="external", name="DUT")
        with pytest.raises(LabFault) as info:
            await keeper.start()
    text = str(info.value)
    assert info.value.tag == tags.WDA_DOWN
    assert "external" in text and "xcodebuild" in text and "dvt xcuitest" in text and dut.udid in text


@pytest.mark.parametrize(("who", "runner", "tag", "words"), [
    # iOS 16: lockdownd refuses testmanagerd (a phone without its disk image does the same)
    ("caller", WDA_RUNNER, tags.NO_DDI, ["testmanagerd", "auto-mount"]),
    ("caller", RUNNER, WDA_RUNNER_MISSING, ["not installed", "wda_runner", "signed"]),
    ("dut", RUNNER, tags.TUNNEL_NEEDED, ["tunneld"]),  # iOS 17.5: no tunneld, the userspace tunnel fails
])
async def test_a_down_wda_is_launched_and_the_attempt_ends_in_the_honest_fault(lab, who, runner, tag, words):
    phone_spec = lab.phone("Caller" if who == "caller" else "DUT")
    del phone_spec.device_ports[8100]
    async with await Device.open(phone_spec.udid, timeouts=QUICK) as phone:
        keeper = WdaKeeper.for_device(phone, launch="xcuitest", runner=runner)
        with pytest.raises(DeviceFault) as info:
            await keeper.start()
    assert info.value.tag == tag, str(info.value)
    assert all(w in str(info.value) for w in words), str(info.value)
    assert keeper.tunnels.userspace_holder is None  # a failed tunnel frees the process's one slot


async def test_wda_dying_mid_run_is_relaunched_once_and_recorded(lab, dut, tmp_path):
    timeline = Timeline(tmp_path / "t.jsonl")
    saved = dut.device_ports[8100]
    async with await Device.open(dut.udid, timeouts=QUICK, timeline=timeline) as phone:
        keeper = WdaKeeper.for_device(phone, launch="xcuitest", runner=RUNNER, name="DUT")
        await keeper.start(watch=False)
        assert await keeper.check() == "up"
        del dut.device_ports[8100]  # the runner dies
        assert await keeper.check() == "relaunch-failed"  # one relaunch, which the virtual phone refuses
        assert await keeper.check() == "down"
        dut.device_ports[8100] = saved  # somebody restarted it
        assert await keeper.check() == "back"
        del dut.device_ports[8100]  # dies again: no second relaunch
        assert await keeper.check() == "lost"
        await keeper.stop()
    assert keeper.relaunches == 1
    assert kinds(timeline) == ["wda-ready", "wda-lost", "wda-relaunch-failed", "wda-back", "wda-lost"]
    failed = timeline.first("wda-relaunch-failed", source="device")
    assert failed is not None and failed.fields["tag"] == tags.TUNNEL_NEEDED
    assert failed.fields["phone"] == "DUT"
    lost = timeline.first("wda-lost", source="device")
    assert lost is not None and lost.fields["tag"] == tags.SERVICE_REFUSED


async def test_the_watcher_notices_an_external_wda_going_and_coming_back(lab, dut, tmp_path):
    timeline = Timeline(tmp_path / "t.jsonl")
    saved = dut.device_ports[8100]
    async with (await Device.open(dut.udid, timeouts=QUICK, timeline=timeline) as phone,
                WdaKeeper.for_device(phone, launch="external", watch_s=0.1) as keeper):
        del dut.device_ports[8100]
        await _until(lambda: "wda-lost" in kinds(timeline))
        dut.device_ports[8100] = saved
        await _until(lambda: "wda-back" in kinds(timeline))
    assert kinds(timeline) == ["wda-ready", "wda-lost", "wda-back"] and keeper.relaunches == 0


async def _until(cond, timeout: float = 10.0) -> None:
    end = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < end, "timed out"
        await asyncio.sleep(0.05)


# -- tunnels ---------------------------------------------------------------------------------------

async def _tunneld_stub(handler) -> tuple[web.AppRunner, tuple[str, int]]:
    """An HTTP server in tunneld's place: ``GET /`` as tunneld/server.py ``list_tunnels`` answers it."""
    app = web.Application()
    app.router.add_get("/", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, ("127.0.0.1", site._server.sockets[0].getsockname()[1])  # type: ignore[union-attr]


async def test_listing_tunneld_never_blocks_the_event_loop():
    """pymobiledevice3's get_tunneld_device_by_udid does a blocking requests.get (up to 5 s); a
    hung tunneld must not stall the loop the WHIP peer shares."""
    hung = socket.socket()  # accepts connections (kernel backlog) and never answers
    hung.bind(("127.0.0.1", 0))
    hung.listen(8)
    stalls: list[float] = []

    async def ticker():
        last = time.monotonic()
        while True:
            await asyncio.sleep(0.01)
            now = time.monotonic()
            stalls.append(now - last - 0.01)
            last = now

    tick = asyncio.ensure_future(ticker())
    started = time.monotonic()
    try:
        status = await tunnel_status("00008120-001A2B3C4D5E6F70", "17.5.1", tunneld=hung.getsockname())
    finally:
        tick.cancel()
        hung.close()
    assert time.monotonic() - started >= 4.5  # pymobiledevice3's 5 s request timeout ran out...
    assert status.ok is None and "no tunneld" in status.detail
    # ...while the loop kept ticking (a blocking call would stall it 4.5 s; a loaded host, < 1 s)
    assert len(stalls) > 100 and max(stalls) < 1.0, max(stalls)


async def test_tunneld_is_read_in_its_real_format():
    udid = "00008120-001A2B3C4D5E6F70"
    body = {udid: [{"tunnel-address": "fd7b:e5b:6f53::1", "tunnel-port": 61210, "interface": "utun4",
                    "auxiliary-metadata": None, "origin": None}]}

    async def listing(request):
        return web.Response(text=json.dumps(body), content_type="application/json")

    runner, address = await _tunneld_stub(listing)
    try:
        assert await tunneld_tunnels(address) == body
        assert (await tunnel_status(udid, "17.2", tunneld=address)).ok is True
        assert (await tunnel_status("00008120-0000000000000001", "17.2", tunneld=address)).ok is False
    finally:
        await runner.cleanup()
    assert await tunneld_tunnels(address) is None  # nothing listens any more


async def test_one_userspace_tunnel_per_process_a_second_phone_is_told_to_use_tunneld(lab, dut):
    broker = TunnelBroker(tunneld=("127.0.0.1", 9))  # no tunneld
    assert broker._claim("00008120-0000000000000001") is None  # another phone of this worker holds it
    async with await Device.open(dut.udid, timeouts=QUICK) as phone:
        with pytest.raises(DeviceFault) as info:
            await broker.lease(phone.lockdown, dut.udid, "17.5.1")
    text = str(info.value)
    assert info.value.tag == tags.TUNNEL_NEEDED and "one userspace tunnel" in text
    assert "00008120-0000000000000001" in text and "remote tunneld" in text
    assert broker.userspace_holder == "00008120-0000000000000001"  # the holder keeps it


async def test_ios_17_0_to_17_3_needs_tunneld():
    broker = TunnelBroker(tunneld=("127.0.0.1", 9))
    with pytest.raises(DeviceFault) as info:
        await broker.lease(None, "00008120-001A2B3C4D5E6F70", "17.2")
    assert info.value.tag == tags.TUNNEL_NEEDED and "17.0-17.3" in str(info.value)
    lease = await broker.lease("lockdown", "00008120-001A2B3C4D5E6F70", "16.7.10")
    assert (lease.provider, lease.kind) == ("lockdown", "lockdown")
