"""The scene: what joins a virtual phone's parts into one iPhone.

Per phone (:class:`~harness.sim.scene.phone.PhoneScene`): the iOS audio world
(``harness.sim.avfaudio``) decides; the carrier's calls, SpringBoard's screen
(:mod:`~harness.sim.scene.springboard`) and the apps' AVAudioSession calls drive it; its
notifications reach the voice-app processes (``harness.sim.voiceapp``), its suspensions stop them
(SIGSTOP), and its routes move their audio between the phone's PulseAudio sinks
(``harness.sim.acoustics``). What really happened goes to the phone's ground truth
(``phone.truth``), never to the harness.

A lab extension: ``VirtualLab`` calls :func:`install_lab` after the WDA extension, so every phone's
WDA launches its apps through :class:`~harness.sim.scene.phone.SceneAppHost`.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from typing import Any

from harness.audio.pulse import PulseServer
from harness.sim.accessory_routes import install_accessory_routes
from harness.sim.acoustics import ROUTES, Topology, tear_down
from harness.sim.avfaudio.scheduler import LoopScheduler
from harness.sim.avfaudio.world import AudioWorld, LogEntry
from harness.sim.phone import VirtualPhone, app_info
from harness.sim.scene.phone import PORT_ROUTE, PhoneScene, SceneAppHost, plain
from harness.sim.scene.springboard import SpringBoardBridge, pair_default_accessories, schedule_refresh
from harness.sim.voiceapp.host import VoiceAppHost

__all__ = ["PORT_ROUTE", "VOICE_APP", "PhoneScene", "Scene", "SceneAppHost", "install_lab", "sink_id"]

VOICE_APP = "com.example.voiceagent"
"""Bundle id of the virtual lab's voice app (installed on every virtual phone)."""


def sink_id(phone: VirtualPhone) -> str:
    """A PulseAudio-safe id for a phone's sinks (``iPhone DUT`` -> ``iphone_dut``)."""
    return re.sub(r"[^a-z0-9]+", "_", phone.name.lower()).strip("_") or phone.udid[:8].lower()


class Scene:
    app_bundle_id = VOICE_APP

    def __init__(self, lab: Any, pulse: PulseServer) -> None:
        self.lab = lab
        self.pulse = pulse
        self.topology = Topology(pulse)
        self.phones: dict[str, PhoneScene] = {}
        self.bridges: dict[str, SpringBoardBridge] = {}

    def app_host_for(self, phone: VirtualPhone) -> SceneAppHost:
        return SceneAppHost(self.scene_for(phone))

    def scene_for(self, phone: VirtualPhone) -> PhoneScene:
        if phone.udid in self.phones:
            return self.phones[phone.udid]
        sid = sink_id(phone)
        self.topology.add_phone(sid, ROUTES)
        self.topology.add_phone_mouth(sid)
        truth = phone.truth
        hooks: list[Callable[[LogEntry], None]] = []

        def on_log(entry: LogEntry) -> None:
            truth.emit("avfaudio", entry.kind, t_ns=entry.t_ns, **plain(entry.fields))
            for hook in hooks:
                hook(entry)

        scene: PhoneScene
        world = AudioWorld(
            phone.ios_version,
            scheduler=LoopScheduler(asyncio.get_running_loop()),
            seed=int(phone.udid[-6:], 16) if phone.udid[-6:].isalnum() else 0,
            on_log=on_log,
            on_process=lambda bundle, suspended: scene.on_process(bundle, suspended),
        )
        config = self.lab.config
        host = VoiceAppHost(
            {VOICE_APP},
            on_session_call=lambda bundle, call: scene.on_session_call(bundle, call),
            on_log=lambda bundle, message: phone.log(
                "VoiceAgent", message, subsystem=bundle, category="harness"),
            process_env={**self.topology.process_env(sid, "receiver"),
                         "HARNESS_SIM_PHONE_NETWORK": phone.variants["phone_network"]},
            defect=config.app_defect,
            logging=config.app_logging,
            on_truth=lambda bundle, event: truth.emit("app", str(event.pop("event", "app")),
                                                      t_ns=event.pop("t_ns", None), bundle=bundle,
                                                      **{k: v for k, v in event.items() if k != "op"}),
            on_crash=lambda bundle, code: scene.on_crash(bundle, code),
        )
        scene = PhoneScene(phone, world, host, sid, self.topology, log_hooks=hooks)
        pair_default_accessories(scene)
        self.phones[phone.udid] = scene
        return scene

    def attach_springboard(self, phone: VirtualPhone) -> None:
        """Wire the phone's SpringBoard to its audio world (after WDA has created the SpringBoard)."""
        board = self.lab.wda.boards.get(phone.udid)
        if board is None or phone.udid in self.bridges:
            return
        scene = self.scene_for(phone)
        bridge = SpringBoardBridge(scene, board)
        scene.log_hooks.append(schedule_refresh(bridge))
        self.bridges[phone.udid] = bridge

    def accessory_specs(self) -> list[dict[str, Any]]:
        """The lab.yaml ``accessories`` of the virtual lab: every phone's paired Bluetooth devices,
        driven by the virtual plugin through the control API."""
        out = []
        for scene in self.phones.values():
            for d in scene.world.bluetooth_devices():
                out.append({
                    "name": d["name"],
                    "kind": "bluetooth",
                    "profiles": [p for p in ("hfp", "a2dp") if d[p]],
                    "plugin": "harness.lab.accessories:VirtualAccessory",
                    "device": scene.phone.name,
                    "options": {"control_url": self.lab.control_url, "udid": scene.phone.udid,
                                "uid": d["uid"]},
                })
        return out

    def audio_map(self, phone: VirtualPhone) -> dict[str, Any]:
        """The lab.yaml audio section of a phone: its capture device (a channel per route and the
        reference pilot), its mouth, the client env."""
        return self.topology.audio_map(self.scene_for(phone).sink_id)

    async def stop(self) -> None:
        for scene in self.phones.values():
            await scene.host.close()
        tear_down(self.topology)  # its noise and other-audio players first, then the server
        self.pulse.stop()


def install_lab(lab: Any) -> Scene | None:
    """Lab extension hook: start the lab's PulseAudio and wire every phone the lab adds."""
    wda = getattr(lab, "wda", None)
    if wda is None:
        return None  # nothing launches apps without WDA: the scene has no work
    pulse = PulseServer(lab.state_dir / "pulse").start()
    scene = Scene(lab, pulse)
    lab.scene = scene
    wda.app_host_factory = scene.app_host_for
    wda.carrier.subscribe(lambda event: [s.on_call(event) for s in list(scene.phones.values())])

    async def add_phone(phone: VirtualPhone) -> None:
        scene.scene_for(phone)
        scene.attach_springboard(phone)
        phone.apps.setdefault(VOICE_APP, app_info(VOICE_APP, "VoiceAgent", "2.3.0", "231",
                                                  executable="VoiceAgent"))

    lab.on_phone_added(add_phone)
    install_accessory_routes(lab)

    async def stop_with_lab() -> None:
        await lab.stopped.wait()
        await scene.stop()

    lab.scene_stopper = asyncio.ensure_future(stop_with_lab())
    return scene
