"""The device layer against the virtual lab: the real pymobiledevice3 client over usbmuxd/lockdownd.

Scenes are set up through ``harness.sim`` (faults, logs, crashes, attach/detach) and the harness's
results are compared with the phone's ground truth.
"""

from __future__ import annotations

import asyncio
import base64
import plistlib
import zipfile

import aiohttp
import pytest
from aiohttp import web

from harness.device import Device, DeviceFault, DeviceWatcher, LogFilter, Timeouts, list_devices
from harness.device import errors as tags
from harness.device.usbmux import wait_for_detach, wait_for_device
from harness.errors import UsageError
from harness.sim.lab import PhoneSpec
from harness.sim.phone import pipe_to
from harness.timeline import Timeline
from tests.device.conftest import start_lab

QUICK = Timeouts(connect=10, trust=0, query=10, install=30, stream_open=10, screenshot=10, port_connect=5)


def make_ipa(path, bundle_id="com.example.voice", version="2.3.1", build="57"):
    info = {"CFBundleIdentifier": bundle_id, "CFBundleShortVersionString": version, "CFBundleVersion": build,
            "CFBundleExecutable": "VoiceApp", "CFBundleName": "Voice App"}
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("Payload/VoiceApp.app/Info.plist", plistlib.dumps(info))
        z.writestr("Payload/VoiceApp.app/VoiceApp", b"\xcf\xfa\xed\xfe" + b"\0" * 64)
    return path


# -- listing and waiting ---------------------------------------------------------------------------

async def test_lists_attached_phones(lab, dut, caller):
    found = {a.udid: a for a in await list_devices()}
    assert set(found) == {dut.udid, caller.udid}
    assert all(a.connection_type == "USB" for a in found.values())


async def test_watches_detach_and_attach(lab, dut):
    async with DeviceWatcher() as watcher:
        initial = {(await watcher.next(5)).udid, (await watcher.next(5)).udid}
        assert dut.udid in initial
        lab.detach(dut.udid)
        event = await watcher.next(5)
        assert (event.kind, event.udid) == ("detached", dut.udid)
        lab.attach(dut.udid)
        event = await watcher.next(5)
        assert (event.kind, event.udid) == ("attached", dut.udid)


async def test_waits_for_a_phone_to_come_and_go(lab, dut):
    lab.detach(dut.udid)
    waiting = asyncio.ensure_future(wait_for_device(dut.udid, timeout=10))
    await asyncio.sleep(0.2)
    assert not waiting.done()
    lab.attach(dut.udid)
    assert (await waiting).udid == dut.udid
    gone = asyncio.ensure_future(wait_for_detach(dut.udid, timeout=10))
    await asyncio.sleep(0.2)
    assert not gone.done()
    lab.detach(dut.udid)
    await gone
    with pytest.raises(DeviceFault) as info:
        await wait_for_device(dut.udid, timeout=0.3)
    assert info.value.tag == tags.DEVICE_TIMEOUT


# -- info and apps ---------------------------------------------------------------------------------

async def test_info_matches_the_phone(lab, dut, caller):
    async with await Device.open(caller.udid, timeouts=QUICK) as phone:
        info = await phone.info()
    assert (info.udid, info.name, info.product_type, info.ios, info.build) == (
        caller.udid, "Caller", "iPhone14,5", "16.7.10", caller.build)
    assert info.model == "iPhone 13"
    assert (info.battery_level, info.charging) == (12, False)
    assert info.developer_mode is True and info.passcode_set is False and info.paired


async def test_install_list_version_uninstall(lab, dut, tmp_path):
    ipa = make_ipa(tmp_path / "VoiceApp.ipa")
    timeline = Timeline()
    async with await Device.open(dut.udid, timeline=timeline, timeouts=QUICK) as phone:
        assert await phone.app("com.example.voice") is None
        await phone.install(ipa)
        app = await phone.app("com.example.voice")
        assert app is not None and (app.version, app.build, app.kind) == ("2.3.1", "57", "User")
        assert "com.example.voice" in await phone.apps("User")
        assert "com.apple.mobilephone" not in await phone.apps("User")
        await phone.uninstall("com.example.voice")
        assert await phone.app("com.example.voice") is None
    assert "com.example.voice" not in dut.apps
    assert [e.kind for e in timeline.events(source="device")] == ["app-installed", "app-uninstalled"]


async def test_install_failure_carries_installds_code(lab, dut, tmp_path):
    dut.faults.update({"install_error": "ApplicationVerificationFailed"})
    async with await Device.open(dut.udid, timeouts=QUICK) as phone:
        with pytest.raises(DeviceFault) as info:
            await phone.install(make_ipa(tmp_path / "VoiceApp.ipa"))
    assert info.value.tag == tags.INSTALL_FAILED
    assert "ApplicationVerificationFailed" in str(info.value) and "0xe8008015" in str(info.value)
    assert "com.example.voice" not in dut.apps


