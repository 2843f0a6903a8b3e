"""The iOS versions the virtual lab models: one phone profile per major (``harness/sim/profiles``).

Which majors the virtual lab models, and the representative full version of each, is the profiles'
data, not the harness's table of the majors it supports (``harness.ios.IOS_VERSIONS``): the virtual
phone must not be built from what the harness expects. Reading a version string is the same
everywhere (``harness.ios.parse``).
"""

from __future__ import annotations

from harness.ios import major, parse
from harness.sim import profiles

__all__ = ["full_version", "major", "modelled", "parse"]


def modelled() -> tuple[int, ...]:
    """The majors with a phone profile, ascending (Apple jumped from 18 to 26 in 2025)."""
    return profiles.majors()


def full_version(version: str) -> str:
    """A lab may say ``18``: the profile's representative version ("18.2"); ValueError for a major
    without a profile."""
    v = str(version).strip()
    m = major(v)
    if m not in modelled():
        raise ValueError(f"iOS {v} is not modelled; choose one of {', '.join(map(str, modelled()))}")
    return v if "." in v else profiles.load(m).version
