"""The virtual WDA inside a VirtualLab: installed as an extension, reached on device port 8100 through
the lab's usbmuxd (pymobiledevice3's usbmux client), two phones calling each other on the lab's carrier."""

from __future__ import annotations

import asyncio
import json

import wda
from pymobiledevice3.usbmux import list_devices

from harness.phone import Phone
from harness.sim.lab import LabConfig, VirtualLab


def _http_get(sock, path: str) -> dict:
    sock.settimeout(10)
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: localhost:8100\r\nConnection: close\r\n\r\n".encode())
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    sock.close()
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), head
    return json.loads(body)


async def test_lab_extension_serves_wda_on_device_port_8100(tmp_path) -> None:
    config = LabConfig.default(
        2, ios_versions=["17.5.1", "18.2"], state_dir=tmp_path, extensions=("harness.sim.wda",)
    )
    async with VirtualLab.running(config) as lab:
        dut, caller = lab.phones.values()
        assert set(lab.wda.servers) == {dut.udid, caller.udid}
        assert dut.wda_url == lab.wda.servers[dut.udid].url

        devices = await list_devices(lab.usbmuxd_address)
        device = next(d for d in devices if d.serial == dut.udid)
        sock = await device.connect(8100, lab.usbmuxd_address)
        status = await asyncio.to_thread(_http_get, sock, "/status")
        assert status["value"]["os"]["version"] == "17.5.1" and "sessionId" in status
        assert dut.connect_counts[8100] >= 1

        # facebook-wda (blocking) runs in threads: the lab lives on this event loop.
        c = wda.Client(caller.wda_url)
        assert (await asyncio.to_thread(c.status))["os"]["version"] == "18.2"

        events: list[str] = []
        lab.wda.carrier.subscribe(lambda e: events.append(e.kind))
        a = Phone(caller.wda_url, name="caller", artifacts=tmp_path)
        b = Phone(dut.wda_url, name="dut", artifacts=tmp_path)
        await asyncio.to_thread(a.dial, f"tel:{dut.phone_number}")
        await asyncio.to_thread(b.answer_call)
        await asyncio.to_thread(a.end_call)
        assert events == ["dialing", "ringing", "answered", "ended"]
        kinds = [e.kind for e in dut.truth.events(source="springboard")]
        assert "call" in kinds
        assert any("call 1 ringing" in r.message for r in dut.log_history if r.process.name == "SpringBoard")
    await asyncio.wait_for(lab.wda.stopper, 10)
    assert lab.wda.servers == {}


async def test_control_api_places_an_outside_call_to_a_single_phone(tmp_path) -> None:
    import aiohttp

    config = LabConfig.default(1, state_dir=tmp_path, extensions=("harness.sim.wda",))
    async with VirtualLab.running(config) as lab, aiohttp.ClientSession() as http:
        (dut,) = lab.phones.values()
        async with http.post(
            f"{lab.control_url}/carrier/calls", json={"to": dut.udid, "from": "+15557770000"}
        ) as r:
            call = await r.json()
        assert call["state"] == "ringing" and call["callee"] == dut.phone_number
        async with http.get(f"{lab.control_url}/phones/{dut.udid}/ui") as r:
            ui = await r.json()
        assert ui["call"]["caller"] == "+15557770000" and ui["layers"][-1] == "com.apple.springboard"

        phone = Phone(dut.wda_url, name="dut", artifacts=tmp_path)
        await asyncio.to_thread(phone.answer_call)
        async with http.post(f"{lab.control_url}/carrier/calls/{call['call_id']}/hangup") as r:
            ended = await r.json()
        assert ended["state"] == "ended" and ended["reason"] == "hung-up-by-caller"
        async with http.post(f"{lab.control_url}/carrier/calls", json={"kind": "pigeon"}) as r:
            assert r.status == 400 and "carrier/calls" in (await r.json())["error"]
        async with http.post(f"{lab.control_url}/carrier/calls/99/hangup") as r:
            assert r.status == 404
    await asyncio.wait_for(lab.wda.stopper, 10)


async def test_control_api_call_settings_silence_an_unknown_outside_caller(tmp_path) -> None:
    import aiohttp

    config = LabConfig.default(1, state_dir=tmp_path, extensions=("harness.sim.wda",))
    async with VirtualLab.running(config) as lab, aiohttp.ClientSession() as http:
        (dut,) = lab.phones.values()
        settings_url = f"{lab.control_url}/phones/{dut.udid}/settings"
        calls_url = f"{lab.control_url}/carrier/calls"
        async with http.get(settings_url) as r:
            assert (await r.json())["silence_unknown_callers"] is False
        body = {"silence_unknown_callers": True, "voicemail": True, "contacts": ["+1 555 777 0001"]}
        async with http.post(settings_url, json=body) as r:
            settings = await r.json()
        assert settings["contacts"] == ["+15557770001"] and settings["focus"] is None
        assert lab.wda.carrier.settings(lab.wda.boards[dut.udid]).silence_unknown_callers is True

        async with http.post(calls_url, json={"to": dut.udid, "from": "+15557770000"}) as r:
            unknown = await r.json()
        assert (unknown["state"], unknown["voicemail"], unknown["rang"]) == ("active", True, False)
        assert unknown["reason"] == "silence-unknown-callers"
        async with http.get(f"{lab.control_url}/phones/{dut.udid}/ui") as r:
            ui = await r.json()
        assert ui["call"] is None and ui["layers"] == ["com.apple.springboard"]  # nothing rang
        assert ui["call_settings"]["voicemail"] is True
        async with http.post(calls_url, json={"to": dut.udid, "from": "+15557770001"}) as r:
            known = await r.json()
        assert (known["state"], known["rang"]) == ("ringing", True)  # a contact rings

        async with http.post(settings_url, json={"focus": 3}) as r:
            assert r.status == 400 and "focus" in (await r.json())["error"]
        async with http.post(settings_url, json={"silence": True}) as r:
            error = (await r.json())["error"]
        assert r.status == 400 and "unknown call setting 'silence'" in error and dut.udid in error
        async with http.post(f"{lab.control_url}/phones/NOPE/settings", json={}) as r:
            assert r.status == 404
    await asyncio.wait_for(lab.wda.stopper, 10)
