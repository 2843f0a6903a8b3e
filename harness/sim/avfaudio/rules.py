"""iOS audio rules as data: every row cites its source key in reference/ios-audio.md and a confidence.

Confidence: ``documented`` (Apple says so), ``observed`` (field reports, vendor tables), ``inferred``
(our reasoning; keep it configurable and verify on hardware). Code that applies a rule names the
rule's id in the world's event log, so a test failure points at the row that decided it.

Timings are parameters (:class:`Timings`), never constants buried in the logic.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum, StrEnum

from harness.sim.avfaudio.constants import Category, CategoryOptions, InterruptionReason, Mode

Version = tuple[int, ...]
"""An iOS version as a tuple, e.g. (17, 5); compare with ``>=``."""


class Confidence(StrEnum):
    documented = "documented"
    observed = "observed"
    inferred = "inferred"


@dataclass(frozen=True)
class Rule:
    id: str
    text: str
    sources: tuple[str, ...]
    confidence: Confidence


DOC, OBS, INF = Confidence.documented, Confidence.observed, Confidence.inferred

RULES: dict[str, Rule] = {
    r.id: r
    for r in (
        # -- session configuration
        Rule(
            "mode_voicechat_sets_hfp",
            "mode voiceChat sets allowBluetoothHFP",
            ("H27",),
            DOC,
        ),
        Rule(
            "mode_videochat_sets_hfp_speaker",
            "mode videoChat sets allowBluetoothHFP and defaultToSpeaker",
            ("H27",),
            DOC,
        ),
        Rule(
            "duck_sets_mix",
            "duckOthers also sets mixWithOthers",
            ("H27",),
            DOC,
        ),
        Rule(
            "options_not_sticky",
            "options are not sticky across category changes; re-assert them",
            ("H27",),
            DOC,
        ),
        Rule(
            "option_valid_for_category",
            "an option outside its categories fails with paramErr (-50)",
            ("H27",),
            DOC,
        ),
        Rule(
            "mode_valid_for_category",
            "a mode outside its categories fails with paramErr (-50)",
            ("H27",),
            INF,
        ),
        Rule(
            "mode_kept_on_category_change",
            "setCategory without a mode keeps the mode if the new category "
            "allows it, else resets it to default",
            ("H27",),
            INF,
        ),
        Rule(
            "deactivate_with_running_io_fails",
            "setActive(false) with I/O running fails (isBusy '!act')",
            ("IOS8-HDR",),
            DOC,
        ),
        Rule(
            "notify_others_only_on_deactivation",
            "notifyOthersOnDeactivation tells interrupted apps the interruption ended and they may resume",
            ("H27",),
            DOC,
        ),
        Rule(
            "cannot_interrupt_higher_priority",
            "an app cannot activate a non-mixable session over telephony, Siri or an alarm ('!int')",
            ("VOX", "MS-CKA"),
            INF,
        ),
        # -- CallKit
        Rule(
            "callkit_telephony_priority",
            "CallKit activates the app's session with telephony priority and calls provider(_:didActivate:)",
            ("AP-CKA", "MS-CKA", "VOX"),
            DOC,
        ),
        Rule(
            "callkit_self_activation",
            "an app that activates its own session under CallKit is not "
            "activated by CallKit: no didActivate, app priority",
            ("CALLKEEP-851", "STREAM-1982", "TW-VID"),
            INF,
        ),
        Rule(
            "callkit_hold_accept",
            "Hold & Accept: performSetHeldCallAction(onHold:true) -> began -> "
            "didDeactivate; local PSTN hang-up -> performSetHeldCallAction(onHold:false) -> didActivate",
            ("TW-VQ",),
            OBS,
        ),
        Rule(
            "callkit_remote_hangup_no_unhold",
            "remote hangs up the PSTN call: no un-hold callback",
            ("TW-VQ",),
            OBS,
        ),
        Rule(
            "callkit_reject_no_interruption",
            "a CallKit call is not interrupted by a ringing call that is rejected or ignored",
            ("TW-VQ",),
            OBS,
        ),
        # -- arbitration
        Rule(
            "priority_order",
            "telephony > Siri and alarms/timers > other apps",
            ("AP-GUIDE", "VOX", "MS-CKA"),
            OBS,
        ),
        Rule(
            "ring_interrupts",
            "an incoming cellular call interrupts when it rings; the ringtone fades in",
            ("AP-HAI", "AP-GUIDE", "TW-VQ"),
            DOC,
        ),
        Rule(
            "banner_no_interruptions",
            "with the banner call style and prefersNoInterruptionsFromSystemAlerts, "
            "a ringing call does not interrupt; accepting it does",
            ("AP-PNI",),
            DOC,
        ),
        Rule(
            "declined_ended_should_resume",
            "declined, ignored or caller hangs up: ended with shouldResume",
            ("AP-HAI", "TW-VQ", "AT-SR"),
            DOC,
        ),
        Rule(
            "answered_ended_after_call",
            "answered: ended after the call (the app may be suspended meanwhile)",
            ("AP-HAI", "TW-VQ"),
            OBS,
        ),
        Rule(
            "facetime_like_call",
            "FaceTime activates its session, deactivating yours: began; ignored: ended",
            ("AP-GUIDE",),
            DOC,
        ),
        Rule(
            "siri_ended_late_or_never",
            "Siri: began at start; ended when the panel is dismissed, sometimes never",
            ("OR-20492", "AP-GUIDE"),
            OBS,
        ),
        Rule(
            "alarm_interrupts",
            "a clock or calendar alarm interrupts; dismissing it ends the interruption",
            ("AP-GUIDE",),
            DOC,
        ),
        Rule(
            "media_app_ended_late_no_resume",
            "another media app: began; ended only seconds after the user "
            "returns to the app, without shouldResume",
            ("TW-VQ",),
            OBS,
        ),
        Rule(
            "mixable_not_interrupted_by_apps",
            "a mixable session is not interrupted by another app's "
            "non-mixable audio; it is by telephony, Siri and alarms",
            ("H27",),
            INF,
        ),
        Rule(
            "duck_while_active",
            "duckOthers ducks other audio for as long as the session is active",
            ("H27",),
            DOC,
        ),
        Rule(
            "unduck_needs_notify",
            "other audio ducked by a session comes back to full level only when that session deactivates "
            "with notifyOthersOnDeactivation (inferred from field reports; WorldOptions.unduck_needs_notify)",
            ("H27",),
            INF,
        ),
        Rule(
            "silence_secondary_hint",
            "silenceSecondaryAudioHint goes to foreground apps with an active "
            "session when another app's primary audio starts (begin) or stops (end)",
            ("H27",),
            DOC,
        ),
        Rule(
            "route_disconnect_interrupts_now_playing",
            "iOS 17+: a route disconnect interrupts an active "
            "Now Playing session (reason routeDisconnected) unless it opted out",
            ("AP-PIRD", "AP-RD"),
            DOC,
        ),
        Rule(
            "mic_muted_interrupts",
            "hardware-muted built-in mic: began reason builtInMicMuted, unless "
            "overrideMutedMicrophoneInterruption (then active, zero buffers)",
            ("H27",),
            DOC,
        ),
        Rule(
            "suspended_delivery_late",
            "a suspended app's notifications are delivered when it runs again",
            ("AP-WS", "AP-AWS"),
            DOC,
        ),
        Rule(
            "no_guaranteed_ended",
            "a began need not have a matching ended",
            ("GIST-JC",),
            DOC,
        ),
        Rule(
            "media_services_reset",
            "media services: lost (main thread, no userInfo), then reset; every "
            "session's category, mode and options are reset and it is inactive",
            ("AP-MSL", "AP-MSR", "QA1749"),
            DOC,
        ),
        # -- routes
        Rule(
            "receiver_default",
            "playAndRecord routes output to the receiver by default",
            ("H27",),
            DOC,
        ),
        Rule(
            "default_to_speaker_only_alone",
            "defaultToSpeaker: speaker instead of receiver only when no other route is connected",
            ("H27",),
            DOC,
        ),
        Rule(
            "hfp_needs_option",
            "an HFP device is reachable by playAndRecord/record only with allowBluetoothHFP",
            ("H27",),
            DOC,
        ),
        Rule(
            "a2dp_needs_option",
            "playAndRecord reaches A2DP output only with allowBluetoothA2DP",
            ("H27",),
            DOC,
        ),
        Rule(
            "a2dp_for_playback", "playback-only categories use A2DP output without an option", ("H27",), INF
        ),
        Rule(
            "a2dp_input_builtin_mic",
            "A2DP output records through the category input (built-in mic)",
            ("H27",),
            DOC,
        ),
        Rule(
            "hfp_wins_same_device", "one device with HFP and A2DP, both options set: HFP wins", ("H27",), DOC
        ),
        Rule(
            "last_in_wins",
            "separate devices: the last connected wins",
            ("H27", "QA1754"),
            DOC,
        ),
        Rule(
            "wired_follows_system",
            "wired, USB and car routes follow the system rules (reachable always)",
            ("H27",),
            DOC,
        ),
        Rule(
            "speaker_override",
            "overrideOutputAudioPort(.speaker): built-in speaker and mic regardless of "
            "other settings; playAndRecord only; routeChange reason override",
            ("AP-OVR", "QA1754", "H27"),
            DOC,
        ),
        Rule(
            "override_ends_on_route_change",
            "any route change or interruption ends the speaker override",
            ("QA1754",),
            DOC,
        ),
        Rule(
            "override_end_reason",
            "the override ended by an interruption posts routeChange reason override",
            ("QA1754",),
            INF,
        ),
        Rule(
            "route_change_to_affected_apps",
            "routeChange goes to each app whose route changed",
            ("AP-RCN",),
            INF,
        ),
        Rule(
            "route_change_secondary_thread", "routeChange is posted on a secondary thread", ("AP-RCN",), DOC
        ),
        Rule(
            "call_route",
            "a phone call uses the last-connected HFP/wired/car route, else the receiver "
            "(speaker when the user picks it)",
            ("H27",),
            INF,
        ),
        # -- notifications
        Rule(
            "reason_key_since_14_5", "InterruptionReasonKey only on began, iOS 14.5+", ("H27", "AP-RK"), DOC
        ),
        Rule(
            "was_suspended_10_3_to_14_5",
            "WasSuspendedKey only on began, iOS 10.3 up to 14.5",
            ("H27", "AP-WS"),
            DOC,
        ),
        Rule(
            "option_key_on_ended",
            "InterruptionOptionKey only on ended",
            ("H27", "AP-IN"),
            DOC,
        ),
        Rule(
            "family27",
            "iOS 27: didBecomeInactive(source, reason) and resumptionRecommendation beside the "
            "deprecated interruptionNotification; didBecomeActive on reactivation",
            ("H27", "AP-IOPT", "AP-ICTX"),
            DOC,
        ),
        Rule(
            "family27_order",
            "iOS 27: the deprecated notification is posted before the new one",
            ("H27",),
            INF,
        ),
        Rule(
            "family27_app_source",
            "iOS 27: the app's own deactivation posts didBecomeInactive(source=app)",
            ("H27",),
            INF,
        ),
    )
}
"""Every rule the model applies, by id."""


# --------------------------------------------------------------------------- session configuration

_PLAYBACK_LIKE = frozenset({Category.playAndRecord, Category.playback, Category.multiRoute})

OPTION_CATEGORIES: dict[CategoryOptions, frozenset[Category]] = {
    CategoryOptions.mixWithOthers: _PLAYBACK_LIKE,
    CategoryOptions.duckOthers: _PLAYBACK_LIKE,
    CategoryOptions.interruptSpokenAudioAndMixWithOthers: _PLAYBACK_LIKE,
    CategoryOptions.allowBluetoothHFP: frozenset({Category.playAndRecord, Category.record}),
    CategoryOptions.defaultToSpeaker: frozenset({Category.playAndRecord}),
    CategoryOptions.allowBluetoothA2DP: frozenset({Category.playAndRecord}),
    CategoryOptions.allowAirPlay: frozenset({Category.playAndRecord}),
    CategoryOptions.overrideMutedMicrophoneInterruption: frozenset({Category.playAndRecord, Category.record}),
    CategoryOptions.farFieldInput: frozenset({Category.playAndRecord, Category.record}),
    CategoryOptions.bluetoothHighQualityRecording: frozenset({Category.playAndRecord, Category.record}),
}
"""Rule ``option_valid_for_category`` [H27]."""

_ALL = frozenset(Category)
MODE_CATEGORIES: dict[Mode, frozenset[Category]] = {
    Mode.default: _ALL,
    Mode.measurement: _ALL,
    Mode.voiceChat: frozenset({Category.playAndRecord}),
    Mode.videoChat: frozenset({Category.playAndRecord}),
    Mode.gameChat: frozenset({Category.playAndRecord}),
    Mode.videoRecording: frozenset({Category.record, Category.playAndRecord}),
    Mode.moviePlayback: frozenset({Category.playback}),
    Mode.spokenAudio: frozenset({Category.playback}),
    Mode.voicePrompt: frozenset({Category.playback, Category.playAndRecord}),
    Mode.dualRoute: frozenset({Category.multiRoute}),
}
"""Rule ``mode_valid_for_category``."""

MODE_SINCE: dict[Mode, Version] = {Mode.dualRoute: (26, 2)}
"""Modes newer than the oldest modelled iOS [H27]."""

OPTION_SINCE: dict[CategoryOptions, Version] = {
    CategoryOptions.farFieldInput: (26, 2),
    CategoryOptions.bluetoothHighQualityRecording: (26, 0),
}

MODE_IMPLIES: dict[Mode, CategoryOptions] = {
    Mode.voiceChat: CategoryOptions.allowBluetoothHFP,
    Mode.videoChat: CategoryOptions.allowBluetoothHFP | CategoryOptions.defaultToSpeaker,
}
"""Rules ``mode_voicechat_sets_hfp`` and ``mode_videochat_sets_hfp_speaker``."""

OPTION_IMPLIES: dict[CategoryOptions, CategoryOptions] = {
    CategoryOptions.duckOthers: CategoryOptions.mixWithOthers,
}
"""Rule ``duck_sets_mix``."""

RECORDING_CATEGORIES = frozenset({Category.playAndRecord, Category.record, Category.multiRoute})
OUTPUT_CATEGORIES = frozenset(Category) - {Category.record}


# --------------------------------------------------------------------------- arbitration


class Priority(IntEnum):
    """Rule ``priority_order``: who may interrupt whom."""

    app = 1
    siri = 2
    alarm = 2
    telephony = 3


@dataclass(frozen=True)
class Interrupter:
    """How a system audio source interrupts an app's session (rules as data)."""

    kind: str
    priority: Priority
    interrupts_at: str
    """``ring`` (when it starts ringing), ``start`` (when it takes audio) or ``answer``."""
    ended_should_resume: bool
    """shouldResume on the ended notification when the source lets go normally."""
    rule: str


