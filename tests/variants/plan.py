"""Which variant values the CI runs show, shared by the variant runs and the defect matrix.

Every value of every variant (``harness sim variants``) is shown by at least one catalog run in
``bin/tests``: the defaults by the defect matrix's runs and the survey's replay run
(tests/cli/test_survey.py), the ``field`` values by the field runs (tests/variants), every other
value at once by the matrix's correct-app run with the app's logging off, the lab
misconfigurations and the Siri line formats by runs of their own.
"""

from __future__ import annotations

from harness.sim import profiles, variants
from harness.sim.variants import catalog

RUNS_IOS = 17
"""The iOS major of the phones a ``harness run`` starts (``harness sim up``'s default, 17.5.1): its
profile sets some defaults (``siri_ui``: SiriViewService on iOS 16 and 17, SpringBoard from 18)."""
FIELD = {name: v.field for name, v in catalog().items()}
DEFAULT = variants.resolve({}, profiles.load(RUNS_IOS).defaults)
SURVEY_REPLAY_IOS = 18
"""The survey's replay run (tests/cli/test_survey.py) runs the catalog on iOS 18.2 phones with their
defaults."""
SURVEY_REPLAY_DEFAULT = variants.resolve({}, profiles.load(SURVEY_REPLAY_IOS).defaults)
MISCONFIGURATIONS = {"live_voicemail": "holds", "passcode": "on"}
"""Values a lab's prepare list rules out (harness doctor checks them): each must be a lab fault."""
SIRI_LINES = {"never_resumes": "harness", "ignores_should_resume": "sid-only"}
"""Audio daemon line formats the Siri defects run with under field (field itself has none)."""


def other_values() -> dict[str, str]:
    """For each variant, its first value that is neither the default of the runs' phones, the field
    value, a lab misconfiguration nor a Siri defect's line: one catalog run covers them all."""
    out = {}
    for name, v in catalog().items():
        siri_lines = SIRI_LINES.values() if name == "audio_daemon_line" else ()
        rest = [x for x in v.values if x not in (DEFAULT[name], v.field, MISCONFIGURATIONS.get(name))
                and x not in siri_lines]
        if rest:
            out[name] = rest[0]
    return out


def variant_args(values: dict[str, str]) -> list[str]:
    """``harness run`` arguments choosing ``values`` on the virtual lab."""
    return [a for name, value in sorted(values.items()) for a in ("--sim-variant", f"{name}={value}")]


CORRECT_APP_VARIANTS = {"off": other_values()}
"""The defect matrix's correct-app run: the app's logging off, every other value at once. The
correct app with its logging on runs the whole catalog elsewhere in ``bin/tests``, so the matrix
does not repeat it (CI's time): on the default variants replaying a survey's profile
(tests/cli/test_survey.py) and on ``field`` (tests/variants)."""
