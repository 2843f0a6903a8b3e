"""SpringBoard -> iOS audio world: what the user does on screen reaches the phone's audio.

SpringBoard (``harness.sim.springboard``) knows the screen; the audio world knows the audio. This
bridge subscribes to SpringBoard's changes and calls the world (Siri, a timer going off, Music
playing, Bluetooth, a route picked in Control Center, Reset Media Services, the app in front or
not, the lock), and gives SpringBoard what it shows of the audio (the route picker's list and
Settings > Bluetooth's devices). Other apps' audio (Music) is played into the phone's sinks at
the level the world says (playing, ducked, interrupted).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from harness import contract
from harness.sim.avfaudio.constants import PortOverride
from harness.sim.avfaudio.ports import Accessory, airpods, bluetooth_headset, bluetooth_speaker
from harness.sim.scene.phone import PhoneScene, route_of
from harness.sim.springboard import SpringBoard
from harness.sim.springboard.element import UIElement
from harness.sim.springboard.model import MUSIC, SPRINGBOARD

DEFAULT_ACCESSORIES: tuple[Callable[[str], Accessory], ...] = (
    lambda tag: airpods("airpods", f"AirPods Pro {tag}"),
    lambda tag: bluetooth_headset("car-kit", f"Car Kit {tag}"),
    lambda tag: bluetooth_speaker("bt-speaker", f"JBL Flip 6 {tag}"),
)
"""Paired with every virtual phone, all disconnected at start: HFP+A2DP, HFP only, A2DP only. Each
phone's have their own Bluetooth names (``AirPods Pro A``), as two lab rigs' devices would."""

PLAYS_AUDIO = re.compile(r"\b(play|listen to|read me)\b", re.IGNORECASE)
"""Siri requests that start audio of their own (music, a podcast, a reading)."""

BUILT_IN_NAMES = {"Receiver": "iPhone", "Speaker": "Speaker"}
"""The route picker calls the receiver "iPhone" (inference from Control Center screenshots)."""


@dataclass(frozen=True)
class OtherAudioLevels:
    """Levels of other apps' audio (Music) in dBFS at the phone's output (inference: iOS ducks by
    roughly 15 dB; keep it configurable)."""

    playing_dbfs: float = -20.0
    duck_db: float = -15.0


class SpringBoardBridge:
    def __init__(self, scene: PhoneScene, board: SpringBoard, levels: OtherAudioLevels | None = None) -> None:
        self.scene = scene
        self.world = scene.world
        self.board = board
        self.levels = levels or OtherAudioLevels()
        self._foreground: str | None = None
        self._timer_ringing = False
        self._music_route: str | None = None
        self._music_state = "stopped"
        self._bt_was_connected: list[str] = []
        board.routes = self.route_list
        board.bluetooth_devices = self.bluetooth_list
        for bundle_id in scene.host.bundles:
            board.app_screens[bundle_id] = voice_app_elements
        board.subscribe(self.on_change)

    # -- what SpringBoard shows -------------------------------------------------------------------

    def route_list(self) -> list[tuple[str, bool]]:
        app = self._world_app(self.board.foreground)
        try:
            picker = self.world.route_picker(app)
        except Exception:
            picker = self.world.route_picker(None)
        return [(BUILT_IN_NAMES.get(p["portName"], p["portName"]), bool(p["selected"])) for p in picker]

    def bluetooth_list(self) -> list[tuple[str, bool]]:
        return [(d["name"], d["state"] == "connected") for d in self.world.bluetooth_devices()]

    def refresh(self) -> None:
        """The world changed what SpringBoard shows, or where other audio plays."""
        self.board.refresh()
        self.follow_other_audio()

    # -- what the user did ------------------------------------------------------------------------

    def on_change(self, kind: str, fields: dict[str, Any]) -> None:
        handler = getattr(self, "on_" + kind.replace("-", "_"), None)
        if handler is None:
            return
        try:
            handler(**fields)
        except Exception as exc:  # the world refuses (e.g. Siri twice): record it, keep the lab up
            self.scene.phone.truth.emit("avfaudio", "scene-error", springboard=kind, error=str(exc))
        self.scene.follow_all_routes()
        self.follow_other_audio()

    def on_foreground(self, bundle_id: str) -> None:
        previous, self._foreground = self._foreground, bundle_id
        old = self._world_app(previous)
        new = self._world_app(bundle_id)
        if old is not None and old != new and self.world.foreground_app == old:
            self.world.app_background(old)
        if new is not None and self.world.foreground_app != new and not self.board.locked:
            self.world.app_foreground(new)

    def on_lock(self, locked: bool) -> None:
        app = self._world_app(self.board.foreground)
        if app is None:
            return
        if locked and self.world.foreground_app == app:
            self.world.app_background(app)
        elif not locked and self.world.foreground_app != app:
            self.world.app_foreground(app)

    def on_siri(self, active: bool, text: str = "") -> None:
        (self.scene.phone.log_activity.add if active else self.scene.phone.log_activity.discard)("siri")
        if active:
            # (inference) a request that starts audio of its own ends without shouldResume
            self.world.siri_started(plays_audio=bool(PLAYS_AUDIO.search(text)))
        else:
            self.world.siri_dismissed()

    def on_timer(self, state: str, seconds: float = 0.0, presentation: str = "") -> None:
        if state == "fired":
            self._timer_ringing = True
            self.world.alarm_fired("timer")
        elif state == "stopped" and self._timer_ringing:
            self._timer_ringing = False
            self.world.alarm_dismissed("timer")

    def on_other_audio(self, playing: bool) -> None:
        if playing:
            # Music plays on in the background (unlike a video app): not a foreground-only player
            self.world.media_app_played(MUSIC, foreground=False)
        elif self.world.other_audio_state != "stopped":
            self.world.media_app_stopped()

    def on_app_element(self, bundle_id: str, element: str) -> None:
        self.scene.host.tap(bundle_id, element)

    def on_media_services_reset(self) -> None:
        self.world.media_services_reset()

    def on_bluetooth(self, on: bool) -> None:
        if not on:
            self._bt_was_connected = [d["uid"] for d in self.world.bluetooth_devices()
                                      if d["state"] == "connected"]
            for uid in self._bt_was_connected:
                self.world.accessory_disconnected(uid)
        else:
            for uid in self._bt_was_connected:  # (inference) paired devices in reach reconnect
                self.world.accessory_connected(uid)
            self._bt_was_connected = []

    def on_bluetooth_connect(self, device: str) -> None:
        self.world.accessory_connected(self._uid(device))

    def on_bluetooth_disconnect(self, device: str) -> None:
        """Settings > Bluetooth > (i) > Disconnect: the user disconnects it; it stays powered."""
        self.world.accessory_disconnected(self._uid(device))

    def on_route_picked(self, route: str) -> None:
        """(inference) For a playAndRecord app, Control Center's picker acts like the app's own
        override (Speaker) or cancels it (iPhone); picking a Bluetooth device makes it the newest
        route (last-in wins)."""
        app = self._world_app(self.board.foreground) or self.world.foreground_app
        if route in ("Speaker", "iPhone"):
            if app is not None:
                port = PortOverride.speaker if route == "Speaker" else PortOverride.none
                self.world.session(app).override_output_audio_port(port)
            return
        uid = self._uid(route)
        if any(d["uid"] == uid and d["state"] == "connected" for d in self.world.bluetooth_devices()):
            self.world.accessory_disconnected(uid)
        self.world.accessory_connected(uid)

    # -- other apps' audio ------------------------------------------------------------------------

    def follow_other_audio(self) -> None:
        """Play, duck, move or stop Music's audio in the phone's sinks as the world says."""
        state = self.world.other_audio_state
        topology, sid = self.scene.topology, self.scene.sink_id
        route = None
        if state in ("playing", "ducked"):
            outputs = [p for h, p in self.world.system_audio().items() if h.startswith("media")]
            route = route_of(outputs[0]) if outputs else "speaker"
        if state == self._music_state and route == self._music_route:
            return
        level = self.levels.playing_dbfs + (self.levels.duck_db if state == "ducked" else 0.0)
        if route is None:
            topology.stop_other_audio(sid)
        elif self._music_route is None:
            topology.start_other_audio(sid, route, level)
        else:
            if route != self._music_route:
                topology.move_other_audio(sid, route)
            topology.set_other_audio_level(sid, level)
        self._music_state, self._music_route = state, route
        self.scene.phone.truth.emit("acoustics", "other-audio", state=state, route=route, level_dbfs=level)

    # -- helpers ----------------------------------------------------------------------------------

    def _world_app(self, bundle_id: str | None) -> str | None:
        if bundle_id in (None, SPRINGBOARD) or bundle_id not in self.scene.host.apps:
            return None
        return bundle_id

    def _uid(self, name: str) -> str:
        for d in self.world.bluetooth_devices():
            if d["name"] == name or d["uid"] == name:
                return str(d["uid"])
        raise KeyError(f"no paired Bluetooth device named {name!r}")


def voice_app_elements() -> list[UIElement]:
    """The voice app's own screen: its in-call buttons, by the accessibility ids of the app contract
    (README: "the app contract")."""
    return [
        UIElement("Button", identifier=contract.SPEAKER_BUTTON, label="Speaker", frame=(40, 700, 140, 60),
                  accessible=True, action=f"app:{contract.SPEAKER_BUTTON}", provenance="the app contract"),
        UIElement("Button", identifier=contract.END_CALL_BUTTON, label="End", frame=(210, 700, 140, 60),
                  accessible=True, action=f"app:{contract.END_CALL_BUTTON}", style="end",
                  provenance="the app contract"),
    ]


def pair_default_accessories(scene: PhoneScene) -> None:
    tag = scene.phone.name.split()[-1] if scene.phone.name.split() else scene.phone.udid[-4:]
    for make in DEFAULT_ACCESSORIES:
        scene.world.accessory_paired(make(tag))


def schedule_refresh(bridge: SpringBoardBridge) -> Callable[[Any], None]:
    """A world log hook: on every route decision, refresh SpringBoard once the step is over."""
    loop = asyncio.get_running_loop()
    pending = False

    def run() -> None:
        nonlocal pending
        pending = False
        bridge.refresh()

    def on_log(entry: Any) -> None:
        nonlocal pending
        if entry.kind in ("route", "decision") and not pending:
            pending = True
            loop.call_soon(run)

    return on_log
