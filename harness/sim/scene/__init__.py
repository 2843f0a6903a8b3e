"""The scene: what joins a virtual phone's parts into one iPhone.

Per phone: the iOS audio world (``harness.sim.avfaudio``) decides; the carrier's calls and the
apps' AVAudioSession calls drive it; its notifications reach the voice-app processes
(``harness.sim.voiceapp``), its suspensions stop them (SIGSTOP), and its routes move their audio
between the phone's PulseAudio sinks (``harness.sim.acoustics``). What really happened goes to the
phone's ground truth (``phone.truth``), never to the harness.

A lab extension: ``VirtualLab`` calls :func:`install_lab` after the WDA extension, so every phone's
WDA launches its apps through :class:`SceneAppHost`.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from dataclasses import dataclass, field
from typing import Any

from harness.audio.pulse import PulseServer
from harness.sim.acoustics import ROUTES, Topology
from harness.sim.avfaudio.constants import AudioSessionError, CategoryOptions
from harness.sim.avfaudio.notifications import Name
from harness.sim.avfaudio.scheduler import LoopScheduler
from harness.sim.avfaudio.world import AudioWorld, Delivery, LogEntry
from harness.sim.carrier import CallEvent, normalize
from harness.sim.phone import VirtualPhone, app_info
from harness.sim.voiceapp.host import VoiceAppHost

VOICE_APP = "com.example.voiceagent"
"""Bundle id of the virtual lab's voice app (installed on every virtual phone)."""

PORT_ROUTE = {"builtInReceiver": "receiver", "builtInSpeaker": "speaker", "bluetoothHFP": "bt_hfp",
              "bluetoothA2DP": "bt_a2dp", "headphones": "wired"}
"""AVAudioSession output port type -> the acoustics route whose sink carries it."""


def sink_id(phone: VirtualPhone) -> str:
    """A PulseAudio-safe id for a phone's sinks (``iPhone DUT`` -> ``iphone_dut``)."""
    return re.sub(r"[^a-z0-9]+", "_", phone.name.lower()).strip("_") or phone.udid[:8].lower()


@dataclass
class PhoneScene:
    phone: VirtualPhone
    world: AudioWorld
    host: VoiceAppHost
    sink_id: str
    topology: Topology
    routes: dict[str, str] = field(default_factory=dict)
    """bundle id -> the acoustics route its audio is on now."""
    call_ids: dict[int, str] = field(default_factory=dict)
    """carrier call id -> the audio world's call id, for calls ringing on this phone."""

    # -- the apps' side ---------------------------------------------------------------------------

    def on_session_call(self, bundle_id: str, call: dict[str, Any]) -> None:
        session = self.world.session(bundle_id)
        try:
            match call.get("call"):
                case "setCategory":
                    options = CategoryOptions(0)
                    for name in call.get("options", []):
                        options |= CategoryOptions[name]
                    session.set_category(call["category"], call.get("mode"), options)
                case "setActive":
                    session.set_active(bool(call.get("active")), int(call.get("options", 0)))
                case "startIO":
                    session.start_io()
                case "stopIO":
                    session.stop_io()
        except (AudioSessionError, KeyError, ValueError) as exc:
            self.phone.truth.emit("app", "session-call-failed", bundle=bundle_id, call=call, error=str(exc))
        self.follow_route(bundle_id)

    def on_delivery(self, delivery: Delivery) -> None:
        info = delivery.user_info
        began = delivery.name == Name.interruption and info.get("AVAudioSessionInterruptionTypeKey") == 1
        inactive = delivery.name == Name.didBecomeInactive
        if began or inactive:
            self.host.set_io(delivery.bundle_id, False)  # iOS stops the audio unit, then tells the app
        self.host.notify(delivery.bundle_id, delivery.name, _plain(info))
        self.follow_route(delivery.bundle_id)

    def on_process(self, bundle_id: str, suspended: bool) -> None:
        if suspended:
            self.host.suspend(bundle_id)
        else:
            self.host.resume(bundle_id)

    def follow_route(self, bundle_id: str) -> None:
        """Put the app's playback on the sink of the route iOS chose for it."""
        port = self.world.playing_output(bundle_id)
        route = PORT_ROUTE.get(str(getattr(port, "port_type", "") or ""), "receiver")
        pid = self.host.pid(bundle_id)
        if pid is None or self.routes.get(bundle_id) == route:
            return
        self.routes[bundle_id] = route
        with contextlib.suppress(Exception):  # the stream may not be open yet: retried on the next change
            self.topology.route_to(self.sink_id, route, pid=pid)
        self.phone.truth.emit("acoustics", "app-route", bundle=bundle_id, route=route)

    # -- the carrier's side -----------------------------------------------------------------------

    def on_call(self, event: CallEvent) -> None:
        mine = {normalize(self.phone.phone_number), normalize(self.phone.apple_id)}
        callee = normalize(event.callee_number or "")
        if callee not in mine or event.caller_number == self.phone.phone_number:
            return  # outgoing calls do not interrupt this phone's apps in this model
        kind = "facetime" if event.call_kind == "facetime-audio" else "cellular_call"
        try:
            if event.kind == "ringing":
                self.call_ids[event.call_id] = self.world.incoming_call(event.caller_number, kind)
            elif event.kind == "answered" and event.call_id in self.call_ids:
                self.world.call_answered()
            elif event.kind == "ended" and self.call_ids.pop(event.call_id, None) is not None:
                {
                    "declined": self.world.call_declined,
                    "no-answer": self.world.call_ignored,
                    "hung-up-by-callee": self.world.call_ended,
                }.get(event.reason, self.world.caller_hung_up)()
        except Exception as exc:  # the world refuses (e.g. call waiting): record it, keep the lab up
            self.phone.truth.emit("avfaudio", "scene-error", call_event=event.kind, error=str(exc))


