"""The one lab schema (``lab.yaml``): which phones, their roles, the app, the audio wiring.

``Lab.load(path)`` reads and checks a lab file and raises :class:`UsageError` with one line per
mistake, naming the field and the fix. ``harness sim up`` writes a file in this schema for the
virtual lab; a real lab writes its own. Example::

    usbmuxd: /tmp/lab/usbmuxd.sock      # USBMUXD_SOCKET_ADDRESS syntax; omit for the system usbmuxd
    devices:
      - name: iPhone A
        udid: 00008120-001A2B3C4D5E6F70
        role: dut                        # dut | caller
        ios: "17.5.1"
        phone_number: "+15550100001"     # E.164; callers dial it
        apple_id: dut@example.com
        wda_runner: com.example.WebDriverAgentRunner.xctrunner   # your signed runner's bundle id
        wda: {launch: xcuitest}          # xcuitest: the harness starts WDA; external: started elsewhere
    app:
      ipa: build/VoiceApp.ipa
      bundle_id: com.example.voice
      launch_env: {LOG_LEVEL: debug}
    audio:
      capture:
        speaker: {device: "Scarlett 4i4", channel: 0}
      mouth: {device: "Scarlett 4i4", channel: 2}
    peer:
      bind: 0.0.0.0:8443
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    Strict,
    ValidationError,
    field_validator,
    model_serializer,
    model_validator,
)

from harness import ios
from harness.errors import UsageError
from harness.lab import bounded_yaml

Int = Annotated[int, Strict()]
"""An integer written as one: ``true`` (YAML's boolean) or ``"8100"`` is not a port or a channel."""
MAX_ERRORS = 10  # mistakes listed per file; a message never grows with the file
MAX_INPUT_CHARS = 60  # of a wrong value quoted in a message


def usbmuxd_address_problem(address: str) -> str | None:
    """Why ``address`` is not a usbmuxd address as pymobiledevice3 11.45 reads it, or None.

    ``MuxConnection._resolve_usbmux_address``: with a ``:`` it is ``HOST:PORT`` (split on ``:``,
    exactly two parts, the port an integer: no IPv6), else a UNIX socket path.
    """
    if not address.strip():
        return "empty: omit it for the system usbmuxd, or give a socket path or HOST:PORT"
    if ":" not in address:
        return None
    host, _, port = address.partition(":")
    if ":" in port or not host:
        return f"{address[:80]!r} is neither a socket path nor HOST:PORT (one colon, e.g. 127.0.0.1:27015)"
    if not port.isdigit() or not 1 <= int(port) <= 65535:
        return f"{address[:80]!r}: port {port[:20]!r} is not 1-65535"
    return None

_E164 = re.compile(r"^\+[1-9]\d{6,14}$")
_UDID = re.compile(r"^([0-9A-Fa-f]{8}-[0-9A-Fa-f]{16}|[0-9A-Fa-f]{40})$")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, coerce_numbers_to_str=True)


class AudioPort(_Model):
    device: str = Field(min_length=1, max_length=200)
    channel: Int = Field(default=0, ge=0, le=255)


ROUTES = ("receiver", "speaker", "bt_hfp", "bt_a2dp", "wired", "airplay", "car")
"""Output routes a capture map may name (the virtual lab records all but airplay and car)."""
_GROUPED_KEYS = {"device", "channels", "reference", "device_channels"}


class Reference(_Model):
    """The capture chain's reference channel: a pilot tone wired into an input of the capture
    interface (or the mouth's signal looped back). Every dropout of the chain silences or breaks it
    too, so a silent route with a live reference is the app's, and both silent is the lab's."""

    channel: Int = Field(ge=0, le=255)
    device: str | None = None
    """Default: the device of the routes (one multichannel capture)."""
    signal: Literal["pilot", "mouth"] = "pilot"
    pilot_hz: float = Field(default=997.0, gt=0)


