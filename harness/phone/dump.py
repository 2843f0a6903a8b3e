"""Walk one phone through the screens it shows on its own and save each page source and screenshot.

``harness phone survey`` supersedes this: it walks the DUT and a caller through every state the
catalog needs (the calls, the timer, Settings, Music too) and writes a phone profile. The dump stays
for a phone without a second one. It dials nothing: the dial prompt needs a number to call, and
on a real phone that shows no prompt, opening ``tel:`` places the call at once (reference
real-iphone.md H4), so the dial prompt is the survey's (a lab call from the caller to the DUT).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from harness.errors import LabFault, UsageError
from harness.phone.recipes import Match, Phone


@dataclass(frozen=True)
class Screen:
    name: str
    enter: Callable[[Phone], object]
    leave: Callable[[Phone], object]


SCREENS: tuple[Screen, ...] = (
    Screen("home", lambda p: p.home(), lambda p: None),
    Screen("lock-screen", lambda p: p.lock(), lambda p: p.unlock()),
    Screen("control-center", lambda p: p.open_control_center(), lambda p: p.close_control_center()),
    Screen("siri", lambda p: p.siri("what time is it"), lambda p: p.home()),
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
