"""Which variant values the CI runs show, shared by the variant runs and the defect matrix.

Every value of every variant (``harness sim variants``) is shown by at least one catalog run in
``bin/tests``: the defaults by the defect matrix's runs and the survey's replay run
(tests/cli/test_survey.py), the ``field`` values by the field runs (tests/variants), every other
value at once by the matrix's correct-app run with the app's logging off, the lab
misconfigurations and the Siri line formats by runs of their own.
"""

from __future__ import annotations

from harness.sim.variants import catalog

FIELD = {name: v.field for name, v in catalog().items()}
DEFAULT = {name: v.default for name, v in catalog().items()}
MISCONFIGURATIONS = {"live_voicemail": "holds", "passcode": "on"}
"""Values a lab's prepare list rules out (harness doctor checks them): each must be a lab fault."""
SIRI_LINES = {"never_resumes": "harness", "ignores_should_resume": "sid-only"}
"""Audio daemon line formats the Siri defects run with under field (field itself has none)."""


def other_values() -> dict[str, str]:
    """For each variant, its first value that is neither the default, the field value, a lab
    misconfiguration nor a Siri defect's line: one catalog run covers them all."""
    out = {}
    for name, v in catalog().items():
        rest = [x for x in v.values if x not in (v.default, v.field, MISCONFIGURATIONS.get(name))
                and x not in SIRI_LINES.values()]
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