class Audio(_Model):
    """A phone's audio rig: which input records each output route, the reference channel of the
    capture chain, and the mouth that plays into its microphone. ``env`` is what a process needs to
    open these devices (the virtual lab's PulseAudio server, for example).

    Two spellings of the capture map, the same model: per route (``speaker: {device, channel}``,
    routes may sit on different devices) or one multichannel device with explicit channels::

        capture:
          device: dut_capture_monitor
          channels: {receiver: 0, speaker: 1}
          reference: 2                     # or {channel: 2, signal: pilot, pilot_hz: 997}
          device_channels: 3               # width to open the device with (default: highest + 1)

    Open a multichannel device with its full width: ALSA's pulse plugin remixes by channel name
    when the widths differ.
    """

    capture: dict[str, AudioPort] = Field(default_factory=dict)
    reference: Reference | None = None
    device_channels: dict[str, Annotated[Int, Field(ge=1, le=256)]] = Field(default_factory=dict)
    """Per capture device: how many channels to open it with."""
    mouth: AudioPort | None = None
    rate: Int = Field(default=48000, ge=8000, le=768000)
    env: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _grouped(cls, data: Any) -> Any:
        if not isinstance(data, dict) or not isinstance(data.get("capture"), dict):
            return data
        data = dict(data)
        capture = dict(data["capture"])
        if "device" in capture or "channels" in capture:
            unknown = set(capture) - _GROUPED_KEYS
            if unknown:
                raise ValueError(f"capture: unknown key(s) {sorted(unknown)} beside device/channels; a "
                                 "multichannel capture has device, channels, reference, device_channels")
            device = capture.get("device")
            channels = capture.get("channels")
            if not device or not isinstance(channels, dict) or not channels:
                raise ValueError("capture: a multichannel capture needs device: NAME and "
                                 "channels: {route: index, ...}")
            data["capture"] = {r: {"device": device, "channel": ch} for r, ch in channels.items()}
            if capture.get("reference") is not None:
                ref = capture["reference"]
                data["reference"] = {"channel": ref} if isinstance(ref, int) else ref
            if capture.get("device_channels") is not None:
                data["device_channels"] = {str(device): capture["device_channels"]}
        elif "reference" in capture:
            data["reference"] = capture.pop("reference")
            data["capture"] = capture
        return data

    @field_validator("capture")
    @classmethod
    def _routes(cls, v: dict[str, AudioPort]) -> dict[str, AudioPort]:
        for route in v:
            if route not in ROUTES:
                raise ValueError(f"unknown route {route!r} in the capture map; routes: {', '.join(ROUTES)}")
        return v

    @model_validator(mode="after")
    def _channels(self) -> Audio:
        if self.reference is not None and self.reference.device is None:
            devices = {p.device for p in self.capture.values()}
            if len(devices) != 1:
                raise ValueError("capture.reference: name its device (the routes are on several devices)")
            self.reference.device = devices.pop()
        used: dict[tuple[str, int], str] = {}
        for name, port in self.ports():
            key = (port.device, port.channel)
            if key in used:
                raise ValueError(f"capture: {name} and {used[key]} both use channel {port.channel} of "
                                 f"{port.device!r}; give each its own channel")
            used[key] = name
            width = self.device_channels.get(port.device)
            if width is not None and port.channel >= width:
                raise ValueError(f"capture: {name} uses channel {port.channel} but {port.device!r} is opened "
                                 f"with {width} channels (device_channels)")
        return self

    def ports(self) -> list[tuple[str, AudioPort]]:
        """(name, port) of every captured channel: the routes, then ``reference``."""
        out = list(self.capture.items())
        if self.reference is not None and self.reference.device is not None:
            out.append(("reference", AudioPort(device=self.reference.device, channel=self.reference.channel)))
        return out

    def width(self, device: str) -> int:
        """How many channels to open ``device`` with."""
        if device in self.device_channels:
            return self.device_channels[device]
        return max(p.channel for n, p in self.ports() if p.device == device) + 1

    @model_serializer(mode="wrap")
    def _dump(self, handler: Any) -> dict[str, Any]:
        out = handler(self)
        if not out.get("device_channels", True):
            out.pop("device_channels")
        devices = {p.device for p in self.capture.values()}
        if len(devices) != 1 or (self.reference is not None and self.reference.device not in devices):
            if self.reference is not None:
                out.setdefault("capture", {})["reference"] = out.pop("reference")
            return out
        device = devices.pop()
        grouped: dict[str, Any] = {"device": device,
                                   "channels": {r: p.channel for r, p in self.capture.items()}}
        ref = out.pop("reference", None)
        if ref is not None:
            ref.pop("device", None)
            grouped["reference"] = ref
        widths = out.pop("device_channels", {}) or {}
        if device in widths:
            grouped["device_channels"] = widths[device]
        out["capture"] = grouped
        return out


