"""SpringBoard of one virtual phone: what is on screen, and what touches and buttons do.

The screen is a stack of :class:`Layer` objects (one per app window, bottom to top), rebuilt from
the state (lock, foreground app, "Call ...?" prompt, the call) whenever it changes. The virtual
WDA reads the stack (finds, source, screenshots) and sends touches and button presses here; the
carrier tells it about calls. Runs on the lab's event loop; nothing here blocks.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from harness.sim import carrier as carrier_mod
from harness.sim.carrier import Call, Carrier
from harness.sim.springboard import screens
from harness.sim.springboard.element import UIElement
from harness.sim.springboard.screens import IN_CALL_SERVICE, SPRINGBOARD, Layer

DETECTION_POINT = (0.2 * screens.WIDTH, 0.2 * screens.WIDTH)
"""WDA's active-app detection point: 20% of the short side from the top-left (FBActiveAppDetectionPoint)."""

SYSTEM_APP_NAMES: dict[str, str] = {
    SPRINGBOARD: "SpringBoard",
    IN_CALL_SERVICE: "InCallService",
    "com.apple.mobilephone": "Phone",
    "com.apple.facetime": "FaceTime",
    "com.apple.mobiletimer": "Clock",
    "com.apple.Preferences": "Settings",
    "com.apple.mobilesafari": "Safari",
    "com.apple.Music": "Music",
}

Listener = Callable[[str, dict[str, Any]], None]
SETTINGS = "com.apple.Preferences"
MUSIC = "com.apple.Music"


class UrlNotHandled(Exception):
    """No app handles the URL's scheme (WDA answers ``unknown error``)."""


@dataclass
class _Saved:
    foreground: str
    locked: bool


