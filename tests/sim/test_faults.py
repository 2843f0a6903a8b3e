"""Every fault the control API can switch on surfaces as the right pymobiledevice3 exception."""

from __future__ import annotations

import asyncio
import time

import aiohttp
import pytest
from pymobiledevice3.exceptions import (
    AppInstallError,
    ConnectionFailedError,
    ConnectionTerminatedError,
    DeviceNotFoundError,
    InvalidServiceError,
    PairingDialogResponsePendingError,
    PasswordRequiredError,
    UserDeniedPairingError,
)
from pymobiledevice3.lockdown import create_using_usbmux
from pymobiledevice3.services.installation_proxy import InstallationProxyService
from pymobiledevice3.services.os_trace import OsTraceService
from pymobiledevice3.services.screenshot import ScreenshotService
from pymobiledevice3.services.syslog import SyslogService
from pymobiledevice3.usbmux import select_device

from harness.sim.ipa import build_ipa
from tests.sim.relay_wait import until_listening


async def _control(lab, method: str, path: str, body: dict | None = None) -> dict:
    async with (
        aiohttp.ClientSession() as session,
        session.request(method, lab.control_url + path, json=body) as r,
    ):
        assert r.status == 200, await r.text()
        return await r.json()


def _unpair(lab, phone) -> None:
    phone.paired_host_ids.clear()
    phone.paired = False
    lab.usbmuxd.pair_records.pop(phone.udid, None)


async def test_detach_mid_stream_then_device_not_found(lab, dut):
    async with await create_using_usbmux(serial=dut.udid) as lockdown:
        listening = dut.log_listener_count
        stream = OsTraceService(lockdown).syslog()
        nxt = asyncio.ensure_future(stream.__anext__())
        await until_listening(dut, listening)
        await _control(lab, "POST", f"/phones/{dut.udid}/detach")
        with pytest.raises(ConnectionTerminatedError):
            await asyncio.wait_for(nxt, 10)
    with pytest.raises(DeviceNotFoundError):
        await create_using_usbmux(serial=dut.udid)
    await _control(lab, "POST", f"/phones/{dut.udid}/attach")
    async with await create_using_usbmux(serial=dut.udid) as lockdown:
        assert lockdown.paired


async def test_refused_service_and_developer_services_are_invalid_service(lab, dut):
    async with await create_using_usbmux(serial=dut.udid) as lockdown:
        with pytest.raises(InvalidServiceError):  # no developer disk image on a virtual phone
            await ScreenshotService(lockdown).take_screenshot()
        await _control(
            lab, "POST", f"/phones/{dut.udid}/faults", {"refused_services": ["com.apple.syslog_relay"]}
        )
        with pytest.raises(InvalidServiceError):
            async with SyslogService(lockdown):
                pass
        await _control(lab, "DELETE", f"/phones/{dut.udid}/faults")
        async with SyslogService(lockdown) as syslog:
            assert syslog.service is not None


async def test_passcode_lock_is_password_protected(lab, dut):
    await _control(lab, "POST", f"/phones/{dut.udid}/faults", {"passcode_locked": True})
    async with await create_using_usbmux(serial=dut.udid) as lockdown:
        with pytest.raises(PasswordRequiredError):
            await InstallationProxyService(lockdown).get_apps()


async def test_install_failure_carries_installd_code(lab, dut, tmp_path):
    await _control(
        lab, "POST", f"/phones/{dut.udid}/faults", {"install_error": "ApplicationVerificationFailed"}
    )
    ipa = build_ipa(tmp_path / "a.ipa", "com.example.voice")
    async with (
        await create_using_usbmux(serial=dut.udid) as lockdown,
        InstallationProxyService(lockdown) as proxy,
    ):
        with pytest.raises(
            AppInstallError, match="ApplicationVerificationFailed: Failed to verify code signature"
        ):
            await proxy.install_from_local(ipa)
    assert "com.example.voice" not in dut.apps


async def test_slow_trust_prompt_then_pairs(lab):
    caller = lab.phone("Caller")
    _unpair(lab, caller)
    await _control(lab, "POST", f"/phones/{caller.udid}/faults", {"trust_prompt_s": 1.5})
    with pytest.raises(PairingDialogResponsePendingError):
        await create_using_usbmux(serial=caller.udid, autopair=True, pair_timeout=0)
    start = time.monotonic()
    async with await create_using_usbmux(serial=caller.udid, autopair=True, pair_timeout=20) as lockdown:
        assert lockdown.paired
    assert time.monotonic() - start < 15


async def test_denied_trust_and_unknown_fault(lab):
    caller = lab.phone("Caller")
    _unpair(lab, caller)
    await _control(lab, "POST", f"/phones/{caller.udid}/faults", {"deny_pairing": True})
    with pytest.raises(UserDeniedPairingError):
        await create_using_usbmux(serial=caller.udid, autopair=True, pair_timeout=0)
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{lab.control_url}/phones/{caller.udid}/faults", json={"no_such": 1}) as r,
    ):
        assert r.status == 400
        assert "unknown fault 'no_such'" in (await r.json())["error"]


async def test_wda_port_closed_is_connection_failed(lab, dut):
    del dut.device_ports[8100]
    device = await select_device(dut.udid)
    with pytest.raises(ConnectionFailedError):
        await device.connect(8100)


async def test_a_locked_phone_with_a_passcode_is_password_protected(lab, dut):
    await _control(lab, "PATCH", f"/phones/{dut.udid}", {"passcode_set": True, "locked": True})
    async with await create_using_usbmux(serial=dut.udid) as lockdown:
        with pytest.raises(PasswordRequiredError):
            await InstallationProxyService(lockdown).get_apps()
        await _control(lab, "PATCH", f"/phones/{dut.udid}", {"locked": False})
        assert "com.apple.mobilephone" in await InstallationProxyService(lockdown).get_apps()


async def test_usb_glitch_reattaches_by_itself(lab, dut):
    from pymobiledevice3 import usbmux

    mux = await usbmux.create_mux()
    await mux.listen()
    for _ in lab.phones:
        await asyncio.wait_for(mux.receive_device_state_update(), 5)
    await _control(lab, "POST", f"/phones/{dut.udid}/detach", {"reattach_after_s": 0.3})
    await asyncio.wait_for(mux.receive_device_state_update(), 5)
    assert dut.udid not in [d.serial for d in mux.devices]
    await asyncio.wait_for(mux.receive_device_state_update(), 5)
    assert dut.udid in [d.serial for d in mux.devices]
    await mux.close()
