"""The voice app process: ``python -m harness.sim.voiceapp``.

Talks to its host (the virtual phone, in the lab process) with JSON lines: the host writes
notifications, CallKit callbacks, UI taps, route and system I/O switches to stdin; the app writes
its AVAudioSession calls, its ``HARNESS-EVENT`` log lines and its ground truth to stdout. Audio goes
through the phone's PulseAudio devices; the call goes to the lab's WHIP peer.

Every decision comes from the :class:`~harness.sim.voiceapp.playbook.Playbook`: the handlers
below only run the actions it lists, so a defect is a different table, never a branch here.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from typing import Any
from urllib.parse import urlsplit

from harness import contract
from harness.peer.whip_client import WhipClient
from harness.sim import network
from harness.sim.avfaudio.constants import RouteChangeReason
from harness.sim.avfaudio.notifications import Key, Name
from harness.sim.voiceapp.audio_io import AudioUnit, MicrophoneTrack, Player
from harness.sim.voiceapp.playbook import Action, Playbook, playbook_for

INTERRUPTION = "AVAudioSessionInterruptionNotification"
MEDIA_SERVICES_RESET = "AVAudioSessionMediaServicesWereResetNotification"
TYPE_KEY = "AVAudioSessionInterruptionTypeKey"
OPTION_KEY = "AVAudioSessionInterruptionOptionKey"
BEGAN, SHOULD_RESUME = 1, 1
DID_ACTIVATE = "provider(_:didActivate:)"
DID_DEACTIVATE = "provider(_:didDeactivate:)"
PERFORM_END = "provider(_:perform:CXEndCallAction)"
NOTIFY_OTHERS_ON_DEACTIVATION = 1


def send(op: str, **fields: Any) -> None:
    sys.stdout.write(json.dumps({"op": op, **fields}) + "\n")
    sys.stdout.flush()


class VoiceApp:
    def __init__(self, playbook: Playbook, env: dict[str, str]) -> None:
        self.playbook = playbook
        self.env = env
        self.logging = env.get("HARNESS_APP_LOGGING", "1") != "0"
        self.callkit = env.get(contract.CALLKIT_ENV, "0") == "1"
        self.unit = AudioUnit()
        self.whip: WhipClient | None = None
        self.player: Player | None = None
        self.mic: MicrophoneTrack | None = None
        self.interrupted_at: float | None = None
        self.in_call = False
        self.speaker_override = False
        self._tasks: set[asyncio.Task[Any]] = set()

    # -- what the app says ------------------------------------------------------------------------

    def event(self, event_name: str, **fields: Any) -> None:
        if self.logging:
            kv = " ".join(f"{k}={v}" for k, v in fields.items())
            send("log", message=f"{contract.APP_EVENT_PREFIX}{event_name} {kv}".strip())

    def truth(self, event: str, **fields: Any) -> None:
        """What the app really did, for the lab's ground truth (never seen by the harness)."""
        send("truth", event=event, t_ns=time.monotonic_ns(), **fields)

    # -- AVAudioSession and the audio unit --------------------------------------------------------

    def configure_session(self) -> None:
        s = self.playbook.session
        send("session", call="setCategory", category=s.category, mode=s.mode, options=list(s.options))
        self.unit.voice_processing = s.voice_processing
        self.event("session-configured", category=s.category, mode=s.mode, options=",".join(s.options))

    def activate_session(self) -> None:
        if self.callkit and not self.playbook.activates_itself_under_callkit:
            self.event("activation-left-to-callkit")
            return
        send("session", call="setActive", active=True)
        self.event("session-activated")

    def start_io(self, cause: str) -> None:
        if self.unit.running:
            return
        self.unit.start()
        send("session", call="startIO")
        self.truth("io-started", cause=cause)

    def stop_io(self, cause: str) -> None:
        if not self.unit.running:
            return
        self.unit.stop()
        send("session", call="stopIO")
        self.truth("io-stopped", cause=cause)

    def open_audio(self) -> None:
        """The audio unit's two directions on the phone's devices (re-created after a media reset)."""
        self.mic = MicrophoneTrack(self.unit, self.env.get("HARNESS_SIM_INPUT_DEVICE") or None)
        loop = asyncio.get_running_loop()

        def on_edge(playing: bool, t_ns: int) -> None:  # audio thread: hand over to the loop
            loop.call_soon_threadsafe(
                lambda: send("truth", event="output-started" if playing else "output-stopped", t_ns=t_ns))

        self.player = Player(self.unit, self.env.get("HARNESS_SIM_OUTPUT_DEVICE") or None, on_edge)

    def close_audio(self) -> None:
        if self.player:
            self.player.close()
            self.player = None
        if self.mic:
            self.mic.stop()
            self.mic = None

    # -- the call ---------------------------------------------------------------------------------

    async def start(self) -> None:
        self.configure_session()
        self.open_audio()
        if self.callkit:
            # CallKit reports the call; the system activates the session and says so (didActivate).
            send("session", call="callkitStart")
            self.event("callkit-call-started")
            if self.playbook.activates_itself_under_callkit:
                self.activate_session()
                self.start_io("launch")
        else:
            self.activate_session()
            self.start_io("launch")
        self.in_call = True
        await self.connect()

    async def connect(self) -> None:
        url, token = self.env.get(contract.WHIP_URL_ENV), self.env.get(contract.WHIP_TOKEN_ENV)
        if not url or not token:
            self.event("no-whip-config")
            return
        # A phone cannot use a wildcard URL, nor (phone_network=lan-only) the host's loopback: the
        # connection is refused as on a phone (harness.sim.network). ICE gathers on the interface that
        # reaches the URL's host (the loopback or the LAN address: aioice skips loopback by default).
        refused = network.refusal(url, self.env.get("HARNESS_SIM_PHONE_NETWORK", network.HOST_LOOPBACK))
        if refused is not None:
            self.event("whip-failed", error="ConnectionRefusedError")
            self.truth("whip-failed", error=f"the phone cannot reach {url}: {refused}")
            return
        try:
            ice_host = network.local_address_for(urlsplit(url).hostname or "127.0.0.1")
        except OSError:
            ice_host = "127.0.0.1"
        assert self.mic is not None

        def on_track(track: Any) -> None:
            if self.player is not None:
                self.spawn(self.player.play(track))

        whip = WhipClient(url, token, self.mic, ice_hosts=(ice_host,), on_track=on_track)
        self.whip = whip
        try:
            await whip.connect()
        except Exception as exc:  # the app shows "can't connect"; the harness sees no call
            self.event("whip-failed", error=type(exc).__name__)
            self.truth("whip-failed", error=str(exc)[:200])
            return
        self.event("whip-published", resource=whip.location)
        self.event("connection-state", state="connected")
        self.truth("whip-connected", resource=whip.location)
        pc = whip.pc
        assert pc is not None

        @pc.on("connectionstatechange")
        def on_state() -> None:
            self.event("connection-state", state=pc.connectionState)
            self.truth("connection-state", state=pc.connectionState)

    async def reconnect(self, fresh_mic: bool = True) -> None:
        """A fresh WHIP session on the same token. aiortc has no ICE restart (reference/audio.md 0.1),
        so a new session is what the app does after its connection's consent expired."""
        old, self.whip = self.whip, None
        if old is not None:
            await old.drop()
        if fresh_mic:  # the old session's sender owned the track
            if self.mic is not None:
                self.mic.stop()
            self.mic = MicrophoneTrack(self.unit, self.env.get("HARNESS_SIM_INPUT_DEVICE") or None)
        self.event("ice-recheck", action="new-session")
        await self.connect()

    def connection_alive(self) -> bool:
        pc = self.whip.pc if self.whip else None
        return pc is not None and pc.connectionState == "connected"

    async def end_call(self, cause: str) -> None:
        if not self.in_call:
            return
        self.in_call = False
        self.run_actions(self.playbook.on_call_ended, cause)
        if self.callkit:
            send("session", call="callkitEnd")
        if self.whip is not None:
            await self.whip.close()
            self.whip = None
        self.event("call-ended", cause=cause)

    # -- the playbook's actions -------------------------------------------------------------------

    def run_actions(self, actions: tuple[Action, ...], cause: str) -> None:
        for action in actions:
            self.run_action(action, cause)

    def run_action(self, action: Action, cause: str) -> None:
        if action == "pause":
            self.stop_io(cause)
            self.event("audio-paused", cause=cause)
        elif action == "configure_session":
            self.configure_session()
        elif action == "activate_session":
            self.activate_session()
        elif action == "recheck_ice":
            self.recheck_ice()
        elif action == "override_speaker":
            send("session", call="overrideOutputAudioPort", port="speaker")
            self.event("speaker-override", on="true")
        elif action == "resume":
            self.unit.output_gain = 10 ** (self.playbook.output_gain_db_after_resume / 20)
            self.start_io(cause)
            self.event("audio-resumed", cause=cause)
        elif action == "rebuild":
            self.stop_io(cause)
            self.close_audio()
            self.configure_session()
            self.open_audio()
            self.spawn(self.reconnect(fresh_mic=False))  # the old tracks died with the old audio unit
            self.activate_session()
            self.start_io(cause)
            self.event("audio-rebuilt", cause=cause)
        elif action == "stop_io":
            self.stop_io(cause)
        elif action in ("deactivate_session", "deactivate_session_notify_others"):
            notify = action == "deactivate_session_notify_others"
            options = NOTIFY_OTHERS_ON_DEACTIVATION if notify else 0
            if not self.callkit:  # under CallKit the system deactivates (didDeactivate)
                send("session", call="setActive", active=False, options=options)
            self.event("session-deactivated", notifyOthers=str(notify).lower())
        elif action == "log":
            self.event("no-action", cause=cause)

    def recheck_ice(self) -> None:
        """After an interruption: a long one, or a dead connection, gets a fresh session now; otherwise
        the connection must prove itself (audio from the peer within ``liveness_s``) or is replaced."""
        began = self.interrupted_at
        long = began is not None and time.monotonic() - began >= self.playbook.ice_stale_after_s
        if long or not self.connection_alive():
            self.spawn(self.reconnect())
            return
        self.event("ice-recheck", action="probing")

        async def probe() -> None:
            # Only the second half of the window counts: a process that was stopped reads the
            # packets its socket queued meanwhile at once, and that backlog proves nothing.
            await asyncio.sleep(self.playbook.liveness_s / 2)
            received = self.player.received if self.player else 0
            await asyncio.sleep(self.playbook.liveness_s / 2)
            if self.player is not None and self.player.received == received and self.in_call:
                await self.reconnect()
            else:
                self.event("ice-recheck", action="kept")

        self.spawn(probe())

    # -- messages from the phone ------------------------------------------------------------------

    def on_message(self, msg: dict[str, Any]) -> None:
        op = msg.get("op")
        if op == "io":  # the system stopped our audio I/O (an interruption): only we can restart it
            if not msg.get("running") and self.unit.running:
                self.unit.stop()
                self.truth("io-stopped", cause="system")
        elif op == "route":
            self.unit.route = str(msg.get("route", "receiver"))
            self.event("route-changed", route=self.unit.route)
        elif op == "ui":
            self.on_tap(str(msg.get("element", "")))
        elif op == "notification":
            self.on_notification(str(msg.get("name", "")), msg.get("userInfo") or {})

    def on_notification(self, name: str, info: dict[str, Any]) -> None:
        if name == INTERRUPTION and info.get(TYPE_KEY) == BEGAN:
            self.interrupted_at = time.monotonic()
            self.event("interruption-began", reason=info.get("AVAudioSessionInterruptionReasonKey"))
            self.run_actions(self.playbook.on_interruption_began, "interruption-began")
        elif name == INTERRUPTION:
            should = bool(int(info.get(OPTION_KEY, 0)) & SHOULD_RESUME)
            self.event("interruption-ended", shouldResume=str(should).lower())
            actions = (self.playbook.on_interruption_ended_should_resume if should
                       else self.playbook.on_interruption_ended_without_resume)
            self.run_actions(actions, "interruption-ended")
            self.interrupted_at = None
        elif (name == Name.routeChange
              and int(info.get(Key.routeChangeReason, 0)) == RouteChangeReason.oldDeviceUnavailable):
            self.event("route-lost")
            self.run_actions(self.playbook.on_route_lost, "route-lost")
        elif name == MEDIA_SERVICES_RESET:
            self.event("media-services-reset")
            self.run_actions(self.playbook.on_media_services_reset, "media-services-reset")
        elif name == DID_ACTIVATE:
            self.event("callkit-did-activate")
            if self.in_call and self.interrupted_at is None:
                self.start_io("callkit-did-activate")
            elif self.in_call:  # back from a hold: CallKit's activation is the app's "ended"
                self.run_actions(self.playbook.on_interruption_ended_should_resume, "callkit-did-activate")
                self.interrupted_at = None
        elif name == DID_DEACTIVATE:
            self.event("callkit-did-deactivate")
            if self.interrupted_at is None and self.in_call:
                self.interrupted_at = time.monotonic()
            self.stop_io("callkit-did-deactivate")
        elif name == PERFORM_END:
            self.spawn(self.end_call("callkit-end"))
        else:
            self.event("notification", name=name)

    def on_tap(self, element: str) -> None:
        if element == contract.SPEAKER_BUTTON:
            self.speaker_override = not self.speaker_override
            port = "speaker" if self.speaker_override else "none"
            send("session", call="overrideOutputAudioPort", port=port)
            self.event("speaker-override", on=str(self.speaker_override).lower())
        elif element == contract.END_CALL_BUTTON:
            self.spawn(self.end_call("user"))

    def spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        self.unit.stop()
        if self.whip:
            await self.whip.close()
        self.close_audio()


async def read_commands(app: VoiceApp) -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while line := await reader.readline():
        try:
            msg = json.loads(line)
        except ValueError:
            continue
        if msg.get("op") == "terminate":
            break
        app.on_message(msg)


async def main() -> int:
    env = dict(os.environ)
    app = VoiceApp(playbook_for(env.get("HARNESS_SIM_DEFECT")), env)
    try:
        await app.start()
        await read_commands(app)  # until the host closes stdin or says terminate
    finally:
        await app.close()
    return 0