ACCESSORY_KINDS = ("bluetooth", "wired_headphones", "wired_headset", "car_audio")
_PLUGIN = re.compile(r"^[A-Za-z_][\w.]*[:.][A-Za-z_]\w*$")


class AccessorySpec(_Model):
    """A lab accessory the harness can power and connect (``harness.lab.accessories``).

    ``plugin`` is the dotted path of its class (``package.module:Class``); the virtual lab's is
    ``harness.lab.accessories:VirtualAccessory``. ``options`` go to the plugin as they are.
    """

    name: str = Field(min_length=1)
    kind: Literal["bluetooth", "wired_headphones", "wired_headset", "car_audio"] = "bluetooth"
    plugin: str
    device: str | None = None
    """The phone it pairs with (name or UDID); None: any phone may use it."""
    profiles: list[Literal["hfp", "a2dp"]] = Field(default_factory=list)
    """Bluetooth profiles it offers: ``hfp`` (a headset: microphone and speaker), ``a2dp`` (a
    speaker or headphones for media). Scenarios pick accessories by these (``requires``)."""
    options: dict[str, Any] = Field(default_factory=dict)

    @field_validator("plugin")
    @classmethod
    def _plugin(cls, v: str) -> str:
        if not _PLUGIN.match(v):
            raise ValueError(
                f"{v!r} is not a dotted path to a class (e.g. harness.lab.accessories:VirtualAccessory)"
            )
        return v


_BUNDLE_ID = re.compile(r"^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")


class Wda(_Model):
    """How a phone's WebDriverAgent is reached.

    ``launch: xcuitest``: the harness starts the runner (``wda_runner``) through pymobiledevice3's
    XCUITestService (``developer dvt xcuitest``) and keeps it running for the run. ``external``: WDA
    is started elsewhere (a Mac's ``xcodebuild test-without-building``, or a
    ``pymobiledevice3 developer dvt xcuitest`` the lab keeps running) and the harness only connects.
    Default: ``xcuitest`` when ``wda_runner`` is set, else ``external``.
    """

    launch: Literal["xcuitest", "external"] | None = None


class Device(_Model):
    name: str = Field(min_length=1, max_length=200)
    udid: str
    role: Literal["dut", "caller"] = "dut"
    ios: str | None = None
    model: str | None = None
    phone_number: str | None = None
    apple_id: str | None = None
    wda_port: Int = Field(default=8100, ge=1, le=65535)
    wda_runner: str | None = None
    """The bundle id of this phone's signed WebDriverAgent runner (``*.xctrunner``; it differs per
    signing team). None: WDA is started elsewhere and the harness never launches it."""
    wda: Wda = Field(default_factory=Wda)
    """How WDA is reached (``wda.launch``); resolved at load, so readers see xcuitest or external."""
    audio: Audio | None = None
    """This phone's audio rig (default: the lab's ``audio``)."""
    music_content: bool = False
    """The phone has Music content that plays offline (a downloaded song): the lab capability
    ``other_audio`` (the other-audio scenario) needs it."""

    @field_validator("wda_runner")
    @classmethod
    def _runner(cls, v: str | None) -> str | None:
        if v is not None and not _BUNDLE_ID.match(v):
            raise ValueError(f"{v!r} is not a bundle id (e.g. com.example.WebDriverAgentRunner.xctrunner); "
                             "find it with `pymobiledevice3 apps list --udid UDID`")
        return v

    @model_validator(mode="after")
    def _wda_launch(self) -> Device:
        if self.wda.launch is None:
            self.wda.launch = "xcuitest" if self.wda_runner else "external"
        elif self.wda.launch == "xcuitest" and not self.wda_runner:
            raise ValueError("wda.launch: xcuitest needs wda_runner: the bundle id of the signed runner "
                             "(e.g. com.example.WebDriverAgentRunner.xctrunner), or set wda.launch: external")
        return self

    @model_serializer(mode="wrap")
    def _dump(self, handler: Any) -> dict[str, Any]:
        out = handler(self)
        if self.wda.launch == ("xcuitest" if self.wda_runner else "external"):
            out.pop("wda", None)  # the default: keep written lab files as short as what was read
        if not self.music_content:
            out.pop("music_content", None)
        return out

    @field_validator("udid")
    @classmethod
    def _udid(cls, v: str) -> str:
        if not _UDID.match(v):
            raise ValueError(
                f"{v!r} is not a UDID (e.g. 00008120-001A2B3C4D5E6F70 or 40 hex digits); "
                "copy it from `harness devices`"
            )
        return v

    @field_validator("ios")
    @classmethod
    def _ios(cls, v: str | None) -> str | None:
        if v is None:
            return v
        v = str(v)
        m = ios.major(v)
        if m not in ios.IOS_VERSIONS:
            raise ValueError(
                f"iOS {v} is not supported; supported majors: {', '.join(map(str, ios.IOS_VERSIONS))}"
            )
        return v

    @field_validator("phone_number")
    @classmethod
    def _phone(cls, v: str | None) -> str | None:
        if v is not None and not _E164.match(v.replace(" ", "")):
            raise ValueError(f'{v!r} is not an E.164 number (e.g. "+15550100001", quoted in YAML)')
        return v.replace(" ", "") if v else v

    @field_validator("apple_id")
    @classmethod
    def _apple_id(cls, v: str | None) -> str | None:
        if v is not None and "@" not in v:
            raise ValueError(f"{v!r} is not an Apple ID (an e-mail address)")
        return v


