"""AVFAudio's constants as the SDK header spells them (raw values from [H27]).

Names are Apple's (Swift case names); raw values are the header's, so a payload the virtual phone
sends carries the same numbers a real app would read. Port type *raw strings* are not hard-coded
(the reference could not verify them); ports are named by their Swift case.
"""

from __future__ import annotations

from enum import IntEnum, IntFlag, StrEnum


def fourcc(code: str) -> int:
    """Apple's four-character error codes ('!act') as the OSStatus integer they are."""
    if len(code) != 4:
        raise ValueError(f"a four-character code has 4 characters, not {code!r}")
    return int.from_bytes(code.encode("ascii"), "big")


class Category(StrEnum):
    ambient = "ambient"
    soloAmbient = "soloAmbient"
    playback = "playback"
    record = "record"
    playAndRecord = "playAndRecord"
    multiRoute = "multiRoute"


class Mode(StrEnum):
    default = "default"
    voiceChat = "voiceChat"
    videoChat = "videoChat"
    gameChat = "gameChat"
    videoRecording = "videoRecording"
    measurement = "measurement"
    moviePlayback = "moviePlayback"
    spokenAudio = "spokenAudio"
    voicePrompt = "voicePrompt"
    dualRoute = "dualRoute"


class CategoryOptions(IntFlag):
    """``AVAudioSession.CategoryOptions``. ``allowBluetooth`` is ``allowBluetoothHFP``: same bit [H27]."""

    mixWithOthers = 0x1
    duckOthers = 0x2
    allowBluetoothHFP = 0x4
    defaultToSpeaker = 0x8
    interruptSpokenAudioAndMixWithOthers = 0x11
    allowBluetoothA2DP = 0x20
    allowAirPlay = 0x40
    overrideMutedMicrophoneInterruption = 0x80
    farFieldInput = 1 << 18
    bluetoothHighQualityRecording = 1 << 19


# The deprecated spelling is the same member, not a second flag (an Enum alias would also work, but
# IntFlag aliases are easy to lose in iteration; one name for one bit keeps the tables honest).
ALLOW_BLUETOOTH = CategoryOptions.allowBluetoothHFP


class PortOverride(IntEnum):
    none = 0
    speaker = fourcc("spkr")


class SetActiveOptions(IntFlag):
    notifyOthersOnDeactivation = 1


class InterruptionType(IntEnum):
    ended = 0
    began = 1


class InterruptionOptions(IntFlag):
    shouldResume = 1


class InterruptionReason(IntEnum):
    default = 0
    appWasSuspended = 1
    builtInMicMuted = 2
    sceneWasBackgrounded = 3
    routeDisconnected = 4
    deviceUnauthenticated = 5


class DeactivationSource(IntEnum):
    """iOS 27: who made the session inactive [H27]."""

    app = 1
    system = 2


class ResumptionRecommendation(IntEnum):
    """iOS 27 [H27]."""

    shouldNotResume = 0
    shouldResume = 1


class RouteChangeReason(IntEnum):
    unknown = 0
    newDeviceAvailable = 1
    oldDeviceUnavailable = 2
    categoryChange = 3
    override = 4
    wakeFromSleep = 6
    noSuitableRouteForCategory = 7
    routeConfigurationChange = 8


class SilenceSecondaryAudioHintType(IntEnum):
    end = 0
    begin = 1


class ErrorCode(IntEnum):
    """``AVAudioSession.ErrorCode`` values the model raises."""

    badParam = -50
    isBusy = fourcc("!act")
    cannotInterruptOthers = fourcc("!int")
    insufficientPriority = fourcc("!pri")
    siriIsRecording = fourcc("siri")
    cannotStartPlaying = fourcc("!pla")


class AudioSessionError(Exception):
    """What ``setActive`` / ``setCategory`` would return as an NSError (the voice app 'catches' it)."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(f"{code.name} ({int(code)}): {message}")
        self.code = code
