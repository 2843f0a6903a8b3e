"""The iOS VoIP playbook as data, and each known defect as a change to that data.

A :class:`Playbook` says how the app configures its audio session and which actions it takes on
each event (interruption began/ended, media services reset, the end of its call, CallKit's
activation). The app's handlers only interpret these tables; a defect replaces a table entry, so
its symptoms come out of the same audio path and the same iOS rules as on a phone.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal

Action = Literal[
    "pause",  # stop audio I/O (the session was interrupted)
    "configure_session",  # setCategory(category, mode, options) again
    "activate_session",  # AVAudioSession.setActive(true)
    "recheck_ice",  # a long interruption: open a fresh WHIP session (same token) if the old one died
    "override_speaker",  # overrideOutputAudioPort(.speaker)
    "resume",  # restart audio I/O
    "rebuild",  # media services were reset: re-create the audio unit, then configure/activate/resume
    "stop_io",  # the call ends: stop audio I/O
    "deactivate_session",  # setActive(false)
    "deactivate_session_notify_others",  # setActive(false, .notifyOthersOnDeactivation)
    "log",  # emit a HARNESS-EVENT line only
]


@dataclass(frozen=True)
class SessionConfig:
    category: str = "playAndRecord"
    mode: str = "voiceChat"
    options: tuple[str, ...] = ("allowBluetoothHFP", "allowBluetoothA2DP", "duckOthers")

    @property
    def voice_processing(self) -> bool:
        """voiceChat/videoChat load the voice-processing I/O unit (echo cancellation) [ios-audio 1.5]."""
        return self.mode in ("voiceChat", "videoChat")


@dataclass(frozen=True)
class Playbook:
    """What the app does. Field names are the events; values are the actions taken, in order."""

    session: SessionConfig = field(default_factory=SessionConfig)
    on_interruption_began: tuple[Action, ...] = ("pause",)
    on_interruption_ended_should_resume: tuple[Action, ...] = ("activate_session", "recheck_ice", "resume")
    on_interruption_ended_without_resume: tuple[Action, ...] = ("log",)
    on_media_services_reset: tuple[Action, ...] = ("rebuild",)
    on_call_ended: tuple[Action, ...] = ("stop_io", "deactivate_session_notify_others")
    on_route_lost: tuple[Action, ...] = ()
    """routeChange with reason oldDeviceUnavailable (a headset went away): nothing to do, iOS already
    moved playAndRecord to the receiver."""
    activates_itself_under_callkit: bool = False
    """Under CallKit the session is CallKit's to activate: the app waits for didActivate."""
    ice_stale_after_s: float = 20.0
    """recheck_ice opens a fresh session when the interruption lasted this long (ICE consent expires
    24-36 s after the phone stops answering, RFC 7675) or when the connection already failed."""
    liveness_s: float = 1.5
    """recheck_ice on a shorter interruption: no audio from the peer this long after resuming means
    the connection died (the peer's consent may expire sooner than the app's)."""
    output_gain_db_after_resume: float = 0.0


@dataclass(frozen=True)
class Defect:
    """How one defect of the public catalog (harness.verdicts.defects, which this lab never reads:
    it names the rule each breaks) changes this app's playbook."""

    name: str
    changes: dict[str, object]

    def apply(self, playbook: Playbook) -> Playbook:
        return replace(playbook, **self.changes)  # type: ignore[arg-type]


CORRECT = Playbook()
_S = CORRECT.session
_RESUME = CORRECT.on_interruption_ended_should_resume

DEFECTS: dict[str, Defect] = {
    d.name: d
    for d in (
        Defect("no_a2dp_option", {"session": replace(_S, options=("allowBluetoothHFP", "duckOthers"))}),
        Defect("default_mode", {"session": replace(_S, mode="default")}),
        Defect("ignores_should_resume", {"on_interruption_ended_without_resume": _RESUME}),
        Defect("never_resumes", {"on_interruption_ended_should_resume": ("log",)}),
        Defect("no_ice_recheck", {"on_interruption_ended_should_resume": ("activate_session", "resume")}),
        Defect("leaks_to_speaker", {"on_interruption_ended_should_resume": (*_RESUME[:-1], "override_speaker",
                                                                             "resume"),
                                    "on_route_lost": ("override_speaker",)}),
        Defect("activates_under_callkit", {"activates_itself_under_callkit": True}),
        Defect("no_duck_others",
               {"session": replace(_S, options=("allowBluetoothHFP", "allowBluetoothA2DP"))}),
        Defect("no_notify_on_deactivate", {"on_call_ended": ("stop_io", "deactivate_session")}),
        Defect("no_media_reset_recovery", {"on_media_services_reset": ("log",)}),
        Defect("quiet_after_resume", {"output_gain_db_after_resume": -30.0}),
    )
}


def playbook_for(defect: str | None) -> Playbook:
    """The correct playbook, or the one with ``defect`` applied (ValueError names the known ones)."""
    if not defect:
        return CORRECT
    if defect not in DEFECTS:
        known = ", ".join(sorted(DEFECTS))
        raise ValueError(f"unknown defect {defect!r}; known defects: {known}")
    return DEFECTS[defect].apply(CORRECT)
