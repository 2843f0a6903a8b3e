"""Ports, route descriptions and the accessories a phone can have (reference §1.4).

An :class:`Accessory` is the physical thing (AirPods, a car, wired headphones); a :class:`Port` is
what AVAudioSession shows of it. One Bluetooth device with both profiles shows up as two ports
(``bluetoothHFP`` in/out and ``bluetoothA2DP`` out) sharing the device's UID prefix.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class PortType(StrEnum):
    """``AVAudioSession.Port`` by Swift case name [H27][AP-PORT]."""

    builtInReceiver = "builtInReceiver"
    builtInSpeaker = "builtInSpeaker"
    builtInMic = "builtInMic"
    headphones = "headphones"
    headsetMic = "headsetMic"
    bluetoothA2DP = "bluetoothA2DP"
    bluetoothHFP = "bluetoothHFP"
    bluetoothLE = "bluetoothLE"
    carAudio = "carAudio"
    usbAudio = "usbAudio"
    airPlay = "airPlay"
    lineOut = "lineOut"
    lineIn = "lineIn"
    HDMI = "HDMI"


@dataclass(frozen=True)
class Port:
    """``AVAudioSessionPortDescription``: type, human name, stable UID."""

    port_type: PortType
    name: str
    uid: str

    def to_dict(self) -> dict[str, str]:
        return {"portType": str(self.port_type), "portName": self.name, "UID": self.uid}


@dataclass(frozen=True)
class RouteDescription:
    """``AVAudioSessionRouteDescription``: zero or more inputs and outputs."""

    inputs: tuple[Port, ...] = ()
    outputs: tuple[Port, ...] = ()

    @property
    def output(self) -> Port | None:
        return self.outputs[0] if self.outputs else None

    @property
    def input(self) -> Port | None:
        return self.inputs[0] if self.inputs else None

    def to_dict(self) -> dict[str, Any]:
        return {"inputs": [p.to_dict() for p in self.inputs], "outputs": [p.to_dict() for p in self.outputs]}


RECEIVER = Port(PortType.builtInReceiver, "Receiver", "Built-In Receiver")
SPEAKER = Port(PortType.builtInSpeaker, "Speaker", "Built-In Speaker")
BUILT_IN_MIC = Port(PortType.builtInMic, "iPhone Microphone", "Built-In Microphone")
BUILT_IN_PORTS = (RECEIVER, SPEAKER, BUILT_IN_MIC)


class AccessoryKind(StrEnum):
    bluetooth = "bluetooth"
    wired_headphones = "wired_headphones"
    wired_headset = "wired_headset"
    car_audio = "car_audio"
    """CarPlay: the car is one in/out ``carAudio`` port."""


class AccessoryState(StrEnum):
    connected = "connected"
    disconnected = "disconnected"
    """The user disconnected it (Control Center, Settings): the phone's radio stays on [OR-18426]."""
    powered_off = "powered_off"
    out_of_range = "out_of_range"


GONE_STATES = frozenset(
    {AccessoryState.disconnected, AccessoryState.powered_off, AccessoryState.out_of_range}
)


@dataclass(frozen=True)
class Accessory:
    """A paired or plugged accessory. ``hfp``/``a2dp`` only mean something for Bluetooth."""

    uid: str
    name: str
    kind: AccessoryKind
    hfp: bool = False
    a2dp: bool = False

    def __post_init__(self) -> None:
        if not self.uid:
            raise ValueError("an accessory needs a uid (e.g. 'airpods-1')")
        if self.kind is AccessoryKind.bluetooth and not (self.hfp or self.a2dp):
            raise ValueError(f"Bluetooth accessory {self.uid!r} needs HFP and/or A2DP")
        if self.kind is not AccessoryKind.bluetooth and (self.hfp or self.a2dp):
            raise ValueError(f"accessory {self.uid!r} is {self.kind}: HFP/A2DP are Bluetooth profiles")

    @property
    def hfp_port(self) -> Port | None:
        return Port(PortType.bluetoothHFP, self.name, f"{self.uid}-tsco") if self.hfp else None

    @property
    def a2dp_port(self) -> Port | None:
        return Port(PortType.bluetoothA2DP, self.name, f"{self.uid}-tacl") if self.a2dp else None

    @property
    def output_port(self) -> Port | None:
        """The non-Bluetooth output this accessory offers (None for Bluetooth: see the profiles)."""
        if self.kind in (AccessoryKind.wired_headphones, AccessoryKind.wired_headset):
            return Port(PortType.headphones, self.name, f"{self.uid}-out")
        if self.kind is AccessoryKind.car_audio:
            return Port(PortType.carAudio, self.name, f"{self.uid}-car")
        return None

    @property
    def input_port(self) -> Port | None:
        """The non-Bluetooth input this accessory offers."""
        if self.kind is AccessoryKind.wired_headset:
            return Port(PortType.headsetMic, self.name, f"{self.uid}-mic")
        if self.kind is AccessoryKind.car_audio:
            return Port(PortType.carAudio, self.name, f"{self.uid}-car")
        return None

    def owns(self, port: Port | None) -> bool:
        return port is not None and port in (self.hfp_port, self.a2dp_port, self.output_port, self.input_port)


