"""pymobiledevice3's own API, unmodified, against the virtual lab: lockdown, pairing, services."""

from __future__ import annotations

import asyncio

from pymobiledevice3.lockdown import create_using_usbmux
from pymobiledevice3.services.afc import AfcService
from pymobiledevice3.services.crash_reports import CrashReportsManager
from pymobiledevice3.services.installation_proxy import InstallationProxyService
from pymobiledevice3.services.os_trace import OsTraceService, SyslogLogLevel
from pymobiledevice3.services.syslog import SyslogService
from pymobiledevice3.services.wda import WdaServiceClient
from pymobiledevice3.tcp_forwarder import UsbmuxTcpForwarder

from harness.sim.ipa import build_ipa
from tests.sim.relay_wait import until_listening


async def test_lockdown_values_session_and_domains(lab, dut):
    async with await create_using_usbmux(serial=dut.udid) as lockdown:
        assert lockdown.paired
        assert lockdown.product_version == "17.5.1"
        assert lockdown.product_type == "iPhone15,2"
        assert lockdown.all_values["DeviceName"] == "DUT"
        assert lockdown.all_values["PhoneNumber"] == "+15550100001"  # only after the TLS session
        dut.battery_level, dut.charging = 42, False
        battery = await lockdown.get_value(domain="com.apple.mobile.battery")
        assert battery["BatteryCurrentCapacity"] == 42 and battery["BatteryIsCharging"] is False
        assert await lockdown.get_developer_mode_status() is True
        dut.developer_mode = False
        assert await lockdown.get_developer_mode_status() is False
        assert (
            abs((await lockdown.get_value(key="TimeIntervalSince1970")) - dut.clock.phone_time_ns() / 1e9) < 2
        )


async def test_autopair_with_no_record(lab):
    caller = lab.phone("Caller")
    caller.paired_host_ids.clear()
    caller.paired = False
    lab.usbmuxd.pair_records.pop(caller.udid)
    async with await create_using_usbmux(serial=caller.udid, autopair=True) as lockdown:
        assert lockdown.paired
        assert caller.paired and caller.paired_host_ids == {lockdown.pair_record["HostID"]}
    # the client handed its record to usbmuxd (SavePairRecord), as it does with a real usbmuxd
    assert caller.udid in lab.usbmuxd.pair_records
    assert [e.kind for e in caller.truth.events(kind="paired")] == ["paired"]


async def test_apps_install_lookup_uninstall(lab, dut, tmp_path):
    ipa = build_ipa(tmp_path / "Voice.ipa", "com.example.voice", "2.1", "42")
    progress = []
    async with await create_using_usbmux(serial=dut.udid) as lockdown:
        async with InstallationProxyService(lockdown) as proxy:
            await proxy.install_from_local(ipa, handler=lambda p, *a: progress.append(p))
        async with InstallationProxyService(lockdown) as proxy:
            apps = await proxy.get_apps(application_type="User")
            browsed = await proxy.browse({"ApplicationType": "User"})
        assert apps["com.example.voice"]["CFBundleShortVersionString"] == "2.1"
        assert apps["com.example.voice"]["CFBundleVersion"] == "42"
        assert "com.apple.mobilephone" not in apps  # a system app
        assert "com.example.voice" in {a["CFBundleIdentifier"] for a in browsed}
        assert progress[-1] == 90 and progress == sorted(progress)
        async with AfcService(lockdown) as afc:  # the staged .ipa was removed again
            assert await afc.listdir("/PublicStaging/pymobiledevice3") == []
        async with InstallationProxyService(lockdown) as proxy:
            await proxy.uninstall("com.example.voice")
            assert "com.example.voice" not in await proxy.get_apps()
    assert [e.kind for e in dut.truth.events(source="sim") if e.kind.startswith("app-")] == [
        "app-installed",
        "app-uninstalled",
    ]


async def test_os_trace_records_parse_into_every_field(lab, dut):
    async with await create_using_usbmux(serial=dut.udid) as lockdown:
        pids = await OsTraceService(lockdown).get_pid_list()
        assert pids["Payload"][str(dut.processes["mediaserverd"].pid)]["ProcessName"] == "mediaserverd"
        listening = dut.log_listener_count
        stream = OsTraceService(lockdown).syslog()
        first = asyncio.ensure_future(stream.__anext__())
        await until_listening(dut, listening)
        dut.log(
            "mediaserverd",
            "AVAudioSession interruption began",
            subsystem="com.apple.coreaudio",
            category="AVAudioSession",
            level="error",
        )
        entry = await asyncio.wait_for(first, 10)
        dut.log("VoiceApp", "HARNESS-EVENT resumed", level="debug")
        second = await asyncio.wait_for(stream.__anext__(), 10)
        await stream.aclose()
    assert entry.pid == dut.processes["mediaserverd"].pid
    assert entry.filename == "/usr/sbin/mediaserverd"
    assert entry.label.subsystem == "com.apple.coreaudio" and entry.label.category == "AVAudioSession"
    assert entry.level == SyslogLogLevel.ERROR
    assert entry.message == "AVAudioSession interruption began"
    assert (
        second.level == SyslogLogLevel.DEBUG
        and second.label is None
        and second.message == "HARNESS-EVENT resumed"
    )
    assert second.mach_timestamp > entry.mach_timestamp


