"""The control API: built-in routes, routes added by later parts, phone callbacks, pipe_to."""

from __future__ import annotations

import asyncio

import aiohttp
from aiohttp import web

from harness.sim.lab import LabConfig, PhoneSpec, VirtualLab
from harness.sim.phone import pipe_to


async def test_routes_added_after_start_and_phone_callbacks(tmp_path):
    seen: list[str] = []
    lab = VirtualLab(LabConfig(phones=[PhoneSpec(name="A")], state_dir=tmp_path, extensions=()))
    lab.on_phone_added(lambda phone: seen.append(phone.name))
    await lab.start()
    try:

        async def scene(request: web.Request) -> web.Response:
            phone = lab.phone(request.match_info["udid"])
            return web.json_response({"scene": request.match_info["name"], "phone": phone.name})

        lab.control.add_route("POST", "/phones/{udid}/scene/{name}", scene)
        await lab.add_phone(PhoneSpec(name="B", role="caller"))
        late: list[str] = []
        lab.on_phone_added(lambda phone: late.append(phone.name))
        udid = lab.phone("B").udid
        async with aiohttp.ClientSession() as http:
            async with http.post(f"{lab.control_url}/phones/{udid}/scene/incoming-call") as r:
                assert await r.json() == {"scene": "incoming-call", "phone": "B"}
            async with http.get(f"{lab.control_url}/phones/nope") as r:
                assert r.status == 404 and "nope" in (await r.json())["error"]
            async with http.delete(f"{lab.control_url}/phones/{udid}/log") as r:
                assert r.status == 405
            async with http.post(f"{lab.control_url}/phones/{udid}/log", json={"process": "x"}) as r:
                assert r.status == 400 and "'message'" in (await r.json())["error"]
            async with http.patch(f"{lab.control_url}/phones/{udid}", json={"battery_level": 12}) as r:
                assert (await r.json())["battery_level"] == 12
            async with http.get(f"{lab.control_url}/routes") as r:
                assert {"method": "POST", "path": "/phones/{udid}/scene/{name}"} in await r.json()
        assert seen == ["A", "B"]
        assert late == ["A", "B"]
    finally:
        await lab.stop()


async def test_log_route_and_history(lab, dut):
    async with aiohttp.ClientSession() as http:
        async with http.post(
            f"{lab.control_url}/phones/{dut.udid}/log",
            json={
                "process": "VoiceApp",
                "message": "HARNESS-EVENT x",
                "level": "fault",
                "subsystem": "s",
                "category": "c",
                "pid": 4321,
            },
        ) as r:
            assert (await r.json())["pid"] == 4321
        async with http.get(f"{lab.control_url}/phones/{dut.udid}/log?limit=1") as r:
            (record,) = await r.json()
    assert (
        record["message"] == "HARNESS-EVENT x"
        and record["level"] == "fault"
        and record["process"] == "VoiceApp"
    )


async def test_pipe_to_relays_both_ways_and_counts_connects(lab, dut):
    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write((await reader.readline()).upper())
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(echo, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    dut.device_ports[5555] = pipe_to("127.0.0.1", port)
    from pymobiledevice3.usbmux import select_device

    device = await select_device(dut.udid)
    sock = await device.connect(5555)
    reader, writer = await asyncio.open_connection(sock=sock)
    writer.write(b"hello\n")
    assert await asyncio.wait_for(reader.readline(), 10) == b"HELLO\n"
    writer.close()
    server.close()
    assert dut.connect_counts[5555] == 1
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{lab.control_url}/phones/{dut.udid}/connects") as r,
    ):
        assert (await r.json())["5555"] == 1