def airpods(uid: str = "airpods", name: str = "AirPods Pro") -> Accessory:
    """AirPods: one device with HFP and A2DP."""
    return Accessory(uid, name, AccessoryKind.bluetooth, hfp=True, a2dp=True)


def bluetooth_headset(uid: str = "bt-headset", name: str = "BT Headset") -> Accessory:
    """An HFP-only headset."""
    return Accessory(uid, name, AccessoryKind.bluetooth, hfp=True)


def bluetooth_speaker(uid: str = "bt-speaker", name: str = "BT Speaker") -> Accessory:
    """An A2DP-only speaker."""
    return Accessory(uid, name, AccessoryKind.bluetooth, a2dp=True)


def bluetooth_car(uid: str = "bt-car", name: str = "Car Bluetooth") -> Accessory:
    """A car head unit paired over Bluetooth (HFP and A2DP)."""
    return Accessory(uid, name, AccessoryKind.bluetooth, hfp=True, a2dp=True)


def car_audio(uid: str = "carplay", name: str = "CarPlay") -> Accessory:
    return Accessory(uid, name, AccessoryKind.car_audio)


def wired_headphones(uid: str = "wired", name: str = "Headphones") -> Accessory:
    return Accessory(uid, name, AccessoryKind.wired_headphones)


def wired_headset(uid: str = "wired-headset", name: str = "EarPods") -> Accessory:
    return Accessory(uid, name, AccessoryKind.wired_headset)


@dataclass
class AccessoryEntry:
    accessory: Accessory
    state: AccessoryState = AccessoryState.disconnected
    connected_seq: int = 0
    """Order of the last connection; the highest is the last in."""


class Accessories:
    """The phone's accessories and their states. Pure bookkeeping, no routing decisions."""

    def __init__(self) -> None:
        self._entries: dict[str, AccessoryEntry] = {}
        self._seq = 0

    def add(self, accessory: Accessory) -> None:
        """Pair (Bluetooth) or make known (wired) an accessory; it starts disconnected."""
        if accessory.uid in self._entries:
            raise ValueError(f"accessory {accessory.uid!r} is already known; pick another uid")
        self._entries[accessory.uid] = AccessoryEntry(accessory)

    def get(self, uid: str) -> AccessoryEntry:
        try:
            return self._entries[uid]
        except KeyError:
            known = ", ".join(sorted(self._entries)) or "none"
            raise KeyError(f"no accessory {uid!r} on this phone (known: {known})") from None

    def connect(self, uid: str) -> bool:
        """Returns False when it was already connected (nothing changes)."""
        entry = self.get(uid)
        if entry.state is AccessoryState.connected:
            return False
        self._seq += 1
        entry.state, entry.connected_seq = AccessoryState.connected, self._seq
        return True

    def drop(self, uid: str, state: AccessoryState) -> bool:
        """Disconnect, power off or out of range. Returns False when it was not connected."""
        if state not in GONE_STATES:
            raise ValueError(f"{state} is not a way to lose an accessory")
        entry = self.get(uid)
        was = entry.state is AccessoryState.connected
        entry.state = state
        return was

    def connected(self) -> list[AccessoryEntry]:
        """Connected accessories, oldest connection first (so the last is the last in)."""
        return sorted(
            (e for e in self._entries.values() if e.state is AccessoryState.connected),
            key=lambda e: e.connected_seq,
        )

    def all(self) -> list[AccessoryEntry]:
        return list(self._entries.values())