class App(_Model):
    bundle_id: str = Field(min_length=1)
    ipa: Path | None = None
    launch_env: dict[str, str] = Field(default_factory=dict)


class Peer(_Model):
    bind: str = "127.0.0.1:0"
    advertise: str | None = None
    """What the app is told to call: a host (``192.168.1.20``), ``HOST:PORT`` or a URL
    (``https://lab.example:8443/whip``). Default: with a wildcard bind, the host's address on the
    route to the phone (``harness.peer.advertise``); else the bind address."""
    consent_timeout_s: float | None = Field(default=None, ge=2.0, le=300.0)
    """How long the peer keeps a connection whose phone stopped answering ICE consent checks
    (default: RFC 7675's 30 s). A lab may shorten it to keep the long-interruption scenario short."""

    @field_validator("bind")
    @classmethod
    def _bind(cls, v: str) -> str:
        host, _, port = v.rpartition(":")
        if not host or not port.isdigit() or not 0 <= int(port) <= 65535:
            raise ValueError(f"{v!r} is not HOST:PORT (e.g. 0.0.0.0:8443)")
        return v

    @field_validator("advertise")
    @classmethod
    def _advertise(cls, v: str | None) -> str | None:
        if v is None:
            return v
        from harness.peer.advertise import parse_advertise

        parse_advertise(v)  # ValueError naming the accepted forms
        return v


CLIENT_GROUPS = ("bundle", "pid", "process")
"""How an interruption line may name the app: its bundle id, its pid, or its process name (which
iOS's daemon cuts to 16 characters: ``MobileJarvisNati(9964)``, real-ios-evidence Q3.1)."""


def _regex(v: str) -> re.Pattern[str]:
    try:
        return re.compile(v)
    except re.error as exc:
        raise ValueError(f"not a regular expression ({exc})") from None


class SystemLog(_Model):
    """What a verdict reads from iOS's own log, and whether this lab has seen it on its phones.

    ``interruption_pattern``: the audio daemon's line for an interruption it posts to an app, with
    the groups ``type`` (began|ended), one of ``bundle`` / ``pid`` / ``process`` naming the app, and
    ``should_resume`` (0|1) on ended. None: the harness's own guess (harness.verdicts.system_log),
    which no public source shows. ``verified``: the pattern was seen on this lab's phones (a
    ``harness phone survey``, the first hour); the Siri scenarios, which need iOS's shouldResume,
    are skipped with that reason until it is. ``call_held_pattern``: a line iOS writes while it keeps
    a declined call (Live Voicemail answering it); seen after a decline, the app's missing resume is
    the lab's (tag ``call-held``), not the app's."""

    audio_process: str = ios.SYSTEM_AUDIO_PROCESS
    interruption_pattern: str | None = None
    verified: bool = False
    call_held_pattern: str | None = None

    @field_validator("interruption_pattern")
    @classmethod
    def _pattern(cls, v: str | None) -> str | None:
        if v is None:
            return v
        groups = set(_regex(v).groupindex)
        if "type" not in groups or not groups & set(CLIENT_GROUPS):
            raise ValueError("the pattern needs the named group (?P<type>began|ended), one of "
                             "(?P<bundle>...), (?P<pid>...) or (?P<process>...) naming the app, and "
                             "(?P<should_resume>[01]) for ended")
        return v

    @field_validator("call_held_pattern")
    @classmethod
    def _held(cls, v: str | None) -> str | None:
        if v is not None:
            _regex(v)
        return v

    @model_validator(mode="after")
    def _verified_needs_a_pattern(self) -> SystemLog:
        if self.verified and self.interruption_pattern is None:
            raise ValueError("verified: true needs the interruption_pattern seen on the lab's phones")
        return self