async def test_extensions_install_before_phones_and_missing_ones_are_skipped(tmp_path, monkeypatch):
    (tmp_path / "labext_demo.py").write_text(
        "calls = []\n"
        "async def install_lab(lab):\n"
        "    calls.append(len(lab.phones))\n"
        "    lab.on_phone_added(lambda phone: phone.device_ports.__setitem__(7777, None))\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    deep = tmp_path / ("d" * 60) / ("e" * 60)  # too deep for a UNIX socket path
    config = LabConfig.default(1, state_dir=deep, extensions=("labext_demo", "harness.sim.no_such_part"))
    async with VirtualLab.running(config) as lab:
        import labext_demo

        assert labext_demo.calls == [0]
        assert lab.extensions == ["labext_demo"]
        assert 7777 in next(iter(lab.phones.values())).device_ports
        assert len(lab.usbmuxd_address) <= 100 and not lab.usbmuxd_address.startswith(str(deep))
        from pymobiledevice3.usbmux import list_devices

        assert len(await list_devices(usbmux_address=lab.usbmuxd_address)) == 1


async def test_short_socket_dir_lives_as_long_as_the_lab(tmp_path):
    import os

    deep = tmp_path / ("d" * 60) / ("e" * 60)
    lab = VirtualLab(LabConfig.default(1, state_dir=deep, extensions=()))
    socket_dir = os.path.dirname(lab.usbmuxd_address)
    assert os.path.isdir(socket_dir)  # kept by the lab, not collected right away
    await lab.start()
    await lab.stop()
    assert not os.path.exists(socket_dir)


async def test_log_filler_knob_is_validated_and_live(lab, dut):
    """The log-volume knob (harness.sim.log_filler) through the control API."""
    url = f"{lab.control_url}/phones/{dut.udid}/log/filler"
    async with aiohttp.ClientSession() as http:
        async with http.get(url) as r:
            assert (await r.json())["lines_per_s"] == 0
        for bad, word in (({"lines_per_s": -1}, "lines_per_s"), ({"processes": []}, "processes"),
                          ({"level": "loud"}, "level"), ({"rate": 5}, "unknown")):
            async with http.post(url, json=bad) as r:
                assert r.status == 400 and word in (await r.json())["error"], bad
        async with http.post(url, json={"lines_per_s": 500, "processes": ["a", "audiomxd"]}) as r:
            assert await r.json() == {"lines_per_s": 500.0, "processes": ["a", "audiomxd"],
                                      "level": "default", "follows_variant": False}
    assert dut.log_filler.lines_per_s == 500
    assert not any("SYNTHETIC" in r.message for r in dut.log_history)  # never in the phone's ground truth


async def test_wda_error_injection_route(tmp_path) -> None:
    config = LabConfig.default(1, state_dir=tmp_path, extensions=("harness.sim.wda",))
    async with VirtualLab.running(config) as lab, aiohttp.ClientSession() as http:
        phone = next(iter(lab.phones.values()))
        url = f"{lab.control_url}/phones/{phone.udid}/wda/errors"
        async with http.post(url, json={"route": "/wda/homescreen", "error": "not an error"}) as r:
            assert r.status == 400 and "not a WDA error string" in (await r.json())["error"]
        zero = {"route": "/wda/homescreen", "error": "unknown error", "times": 0}
        async with http.post(url, json=zero) as r:
            assert r.status == 400 and "times" in (await r.json())["error"]
        async with http.post(url, json={"route": "/wda/homescreen", "error": "unknown error",
                                        "message": "boom", "times": 1}) as r:
            assert (await r.json())[0]["route"] == "/wda/homescreen"
        async with http.post(f"{phone.wda_url}/wda/homescreen") as r:
            body = await r.json()
            assert r.status == 500 and body["value"] == {"error": "unknown error", "message": "boom",
                                                         "traceback": ""}
        async with http.post(f"{phone.wda_url}/wda/homescreen") as r:
            assert r.status == 200  # used once
        async with http.post(url, json={"route": "/wda/locked", "error": "unknown error", "times": -1}) as r:
            pass
        async with http.delete(url) as r:
            assert await r.json() == []
        async with http.get(f"{phone.wda_url}/wda/locked") as r:
            assert r.status == 200
