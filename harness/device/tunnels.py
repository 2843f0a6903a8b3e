"""Where developer services (the XCUITest launch of WDA) get their RSD tunnel: one provider per process.

iOS 17+ reaches testmanagerd only through an RSD tunnel. pymobiledevice3 offers two:

* **tunneld** (``sudo pymobiledevice3 remote tunneld``): one daemon holds a tunnel per phone; any
  process asks it over HTTP (``GET /`` on 127.0.0.1:49151 lists ``{udid: [{"tunnel-address",
  "tunnel-port", "interface", ...}]}``, tunneld/server.py ``list_tunnels``) and connects to the
  tunnel's address. Needed for iOS 17.0-17.3 (root).
* **the userspace tunnel** (``UserspaceRsdTunnel``, iOS 17.4+, no root): a PyTCP stack inside this
  process, and **only one per process** ("PyTCP's stack is a process-global singleton; aopen()
  raises if a userspace tunnel is already active", remote/userspace_tunnel.py).

So :class:`TunnelBroker` is the one place a process gets tunnels: tunneld whenever it holds the
phone's tunnel; else the userspace tunnel for the first iOS 17.4+ phone; a second phone needing
one while the first holds it is refused with the fix (run tunneld), never a crash inside
pymobiledevice3. A pytest worker holding a DUT and a caller on iOS 17+ therefore needs tunneld.

pymobiledevice3's ``get_tunneld_device_by_udid`` is ``async`` but lists tunnels with a blocking
``requests.get(timeout=5)`` (tunneld/api.py ``_list_tunnels``): on the harness's loop that would
freeze the WHIP peer for up to 5 s. Tunnels are listed here with ``get_tunneld_tunnels`` (the same
request in ``asyncio.to_thread``) and the RSD connected on this loop.

Real phone vs virtual lab: the virtual lab has no RSD, no DTX and no tunneld, so the success paths
(a tunnel opened, WDA launched over it) run only on hardware (``@pytest.mark.iphone``
tests/device/test_real_wda.py); the refusals and the non-blocking listing are tested against the
virtual lab and a stub tunneld HTTP server (tests/device/test_wda_keeper.py).
"""

from __future__ import annotations

import contextlib
import threading
from dataclasses import dataclass, field
from typing import Any

from harness import ios
from harness.device import errors
from harness.device.errors import DeviceFault, device_errors

TUNNELD = ("127.0.0.1", 49151)
"""pymobiledevice3's ``TUNNELD_DEFAULT_ADDRESS``."""
CORE_DEVICE_PROXY = "com.apple.internal.devicecompute.CoreDeviceProxy"
FIX_TUNNELD = ("run `sudo pymobiledevice3 remote tunneld` on this host and leave it running (one tunnel per "
               "phone, shared by every process)")


async def tunneld_tunnels(address: tuple[str, int] = TUNNELD) -> dict[str, list[dict[str, Any]]] | None:
    """The tunnels tunneld holds, by UDID; None when no tunneld answers. Never blocks the loop."""
    from pymobiledevice3.exceptions import TunneldConnectionError
    from pymobiledevice3.tunneld.api import get_tunneld_tunnels

    try:
        return await get_tunneld_tunnels(address)
    except TunneldConnectionError:
        return None


@dataclass
class Lease:
    """A service provider for developer services, held until :meth:`release`."""

    udid: str
    provider: Any
    """A LockdownClient (before iOS 17) or a connected RemoteServiceDiscoveryService."""
    kind: str
    """``lockdown``, ``tunneld`` or ``userspace``."""
    _close: Any = field(default=None, repr=False)
    _broker: TunnelBroker | None = field(default=None, repr=False)

    async def release(self) -> None:
        close, self._close = self._close, None
        if close is not None:
            with contextlib.suppress(Exception):
                await close()
        if self._broker is not None and self.kind == "userspace":
            self._broker._free(self.udid)
        self._broker = None


class TunnelBroker:
    """The process's one source of RSD tunnels (see the module docstring)."""

    def __init__(self, tunneld: tuple[str, int] = TUNNELD) -> None:
        self.tunneld = tunneld
        self._lock = threading.Lock()
        self._userspace: str | None = None
        """The UDID holding this process's userspace tunnel."""

    @property
    def userspace_holder(self) -> str | None:
        return self._userspace

    def _claim(self, udid: str) -> str | None:
        """Take the userspace slot for ``udid``; the current holder when another phone has it."""
        with self._lock:
            if self._userspace not in (None, udid):
                return self._userspace
            self._userspace = udid
            return None

    def _free(self, udid: str) -> None:
        with self._lock:
            if self._userspace == udid:
                self._userspace = None

    async def lease(self, lockdown: Any, udid: str, ios_version: str) -> Lease:
        """A provider for ``udid``'s developer services: lockdown before iOS 17, else a tunnel."""
        version = ios.parse(ios_version)
        if version[0] < 17:
            return Lease(udid, lockdown, "lockdown")
        tunnels = await tunneld_tunnels(self.tunneld)
        if tunnels is not None and tunnels.get(udid):
            return await self._from_tunneld(udid, tunnels[udid][0], ios_version)
        where = ("no tunneld on {}:{}".format(*self.tunneld) if tunnels is None
                 else "tunneld has no tunnel to it")
        if version[:2] < (17, 4):
            raise DeviceFault(f"phone {udid}: iOS {ios_version} (17.0-17.3) reaches developer services only "
                              f"through tunneld ({where}); fix: {FIX_TUNNELD}", errors.TUNNEL_NEEDED, udid)
        holder = self._claim(udid)
        if holder is not None:
            raise DeviceFault(f"phone {udid}: this process already holds its one userspace tunnel (for phone "
                              f"{holder}; pymobiledevice3 allows one per process) and {where}; fix: "
                              f"{FIX_TUNNELD}", errors.TUNNEL_NEEDED, udid)
        try:
            return await self._userspace_tunnel(udid, ios_version)
        except BaseException:
            self._free(udid)
            raise

    async def _from_tunneld(self, udid: str, details: dict[str, Any], ios_version: str) -> Lease:
        from pymobiledevice3.remote.remote_service_discovery import RemoteServiceDiscoveryService

        rsd = RemoteServiceDiscoveryService((details["tunnel-address"], details["tunnel-port"]),
                                            name=details.get("interface"))
        async with device_errors("connect to tunneld's tunnel", udid, 15, ios_version=ios_version):
            await rsd.connect()
        return Lease(udid, rsd, "tunneld", _close=rsd.close, _broker=self)

    async def _userspace_tunnel(self, udid: str, ios_version: str) -> Lease:
        from pymobiledevice3.remote.userspace_tunnel import UserspaceRsdTunnel

        tunnel = UserspaceRsdTunnel(serial=udid)
        async with device_errors("open a userspace RSD tunnel", udid, 30, ios_version=ios_version,
                                 service=CORE_DEVICE_PROXY):
            try:
                rsd = await tunnel.aopen()
            except Exception as exc:
                with contextlib.suppress(Exception):
                    await tunnel.aclose()
                raise DeviceFault(f"phone {udid}: no userspace RSD tunnel could be opened "
                                  f"({type(exc).__name__}: {exc}); fix: {errors.FIX_TUNNEL}",
                                  errors.TUNNEL_NEEDED, udid) from exc
        return Lease(udid, rsd, "userspace", _close=tunnel.aclose, _broker=self)


BROKER = TunnelBroker()
"""This process's broker: every keeper of this process leases through it."""
