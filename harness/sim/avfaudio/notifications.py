"""Notification payloads exactly as each iOS version posts them (reference §1.1-1.3, §1.7).

Names and userInfo keys are Apple's Objective-C constants; enum values are raw numbers, as an app
reads them from the userInfo dictionary. CallKit delegate callbacks travel the same way (they are
what the app receives, in order), under their Swift selector names.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from harness.sim.avfaudio.constants import (
    DeactivationSource,
    InterruptionOptions,
    InterruptionReason,
    InterruptionType,
    ResumptionRecommendation,
    RouteChangeReason,
    SilenceSecondaryAudioHintType,
)
from harness.sim.avfaudio.ports import RouteDescription
from harness.sim.avfaudio.rules import FAMILY27, REASON_AVAILABILITY, REASON_KEY, WAS_SUSPENDED_KEY, Version


class Name(StrEnum):
    interruption = "AVAudioSessionInterruptionNotification"
    routeChange = "AVAudioSessionRouteChangeNotification"
    mediaServicesWereLost = "AVAudioSessionMediaServicesWereLostNotification"
    mediaServicesWereReset = "AVAudioSessionMediaServicesWereResetNotification"
    silenceSecondaryAudioHint = "AVAudioSessionSilenceSecondaryAudioHintNotification"
    didBecomeActive = "AVAudioSessionDidBecomeActiveNotification"
    didBecomeInactive = "AVAudioSessionDidBecomeInactiveNotification"
    resumptionRecommendation = "AVAudioSessionResumptionRecommendationNotification"


class CallKitCallback(StrEnum):
    """CXProviderDelegate methods the system calls on a CallKit app [AP-CKA][TW-VQ]."""

    didActivate = "provider(_:didActivate:)"
    didDeactivate = "provider(_:didDeactivate:)"
    performSetHeldCallAction = "provider(_:perform:CXSetHeldCallAction)"
    performEndCallAction = "provider(_:perform:CXEndCallAction)"


class Key(StrEnum):
    interruptionType = "AVAudioSessionInterruptionTypeKey"
    interruptionOption = "AVAudioSessionInterruptionOptionKey"
    interruptionReason = "AVAudioSessionInterruptionReasonKey"
    interruptionWasSuspended = "AVAudioSessionInterruptionWasSuspendedKey"
    routeChangeReason = "AVAudioSessionRouteChangeReasonKey"
    routeChangePreviousRoute = "AVAudioSessionRouteChangePreviousRouteKey"
    silenceSecondaryAudioHintType = "AVAudioSessionSilenceSecondaryAudioHintTypeKey"
    deactivationContext = "AVAudioSessionDeactivationContextKey"
    resumptionContext = "AVAudioSessionResumptionContextKey"


@dataclass(frozen=True)
class Notification:
    """One NSNotification (or CallKit callback) as the app receives it."""

    name: str
    user_info: dict[str, Any] = field(default_factory=dict)
    thread: str = "main"
    """``main`` or ``secondary`` (routeChange is posted on a secondary thread [AP-RCN])."""

    def __post_init__(self) -> None:
        # Plain strings, as an NSDictionary holds them (Key members are str subclasses).
        object.__setattr__(self, "name", str(self.name))
        object.__setattr__(self, "user_info", {str(k): v for k, v in self.user_info.items()})

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "userInfo": self.user_info, "thread": self.thread}


def reason_valid(reason: InterruptionReason, version: Version) -> bool:
    """Whether iOS ``version`` can send this InterruptionReason value [H27]."""
    availability = REASON_AVAILABILITY[reason]
    return availability is not None and availability.covers(version)


class Payloads:
    """Builds the notifications one iOS version posts for each kind of event."""

    def __init__(self, version: Version) -> None:
        self.version = version
        self.family27 = FAMILY27.covers(version)

    def interruption_began(
        self, reason: InterruptionReason = InterruptionReason.default, was_suspended: bool = False
    ) -> list[Notification]:
        """began: type; reason on 14.5+; wasSuspended on 10.3-14.5; iOS 27 adds didBecomeInactive."""
        if REASON_KEY.covers(self.version) and not reason_valid(reason, self.version):
            raise ValueError(f"iOS {self._v()} cannot send interruption reason {reason.name}")
        info: dict[str, Any] = {Key.interruptionType: int(InterruptionType.began)}
        if REASON_KEY.covers(self.version):  # rule reason_key_since_14_5
            info[Key.interruptionReason] = int(reason)
        if WAS_SUSPENDED_KEY.covers(self.version):  # rule was_suspended_10_3_to_14_5
            info[Key.interruptionWasSuspended] = was_suspended
        out = [Notification(Name.interruption, info)]
        if self.family27:  # rule family27_order: the deprecated one first
            out.append(self.did_become_inactive(DeactivationSource.system, reason))
        return out

    def interruption_ended(self, should_resume: bool) -> list[Notification]:
        """ended: type and options (shouldResume bit); iOS 27 adds resumptionRecommendation."""
        # rule option_key_on_ended: the option key only here, never on began
        options = InterruptionOptions.shouldResume if should_resume else InterruptionOptions(0)
        out = [
            Notification(
                Name.interruption,
                {Key.interruptionType: int(InterruptionType.ended), Key.interruptionOption: int(options)},
            )
        ]
        if self.family27:
            recommendation = (
                ResumptionRecommendation.shouldResume
                if should_resume
                else ResumptionRecommendation.shouldNotResume
            )
            out.append(
                Notification(
                    Name.resumptionRecommendation,
                    {Key.resumptionContext: {"recommendation": int(recommendation)}},
                )
            )
        return out

    def did_become_inactive(
        self, source: DeactivationSource, reason: InterruptionReason | None = None
    ) -> Notification:
        """iOS 27 only. ``interruptionDetails`` only for system deactivations."""
        if not self.family27:
            raise ValueError(f"didBecomeInactive does not exist on iOS {self._v()} (iOS 27+)")
        context: dict[str, Any] = {"source": int(source)}
        if source is DeactivationSource.system:
            context["interruptionDetails"] = {"reason": int(reason if reason is not None else 0)}
        return Notification(Name.didBecomeInactive, {Key.deactivationContext: context})

    def reactivated(self) -> list[Notification]:
        """The session became active again: didBecomeActive (no userInfo) on iOS 27, nothing before."""
        return [Notification(Name.didBecomeActive, {})] if self.family27 else []

    def app_deactivated(self) -> list[Notification]:
        """The app deactivated its own session: didBecomeInactive(source=app) on iOS 27.

        Rule family27_app_source (inferred)."""
        return [self.did_become_inactive(DeactivationSource.app)] if self.family27 else []

    @staticmethod
    def route_change(reason: RouteChangeReason, previous: RouteDescription) -> Notification:
        return Notification(
            Name.routeChange,
            {Key.routeChangeReason: int(reason), Key.routeChangePreviousRoute: previous.to_dict()},
            thread="secondary",  # rule route_change_secondary_thread
        )

    @staticmethod
    def media_services_lost() -> Notification:
        return Notification(Name.mediaServicesWereLost, {})

    @staticmethod
    def media_services_reset() -> Notification:
        return Notification(Name.mediaServicesWereReset, {})

    @staticmethod
    def silence_secondary_audio_hint(begin: bool) -> Notification:
        hint = SilenceSecondaryAudioHintType.begin if begin else SilenceSecondaryAudioHintType.end
        return Notification(Name.silenceSecondaryAudioHint, {Key.silenceSecondaryAudioHintType: int(hint)})

    @staticmethod
    def callkit(callback: CallKitCallback, **info: Any) -> Notification:
        return Notification(str(callback), dict(info))

    def _v(self) -> str:
        return ".".join(map(str, self.version))
