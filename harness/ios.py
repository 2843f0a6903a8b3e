"""The one table of iOS versions the harness and the virtual lab model.

Every part that varies with the iOS version (notification payloads, SpringBoard identifiers, the
lab's defaults) keys on :data:`IOS_VERSIONS`. A lab phone's full version ("17.5.1") is reduced to
its major with :func:`major`.
"""

from __future__ import annotations

IOS_VERSIONS: tuple[int, ...] = (16, 17, 18, 26, 27)
"""Majors modelled by the virtual lab. Apple jumped from 18 to 26 in 2025."""

DEFAULT_VERSIONS: dict[int, str] = {16: "16.7.10", 17: "17.5.1", 18: "18.2", 26: "26.1", 27: "27.0"}
"""A representative full version per major, used when a lab file names only the major."""


def major(version: str) -> int:
    """``"17.5.1"`` -> 17. Raises ValueError naming the bad string."""
    head = str(version).strip().split(".", 1)[0]
    if not head.isdigit():
        raise ValueError(f"not an iOS version: {version!r} (expected e.g. '17.5')")
    return int(head)


def parse(version: str) -> tuple[int, ...]:
    """``"17.5.1"`` -> (17, 5, 1), for ordered comparisons such as ``>= (14, 5)``."""
    try:
        return tuple(int(p) for p in str(version).strip().split("."))
    except ValueError:
        raise ValueError(f"not an iOS version: {version!r} (expected e.g. '17.5')") from None


def full_version(version: str) -> str:
    """A lab may say ``18``; the virtual lab needs a full version string."""
    v = str(version).strip()
    if "." in v:
        return v
    m = major(v)
    if m not in DEFAULT_VERSIONS:
        raise ValueError(f"iOS {v} is not modelled; choose one of {', '.join(map(str, IOS_VERSIONS))}")
    return DEFAULT_VERSIONS[m]


DEVELOPER_SERVICES: frozenset[str] = frozenset({
    "com.apple.instruments.remoteserver",
    "com.apple.instruments.remoteserver.DVTSecureSocketProxy",
    "com.apple.testmanagerd.lockdown",
    "com.apple.testmanagerd.lockdown.secure",
    "com.apple.mobile.screenshotr",
    "com.apple.debugserver",
    "com.apple.debugserver.DVTSecureSocketProxy",
})
"""Lockdown services that need Developer Mode and a mounted developer disk image (on iOS 17+ also
an RSD tunnel): lockdownd answers InvalidService for them otherwise."""


# -- the audio daemon -------------------------------------------------------------------------------
# On iOS 17+ the audio daemon logs as ``audiomxd`` (earlier: ``mediaserverd``), verbatim in public
# device logs (../shared/reference/real-ios-evidence.md Q3.1). What it logs about an interruption
# it posts to a client is not public: the pattern the verdicts read lives in
# harness.verdicts.system_log (the harness's guess) or a lab's verified system_log.

SYSTEM_AUDIO_PROCESS = "audiomxd"