class SceneAppHost:
    """What WDA launches apps through on a virtual phone: the voice app's process plus its session."""

    def __init__(self, scene: PhoneScene) -> None:
        self.scene = scene

    async def launch(self, bundle_id: str, arguments: list[str], environment: dict[str, str]) -> int:
        host, world = self.scene.host, self.scene.world
        running = host.pid(bundle_id)
        if running is not None:
            world.app_foreground(bundle_id)
            return running
        session = world.launch(bundle_id)
        session.add_observer(self.scene.on_delivery)
        self.scene.routes.pop(bundle_id, None)
        pid = await host.launch(bundle_id, arguments, environment)
        self.scene.phone.truth.emit("app", "launched", bundle=bundle_id, pid=pid)
        return pid

    async def terminate(self, bundle_id: str) -> bool:
        done = await self.scene.host.terminate(bundle_id)
        if done:
            with contextlib.suppress(Exception):
                self.scene.world.terminate(bundle_id)
            self.scene.phone.truth.emit("app", "terminated", bundle=bundle_id)
        return done

    def state(self, bundle_id: str) -> int:
        return self.scene.host.state(bundle_id)

    def pid(self, bundle_id: str) -> int | None:
        return self.scene.host.pid(bundle_id)


class Scene:
    app_bundle_id = VOICE_APP

    def __init__(self, lab: Any, pulse: PulseServer) -> None:
        self.lab = lab
        self.pulse = pulse
        self.topology = Topology(pulse)
        self.topology.add_mouth()
        self.phones: dict[str, PhoneScene] = {}

    def app_host_for(self, phone: VirtualPhone) -> SceneAppHost:
        return SceneAppHost(self.scene_for(phone))

    def scene_for(self, phone: VirtualPhone) -> PhoneScene:
        if phone.udid in self.phones:
            return self.phones[phone.udid]
        sid = sink_id(phone)
        self.topology.add_phone(sid, ROUTES)
        truth = phone.truth

        def on_log(entry: LogEntry) -> None:
            truth.emit("avfaudio", entry.kind, t_ns=entry.t_ns, **_plain(entry.fields))

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
            process_env=self.topology.process_env(sid, "receiver"),
            defect=config.app_defect,
            logging=config.app_logging,
            on_truth=lambda bundle, event: truth.emit("app", str(event.pop("event", "app")),
                                                      t_ns=event.pop("t_ns", None), bundle=bundle,
                                                      **{k: v for k, v in event.items() if k != "op"}),
        )
        scene = PhoneScene(phone, world, host, sid, self.topology)
        self.phones[phone.udid] = scene
        return scene

    def audio_map(self, phone: VirtualPhone) -> dict[str, Any]:
        """The lab.yaml audio section of a phone: its route captures, the mouth, the client env."""
        scene = self.scene_for(phone)
        assert self.topology.mouth is not None
        return {
            "capture": {r: {"device": d.monitor} for r, d in self.topology.routes(scene.sink_id).items()},
            "mouth": {"device": self.topology.mouth.sink},
            "env": self.pulse.client_env(),
        }

    async def stop(self) -> None:
        for scene in self.phones.values():
            await scene.host.close()
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
        phone.apps.setdefault(VOICE_APP, app_info(VOICE_APP, "VoiceAgent", "2.3.0", "231",
                                                  executable="VoiceAgent"))

    lab.on_phone_added(add_phone)

    async def stop_with_lab() -> None:
        await lab.stopped.wait()
        await scene.stop()

    lab.scene_stopper = asyncio.ensure_future(stop_with_lab())
    return scene


def _plain(value: Any) -> Any:
    """JSON-safe copies of payloads (enums to their values, route descriptions to dicts)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "to_dict"):
        return value.to_dict()
    if hasattr(value, "value") and not isinstance(value, (int, float, str, bool)):
        return value.value
    if isinstance(value, (int, float, str, bool)) or value is None:
        return int(value) if isinstance(value, int) and not isinstance(value, bool) else value
    return str(value)