class DeviceLog(_Model):
    """What of the DUT's unified log reaches the timeline (harness.device.os_trace.dut_log_filter).

    The audio daemons (audiomxd, mediaserverd), SpringBoard, InCallService and the app's own
    executable are always kept; every line goes to the raw log file either way."""

    processes: list[str] = Field(default_factory=list)
    """More processes (executable names, shell globs allowed) to keep on the timeline."""
    level: Literal["default", "info", "debug"] = "info"
    """The lowest level the phone is asked for; ``debug`` multiplies the volume (ask only to debug)."""

    @field_validator("processes")
    @classmethod
    def _names(cls, v: list[str]) -> list[str]:
        for name in v:
            if not name.strip() or "/" in name:
                raise ValueError(f"{name!r} is not a process name (the executable's name, e.g. bluetoothd)")
        return v


RECIPE_TABLES = ("answer_call", "follow_up_accept", "decline_call", "end_call", "confirm_dial", "siri_shown",
                 "timer_stop", "control_center", "cc_route_picker", "cc_bluetooth", "settings_bluetooth",
                 "settings_developer", "reset_media_services", "reset_confirm", "reset_cancel", "music_play",
                 "music_pause")
"""The recipe tables a lab file may add locators to: the names of ``harness.phone.locators.RECIPES``
(which checks it has exactly these; the schema may not import the recipes: the virtual lab reads
this schema)."""


class LabLocator(_Model):
    """One more way for a recipe to find what it acts on, tried before the harness's own
    (``harness.phone.locators``): a lab fixes a recipe miss on its phones without waiting for a
    release, typically from ``harness phone survey`` (whose report names the candidate elements)
    and checked with ``harness doctor --profile DIR/profile.yaml --lab lab.yaml``. Exactly one way
    to find: ``id``, ``name`` (optionally with ``className``), ``predicate`` (an NSPredicate
    string), ``classChain`` or ``alert_button`` (a button label of the Alert/Sheet on screen)."""

    predicate: str | None = None
    classChain: str | None = None
    id: str | None = None
    name: str | None = None
    className: str | None = None
    alert_button: str | None = None
    app: str | None = None
    """Search this app (WDA's defaultActiveApplication), e.g. com.apple.InCallService; default: the
    auto-detected one."""
    gesture: Literal["tap", "slide", "power-twice"] = "tap"
    ios: tuple[Int, Int] | None = None
    """The iOS majors it is tried first on, ``[min, max]`` (default: all)."""
    label: str | None = Field(default=None, max_length=200)
    """How the timeline and reports name it (default: its query)."""
    source: str | None = Field(default=None, max_length=300)
    """Where it was seen: ``survey <model> <iOS build> <date>`` (the survey's profile says it)."""

    @model_validator(mode="after")
    def _query(self) -> LabLocator:
        from harness import wda_query

        ways = [k for k in ("id", "name", "predicate", "classChain", "alert_button") if getattr(self, k)]
        if len(ways) != 1:
            raise ValueError("give exactly one of id, name, predicate, classChain, alert_button "
                             f"(got {', '.join(ways) or 'none'})")
        if self.className is not None and ways != ["name"]:
            raise ValueError("className goes with name only (e.g. {name: Accept, className: Button}); "
                             "in a predicate write type == 'XCUIElementTypeButton'")
        query = ({"predicate": ("predicate string", self.predicate or ""),
                  "classChain": ("class chain", self.classChain or "")}).get(ways[0])
        try:
            if query is not None:
                wda_query.check(*query)
        except wda_query.QueryError as exc:
            raise ValueError(f"WDA would refuse it: {exc.message}; correct the query (WDA's predicate "
                             "or class chain syntax) or drop the entry") from None
        if self.className is not None:
            from wda.xcui_element_types import ELEMENTS  # XCTest's element types, as facebook-wda lists them

            if self.className.removeprefix("XCUIElementType") not in ELEMENTS:
                raise ValueError(f"className: {self.className!r} is not an XCUIElementType (e.g. Button, "
                                 "Cell, StaticText, Other)")
        if self.app is not None and not _BUNDLE_ID.match(self.app):
            raise ValueError(f"app: {self.app!r} is not a bundle id (e.g. com.apple.InCallService)")
        if self.ios is not None and self.ios[0] > self.ios[1]:
            raise ValueError(f"ios: [{self.ios[0]}, {self.ios[1]}] is not [lowest, highest]")
        return self


