"""Walk a phone through each screen the recipes use and save its page source and screenshot.

The recipes' identifiers for Siri, Control Center, Clock and the dial confirmation are partly
unverified (see :mod:`harness.phone.locators`); a dump from a real phone on each iOS version is
how they get replaced by observed ones. A step whose recipe misses still saves what the screen
showed, so the dump is most useful exactly where a recipe fails.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from harness.errors import LabFault, UsageError
from harness.phone.recipes import Match, Phone

PROBE_NUMBER = "+15550000000"  # dialled only up to the "Call ...?" confirmation, then cancelled


@dataclass(frozen=True)
class Screen:
    name: str
    enter: Callable[[Phone], object]
    leave: Callable[[Phone], object]


def _dial_prompt(phone: Phone) -> None:
    phone.wda.session_id()
    phone.wda.call("open url", phone.wda.client.open_url, f"tel:{PROBE_NUMBER}")


def _dismiss(phone: Phone) -> None:
    try:
        phone.wda.call("alert dismiss", phone.wda.client.alert.dismiss)
    except Exception:
        pass
    phone.home()


SCREENS: tuple[Screen, ...] = (
    Screen("home", lambda p: p.home(), lambda p: None),
    Screen("lock-screen", lambda p: p.lock(), lambda p: p.unlock()),
    Screen("control-center", lambda p: p.open_control_center(), lambda p: p.close_control_center()),
    Screen("siri", lambda p: p.siri("what time is it"), lambda p: p.home()),
    Screen("dial-confirmation", _dial_prompt, _dismiss),
)


def dump(
    phone: Phone, out_dir: str | Path, screens: tuple[Screen, ...] = SCREENS
) -> list[tuple[str, str, Path]]:
    """Visit each screen; returns (screen, "ok" or the miss, screenshot path) per screen."""
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out}: exists and is not a folder")
    phone.artifacts = out
    rows: list[tuple[str, str, Path]] = []
    for screen in screens:
        status = "ok"
        try:
            matched = screen.enter(phone)
            if isinstance(matched, Match):
                phone.focus_on(matched)
        except LabFault as exc:
            status = f"recipe missed: {str(exc).splitlines()[0][:100]}"
        png, _xml = phone.save_evidence(f"{phone.ios_version}-{screen.name}")
        rows.append((screen.name, status, png))
        try:
            screen.leave(phone)
        except LabFault:
            phone.home()
    return rows
