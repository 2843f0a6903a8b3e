"""Virtual acoustics: every output route of every virtual phone is a PulseAudio sink the lab records.

``build_topology(pulse, {"dut": ROUTES, "caller": ("receiver", "speaker")})`` creates, per phone,
one multichannel *capture device* (``dut_capture``: a null sink whose channels carry every route
plus a reference channel, labelled with exactly the channel map ALSA's pulse plugin gives a stream
of that width, so nothing is remixed on the way to the recorder) and one mono sink per route
(``dut_receiver``, ``dut_speaker``...: remap sinks that land on their own channel of the capture
device, sample-exact, on its clock). The lab's mouth is ``lab_mouth``. A phone plays its downlink
into its current route's sink and reads the mouth's monitor as its microphone; the harness records
``dut_capture_monitor`` (one stream, one clock) exactly as it records a USB interface in a real
lab, or each route's own ``<sink>_monitor`` (the older per-route form, without noise or cross-talk).

The imperfections of a real rig, all PulseAudio modules and streams, set by :class:`AcousticsConfig`:

- cross-talk: a ``module-loopback`` from route A's monitor into a channel sink of route B's capture
  channel (``dut_speaker_xt``) at a set level: what the lab's capture of B hears of A;
- background noise: one ``pacat`` stream per phone playing independent noise into every route
  channel of its capture device at a set dBFS;
- a pilot on the reference channel (``module-sine``), so a dropout of the capture chain shows on
  the reference too (:meth:`Topology.capture_dropout`, :meth:`Topology.set_capture_silent` inject one);
- route-switch latency: :meth:`Topology.route_to_after_latency` mutes the moved streams for the
  new route's latency (a real route change is silent for that long on both routes);
- other apps' audio: a ``pacat`` stream per phone playing a music-like signal
  (:class:`harness.audio.player.MusicSource`) into a route at its own level.

There is no in-process audio bus: audio goes through the PulseAudio server or nowhere.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import subprocess
import threading
import time
import zlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from harness.audio.player import MusicSource
from harness.audio.probe import OTHER_AUDIO_SEED
from harness.audio.pulse import PulseServer, Sink, alsa_channel_map, check_name
from harness.errors import LabFault, UsageError

ROUTES = ("receiver", "speaker", "bt_hfp", "bt_a2dp", "wired")
MOUTH = "lab_mouth"
REFERENCE = "reference"
PACAT = "pacat"
MODULE_SINE_AMPLITUDE = 0.5
"""Peak of module-sine's wave at unity volume (PulseAudio 16: ``sin(...) / 2``; measured)."""


@dataclass
class AcousticsConfig:
    """The virtual rig's imperfections. Defaults exercise the analyzer's thresholds without hiding
    an app's gap: noise 45 dB under the probe, cross-talk 30 dB under the route that leaks."""

    crosstalk_db: dict[tuple[str, str], float] = field(
        default_factory=lambda: {("speaker", "receiver"): -30.0}
    )
    """(from route, to route) -> level at which the capture of ``to`` hears ``from`` (dB re ``from``).
    Default: the receiver's capture hears the loudspeaker 30 dB down (a presence check must weigh
    level, not correlation alone, to call a route silent)."""
    crosstalk_latency_ms: int = 20
    noise_dbfs: float | None = -65.0
    """RMS of the background noise on every route's capture channel; None: no noise."""
    noise_dbfs_by_route: dict[str, float] = field(default_factory=dict)
    route_switch_latency_s: float = 0.03
    """How long a route change is silent before the new route plays (built-in routes)."""
    route_latency_s: dict[str, float] = field(
        default_factory=lambda: {"bt_hfp": 0.4, "bt_a2dp": 0.25, "wired": 0.02}
    )
    """Per-route latencies (the iOS audio world's ``route_switch_latency_ms``, inferred)."""
    pilot_hz: int = 997
    """Reference pilot: not a divisor of the rate, so a loss of frames shorter than 1 s shifts its phase."""
    pilot_dbfs: float = -20.0
    """Peak level of the pilot on the reference channel."""
    capture_device: bool = True
    """Build the multichannel capture device (False: plain null sinks per route, nothing else)."""

    def __post_init__(self) -> None:
        for (a, b), db in self.crosstalk_db.items():
            for r in (a, b):
                if r not in ROUTES:
                    raise UsageError(f"cross-talk names unknown route {r!r}; routes are {ROUTES}")
            if a == b:
                raise UsageError(f"cross-talk from {a!r} into itself makes no sense; name two routes")
            if db > 0:
                raise UsageError(f"cross-talk {a}->{b} at {db} dB is louder than the route itself; use <= 0")
        for r in self.noise_dbfs_by_route:
            if r not in ROUTES:
                raise UsageError(f"noise_dbfs_by_route names unknown route {r!r}; routes are {ROUTES}")
        for r, s in self.route_latency_s.items():
            if r not in ROUTES or s < 0:
                raise UsageError(f"route_latency_s[{r!r}] = {s}: route must be one of {ROUTES}, latency >= 0")
        if self.route_switch_latency_s < 0:
            raise UsageError(f"route_switch_latency_s must be >= 0, not {self.route_switch_latency_s}")
        if not 20 <= self.pilot_hz <= 20000:
            raise UsageError(f"pilot_hz must be within 20..20000 Hz, not {self.pilot_hz}")
        if self.pilot_dbfs > 0:
            raise UsageError(f"pilot_dbfs must be <= 0 dBFS, not {self.pilot_dbfs}")

    def noise_for(self, route: str) -> float | None:
        return self.noise_dbfs_by_route.get(route, self.noise_dbfs)

    def latency_for(self, route: str) -> float:
        return self.route_latency_s.get(route, self.route_switch_latency_s)


