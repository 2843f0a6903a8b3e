"""The iOS VoIP playbook as data, and each known defect as a change to that data.

A :class:`Playbook` says how the app configures its audio session and which actions it takes on
each notification. The app's handlers only interpret these tables; a defect replaces a table
entry, so its symptoms come out of the same audio path and the same iOS rules as on a phone.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal

Action = Literal[
    "pause",  # stop audio I/O (the session was interrupted)
    "activate_session",  # AVAudioSession.setActive(true)
    "resume",  # restart audio I/O
    "log",  # emit a HARNESS-EVENT line only
]


@dataclass(frozen=True)
class SessionConfig:
    category: str = "playAndRecord"
    mode: str = "voiceChat"
    options: tuple[str, ...] = ("allowBluetoothHFP", "allowBluetoothA2DP", "duckOthers")


@dataclass(frozen=True)
class Playbook:
    """What the app does. Field names are the events; values are the actions taken, in order."""

    session: SessionConfig = field(default_factory=SessionConfig)
    on_interruption_began: tuple[Action, ...] = ("pause",)
    on_interruption_ended_should_resume: tuple[Action, ...] = ("activate_session", "resume")
    on_interruption_ended_without_resume: tuple[Action, ...] = ("log",)
    output_gain_db_after_resume: float = 0.0


@dataclass(frozen=True)
class Defect:
    name: str
    rule: str
    """Id of the playbook rule the defect breaks (:data:`harness.playbook.RULES`)."""
    changes: dict[str, object]

    def apply(self, playbook: Playbook) -> Playbook:
        return replace(playbook, **self.changes)  # type: ignore[arg-type]


CORRECT = Playbook()

DEFECTS: dict[str, Defect] = {
    d.name: d
    for d in (
        Defect(
            "never_resumes",
            "resume-on-should-resume",
            {"on_interruption_ended_should_resume": ("log",)},
        ),
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
