"""The WDA port forward's usbmuxd cost: one connection per request, the phone resolved once.

Counted on the virtual usbmuxd's accept count. A real usbmuxd (Linux usbmuxd, macOS) speaks the
same plist protocol and gives a re-attached phone a new DeviceID, as the virtual one does: the
re-attach test covers what a replug or reboot does to a running forward.
"""

from __future__ import annotations

import aiohttp

from harness.device import Device
from tests.device.test_device_on_virtual_lab import QUICK

REQUESTS = 20


async def _get_status(url: str, n: int) -> None:
    # a new TCP connection per request, as facebook-wda makes
    for _ in range(n):
        async with (aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) as http,
                    http.get(f"{url}/status") as response):
            assert (await response.json())["value"]["ready"] is True


async def test_each_wda_request_costs_one_usbmuxd_connection(lab, dut):
    from pymobiledevice3 import usbmux

    async with await Device.open(dut.udid, timeouts=QUICK) as phone, phone.forward(8100) as fwd:
        before = lab.usbmuxd.accepted
        await _get_status(fwd.url, REQUESTS)
        after = lab.usbmuxd.accepted
        # the way pymobiledevice3's own helpers connect (what the forward did before): look the
        # phone up, then connect, each through create_mux (a ReadBUID probe socket, then a socket)
        old_before = lab.usbmuxd.accepted
        for _ in range(REQUESTS):
            device = await usbmux.select_device(dut.udid)
            sock = await device.connect(8100)
            sock.close()
        old = (lab.usbmuxd.accepted - old_before) / REQUESTS
    new = (after - before - 2) / REQUESTS  # the one-time lookup: a probe socket and a ListDevices socket
    print(f"\nusbmuxd connections per WDA request: before {old:.1f} (select_device + connect), "
          f"after {new:.1f} (resolved once: {fwd.stats.resolved} lookup, {after - before} connections "
          f"for {REQUESTS} requests)")
    assert old == 4
    assert after - before == REQUESTS + 2 and fwd.stats.resolved == 1
    assert fwd.stats.connected == REQUESTS


async def test_a_reattached_phone_is_resolved_again(lab, dut):
    async with await Device.open(dut.udid, timeouts=QUICK) as phone, phone.forward(8100) as fwd:
        await _get_status(fwd.url, 2)
        lab.detach(dut.udid)
        lab.attach(dut.udid)  # a new DeviceID, as usbmuxd gives on every attach
        await _get_status(fwd.url, 2)
    assert fwd.stats.resolved == 2 and fwd.stats.connected == 4 and fwd.stats.failed == 0
