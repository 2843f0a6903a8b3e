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
from harness.device.tunnels import BROKER, TUNNELD, Lease, TunnelBroker, tunneld_tunnels
from harness.lab_faults import WDA_RUNNER_MISSING

WDA_PORT = 8100
WDA_RUNNER = "com.facebook.WebDriverAgentRunner.xctrunner"
FIX_RUNNER = ("build WebDriverAgentRunner signed with your team on a Mac (its bundle id becomes "
              "com.<team>.WebDriverAgentRunner.xctrunner), install it on the phone, and set the phone's "
              "wda_runner in the lab file to that bundle id (`pymobiledevice3 apps list --udid UDID` "
              "lists it)")
TESTMANAGERD = "com.apple.testmanagerd.lockdown.secure"


@dataclass(frozen=True)
class Status:
    """A check's outcome: ``ok`` True/False, or None when it could not be read."""

    ok: bool | None
    detail: str
    tag: str = ""
    """Why it is down, as a DeviceFault tag (``service-refused``: nothing listens; ``device-timeout``)."""


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
                          else str(exc), exc.tag)
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


async def tunnel_status(udid: str, ios_version: str, *, tunneld: tuple[str, int] = TUNNELD) -> Status:
    """Whether developer services can be reached: not needed before iOS 17; tunneld or userspace after.

    Lists tunneld's tunnels off the event loop (:func:`harness.device.tunnels.tunneld_tunnels`) and
    connects to none of them: a status check must not stall the loop the WHIP peer runs on.
    """
    parts = ios.parse(ios_version)
    if parts[0] < 17:
        return Status(True, f"iOS {ios_version}: developer services run over lockdown, no tunnel needed")
    tunnels = await tunneld_tunnels(tunneld)
    if tunnels is not None and tunnels.get(udid):
        return Status(True, "tunneld holds a tunnel")
    where = ("no tunneld on {}:{}".format(*tunneld) if tunnels is None
             else "tunneld has no tunnel to this phone")
    if parts[:2] >= (17, 4):
        return Status(None, f"{where}; iOS {ios_version} can use the in-process userspace tunnel "
                      "(no root), tried only when WDA must be started")
    return Status(False, f"{where}; iOS {ios_version} (17.0-17.3) needs "
                  "`sudo pymobiledevice3 remote tunneld`")


@dataclass
class WdaRun:
    """WDA on one phone. ``started`` says the harness launched it (and must keep ``task`` alive)."""

    udid: str
    started: bool
    detail: str
    task: asyncio.Task[Any] | None = None
    lease: Lease | None = field(default=None, repr=False)
    """The tunnel (or lockdown) the runner was launched through, released by :meth:`stop`."""

    @property
    def alive(self) -> bool:
        """False once a runner the harness launched has exited (its XCUITestService task ended)."""
        return self.task is None or not self.task.done()

    async def stop(self) -> None:
        """Stop a runner the harness started (cancelling XCUITestService stops it); no-op otherwise."""
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(BaseException):
                await self.task
            self.task = None
        if self.lease is not None:
            await self.lease.release()
            self.lease = None


async def ensure_wda(lockdown: Any, udid: str, *, runner_bundle_id: str = WDA_RUNNER, port: int = WDA_PORT,
                     timeout: float = 60.0, tunnels: TunnelBroker = BROKER) -> WdaRun:
    """WDA answering on ``port``: at once if it already does, else launched (real phones)."""
    status = await wda_status(lockdown, udid, port=port)
    if status.ok:
        return WdaRun(udid, False, f"already running: {status.detail}")
    return await launch_wda(lockdown, udid, runner_bundle_id=runner_bundle_id, port=port, timeout=timeout,
                            tunnels=tunnels)


async def launch_wda(lockdown: Any, udid: str, *, runner_bundle_id: str = WDA_RUNNER, port: int = WDA_PORT,
                     timeout: float = 60.0, tunnels: TunnelBroker = BROKER) -> WdaRun:
    """Start the runner with XCUITestService and wait until ``port`` answers; each missing
    prerequisite (Developer Mode, the disk image, a tunnel) is its own lab fault with its fix."""
    version = str(lockdown.product_version)
    async with device_errors("check Developer Mode", udid, 10):
        if lockdown.has_developer_mode and not await lockdown.get_developer_mode_status():
            raise DeviceFault(f"phone {udid}: WDA is down and cannot be started: Developer Mode is off; "
                              f"fix: {errors.FIX_DEV_MODE}", errors.DEVELOPER_MODE_OFF, udid)
    ddi = await ddi_status(lockdown, udid)
    if ddi.ok is False:
        raise DeviceFault(f"phone {udid}: WDA is down and cannot be started: {ddi.detail}; "
                          f"fix: {errors.FIX_DDI.replace('UDID', udid)}", errors.NO_DDI, udid)
    lease = await tunnels.lease(lockdown, udid, version)
    run = WdaRun(udid, True, "", lease=lease)
    try:
        run.task = await _launch(lease.provider, udid, version, runner_bundle_id, port, timeout)
    except BaseException:
        await run.stop()
        raise
    run.detail = f"started {runner_bundle_id} with XCUITestService ({lease.kind})"
    return run


async def _launch(provider: Any, udid: str, version: str, runner: str, port: int,
                  timeout: float) -> asyncio.Task[Any]:
    from pymobiledevice3 import usbmux
    from pymobiledevice3.exceptions import ConnectionFailedError
    from pymobiledevice3.services.dvt.testmanaged.xcuitest import TestConfig, XCUITestService

    try:
        async with device_errors(f"look up the WDA runner {runner}", udid, 20):
            config = await TestConfig.create_for(provider, runner_bundle_id=runner)
    except DeviceFault as exc:
        if exc.tag != errors.APP_MISSING:
            raise
        raise DeviceFault(f"phone {udid}: the WDA runner {runner} is not installed; fix: {FIX_RUNNER}",
                          WDA_RUNNER_MISSING, udid) from exc
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
