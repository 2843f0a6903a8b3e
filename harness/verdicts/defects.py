"""The public catalog of app defects the scenarios catch: each defect's name, the playbook rule it
breaks, and what a user would notice.

A scenario declares what it catches with ``@pytest.mark.catches("never_resumes", ...)`` (names from
here; an unknown name is a usage error at collection). The virtual lab's voice app can switch each
defect on (``harness run --defect NAME``); how a defect changes that app is the virtual lab's
business (harness/sim/voiceapp/playbook.py), never read here: the defect matrix checks that every
declaring scenario fails naming :attr:`Defect.rule`.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.errors import UsageError


@dataclass(frozen=True)
class Defect:
    name: str
    rule: str
    """Id of the playbook rule the defect breaks (:data:`harness.verdicts.playbook.RULES`)."""
    symptom: str


DEFECTS: dict[str, Defect] = {
    d.name: d
    for d in (
        Defect("no_a2dp_option", "a2dp-option",
               "an A2DP-only speaker is never used: audio stays on the receiver"),
        Defect("default_mode", "session-mode", "no voice processing: the uplink carries the downlink's echo"),
        Defect("ignores_should_resume", "honour-should-not-resume", "resumes after Siri said not to"),
        Defect("never_resumes", "resume-on-should-resume",
               "stays silent after an interruption that said shouldResume"),
        Defect("no_ice_recheck", "ice-recheck",
               "after an interruption longer than ICE consent the call is dead"),
        Defect("leaks_to_speaker", "no-speaker-leak",
               "call audio comes out of the speaker after an interruption or when a headset goes away"),
        Defect("activates_under_callkit", "callkit-owns-activation",
               "a self-activated CallKit session has app priority: a timer or Siri interrupts the call"),
        Defect("no_duck_others", "duck-others", "other audio is interrupted instead of ducked"),
        Defect("no_notify_on_deactivate", "notify-on-deactivate",
               "audio the call interrupted does not come back when the call ends"),
        Defect("no_media_reset_recovery", "media-reset-recovery", "silent after a media services reset"),
        Defect("quiet_after_resume", "level-after-resume", "resumes 30 dB down"),
    )
}


def known_defect(name: str, what: str = "--defect") -> Defect:
    """The catalog entry, or a UsageError listing the known defects."""
    try:
        return DEFECTS[name]
    except KeyError:
        known = ", ".join(sorted(DEFECTS))
        raise UsageError(f"{what} {name!r} is not a known defect; known defects: {known}") from None
