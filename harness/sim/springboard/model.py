"""SpringBoard of one virtual phone: what is on screen, and what touches and buttons do.

The screen is a stack of :class:`Layer` objects (one per app window, bottom to top), rebuilt from
the state (lock, foreground app, "Call ...?" prompt, the call) whenever it changes. What each
window holds is the phone's iOS profile (``harness/sim/profiles``); how the phone behaves where the
evidence leaves it open (a dial prompt or not, a second Accept, where Siri's UI lives, how a timer
ends) is the phone's variants (``harness/sim/variants``). The virtual WDA reads the stack (finds,
source, screenshots) and sends touches and button presses here; the carrier tells it about calls.
Runs on the lab's event loop; nothing here blocks.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from harness.sim import carrier as carrier_mod
from harness.sim import variants as variants_mod
from harness.sim.carrier import Call, Carrier
from harness.sim.profiles import Profile
from harness.sim.springboard import screens
from harness.sim.springboard.element import UIElement
from harness.sim.springboard.screens import (
    MUSIC,
    SETTINGS,
    SIRI_VIEW_SERVICE,
    SPRINGBOARD,
    Context,
    Layer,
)

DETECTION_POINT = (0.2 * min(screens.WIDTH, screens.HEIGHT), 0.2 * min(screens.WIDTH, screens.HEIGHT))
"""WDA's active-app detection point: 20 % of the short screen side from the top-left
(appium/WebDriverAgent v16.7.0 Utilities/FBActiveAppDetectionPoint.m init): (78, 78) here."""

SECOND_ACCEPT_DELAY_S = 1.0
"""(inference) the "double CallKit window" shows about a second after the first Accept; signvios
checks for it 3 s later."""

SCROLL_TOUCH_PROPORTION = 0.75
"""A direction scroll of distance 1.0 drags 75 % of the scroll view's height
(appium/WebDriverAgent v16.7.0 XCUIElement+FBScrolling.m FBScrollTouchProportion)."""

Listener = Callable[[str, dict[str, Any]], None]

PERMISSIONS: dict[str, tuple[str, str, str]] = {
    # kind -> (title template, deny, allow); permission-alert (sources.yaml): labels per version unverified
    "microphone": ("\u201c{app}\u201d Would Like to Access the Microphone", "Don\u2019t Allow", "Allow"),
    "local-network": (
        "\u201c{app}\u201d would like to find and connect to devices on your local network.",
        "Don\u2019t Allow",
        "Allow",
    ),
}


class UrlNotHandled(Exception):
    """No app handles the URL's scheme (WDA answers ``unknown error``)."""


@dataclass
class _Saved:
    foreground: str
    locked: bool


