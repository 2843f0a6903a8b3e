"""The iOS VoIP playbook: the rules an app must follow, by id, in the app's terms.

Verdicts name the rule an app broke (``AppFailure(rule=...)``); the virtual lab's defects name the
rule they break with the same ids, so the defect matrix can check that each defect is caught by
the right assertion. Sources: ../shared/reference/ios-audio.md.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Rule:
    id: str
    text: str


RULES: dict[str, Rule] = {
    r.id: r
    for r in (
        Rule("session-category", "configure the session as playAndRecord"),
        Rule("session-mode", "use mode voiceChat (voice processing: no downlink echo in the uplink)"),
        Rule("hfp-option", "allow Bluetooth HFP (allowBluetooth): a headset carries the call"),
        Rule("a2dp-option", "allow Bluetooth A2DP output (allowBluetoothA2DP)"),
        Rule("duck-others", "duck other audio while the call is active (duckOthers)"),
        Rule("pause-on-began", "pause audio when an interruption begins"),
        Rule("resume-on-should-resume", "resume audio when an interruption ends with shouldResume"),
        Rule("honour-should-not-resume", "stay paused when an interruption ends without shouldResume"),
        Rule("callkit-owns-activation", "let CallKit activate the session (no setActive under CallKit)"),
        Rule("ice-recheck", "re-check ICE (a fresh session, same token) after a long interruption"),
        Rule("no-speaker-leak",
             "never play call audio on the speaker after an interruption or a lost headset (HIPAA)"),
        Rule("notify-on-deactivate", "deactivate with notifyOthersOnDeactivation at the end of a call"),
        Rule("media-reset-recovery", "re-create audio objects after a media services reset"),
        Rule("level-after-resume", "resume at the level the call had before the interruption"),
    )
}


def rule(rule_id: str) -> Rule:
    try:
        return RULES[rule_id]
    except KeyError:
        raise KeyError(f"unknown playbook rule {rule_id!r}; known: {', '.join(RULES)}") from None
