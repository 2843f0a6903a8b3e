"""The phone side of the voice app: launches its process and carries messages both ways.

This is what WDA's app launch reaches on a virtual phone. One process per launch, so the lab can
stop it (SIGSTOP) while iOS would suspend the app and its notifications wait, as on a phone.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

SessionCall = Callable[[str, dict[str, Any]], None]
LogSink = Callable[[str, str], None]
TruthSink = Callable[[str, dict[str, Any]], None]

NOT_RUNNING, RUNNING_BACKGROUND_SUSPENDED, RUNNING_BACKGROUND, RUNNING_FOREGROUND = 1, 2, 3, 4


@dataclass
class AppProcess:
    bundle_id: str
    proc: asyncio.subprocess.Process
    environment: dict[str, str]
    suspended: bool = False
    terminating: bool = False
    reader: asyncio.Task[None] | None = None

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def alive(self) -> bool:
        return self.proc.returncode is None


class VoiceAppHost:
    """Launch, terminate and message the voice app processes of one virtual phone.

    ``on_session_call(bundle_id, call)`` receives the app's AVAudioSession calls (the iOS audio
    world decides what they do); ``on_log(bundle_id, message)`` its log lines (os_trace);
    ``on_truth(bundle_id, event)`` what the app really did, with its time (ground truth, written
    whether or not the app logs); ``process_env`` is what every app process needs to reach the
    phone's audio devices.
    """

    def __init__(
        self,
        bundles: set[str],
        on_session_call: SessionCall,
        on_log: LogSink,
        process_env: dict[str, str] | None = None,
        defect: str | None = None,
        logging: bool = True,
        on_truth: TruthSink | None = None,
        on_crash: Callable[[str, int], None] | None = None,
    ) -> None:
        self.bundles = bundles
        self.on_session_call = on_session_call
        self.on_log = on_log
        self.process_env = dict(process_env or {})
        self.defect = defect
        self.logging = logging
        self.on_truth = on_truth
        self.on_crash = on_crash
        """``on_crash(bundle_id, returncode)``: the app's process died without being terminated."""
        self.apps: dict[str, AppProcess] = {}

    # -- WDA's view: launch, terminate, state ------------------------------------------------

    async def launch(self, bundle_id: str, arguments: list[str], environment: dict[str, str]) -> int:
        running = self.apps.get(bundle_id)
        if running and running.alive:
            return running.pid  # as WDA: a running app is only activated, its env is ignored
        env = {**os.environ, **self.process_env, **{k: str(v) for k, v in environment.items()}}
        env["HARNESS_SIM_BUNDLE"] = bundle_id
        if self.defect:
            env["HARNESS_SIM_DEFECT"] = self.defect
        if not self.logging:
            env["HARNESS_APP_LOGGING"] = "0"
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "harness.sim.voiceapp", *arguments,
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, env=env,
        )
        app = AppProcess(bundle_id, proc, dict(environment))
        app.reader = asyncio.create_task(self._read(app))
        self.apps[bundle_id] = app
        return proc.pid

    async def terminate(self, bundle_id: str) -> bool:
        app = self.apps.pop(bundle_id, None)
        if not app or not app.alive:
            return False
        app.terminating = True
        if app.suspended:
            app.proc.send_signal(signal.SIGCONT)
        with contextlib.suppress(ProcessLookupError, BrokenPipeError, ConnectionResetError):
            assert app.proc.stdin is not None
            app.proc.stdin.write(b'{"op":"terminate"}\n')
            await app.proc.stdin.drain()
        try:
            await asyncio.wait_for(app.proc.wait(), 5)
        except TimeoutError:
            app.proc.kill()
            await app.proc.wait()
        if app.reader:
            app.reader.cancel()
        return True

    def state(self, bundle_id: str) -> int:
        app = self.apps.get(bundle_id)
        if not app or not app.alive:
            return NOT_RUNNING
        return RUNNING_BACKGROUND_SUSPENDED if app.suspended else RUNNING_FOREGROUND

    def pid(self, bundle_id: str) -> int | None:
        app = self.apps.get(bundle_id)
        return app.pid if app and app.alive else None

    # -- the system's view: notifications, I/O, suspension -----------------------------------

    def post(self, bundle_id: str, message: dict[str, Any]) -> None:
        """Deliver a message. A stopped (suspended) process reads it from its pipe once continued,
        so delivery is late exactly as long as the suspension lasts."""
        app = self.apps.get(bundle_id)
        if app and app.alive:
            self._write(app, message)

    def notify(self, bundle_id: str, name: str, user_info: dict[str, Any] | None = None) -> None:
        self.post(bundle_id, {"op": "notification", "name": name, "userInfo": user_info or {}})

    def set_io(self, bundle_id: str, running: bool) -> None:
        self.post(bundle_id, {"op": "io", "running": running})

    def set_route(self, bundle_id: str, route: str) -> None:
        """Tell the app's audio unit which output its audio is on now (its echo path depends on it)."""
        self.post(bundle_id, {"op": "route", "route": route})

    def tap(self, bundle_id: str, element: str) -> None:
        """A tap on one of the app's own UI elements (by accessibility identifier)."""
        self.post(bundle_id, {"op": "ui", "element": element})

    def suspend(self, bundle_id: str) -> None:
        app = self.apps.get(bundle_id)
        if app and app.alive and not app.suspended:
            app.proc.send_signal(signal.SIGSTOP)
            app.suspended = True

    def resume(self, bundle_id: str) -> None:
        app = self.apps.get(bundle_id)
        if app and app.alive and app.suspended:
            app.proc.send_signal(signal.SIGCONT)
            app.suspended = False

    async def close(self) -> None:
        for bundle_id in list(self.apps):
            await self.terminate(bundle_id)

    # -- plumbing -----------------------------------------------------------------------------

    def _write(self, app: AppProcess, message: dict[str, Any]) -> None:
        with contextlib.suppress(ProcessLookupError, BrokenPipeError, ConnectionResetError, AttributeError):
            assert app.proc.stdin is not None
            app.proc.stdin.write((json.dumps(message) + "\n").encode())

    async def _read(self, app: AppProcess) -> None:
        assert app.proc.stdout is not None
        while line := await app.proc.stdout.readline():
            try:
                msg = json.loads(line)
            except ValueError:
                self.on_log(app.bundle_id, line.decode(errors="replace").rstrip())
                continue
            if msg.get("op") == "log":
                self.on_log(app.bundle_id, str(msg.get("message", "")))
            elif msg.get("op") == "session":
                self.on_session_call(app.bundle_id, msg)
            elif msg.get("op") == "truth" and self.on_truth is not None:
                self.on_truth(app.bundle_id, msg)
        code = await app.proc.wait()
        if not app.terminating and self.on_crash is not None:
            if self.apps.get(app.bundle_id) is app:
                del self.apps[app.bundle_id]
            self.on_crash(app.bundle_id, code)
