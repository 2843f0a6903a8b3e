"""The app contract: what a test build of the app under test reads and shows, by name.

The app reads its WHIP URL and token (and optionally the CallKit switch) from the launch
environment WebDriverAgent passes; it has two buttons the harness taps by accessibility id; it may
write os_log lines with one prefix that the timeline shows (verdicts never need them). The README's
"The app contract" section is the prose for the same names; the virtual lab's voice app reads them
from here.
"""

from __future__ import annotations

WHIP_URL_ENV = "HARNESS_WHIP_URL"
"""Launch environment: the lab's WHIP endpoint (RFC 9725) the app publishes to and plays from."""
WHIP_TOKEN_ENV = "HARNESS_WHIP_TOKEN"
"""Launch environment: the bearer token, the call's identity (a fresh session after a long
interruption reuses it)."""
CALLKIT_ENV = "HARNESS_CALLKIT"
"""Launch environment: ``"1"`` starts the call through CallKit (iOS then owns the activation)."""

SPEAKER_BUTTON = "speakerButton"
"""Accessibility id of the in-app button that toggles the loudspeaker (overrideOutputAudioPort)."""
END_CALL_BUTTON = "endCallButton"
"""Accessibility id of the in-app button that ends the call (stop I/O, then
setActive(false, .notifyOthersOnDeactivation))."""

APP_EVENT_PREFIX = "HARNESS-EVENT "
"""Optional os_log lines ``HARNESS-EVENT <name> key=value ...`` become ``app-event`` timeline events."""


def launch_env(url: str, token: str, *, callkit: bool = False) -> dict[str, str]:
    """The launch environment that points the app at one call of the lab's peer."""
    env = {WHIP_URL_ENV: url, WHIP_TOKEN_ENV: token}
    if callkit:
        env[CALLKIT_ENV] = "1"
    return env
