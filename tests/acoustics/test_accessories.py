"""Lab accessories as plugins: the virtual lab's plugin drives a real control API over HTTP, which
reaches a real iOS audio world."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from types import SimpleNamespace

import pytest

from harness.errors import LabFault, UsageError
from harness.lab.accessories import LabAccessory, VirtualAccessory, accessory, load_accessories, load_plugin
from harness.lab.schema import Lab
from harness.sim.accessory_routes import install_accessory_routes
from harness.sim.avfaudio.ports import Accessory, AccessoryKind
from harness.sim.avfaudio.scheduler import LoopScheduler
from harness.sim.avfaudio.world import AudioWorld
from harness.sim.control import ControlAPI

UDID = "00008120-001A2B3C4D5E6F70"


class _Lab:
    """The parts of the virtual lab the routes use: its control API, phones by key, the scene."""

    def __init__(self, world: AudioWorld) -> None:
        self.control = ControlAPI()
        phone = SimpleNamespace(udid=UDID, name="iPhone DUT")
        self._phones = {UDID: phone}
        self.scene = SimpleNamespace(phones={UDID: SimpleNamespace(world=world)})

    def phone(self, key: str) -> SimpleNamespace:
        for p in self._phones.values():
            if key in (p.udid, p.name):
                return p
        raise KeyError(f"phone {key!r}")


def _lab_file(url: str, **options: str) -> Lab:
    return Lab.from_dict({
        "devices": [{"name": "iPhone DUT", "udid": UDID, "role": "dut"}],
        "accessories": [{"name": "AirPods", "device": "iPhone DUT",
                         "plugin": "harness.lab.accessories:VirtualAccessory",
                         "options": {"control_url": url, "uid": "airpods-1", **options}}],
    })


def test_the_virtual_plugin_powers_and_connects_an_accessory_of_the_audio_world() -> None:
    async def scenario() -> None:
        world = AudioWorld(18, scheduler=LoopScheduler(asyncio.get_running_loop()))
        airpods_1 = Accessory("airpods-1", "AirPods", AccessoryKind.bluetooth, hfp=True, a2dp=True)
        world.accessory_paired(airpods_1)
        lab = _Lab(world)
        install_accessory_routes(lab)
        url = await lab.control.start()
        try:
            spec = _lab_file(url)
            plugs = load_accessories(spec)
            airpods = plugs["AirPods"]
            assert isinstance(airpods, VirtualAccessory) and airpods.kind == "bluetooth"

            def state() -> str:
                return world.accessories.get("airpods-1").state.value

            seen = []
            for step in ("connect", "disconnect", "connect", "power_off", "power_on", "power_on"):
                await asyncio.to_thread(getattr(airpods, step))
                seen.append((state(), await asyncio.to_thread(airpods.state)))
            assert seen == [("connected", "connected"), ("disconnected", "disconnected"),
                            ("connected", "connected"), ("powered_off", "powered_off"),
                            ("connected", "connected"), ("connected", "connected")]
            events = [e.fields.get("event") for e in world.log if e.kind == "event"]
            assert events.count("accessory_connected") == 3 and "accessory_powered_off" in events
            # unknown accessory / action: the control API says which, the plugin raises a LabFault
            ghost = VirtualAccessory(spec.accessories[0].model_copy(update={"options": {
                "control_url": url, "uid": "ghost"}}), spec)
            with pytest.raises(LabFault, match=r"404.*accessory 'ghost'.*has: airpods-1") as err:
                await asyncio.to_thread(ghost.connect)
            assert err.value.tag == "accessory"
            req = urllib.request.Request(f"{url}/phones/{UDID}/accessories/airpods-1/explode", method="POST",
                                         data=b"")
            with pytest.raises(urllib.error.HTTPError) as http:
                await asyncio.to_thread(urllib.request.urlopen, req)
            assert http.value.code == 400 and "power-on, power-off" in json.loads(http.value.read())["error"]
            # pairing through the API, then the list Settings would show
            body = json.dumps({"uid": "car-1", "name": "Car", "kind": "car_audio"}).encode()
            req = urllib.request.Request(f"{url}/phones/iPhone DUT/accessories".replace(" ", "%20"),
                                         method="POST", data=body)
            with await asyncio.to_thread(urllib.request.urlopen, req) as r:
                assert json.load(r)["state"] == "disconnected"
            with await asyncio.to_thread(urllib.request.urlopen, f"{url}/phones/{UDID}/accessories") as r:
                assert [a["uid"] for a in json.load(r)] == ["airpods-1", "car-1"]
        finally:
            await lab.control.stop()
        with pytest.raises(LabFault, match="does not answer"):
            await asyncio.to_thread(airpods.connect)

    asyncio.run(scenario())


def test_plugins_are_classes_named_by_dotted_path() -> None:
    assert load_plugin("harness.lab.accessories:VirtualAccessory") is VirtualAccessory
    assert load_plugin("harness.lab.accessories.VirtualAccessory") is VirtualAccessory
    with pytest.raises(UsageError, match="cannot import 'nowhere'"):
        load_plugin("nowhere:Thing")
    with pytest.raises(UsageError, match="not a LabAccessory"):
        load_plugin("harness.lab.accessories:ACTIONS")
    with pytest.raises(TypeError):
        LabAccessory(None, None)  # type: ignore[abstract,arg-type]
    lab = _lab_file("http://127.0.0.1:9")
    with pytest.raises(UsageError, match=r"no accessory 'Car'.*AirPods"):
        accessory(lab, "Car")
    spec = lab.accessories[0].model_copy(update={"options": {}})
    with pytest.raises(UsageError, match="control_url is missing"):
        VirtualAccessory(spec, lab)


def test_a_shelf_headset_is_connected_and_disconnected_through_the_virtual_settings(tmp_path) -> None:
    """The Settings > Bluetooth plugin on the whole virtual lab (`harness sim up`): it drives the phone's
    Settings through WDA; the phone's audio world (read through the virtual plugin, the lab's ground
    truth) follows."""
    from harness.lab.settings_bluetooth import SettingsBluetoothAccessory
    from harness.lab.virtual import start_lab_process
    from harness.phone import Phone
    from harness.timeline import Timeline

    with start_lab_process(tmp_path / "lab", phones=1) as sim:
        phone = sim.state["phones"][0]
        data = Lab.load(sim.lab_yaml).model_dump(mode="json", exclude_none=True)
        truth_spec = next(a for a in data["accessories"] if a["name"] == "AirPods Pro A")
        shelf = {**truth_spec, "name": "AirPods Pro A", "plugin":
                 "harness.lab.settings_bluetooth:SettingsBluetoothAccessory",
                 "options": {"wda_url": phone["wda_url"], "timeout_s": 10}}
        lab = Lab.from_dict({**data, "accessories": [shelf]})
        headset = load_accessories(lab)["AirPods Pro A"]
        truth = VirtualAccessory(Lab.from_dict(data).accessories[0].model_copy(update=truth_spec), lab)
        assert isinstance(headset, SettingsBluetoothAccessory)
        assert truth.state() == "disconnected" and headset.state() == "disconnected"
        headset.power_on()  # on its shelf: nothing to switch
        assert truth.state() == "disconnected"
        headset.connect()
        assert truth.state() == "connected" and headset.state() == "connected"
        headset.power_off()  # the phone loses it: disconnected from Settings, still powered
        assert truth.state() == "disconnected" and headset.state() == "disconnected"
        headset.disconnect()  # nothing to do
        assert truth.state() == "disconnected"
        # bound to the harness's Phone (as the fixtures do), its recipes land on that phone's timeline
        timeline = Timeline(tmp_path / "timeline.jsonl")
        bound = load_accessories(Lab.from_dict({**data, "accessories": [{**shelf, "options": {}}]}))
        bound["AirPods Pro A"].bind_phone(Phone(phone["wda_url"], name="DUT", timeline=timeline,
                                                artifacts=tmp_path))
        bound["AirPods Pro A"].connect()
        bound["AirPods Pro A"].disconnect()
        assert truth.state() == "disconnected"
        steps = [e.fields["recipe"] for e in timeline.events(kind="recipe")]
        assert "connect_bluetooth AirPods Pro A" in steps and "disconnect_bluetooth AirPods Pro A" in steps
    unbound = load_accessories(Lab.from_dict({**data, "accessories": [{**shelf, "options": {}}]}))
    with pytest.raises(LabFault, match="no phone to drive Settings on") as err:
        unbound["AirPods Pro A"].connect()
    assert err.value.tag == "accessory"