INTERRUPTERS: dict[str, Interrupter] = {
    i.kind: i
    for i in (
        Interrupter("cellular_call", Priority.telephony, "ring", True, "ring_interrupts"),
        Interrupter("facetime", Priority.telephony, "ring", True, "facetime_like_call"),
        Interrupter("siri", Priority.siri, "start", True, "siri_ended_late_or_never"),
        Interrupter("alarm", Priority.alarm, "start", True, "alarm_interrupts"),
        Interrupter("timer", Priority.alarm, "start", True, "alarm_interrupts"),
        Interrupter("media_app", Priority.app, "start", False, "media_app_ended_late_no_resume"),
    )
}


# --------------------------------------------------------------------------- notifications per version


@dataclass(frozen=True)
class Availability:
    since: Version
    until: Version | None = None
    """Exclusive upper bound; None means still present."""

    def covers(self, version: Version) -> bool:
        return version >= self.since and (self.until is None or version < self.until)


REASON_AVAILABILITY: dict[InterruptionReason, Availability | None] = {
    InterruptionReason.default: Availability((14, 5)),
    # "not present from iOS 16 onwards" [AP-AWS]
    InterruptionReason.appWasSuspended: Availability((14, 5), (16, 0)),
    InterruptionReason.builtInMicMuted: Availability((14, 5)),
    InterruptionReason.sceneWasBackgrounded: None,  # visionOS only [AP-SB]
    InterruptionReason.routeDisconnected: Availability((17, 0)),
    InterruptionReason.deviceUnauthenticated: None,  # visionOS only [H27]
}
"""Which reason values iOS may send, per version [H27][AP-AWS][AP-RD]. None: never on iOS."""

