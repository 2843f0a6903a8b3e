"""facebook-wda's ``USBClient`` through the lab's usbmuxd on /var/run/usbmuxd, errors included (no such
alert, invalid session id recovery, stale element), and harness.phone over ``http+usbmux://``.

USBClient only knows /var/run/usbmuxd; the lab takes that socket only when it is free, so the test
is skipped (with the reason) when a real usbmuxd or another lab holds it.
"""

from __future__ import annotations

import asyncio

import pytest
import wda

from harness.phone import Phone
from harness.sim.lab import LabConfig, VirtualLab


def _errors_through_usbmux(udid: str) -> None:
    c = wda.USBClient(udid, port=8100)
    assert c.status()["ready"] is True

    # no such alert
    assert c.alert.exists is False
    with pytest.raises(wda.WDARequestError) as info:
        c.alert.text  # noqa: B018
    assert info.value.value["error"] == "no such alert"

    # invalid session id: the base client adopts the session that replaced its own
    old = c.session_id
    new = wda.USBClient(udid, port=8100).session().session_id
    assert new != old
    assert c.app_state("com.apple.springboard").value in (1, 4)  # answered after the recovery
    assert c.session_id == new

    # stale element: the "Call ...?" prompt's Cancel button, after the prompt went away
    c.open_url("tel:+15550000000")
    cancel = c(name="Cancel", className="Button").get(timeout=5)
    assert cancel.label == "Cancel"
    c.alert.dismiss()
    assert c.alert.exists is False
    with pytest.raises(wda.WDAStaleElementReferenceError):
        cancel.bounds  # noqa: B018


async def test_usbclient_errors_and_a_call_through_the_system_usbmuxd(tmp_path) -> None:
    config = LabConfig.default(
        2,
        ios_versions=["17.5.1", "26.1"],
        state_dir=tmp_path,
        system_socket=True,
        extensions=("harness.sim.wda",),
    )
    async with VirtualLab.running(config) as lab:
        if lab.usbmuxd.system_socket is None:
            pytest.fail("/var/run/usbmuxd is taken (a real usbmuxd or another lab): stop it, USBClient "
                        "only knows that path")
        dut, caller = lab.phones.values()
        await asyncio.to_thread(_errors_through_usbmux, dut.udid)
        assert dut.connect_counts[8100] >= 1

        events: list[str] = []
        lab.wda.carrier.subscribe(lambda e: events.append(e.kind))
        a = Phone(f"http+usbmux://{caller.udid}:8100", name="caller", artifacts=tmp_path, timeout=15)
        b = Phone(f"http+usbmux://{dut.udid}:8100", name="dut", artifacts=tmp_path, timeout=15)
        assert await asyncio.to_thread(lambda: b.ios_major) == 17
        await asyncio.to_thread(a.dial, f"facetime-audio:{dut.phone_number}")
        match = await asyncio.to_thread(b.answer_call)
        assert match.locator.label == "SpringBoard button name=Accept"
        await asyncio.to_thread(b.end_call)
        assert events == ["dialing", "ringing", "answered", "ended"]
        assert lab.wda.boards[dut.udid].call is None and lab.wda.boards[caller.udid].call is None
    await asyncio.wait_for(lab.wda.stopper, 10)
