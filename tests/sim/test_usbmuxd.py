"""usbmuxd at the wire: framing, tag echo, result codes, Listen events, many short connections."""

from __future__ import annotations

import asyncio
import os
import plistlib
import socket
import struct

import pytest
from pymobiledevice3 import usbmux
from pymobiledevice3.exceptions import BadDevError, ConnectionFailedError, NotPairedError


async def _request(address: str, body: dict, tag: int = 7) -> tuple[tuple[int, int, int, int], dict]:
    reader, writer = await asyncio.open_unix_connection(address)
    payload = plistlib.dumps(body)
    writer.write(struct.pack("<IIII", 16 + len(payload), 1, 8, tag) + payload)
    await writer.drain()
    head = struct.unpack("<IIII", await reader.readexactly(16))
    reply = plistlib.loads(await reader.readexactly(head[0] - 16))
    writer.close()
    return head, reply


async def test_replies_are_plist_version_1_and_echo_the_tag(lab):
    head, reply = await _request(lab.usbmuxd_address, {"MessageType": "ReadBUID"}, tag=4242)
    assert head[1:] == (1, 8, 4242)
    assert reply["BUID"] == lab.usbmuxd.buid


async def test_list_devices_shows_every_attached_phone_as_usb(lab):
    devices = await usbmux.list_devices()
    assert sorted(d.serial for d in devices) == sorted(lab.phones)
    assert all(d.connection_type == "USB" for d in devices)


async def test_unknown_message_is_badcommand_and_missing_pair_record_is_2(lab):
    _, reply = await _request(lab.usbmuxd_address, {"MessageType": "Frobnicate"})
    assert reply == {"MessageType": "Result", "Number": 1}
    _, reply = await _request(lab.usbmuxd_address, {"MessageType": "ReadPairRecord", "PairRecordID": "nope"})
    assert reply == {"MessageType": "Result", "Number": 2}
    mux = await usbmux.create_mux()
    with pytest.raises(NotPairedError):
        await mux.get_pair_record("nope")
    await mux.close()


async def test_connect_result_codes(lab, dut):
    device = next(d for d in await usbmux.list_devices() if d.serial == dut.udid)
    with pytest.raises(ConnectionFailedError):  # nothing listens on the device port: CONNREFUSED (3)
        await device.connect(4444)
    assert dut.connect_counts[4444] == 1
    ghost = usbmux.MuxDevice(devid=999, serial="x", connection_type="USB")
    with pytest.raises(BadDevError):  # no such device: BADDEV (2)
        await ghost.connect(62078)
    sock = await device.connect(8100)  # the phone's WDA
    loop = asyncio.get_running_loop()
    await loop.sock_sendall(sock, b"GET /status HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    data = b""
    while chunk := await loop.sock_recv(sock, 65536):
        data += chunk
    sock.close()
    assert data.startswith(b"HTTP/1.1 200") and b"WebDriverAgent is ready" in data
    assert dut.connect_counts[8100] == 1


async def test_listen_reports_detach_and_attach(lab, dut):
    mux = await usbmux.create_mux()
    await mux.listen()
    for _ in lab.phones:
        await asyncio.wait_for(mux.receive_device_state_update(), 5)
    assert dut.udid in [d.serial for d in mux.devices]
    lab.detach(dut.udid)
    await asyncio.wait_for(mux.receive_device_state_update(), 5)
    assert dut.udid not in [d.serial for d in mux.devices]
    lab.attach(dut.udid)
    await asyncio.wait_for(mux.receive_device_state_update(), 5)
    assert dut.udid in [d.serial for d in mux.devices]
    await mux.close()
    assert [e.kind for e in dut.truth.events(source="sim")][-2:] == ["detached", "attached"]


async def test_many_short_concurrent_connections(lab):
    results = await asyncio.gather(*(usbmux.list_devices() for _ in range(60)))
    assert all(len(r) == 2 for r in results)


async def test_tcp_address(tmp_path, monkeypatch):
    from harness.sim.lab import LabConfig, VirtualLab

    config = LabConfig.default(1, state_dir=tmp_path / "tcp", usbmuxd_address="127.0.0.1:0", extensions=())
    async with VirtualLab.running(config) as lab:
        host, port = lab.usbmuxd_address.split(":")
        assert host == "127.0.0.1" and int(port) > 0
        devices = await usbmux.list_devices(usbmux_address=lab.usbmuxd_address)
        assert [d.serial for d in devices] == list(lab.phones)
    with pytest.raises(OSError):
        socket.create_connection((host, int(port)), timeout=1).close()


async def test_system_socket_serves_facebook_wda_usbclient_or_is_left_alone(tmp_path):
    """facebook-wda's USBClient only knows /var/run/usbmuxd; the lab takes it only when it is free."""
    from harness.sim.lab import LabConfig, VirtualLab
    from harness.sim.usbmuxd import SYSTEM_SOCKET, _system_socket_free

    was_free = _system_socket_free()
    config = LabConfig.default(1, state_dir=tmp_path / "sys", system_socket=True, extensions=())
    async with VirtualLab.running(config) as lab:
        if not was_free:
            assert lab.usbmuxd.system_socket is None  # never steal a live usbmuxd
            return
        assert lab.usbmuxd.system_socket == SYSTEM_SOCKET
        import wda

        udid = next(iter(lab.phones))
        # USBClient talks to usbmuxd already in its constructor: keep the blocking client off the loop
        status = await asyncio.to_thread(lambda: wda.USBClient(udid, port=8100).status())
        assert status["ready"] is True
        assert lab.phones[udid].connect_counts[8100] >= 1
    assert not os.path.exists(SYSTEM_SOCKET)


async def test_an_address_in_use_is_a_usage_error(tmp_path):
    from harness.errors import UsageError
    from harness.sim.lab import LabConfig, VirtualLab

    blocker = socket.socket()
    blocker.bind(("127.0.0.1", 0))
    blocker.listen()
    address = f"127.0.0.1:{blocker.getsockname()[1]}"
    lab = VirtualLab(
        LabConfig.default(1, state_dir=tmp_path / "busy", usbmuxd_address=address, extensions=())
    )
    with pytest.raises(UsageError, match=f"usbmuxd cannot listen on {address}: .*choose another address"):
        await lab.start()
    await lab.stop()
    blocker.close()