REASON_KEY = Availability((14, 5))
WAS_SUSPENDED_KEY = Availability((10, 3), (14, 5))
FAMILY27 = Availability((27, 0))
PREFERS_INTERRUPTION_ON_ROUTE_DISCONNECT = Availability((17, 0))
PREFERS_NO_INTERRUPTIONS_FROM_SYSTEM_ALERTS = Availability((14, 5))


# --------------------------------------------------------------------------- timings


@dataclass(frozen=True)
class Timings:
    """Every delay the world applies, in seconds unless named otherwise. Defaults are inferred."""

    siri_end_delay_s: float = 0.3
    """Dismissing Siri -> ended [OR-20492] (qualitative: 'not until the panel is dismissed')."""
    siri_never_ends_probability: float = 0.1
    """Chance that Siri's ended never comes [OR-20492]; drawn from the world's seeded RNG."""
    media_app_ended_delay_s: float = 3.0
    """Returning to the app -> ended after another media app ('a few seconds') [TW-VQ]."""
    call_ended_delay_s: float = 0.5
    """Call torn down -> ended (the ringtone/call audio fades) (inferred)."""
    media_services_reset_delay_s: float = 1.0
    """mediaServicesWereLost -> mediaServicesWereReset (inferred)."""
    callkit_activation_delay_s: float = 0.2
    """CallKit answers/starts -> provider(_:didActivate:) (inferred)."""
    route_switch_latency_ms: dict[str, float] = field(
        default_factory=lambda: {
            "builtInReceiver": 30.0,
            "builtInSpeaker": 30.0,
            "headphones": 20.0,
            "carAudio": 300.0,
            "bluetoothA2DP": 250.0,
            "bluetoothHFP": 400.0,
        }
    )
    """How long the new output needs before it plays, per port type (inferred; for the acoustics)."""

    def __post_init__(self) -> None:
        if not 0.0 <= self.siri_never_ends_probability <= 1.0:
            raise ValueError(
                f"siri_never_ends_probability must be within 0..1, not {self.siri_never_ends_probability}"
            )
        for name in (
            "siri_end_delay_s",
            "media_app_ended_delay_s",
            "call_ended_delay_s",
            "media_services_reset_delay_s",
            "callkit_activation_delay_s",
        ):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative, not {getattr(self, name)}")
