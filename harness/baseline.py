"""The lab's baseline: the state every phone is brought to before a scenario, then checked.

No call, no Siri or alert, no timer ringing, no other audio, no Bluetooth accessory on, unlocked,
home screen in front, the app under test not running. A phone that will not reach it is a lab
fault (tag ``baseline``): the scenario never starts on a phone in an unknown state, so nothing a
previous test left behind can be blamed on the app.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from harness.errors import LabFault
from harness.phone import Phone
from harness.phone.locators import SPRINGBOARD


def reset(phone: Phone, app_bundle: str | None = None, accessories: Iterable[Any] = ()) -> list[str]:
    """Bring ``phone`` to the baseline and verify it; returns what had to be undone."""
    undone: list[str] = []
    if phone.locked():
        phone.unlock()
        undone.append("locked")
    if phone.in_call():
        try:
            phone.end_call(timeout=3.0)
        except LabFault:
            phone.decline_call(timeout=3.0)
        undone.append("call")
    phone.home()  # dismisses Siri, Control Center and the in-call screen
    if phone.timer_ringing():
        phone.stop_timer(timeout=3.0)
        undone.append("timer")
    if phone.stop_other_audio():
        undone.append("other-audio")
    if app_bundle and phone.app_state(app_bundle) > 1:
        phone.terminate_app(app_bundle)
        undone.append("app")
    for accessory in accessories:
        accessory.power_off()
    phone.home()
    _verify(phone, app_bundle)
    return undone


def _verify(phone: Phone, app_bundle: str | None) -> None:
    problems = []
    if phone.locked():
        problems.append("still locked")
    if phone.in_call():
        problems.append("still in a call")
    front = phone.foreground_app()
    if front != SPRINGBOARD:
        problems.append(f"{front} in front, not the home screen")
    if app_bundle and phone.app_state(app_bundle) > 1:
        problems.append(f"{app_bundle} still running")
    if problems:
        raise LabFault(f"{phone.name} did not reach the lab's baseline: {'; '.join(problems)}",
                       tag="baseline")
