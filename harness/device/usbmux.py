"""usbmuxd: where it is, which phones are attached, and waiting for attach/detach.

The usbmuxd address is set in one place, :func:`use_usbmuxd`, through the ``USBMUXD_SOCKET_ADDRESS``
environment variable. pymobiledevice3 takes a ``usbmux_address`` argument too, but some of its
internal paths ignore it (``PlistUsbmuxLockdownClient.save_pair_record`` and the WDA probe call
``usbmux.create_mux()`` bare), while its socket layer reads the variable on every call. So the
harness never passes the argument: it sets the variable once and every path agrees.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from harness.device.errors import device_errors

ENV = "USBMUXD_SOCKET_ADDRESS"
SYSTEM_ADDRESS = "/var/run/usbmuxd"


def use_usbmuxd(address: str | None) -> str:
    """Point every pymobiledevice3 call of this process at ``address`` (a socket path or HOST:PORT).

    ``None`` keeps what the environment says (or the system default). Returns the address in use.
    """
    if address:
        os.environ[ENV] = str(address)
    return usbmuxd_address()


def usbmuxd_address() -> str:
    return os.environ.get(ENV) or SYSTEM_ADDRESS


@dataclass(frozen=True)
class Attached:
    """A phone as usbmuxd lists it."""

    udid: str
    device_id: int
    connection_type: str  # "USB" or "Network"


@dataclass(frozen=True)
class DeviceEvent:
    kind: str  # "attached" | "detached"
    udid: str
    device_id: int


async def list_devices(timeout: float | None = 5.0) -> list[Attached]:
    """Every phone usbmuxd has attached (USB first; a phone on USB and Wi-Fi is listed once, as USB)."""
    from pymobiledevice3 import usbmux

    async with device_errors("list devices", timeout=timeout):
        found = await usbmux.list_devices()
    by_udid: dict[str, Attached] = {}
    for d in found:
        current = by_udid.get(d.serial)
        if current is None or (current.connection_type != "USB" and d.is_usb):
            by_udid[d.serial] = Attached(d.serial, d.devid, d.connection_type)
    return sorted(by_udid.values(), key=lambda a: (a.connection_type != "USB", a.device_id))


async def probe_usbmuxd(timeout: float = 3.0) -> None:
    """Raise DeviceFault(usbmuxd-down) unless usbmuxd answers at :func:`usbmuxd_address`."""
    await list_devices(timeout)


class DeviceWatcher:
    """usbmuxd's Listen stream: attach and detach events as they happen.

    Use ``async with DeviceWatcher() as w: async for event in w: ...``. The phones attached when the
    watch starts come first, as ``attached`` events (that is what usbmuxd sends after Listen).
    """

    def __init__(self) -> None:
        self._mux: Any = None  # pymobiledevice3's MuxConnection once listening
        self._known: dict[int, str] = {}
        self._pending: list[DeviceEvent] = []

    async def __aenter__(self) -> DeviceWatcher:
        from pymobiledevice3 import usbmux

        async with device_errors("listen for devices", timeout=10):
            self._mux = await usbmux.create_mux()
            await self._mux.listen()
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._mux is not None:
            await self._mux.close()
            self._mux = None

    def __aiter__(self) -> AsyncIterator[DeviceEvent]:
        return self._events()

    async def next(self, timeout: float | None = None) -> DeviceEvent:
        """The next event; DeviceFault(device-timeout) when none comes within ``timeout``."""
        async with device_errors("wait for a device event", timeout=timeout):
            while not self._pending:
                await self._receive()
            return self._pending.pop(0)

    async def _events(self) -> AsyncIterator[DeviceEvent]:
        while True:
            yield await self.next()

    async def _receive(self) -> None:
        assert self._mux is not None, "use DeviceWatcher as an async context manager"
        await self._mux.receive_device_state_update()
        now = {d.devid: d.serial for d in self._mux.devices}
        for device_id, udid in now.items():
            if device_id not in self._known:
                self._pending.append(DeviceEvent("attached", udid, device_id))
        for device_id, udid in self._known.items():
            if device_id not in now:
                self._pending.append(DeviceEvent("detached", udid, device_id))
        self._known = now


def matches(udid_a: str, udid_b: str) -> bool:
    """usbmuxd may list a UDID with or without its dash."""
    return udid_a.replace("-", "").upper() == udid_b.replace("-", "").upper()


async def wait_for_device(udid: str, timeout: float = 30.0) -> Attached:
    """Return once ``udid`` is attached (at once if it already is); DeviceFault(device-timeout) otherwise."""
    async with device_errors(f"wait for {udid} to attach", udid, timeout), DeviceWatcher() as watcher:
        while True:
            event = await watcher.next()
            if event.kind == "attached" and matches(event.udid, udid):
                return Attached(event.udid, event.device_id, "USB")


async def wait_for_detach(udid: str, timeout: float = 30.0) -> None:
    """Return once ``udid`` is no longer attached (at once if it is not)."""
    async with device_errors(f"wait for {udid} to detach", udid, timeout), DeviceWatcher() as watcher:
        # Listening before listing: a detach between the two still arrives as an event.
        if not any(matches(a.udid, udid) for a in await list_devices(timeout=None)):
            return
        while True:
            event = await watcher.next()
            if event.kind == "detached" and matches(event.udid, udid):
                return