async def test_a_bad_ipa_is_the_users_error(lab, dut, tmp_path):
    (tmp_path / "not.ipa").write_text("hello")
    async with await Device.open(dut.udid, timeouts=QUICK) as phone:
        with pytest.raises(UsageError, match=r"no such \.ipa"):
            await phone.install(tmp_path / "missing.ipa")
        with pytest.raises(UsageError, match="not a zip"):
            await phone.install(tmp_path / "not.ipa")


# -- the log on the lab clock ----------------------------------------------------------------------

async def _log_and_collect(phone_model, phone, timeline, seconds, interval_s=0.5):
    """Log mediaserverd lines (and noise) for ``seconds``; return the truth records."""
    phone.clock.interval_s = interval_s
    await phone.log_stream(LogFilter(processes=("mediaserverd", "VoiceApp"),
                                     subsystems=("com.apple.coreaudio", "com.example.voice")))
    truth = []
    loop = asyncio.get_running_loop()
    end = loop.time() + seconds
    i = 0
    while loop.time() < end:
        truth.append(phone_model.log("mediaserverd", f"route change {i}", subsystem="com.apple.coreaudio",
                                     category="AVAudioSession"))
        phone_model.log("SpringBoard", "noise", subsystem="com.apple.springboard", category="x")
        i += 1
        await asyncio.sleep(0.1)
    truth.append(phone_model.log("VoiceApp", "HARNESS-EVENT interruption-began reason=call",
                                 subsystem="com.example.voice", category="audio"))
    for _ in range(100):
        if len(timeline.events(source="device-log", kind="log")) + len(
                timeline.events(source="device-log", kind="app-event")) >= len(truth):
            break
        await asyncio.sleep(0.05)
    return truth


async def test_log_events_land_on_the_lab_clock_within_5_ms(lab, dut):
    """DUT: clock 3.2 s ahead, 80 ppm fast, UTC-7 (conftest.SKEWED)."""
    timeline = Timeline()
    async with await Device.open(dut.udid, timeline=timeline, timeouts=QUICK) as phone:
        truth = await _log_and_collect(dut, phone, timeline, seconds=2.5)
    logged = timeline.events(source="device-log", kind="log")
    assert [e.fields["message"] for e in logged] == [r.message for r in truth[:-1]]  # noise filtered out
    errors_ms = [abs(e.t_ns - r.t_mono_ns) / 1e6 for e, r in zip(logged, truth, strict=False)]
    assert max(errors_ms) < 5.0, errors_ms
    app_event = timeline.first("app-event", source="device-log")
    assert app_event is not None and app_event.fields["event"] == "interruption-began"
    assert abs(app_event.t_ns - truth[-1].t_mono_ns) < 5e6
    stated = timeline.last("clock-offset", source="device-clock")
    assert stated is not None and stated.fields["ahead_of_host_ms"] == pytest.approx(3200, abs=5)
    assert stated.fields["bursts"] >= 3


async def test_a_fast_drifting_clock_is_tracked(tmp_path, isolated):
    """1000 ppm: untracked, the mapping would be 4 ms off after 4 s; tracked it stays within 5 ms."""
    lab = await start_lab(tmp_path, PhoneSpec(name="Drifty", ios="18.2", clock_offset_s=-42.0,
                                              clock_drift_ppm=1000.0, utc_offset_min=9 * 60 + 30))
    try:
        phone_model = lab.phone("Drifty")
        timeline = Timeline()
        async with await Device.open(phone_model.udid, timeline=timeline, timeouts=QUICK) as phone:
            truth = await _log_and_collect(phone_model, phone, timeline, seconds=4.0)
            model = phone.clock.model
        logged = timeline.events(source="device-log", kind="log")
        errors_ms = [abs(e.t_ns - r.t_mono_ns) / 1e6 for e, r in zip(logged, truth, strict=False)]
        assert len(logged) >= 30 and max(errors_ms) < 5.0, errors_ms
        assert model is not None and model.drift_ppm == pytest.approx(1000, abs=300)
    finally:
        await lab.stop()


# -- crash reports, screenshots, port forwarding, WDA ------------------------------------------------

