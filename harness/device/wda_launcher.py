"""WebDriverAgent: is it up on the phone, and start it where it is not.

Lab phones keep WDA running (and the virtual phone always has it), so the usual answer is "already
running" after one ``GET /status`` over usbmux port 8100. Where it is not, the real-phone path
starts the WDA runner with pymobiledevice3's ``XCUITestService`` and polls 8100 until it answers.
That needs Developer Mode, the developer disk image and, from iOS 17, an RSD tunnel: each is
checked first and reported as its own lab fault with its fix, rather than as a hung launch.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from typing import Any

from harness import ios
from harness.device import errors
from harness.device.errors import DeviceFault, device_errors

WDA_PORT = 8100
WDA_RUNNER = "com.facebook.WebDriverAgentRunner.xctrunner"
TESTMANAGERD = "com.apple.testmanagerd.lockdown.secure"


@dataclass(frozen=True)
class Status:
    """A check's outcome: ``ok`` True/False, or None when it could not be read."""

    ok: bool | None
    detail: str


async def wda_status(lockdown: Any, udid: str, *, port: int = WDA_PORT, timeout: float = 5.0) -> Status:
    """``GET /status`` on the phone's WDA port through usbmux."""
    from pymobiledevice3.services.wda import WdaServiceClient

    try:
        async with device_errors("ask WDA for /status", udid, timeout):
            client = WdaServiceClient(service_provider=lockdown, port=port, timeout=timeout)
            status = await client.get_status()
    except DeviceFault as exc:
        if exc.tag in (errors.SERVICE_REFUSED, errors.WDA_DOWN, errors.DEVICE_TIMEOUT):
            return Status(False, f"nothing answers on device port {port}" if exc.tag == errors.SERVICE_REFUSED
                          else str(exc))
        raise
    value = status.get("value") or {}
    ready = value.get("ready", True) if isinstance(value, dict) else True
    message = value.get("message", "") if isinstance(value, dict) else ""
    return Status(bool(ready), message or "WDA answered /status")


async def ddi_status(lockdown: Any, udid: str, *, timeout: float = 10.0) -> Status:
    """Whether the developer disk image is mounted (Developer before iOS 17, Personalized from 17)."""
    from pymobiledevice3.services.mobile_image_mounter import MobileImageMounterService

    kind = "Developer" if ios.major(str(lockdown.product_version)) < 17 else "Personalized"
    try:
        async with (device_errors("ask mobile_image_mounter for the DDI", udid, timeout,
                                  service=MobileImageMounterService.SERVICE_NAME),
                    MobileImageMounterService(lockdown) as mounter):
            mounted = await mounter.is_image_mounted(kind)
    except DeviceFault as exc:
        if exc.tag in (errors.SERVICE_REFUSED, errors.NO_DDI):
            return Status(None, f"mobile_image_mounter is not available ({exc.tag}); "
                          "the mount state is unknown")
        raise
    return Status(mounted, f"{kind} image {'mounted' if mounted else 'not mounted'}")


async def tunnel_status(udid: str, ios_version: str) -> Status:
    """Whether developer services can be reached: not needed before iOS 17; tunneld or userspace after."""
    parts = ios.parse(ios_version)
    if parts[0] < 17:
        return Status(True, f"iOS {ios_version}: developer services run over lockdown, no tunnel needed")
    from pymobiledevice3.exceptions import TunneldConnectionError
    from pymobiledevice3.tunneld.api import get_tunneld_device_by_udid

    try:
        rsd = await asyncio.wait_for(get_tunneld_device_by_udid(udid), 8)
    except (TunneldConnectionError, OSError, TimeoutError):
        rsd = None
        tunneld = "no tunneld on 127.0.0.1:49151"
    else:
        tunneld = "tunneld has no tunnel to this phone" if rsd is None else "tunneld holds a tunnel"
    if rsd is not None:
        with contextlib.suppress(Exception):
            await rsd.close()
        return Status(True, tunneld)
    if parts[:2] >= (17, 4):
        return Status(None, f"{tunneld}; iOS {ios_version} can use the in-process userspace tunnel "
                      "(no root), tried only when WDA must be started")
    return Status(False, f"{tunneld}; iOS {ios_version} (17.0-17.3) needs "
                  "`sudo pymobiledevice3 remote tunneld`")


@dataclass
class WdaRun:
    """WDA on one phone. ``started`` says the harness launched it (and must keep ``task`` alive)."""

    udid: str
    started: bool
    detail: str
    task: asyncio.Task[Any] | None = None
    _tunnel: Any = field(default=None, repr=False)

    async def stop(self) -> None:
        """Stop a runner the harness started (cancelling XCUITestService stops it); no-op otherwise."""
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(BaseException):
                await self.task
            self.task = None
        if self._tunnel is not None:
            with contextlib.suppress(Exception):
                await self._tunnel.__aexit__(None, None, None)
            self._tunnel = None


