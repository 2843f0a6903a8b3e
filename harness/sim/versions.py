"""The iOS versions the virtual lab models: one phone profile per major (``harness/sim/profiles``).

The sim keeps this apart from ``harness.ios`` (the harness's own table and its system-log pattern):
the virtual phone must not be built from what the harness expects (an import-linter contract).
Which majors exist, and the representative full version of each, is the profiles' data.
"""

from __future__ import annotations

from harness.sim import profiles


def modelled() -> tuple[int, ...]:
    """The majors with a phone profile, ascending (Apple jumped from 18 to 26 in 2025)."""
    return profiles.majors()


def parse(version: str) -> tuple[int, ...]:
    """``"17.5.1"`` -> (17, 5, 1); ValueError naming the bad string."""
    try:
        return tuple(int(p) for p in str(version).strip().split("."))
    except ValueError:
        raise ValueError(f"not an iOS version: {version!r} (expected e.g. '17.5')") from None


def major(version: str) -> int:
    return parse(version)[0]


def full_version(version: str) -> str:
    """A lab may say ``18``: the profile's representative version ("18.2"); ValueError for a major
    without a profile."""
    v = str(version).strip()
    m = major(v)
    if m not in modelled():
        raise ValueError(f"iOS {v} is not modelled; choose one of {', '.join(map(str, modelled()))}")
    return v if "." in v else profiles.load(m).version