async def test_only_crash_reports_written_during_the_test_are_collected(lab, dut, tmp_path):
    dut.add_crash_report("OldCrash")
    timeline = Timeline()
    async with await Device.open(dut.udid, timeline=timeline, timeouts=QUICK) as phone:
        watch = await phone.crash_watch()
        dut.add_crash_report("VoiceApp")
        reports = await watch.collect(tmp_path / "crashes")
    assert [r.process for r in reports] == ["VoiceApp"]
    assert reports[0].local_path.read_bytes() == dut.crash_fs.get(reports[0].device_path).data
    assert reports[0].timestamp.endswith("-0700")
    event = timeline.first("crash-report", source="device")
    assert event is not None and event.fields["process"] == "VoiceApp"


async def test_port_forward_reaches_wda_through_usbmux(lab, dut):
    before = dut.connect_counts[8100]
    async with (await Device.open(dut.udid, timeouts=QUICK) as phone, phone.forward(8100) as fwd,
                aiohttp.ClientSession() as http, http.get(f"{fwd.url}/status") as response):
        body = await response.json()
    assert body["value"]["ready"] is True
    assert dut.connect_counts[8100] == before + 1 and fwd.stats.connected == 1


async def test_facebook_wda_reaches_wda_through_the_forward(lab, dut):
    import wda

    async with await Device.open(dut.udid, timeouts=QUICK) as phone, phone.forward(8100) as fwd:
        # facebook-wda is synchronous (requests): run it off the loop that serves the forward.
        status = await asyncio.to_thread(lambda: wda.Client(fwd.url).status())
    assert status["ready"] is True and status["os"]["version"] == dut.ios_version


async def test_port_forward_to_a_detached_phone_closes_the_client(lab, dut):
    async with await Device.open(dut.udid, timeouts=QUICK) as phone, phone.forward(8100) as fwd:
        lab.detach(dut.udid)
        async with aiohttp.ClientSession() as http:
            with pytest.raises(aiohttp.ClientError):
                async with http.get(f"{fwd.url}/status") as response:
                    await response.read()
    # aiohttp retries a dropped idempotent request once: every attempt failed the same way.
    assert fwd.stats.connected == 0 and fwd.stats.failed >= 1
    assert set(fwd.stats.errors) == {tags.DEVICE_GONE}


async def test_screenshot_through_wda(lab, dut):
    png = b"\x89PNG\r\n\x1a\n" + b"fake image"

    async def shot(request):
        return web.json_response({"value": base64.b64encode(png).decode(), "sessionId": None})

    app = web.Application()
    app.router.add_get("/screenshot", shot)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    dut.device_ports[8100] = pipe_to("127.0.0.1", site._server.sockets[0].getsockname()[1])
    try:
        async with await Device.open(dut.udid, timeouts=QUICK) as phone:
            assert await phone.screenshot() == (png, "wda")
    finally:
        await runner.cleanup()


async def test_screenshot_without_wda_or_ddi_names_every_route(lab, caller):
    del caller.device_ports[8100]
    async with await Device.open(caller.udid, timeouts=QUICK) as phone:
        with pytest.raises(DeviceFault) as info:
            await phone.screenshot()
    text = str(info.value)
    assert "WDA:" in text and "screenshotr:" in text and "DVT:" in text and "auto-mount" in text


async def test_wda_already_running_is_not_relaunched(lab, dut):
    async with await Device.open(dut.udid, timeouts=QUICK) as phone:
        assert (await phone.wda_status()).ok
        run = await phone.ensure_wda()
    assert run.started is False and run.task is None


async def test_starting_wda_without_a_disk_image_is_a_ddi_fault(lab, caller):
    del caller.device_ports[8100]
    caller.ddi_mounted = False
    async with await Device.open(caller.udid, timeouts=QUICK) as phone:
        assert (await phone.wda_status()).ok is False
        with pytest.raises(DeviceFault) as info:
            await phone.ensure_wda()
    assert info.value.tag == tags.NO_DDI and "Developer image not mounted" in str(info.value)


async def test_a_refused_testmanagerd_is_a_ddi_fault_too(lab, caller):
    """The DDI reads as mounted but lockdownd refuses testmanagerd: what a phone with a stale or
    mismatched image does (and the virtual phone, which emulates no XCUITest)."""
    del caller.device_ports[8100]
    async with await Device.open(caller.udid, timeouts=QUICK) as phone:
        with pytest.raises(DeviceFault) as info:
            await phone.ensure_wda()
    assert info.value.tag == tags.NO_DDI and "testmanagerd" in str(info.value)


async def test_starting_wda_on_ios_17_without_a_tunnel_is_a_tunnel_fault(lab, dut):
    del dut.device_ports[8100]
    async with await Device.open(dut.udid, timeouts=QUICK) as phone:
        with pytest.raises(DeviceFault) as info:
            await phone.ensure_wda()
    assert info.value.tag == tags.TUNNEL_NEEDED and "tunneld" in str(info.value)
