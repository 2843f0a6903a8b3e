"""A local TCP port that reaches a device port through usbmux Connect (e.g. WDA on 8100).

facebook-wda (and any HTTP client) talks to ``forward.url``; each accepted connection opens its own
usbmux Connect to the phone's port and pipes bytes both ways. pymobiledevice3's
``UsbmuxTcpForwarder`` does the same but has no deadline on the Connect and lets a vanished
phone's ``BadDevError``/``DeviceNotFoundError`` escape as unhandled task errors; this one bounds
the Connect, closes the local socket at once when the phone is gone, and counts what happened.

One usbmuxd connection per request. facebook-wda opens a new TCP connection per HTTP request, and
pymobiledevice3's ``select_device()`` + ``MuxDevice.connect()`` each go through ``create_mux()``,
which opens a probe socket (ReadBUID, to learn the protocol) and then a second socket: four
usbmuxd connections per WDA request (usbmux.py ``MuxConnection.create``, ``list_devices``,
``MuxDevice.connect``). Here the device and the protocol are resolved once per forward (one
``create_mux`` + ListDevices), and each request sends its Connect on one fresh socket. A real
usbmuxd gives the phone a new DeviceID on every re-attach (a replug, a reboot): a Connect that
answers BadDev re-resolves once, so a re-attached phone keeps working (the virtual usbmuxd does
the same; tests/device/test_forward.py covers both and counts the connections).
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from typing import Any

from harness.byte_pump import pump
from harness.device.errors import DeviceFault, device_errors


@dataclass
class ForwardStats:
    accepted: int = 0
    connected: int = 0
    failed: int = 0
    resolved: int = 0
    """How often the device was looked up on usbmuxd (once, plus once per re-attach)."""
    last_error: str = ""
    errors: list[str] = field(default_factory=list)


class PortForward:
    """``async with PortForward(udid, 8100) as fwd: fwd.url`` -> ``http://127.0.0.1:<port>``."""

    def __init__(self, udid: str, device_port: int, local_port: int = 0, host: str = "127.0.0.1",
                 connect_timeout: float = 5.0) -> None:
        self.udid = udid
        self.device_port = device_port
        self.local_port = local_port
        self.host = host
        self.connect_timeout = connect_timeout
        self.stats = ForwardStats()
        self._server: asyncio.base_events.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._device: Any = None  # pymobiledevice3 MuxDevice, resolved once
        self._mux_class: Any = None  # the usbmuxd protocol's connection class (plist or binary)

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the port forward is not started")
        return int(self._server.sockets[0].getsockname()[1])

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def start(self) -> PortForward:
        self._server = await asyncio.start_server(self._accept, self.host, self.local_port, backlog=128)
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            with contextlib.suppress(Exception):
                await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> PortForward:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def open_device_stream(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """One raw stream to the device port (one usbmux Connect), within ``connect_timeout``."""
        from pymobiledevice3.exceptions import BadDevError

        action = f"connect to device port {self.device_port}"
        async with device_errors(action, self.udid, self.connect_timeout):
            fresh = self._device is None
            if fresh:
                await self._resolve()
            try:
                sock = await self._connect()
            except BadDevError:
                if fresh:
                    raise
                await self._resolve()  # re-attached: usbmuxd gave the phone a new DeviceID
                sock = await self._connect()
            return await asyncio.open_connection(sock=sock)

    async def _resolve(self) -> None:
        """Look the phone up on usbmuxd (USB preferred, as ``usbmux.select_device``) and note the protocol."""
        from pymobiledevice3 import usbmux
        from pymobiledevice3.exceptions import DeviceNotFoundError

        self._device = None
        mux = await usbmux.create_mux()
        try:
            await mux.get_device_list(0.1)
            matches = [d for d in mux.devices if d.matches_udid(self.udid)]
        finally:
            await mux.close()
        self.stats.resolved += 1
        if not matches:
            raise DeviceNotFoundError(self.udid)
        self._device = next((d for d in matches if d.is_usb), matches[0])
        self._mux_class = type(mux)

    async def _connect(self) -> Any:
        """A usbmux Connect to the device port on one new usbmuxd socket; the socket is the pipe."""
        from pymobiledevice3.usbmux import MuxConnection

        sock = await MuxConnection.create_usbmux_socket()
        mux = self._mux_class(sock)
        try:
            return await mux.connect(self._device, self.device_port)
        except BaseException:
            await mux.close()
            raise

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self.stats.accepted += 1
        remote_writer: asyncio.StreamWriter | None = None
        try:
            try:
                remote_reader, remote_writer = await self.open_device_stream()
            except DeviceFault as exc:
                self.stats.failed += 1
                self.stats.last_error = str(exc)
                self.stats.errors.append(exc.tag)
                return
            self.stats.connected += 1
            await asyncio.gather(pump(reader, remote_writer), pump(remote_reader, writer))
        except asyncio.CancelledError:
            # stop() cancels open pipes; asyncio's stream callback would log a cancelled handler
            # as an error, so the handler ends normally instead.
            return
        finally:
            for w in (writer, remote_writer):
                if w is not None:
                    w.close()
            self._tasks.discard(task)