class SpringBoard:
    """The UI state of one virtual phone.

    ``profile`` is the phone's iOS profile (what its screens hold), ``variants`` every variant's value
    for this phone (:func:`harness.sim.variants.resolve`; missing ones take the profile's defaults).
    ``apps`` maps installed bundle ids to display names (home screen icons, app windows);
    ``running`` is asked whether a bundle's process still runs so the prior app comes back after
    a call only if it is still alive. ``mutations`` change the UI tree to prove recipe fallbacks
    (see :mod:`harness.sim.springboard.screens`).
    """

    def __init__(
        self,
        *,
        profile: Profile,
        phone_number: str,
        variants: Mapping[str, str] | None = None,
        apple_id: str = "",
        device_name: str = "iPhone",
        apps: Mapping[str, str] | None = None,
        carrier: Carrier | None = None,
        mutations: frozenset[str] | set[str] = frozenset(),
        running: Callable[[str], bool] | None = None,
        log: Callable[[str], None] | None = None,
    ) -> None:
        self.profile = profile
        self.variants: dict[str, str] = variants_mod.resolve(dict(variants or {}), profile.defaults)
        self.phone_number = phone_number
        self.apple_id = apple_id
        self.device_name = device_name
        self.apps: Mapping[str, str] = apps if apps is not None else {}
        self.mutations = frozenset(mutations)
        self.is_running: Callable[[str], bool] = running or (lambda bundle: True)
        """Whether an app's process still runs (the virtual WDA sets this from its app table)."""
        self._log = log or (lambda message: None)
        self.locked = False
        self.passcode = self.variants["passcode"] == "on"
        self.foreground = SPRINGBOARD
        self.prompt: tuple[str, str] | None = None
        self.call: Call | None = None
        self.call_ui_visible = False
        self.silenced = False
        self.second_accept: str | None = None
        """The "double CallKit window" shown now ("springboard" / "incallservice"), if any."""
        self._first_accepted = False
        self._second_handle: Any = None
        self._saved: _Saved | None = None
        self.version = 0
        self._layers: list[Layer] | None = None
        self._listeners: list[Listener] = []
        self.siri_text: str | None = None
        self.siri_available = True
        self.siri_duration_s = 4.0
        """Siri answers and its overlay goes away after this long (or on Home)."""
        self.control_center = False
        self.route_picker = False
        self.bluetooth_on = True
        self.routes: Callable[[], list[tuple[str, bool]]] = lambda: [("iPhone", True), ("Speaker", False)]
        """The audio routes the route picker lists, (name, selected); the audio world sets this."""
        self._siri_timer: Any = None
        self.settings_page = "root"
        self.bt_info_device = ""
        """The device whose page Settings > Bluetooth > (i) shows (``settings_page`` bluetooth_info)."""
        self.reset_sheet = False
        self.scroll: dict[str, float] = {}
        """Scroll view name -> offset in points (Settings' lists)."""
        self.music_playing = False
        self.bluetooth_devices: Callable[[], list[tuple[str, bool]]] = lambda: []
        """Paired accessories (name, connected) for Settings > Bluetooth; the audio world sets this."""
        self.first_run_prompts: dict[str, list[str]] = {}
        """Per bundle: the permission prompts ("microphone", "local-network") of its first launch."""
        self.permissions: dict[tuple[str, str], bool] = {}
        self._prompt_queue: list[tuple[str, str]] = []
        self.timer_ringing = False
        self._timer_handle: Any = None
        self.app_screens: dict[str, Callable[[], list[UIElement]]] = {}
        """Extra elements per app window (e.g. the voice app's speakerButton), set by the lab."""
        self.carrier = carrier
        if carrier is not None:
            carrier.attach(self)

    @property
    def ios_major(self) -> int:
        return self.profile.ios

    # -- observers -------------------------------------------------------------------------------

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """``listener(kind, fields)`` on every change: foreground, lock, prompt, call, ..."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def _changed(self, what: str, **fields: Any) -> None:
        self.version += 1
        self._layers = None
        for listener in list(self._listeners):
            listener(what, fields)

    def refresh(self) -> None:
        """Something a provider reports (routes, Bluetooth devices) changed: redraw."""
        self._changed("refresh")

    # -- what is on screen -----------------------------------------------------------------------

    def display_name(self, bundle_id: str) -> str:
        return (self.apps.get(bundle_id) or self.profile.system_apps.get(bundle_id)
                or bundle_id.rsplit(".", 1)[-1])

    def layers(self) -> list[Layer]:
        """The windows on screen, bottom to top (drawn ones included: see :meth:`ax_layers`)."""
        if self._layers is None:
            self._layers = self._build()
        return self._layers

    def ax_layers(self) -> list[Layer]:
        """The windows XCTest sees (a Siri UI outside the accessibility tree is drawn, not seen)."""
        return [layer for layer in self.layers() if layer.ax]

    def _context(self, **values: Any) -> Context:
        return Context(values=values, scroll=self.scroll, offscreen_cells=self.variants["offscreen_cells"],
                       mutations=self.mutations)

    def _screen(self, screen: str, /, *, owner: str | None = None, ax: bool = True,
                slots: dict[str, list[UIElement]] | None = None, **values: Any) -> Layer:
        ctx = self._context(**values)
        ctx.slots = slots or {}
        return screens.build(self.profile, screen, ctx, owner=owner, ax=ax)

    def _build(self) -> list[Layer]:
        out: list[Layer] = []
        if self.locked:
            out.append(self._screen("lock", clock=time.strftime("%H:%M")))
        elif self.foreground == SETTINGS:
            devices = [{"name": n, "state": "Connected" if c else "Not Connected"}
                       for n, c in self.bluetooth_devices()]
            out.append(self._screen(
                f"settings.{self.settings_page}", bluetooth="1" if self.bluetooth_on else "0",
                bluetooth_on=self.bluetooth_on, bluetooth_state="On" if self.bluetooth_on else "Off",
                devices=devices, device=self.bt_info_device,
                device_connected=dict(self.bluetooth_devices()).get(self.bt_info_device, False)))
            if self.reset_sheet:
                out.append(self._screen("settings.reset_sheet"))
        elif self.foreground == MUSIC:
            out.append(self._screen("music", play_label="Pause" if self.music_playing else "Play"))
        elif self.foreground == SPRINGBOARD:
            icons = sorted(((b, n) for b, n in self.apps.items() if b != SPRINGBOARD), key=lambda a: a[1])
            out.append(self._screen("home", icons=[{"bundle": b, "name": n} for b, n in icons]))
        else:
            extra = self.app_screens.get(self.foreground)
            name = self.display_name(self.foreground)
            out.append(self._screen("app", bundle=self.foreground, name=name, app_name=name,
                                    slots={"app_elements": extra() if extra else []}))
        call = self.call
        if call is not None:
            party = self._party(call)
            subtitle = "FaceTime Audio" if call.kind == carrier_mod.FACETIME_AUDIO else "mobile"
            if call.state == carrier_mod.RINGING and call.callee is self:
                if self.locked:
                    out.append(self._screen("incoming.locked", caller=party, subtitle=subtitle))
                elif self.second_accept is not None:
                    out.append(self._screen(f"second_accept.{self.second_accept}", caller=party,
                                            subtitle=subtitle))
                elif self._first_accepted:
                    pass  # between the first Accept and the second window: nothing to tap yet
                elif self.variants["incoming_call"] == "full-screen":
                    out.append(self._screen("incoming.full", caller=party, subtitle=subtitle))
                else:
                    out.append(self._screen("incoming.banner", caller=party, subtitle=subtitle))
            elif self.call_ui_visible:
                ringing = call.state in (carrier_mod.DIALING, carrier_mod.RINGING)
                status = "calling…" if ringing else "connected"
                out.append(self._screen("in_call", party=party, status=status))
        if self.control_center:
            routes = [{"name": n, "selected": "1" if sel else "0"} for n, sel in self.routes()]
            out.append(self._screen("control_center", bluetooth="1" if self.bluetooth_on else "0",
                                    route_picker=self.route_picker,
                                    routes=routes if self.route_picker else []))
        if self.siri_text is not None:
            ui = self.variants["siri_ui"]
            if ui == "siri-view-service":
                out.append(self._screen("siri.view_service", text=self.siri_text))
            else:  # "absent": the same overlay is drawn, but XCTest does not see its process
                out.append(self._screen("siri.springboard", text=self.siri_text, ax=ui == "springboard",
                                        owner=SPRINGBOARD if ui == "springboard" else SIRI_VIEW_SERVICE))
        if self.timer_ringing:
            out.append(self._screen(f"timer.{self.variants['timer_ending'].replace('-', '_')}"))
        if self._prompt_queue:
            bundle, kind = self._prompt_queue[0]
            out.append(self._permission(kind, self.display_name(bundle)))
        if self.prompt is not None:
            kind, address = self.prompt
            title = address if kind == carrier_mod.TEL else f"FaceTime Audio {address}"
            out.append(self._screen("call_prompt", title=title))
        return out

    def _permission(self, kind: str, app: str) -> Layer:
        title, deny, allow = PERMISSIONS[kind]
        if kind == "microphone" and self.ios_major < 17:
            allow = "OK"  # (unverified) older releases labelled it OK
        return self._screen("permission", title=title.format(app=app), deny=deny, allow=allow, kind=kind)

    def _party(self, call: Call) -> str:
        other = call.other(self)
        if other is None:
            return call.address
        return other.phone_number if call.kind == carrier_mod.TEL else (other.apple_id or other.phone_number)

    def layer_at(self, x: float, y: float, *, ax_only: bool = False) -> Layer:
        """The topmost window that takes a touch at (x, y) (``ax_only``: of the windows XCTest sees)."""
        layers = self.ax_layers() if ax_only else self.layers()
        for layer in reversed(layers):
            if layer.hit(x, y):
                return layer
        return layers[0] if layers else self.layers()[0]

    def active_apps(self) -> list[str]:
        """XCTest's "active applications": the apps with a window XCTest sees, topmost first (inference:
        the accessibility server lists the processes whose windows are on screen)."""
        out: list[str] = []
        for layer in reversed(self.ax_layers()):
            if layer.bundle_id not in out:
                out.append(layer.bundle_id)
        return out

    def foreground_full_screen(self, bundle_id: str) -> bool:
        """A system app runs in the foreground while one of its full-screen windows is up."""
        return any(layer.bundle_id == bundle_id and layer.full_screen for layer in self.ax_layers())

    def app_tree(self, bundle_id: str) -> UIElement:
        """One app's accessibility tree: every window of it XCTest sees, under one Application root
        (an app in the background keeps an empty root)."""
        mine = [layer for layer in self.ax_layers() if layer.bundle_id == bundle_id]
        if len(mine) == 1:
            return mine[0].root
        children = [c for layer in mine for c in layer.root.children]
        return UIElement("Application", label=self.display_name(bundle_id), frame=screens.SCREEN,
                         accessible=True, children=children,
                         provenance="inference: the XCUIElementTypeApplication root of every XCTest tree")

    def layer_of(self, bundle_id: str) -> Layer | None:
        for layer in reversed(self.ax_layers()):
            if layer.bundle_id == bundle_id:
                return layer
        return None

    def on_screen(self, element: UIElement) -> bool:
        return any(element is e for layer in self.ax_layers() for e in layer.root.walk())

    def alert(self) -> UIElement | None:
        """The Alert (or Sheet) element on screen, if any (what WDA's alert commands act on)."""
        for layer in reversed(self.ax_layers()):
            for e in layer.root.walk():
                if e.type in ("Alert", "Sheet"):
                    return e
        return None

    # -- scroll views ----------------------------------------------------------------------------

    def scroll_views(self) -> list[UIElement]:
        return [e for layer in self.ax_layers() for e in layer.root.walk() if e.scroll]

    def scroll_view_at(self, x: float, y: float) -> UIElement | None:
        for view in reversed(self.scroll_views()):
            if view.contains(x, y):
                return view
        return None

    def scroll_by(self, view: UIElement, dy: float) -> float:
        """Move ``view``'s content up by ``dy`` points (clamped); returns the points it moved."""
        before = self.scroll.get(view.scroll, 0.0)
        after = max(0.0, min(before + dy, float(max(0, view.content_height - view.frame[3]))))
        if after != before:
            self.scroll[view.scroll] = after
            self._changed("scroll", view=view.scroll, offset=after)
        return after - before

    def scroll_into_view(self, element: UIElement) -> bool:
        """Scroll the view holding ``element`` until it is wholly inside; False when no view holds it."""
        for view in self.scroll_views():
            if any(e is element for e in view.descendants()):
                vy, vh = view.frame[1], view.frame[3]
                y, h = element.frame[1], element.frame[3]
                if vy <= y and y + h <= vy + vh:
                    return True
                self.scroll_by(view, (y + h / 2) - (vy + vh / 2))
                return True
        return False

    # -- touches ---------------------------------------------------------------------------------

    def tap(self, x: float, y: float) -> UIElement | None:
        """A tap at (x, y): the deepest element there with an action does it. Returns that element."""
        layer = self.layer_at(x, y)
        target = None
        for e in layer.root.walk():
            if e.action and e.enabled and e.visible and e.contains(x, y):
                target = e
        if target is not None:
            self.perform(target.action or "")
        return target

    def drag(self, x1: float, y1: float, x2: float, y2: float) -> str | None:
        """A drag; a slider started on and pulled over half its width right does its action; a
        vertical drag on a scroll view scrolls it."""
        layer = self.layer_at(x1, y1)
        for e in layer.root.walk():
            if e.slide_action and e.contains(x1, y1) and (x2 - x1) >= e.frame[2] / 2:
                self.perform(e.slide_action)
                return e.slide_action
        if x1 >= 0.75 * screens.WIDTH and y1 <= 60 and y2 - y1 >= 150 and not self.control_center:
            # Face ID iPhones: Control Center opens with a swipe down from the top-right corner
            self.control_center = True
            self._changed("control-center", shown=True)
            return "control-center"
        if self.control_center and y1 - y2 >= 150:
            self.close_control_center()
            return "control-center-closed"
        if self.locked and self.call is None and y1 > screens.HEIGHT - 60 and y1 - y2 > screens.HEIGHT / 3:
            if self.passcode:
                return "passcode"  # the passcode pad would show: still locked
            self.unlock()
            return "unlock"
        view = self.scroll_view_at(x1, y1)
        if view is not None and abs(y2 - y1) > abs(x2 - x1):
            self.scroll_by(view, y1 - y2)
            return "scroll"
        return None

    def perform(self, action: str) -> None:
        call = self.call
        if action.startswith("launch:"):
            self.bring_to_front(action.split(":", 1)[1])
        elif action == "prompt.cancel":
            self.prompt = None
            self._changed("prompt", shown=False)
        elif action == "prompt.call" and self.prompt is not None:
            kind, address = self.prompt
            self.prompt = None
            self._changed("prompt", shown=False)
            self.dial(kind, address)
        elif action == "cc.close":
            self.close_control_center()
        elif action == "cc.routes":
            self.route_picker = True
            self._changed("route-picker", shown=True)
        elif action == "cc.bluetooth":
            self.bluetooth_on = not self.bluetooth_on
            self._changed("bluetooth", on=self.bluetooth_on)
        elif action.startswith("permission:") and self._prompt_queue:
            bundle, kind = self._prompt_queue.pop(0)
            granted = action.endswith(":allow")
            self.permissions[(bundle, kind)] = granted
            self._changed("permission", bundle_id=bundle, permission=kind, granted=granted)
        elif action in ("timer.stop", "timer.repeat"):
            self.timer_ringing = False
            self._changed("timer", state="stopped", presentation=self.variants["timer_ending"])
        elif action == "settings:bluetooth":
            self._settings_page("bluetooth")
        elif action == "settings:developer":
            self._settings_page("developer")
        elif action == "settings:reset-row":
            if self.variants["reset_confirmation"] == "sheet":
                self.reset_sheet = True
                self._changed("reset-sheet", shown=True)
            else:
                self._changed("media-services-reset")
        elif action == "settings:reset-media-services":
            self.reset_sheet = False
            self._changed("media-services-reset")
        elif action == "settings:reset-cancel":
            self.reset_sheet = False
            self._changed("reset-sheet", shown=False)
        elif action == "music.toggle":
            self.music_playing = not self.music_playing
            self._changed("other-audio", playing=self.music_playing)
        elif action.startswith("bt:"):
            self._changed("bluetooth-connect", device=action.split(":", 1)[1])
        elif action.startswith("settings:bt-info:"):  # a device row's (i): the device's own page
            self.bt_info_device = action.split(":", 2)[2]
            self._settings_page("bluetooth_info")
        elif action.startswith("bt-disconnect:"):
            self._changed("bluetooth-disconnect", device=action.split(":", 1)[1])
        elif action.startswith("route:"):
            self.route_picker = False
            self._changed("route-picked", route=action.split(":", 1)[1])
        elif action.startswith("app:"):
            # one of an app's own elements (app_screens): the app's process handles the tap
            self._changed("app-element", bundle_id=self.foreground, element=action.split(":", 1)[1])
        elif action == "call.accept" and call is not None and self.carrier is not None:
            self._accept(call)
        elif action == "call.decline" and call is not None and self.carrier is not None:
            self.carrier.decline(call)
        elif action == "call.end" and call is not None and self.carrier is not None:
            self.carrier.hang_up(call, self)

    def _settings_page(self, page: str) -> None:
        self.settings_page = page
        self.reset_sheet = False
        self._changed("settings", page=page)

    def _accept(self, call: Call) -> None:
        """Accept; with the second_accept variant the first tap only brings up a second window."""
        kind = self.variants["second_accept"]
        if kind == "none" or self.second_accept is not None or self.locked:
            self.second_accept = None
            self._first_accepted = False
            assert self.carrier is not None
            self.carrier.answer(call)
            return
        if self._first_accepted:
            return  # the second window is on its way
        self._first_accepted = True
        self._log(f"call {call.call_id}: first Accept; a second window follows ({kind})")
        self._changed("second-accept", state="pending", window=kind)

        def show() -> None:
            self._second_handle = None
            if self.call is call and call.state == carrier_mod.RINGING:
                self.second_accept = kind
                self._changed("second-accept", state="shown", window=kind)

        try:
            self._second_handle = asyncio.get_running_loop().call_later(SECOND_ACCEPT_DELAY_S, show)
        except RuntimeError:
            show()


    def close_control_center(self) -> None:
        if self.control_center:
            self.control_center = self.route_picker = False
            self._changed("control-center", shown=False)

    def siri(self, text: str) -> None:
        """Siri hears ``text`` (WDA's siri/activate): the overlay shows, then goes after siri_duration_s."""
        self.siri_text = text
        self._log(f"siri: {text}")
        m = re.search(r"timer for (\d+) (second|minute)", text, re.I)
        if m:
            self.start_timer(int(m.group(1)) * (60 if m.group(2).lower() == "minute" else 1))
        self._changed("siri", active=True, text=text)
        if self._siri_timer is not None:
            self._siri_timer.cancel()
        try:
            self._siri_timer = asyncio.get_running_loop().call_later(self.siri_duration_s, self.siri_done)
        except RuntimeError:
            self._siri_timer = None

    def start_timer(self, seconds: float) -> None:
        """A Clock timer: when it goes off the alarm alert shows (the audio world hears "timer" fired)."""
        if self._timer_handle is not None:
            self._timer_handle.cancel()
        self._timer_handle = asyncio.get_running_loop().call_later(seconds, self._timer_fired)
        self._changed("timer", state="started", seconds=seconds)

    def _timer_fired(self) -> None:
        self._timer_handle = None
        self.timer_ringing = True
        self._changed("timer", state="fired", presentation=self.variants["timer_ending"])

    def siri_done(self) -> None:
        if self._siri_timer is not None:
            self._siri_timer.cancel()
            self._siri_timer = None
        if self.siri_text is not None:
            self.siri_text = None
            self._changed("siri", active=False)

    def press_home(self) -> None:
        self.siri_done()
        self.close_control_center()
        if self.locked:
            return  # (inference) Home on the lock screen wakes it; unlocking is /wda/unlock's job
        self.prompt = None
        if self.call is not None and self.call.state != carrier_mod.RINGING:
            self.call_ui_visible = False
        self.foreground = SPRINGBOARD
        self._changed("foreground", bundle_id=SPRINGBOARD)

    def press_power(self) -> None:
        """Side button: silences a ringing call, a second press declines it; otherwise locks/wakes."""
        call = self.call
        if call is not None and call.state == carrier_mod.RINGING and call.callee is self:
            if self.silenced and self.carrier is not None:
                self.carrier.decline(call)
            else:
                self.silenced = True
                self._changed("ringer", silenced=True)
            return
        if call is not None and call.state == carrier_mod.ACTIVE and self.carrier is not None:
            self.carrier.hang_up(call, self)  # (inference) side button ends a call on the receiver
            return
        self.lock()

    def lock(self) -> None:
        if not self.locked:
            self.locked = True
            self.prompt = None
            self._changed("lock", locked=True)

    def unlock(self) -> None:
        """Unlocked (WDA's /wda/unlock checks the passcode first: a phone with one stays locked)."""
        if self.locked:
            self.locked = False
            self._changed("lock", locked=False)

    def bring_to_front(self, bundle_id: str) -> None:
        """An app became the foreground app (launched or activated)."""
        if self.locked:
            self.locked = False  # launching through WDA unlocks first (the client calls /wda/unlock)
        self.prompt = None
        if self.call is not None and self.call.state != carrier_mod.RINGING:
            self.call_ui_visible = False
        if bundle_id == SETTINGS and self.foreground != SETTINGS:
            self.settings_page = "root"
            self.reset_sheet = False
            self.scroll.clear()  # (inference) Settings opens at the top of its root list
        self.foreground = bundle_id
        for kind in self.first_run_prompts.get(bundle_id, []):
            if (bundle_id, kind) not in self.permissions and (bundle_id, kind) not in self._prompt_queue:
                self._prompt_queue.append((bundle_id, kind))
        self._changed("foreground", bundle_id=bundle_id)

    def app_terminated(self, bundle_id: str) -> None:
        if self.foreground == bundle_id:
            self.foreground = SPRINGBOARD
            self._changed("foreground", bundle_id=SPRINGBOARD)
        if self._saved is not None and self._saved.foreground == bundle_id:
            self._saved.foreground = SPRINGBOARD

    def open_url(self, url: str) -> None:
        """WDA's /url: tel: and facetime-audio: ask "Call ...?" first (dial_prompt=shown) or dial at
        once (dial_prompt=none); http(s) opens Safari."""
        scheme = url.partition(":")[0].lower()
        if scheme in (carrier_mod.TEL, carrier_mod.FACETIME_AUDIO, "facetime"):
            kind, address = carrier_mod.parse_uri(url)
            if self.variants["dial_prompt"] == "none":
                self._log(f"openURL {scheme}: dialing without a confirmation")
                self.dial(kind, address)
                return
            self.prompt = (kind, address)
            self._log(f"openURL {scheme}: confirmation shown")
            self._changed("prompt", shown=True, call_kind=kind, address=address)
        elif scheme in ("http", "https"):
            self.bring_to_front("com.apple.mobilesafari")
        elif scheme in ("prefs", "app-settings"):
            self.bring_to_front("com.apple.Preferences")
        else:
            raise UrlNotHandled(url)

    # -- calls -----------------------------------------------------------------------------------

    def dial(self, kind: str, address: str) -> Call | None:
        if self.carrier is None:
            return None
        self._log(f"dial {kind} {address}")
        return self.carrier.dial(self, kind, address)

    def call_changed(self, call: Call) -> None:
        """The carrier's hook: a call this phone takes part in changed."""
        mine = self.call is call
        if call.state == carrier_mod.ENDED:
            if mine or self.call is None:
                self._restore()
            return
        if call.voicemail and call.callee is self:
            if mine:  # unanswered: the caller went to voicemail, the ring is over here
                self._restore()
            return
        if self.call is not None and not mine:
            return  # one call at a time on a virtual phone
        if call.state != carrier_mod.RINGING:
            self._clear_second_accept()
        if not mine:
            self.call = call
            self._saved = _Saved(self.foreground, self.locked)
            self.silenced = False
        if call.caller is self:
            self.call_ui_visible = True  # the caller sees the in-call screen at once
        elif call.state == carrier_mod.ACTIVE:
            self.call_ui_visible = True  # (inference) answering opens the full in-call screen
        self._log(f"call {call.call_id} {call.state} ({call.role(self)})")
        self._changed("call", call_id=call.call_id, state=call.state, role=call.role(self))

    def _clear_second_accept(self) -> None:
        if self._second_handle is not None:
            self._second_handle.cancel()
            self._second_handle = None
        self.second_accept = None
        self._first_accepted = False

    def _restore(self) -> None:
        call, saved = self.call, self._saved
        self.call = None
        self._saved = None
        self.call_ui_visible = False
        self.silenced = False
        self._clear_second_accept()
        if saved is not None:
            fg = saved.foreground
            self.foreground = fg if fg == SPRINGBOARD or self.is_running(fg) else SPRINGBOARD
            self.locked = saved.locked
        voicemail = call is not None and call.voicemail and call.callee is self
        self._log(
            f"call {call.call_id if call else '?'} "
            f"{'went to voicemail' if voicemail else 'ended'} ({call.reason if call else ''})"
        )
        self._changed(
            "call",
            call_id=call.call_id if call else None,
            state=carrier_mod.ENDED,
            reason=call.reason if call else "",
            **({"voicemail": True} if voicemail else {}),
        )

    # -- call settings (Settings > Phone > Silence Unknown Callers, Focus, voicemail) --------------

    @property
    def call_settings(self) -> carrier_mod.CallSettings:
        """This phone's settings as a callee (kept by the carrier, which applies them)."""
        if self.carrier is None:
            return carrier_mod.CallSettings()
        return self.carrier.settings(self)

    def configure_calls(self, **changes: Any) -> carrier_mod.CallSettings:
        """See :meth:`Carrier.configure`; ValueError names a bad setting."""
        if self.carrier is None:
            raise ValueError(f"{self.device_name}: not on a carrier, no call settings")
        settings = self.carrier.configure(self, **changes)
        self._log(f"call settings: {settings.to_json()}")
        self._changed("call-settings", **settings.to_json())
        return settings

    def reset_ui(self) -> None:
        """Back to an unlocked home screen with nothing on top (tests sharing one phone start here);
        the call settings, installed apps and Bluetooth accessories are kept."""
        if self.call is not None and self.carrier is not None:
            self.carrier.hang_up(self.call, self)
        self.siri_done()
        self.close_control_center()
        if self._timer_handle is not None:
            self._timer_handle.cancel()
            self._timer_handle = None
        self.timer_ringing = False
        self.prompt = None
        self._prompt_queue.clear()
        self.permissions.clear()
        self.first_run_prompts.clear()
        self.music_playing = False
        self.settings_page = "root"
        self.reset_sheet = False
        self.scroll.clear()
        self._clear_second_accept()
        self.bluetooth_on = True
        self.siri_available = True
        self.unlock()
        self.foreground = SPRINGBOARD
        self.call = None
        self._saved = None
        self.call_ui_visible = False
        self.silenced = False
        self.mutations = frozenset()
        self._changed("foreground", bundle_id=SPRINGBOARD)
        self._changed("reset")
