"""One phone's scene: its iOS audio world, its voice-app host, and the sinks its audio plays into.

The world decides; the apps' AVAudioSession calls and the carrier's calls drive it; its deliveries
reach the voice-app processes (with iOS's own I/O stop first), its suspensions stop them (SIGSTOP),
and its routes move their audio between the phone's PulseAudio sinks. What really happened goes to
the phone's ground truth (``phone.truth``), never to the harness. What the phone's own daemons
would log goes to its os_log, where a real lab reads it too, in the formats the phone's iOS
profile gives (:mod:`harness.sim.scene.ios_log`).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from harness.sim.acoustics import Topology
from harness.sim.avfaudio.constants import AudioSessionError, CategoryOptions, PortOverride
from harness.sim.avfaudio.notifications import Name
from harness.sim.avfaudio.world import AudioWorld, Delivery, LogEntry
from harness.sim.carrier import CallEvent, normalize
from harness.sim.phone import VirtualPhone
from harness.sim.scene.ios_log import IosLog
from harness.sim.voiceapp.host import VoiceAppHost

PORT_ROUTE = {"builtInReceiver": "receiver", "builtInSpeaker": "speaker", "bluetoothHFP": "bt_hfp",
              "bluetoothA2DP": "bt_a2dp", "headphones": "wired"}
"""AVAudioSession output port type -> the acoustics route whose sink carries it."""


def route_of(port: Any) -> str | None:
    return PORT_ROUTE.get(str(getattr(port, "port_type", "") or "")) if port is not None else None


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
    log_hooks: list[Callable[[LogEntry], None]] = field(default_factory=list)
    """Called with every entry of the world's log (after the phone's ground truth has it)."""
    moving: asyncio.Lock = field(default_factory=asyncio.Lock)
    """One route move at a time: two changes milliseconds apart (a headset lost, then the app's
    speaker override) would otherwise race in the audio server and the older could land last."""
    ios_log: IosLog = field(init=False)

    def __post_init__(self) -> None:
        self.ios_log = IosLog(self.phone)

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
                case "overrideOutputAudioPort":
                    port = PortOverride.speaker if call.get("port") == "speaker" else PortOverride.none
                    session.override_output_audio_port(port)
                case "callkitStart":
                    session.callkit_call_started()
                case "callkitEnd":
                    session.callkit_call_ended()
        except (AudioSessionError, KeyError, ValueError) as exc:
            self.phone.truth.emit("app", "session-call-failed", bundle=bundle_id, call=call, error=str(exc))
        self.follow_route(bundle_id)

    def on_delivery(self, delivery: Delivery) -> None:
        info = delivery.user_info
        began = delivery.name == Name.interruption and info.get("AVAudioSessionInterruptionTypeKey") == 1
        stops_io = began or delivery.name in (Name.didBecomeInactive, Name.mediaServicesWereLost)
        if stops_io:
            self.host.set_io(delivery.bundle_id, False)  # iOS stops the audio unit, then tells the app
        if delivery.name == Name.interruption:
            pid = self.host.pid(delivery.bundle_id)
            app = self.phone.apps.get(delivery.bundle_id) or {}
            executable = str(app.get("CFBundleExecutable") or delivery.bundle_id.rsplit(".", 1)[-1])
            self.ios_log.interruption(delivery.bundle_id, pid, executable, info)
        self.host.notify(delivery.bundle_id, delivery.name, plain(info))
        self.follow_route(delivery.bundle_id)

    def on_crash(self, bundle_id: str, returncode: int) -> None:
        """The app's process died: iOS writes a crash report and the app's session is gone."""
        with contextlib.suppress(Exception):
            self.world.terminate(bundle_id)
        self.routes.pop(bundle_id, None)
        signal_name = f"signal {-returncode}" if returncode < 0 else f"exit {returncode}"
        path = self.phone.add_crash_report("VoiceAgent", reason=f"EXC_CRASH ({signal_name})")
        self.phone.truth.emit("app", "crashed", bundle=bundle_id, returncode=returncode, report=path)

    def on_process(self, bundle_id: str, suspended: bool) -> None:
        if suspended:
            self.host.suspend(bundle_id)
        else:
            self.host.resume(bundle_id)

    def follow_route(self, bundle_id: str) -> None:
        """Put the app's playback on the sink of the route iOS chose for it."""
        try:
            port = self.world.playing_output(bundle_id)
        except Exception:  # the app is gone from the world
            return
        route = route_of(port) or route_of(self.world.route(bundle_id).output) or "receiver"
        pid = self.host.pid(bundle_id)
        if pid is None or self.routes.get(bundle_id) == route:
            return
        self.routes[bundle_id] = route
        self.host.set_route(bundle_id, route)
        self.phone.truth.emit("acoustics", "app-route", bundle=bundle_id, route=route)
        asyncio.get_running_loop().create_task(self._move(bundle_id, route, pid))

    async def _move(self, bundle_id: str, route: str, pid: int) -> None:
        """The streams go quiet, move, and play on the new route after its switch latency; a move
        that a newer change superseded while it waited is dropped."""
        async with self.moving:
            if self.routes.get(bundle_id) != route:
                return
            try:
                await self.topology.route_to_after_latency(self.sink_id, route, pid=pid)
            except Exception as exc:  # the stream may not be open yet: the next change moves it
                self.phone.truth.emit("acoustics", "route-move-failed", route=route, error=str(exc))

    def follow_all_routes(self) -> None:
        for bundle_id in list(self.host.apps):
            self.follow_route(bundle_id)

    # -- the carrier's side -----------------------------------------------------------------------

    def on_call(self, event: CallEvent) -> None:
        mine = {normalize(self.phone.phone_number), normalize(self.phone.apple_id)}
        callee = normalize(event.callee_number or "")
        if callee not in mine or event.caller_number == self.phone.phone_number:
            return  # outgoing calls do not interrupt this phone's apps in this model
        if not event.rang:
            return  # silenced (Silence Unknown Callers, Focus): the phone never rang
        kind = "facetime" if event.call_kind == "facetime-audio" else "cellular_call"
        try:
            if event.kind in ("ringing", "answered"):
                self.phone.log_activity.add("call")
            elif event.kind in ("ended", "voicemail"):
                self.phone.log_activity.discard("call")
            if event.kind == "ringing":
                self.call_ids[event.call_id] = self.world.incoming_call(event.caller_number, kind)
                self.ios_log.call_line("ringing")
                self.ios_log.call_line("audio_state")
            elif event.kind == "answered" and event.call_id in self.call_ids:
                self.world.call_answered()
            elif event.kind == "voicemail" and self.call_ids.pop(event.call_id, None) is not None:
                self.world.call_ignored()  # rang out: the caller now talks to voicemail, not to us
            elif event.kind == "ended" and event.reason == "declined" and self._live_voicemail_holds():
                self.call_ids.pop(event.call_id, None)
                self._hold_for_live_voicemail(event.call_id)
            elif event.kind == "ended" and self.call_ids.pop(event.call_id, None) is not None:
                self.ios_log.call_line("ended")
                {
                    "declined": self.world.call_declined,
                    "no-answer": self.world.call_ignored,
                    "voicemail": self.world.call_ignored,
                    "hung-up-by-callee": self.world.call_ended,
                }.get(event.reason, self.world.caller_hung_up)()
        except Exception as exc:  # the world refuses (e.g. call waiting): record it, keep the lab up
            self.phone.truth.emit("avfaudio", "scene-error", call_event=event.kind, error=str(exc))
        self.follow_all_routes()


    def _live_voicemail_holds(self) -> bool:
        """live_voicemail=holds on iOS 17+ (Live Voicemail arrived in iOS 17: REV Q7)."""
        return self.phone.variants["live_voicemail"] == "holds" and self.phone.ios_major >= 17

    def _hold_for_live_voicemail(self, call_id: int) -> None:
        """Declined, but Live Voicemail answers on the phone: iOS stays in the call (the app's
        interruption does not end) until the caller's message ends ``hold_s`` later (unverified)."""
        hold_s = float(self.phone.profile.live_voicemail.get("hold_s", 20))
        self.ios_log.live_voicemail()
        self.phone.truth.emit("avfaudio", "live-voicemail-hold", call_id=call_id, hold_s=hold_s)

        def release() -> None:
            try:
                self.world.call_declined()
            except Exception as exc:  # the world moved on (another call): record it, keep the lab up
                self.phone.truth.emit("avfaudio", "scene-error", call_event="live-voicemail-end",
                                      error=str(exc))
            self.ios_log.call_line("ended")
            self.phone.truth.emit("avfaudio", "live-voicemail-ended", call_id=call_id)
            self.follow_all_routes()

        self.world.scheduler.call_later(hold_s, release)


class SceneAppHost:
    """What WDA launches apps through on a virtual phone: the voice app's process plus its session."""

    def __init__(self, scene: PhoneScene) -> None:
        self.scene = scene

    async def launch(self, bundle_id: str, arguments: list[str], environment: dict[str, str]) -> int:
        host, world = self.scene.host, self.scene.world
        running = host.pid(bundle_id)
        if running is not None:
            if world.foreground_app != bundle_id:
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
            self.scene.routes.pop(bundle_id, None)
            self.scene.phone.truth.emit("app", "terminated", bundle=bundle_id)
        return done

    def state(self, bundle_id: str) -> int:
        return self.scene.host.state(bundle_id)

    def pid(self, bundle_id: str) -> int | None:
        return self.scene.host.pid(bundle_id)


def plain(value: Any) -> Any:
    """JSON-safe copies of payloads (enums to their values, route descriptions to dicts)."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if hasattr(value, "to_dict"):
        return value.to_dict()
    if hasattr(value, "value") and not isinstance(value, (int, float, str, bool)):
        return value.value
    if isinstance(value, (int, float, str, bool)) or value is None:
        return int(value) if isinstance(value, int) and not isinstance(value, bool) else value
    return str(value)
