"""The iOS audio world of a virtual iPhone: sessions, arbitration, routes, notifications (pure logic).

Entry point: :class:`~harness.sim.avfaudio.world.AudioWorld`, one per phone. The scene (WDA,
SpringBoard, the control API) calls its event methods; each launched app gets an
:class:`~harness.sim.avfaudio.avaudiosession.AVAudioSession` from ``world.launch(bundle_id)``.
Spec: reference/ios-audio.md; rules with their sources: :mod:`harness.sim.avfaudio.rules`.
"""

from harness.sim.avfaudio.avaudiosession import AVAudioSession
from harness.sim.avfaudio.constants import (
    AudioSessionError,
    Category,
    CategoryOptions,
    ErrorCode,
    Mode,
    PortOverride,
    SetActiveOptions,
)
from harness.sim.avfaudio.notifications import CallKitCallback, Key, Name
from harness.sim.avfaudio.ports import (
    Accessory,
    PortType,
    airpods,
    bluetooth_car,
    bluetooth_headset,
    bluetooth_speaker,
    car_audio,
    wired_headphones,
    wired_headset,
)
from harness.sim.avfaudio.rules import Timings
from harness.sim.avfaudio.scheduler import LoopScheduler, ManualScheduler
from harness.sim.avfaudio.world import AudioWorld, Delivery, LogEntry, WorldOptions

__all__ = [
    "AVAudioSession",
    "Accessory",
    "AudioSessionError",
    "AudioWorld",
    "CallKitCallback",
    "Category",
    "CategoryOptions",
    "Delivery",
    "ErrorCode",
    "Key",
    "LogEntry",
    "LoopScheduler",
    "ManualScheduler",
    "Mode",
    "Name",
    "PortOverride",
    "PortType",
    "SetActiveOptions",
    "Timings",
    "WorldOptions",
    "airpods",
    "bluetooth_car",
    "bluetooth_headset",
    "bluetooth_speaker",
    "car_audio",
    "wired_headphones",
    "wired_headset",
]
