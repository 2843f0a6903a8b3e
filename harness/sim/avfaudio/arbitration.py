"""Who may take the audio from whom (reference §1.2, §1.7-1.9). Pure decisions, no state changes.

Each function returns the id of the rule that decided (None: nothing happens), so the world can log
why it interrupted a session or refused an activation.
"""

from __future__ import annotations

from harness.sim.avfaudio.constants import CategoryOptions, ErrorCode
from harness.sim.avfaudio.rules import (
    PREFERS_INTERRUPTION_ON_ROUTE_DISCONNECT,
    PREFERS_NO_INTERRUPTIONS_FROM_SYSTEM_ALERTS,
    Interrupter,
    Priority,
    Version,
)
from harness.sim.avfaudio.session import SessionState


def session_priority(session: SessionState) -> Priority:
    """A session CallKit activated has telephony priority [MS-CKA][VOX]; any other, app priority."""
    return Priority.telephony if session.activated_by == "callkit" else Priority.app


def interruption_rule(
    interrupter: Interrupter,
    phase: str,
    session: SessionState,
    *,
    banner_call_style: bool,
    version: Version,
) -> str | None:
    """Whether ``interrupter`` entering ``phase`` (ring, answer, start) interrupts this session."""
    if not session.active:
        return None
    own = session_priority(session)
    if interrupter.priority < own:
        return None
    if interrupter.priority is Priority.app and session.config.mixable:
        return None  # mixable_not_interrupted_by_apps
    if interrupter.interrupts_at == "ring":
        if own is Priority.telephony:
            # A CallKit call is interrupted only when the user answers (Hold & Accept) [TW-VQ].
            return "callkit_hold_accept" if phase == "answer" else None
        if phase == "ring":
            if (
                banner_call_style
                and session.prefers_no_interruptions_from_system_alerts
                and PREFERS_NO_INTERRUPTIONS_FROM_SYSTEM_ALERTS.covers(version)
            ):
                return None
            return interrupter.rule
        return "banner_no_interruptions" if phase == "answer" else None
    return interrupter.rule if phase == interrupter.interrupts_at else None


def activation_error(holders: list[Interrupter], session: SessionState) -> ErrorCode | None:
    """Why setActive(true) fails while these system sources hold the audio, or None."""
    for holder in holders:
        if holder.priority > Priority.app:
            return ErrorCode.siriIsRecording if holder.kind == "siri" else ErrorCode.cannotInterruptOthers
    return None


def route_disconnect_interrupts(session: SessionState, version: Version, used_lost_port: bool) -> bool:
    """iOS 17+: an active Now Playing session whose route went away is interrupted [AP-PIRD]."""
    return (
        used_lost_port
        and session.active
        and session.now_playing
        and session.prefers_interruption_on_route_disconnect
        and PREFERS_INTERRUPTION_ON_ROUTE_DISCONNECT.covers(version)
    )


def ducks_others(session: SessionState) -> bool:
    """duckOthers ducks other audio for as long as the session is active [H27]."""
    return session.active and CategoryOptions.duckOthers in session.config.options


def mic_mute_interrupts(session: SessionState) -> bool:
    """A hardware-muted built-in mic interrupts an active recording session unless it opted out [H27]."""
    return (
        session.active and CategoryOptions.overrideMutedMicrophoneInterruption not in session.config.options
    )


def hint_recipient(session: SessionState, foreground: bool) -> bool:
    """silenceSecondaryAudioHint goes to foreground apps with an active session [H27]."""
    return foreground and session.active


def suspends(session: SessionState, foreground: bool) -> bool:
    """iOS suspends a background app that holds no active session and no CallKit call (inferred)."""
    return not foreground and not session.active and not session.callkit_call_active
