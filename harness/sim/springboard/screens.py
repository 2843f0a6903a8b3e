"""The screens of the virtual phone as accessibility trees, per iOS version.

Written from what public sources say iOS shows, independently of the harness's recipes: each
identifier and label below carries its provenance. Most are "unverified" until ``harness phone
dump`` on a real phone of that version confirms them. A *variant* builds a tree where an element
is missing (its key, e.g. ``"incall.end"``), has lost its identifier (``"incoming.accept:noid"``)
or shows another identifier or label (``"incall.end:label=End call now"``, ``"route.row:id={name}-route"``
where ``{name}`` is the row's name), to prove the recipes' fallbacks (see :func:`variant_ident`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from harness.sim.springboard.element import UNVERIFIED, Frame, UIElement

WIDTH, HEIGHT = 390, 844
SCREEN: Frame = (0, 0, WIDTH, HEIGHT)

SPRINGBOARD = "com.apple.springboard"
IN_CALL_SERVICE = "com.apple.InCallService"

HELPER = "public XCUITest CallKit helper quoted in reference/wda.md §6 (one data point)"
PROMPT = "StoDevX/AAO-React-Native#1007 (tel:/facetime: prompt since iOS 10.3); labels unverified"


@dataclass(frozen=True)
class Ident:
    """How one element is exposed from iOS ``since`` (major) on: owner bundle, identifier, label."""

    since: int
    owner: str
    identifier: str
    label: str
    provenance: str = UNVERIFIED


# Element key -> entries by version (the last entry whose ``since`` <= the major applies).
IDENTS: dict[str, tuple[Ident, ...]] = {
    "incoming.accept": (
        Ident(0, SPRINGBOARD, "", "Accept", HELPER),
        Ident(18, IN_CALL_SERVICE, "acceptCall", "Accept", HELPER),
    ),
    "incoming.decline": (
        Ident(0, SPRINGBOARD, "", "Decline", HELPER),
        Ident(18, IN_CALL_SERVICE, "rejectCall", "Decline", HELPER),
    ),
    "incoming.slide": (Ident(0, IN_CALL_SERVICE, "", "slide to answer"),),
    "incall.end": (Ident(0, IN_CALL_SERVICE, "", "End call"),),
    "incall.speaker": (Ident(0, IN_CALL_SERVICE, "", "Speaker"),),
    "incall.mute": (Ident(0, IN_CALL_SERVICE, "", "Mute"),),
    "prompt.call": (Ident(0, SPRINGBOARD, "", "Call", PROMPT),),
    "prompt.cancel": (Ident(0, SPRINGBOARD, "", "Cancel", PROMPT),),
}


def ident(key: str, ios_major: int) -> Ident:
    entries = [e for e in IDENTS[key] if e.since <= ios_major]
    return entries[-1]


def variant_ident(key: str, ios_major: int, variant: frozenset[str], name: str = "") -> Ident | None:
    """Element ``key`` as a variant tree shows it: None when left out (``key`` in the variant);
    ``key:noid`` drops its identifier, ``key:id=X`` / ``key:label=X`` replace it or its label
    (``{name}`` in X is the row's ``name``, for rows built per route or accessory)."""
    if key in variant:
        return None
    i = ident(key, ios_major)
    if name:
        i = replace(i, label=i.label.format(name=name), identifier=i.identifier.format(name=name))
    for v in sorted(variant):
        k, sep, change = v.partition(":")
        if k != key or not sep:
            continue
        if change == "noid":
            i = replace(i, identifier="")
        elif change.startswith("id="):
            i = replace(i, identifier=change[3:].format(name=name))
        elif change.startswith("label="):
            i = replace(i, label=change[6:].format(name=name))
        else:
            raise ValueError(f"SpringBoard variant {v!r}: use {key}, {key}:noid, {key}:id=X or {key}:label=X")
    return i


@dataclass
class Layer:
    """One app's window on screen. ``regions`` are the frames that take touches (a banner is small)."""

    bundle_id: str
    root: UIElement

    def hit(self, x: float, y: float) -> bool:
        return any(child.contains(x, y) for child in self.root.children)


def application(bundle_id: str, name: str, children: list[UIElement]) -> UIElement:
    del bundle_id  # the bundle is the layer's; XCUIElementTypeApplication shows the display name
    return UIElement(
        "Application",
        label=name,
        frame=SCREEN,
        accessible=True,
        children=children,
        provenance="XCUIElementTypeApplication root (XCTest)",
    )


def _button(
    key: str,
    ios_major: int,
    frame: Frame,
    action: str,
    style: str,
    variant: frozenset[str],
    slide: bool = False,
) -> list[UIElement]:
    i = variant_ident(key, ios_major, variant)
    if i is None:
        return []
    kind = "Slider" if slide else "Button"
    return [
        UIElement(
            kind,
            identifier=i.identifier,
            label=i.label,
            frame=frame,
            accessible=True,
            action=None if slide else action,
            slide_action=action if slide else None,
            provenance=i.provenance,
            style=style,
        )
    ]


def _text(label: str, frame: Frame, style: str = "text") -> UIElement:
    return UIElement("StaticText", label=label, value=label, frame=frame, accessible=True, style=style)


def home_screen(apps: list[tuple[str, str]]) -> Layer:
    """SpringBoard's home screen: one icon per installed app (label = display name)."""
    icons = []
    for n, (bundle, name) in enumerate(apps):
        col, row = n % 4, n // 4
        icons.append(
            UIElement(
                "Icon",
                identifier=name,
                label=name,
                frame=(27 + col * 90, 80 + row * 100, 66, 66),
                accessible=True,
                action=f"launch:{bundle}",
                style="icon",
            )
        )
    page = UIElement("Other", identifier="SBHomeScreenView", frame=SCREEN, children=icons, style="home")
    return Layer(SPRINGBOARD, application(SPRINGBOARD, "SpringBoard", [page]))


def lock_screen(clock_text: str) -> Layer:
    page = UIElement(
        "Other",
        identifier="SBCoverSheetView",
        frame=SCREEN,
        style="lock",
        children=[
            _text(clock_text, (95, 120, 200, 90), "clock"),
            _text("Swipe up to open", (120, 790, 150, 20)),
        ],
    )
    return Layer(SPRINGBOARD, application(SPRINGBOARD, "SpringBoard", [page]))


def app_screen(bundle_id: str, name: str, children: list[UIElement] | None = None) -> Layer:
    window = UIElement(
        "Window",
        frame=SCREEN,
        style="app",
        children=[
            UIElement(
                "Other", frame=SCREEN, children=[_text(name, (20, 100, 350, 40), "title"), *(children or [])]
            ),
        ],
    )
    return Layer(bundle_id, application(bundle_id, name, [window]))


def call_prompt(address: str, kind: str, variant: frozenset[str] = frozenset()) -> Layer:
    """The "Call ...?" confirmation SpringBoard shows when an app opens a tel:/facetime-audio: URL."""
    title = address if kind == "tel" else f"FaceTime Audio {address}"
    alert = UIElement(
        "Alert",
        label=title,
        frame=(60, 330, 270, 140),
        accessible=False,
        style="alert",
        provenance=PROMPT,
        children=[
            _text(title, (76, 350, 238, 40)),
            *_button("prompt.cancel", 0, (60, 420, 135, 50), "prompt.cancel", "plain", variant),
            *_button("prompt.call", 0, (195, 420, 135, 50), "prompt.call", "bold", variant),
        ],
    )
    dim = UIElement("Other", frame=SCREEN, style="dim", children=[alert])
    return Layer(SPRINGBOARD, application(SPRINGBOARD, "SpringBoard", [dim]))


def incoming_banner(caller: str, kind: str, ios_major: int, variant: frozenset[str] = frozenset()) -> Layer:
    """Incoming call while unlocked: the compact banner at the top (iOS 14+)."""
    owner = ident("incoming.accept", ios_major).owner
    subtitle = "FaceTime Audio" if kind == "facetime-audio" else "mobile"
    banner = UIElement(
        "Other",
        identifier="",
        label=f"{caller}, {subtitle}",
        frame=(8, 50, 374, 80),
        style="banner",
        children=[
            _text(caller, (24, 62, 200, 24), "title"),
            _text(subtitle, (24, 90, 200, 20)),
            *_button("incoming.decline", ios_major, (250, 62, 56, 56), "call.decline", "decline", variant),
            *_button("incoming.accept", ios_major, (314, 62, 56, 56), "call.accept", "accept", variant),
        ],
    )
    name = "SpringBoard" if owner == SPRINGBOARD else "InCallService"
    return Layer(owner, application(owner, name, [banner]))


def incoming_full(
    caller: str, kind: str, ios_major: int, locked: bool, variant: frozenset[str] = frozenset()
) -> Layer:
    """Incoming call full screen: the slider when locked, Decline/Accept buttons otherwise."""
    subtitle = "FaceTime Audio" if kind == "facetime-audio" else "mobile"
    controls: list[UIElement] = []
    if locked:
        controls += _button(
            "incoming.slide", ios_major, (40, 700, 310, 70), "call.accept", "slide", variant, slide=True
        )
    else:
        controls += _button(
            "incoming.decline", ios_major, (50, 680, 80, 80), "call.decline", "decline", variant
        )
        controls += _button(
            "incoming.accept", ios_major, (260, 680, 80, 80), "call.accept", "accept", variant
        )
    page = UIElement(
        "Other",
        frame=SCREEN,
        style="call",
        children=[_text(caller, (20, 120, 350, 44), "title"), _text(subtitle, (20, 170, 350, 24)), *controls],
    )
    return Layer(IN_CALL_SERVICE, application(IN_CALL_SERVICE, "InCallService", [page]))


def in_call(party: str, status: str, ios_major: int, variant: frozenset[str] = frozenset()) -> Layer:
    """The in-call screen (outgoing while it rings, then connected)."""
    page = UIElement(
        "Other",
        frame=SCREEN,
        style="call",
        children=[
            _text(party, (20, 120, 350, 44), "title"),
            _text(status, (20, 170, 350, 24)),
            *_button("incall.mute", ios_major, (50, 420, 80, 80), "call.mute", "round", variant),
            *_button("incall.speaker", ios_major, (260, 420, 80, 80), "call.speaker", "round", variant),
            *_button("incall.end", ios_major, (155, 700, 80, 80), "call.end", "decline", variant),
        ],
    )
    return Layer(IN_CALL_SERVICE, application(IN_CALL_SERVICE, "InCallService", [page]))


SETTINGS = "com.apple.Preferences"
MUSIC = "com.apple.Music"

CONTROL_CENTER_SRC = "ControlCenterView: appium-xcuitest-driver test (iOS 11-12 era, reference/wda.md §6)"
BT_INFO_SRC = (
    "the (i) button beside each device of Settings > Bluetooth (osxdaily.com 2015-12-11, cultofmac.com "
    "387278); 'More Info' is UIKit's label for an info button as public XCUITest code queries it "
    "(app.buttons[\"More Info\"]); not seen on Settings itself: unverified there"
)
BT_PAGE_SRC = (
    "the device's page in Settings > Bluetooth shows Disconnect only while it is connected, beside Forget "
    "This Device (osxdaily.com 2015-12-11, cultofmac.com 387278); element type unverified"
)

IDENTS.update(
    {
        "siri.overlay": (Ident(0, SPRINGBOARD, "", "Siri"),),
        "cc.view": (Ident(0, SPRINGBOARD, "ControlCenterView", "", CONTROL_CENTER_SRC),),
        "cc.bluetooth": (Ident(0, SPRINGBOARD, "", "Bluetooth"),),
        "cc.routes": (Ident(0, SPRINGBOARD, "", "AirPlay"),),
        "route.row": (Ident(0, SPRINGBOARD, "", "{name}"),),
        "permission.allow": (Ident(0, SPRINGBOARD, "", "Allow"),),
        "timer.stop": (Ident(0, SPRINGBOARD, "", "Stop"),),
        "settings.bluetooth": (Ident(0, SETTINGS, "com.apple.settings.bluetooth", "Bluetooth"),),
        "settings.developer": (Ident(0, SETTINGS, "com.apple.settings.developer", "Developer"),),
        "settings.reset": (Ident(0, SETTINGS, "", "Reset Media Services"),),
        "bt.row": (Ident(0, SETTINGS, "", "{name}"),),
        "bt.info": (Ident(0, SETTINGS, "", "More Info", BT_INFO_SRC),),
        "bt.disconnect": (Ident(0, SETTINGS, "", "Disconnect", BT_PAGE_SRC),),
        "music.play": (Ident(0, MUSIC, "", "Play"),),
    }
)


def siri_overlay(text: str, ios_major: int, variant: frozenset[str] = frozenset()) -> Layer:
    """Siri answering an utterance: a compact overlay at the bottom (its tree is unverified)."""
    i = variant_ident("siri.overlay", ios_major, variant)
    children = (
        []
        if i is None
        else [
            UIElement(
                "Other",
                identifier=i.identifier,
                label=i.label,
                frame=(10, 560, 370, 260),
                style="siri",
                provenance=i.provenance,
                children=[_text(text, (30, 600, 330, 60))],
            )
        ]
    )
    return Layer(SPRINGBOARD, application(SPRINGBOARD, "SpringBoard", children))


def control_center(
    bluetooth_on: bool,
    routes: list[tuple[str, bool]] | None,
    ios_major: int,
    variant: frozenset[str] = frozenset(),
) -> Layer:
    """Control Center; ``routes`` (name, selected) when the route picker is open."""
    view = variant_ident("cc.view", ios_major, variant) or ident("cc.view", ios_major)
    modules: list[UIElement] = []
    bt = variant_ident("cc.bluetooth", ios_major, variant)
    if bt is not None:
        modules.append(
            UIElement(
                "Button",
                identifier=bt.identifier,
                label=bt.label,
                value="1" if bluetooth_on else "0",
                frame=(40, 120, 70, 70),
                accessible=True,
                action="cc.bluetooth",
                provenance=bt.provenance,
                style="accept" if bluetooth_on else "round",
            )
        )
    rp = variant_ident("cc.routes", ios_major, variant)
    if rp is not None:
        modules.append(
            UIElement(
                "Button",
                identifier=rp.identifier,
                label=rp.label,
                frame=(290, 120, 60, 60),
                accessible=True,
                action="cc.routes",
                provenance=rp.provenance,
                style="round",
            )
        )
    if routes is not None:
        rows = []
        for n, (name, selected) in enumerate(routes):
            row = variant_ident("route.row", ios_major, variant, name)
            if row is None:
                continue
            rows.append(
                UIElement(
                    "Button",
                    identifier=row.identifier,
                    label=row.label,
                    value="1" if selected else "0",
                    frame=(40, 260 + n * 60, 310, 50),
                    accessible=True,
                    action=f"route:{name}",
                    style="bold" if selected else "plain",
                    provenance=row.provenance,
                )
            )
        modules.append(
            UIElement(
                "Other",
                label="Audio routes",
                frame=(30, 240, 330, 20 + 60 * len(rows)),
                style="alert",
                children=rows,
            )
        )
    page = UIElement(
        "Other",
        identifier=view.identifier,
        frame=SCREEN,
        style="dim",
        provenance=view.provenance,
        children=modules,
        action="cc.close",
    )
    return Layer(SPRINGBOARD, application(SPRINGBOARD, "SpringBoard", [page]))


PERMISSION_SRC = (
    "iOS permission alert wording (public screenshots); exact button labels per version unverified"
)

PERMISSIONS: dict[str, tuple[str, str, str]] = {
    # kind -> (title template, deny, allow)
    "microphone": ("\u201c{app}\u201d Would Like to Access the Microphone", "Don\u2019t Allow", "Allow"),
    "local-network": (
        "\u201c{app}\u201d would like to find and connect to devices on your local network.",
        "Don\u2019t Allow",
        "Allow",
    ),
}


def permission_alert(kind: str, app: str, ios_major: int, variant: frozenset[str] = frozenset()) -> Layer:
    """A first-run permission prompt (SpringBoard Alert): deny first, allow last (as iOS orders them)."""
    title, deny, allow = PERMISSIONS[kind]
    if kind == "microphone" and ios_major < 17:
        allow = "OK"  # (unverified) older releases labelled it OK
    relabel = variant_ident("permission.allow", ios_major, variant)
    if relabel is not None and relabel.label != ident("permission.allow", ios_major).label:
        allow = relabel.label
    text = title.format(app=app)
    alert = UIElement(
        "Alert",
        label=text,
        frame=(60, 320, 270, 160),
        style="alert",
        provenance=PERMISSION_SRC,
        children=[
            _text(text, (76, 336, 238, 70)),
            UIElement(
                "Button",
                label=deny,
                frame=(60, 430, 135, 50),
                accessible=True,
                action=f"permission:{kind}:deny",
                style="plain",
                provenance=PERMISSION_SRC,
            ),
            UIElement(
                "Button",
                label=allow,
                frame=(195, 430, 135, 50),
                accessible=True,
                action=f"permission:{kind}:allow",
                style="bold",
                provenance=PERMISSION_SRC,
            ),
        ],
    )
    return Layer(
        SPRINGBOARD,
        application(
            SPRINGBOARD, "SpringBoard", [UIElement("Other", frame=SCREEN, style="dim", children=[alert])]
        ),
    )


def timer_alert(ios_major: int, variant: frozenset[str] = frozenset()) -> Layer:
    """The Clock timer going off (SpringBoard alert with Stop; unverified tree)."""
    stop = variant_ident("timer.stop", ios_major, variant) or ident("timer.stop", ios_major)
    alert = UIElement(
        "Alert",
        label="Timer",
        frame=(60, 330, 270, 140),
        style="alert",
        children=[
            _text("Timer", (76, 350, 238, 40)),
            UIElement(
                "Button",
                label="Repeat",
                frame=(60, 420, 135, 50),
                accessible=True,
                action="timer.repeat",
                style="plain",
            ),
            UIElement(
                "Button",
                identifier=stop.identifier,
                label=stop.label,
                frame=(195, 420, 135, 50),
                accessible=True,
                action="timer.stop",
                style="bold",
            ),
        ],
    )
    return Layer(
        SPRINGBOARD,
        application(
            SPRINGBOARD, "SpringBoard", [UIElement("Other", frame=SCREEN, style="dim", children=[alert])]
        ),
    )


def settings(
    page: str,
    bluetooth_on: bool,
    devices: list[tuple[str, bool]],
    ios_major: int = 0,
    variant: frozenset[str] = frozenset(),
) -> Layer:
    """Settings (com.apple.Preferences): the root list, or Settings > Bluetooth with its device rows."""
    bundle = SETTINGS
    if page.startswith("bluetooth-info:"):
        rows = _bluetooth_info(page.split(":", 1)[1], dict(devices), ios_major, variant)
    elif page == "bluetooth":
        rows = [
            _text("Bluetooth", (20, 60, 350, 40), "title"),
            UIElement(
                "Switch",
                identifier="Bluetooth",
                label="Bluetooth",
                value="1" if bluetooth_on else "0",
                frame=(20, 120, 350, 44),
                accessible=True,
                action="cc.bluetooth",
                style="plain",
            ),
        ]
        if bluetooth_on:
            rows.append(_text("MY DEVICES", (20, 180, 350, 24)))
            for n, (name, connected) in enumerate(devices):
                row = variant_ident("bt.row", ios_major, variant, name)
                if row is None:
                    continue
                rows.append(
                    UIElement(
                        "Cell",
                        identifier=row.identifier,
                        label=row.label,
                        value="Connected" if connected else "Not Connected",
                        frame=(20, 210 + n * 50, 350, 44),
                        accessible=True,
                        action=f"bt:{name}",
                        style="plain",
                        children=[_text(name, (30, 210 + n * 50, 250, 44)),
                                  *_info_button(name, 210 + n * 50, ios_major, variant)],
                    )
                )
    elif page == "developer":
        reset = variant_ident("settings.reset", ios_major, variant)
        rows = [_text("Developer", (20, 60, 350, 40), "title")]
        if reset is not None:
            rows.append(
                UIElement(
                    "Button",
                    identifier=reset.identifier,
                    label=reset.label,
                    frame=(20, 120, 350, 44),
                    accessible=True,
                    action="settings:reset-media-services",
                    style="plain",
                    provenance=reset.provenance,
                )
            )
    else:
        rows = [_text("Settings", (20, 60, 350, 40), "title")]
        dev = variant_ident("settings.developer", ios_major, variant)
        if dev is not None:
            rows.append(
                UIElement(
                    "Cell",
                    identifier=dev.identifier,
                    label=dev.label,
                    frame=(20, 180, 350, 44),
                    accessible=True,
                    action="settings:developer",
                    style="plain",
                    provenance=dev.provenance,
                )
            )
        bt = variant_ident("settings.bluetooth", ios_major, variant)
        if bt is not None:
            rows.append(
                UIElement(
                    "Cell",
                    identifier=bt.identifier,
                    label=bt.label,
                    value="On" if bluetooth_on else "Off",
                    frame=(20, 120, 350, 44),
                    accessible=True,
                    action="settings:bluetooth",
                    style="plain",
                    provenance=bt.provenance,
                )
            )
    window = UIElement(
        "Window", frame=SCREEN, style="app", children=[UIElement("Other", frame=SCREEN, children=rows)]
    )
    return Layer(bundle, application(bundle, "Settings", [window]))


def _info_button(name: str, y: int, ios_major: int, variant: frozenset[str]) -> list[UIElement]:
    """The (i) at the end of a device row: it opens the device's page."""
    i = variant_ident("bt.info", ios_major, variant, name)
    if i is None:
        return []
    return [UIElement("Button", identifier=i.identifier, label=i.label, frame=(320, y, 44, 44),
                      accessible=True, action=f"settings:bt-info:{name}", style="round",
                      provenance=i.provenance)]


def _bluetooth_info(name: str, devices: dict[str, bool], ios_major: int,
                    variant: frozenset[str]) -> list[UIElement]:
    """A device's page (Settings > Bluetooth > (i)): Disconnect while it is connected."""
    rows = [_text(name, (20, 60, 350, 40), "title")]
    disconnect = variant_ident("bt.disconnect", ios_major, variant)
    if devices.get(name) and disconnect is not None:
        rows.append(UIElement("Button", identifier=disconnect.identifier, label=disconnect.label,
                              frame=(20, 120, 350, 44), accessible=True, action=f"bt-disconnect:{name}",
                              style="plain", provenance=disconnect.provenance))
    return rows


def music(playing: bool, ios_major: int = 0, variant: frozenset[str] = frozenset()) -> Layer:
    """The Music app: one Play/Pause button (other audio for the duck check; unverified tree)."""
    bundle = MUSIC
    play = variant_ident("music.play", ios_major, variant) or ident("music.play", ios_major)
    label, identifier = ("Pause", "") if playing else (play.label, play.identifier)
    window = UIElement(
        "Window",
        frame=SCREEN,
        style="app",
        children=[
            UIElement(
                "Other",
                frame=SCREEN,
                children=[
                    _text("Music", (20, 60, 350, 40), "title"),
                    UIElement(
                        "Button",
                        identifier=identifier,
                        label=label,
                        frame=(155, 600, 80, 80),
                        accessible=True,
                        action="music.toggle",
                        style="round",
                    ),
                ],
            )
        ],
    )
    return Layer(bundle, application(bundle, "Music", [window]))
