"""Virtual acoustics: every output route of every virtual phone is a PulseAudio sink the lab records.

``build_topology(pulse, {"dut": ROUTES, "caller": ("receiver", "speaker")})`` creates one null
sink per route per phone (``dut_receiver``, ``dut_speaker``, ``dut_bt_hfp``...) and one for the
lab's mouth (``lab_mouth``). A phone plays its downlink into its current route's sink and reads the
mouth's monitor as its microphone; the harness captures each route's monitor, exactly as it would
capture a USB interface's inputs in a real lab. A route change moves the phone's playback streams
to another sink (``pactl move-sink-input``: seamless and sample-exact, measured).

Shaped to widen (issue 8): cross-talk, noise and other apps' audio are further PulseAudio modules
(loopbacks, extra players) added through ``PulseServer.load_module``; route-switch latency is the
delay the caller puts before :meth:`Topology.route_to`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from harness.audio.pulse import PulseServer, Sink, check_name
from harness.errors import UsageError

ROUTES = ("receiver", "speaker", "bt_hfp", "bt_a2dp", "wired")
MOUTH = "lab_mouth"


@dataclass(frozen=True)
class RouteDevices:
    """The device pair of one route: where the phone plays, and what the lab records."""

    sink: str  # output device the phone plays into
    monitor: str  # input device the lab captures

    @classmethod
    def of(cls, sink: Sink) -> RouteDevices:
        return cls(sink.device, sink.monitor)


@dataclass
class Topology:
    """The lab's audio devices: phone -> route -> devices, and the mouth."""

    pulse: PulseServer
    phones: dict[str, dict[str, RouteDevices]] = field(default_factory=dict)
    mouth: RouteDevices | None = None

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
        """The device a phone records as its microphone (the mouth's monitor)."""
        self.routes(phone)
        assert self.mouth is not None
        return self.mouth.monitor

    def capture_map(self) -> dict[str, str]:
        """``{"<phone>_<route>": monitor device}`` for every route of every phone (lab.yaml's capture map)."""
        return {f"{p}_{r}": d.monitor for p, routes in self.phones.items() for r, d in routes.items()}

    def route_to(self, phone: str, route: str, pid: int | None = None) -> list[int]:
        """Make ``route`` the phone's output: move its streams on any other route's sink there.

        ``pid`` limits the move to one process's streams (the app; other audio may stay). Also the
        way to put a freshly opened stream on the current route. Returns the moved stream indexes.
        """
        target = self._route(phone, route).sink
        moved: list[int] = []
        sinks = {d.sink for d in self.routes(phone).values()} - {target}
        for si in self.pulse.sink_inputs():
            if si.sink in sinks and (pid is None or si.pid == pid):
                self.pulse.move_sink_input(si.index, target)
                moved.append(si.index)
        if self.pulse.timeline is not None:
            self.pulse.timeline.emit("acoustics", "route", phone=phone, route=route, pid=pid, inputs=moved)
        return moved

    def process_env(self, phone: str, route: str = "receiver") -> dict[str, str]:
        """What a phone's app process needs: the server's client env and its audio devices."""
        return {
            **self.pulse.client_env(),
            "HARNESS_SIM_OUTPUT_DEVICE": self.output(phone, route),
            "HARNESS_SIM_INPUT_DEVICE": self.microphone(phone),
        }

    def add_phone(
        self, phone: str, routes: Iterable[str] = ROUTES, channels: int = 2
    ) -> dict[str, RouteDevices]:
        """Create one sink per route of ``phone`` (named ``<phone>_<route>``)."""
        check_name(phone, "phone id")
        self.phones[phone] = {}
        for route in routes:
            if route not in ROUTES:
                raise UsageError(f"unknown route {route!r} for phone {phone!r}; routes are {ROUTES}")
            sink = self.pulse.add_sink(f"{phone}_{route}", channels=channels, description=f"{phone} {route}")
            self.phones[phone][route] = RouteDevices.of(sink)
        return self.phones[phone]

    def add_mouth(self, channels: int = 2) -> RouteDevices:
        self.mouth = RouteDevices.of(self.pulse.add_sink(MOUTH, channels=channels, description="lab mouth"))
        return self.mouth

    def _route(self, phone: str, route: str) -> RouteDevices:
        routes = self.routes(phone)
        if route not in routes:
            raise UsageError(f"virtual phone {phone!r} has no route {route!r}; its routes: {sorted(routes)}")
        return routes[route]


def build_topology(
    pulse: PulseServer,
    phones: Mapping[str, Iterable[str]] | Iterable[str],
    channels: int = 2,
) -> Topology:
    """Create the sinks: one per route per phone (all of ROUTES for a phone given without routes)
    and the mouth's. Names are stable: ``<phone>_<route>`` and ``lab_mouth``."""
    table = dict(phones) if isinstance(phones, Mapping) else {p: ROUTES for p in phones}
    topo = Topology(pulse)
    for phone, routes in table.items():
        topo.add_phone(phone, routes, channels)
    topo.add_mouth(channels)
    return topo


def tear_down(topo: Topology) -> None:
    """Remove the topology's sinks (streams on them are moved to nothing: stop players first)."""
    for routes in topo.phones.values():
        for dev in routes.values():
            topo.pulse.remove_sink(dev.sink)
    if topo.mouth is not None:
        topo.pulse.remove_sink(topo.mouth.sink)
    topo.phones.clear()
    topo.mouth = None