class Lab(_Model):
    version: Literal[1] = 1
    usbmuxd: str | None = None
    devices: list[Device] = Field(min_length=1)
    app: App | None = None
    audio: Audio = Field(default_factory=Audio)
    peer: Peer = Field(default_factory=Peer)
    system_log: SystemLog = Field(default_factory=SystemLog)
    device_log: DeviceLog = Field(default_factory=DeviceLog)
    bluetooth_plugin: str | None = None
    accessories: list[AccessorySpec] = Field(default_factory=list)
    """Accessories the harness controls (power, connect): each through its plugin."""
    virtual: bool = False
    """Written by ``harness sim up``: this lab is the virtual lab (for reports only)."""
    locators: dict[str, list[LabLocator]] = Field(default_factory=dict)
    """Per recipe table (``harness.phone.locators.RECIPES``: answer_call, decline_call, end_call,
    confirm_dial, timer_stop, ...): the lab's own locators, tried before the harness's."""

    @field_validator("locators")
    @classmethod
    def _recipes(cls, v: dict[str, list[LabLocator]]) -> dict[str, list[LabLocator]]:
        unknown = [k for k in v if k not in RECIPE_TABLES]
        if unknown:
            raise ValueError(f"unknown recipe {unknown[0]!r}; the recipes that take locators: "
                             f"{', '.join(RECIPE_TABLES)}")
        return v

    @model_serializer(mode="wrap")
    def _dump(self, handler: Any) -> dict[str, Any]:
        out = handler(self)
        if not self.locators:
            out.pop("locators", None)  # keep written lab files as short as what was read
        return out

    def locator_specs(self) -> dict[str, list[dict[str, Any]]]:
        """The lab's locators per recipe table as plain mappings (``harness.phone.locators.lab_tables``
        makes the recipes' locators of them)."""
        return {recipe: [loc.model_dump(exclude_none=True) for loc in locs]
                for recipe, locs in self.locators.items()}

    @field_validator("usbmuxd")
    @classmethod
    def _usbmuxd(cls, v: str | None) -> str | None:
        if v is not None:
            problem = usbmuxd_address_problem(v)
            if problem:
                raise ValueError(problem)
        return v

    @model_validator(mode="after")
    def _unique(self) -> Lab:
        # UDIDs compare as usbmuxd does (case and dash do not matter: harness.device.usbmux.matches)
        keys = {"name": lambda d: d.name, "udid": lambda d: d.udid.replace("-", "").upper(),
                "phone_number": lambda d: d.phone_number}
        for key, norm in keys.items():
            seen: dict[str, str] = {}
            for d in self.devices:
                value = norm(d)
                if value is None:
                    continue
                if value in seen:
                    also = "" if seen[value] == getattr(d, key) else f" (and {seen[value]!r})"
                    raise ValueError(f"two devices have {key} {getattr(d, key)!r}{also}; each device needs "
                                     "its own")
                seen[value] = getattr(d, key)
        udids = {d.udid.replace("-", "").upper(): d for d in self.devices}
        for d in self.devices:
            other = udids.get(d.name.replace("-", "").upper())
            if other is not None and other is not d:
                raise ValueError(f"device {d.name!r} is named with the UDID of device {other.name!r}: "
                                 "--device would be ambiguous; give it a name")
        if not any(d.role == "dut" for d in self.devices):
            raise ValueError("no device has role: dut; mark the phone under test with `role: dut`")
        names: set[str] = set()
        for a in self.accessories:
            if a.name in names:
                raise ValueError(f"two accessories are named {a.name!r}; each needs its own name")
            names.add(a.name)
            if a.device is not None and not any(a.device in (d.name, d.udid) for d in self.devices):
                raise ValueError(f"accessory {a.name!r} names device {a.device!r}, which is not in devices")
        return self

    # -- queries ---------------------------------------------------------------------------------

    def device(self, key: str) -> Device:
        """A device by name or UDID; UsageError listing the known ones otherwise."""
        for d in self.devices:
            if key in (d.name, d.udid):
                return d
        raise UsageError(f"no device {key!r} in the lab; known: {', '.join(d.name for d in self.devices)}")

    def audio_for(self, device: Device) -> Audio:
        return device.audio if device.audio is not None else self.audio

    def role(self, role: str) -> list[Device]:
        return [d for d in self.devices if d.role == role]

    # -- files -----------------------------------------------------------------------------------

    @classmethod
    def load(cls, path: str | Path) -> Lab:
        """Read and check a lab file: a regular UTF-8 file of at most 1 MiB, YAML without duplicate
        keys, alias bombs or deep nesting (:mod:`harness.lab.bounded_yaml`), then the schema."""
        path = Path(path)
        try:
            text = bounded_yaml.read_text(path)
            data = bounded_yaml.loads(text)
        except FileNotFoundError:
            raise UsageError(
                f"lab file {path}: not found; pass --lab PATH (or run `harness sim up`)"
            ) from None
        except OSError as exc:
            raise UsageError(f"lab file {path}: cannot read it ({exc.strerror})") from None
        except bounded_yaml.BoundedYamlError as exc:
            raise UsageError(f"lab file {path}: {exc}") from None
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
            problem = " ".join(str(getattr(exc, "problem", None) or exc).split())  # one line
            raise UsageError(f"lab file {path}: not valid YAML{where}: {problem[:300]}") from None
        return cls.from_dict(data, source=str(path))

    @classmethod
    def from_dict(cls, data: Any, source: str = "lab") -> Lab:
        if not isinstance(data, dict):
            raise UsageError(
                f"lab file {source}: expected a mapping with 'devices:' at the top, got {type(data).__name__}"
            )
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            errors = exc.errors(include_url=False, include_input=True)
            parts = [_describe(e)[:300] for e in errors[:MAX_ERRORS]]
            if len(errors) > MAX_ERRORS:
                parts.append(f"and {len(errors) - MAX_ERRORS} more")
            raise UsageError(f"lab file {source}: " + "; ".join(parts)) from None

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)

    def dump(self, path: str | Path) -> None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(yaml.safe_dump(self.to_dict(), sort_keys=False), encoding="utf-8")
        tmp.replace(path)