async def test_syslog_relay_lines(lab, dut):
    async with await create_using_usbmux(serial=dut.udid) as lockdown, SyslogService(lockdown) as syslog:
        listening = dut.log_listener_count
        lines = syslog.watch()
        first = asyncio.ensure_future(lines.__anext__())
        await until_listening(dut, listening)
        for i in range(3):
            dut.log("SpringBoard", f"line {i}")
        got = [await asyncio.wait_for(first, 10), await asyncio.wait_for(lines.__anext__(), 10)]
        await lines.aclose()
    assert [line.split(": ", 1)[1] for line in got] == ["line 0", "line 1"]
    assert f"DUT SpringBoard[{dut.processes['SpringBoard'].pid}] <Notice>" in got[0]


async def test_crash_reports_list_pull_and_flush(lab, dut, tmp_path):
    path = dut.add_crash_report("VoiceApp")
    async with (
        await create_using_usbmux(serial=dut.udid) as lockdown,
        CrashReportsManager(lockdown) as crashes,
    ):
        await crashes.flush()
        assert path in await crashes.ls("/")
        (tmp_path / "out").mkdir()
        await crashes.pull(str(tmp_path / "out"), entry=path)
        report = await crashes.parse(path)
    assert (tmp_path / "out" / path.lstrip("/")).read_bytes() == dut.crash_fs.read(path)
    assert report.name == "VoiceApp"


async def test_crash_watch_sees_a_new_report(lab, dut):
    async with (
        await create_using_usbmux(serial=dut.udid) as lockdown,
        CrashReportsManager(lockdown) as crashes,
    ):
        reports = crashes.watch(raw=True)
        first = asyncio.ensure_future(reports.__anext__())
        await asyncio.sleep(0.3)
        dut.add_crash_report("VoiceApp")
        text = await asyncio.wait_for(first, 10)
        await reports.aclose()
    assert '"app_name": "VoiceApp"' in text


async def test_wda_status_through_usbmux_and_forwarder(lab, dut):
    async with await create_using_usbmux(serial=dut.udid) as lockdown:
        status = await WdaServiceClient(lockdown).get_status()
    assert status["value"]["ready"] is True
    ready = asyncio.Event()
    forwarder = UsbmuxTcpForwarder(dut.udid, dst_port=8100, src_port=0, listening_event=ready)
    task = asyncio.ensure_future(forwarder.start(address="127.0.0.1"))
    await asyncio.wait_for(ready.wait(), 10)
    reader, writer = await asyncio.open_connection("127.0.0.1", forwarder.listening_port)
    writer.write(b"GET /status HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    body = await asyncio.wait_for(reader.read(), 10)
    writer.close()
    forwarder.stop()
    await asyncio.wait_for(task, 10)
    assert b'"ready": true' in body
    assert dut.connect_counts[8100] == 2


async def test_image_mounter_reports_the_ddi_by_ios_version(lab, dut):
    from pymobiledevice3.services.mobile_image_mounter import MobileImageMounterService

    caller = lab.phone("Caller")
    async with await create_using_usbmux(serial=dut.udid) as lockdown:
        async with MobileImageMounterService(lockdown) as mounter:
            assert await mounter.is_image_mounted("Personalized")  # iOS 17+
            assert not await mounter.is_image_mounted("Developer")
        dut.ddi_mounted = False
        async with MobileImageMounterService(lockdown) as mounter:
            assert not await mounter.is_image_mounted("Personalized")
    caller.paired_host_ids.add(lab.host.host_id)
    async with await create_using_usbmux(serial=caller.udid) as lockdown:
        assert lockdown.all_values["TimeZone"] == "UTC"
        async with MobileImageMounterService(lockdown) as mounter:
            assert await mounter.is_image_mounted("Personalized")  # 18.2


async def test_notification_proxy_relays_posted_names(lab, dut):
    from pymobiledevice3.services.notification_proxy import NotificationProxyService

    from harness.sim.services.notification_proxy import post

    async with (
        await create_using_usbmux(serial=dut.udid) as lockdown,
        NotificationProxyService(lockdown) as proxy,
    ):
        await proxy.notify_register_dispatch("com.apple.mobile.application_installed")
        await asyncio.sleep(0.2)
        post(dut, "com.apple.springboard.lockstate")  # not observed: not relayed
        post(dut, "com.apple.mobile.application_installed")
        events = proxy.receive_notification()
        event = await asyncio.wait_for(events.__anext__(), 10)
    assert event["Name"] == "com.apple.mobile.application_installed"