@dataclass(frozen=True)
class RouteDevices:
    """The device pair of one route: where the phone plays, and what the lab records."""

    sink: str  # output device the phone plays into
    monitor: str  # input device the lab captures

    @classmethod
    def of(cls, sink: Sink) -> RouteDevices:
        return cls(sink.device, sink.monitor)


@dataclass(frozen=True)
class CaptureDevice:
    """A phone's multichannel capture device: which channel carries which route, and the reference."""

    sink: str
    monitor: str
    channels: dict[str, int]
    reference: int
    count: int
    channel_map: str

    def position(self, channel: int) -> str:
        return self.channel_map.split(",")[channel]


class PacatStream:
    """One ``pacat`` playback stream fed from this process: ``source(n)`` gives the next n frames.

    A real PulseAudio client (its own process and stream), so its level, mute and sink are set with
    the same pactl calls as any app's. The feeder thread blocks on the pipe: pacat takes the audio
    at the sink's pace.
    """

    def __init__(self, pulse: PulseServer, sink: str, channels: int, source: Callable[[int], np.ndarray], *,
                 name: str, channel_map: str | None = None, chunk: int = 2400) -> None:
        binary = shutil.which(PACAT)
        if binary is None:
            raise LabFault(f"{PACAT!r} not found on PATH: install pulseaudio-utils", tag="pulseaudio-missing")
        self.pulse, self.name, self.sink = pulse, name, sink
        self._source, self._chunk, self.channels = source, chunk, channels
        cmd = [binary, "--playback", f"--server={pulse.server}", f"--device={sink}", "--raw",
               "--format=float32le", f"--rate={pulse.rate}", f"--channels={channels}", "--latency-msec=60",
               "--client-name=harness-lab", f"--stream-name={name}",
               f"--property=application.name=harness-{name}"]
        if channel_map:
            cmd += [f"--channel-map={channel_map}", "--no-remix"]
        env = {**os.environ, **pulse.client_env()}
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, env=env)
        self._stop = threading.Event()
        self._feeder = threading.Thread(target=self._feed, name=f"pacat-{name}", daemon=True)
        self._feeder.start()

    @property
    def pid(self) -> int:
        return self.proc.pid

    def sink_input(self, timeout: float = 5.0) -> int:
        """The PulseAudio index of this stream (waits for pacat to connect)."""
        deadline = time.monotonic() + timeout
        while True:
            for si in self.pulse.sink_inputs():
                if si.pid == self.proc.pid:
                    return si.index
            if self.proc.poll() is not None or time.monotonic() > deadline:
                err = self.proc.stderr.read().decode(errors="replace") if self.proc.stderr else ""
                raise LabFault(f"pacat stream {self.name} did not appear on {self.sink}: {err.strip()}",
                               tag="pulseaudio")
            time.sleep(0.02)

    def _feed(self) -> None:
        assert self.proc.stdin is not None
        with contextlib.suppress(BrokenPipeError, OSError, ValueError):
            while not self._stop.is_set():
                block = np.ascontiguousarray(self._source(self._chunk), dtype=np.float32)
                self.proc.stdin.write(block.tobytes())
                self.proc.stdin.flush()

    def stop(self) -> None:
        self._stop.set()
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        with contextlib.suppress(OSError):
            if self.proc.stdin is not None:
                self.proc.stdin.close()
        self._feeder.join(5)
        if self.proc.stderr is not None:
            self.proc.stderr.close()


