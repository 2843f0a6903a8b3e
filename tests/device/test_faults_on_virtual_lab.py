"""Every fault the virtual lab can inject reaches the harness as the right DeviceFault."""

from __future__ import annotations

import asyncio
import time

import pytest

from harness.device import Device, DeviceFault, LogFilter, Timeouts
from harness.device import errors as tags
from harness.errors import ExitCode
from harness.sim.lab import PhoneSpec
from harness.timeline import Timeline
from tests.device.conftest import start_lab

QUICK = Timeouts(connect=10, trust=0, query=10, install=30, stream_open=10, screenshot=10, port_connect=5)


async def test_detach_mid_stream_ends_the_stream_with_device_gone(lab, dut):
    timeline = Timeline()
    phone = await Device.open(dut.udid, timeline=timeline, timeouts=QUICK)
    try:
        stream = await phone.log_stream(LogFilter(processes=("mediaserverd",)))
        dut.log("mediaserverd", "before the cable was pulled")
        lab.detach(dut.udid)
        for _ in range(200):
            if not stream.running:
                break
            await asyncio.sleep(0.025)
        assert not stream.running
        assert stream.error is not None and stream.error.tag == tags.DEVICE_GONE
        lost = timeline.first("stream-lost", source="device-log")
        assert lost is not None and lost.fields["tag"] == tags.DEVICE_GONE
        with pytest.raises(DeviceFault) as info:
            await phone.info()
        assert info.value.tag == tags.DEVICE_GONE
        assert info.value.exit_code == ExitCode.LAB_FAULT
    finally:
        lab.attach(dut.udid)
        await phone.close()


async def test_opening_a_detached_phone_is_device_gone(lab, dut):
    lab.detach(dut.udid)
    with pytest.raises(DeviceFault) as info:
        await Device.open(dut.udid, timeouts=QUICK)
    assert info.value.tag == tags.DEVICE_GONE and dut.udid in str(info.value)


@pytest.mark.parametrize("service", ["com.apple.mobile.installation_proxy", "com.apple.os_trace_relay"])
async def test_a_refused_service_is_service_refused(lab, dut, service):
    dut.faults.update({"refused_services": [service]})
    timeline = Timeline()
    async with await Device.open(dut.udid, timeline=timeline, timeouts=QUICK) as phone:
        with pytest.raises(DeviceFault) as info:
            if service.endswith("installation_proxy"):
                await phone.apps()
            else:
                await phone.log_stream()
    assert info.value.tag == tags.SERVICE_REFUSED and service in str(info.value)


async def test_a_passcode_locked_phone_is_locked(lab, dut):
    dut.faults.update({"passcode_locked": True})
    async with await Device.open(dut.udid, timeouts=QUICK) as phone:
        with pytest.raises(DeviceFault) as info:
            await phone.apps()
    assert info.value.tag == tags.PASSCODE_LOCKED
    assert "Auto-Lock" in str(info.value)


async def _unpaired_lab(tmp_path, **faults):
    lab = await start_lab(tmp_path, PhoneSpec(name="New", ios="18.2", paired=False))
    phone = lab.phone("New")
    phone.faults.update(faults)
    return lab, phone


async def test_a_slow_trust_prompt_is_waited_for_within_the_trust_timeout(tmp_path, isolated):
    lab, phone = await _unpaired_lab(tmp_path, trust_prompt_s=1.5)
    try:
        started = time.monotonic()
        async with await Device.open(phone.udid, timeouts=Timeouts(connect=10, trust=8)) as device:
            info = await device.info()
        assert info.paired and info.name == "New"
        assert time.monotonic() - started >= 1.0  # it really waited for the dialog
        assert phone.paired
    finally:
        await lab.stop()


async def test_an_unanswered_trust_prompt_is_trust_pending(tmp_path, isolated):
    lab, phone = await _unpaired_lab(tmp_path, trust_prompt_s=30)
    try:
        with pytest.raises(DeviceFault) as info:
            await Device.open(phone.udid, timeouts=Timeouts(connect=10, trust=0))
        assert info.value.tag == tags.TRUST_PENDING and "tap Trust" in str(info.value)
    finally:
        await lab.stop()


async def test_dont_trust_is_trust_denied(tmp_path, isolated):
    lab, phone = await _unpaired_lab(tmp_path, deny_pairing=True)
    try:
        with pytest.raises(DeviceFault) as info:
            await Device.open(phone.udid, timeouts=Timeouts(connect=10, trust=0))
        assert info.value.tag == tags.TRUST_DENIED
    finally:
        await lab.stop()


async def test_without_pairing_an_unpaired_phone_is_not_paired(tmp_path, isolated):
    lab, phone = await _unpaired_lab(tmp_path)
    try:
        with pytest.raises(DeviceFault) as info:
            await Device.open(phone.udid, timeouts=QUICK, pair=False)
        assert info.value.tag == tags.NOT_PAIRED and "lockdown pair" in str(info.value)
        assert not phone.paired  # the harness did not pair behind the user's back
    finally:
        await lab.stop()


async def test_doctor_reads_a_locked_phone_without_inventing_values(lab, dut):
    from harness.device.doctor import FAIL, UNKNOWN, evaluate, gather

    dut.faults.update({"passcode_locked": True})
    facts = await gather(dut.udid, bundle_id="com.example.voice", timeouts=QUICK)
    checks = {c.key: c for c in evaluate(facts)}
    assert checks["passcode"].status == FAIL
    assert checks["app"].status == UNKNOWN and checks["app"].detail == "the phone is locked with a passcode"
    assert checks["wda"].status == "ok" and checks["battery"].detail == "87% (charging)"
