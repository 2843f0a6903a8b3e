"""Where each recipe looks, in order: identifiers differ across iOS versions and are partly unverified.

A locator is one way to find the thing a recipe acts on (a facebook-wda selector, or an alert
button) plus the gesture that acts on it. Locators known to belong to a range of iOS versions
are tried first on those versions; the others follow, so a renamed identifier still falls back.
``harness phone dump`` on real phones is how "unverified" entries get replaced by observed ones.

Every ``source`` names the public evidence for the locator (sections of
reference/real-ios-evidence.md, "REV Qn") or says unverified. These tables are written from that
evidence only, never from the virtual lab's phone profiles (``harness/sim/profiles``): a recipe
passes on the virtual lab only if it finds what the profile shows.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

UNVERIFIED = "unverified"
HELPER = ("krishvios/signvios ntouch-UITests/UI.swift (REV Q1.1): iOS<18 springboard.buttons"
          "[Accept/Decline], iOS>=18 InCallService buttons[acceptCall/rejectCall]; one production data point")
FOLLOW_UP = ("krishvios/signvios UI.swift (REV Q1.1): after acceptCall on iOS 18 it taps springboard.buttons"
             "[\"Accept\"]; the 'double CallKit window' retry taps Accept again (EnduranceTests.swift)")
ANSWER_LABELS = "REV Q1.4 (unattributed excerpts, weak): newer suites match Accept, Answer or Answer call"
PROMPT = ("Apple Phone Links + openradar 35247480 (REV Q2): iOS 10.3+ asks before an app dials, buttons "
          "Cancel/Call; whether WDA's /url (XCTest) prompts is unknown, so the prompt is optional")
PROMPT_SB = ("beepscore/Phoney (REV Q1.3, iOS 11 era): springboardApp.buttons[\"Call\"] after an app "
             "opens tel:")
END_SRC = ("beepscore/Phoney (REV Q1.3, iOS 11 era): springboardApp.buttons[\"End call\"]; iOS 18/26 label "
           "key end.call")
SLIDER_SRC = ("iOS 18.2 decompile PHActionSliderAccessibility.m (REV Q1.2): one element labelled with its "
              "track text; the text 'slide to answer' is unverified")
TIMER_SRC = ("Klevin-G/BrassTune and AlarmKit excerpts (REV Q5): springboard.buttons[\"Stop\"]; "
             "presentation unknown")
SIRI_SRC = ("REV Q6: the legacy Siri UI is com.apple.SiriViewService (app tables; XCUISiriService "
            "_usesLegacySiriViewService); no page source of the overlay: labels unverified")
SETTINGS_SRC = ("dryark/stf_ios_support wda.go (REV Q4): elements by name Developer / Reset Media Services, "
                "scrolled toVisible before the click")
RESET_SHEET_SRC = ("iOS 18.2/26.1 decompile DTSettings showResetMediaServices (REV Q4): an action sheet with "
                   "the reset action and Cancel; the action's English title is unverified (matched by "
                   "'reset')")

TAP, SLIDE, POWER_TWICE = "tap", "slide", "power-twice"
SPRINGBOARD, IN_CALL_SERVICE = "com.apple.springboard", "com.apple.InCallService"
SIRI_VIEW_SERVICE = "com.apple.SiriViewService"


@dataclass(frozen=True)
class Locator:
    """``selector`` is facebook-wda ``Selector`` keywords; ``alert_button`` a label for ``alert.click``."""

    label: str
    selector: Mapping[str, Any] = field(default_factory=dict)
    alert_button: str | None = None
    gesture: str = TAP
    ios: tuple[int, int] = (0, 999)
    source: str = UNVERIFIED
    app: str | None = None
    """Search this app (WDA's ``defaultActiveApplication``) instead of the auto-detected active app:
    system overlays that do not cover WDA's detection point (Siri, a banner) are otherwise invisible."""

    def applies_to(self, ios_major: int) -> bool:
        return self.ios[0] <= ios_major <= self.ios[1]


def ordered(locators: tuple[Locator, ...], ios_major: int) -> list[Locator]:
    """The locators for this version first (in table order), then the rest (in table order)."""
    first = [loc for loc in locators if loc.applies_to(ios_major)]
    return first + [loc for loc in locators if not loc.applies_to(ios_major)]


def _button(label_op: str, text: str) -> dict[str, str]:
    return {"predicate": f"type == 'XCUIElementTypeButton' AND label {label_op} '{text}'"}


ANSWER_CALL: tuple[Locator, ...] = (
    Locator("InCallService id=acceptCall", {"id": "acceptCall"}, ios=(18, 999), source=HELPER),
    Locator(
        "SpringBoard button name=Accept",
        {"name": "Accept", "className": "Button"},
        ios=(0, 17),
        source=HELPER,
    ),
    Locator("button label BEGINSWITH Accept", _button("BEGINSWITH", "Accept"), source=HELPER),
    Locator("slider 'slide to answer' (locked)", {"predicate": "label == 'slide to answer'"}, gesture=SLIDE,
            source=SLIDER_SRC),
    Locator("InCallService (forced) id=acceptCall", {"id": "acceptCall"}, app=IN_CALL_SERVICE, source=HELPER),
    Locator(
        "SpringBoard (forced) name=Accept",
        {"name": "Accept", "className": "Button"},
        app=SPRINGBOARD,
        source=HELPER,
    ),
    Locator(
        "InCallService (forced) button label Answer",
        {"predicate": "type == 'XCUIElementTypeButton' AND (label == 'Answer' OR label == 'Answer call')"},
        app=IN_CALL_SERVICE,
        source=ANSWER_LABELS,
    ),
)

FOLLOW_UP_ACCEPT: tuple[Locator, ...] = (
    Locator(
        "SpringBoard (forced) follow-up name=Accept",
        {"name": "Accept", "className": "Button"},
        app=SPRINGBOARD,
        source=FOLLOW_UP,
    ),
    Locator("InCallService (forced) follow-up id=acceptCall", {"id": "acceptCall"}, app=IN_CALL_SERVICE,
            source=FOLLOW_UP),
    Locator("follow-up button label BEGINSWITH Accept", _button("BEGINSWITH", "Accept"), source=FOLLOW_UP),
)
"""A second Accept after the first tap ("double CallKit window"): tapped when it shows."""

DECLINE_CALL: tuple[Locator, ...] = (
    Locator("InCallService id=rejectCall", {"id": "rejectCall"}, ios=(18, 999), source=HELPER),
    Locator(
        "SpringBoard button name=Decline",
        {"name": "Decline", "className": "Button"},
        ios=(0, 17),
        source=HELPER,
    ),
    Locator("button label BEGINSWITH Decline", _button("BEGINSWITH", "Decline"), source=HELPER),
    Locator("InCallService (forced) id=rejectCall", {"id": "rejectCall"}, app=IN_CALL_SERVICE, source=HELPER),
    Locator(
        "SpringBoard (forced) name=Decline",
        {"name": "Decline", "className": "Button"},
        app=SPRINGBOARD,
        source=HELPER,
    ),
    Locator(
        "side button twice (locked: no Decline button)",
        {"predicate": "label == 'slide to answer'"},
        gesture=POWER_TWICE,
        source="iOS behaviour (inference): the side button silences, a second press declines",
    ),
)

END_CALL: tuple[Locator, ...] = (
    Locator("button name='End call'", {"name": "End call", "className": "Button"}, source=END_SRC),
    Locator(
        "button label CONTAINS[c] 'end call'",
        {"predicate": "type == 'XCUIElementTypeButton' AND label CONTAINS[c] 'end call'"},
        source=END_SRC,
    ),
    Locator("id=endCall", {"id": "endCall"}),
)

CONFIRM_DIAL: tuple[Locator, ...] = (
    Locator("alert button Call", alert_button="Call", source=PROMPT),
    Locator("alert button FaceTime Audio", alert_button="FaceTime Audio"),
    Locator("button name=Call", {"name": "Call", "className": "Button"}, source=PROMPT_SB),
    Locator("SpringBoard (forced) button name=Call", {"name": "Call", "className": "Button"}, app=SPRINGBOARD,
            source=PROMPT_SB),
)
"""The "Call ...?" confirmation: optional (the recipe taps it only if it shows before the call does)."""

IN_CALL: tuple[Locator, ...] = END_CALL
"""The in-call screen is up when its End button is."""

CONTROL_CENTER_SRC = "ControlCenterView: appium-xcuitest-driver test, iOS 11-12 era (reference/wda.md §6)"

SIRI_SHOWN: tuple[Locator, ...] = (
    Locator("SpringBoard Siri overlay name=Siri", {"name": "Siri"}, app=SPRINGBOARD),
    Locator("SiriViewService (forced) name=Siri", {"name": "Siri"}, app=SIRI_VIEW_SERVICE, source=SIRI_SRC),
    Locator("Siri overlay name=Siri (auto-detected app)", {"name": "Siri"}),
    Locator(
        "SpringBoard label CONTAINS[c] 'siri'", {"predicate": "label CONTAINS[c] 'siri'"}, app=SPRINGBOARD
    ),
    Locator("SiriViewService (forced) label CONTAINS[c] 'siri'", {"predicate": "label CONTAINS[c] 'siri'"},
            app=SIRI_VIEW_SERVICE, source=SIRI_SRC),
)
"""Siri's UI, if XCTest sees it: the recipe records a miss here instead of failing once WDA's
/wda/siri/activate answered (the UI may live in a process XCTest does not list, REV Q6)."""

CONTROL_CENTER: tuple[Locator, ...] = (
    Locator("id=ControlCenterView", {"id": "ControlCenterView"}, source=CONTROL_CENTER_SRC),
    Locator("Bluetooth module visible", {"name": "Bluetooth", "className": "Button"}),
)

CC_ROUTE_PICKER: tuple[Locator, ...] = (
    Locator("button name=AirPlay", {"name": "AirPlay", "className": "Button"}),
    Locator("button label CONTAINS[c] 'airplay'", _button("CONTAINS[c]", "airplay")),
)

CC_BLUETOOTH: tuple[Locator, ...] = (
    Locator("button name=Bluetooth", {"name": "Bluetooth", "className": "Button"}),
    Locator("button label CONTAINS[c] 'bluetooth'", _button("CONTAINS[c]", "bluetooth")),
)


def route_row(name: str) -> tuple[Locator, ...]:
    """A row of the route picker by the route's name (e.g. "Speaker", an accessory's name)."""
    quoted = name.replace("'", "\\'")
    return (
        Locator(f"button name={name!r}", {"name": name, "className": "Button"}),
        Locator(f"button label BEGINSWITH {name!r}", _button("BEGINSWITH", quoted)),
    )


ALLOW_BUTTONS: tuple[str, ...] = ("Allow", "OK", "Allow While Using App", "Allow Once")
"""Labels of a permission prompt's accepting button (unverified per version; the first present wins)."""

TIMER_STOP: tuple[Locator, ...] = (
    Locator("alert button Stop", alert_button="Stop", source=TIMER_SRC),
    Locator("SpringBoard button name=Stop", {"name": "Stop", "className": "Button"}, app=SPRINGBOARD,
            source=TIMER_SRC),
    Locator("button name=Stop (auto-detected app)", {"name": "Stop", "className": "Button"},
            source=TIMER_SRC),
    Locator("SpringBoard (forced) label == 'Stop' (any type: a Live Activity)",
            {"predicate": "label == 'Stop'"}, app=SPRINGBOARD),
)
"""The timer's Stop, as an alert, a banner or a Live Activity (REV Q5: only springboard.buttons["Stop"]
has a source)."""

SETTINGS_BUNDLE = "com.apple.Preferences"

SETTINGS_BLUETOOTH: tuple[Locator, ...] = (
    Locator("Settings cell id=com.apple.settings.bluetooth", {"id": "com.apple.settings.bluetooth"}),
    Locator(
        "Settings cell label=Bluetooth",
        {"predicate": "type == 'XCUIElementTypeCell' AND label == 'Bluetooth'"},
    ),
    Locator("Settings name=Bluetooth", {"name": "Bluetooth", "className": "Cell"}, source=SETTINGS_SRC),
)


def bluetooth_row(name: str) -> tuple[Locator, ...]:
    """A device row of Settings > Bluetooth by the accessory's name."""
    quoted = name.replace("'", "\\'")
    return (
        Locator(f"cell name={name!r}", {"name": name, "className": "Cell"}),
        Locator(
            f"cell label BEGINSWITH {name!r}",
            {"predicate": f"type == 'XCUIElementTypeCell' AND label BEGINSWITH '{quoted}'"},
        ),
    )


BT_INFO_LABEL = "More Info"
"""The (i) button of a device row in Settings > Bluetooth: UIKit's label for an info button, as public
XCUITest code queries it (``app.buttons["More Info"]``); not yet seen on Settings itself."""
BT_DISCONNECT_LABEL = "Disconnect"
BT_CONNECTED_VALUE = "Connected"
BT_PAGE = ("Settings > Bluetooth > (i) > Disconnect, shown only while connected (osxdaily.com 2015-12-11, "
           "cultofmac.com 387278); element types unverified")


def bluetooth_info(name: str, label: str = BT_INFO_LABEL) -> tuple[Locator, ...]:
    """The (i) button in the Settings > Bluetooth row of ``name``: it opens the device's page."""
    cell = f'**/XCUIElementTypeCell[`label BEGINSWITH "{_chain_quote(name)}"`]'
    return (
        Locator(f"row {name!r} button {label!r}",
                {"classChain": f'{cell}/**/XCUIElementTypeButton[`label == "{_chain_quote(label)}"`]'},
                source=BT_PAGE),
        Locator(f"row {name!r} its only button", {"classChain": f"{cell}/**/XCUIElementTypeButton"},
                source=BT_PAGE),
    )


def bluetooth_disconnect(label: str = BT_DISCONNECT_LABEL) -> tuple[Locator, ...]:
    """The device page's Disconnect (a button or a cell: unverified which)."""
    quoted = label.replace("'", "\\'")
    return tuple(
        Locator(f"{kind.lower()} label={label!r}",
                {"predicate": f"type == 'XCUIElementType{kind}' AND label == '{quoted}'"}, source=BT_PAGE)
        for kind in ("Button", "Cell", "StaticText")
    )


def _chain_quote(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


MUSIC_BUNDLE = "com.apple.Music"

SETTINGS_DEVELOPER: tuple[Locator, ...] = (
    Locator("Settings cell id=com.apple.settings.developer", {"id": "com.apple.settings.developer"}),
    Locator(
        "Settings cell label=Developer",
        {"predicate": "type == 'XCUIElementTypeCell' AND label == 'Developer'"},
        source=SETTINGS_SRC,
    ),
)
"""Settings > Developer: far down the root list (RIP H5), so the recipe scrolls to it."""

RESET_MEDIA_SERVICES: tuple[Locator, ...] = (
    Locator("button name='Reset Media Services'", {"name": "Reset Media Services"}, source=SETTINGS_SRC),
    Locator("label CONTAINS[c] 'reset media'", {"predicate": "label CONTAINS[c] 'reset media'"},
            source="Apple mediaServicesWereResetNotification docs (REV Q4): the row is 'Reset Media "
                   "Services'"),
)

RESET_CONFIRM: tuple[Locator, ...] = (
    Locator(
        "sheet button label CONTAINS[c] 'reset'",
        {"classChain": "**/XCUIElementTypeSheet/**/XCUIElementTypeButton[`label CONTAINS[c] 'reset'`]"},
        source=RESET_SHEET_SRC,
    ),
)
"""The action sheet after the Reset Media Services row (iOS 18.2/26.1; older recipes tapped none)."""

RESET_CANCEL: tuple[Locator, ...] = (
    Locator(
        "sheet button label == 'Cancel'",
        {"classChain": "**/XCUIElementTypeSheet/**/XCUIElementTypeButton[`label == 'Cancel'`]"},
        source="iOS 18.2/26.1 decompile DTSettings showResetMediaServices (REV Q4): a Cancel action "
               "(RESET_CONFIRMATION_CANCEL); its English text is unverified",
    ),
    Locator("alert button Cancel", alert_button="Cancel",
            source="REV Q4: the sheet's Cancel, through WDA's alert API (it lists a sheet's buttons too)"),
)
"""The sheet's Cancel: what ``harness phone survey`` taps on a real phone (it records the sheet and
resets nothing unless asked)."""

MUSIC_PAUSE: tuple[Locator, ...] = (
    Locator("Music button name=Pause", {"name": "Pause", "className": "Button"}),
    Locator("Music button label CONTAINS[c] 'pause'", _button("CONTAINS[c]", "pause")),
)

MUSIC_PLAY: tuple[Locator, ...] = (
    Locator("Music button name=Play", {"name": "Play", "className": "Button"}),
    Locator("Music button label CONTAINS[c] 'play'", _button("CONTAINS[c]", "play")),
)


APP_CONTRACT = "the app contract (README: Point it at your lab)"


def app_element(identifier: str) -> tuple[Locator, ...]:
    """One of the app's own controls by its accessibility identifier (``speakerButton``...)."""
    return (
        Locator(f"id={identifier}", {"id": identifier}, source=APP_CONTRACT),
        Locator(f"button name={identifier}", {"name": identifier, "className": "Button"},
                source=APP_CONTRACT),
    )


RECIPES: dict[str, tuple[Locator, ...]] = {
    "answer_call": ANSWER_CALL,
    "follow_up_accept": FOLLOW_UP_ACCEPT,
    "decline_call": DECLINE_CALL,
    "end_call": END_CALL,
    "confirm_dial": CONFIRM_DIAL,
    "siri_shown": SIRI_SHOWN,
    "timer_stop": TIMER_STOP,
    "control_center": CONTROL_CENTER,
    "cc_route_picker": CC_ROUTE_PICKER,
    "cc_bluetooth": CC_BLUETOOTH,
    "settings_bluetooth": SETTINGS_BLUETOOTH,
    "settings_developer": SETTINGS_DEVELOPER,
    "reset_media_services": RESET_MEDIA_SERVICES,
    "reset_confirm": RESET_CONFIRM,
    "reset_cancel": RESET_CANCEL,
    "music_play": MUSIC_PLAY,
    "music_pause": MUSIC_PAUSE,
}
"""The recipe tables by name (the lab schema's ``RECIPE_TABLES``): what a lab file's ``locators:`` adds
to (its locators are tried first)
and what ``harness doctor --profile`` checks against a phone's observed screens. The in-call screen
is found by ``end_call``'s table. Tables built per call (a route's row, a Bluetooth row, an app's
element) are not here: their identifiers come from the lab file already."""

def _same_names() -> None:
    from harness.lab.schema import RECIPE_TABLES

    assert tuple(RECIPES) == RECIPE_TABLES, "the lab schema's RECIPE_TABLES must name these tables"


_same_names()

SELECTOR_KEYS = ("id", "name", "className", "predicate", "classChain")
"""The facebook-wda Selector keywords a lab locator may use (wda/__init__.py Selector)."""
GESTURES = (TAP, SLIDE, POWER_TWICE)


def lab_tables(specs: Mapping[str, Any]) -> dict[str, tuple[Locator, ...]]:
    """A lab file's ``locators:`` (``Lab.locator_specs()``) as the recipes take them
    (``Phone(locators=...)``)."""
    return {recipe: tuple(lab_locator(recipe, spec) for spec in entries) for recipe, entries in specs.items()}


def lab_locator(recipe: str, spec: Mapping[str, Any]) -> Locator:
    """One ``locators:`` entry of a lab file as a :class:`Locator` (the lab schema checked it):
    ``{predicate: "...", app: com.apple.InCallService, source: "survey iPhone15,4 22C152 2026-08-30"}``."""
    selector = {k: spec[k] for k in SELECTOR_KEYS if spec.get(k) is not None}
    what = spec.get("alert_button") or "; ".join(f"{k}={v}" for k, v in selector.items())
    where = f" in {spec['app']}" if spec.get("app") else ""
    return Locator(
        str(spec.get("label") or f"lab: {what}{where}"),
        selector,
        alert_button=spec.get("alert_button"),
        gesture=str(spec.get("gesture") or TAP),
        ios=tuple(spec.get("ios") or (0, 999)),
        source=f"lab file: {spec.get('source') or 'unverified (no source given)'}",
        app=spec.get("app"),
    )
