"""A usbmuxd that serves virtual phones: the plist protocol as libimobiledevice's usbmuxd speaks it.

Framing: ``u32le length`` (including itself), ``u32le version`` (1 = plist), ``u32le message``
(8 = plist), ``u32le tag`` (echoed in the reply), then an XML plist. After a successful
``Connect`` (Result 0) the same socket is a raw byte pipe to the device port. Result numbers are
usbmuxd's: 0 OK, 1 BADCOMMAND, 2 BADDEV (also ENOENT for a missing pair record), 3 CONNREFUSED,
6 BADVERSION.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import plistlib
import socket
import struct
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness.errors import UsageError
from harness.sim.phone import VirtualPhone

RESULT_OK, RESULT_BADCOMMAND, RESULT_BADDEV, RESULT_CONNREFUSED, RESULT_BADVERSION = 0, 1, 2, 3, 6
MSG_RESULT, MSG_CONNECT, MSG_LISTEN, MSG_PLIST = 1, 2, 3, 8
VERSION_BINARY, VERSION_PLIST = 0, 1
SYSTEM_SOCKET = "/var/run/usbmuxd"
_APPLE_PRODUCT_ID = 0x12A8  # iPhone 5 and later in USB descriptors


def packet(version: int, message: int, tag: int, payload: bytes) -> bytes:
    return struct.pack("<IIII", 16 + len(payload), version, message, tag) + payload


def plist_packet(tag: int, body: dict[str, Any]) -> bytes:
    return packet(VERSION_PLIST, MSG_PLIST, tag, plistlib.dumps(body))


def result_packet(tag: int, number: int, version: int = VERSION_PLIST) -> bytes:
    if version == VERSION_PLIST:
        return plist_packet(tag, {"MessageType": "Result", "Number": number})
    return packet(VERSION_BINARY, MSG_RESULT, tag, struct.pack("<I", number))


class Usbmuxd:
    """One usbmuxd listening on a UNIX socket path or ``HOST:PORT`` (USBMUXD_SOCKET_ADDRESS syntax)."""

    def __init__(self, address: str, buid: str | None = None) -> None:
        self.address = address
        self.buid = buid or str(uuid.uuid4()).upper()
        self.pair_records: dict[str, bytes] = {}
        self.devices: dict[int, VirtualPhone] = {}  # DeviceID -> attached phone
        self._next_id = 1
        self._listeners: set[asyncio.StreamWriter] = set()
        self._servers: list[asyncio.AbstractServer] = []
        self._unlink: list[str] = []
        self.system_socket: str | None = None
        self.on_connect: Callable[[VirtualPhone, int], None] | None = None
        self.accepted = 0
        """Client connections accepted so far (what a client's usbmuxd traffic costs, for tests)."""

    # -- lifecycle -------------------------------------------------------------------------------

    async def start(self, also_system_socket: bool = False) -> None:
        try:
            self._servers.append(await self._listen(self.address))
        except OSError as exc:
            raise UsageError(
                f"usbmuxd cannot listen on {self.address}: {exc.strerror or exc}; choose another address "
                "(a socket path or HOST:PORT)"
            ) from None
        if also_system_socket and _system_socket_free():
            try:
                self._servers.append(await self._listen(SYSTEM_SOCKET))
                self.system_socket = SYSTEM_SOCKET
            except OSError:
                self.system_socket = None

    async def _listen(self, address: str) -> asyncio.AbstractServer:
        if ":" in address:
            host, port = address.rsplit(":", 1)
            server = await asyncio.start_server(self._client, host, int(port), backlog=512)
            if int(port) == 0:  # report the port the OS chose
                self.address = f"{host}:{server.sockets[0].getsockname()[1]}"
            return server
        path = Path(address)
        path.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        server = await asyncio.start_unix_server(self._client, str(path), backlog=512)
        self._unlink.append(str(path))
        return server

    async def stop(self) -> None:
        for server in self._servers:
            server.close()
        for writer in list(self._listeners):
            writer.close()
        for server in self._servers:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(server.wait_closed(), 2)
        for path in self._unlink:
            with contextlib.suppress(OSError):
                os.unlink(path)
        self._servers.clear()

    # -- devices ---------------------------------------------------------------------------------

    def device_id(self, phone: VirtualPhone) -> int | None:
        return next((i for i, p in self.devices.items() if p is phone), None)

    def attach(self, phone: VirtualPhone) -> int:
        """Plug the phone in: a new DeviceID (as usbmuxd gives on every attach), Attached to listeners."""
        existing = self.device_id(phone)
        if existing is not None:
            return existing
        device_id = self._next_id
        self._next_id += 1
        self.devices[device_id] = phone
        phone.attached = True
        phone.truth.emit("sim", "attached", udid=phone.udid, device_id=device_id)
        self._broadcast(self._attached_message(device_id, phone))
        return device_id

    def detach(self, phone: VirtualPhone) -> None:
        device_id = self.device_id(phone)
        if device_id is None:
            return
        del self.devices[device_id]
        phone.attached = False
        phone.drop_connections()
        phone.truth.emit("sim", "detached", udid=phone.udid, device_id=device_id)
        self._broadcast({"MessageType": "Detached", "DeviceID": device_id})

    def _attached_message(self, device_id: int, phone: VirtualPhone) -> dict[str, Any]:
        return {
            "MessageType": "Attached",
            "DeviceID": device_id,
            "Properties": {
                "ConnectionSpeed": 480000000,
                "ConnectionType": "USB",
                "DeviceID": device_id,
                "LocationID": 0x14100000 + device_id * 0x1000,
                "ProductID": _APPLE_PRODUCT_ID,
                "SerialNumber": phone.udid,
                "USBSerialNumber": phone.udid.replace("-", ""),
            },
        }

    def _broadcast(self, body: dict[str, Any]) -> None:
        data = plist_packet(0, body)
        for writer in list(self._listeners):
            if writer.is_closing():
                self._listeners.discard(writer)
                continue
            writer.write(data)

    # -- protocol --------------------------------------------------------------------------------

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        handed_over = False
        try:
            while True:
                try:
                    head = await reader.readexactly(16)
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                length, version, message, tag = struct.unpack("<IIII", head)
                if length < 16 or length > 1 << 20:
                    return
                payload = await reader.readexactly(length - 16)
                if version != VERSION_PLIST or message != MSG_PLIST:
                    # libusbmuxd's binary protocol is not modelled; usbmuxd answers BADVERSION to
                    # versions it does not speak.
                    writer.write(result_packet(tag, RESULT_BADVERSION, VERSION_BINARY))
                    await writer.drain()
                    continue
                try:
                    request = plistlib.loads(payload)
                except Exception:
                    writer.write(result_packet(tag, RESULT_BADCOMMAND))
                    await writer.drain()
                    continue
                kind = request.get("MessageType")
                if kind == "Connect":
                    handed_over = await self._connect(request, tag, reader, writer)
                    if handed_over:
                        return
                    continue
                if kind == "Listen":
                    writer.write(result_packet(tag, RESULT_OK))
                    for device_id, phone in list(self.devices.items()):
                        writer.write(plist_packet(0, self._attached_message(device_id, phone)))
                    self._listeners.add(writer)
                    await writer.drain()
                    continue
                writer.write(self._answer(kind, request, tag))
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, OSError):
            pass
        finally:
            self._listeners.discard(writer)
            if not handed_over:
                writer.close()

    def _answer(self, kind: str | None, request: dict[str, Any], tag: int) -> bytes:
        if kind == "ReadBUID":
            return plist_packet(tag, {"BUID": self.buid})
        if kind == "ListDevices":
            return plist_packet(
                tag, {"DeviceList": [self._attached_message(i, p) for i, p in self.devices.items()]}
            )
        if kind == "ListListeners":
            return plist_packet(tag, {"ListenerList": []})
        if kind == "ReadPairRecord":
            record = self.pair_records.get(str(request.get("PairRecordID", "")))
            if record is None:
                return result_packet(tag, RESULT_BADDEV)  # usbmuxd sends -ENOENT's magnitude (2)
            return plist_packet(tag, {"PairRecordData": record})
        if kind == "SavePairRecord":
            record_id = request.get("PairRecordID")
            data = request.get("PairRecordData")
            if not record_id or not isinstance(data, bytes):
                return result_packet(tag, RESULT_BADCOMMAND)
            self.pair_records[str(record_id)] = data
            device_id = request.get("DeviceID")
            if device_id in self.devices:
                self._broadcast({"MessageType": "Paired", "DeviceID": device_id})
            return result_packet(tag, RESULT_OK)
        if kind == "DeletePairRecord":
            self.pair_records.pop(str(request.get("PairRecordID", "")), None)
            return result_packet(tag, RESULT_OK)
        return result_packet(tag, RESULT_BADCOMMAND)

    async def _connect(
        self, request: dict[str, Any], tag: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> bool:
        phone = self.devices.get(int(request.get("DeviceID", -1)))
        if phone is None:
            writer.write(result_packet(tag, RESULT_BADDEV))
            await writer.drain()
            return False
        port = socket.ntohs(int(request.get("PortNumber", 0)) & 0xFFFF)
        phone.connect_counts[port] += 1
        if port not in phone.device_ports:
            writer.write(result_packet(tag, RESULT_CONNREFUSED))
            await writer.drain()
            return False
        writer.write(result_packet(tag, RESULT_OK))
        await writer.drain()
        if self.on_connect is not None:
            self.on_connect(phone, port)
        await phone.serve_port(port, reader, writer)
        return True


def _system_socket_free() -> bool:
    """True when nothing answers on /var/run/usbmuxd and we may create it there."""
    if not os.access(os.path.dirname(SYSTEM_SOCKET), os.W_OK):
        return False
    if not os.path.exists(SYSTEM_SOCKET):
        return True
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.settimeout(0.5)
        probe.connect(SYSTEM_SOCKET)
        return False  # a live usbmuxd: leave it alone
    except OSError:
        return True  # a stale socket file
    finally:
        probe.close()
