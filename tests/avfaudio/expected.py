"""The notifications reference/ios-audio.md says an app receives, written out by hand per iOS version.

Deliberately independent of harness.sim.avfaudio.notifications: these literals are what the tests
compare the world's deliveries with (names, userInfo keys and values, order).
"""

from __future__ import annotations

from typing import Any

Item = tuple[str, dict[str, Any]]

INTERRUPTION = "AVAudioSessionInterruptionNotification"
ROUTE_CHANGE = "AVAudioSessionRouteChangeNotification"
LOST = "AVAudioSessionMediaServicesWereLostNotification"
RESET = "AVAudioSessionMediaServicesWereResetNotification"
HINT = "AVAudioSessionSilenceSecondaryAudioHintNotification"
ACTIVE = "AVAudioSessionDidBecomeActiveNotification"
INACTIVE = "AVAudioSessionDidBecomeInactiveNotification"
RESUMPTION = "AVAudioSessionResumptionRecommendationNotification"
DID_ACTIVATE = "provider(_:didActivate:)"
DID_DEACTIVATE = "provider(_:didDeactivate:)"
SET_HELD = "provider(_:perform:CXSetHeldCallAction)"


def began(version: int, reason: int = 0) -> list[Item]:
    """[H27]: type began=1; reason key on 14.5+ (all modelled versions); iOS 27 adds didBecomeInactive."""
    out: list[Item] = [
        (
            INTERRUPTION,
            {"AVAudioSessionInterruptionTypeKey": 1, "AVAudioSessionInterruptionReasonKey": reason},
        )
    ]
    if version >= 27:
        out.append(
            (
                INACTIVE,
                {
                    "AVAudioSessionDeactivationContextKey": {
                        "source": 2,
                        "interruptionDetails": {"reason": reason},
                    }
                },
            )
        )
    return out


def ended(version: int, should_resume: bool) -> list[Item]:
    """[H27]: type ended=0 with the option key (shouldResume=1); iOS 27 adds resumptionRecommendation."""
    out: list[Item] = [
        (
            INTERRUPTION,
            {
                "AVAudioSessionInterruptionTypeKey": 0,
                "AVAudioSessionInterruptionOptionKey": 1 if should_resume else 0,
            },
        )
    ]
    if version >= 27:
        out.append(
            (RESUMPTION, {"AVAudioSessionResumptionContextKey": {"recommendation": int(should_resume)}})
        )
    return out


def became_active(version: int) -> list[Item]:
    return [(ACTIVE, {})] if version >= 27 else []


def app_deactivated(version: int) -> list[Item]:
    return [(INACTIVE, {"AVAudioSessionDeactivationContextKey": {"source": 1}})] if version >= 27 else []


def port(port_type: str, name: str, uid: str) -> dict[str, str]:
    return {"portType": port_type, "portName": name, "UID": uid}


MIC = port("builtInMic", "iPhone Microphone", "Built-In Microphone")
RECEIVER = port("builtInReceiver", "Receiver", "Built-In Receiver")
SPEAKER = port("builtInSpeaker", "Speaker", "Built-In Speaker")


def route_change(reason: int, inputs: list[dict[str, str]], outputs: list[dict[str, str]]) -> list[Item]:
    return [
        (
            ROUTE_CHANGE,
            {
                "AVAudioSessionRouteChangeReasonKey": reason,
                "AVAudioSessionRouteChangePreviousRouteKey": {"inputs": inputs, "outputs": outputs},
            },
        )
    ]
