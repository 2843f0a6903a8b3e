"""One phone, open over lockdown: the harness's single entry point to it.

The same code drives a real iPhone and a virtual one; only usbmuxd's address differs
(:func:`harness.device.usbmux.use_usbmuxd`). Every call has a deadline (:class:`Timeouts`) and
raises :class:`harness.device.errors.DeviceFault` (a LabFault) when the phone fails it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.device import apps as _apps
from harness.device.clock_sync import ClockModel, ClockTracker, lockdown_clock
from harness.device.crash_reports import CrashReportWatch
from harness.device.errors import device_errors
from harness.device.forward import PortForward
from harness.device.info import DeviceInfo, read_info
from harness.device.lockdown import DEFAULT_TIMEOUTS, Timeouts, connect
from harness.device.os_trace import DeviceLogStream, LogFilter
from harness.device.screenshot import screenshot
from harness.device.wda_launcher import WDA_PORT, WDA_RUNNER, Status, WdaRun, ensure_wda, wda_status
from harness.timeline import Timeline


class Device:
    """``async with await Device.open(udid, timeline=tl) as phone: ...``"""

    def __init__(self, udid: str, lockdown: Any, *, timeline: Timeline | None = None,
                 timeouts: Timeouts = DEFAULT_TIMEOUTS) -> None:
        self.udid = udid
        self.lockdown = lockdown
        self.timeline = timeline
        self.timeouts = timeouts
        self.clock = ClockTracker(self._read_clock, udid=udid, timeline=timeline)
        self._streams: list[DeviceLogStream] = []

    @classmethod
    async def open(cls, udid: str, *, timeline: Timeline | None = None, timeouts: Timeouts = DEFAULT_TIMEOUTS,
                   pair: bool = True) -> Device:
        lockdown = await connect(udid, timeouts, pair=pair)
        return cls(udid, lockdown, timeline=timeline, timeouts=timeouts)

    async def close(self) -> None:
        for stream in self._streams:
            await stream.stop()
        self._streams.clear()
        await self.clock.stop(force=True)
        await self.lockdown.close()

    async def __aenter__(self) -> Device:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def ios_version(self) -> str:
        return str(self.lockdown.product_version)

    @property
    def passcode_set(self) -> bool | None:
        """lockdownd's ``PasswordProtected`` among the values a paired host reads at connect (None when
        the phone withheld it: not paired yet). The doctor reads the same value (``read_info``)."""
        values = self.lockdown.all_values or {}
        return bool(values["PasswordProtected"]) if "PasswordProtected" in values else None

    # -- identity ------------------------------------------------------------------------------

    async def info(self) -> DeviceInfo:
        return await read_info(self.lockdown, self.udid, timeout=self.timeouts.query)

    # -- apps ----------------------------------------------------------------------------------

    async def apps(self, kind: str = "User") -> dict[str, _apps.AppInfo]:
        return await _apps.list_apps(self.lockdown, self.udid, kind=kind, timeout=self.timeouts.query * 2)

    async def app(self, bundle_id: str) -> _apps.AppInfo | None:
        """The installed app (its version in ``.version`` / ``.build``), or None."""
        return await _apps.app_info(self.lockdown, self.udid, bundle_id, timeout=self.timeouts.query * 2)

    async def install(self, ipa: str | Path) -> None:
        await _apps.install(self.lockdown, self.udid, ipa, timeout=self.timeouts.install)
        if self.timeline is not None:
            self.timeline.emit("device", "app-installed", udid=self.udid, ipa=str(ipa))

    async def uninstall(self, bundle_id: str) -> None:
        await _apps.uninstall(self.lockdown, self.udid, bundle_id, timeout=self.timeouts.install)
        if self.timeline is not None:
            self.timeline.emit("device", "app-uninstalled", udid=self.udid, bundle_id=bundle_id)

    # -- clock and log -------------------------------------------------------------------------

    async def _read_clock(self) -> float:
        async with device_errors("read the phone's clock", self.udid, self.timeouts.query):
            return await lockdown_clock(self.lockdown)()

    async def sync_clock(self) -> ClockModel:
        """Measure the phone's clock now (a burst of lockdown reads) and state it on the timeline."""
        return await self.clock.sync()

    async def log_stream(self, log_filter: LogFilter | None = None, *, timeline: Timeline | None = None,
                         source: str = "device-log", raw_path: str | Path | None = None,
                         own_thread: bool = True) -> DeviceLogStream:
        """Start streaming the phone's log (filtered) onto the timeline, every line to ``raw_path``,
        on a thread of its own (:class:`harness.device.os_trace.DeviceLogStream`); stop it with
        ``.stop()``."""
        tl = timeline or self.timeline
        if tl is None:
            raise ValueError("a log stream needs a timeline (Device.open(..., timeline=tl))")
        if self.clock.timeline is None:
            self.clock.timeline = tl
        stream = DeviceLogStream(self.udid, tl, self.clock, log_filter=log_filter, source=source,
                                 timeouts=self.timeouts, raw_path=raw_path, own_thread=own_thread)
        await stream.start()
        self._streams.append(stream)
        return stream

    # -- crash reports, screenshots ------------------------------------------------------------

    async def crash_watch(self) -> CrashReportWatch:
        """Note the reports on the phone now; ``await watch.collect(dir)`` later pulls the new ones."""
        watch = CrashReportWatch(self.lockdown, self.udid, timeline=self.timeline,
                                 timeout=self.timeouts.query * 6)
        await watch.begin()
        return watch

    async def screenshot(self, path: str | Path | None = None) -> tuple[bytes, str]:
        """(PNG bytes, route); written to ``path`` too when given."""
        data, route = await screenshot(self.lockdown, self.udid, timeout=self.timeouts.screenshot)
        if path is not None:
            Path(path).write_bytes(data)
        return data, route

    # -- ports and WDA -------------------------------------------------------------------------

    def forward(self, device_port: int, local_port: int = 0) -> PortForward:
        """A local port reaching ``device_port`` (use as ``async with phone.forward(8100) as fwd``)."""
        return PortForward(self.udid, device_port, local_port, connect_timeout=self.timeouts.port_connect)

    async def wda_status(self, port: int = WDA_PORT) -> Status:
        return await wda_status(self.lockdown, self.udid, port=port, timeout=self.timeouts.port_connect)

    async def ensure_wda(self, runner_bundle_id: str = WDA_RUNNER, port: int = WDA_PORT) -> WdaRun:
        run = await ensure_wda(self.lockdown, self.udid, runner_bundle_id=runner_bundle_id, port=port,
                               timeout=self.timeouts.wda)
        if self.timeline is not None:
            self.timeline.emit("device", "wda-ready", udid=self.udid, started=run.started, detail=run.detail)
        return run
