"""The lab's PulseAudio server: an ordinary child process of the harness, with null sinks as devices.

Debian's PortAudio (19.6) has no PulseAudio host API, so the server's sinks reach sounddevice through
ALSA's ``pulse`` plugin: for every null sink this module writes two ALSA PCMs into the server's own
ALSA config file, ``<sink>`` (plays into the sink) and ``<sink>_monitor`` (records what the sink
plays). Each PCM names the server's socket itself, so a process that has the config file on its
``ALSA_CONFIG_PATH`` reaches the right server whatever its ``PULSE_SERVER`` says; :meth:`client_env`
gives a child process both.

The server runs with its state, socket, log and ALSA config in one scratch directory, with anonymous
auth on its native socket and no ``default.pa`` (no hardware, D-Bus or udev modules). Its start is
event-driven (``pactl info`` answers after ~25 ms); its stop signals only its own PID.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.audio import devices
from harness.errors import LabFault, UsageError

PULSEAUDIO = "pulseaudio"
PACTL = "pactl"
INSTALL_HINT = "install the Debian packages pulseaudio pulseaudio-utils libasound2-plugins (bin/setup does)"
MONITOR_SUFFIX = "_monitor"
# ALSA's top-level config; ALSA_CONFIG_PATH replaces it, so it is listed first (it loads the plugins).
ALSA_BASE_CONFIG = "/usr/share/alsa/alsa.conf"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$")
_SOCKET_PATH_MAX = 100  # sun_path is 108 bytes on Linux


@dataclass(frozen=True)
class Sink:
    """A null sink and the two ALSA device names that reach it."""

    name: str
    module: int
    channels: int
    rate: int
    channel_map: str | None = None
    master: str | None = None
    """For a remap sink: the sink it plays into."""

    @property
    def device(self) -> str:
        """The output device that plays into this sink."""
        return self.name

    @property
    def monitor(self) -> str:
        """The input device that records what this sink plays."""
        return self.name + MONITOR_SUFFIX


@dataclass(frozen=True)
class SinkInput:
    """A playback stream connected to a sink (what ``pactl list sink-inputs`` shows)."""

    index: int
    sink: str
    pid: int | None
    application: str
    media: str
    owner_module: int | None = None
    """The module that plays it (a loopback, module-sine...); None for a client's stream."""


ALSA_CHANNEL_MAPS = {
    1: "mono",
    2: "front-left,front-right",
    3: "front-left,front-right,aux0",
    4: "front-left,front-right,rear-left,rear-right",
    5: "front-left,front-right,rear-left,rear-right,front-center",
    6: "front-left,front-right,rear-left,rear-right,front-center,lfe",
    7: "front-left,front-right,rear-left,rear-right,front-center,lfe,aux0",
    8: "front-left,front-right,rear-left,rear-right,front-center,lfe,side-left,side-right",
}
"""The channel map ALSA's ``pulse`` plugin gives a stream of N channels (measured: pactl list
source-outputs, libasound2-plugins 1.2.7.1). A sink whose map differs is remixed by name on the way
to such a stream (left channels into front-left...), silently; a sink with exactly this map is not."""


def alsa_channel_map(channels: int) -> str:
    try:
        return ALSA_CHANNEL_MAPS[channels]
    except KeyError:
        raise UsageError(
            f"a multichannel lab device can have 1 to {max(ALSA_CHANNEL_MAPS)} channels through ALSA's "
            f"pulse plugin, not {channels}: capture fewer routes per device"
        ) from None


def _module_index(value: Any) -> int | None:
    try:
        index = int(value)
    except (TypeError, ValueError):
        return None
    return index if 0 <= index < 2**32 - 1 else None  # PA_INVALID_INDEX: no owner


def check_name(name: str, what: str = "sink name") -> str:
    if not _NAME.match(name):
        raise UsageError(
            f"{what} {name!r} is not usable as an audio device name: use letters, digits, '_' and '-' "
            "(at most 63, starting with a letter or digit)"
        )
    return name


