"""The voice app process: ``python -m harness.sim.voiceapp``.

Talks to its host (the virtual phone, in the lab process) with JSON lines: the host writes
notifications and system I/O switches to stdin; the app writes its AVAudioSession calls and its
``HARNESS-EVENT`` log lines to stdout. Audio goes through the phone's PulseAudio devices.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from typing import Any

from harness.peer.whip_client import WhipClient
from harness.sim.voiceapp.audio_io import AudioUnit, MicrophoneTrack, Player
from harness.sim.voiceapp.playbook import Action, Playbook, playbook_for

INTERRUPTION = "AVAudioSessionInterruptionNotification"
TYPE_KEY = "AVAudioSessionInterruptionTypeKey"
OPTION_KEY = "AVAudioSessionInterruptionOptionKey"
BEGAN, ENDED, SHOULD_RESUME = 1, 0, 1


def send(op: str, **fields: Any) -> None:
    sys.stdout.write(json.dumps({"op": op, **fields}) + "\n")
    sys.stdout.flush()


class VoiceApp:
    def __init__(self, playbook: Playbook, env: dict[str, str]) -> None:
        self.playbook = playbook
        self.env = env
        self.logging = env.get("HARNESS_APP_LOGGING", "1") != "0"
        self.unit = AudioUnit()
        self.whip: WhipClient | None = None
        self.player: Player | None = None
        self.mic: MicrophoneTrack | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def event(self, name: str, **fields: Any) -> None:
        if self.logging:
            kv = " ".join(f"{k}={v}" for k, v in fields.items())
            send("log", message=f"HARNESS-EVENT {name} {kv}".strip())

    def truth(self, event: str, **fields: Any) -> None:
        """What the app really did, for the lab's ground truth (never seen by the harness)."""
        send("truth", event=event, t_ns=time.monotonic_ns(), **fields)

    def start_io(self, cause: str) -> None:
        self.unit.start()
        send("session", call="startIO")
        self.truth("io-started", cause=cause)

    def stop_io(self, cause: str) -> None:
        self.unit.stop()
        send("session", call="stopIO")
        self.truth("io-stopped", cause=cause)

    async def start(self) -> None:
        s = self.playbook.session
        send("session", call="setCategory", category=s.category, mode=s.mode, options=list(s.options))
        self.event("session-configured", category=s.category, mode=s.mode, options=",".join(s.options))
        self.activate_session()
        self.mic = MicrophoneTrack(self.unit, self.env.get("HARNESS_SIM_INPUT_DEVICE") or None)
        loop = asyncio.get_running_loop()

        def on_edge(playing: bool, t_ns: int) -> None:  # audio thread: hand over to the loop
            loop.call_soon_threadsafe(
                lambda: send("truth", event="output-started" if playing else "output-stopped", t_ns=t_ns))

        self.player = Player(self.unit, self.env.get("HARNESS_SIM_OUTPUT_DEVICE") or None, on_edge)
        self.start_io("launch")
        await self.connect()

    def activate_session(self) -> None:
        send("session", call="setActive", active=True)
        self.event("session-activated")

    async def connect(self) -> None:
        url, token = self.env.get("HARNESS_WHIP_URL"), self.env.get("HARNESS_WHIP_TOKEN")
        if not url or not token:
            self.event("no-whip-config")
            return
        player = self.player

        def on_track(track: Any) -> None:
            assert player is not None
            task = asyncio.ensure_future(player.play(track))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

        # The lab host's loopback is the virtual phone's network (aioice skips it by default).
        self.whip = WhipClient(url, token, self.mic, ice_hosts=("127.0.0.1",), on_track=on_track)
        await self.whip.connect()
        self.event("whip-published", resource=self.whip.location)
        self.event("connection-state", state="connected")
        pc = self.whip.pc
        assert pc is not None

        @pc.on("connectionstatechange")
        def on_state() -> None:
            self.event("connection-state", state=pc.connectionState)

    def run_actions(self, actions: tuple[Action, ...], cause: str) -> None:
        for action in actions:
            if action == "pause":
                self.stop_io(cause)
                self.event("audio-paused", cause=cause)
            elif action == "activate_session":
                self.activate_session()
            elif action == "resume":
                self.unit.output_gain = 10 ** (self.playbook.output_gain_db_after_resume / 20)
                self.start_io(cause)
                self.event("audio-resumed", cause=cause)
            elif action == "log":
                self.event("no-action", cause=cause)

    def on_message(self, msg: dict[str, Any]) -> None:
        op = msg.get("op")
        if op == "io":  # the system stopped our audio I/O (an interruption): only we can restart it
            if not msg.get("running") and self.unit.running:
                self.unit.stop()
                self.truth("io-stopped", cause="system")
        elif op == "notification" and msg.get("name") == INTERRUPTION:
            info = msg.get("userInfo", {})
            if info.get(TYPE_KEY) == BEGAN:
                self.event("interruption-began", reason=info.get("AVAudioSessionInterruptionReasonKey"))
                self.run_actions(self.playbook.on_interruption_began, "interruption-began")
            else:
                should = bool(int(info.get(OPTION_KEY, 0)) & SHOULD_RESUME)
                self.event("interruption-ended", shouldResume=str(should).lower())
                actions = (
                    self.playbook.on_interruption_ended_should_resume
                    if should
                    else self.playbook.on_interruption_ended_without_resume
                )
                self.run_actions(actions, "interruption-ended")
        elif op == "notification":
            self.event("notification", name=msg.get("name"))

    async def close(self) -> None:
        self.unit.stop()
        if self.whip:
            await self.whip.close()
        if self.player:
            self.player.close()
        if self.mic:
            self.mic.stop()


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