class SpringBoard:
    """The UI state of one virtual phone.

    ``apps`` maps installed bundle ids to display names (home screen icons, app windows);
    ``running`` is asked whether a bundle's process still runs so the prior app comes back after
    a call only if it is still alive.
    """

    def __init__(
        self,
        *,
        ios_major: int,
        phone_number: str,
        apple_id: str = "",
        device_name: str = "iPhone",
        apps: Mapping[str, str] | None = None,
        carrier: Carrier | None = None,
        variant: frozenset[str] | set[str] = frozenset(),
        running: Callable[[str], bool] | None = None,
        log: Callable[[str], None] | None = None,
    ) -> None:
        self.ios_major = ios_major
        self.phone_number = phone_number
        self.apple_id = apple_id
        self.device_name = device_name
        self.apps: Mapping[str, str] = apps if apps is not None else {}
        self.variant = frozenset(variant)
        self.is_running: Callable[[str], bool] = running or (lambda bundle: True)
        """Whether an app's process still runs (the virtual WDA sets this from its app table)."""
        self._log = log or (lambda message: None)
        self.locked = False
        self.foreground = SPRINGBOARD
        self.prompt: tuple[str, str] | None = None
        self.call: Call | None = None
        self.call_ui_visible = False
        self.silenced = False
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
        return self.apps.get(bundle_id) or SYSTEM_APP_NAMES.get(bundle_id) or bundle_id.rsplit(".", 1)[-1]

    def layers(self) -> list[Layer]:
        """The windows on screen, bottom to top."""
        if self._layers is None:
            self._layers = self._build()
        return self._layers

    def _build(self) -> list[Layer]:
        out: list[Layer] = []
        if self.locked:
            out.append(screens.lock_screen(time.strftime("%H:%M")))
        elif self.foreground == SETTINGS:
            out.append(
                screens.settings(
                    self.settings_page,
                    self.bluetooth_on,
                    self.bluetooth_devices(),
                    self.ios_major,
                    self.variant,
                )
            )
        elif self.foreground == MUSIC:
            out.append(screens.music(self.music_playing, self.ios_major, self.variant))
        elif self.foreground == SPRINGBOARD:
            icons = sorted(((b, n) for b, n in self.apps.items() if b != SPRINGBOARD), key=lambda a: a[1])
            out.append(screens.home_screen(icons))
        else:
            extra = self.app_screens.get(self.foreground)
            out.append(
                screens.app_screen(
                    self.foreground, self.display_name(self.foreground), extra() if extra else None
                )
            )
        call = self.call
        if call is not None:
            party = self._party(call)
            if call.state == carrier_mod.RINGING and call.callee is self:
                if self.locked:
                    out.append(screens.incoming_full(party, call.kind, self.ios_major, True, self.variant))
                else:
                    out.append(screens.incoming_banner(party, call.kind, self.ios_major, self.variant))
            elif self.call_ui_visible:
                status = (
                    "calling…" if call.state in (carrier_mod.DIALING, carrier_mod.RINGING) else "connected"
                )
                out.append(screens.in_call(party, status, self.ios_major, self.variant))
        if self.control_center:
            routes = self.routes() if self.route_picker else None
            out.append(screens.control_center(self.bluetooth_on, routes, self.ios_major, self.variant))
        if self.siri_text is not None:
            out.append(screens.siri_overlay(self.siri_text, self.ios_major, self.variant))
        if self.timer_ringing:
            out.append(screens.timer_alert(self.ios_major, self.variant))
        if self._prompt_queue:
            bundle, kind = self._prompt_queue[0]
            name = self.display_name(bundle)
            out.append(screens.permission_alert(kind, name, self.ios_major, self.variant))
        if self.prompt is not None:
            kind, address = self.prompt
            out.append(screens.call_prompt(address, kind, self.variant))
        return out

    def _party(self, call: Call) -> str:
        other = call.other(self)
        if other is None:
            return call.address
        return other.phone_number if call.kind == carrier_mod.TEL else (other.apple_id or other.phone_number)

    def layer_at(self, x: float, y: float) -> Layer:
        """The topmost window that takes a touch at (x, y)."""
        layers = self.layers()
        for layer in reversed(layers):
            if layer.hit(x, y):
                return layer
        return layers[0]

    def active_layer(self, preferred: str | None = None) -> Layer:
        """WDA's active application: ``preferred`` (defaultActiveApplication) if on screen, else the
        window at the detection point."""
        if preferred:
            for layer in reversed(self.layers()):
                if layer.bundle_id == preferred:
                    return layer
        return self.layer_at(*DETECTION_POINT)

    def layer_of(self, bundle_id: str) -> Layer | None:
        for layer in reversed(self.layers()):
            if layer.bundle_id == bundle_id:
                return layer
        return None

    def on_screen(self, element: UIElement) -> bool:
        return any(element is e for layer in self.layers() for e in layer.root.walk())

    def alert(self) -> UIElement | None:
        """The Alert (or Sheet) element on screen, if any (what WDA's alert commands act on)."""
        for layer in reversed(self.layers()):
            for e in layer.root.walk():
                if e.type in ("Alert", "Sheet"):
                    return e
        return None

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
        """A drag; a slider started on and pulled over half its width right does its action."""
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
            self.unlock()
            return "unlock"
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
            self._changed("timer", state="stopped")
        elif action == "settings:bluetooth":
            self.settings_page = "bluetooth"
            self._changed("settings", page="bluetooth")
        elif action == "settings:developer":
            self.settings_page = "developer"
            self._changed("settings", page="developer")
        elif action == "settings:reset-media-services":
            self._changed("media-services-reset")
        elif action == "music.toggle":
            self.music_playing = not self.music_playing
            self._changed("other-audio", playing=self.music_playing)
        elif action.startswith("bt:"):
            self._changed("bluetooth-connect", device=action.split(":", 1)[1])
        elif action.startswith("settings:bt-info:"):
            self.settings_page = "bluetooth-info:" + action.split(":", 2)[2]
            self._changed("settings", page=self.settings_page)
        elif action.startswith("bt-disconnect:"):
            self._changed("bluetooth-disconnect", device=action.split(":", 1)[1])
        elif action.startswith("route:"):
            self.route_picker = False
            self._changed("route-picked", route=action.split(":", 1)[1])
        elif action.startswith("app:"):
            # one of an app's own elements (app_screens): the app's process handles the tap
            self._changed("app-element", bundle_id=self.foreground, element=action.split(":", 1)[1])
        elif action == "call.accept" and call is not None and self.carrier is not None:
            self.carrier.answer(call)
        elif action == "call.decline" and call is not None and self.carrier is not None:
            self.carrier.decline(call)
        elif action == "call.end" and call is not None and self.carrier is not None:
            self.carrier.hang_up(call, self)

    # -- buttons and system actions --------------------------------------------------------------

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
        self._changed("timer", state="fired")

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
        """WDA's /url: tel: and facetime-audio: ask "Call ...?" first; http(s) opens Safari."""
        scheme = url.partition(":")[0].lower()
        if scheme in (carrier_mod.TEL, carrier_mod.FACETIME_AUDIO, "facetime"):
            kind, address = carrier_mod.parse_uri(url)
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

    def _restore(self) -> None:
        call, saved = self.call, self._saved
        self.call = None
        self._saved = None
        self.call_ui_visible = False
        self.silenced = False
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
        self.bluetooth_on = True
        self.siri_available = True
        self.unlock()
        self.foreground = SPRINGBOARD
        self.call = None
        self._saved = None
        self.call_ui_visible = False
        self.silenced = False
        self.variant = frozenset()
        self._changed("foreground", bundle_id=SPRINGBOARD)
        self._changed("reset")