async def ensure_wda(lockdown: Any, udid: str, *, runner_bundle_id: str = WDA_RUNNER, port: int = WDA_PORT,
                     timeout: float = 60.0) -> WdaRun:
    """WDA answering on ``port``: at once if it already does, else launched (real phones)."""
    status = await wda_status(lockdown, udid, port=port)
    if status.ok:
        return WdaRun(udid, False, f"already running: {status.detail}")
    version = str(lockdown.product_version)
    async with device_errors("check Developer Mode", udid, 10):
        if lockdown.has_developer_mode and not await lockdown.get_developer_mode_status():
            raise DeviceFault(f"phone {udid}: WDA is down and cannot be started: Developer Mode is off; "
                              f"fix: {errors.FIX_DEV_MODE}", errors.DEVELOPER_MODE_OFF, udid)
    ddi = await ddi_status(lockdown, udid)
    if ddi.ok is False:
        raise DeviceFault(f"phone {udid}: WDA is down and cannot be started: {ddi.detail}; "
                          f"fix: {errors.FIX_DDI.replace('UDID', udid)}", errors.NO_DDI, udid)
    provider, tunnel = await _developer_provider(lockdown, udid, version)
    run = WdaRun(udid, True, "", _tunnel=tunnel)
    try:
        run.task = await _launch(provider, udid, version, runner_bundle_id, port, timeout)
    except BaseException:
        await run.stop()
        raise
    run.detail = f"started {runner_bundle_id} with XCUITestService"
    return run


async def _developer_provider(lockdown: Any, udid: str, version: str) -> tuple[Any, Any]:
    """The service provider developer services go through: lockdown before iOS 17, a tunnel after."""
    if ios.major(version) < 17:
        return lockdown, None
    status = await tunnel_status(udid, version)
    if status.ok:
        from pymobiledevice3.tunneld.api import get_tunneld_device_by_udid

        return await get_tunneld_device_by_udid(udid), None
    if status.ok is None:  # iOS 17.4+: try the userspace tunnel
        from pymobiledevice3.remote.userspace_tunnel import UserspaceRsdTunnel

        tunnel = UserspaceRsdTunnel(serial=udid)
        async with device_errors("open a userspace RSD tunnel", udid, 30, ios_version=version,
                                 service="com.apple.internal.devicecompute.CoreDeviceProxy"):
            try:
                rsd = await tunnel.__aenter__()
            except Exception as exc:
                raise DeviceFault(f"phone {udid}: WDA is down and no RSD tunnel could be opened "
                                  f"({type(exc).__name__}: {exc}); fix: {errors.FIX_TUNNEL}",
                                  errors.TUNNEL_NEEDED, udid) from exc
        return rsd, tunnel
    raise DeviceFault(f"phone {udid}: WDA is down and iOS {version} needs an RSD tunnel to start it: "
                      f"{status.detail}; fix: {errors.FIX_TUNNEL}", errors.TUNNEL_NEEDED, udid)


async def _launch(provider: Any, udid: str, version: str, runner: str, port: int,
                  timeout: float) -> asyncio.Task[Any]:
    from pymobiledevice3 import usbmux
    from pymobiledevice3.exceptions import ConnectionFailedError
    from pymobiledevice3.services.dvt.testmanaged.xcuitest import TestConfig, XCUITestService

    async with device_errors(f"look up the WDA runner {runner}", udid, 20):
        config = await TestConfig.create_for(provider, runner_bundle_id=runner)
    task = asyncio.ensure_future(XCUITestService(provider).run(config))
    try:
        async with device_errors("start WDA with XCUITestService", udid, timeout, service=TESTMANAGERD,
                                 ios_version=version):
            while True:
                if task.done():
                    task.result()  # raises the runner's failure
                    raise DeviceFault(f"phone {udid}: the WDA runner exited before port {port} answered",
                                      errors.WDA_DOWN, udid)
                device = await usbmux.select_device(udid)
                if device is None:
                    raise DeviceFault(f"phone {udid}: detached while WDA was starting; "
                                      f"fix: {errors.FIX_CABLE}", errors.DEVICE_GONE, udid)
                try:
                    sock = await device.connect(port)
                except ConnectionFailedError:
                    await asyncio.sleep(0.25)
                else:
                    sock.close()
                    return task
    except BaseException:
        task.cancel()
        with contextlib.suppress(BaseException):
            await task
        raise
