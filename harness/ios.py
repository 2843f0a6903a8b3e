"""The iOS versions the harness supports, and facts about iOS the harness and the virtual lab share.

Every harness part that varies with the iOS version (locator tables, the lab schema's check) keys on
:data:`IOS_VERSIONS`. A phone's full version ("17.5.1") is reduced to its major with :func:`major`.
"""

from __future__ import annotations

IOS_VERSIONS: tuple[int, ...] = (16, 17, 18, 26, 27)
"""Majors the harness supports (its locator tables, the lab schema). Apple jumped from 18 to 26 in
2025. The virtual lab models its own (one phone profile per major: harness.sim.versions)."""

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