def _describe(error: Mapping[str, Any]) -> str:
    loc = ""
    for part in error.get("loc", ()):
        if part == "[key]":
            continue
        if isinstance(part, int):
            loc += f"[{part}]"
        elif not str(part).replace("-", "_").isidentifier():  # a key a person did not mean: quote it
            loc += f"[{_quote(str(part))}]"
        else:
            loc += f".{part}" if loc else str(part)
    kind = error.get("type", "")
    if kind == "extra_forbidden":
        return f"{loc}: unknown key (check its spelling)"
    if kind == "missing":
        return f"{loc}: missing (required)"
    if kind == "literal_error":
        expected = error.get("ctx", {}).get("expected", "")
        return f"{loc}: must be {expected}, got {_quote(error.get('input'))}"
    if kind in ("int_type", "int_parsing"):
        return f"{loc}: must be a whole number, got {_quote(error.get('input'))}"
    message = str(error.get("msg", "")).removeprefix("Value error, ")
    return f"{loc}: {message}" if loc else message


def _quote(value: Any) -> str:
    """``repr`` of a wrong value, cut short: an aliased structure is never expanded into a message."""
    if isinstance(value, (str, int, float, bool)) or value is None:
        text = repr(value)
    else:
        text = f"a {type(value).__name__}"
    return text if len(text) <= MAX_INPUT_CHARS else text[: MAX_INPUT_CHARS - 3] + "..."