@dataclass
class _PhoneExtras:
    modules: list[int] = field(default_factory=list)  # loopbacks and the pilot
    noise: PacatStream | None = None
    other: PacatStream | None = None
    other_route: str | None = None


@dataclass
class Topology:
    """The lab's audio devices: phone -> route -> devices, each phone's capture device, the mouth."""

    pulse: PulseServer
    phones: dict[str, dict[str, RouteDevices]] = field(default_factory=dict)
    mouth: RouteDevices | None = None
    mouths: dict[str, RouteDevices] = field(default_factory=dict)
    """Per phone: its own mouth (:meth:`add_phone_mouth`), so rigs of parallel scenarios never
    play into one another's microphones; phones without one hear the shared ``mouth``."""
    config: AcousticsConfig = field(default_factory=AcousticsConfig)
    captures: dict[str, CaptureDevice] = field(default_factory=dict)
    _extras: dict[str, _PhoneExtras] = field(default_factory=dict, repr=False)

    # -- queries ----------------------------------------------------------------------------------

    def routes(self, phone: str) -> dict[str, RouteDevices]:
        try:
            return self.phones[phone]
        except KeyError:
            raise UsageError(
                f"no virtual phone {phone!r} in the acoustics; phones: {sorted(self.phones)}"
            ) from None

    def output(self, phone: str, route: str) -> str:
        """The device a phone plays into when ``route`` is its output."""
        return self._route(phone, route).sink

    def microphone(self, phone: str) -> str:
        """The device a phone records as its microphone (its mouth's monitor)."""
        self.routes(phone)
        mouth = self.mouths.get(phone) or self.mouth
        if mouth is None:
            raise UsageError(f"virtual phone {phone!r} has no mouth: call add_mouth() or add_phone_mouth()")
        return mouth.monitor

    def capture(self, phone: str) -> CaptureDevice:
        self.routes(phone)
        if phone not in self.captures:
            raise UsageError(f"virtual phone {phone!r} has no capture device (AcousticsConfig.capture_device "
                             "is off): record its routes' monitors")
        return self.captures[phone]

    def capture_map(self) -> dict[str, str]:
        """``{"<phone>_<route>": monitor device}`` for every route of every phone (per-route form)."""
        return {f"{p}_{r}": d.monitor for p, routes in self.phones.items() for r, d in routes.items()}

    def audio_map(self, phone: str) -> dict[str, Any]:
        """The lab.yaml ``audio`` section of ``phone``: its capture device with explicit channels and
        reference, the mouth, and the env a process needs to open them."""
        routes = self.routes(phone)
        out: dict[str, Any]
        if phone in self.captures:
            cap = self.captures[phone]
            out = {"capture": {
                "device": cap.monitor,
                "channels": dict(cap.channels),
                "reference": {"channel": cap.reference, "signal": "pilot", "pilot_hz": self.config.pilot_hz},
                "device_channels": cap.count,
            }}
        else:
            out = {"capture": {r: {"device": d.monitor} for r, d in routes.items()}}
        mouth = self.mouths.get(phone) or self.mouth
        if mouth is not None:
            out["mouth"] = {"device": mouth.sink}
        out["env"] = self.pulse.client_env()
        return out

    @property
    def route_switch_latency_s(self) -> float:
        """The silence of a switch between built-in routes (per route: :meth:`switch_latency`)."""
        return self.config.route_switch_latency_s

    def switch_latency(self, route: str) -> float:
        return self.config.latency_for(route)

    # -- route changes ----------------------------------------------------------------------------

    def route_to(self, phone: str, route: str, pid: int | None = None) -> list[int]:
        """Make ``route`` the phone's output now: move its streams on any other route's sink there.

        ``pid`` limits the move to one process's streams (the app; other audio may stay). Also the
        way to put a freshly opened stream on the current route. Returns the moved stream indexes.
        """
        moved = self._move(phone, route, pid, mute=False)
        self._event("route", phone=phone, route=route, pid=pid, inputs=moved)
        return moved

    async def route_to_after_latency(self, phone: str, route: str, pid: int | None = None) -> list[int]:
        """A route change as a phone makes it: the streams go silent, move, and play again on the
        new route after its latency (:meth:`switch_latency`)."""
        latency = self.switch_latency(route)
        muting_ns = time.monotonic_ns()
        moved = await asyncio.to_thread(self._move, phone, route, pid, latency > 0)
        self._event("route", phone=phone, route=route, pid=pid, inputs=moved, latency_s=latency)
        if moved and latency > 0:  # silent for the latency from the mute, the move's own time included
            await asyncio.sleep(max(0.0, latency - (time.monotonic_ns() - muting_ns) / 1e9))
            await asyncio.to_thread(self._unmute, moved)
        return moved

    def _move(self, phone: str, route: str, pid: int | None, mute: bool) -> list[int]:
        target = self._route(phone, route).sink
        sinks = {d.sink for d in self.routes(phone).values()} - {target}
        moved: list[int] = []
        for si in self.pulse.sink_inputs():
            if si.sink in sinks and (pid is None or si.pid == pid):
                if mute:
                    self.pulse.set_sink_input_mute(si.index, True)
                self.pulse.move_sink_input(si.index, target)
                moved.append(si.index)
        return moved

    def _unmute(self, indexes: list[int]) -> None:
        for index in indexes:
            with contextlib.suppress(LabFault):  # the stream may have ended meanwhile
                self.pulse.set_sink_input_mute(index, False)

    def process_env(self, phone: str, route: str = "receiver") -> dict[str, str]:
        """What a phone's app process needs: the server's client env and its audio devices."""
        return {
            **self.pulse.client_env(),
            "HARNESS_SIM_OUTPUT_DEVICE": self.output(phone, route),
            "HARNESS_SIM_INPUT_DEVICE": self.microphone(phone),
        }

    # -- other apps' audio ------------------------------------------------------------------------

    def start_other_audio(self, phone: str, route: str, level_dbfs: float = -18.0,
                          seed: int = OTHER_AUDIO_SEED) -> int:
        """Another app (Music) plays a music-like signal into ``route`` at ``level_dbfs`` (RMS).
        Returns its process id. A second start replaces the first."""
        sink = self.output(phone, route)
        self.stop_other_audio(phone)
        music = MusicSource(seed, rate=self.pulse.rate)
        stream = PacatStream(self.pulse, sink, 1, music.read, name=f"{phone}-other-audio")
        extras = self._extras.setdefault(phone, _PhoneExtras())
        extras.other, extras.other_route = stream, route
        self._set_level(stream, level_dbfs, music.rms_dbfs)
        self._event("other-audio-started", phone=phone, route=route, level_dbfs=level_dbfs, seed=seed,
                    pid=stream.pid)
        return stream.pid

    def set_other_audio_level(self, phone: str, level_dbfs: float) -> None:
        """Duck (or restore) the other audio: its stream's volume, as iOS ducks another app."""
        stream = self._other(phone)
        self._set_level(stream, level_dbfs, MusicSource.RMS_DBFS)
        self._event("other-audio-level", phone=phone, level_dbfs=level_dbfs)

    def move_other_audio(self, phone: str, route: str) -> None:
        stream = self._other(phone)
        self.pulse.move_sink_input(stream.sink_input(), self.output(phone, route))
        self._extras[phone].other_route = route
        self._event("other-audio-moved", phone=phone, route=route)

    def stop_other_audio(self, phone: str) -> bool:
        """Stop the other audio (interrupted, or paused); False if none played."""
        extras = self._extras.get(phone)
        if extras is None or extras.other is None:
            return False
        extras.other.stop()
        extras.other, extras.other_route = None, None
        self._event("other-audio-stopped", phone=phone)
        return True

    def other_audio_route(self, phone: str) -> str | None:
        extras = self._extras.get(phone)
        return extras.other_route if extras is not None else None

    def _other(self, phone: str) -> PacatStream:
        extras = self._extras.get(phone)
        if extras is None or extras.other is None:
            raise UsageError(f"no other audio plays on virtual phone {phone!r}: start_other_audio first")
        return extras.other

    def _set_level(self, stream: PacatStream, level_dbfs: float, signal_dbfs: float) -> None:
        if level_dbfs > 0:
            raise UsageError(f"other audio level {level_dbfs} dBFS is above full scale; use <= 0")
        self.pulse.set_sink_input_volume(stream.sink_input(), 10 ** ((level_dbfs - signal_dbfs) / 20))

    # -- capture-chain faults ---------------------------------------------------------------------

    def set_capture_silent(self, phone: str, silent: bool) -> int:
        """The whole capture chain of ``phone`` delivers zeros (every route and the reference) until
        called again with False. Returns the lab-clock time of the change."""
        cap = self.capture(phone)
        self.pulse.set_source_mute(cap.sink + ".monitor", silent)
        t_ns = time.monotonic_ns()
        self._event("capture-silent" if silent else "capture-alive", phone=phone, t_ns=t_ns)
        return t_ns

    async def capture_dropout(self, phone: str, seconds: float) -> tuple[int, int]:
        """A dropout of ``phone``'s capture chain for ``seconds`` (lab-clock start and end)."""
        if seconds <= 0:
            raise UsageError(f"a capture dropout needs a positive length, not {seconds} s")
        start = await asyncio.to_thread(self.set_capture_silent, phone, True)
        await asyncio.sleep(max(0.0, seconds - (time.monotonic_ns() - start) / 1e9))
        end = await asyncio.to_thread(self.set_capture_silent, phone, False)
        return start, end

    def capture_dropout_sync(self, phone: str, seconds: float) -> tuple[int, int]:
        """:meth:`capture_dropout` for callers without an event loop (tests, benches)."""
        if seconds <= 0:
            raise UsageError(f"a capture dropout needs a positive length, not {seconds} s")
        start = self.set_capture_silent(phone, True)
        time.sleep(max(0.0, seconds - (time.monotonic_ns() - start) / 1e9))
        return start, self.set_capture_silent(phone, False)

    # -- building ---------------------------------------------------------------------------------

    def add_phone(
        self, phone: str, routes: Iterable[str] = ROUTES, channels: int = 2
    ) -> dict[str, RouteDevices]:
        """Create ``phone``'s sinks: one per route (``<phone>_<route>``) and, with the capture device
        on, ``<phone>_capture`` with the pilot, the noise and the cross-talk. ``channels`` is the
        width of plain per-route sinks (capture device off); route sinks into it are mono."""
        check_name(phone, "phone id")
        routes = list(routes)
        for route in routes:
            if route not in ROUTES:
                raise UsageError(f"unknown route {route!r} for phone {phone!r}; routes are {ROUTES}")
        self.phones[phone] = {}
        if not self.config.capture_device:
            for route in routes:
                sink = self.pulse.add_sink(f"{phone}_{route}", channels=channels,
                                           description=f"{phone} {route}")
                self.phones[phone][route] = RouteDevices.of(sink)
            return self.phones[phone]
        count = len(routes) + 1
        cmap = alsa_channel_map(count)
        positions = cmap.split(",")
        cap_sink = self.pulse.add_sink(f"{phone}_capture", channels=count, channel_map=cmap,
                                       description=f"{phone} capture")
        cap = CaptureDevice(cap_sink.name, cap_sink.monitor, {r: i for i, r in enumerate(routes)},
                            len(routes), count, cmap)
        self.captures[phone] = cap
        extras = self._extras.setdefault(phone, _PhoneExtras())
        try:
            for i, route in enumerate(routes):
                sink = self.pulse.add_channel_sink(f"{phone}_{route}", cap.sink, positions[i],
                                                   description=f"{phone} {route}")
                self.phones[phone][route] = RouteDevices.of(sink)
            self._add_pilot(phone, cap, extras)
            self._add_crosstalk(phone, cap, extras)
            self._add_noise(phone, cap, extras)
        except BaseException:
            self.remove_phone(phone)
            raise
        self._event("phone-added", phone=phone, capture=cap.monitor, channels=cap.channels,
                    reference=cap.reference)
        return self.phones[phone]

    def _add_pilot(self, phone: str, cap: CaptureDevice, extras: _PhoneExtras) -> None:
        ref = self.pulse.add_channel_sink(f"{phone}_{REFERENCE}", cap.sink, cap.position(cap.reference),
                                          description=f"{phone} reference")
        module = self.pulse.load_module("module-sine", sink=ref.name, frequency=self.config.pilot_hz)
        extras.modules.append(module)
        index = self._module_input(module)
        self.pulse.set_sink_input_volume(index, 10 ** (self.config.pilot_dbfs / 20) / MODULE_SINE_AMPLITUDE)

    def _add_crosstalk(self, phone: str, cap: CaptureDevice, extras: _PhoneExtras) -> None:
        for (a, b), db in self.config.crosstalk_db.items():
            if a not in cap.channels or b not in cap.channels:
                continue
            into = self.pulse.add_channel_sink(f"{phone}_{b}_xt", cap.sink, cap.position(cap.channels[b]),
                                               description=f"{phone} cross-talk into {b}")
            module = self.pulse.load_module(
                "module-loopback", source=self.phones[phone][a].sink + ".monitor",
                sink=into.name, channels=1, channel_map="mono", latency_msec=self.config.crosstalk_latency_ms,
                source_dont_move="true", sink_dont_move="true",
            )
            extras.modules.append(module)
            self.pulse.set_sink_input_volume(self._module_input(module), 10 ** (db / 20))

    def _add_noise(self, phone: str, cap: CaptureDevice, extras: _PhoneExtras) -> None:
        amps = np.zeros(cap.count, dtype=np.float32)
        for route, ch in cap.channels.items():
            db = self.config.noise_for(route)
            amps[ch] = 0.0 if db is None else 10 ** (db / 20)
        if not amps.any():
            return
        rng = np.random.default_rng(zlib.crc32(phone.encode()))

        def noise(n: int) -> np.ndarray:
            return (rng.standard_normal((n, cap.count)) * amps).astype(np.float32)

        extras.noise = PacatStream(self.pulse, cap.sink, cap.count, noise, name=f"{phone}-noise",
                                   channel_map=cap.channel_map)

    def _module_input(self, module: int, timeout: float = 5.0) -> int:
        deadline = time.monotonic() + timeout
        while True:
            for si in self.pulse.sink_inputs():
                if si.owner_module == module:
                    return si.index
            if time.monotonic() > deadline:
                raise LabFault(f"PulseAudio module {module} plays no stream", tag="pulseaudio")
            time.sleep(0.01)

    def remove_phone(self, phone: str) -> None:
        """Stop the phone's sources and remove its sinks (stop its players first)."""
        extras = self._extras.pop(phone, _PhoneExtras())
        for stream in (extras.other, extras.noise):
            if stream is not None:
                stream.stop()
        for module in extras.modules:
            with contextlib.suppress(LabFault):
                self.pulse.unload_module(module)
        cap = self.captures.pop(phone, None)
        mouth = self.mouths.pop(phone, None)
        if mouth is not None and mouth.sink in self.pulse.sinks:
            self.pulse.remove_sink(mouth.sink)
        for dev in self.phones.pop(phone, {}).values():
            if dev.sink in self.pulse.sinks:
                self.pulse.remove_sink(dev.sink)
        if cap is not None and cap.sink in self.pulse.sinks:
            self.pulse.remove_sink(cap.sink)  # and the reference and cross-talk sinks playing into it

    def add_phone_mouth(self, phone: str, channels: int = 2) -> RouteDevices:
        """A mouth of ``phone``'s own (``<phone>_mouth``): the lab speaker at that phone's microphone."""
        self.routes(phone)
        sink = self.pulse.add_sink(f"{phone}_mouth", channels=channels, description=f"{phone} mouth")
        self.mouths[phone] = RouteDevices.of(sink)
        return self.mouths[phone]

    def add_mouth(self, channels: int = 2) -> RouteDevices:
        self.mouth = RouteDevices.of(self.pulse.add_sink(MOUTH, channels=channels, description="lab mouth"))
        return self.mouth

    def _route(self, phone: str, route: str) -> RouteDevices:
        routes = self.routes(phone)
        if route not in routes:
            raise UsageError(f"virtual phone {phone!r} has no route {route!r}; its routes: {sorted(routes)}")
        return routes[route]

    def _event(self, kind: str, **fields: Any) -> None:
        if self.pulse.timeline is not None:
            self.pulse.timeline.emit("acoustics", kind, **fields)


def build_topology(
    pulse: PulseServer,
    phones: Mapping[str, Iterable[str]] | Iterable[str],
    channels: int = 2,
    config: AcousticsConfig | None = None,
) -> Topology:
    """Create the sinks: per phone its routes (all of ROUTES for a phone given without routes) and
    capture device, and the mouth's. Names are stable: ``<phone>_<route>``, ``<phone>_capture``,
    ``lab_mouth``."""
    table = dict(phones) if isinstance(phones, Mapping) else {p: ROUTES for p in phones}
    topo = Topology(pulse, config=config or AcousticsConfig())
    try:
        for phone, routes in table.items():
            topo.add_phone(phone, routes, channels)
        topo.add_mouth(channels)
    except BaseException:
        tear_down(topo)
        raise
    return topo


def tear_down(topo: Topology) -> None:
    """Remove the topology's sources and sinks (streams on them are moved to nothing: stop players first)."""
    for phone in list(topo.phones):
        topo.remove_phone(phone)
    if topo.mouth is not None:
        topo.pulse.remove_sink(topo.mouth.sink)
    topo.mouth = None