class PulseServer:
    """One PulseAudio server owned by the harness.

    ``with PulseServer(scratch) as pulse:`` starts it; ``pulse.add_sink("dut_receiver")`` creates a
    device pair; ``pulse.activate()`` makes this process's sounddevice see them. ``scratch`` defaults
    to a fresh temporary directory, removed on stop. ``timeline`` (optional) gets ``pulse`` events.
    """

    def __init__(
        self,
        scratch: str | os.PathLike[str] | None = None,
        *,
        binary: str = PULSEAUDIO,
        pactl: str = PACTL,
        rate: int = 48000,
        sample_format: str = "float32le",
        timeline: Any = None,
    ) -> None:
        self._own_scratch = scratch is None
        self.scratch = Path(scratch if scratch is not None else tempfile.mkdtemp(prefix="harness-pulse-"))
        self.binary = binary
        self.pactl_binary = pactl
        self.rate = rate
        self.sample_format = sample_format
        self.timeline = timeline
        self.sinks: dict[str, Sink] = {}
        self._proc: subprocess.Popen[bytes] | None = None
        self._socket_dir: Path | None = None
        self._saved_env: dict[str, str | None] | None = None
        self._lock = threading.RLock()

    # -- paths ------------------------------------------------------------------------------------

    @property
    def socket(self) -> Path:
        assert self._socket_dir is not None, "server not started"
        return self._socket_dir / "native"

    @property
    def server(self) -> str:
        """The server address as libpulse spells it (``PULSE_SERVER``)."""
        return f"unix:{self.socket}"

    @property
    def alsa_config(self) -> Path:
        return self.scratch / "asound.conf"

    @property
    def log_path(self) -> Path:
        return self.scratch / "pulseaudio.log"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    # -- life cycle -------------------------------------------------------------------------------

    def start(self, timeout: float = 15.0) -> PulseServer:
        """Start the server and return once it answers ``pactl info``."""
        binary = shutil.which(self.binary)
        if binary is None:
            raise LabFault(f"PulseAudio binary {self.binary!r} not found on PATH: {INSTALL_HINT}",
                           tag="pulseaudio-missing")
        if shutil.which(self.pactl_binary) is None:
            raise LabFault(f"{self.pactl_binary!r} not found on PATH: {INSTALL_HINT}",
                           tag="pulseaudio-missing")
        if self.running:
            return self
        self.scratch.mkdir(parents=True, exist_ok=True)
        run = self.scratch / "run"
        if len(str(run / "native")) > _SOCKET_PATH_MAX:
            run = Path(tempfile.mkdtemp(prefix="hpa-"))  # the socket path must fit sun_path
        run.mkdir(parents=True, exist_ok=True)
        self._socket_dir = run
        (self.scratch / "client.conf").write_text("autospawn = no\n")
        script = self.scratch / "lab.pa"
        script.write_text(f"load-module module-native-protocol-unix socket={self.socket} auth-anonymous=1\n")
        self._write_alsa_config()
        env = {
            **os.environ,
            "HOME": str(self.scratch),  # state dir and cookie stay in scratch
            "XDG_RUNTIME_DIR": str(run),
            "XDG_CONFIG_HOME": str(self.scratch / ".config"),
            "PULSE_CLIENTCONFIG": str(self.scratch / "client.conf"),
        }
        env.pop("PULSE_SERVER", None)
        cmd = [
            binary, "--daemonize=no", "-n", "-F", str(script), "--exit-idle-time=-1", "--use-pid-file=no",
            "--system=no", "--disallow-exit", f"--log-target=file:{self.log_path}",
        ]
        stderr = open(self.scratch / "pulseaudio.stderr", "ab")  # noqa: SIM115 - closed by the child's exit
        try:
            self._proc = subprocess.Popen(
                cmd, env=env, stdin=subprocess.DEVNULL, stdout=stderr, stderr=stderr, cwd=self.scratch,
                start_new_session=True,  # a Ctrl-C in the terminal reaches the harness, which stops us
            )
        finally:
            stderr.close()
        atexit.register(self.stop)
        deadline = time.monotonic() + timeout
        delay = 0.005
        while True:
            if self._proc.poll() is not None:
                raise LabFault(
                    f"PulseAudio exited at start (code {self._proc.returncode}): {self._log_tail()}",
                    tag="pulseaudio-start",
                )
            if self._answers():
                break
            if time.monotonic() > deadline:
                self.stop()
                raise LabFault(f"PulseAudio did not answer within {timeout:.0f} s: {self._log_tail()}",
                               tag="pulseaudio-start")
            time.sleep(delay)
            delay = min(delay * 1.5, 0.1)
        self._event("pulse-started", pid=self._proc.pid, server=self.server)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the server (SIGTERM to its own PID, SIGKILL after ``timeout``) and restore the env."""
        with self._lock:
            self.deactivate()
            proc, self._proc = self._proc, None
            if proc is not None:
                atexit.unregister(self.stop)
                if proc.poll() is None:
                    proc.send_signal(signal.SIGTERM)
                    try:
                        proc.wait(timeout)
                    except subprocess.TimeoutExpired:
                        proc.kill()
                        proc.wait()
                self._event("pulse-stopped", pid=proc.pid, returncode=proc.returncode)
            self.sinks.clear()
            if self._socket_dir is not None and not self._socket_dir.is_relative_to(self.scratch):
                shutil.rmtree(self._socket_dir, ignore_errors=True)
            if self._own_scratch:
                shutil.rmtree(self.scratch, ignore_errors=True)

    def __enter__(self) -> PulseServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- what clients need ------------------------------------------------------------------------

    def client_env(self) -> dict[str, str]:
        """Environment a process needs to open this server's devices (pass it to child processes)."""
        base = os.environ.get("ALSA_CONFIG_PATH") or ALSA_BASE_CONFIG
        if self._saved_env is not None:  # this process is activated: base is what it was before
            base = self._saved_env.get("ALSA_CONFIG_PATH") or ALSA_BASE_CONFIG
        paths = [p for p in base.split(":") if p and p != str(self.alsa_config)]
        return {
            "PULSE_SERVER": self.server,
            "PULSE_CLIENTCONFIG": str(self.scratch / "client.conf"),
            "ALSA_CONFIG_PATH": ":".join([*paths, str(self.alsa_config)]),
        }

    def activate(self) -> None:
        """Put :meth:`client_env` into this process's environment (undone by :meth:`deactivate`).

        PortAudio reads ALSA's config when it initialises; :func:`harness.audio.devices.find_device`
        re-scans on a miss, so devices added after this call are found by name.
        """
        with self._lock:
            if self._saved_env is not None:
                return
            env = self.client_env()
            self._saved_env = {k: os.environ.get(k) for k in env}
            os.environ.update(env)

    def deactivate(self) -> None:
        with self._lock:
            saved, self._saved_env = self._saved_env, None
            if saved is None:
                return
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
            devices.rescan_if_idle()  # forget this server's devices

    # -- sinks and streams ------------------------------------------------------------------------

    def add_sink(self, name: str, channels: int = 2, description: str | None = None,
                 channel_map: str | None = None) -> Sink:
        """Create a null sink ``name`` and its ALSA devices ``name`` and ``name_monitor``.

        ``channel_map`` labels its channels (default: PulseAudio's for the count); a multichannel
        device recorded through ALSA should have :func:`alsa_channel_map` so nothing is remixed.
        """
        check_name(name)
        with self._lock:
            if name in self.sinks:
                return self.sinks[name]
            desc = (description or f"harness lab {name}").replace(" ", "_")
            args = [f"channel_map={channel_map}"] if channel_map else []
            out = self.pactl(
                "load-module", "module-null-sink", f"sink_name={name}", f"rate={self.rate}",
                f"channels={channels}", f"format={self.sample_format}", *args,
                f"sink_properties=device.description={desc}",
            )
            sink = Sink(name, int(out.strip()), channels, self.rate, channel_map)
            self.sinks[name] = sink
            self._write_alsa_config()
        self._event("sink-added", sink=name, module=sink.module, channels=channels)
        return sink

    def add_channel_sink(self, name: str, master: str, position: str, description: str | None = None) -> Sink:
        """A mono sink that plays into one labelled channel of ``master`` and nowhere else.

        A ``module-remap-sink`` with ``remix=no``: its one channel is relabelled ``position``
        (e.g. ``rear-left``) and lands on the master's channel of that name only; no resampling,
        the master's clock. Anything played into it (stereo included) is mixed to mono first.
        """
        check_name(name)
        with self._lock:
            if name in self.sinks:
                return self.sinks[name]
            parent = self.sinks.get(master)
            if parent is None:
                raise UsageError(f"no lab sink named {master!r} to play {name!r} into; "
                                 f"the server has {sorted(self.sinks)}")
            if parent.channel_map is None or position not in parent.channel_map.split(","):
                raise UsageError(f"lab sink {master!r} has no channel labelled {position!r} "
                                 f"(its map: {parent.channel_map or 'unlabelled'})")
            desc = (description or f"harness lab {name}").replace(" ", "_")
            out = self.pactl(
                "load-module", "module-remap-sink", f"sink_name={name}", f"master={master}", "channels=1",
                "channel_map=mono", f"master_channel_map={position}", "remix=no",
                f"sink_properties=device.description={desc}",
            )
            sink = Sink(name, int(out.strip()), 1, self.rate, "mono", master)
            self.sinks[name] = sink
            self._write_alsa_config()
        self._event("sink-added", sink=name, module=sink.module, channels=1, master=master, position=position)
        return sink

    def remove_sink(self, name: str) -> None:
        """Remove a sink, and first every sink that plays into it."""
        with self._lock:
            sink = self.sinks.get(name)
            if sink is None:
                raise UsageError(f"no lab sink named {name!r}; the server has {sorted(self.sinks)}")
            for child in [s.name for s in self.sinks.values() if s.master == name]:
                self.remove_sink(child)
            del self.sinks[name]
            self.pactl("unload-module", str(sink.module))
            self._write_alsa_config()
        self._event("sink-removed", sink=name)

    def load_module(self, module: str, **args: str | int) -> int:
        """Load any PulseAudio module (loopbacks for cross-talk, remaps...) and return its index."""
        out = self.pactl("load-module", module, *(f"{k}={v}" for k, v in args.items()))
        return int(out.strip())

    def unload_module(self, index: int) -> None:
        self.pactl("unload-module", str(index))

    def sink_inputs(self) -> list[SinkInput]:
        names = {s["index"]: s["name"] for s in self.pactl_json("list", "sinks")}
        result = []
        for si in self.pactl_json("list", "sink-inputs"):
            props = si.get("properties", {})
            pid = props.get("application.process.id")
            result.append(SinkInput(
                index=int(si["index"]), sink=names.get(si["sink"], str(si["sink"])),
                pid=int(pid) if pid and str(pid).isdigit() else None,
                application=str(props.get("application.name", "")), media=str(props.get("media.name", "")),
                owner_module=_module_index(si.get("owner_module")),
            ))
        return result

    def set_sink_input_volume(self, index: int, factor: float) -> None:
        """Set one stream's volume as a linear amplitude factor (0.1 is -20 dB)."""
        if factor < 0:
            raise UsageError(f"a volume factor cannot be negative ({factor})")
        self.pactl("set-sink-input-volume", str(index), f"{factor:.6f}")

    def set_sink_input_mute(self, index: int, muted: bool) -> None:
        self.pactl("set-sink-input-mute", str(index), "1" if muted else "0")

    def set_source_mute(self, source: str, muted: bool) -> None:
        """Mute a source (``<sink>.monitor``): every stream recording it gets zeros until unmuted."""
        self.pactl("set-source-mute", source, "1" if muted else "0")

    def move_sink_input(self, index: int, sink: str) -> None:
        """Move one playback stream to another sink: the route switch (seamless, sample-exact)."""
        if sink not in self.sinks:
            raise UsageError(f"no lab sink named {sink!r}; the server has {sorted(self.sinks)}")
        self.pactl("move-sink-input", str(index), sink)

    def move_streams(self, from_sink: str, to_sink: str, pid: int | None = None) -> list[int]:
        """Move every stream playing into ``from_sink`` (of process ``pid`` if given) to ``to_sink``."""
        moved = []
        for si in self.sink_inputs():
            if si.sink == from_sink and (pid is None or si.pid == pid):
                self.move_sink_input(si.index, to_sink)
                moved.append(si.index)
        self._event("streams-moved", from_sink=from_sink, to_sink=to_sink, pid=pid, inputs=moved)
        return moved

    # -- pactl ------------------------------------------------------------------------------------

    def pactl(self, *args: str, timeout: float = 10.0) -> str:
        if self._proc is None:
            raise LabFault("PulseAudio is not running (start the PulseServer first)", tag="pulseaudio-down")
        cmd = [self.pactl_binary, "-s", self.server, *args]
        env = {**os.environ, "PULSE_CLIENTCONFIG": str(self.scratch / "client.conf")}
        try:
            done = subprocess.run(cmd, env=env, capture_output=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired as exc:
            raise LabFault(f"{' '.join(cmd)} took over {timeout:.0f} s", tag="pulseaudio-hung") from exc
        if done.returncode != 0:
            state = "running" if self.running else f"exited ({self._log_tail()})"
            err = done.stderr.decode(errors="replace").strip()
            raise LabFault(f"{' '.join(args)} failed: {err} (PulseAudio {state})", tag="pulseaudio")
        return done.stdout.decode(errors="replace")

    def pactl_json(self, *args: str) -> list[dict[str, Any]]:
        return json.loads(self.pactl("-f", "json", *args) or "[]")

    # -- internals --------------------------------------------------------------------------------

    def _answers(self) -> bool:
        env = {**os.environ, "PULSE_CLIENTCONFIG": str(self.scratch / "client.conf")}
        done = subprocess.run([self.pactl_binary, "-s", self.server, "info"], env=env,
                              capture_output=True, timeout=10, check=False)
        return done.returncode == 0

    def _write_alsa_config(self) -> None:
        """Rewrite the ALSA config atomically (a new inode, so alsa-lib sees the change)."""
        lines = ["# written by harness.audio.pulse: one PCM per lab sink and per monitor"]
        server = self.server if self._socket_dir is not None else ""
        for sink in self.sinks.values():
            for pcm, pulse_dev, what in ((sink.device, sink.name, "sink"),
                                         (sink.monitor, sink.name + ".monitor", "monitor")):
                lines.append(
                    f'pcm."{pcm}" {{ type pulse; server "{server}"; device "{pulse_dev}"; '
                    f'hint {{ show on; description "harness lab {what} {sink.name}" }} }}'
                )
        tmp = self.alsa_config.with_suffix(".tmp")
        tmp.write_text("\n".join(lines) + "\n")
        os.replace(tmp, self.alsa_config)

    def _log_tail(self, lines: int = 5) -> str:
        text = ""
        for path in (self.log_path, self.scratch / "pulseaudio.stderr"):
            with contextlib.suppress(OSError):
                text += path.read_text(errors="replace")
        tail = [ln for ln in text.splitlines() if ln.startswith("E:")] or text.splitlines()
        return " | ".join(tail[-lines:]) or "no log"

    def _event(self, kind: str, **fields: Any) -> None:
        if self.timeline is not None:
            self.timeline.emit("pulse", kind, **fields)

