"""The phone as the harness drives it: app launch and SpringBoard recipes over WDA.

Each recipe tries its locators in order (:mod:`harness.phone.locators`), records on the timeline
which one matched (source ``phone``, kind ``recipe``; with the ``path`` it took where the phone may
differ: a dial prompt or none, a second Accept, a confirmation sheet, a Siri UI XCTest cannot see),
and on a miss saves the evidence and fails as a lab fault tagged ``recipe-miss``: the phone did not
show what the recipe expected, which is the lab's problem (or an identifier to update), never the app's.

What a real phone's WDA does differently, and how the recipes cope (reference/real-iphone.md):

* ``defaultActiveApplication`` is honoured only while that app is in front or listed as active
  (WDA 16.7 FBSession.m); the saved evidence of a miss is therefore the page source of SpringBoard,
  InCallService and the auto-detected app, each through the session route after setting it, plus
  ``/wda/activeAppInfo`` (what WDA really searched), never the no-session ``/source`` alone (H10);
* the first use of a phone sets ``defaultActiveApplication`` back to ``auto``: an adopted session may
  hold a forced app from an earlier test;
* rows below the fold are not in the tree until scrolled (H5): Settings rows are scrolled to
  (``/wda/scroll`` down), and a found element whose centre lies outside the window is scrolled
  into view (``/wda/element/:uuid/scroll`` toVisible) before its coordinate tap.

Each of these is a variant of the virtual lab (``harness sim variants``) with tests per value.
"""

from __future__ import annotations

import base64
import contextlib
import json
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import wda

from harness import ios
from harness.errors import LabFault, UsageError
from harness.lab_faults import APP_LAUNCH, RECIPE_MISS, WDA_ERROR
from harness.naming import safe_name
from harness.phone import locators as L
from harness.phone.locators import Locator
from harness.phone.wda_client import WdaConnection
from harness.timeline import Timeline

POLL_S = 0.25
RUNNING_BACKGROUND = 3
FOREGROUND = 4
"""XCUIApplicationState values as ``/wda/apps/state`` answers them (XCTest XCUIApplication.h)."""
FOLLOW_UP_S = 4.0
"""How long Accept looks for a second Accept window ("double CallKit window": signvios waits 3 s)."""
SIRI_UI_S = 3.0
"""How long siri() looks for Siri's UI once /wda/siri/activate answered (then it records, not fails)."""
SHEET_S = 3.0
"""How long Reset Media Services waits for its confirmation sheet (none on older iOS, REV Q4)."""
MAX_SCROLLS = 12
"""Scrolls down a Settings list before a row counts as missing (the root list is ~3 screens long)."""
MISS_APPS = ("auto", L.SPRINGBOARD, L.IN_CALL_SERVICE)
"""Whose page source a recipe miss saves (through the session route, after setting the app)."""
Table = str | tuple[Locator, ...]
"""A recipe table: a name of :data:`harness.phone.locators.RECIPES` (the lab may add locators to
it) or the locators themselves (tables built per call: a route's row, an app's element)."""
SIRI_ACTIVATED = Locator("(no Siri UI in the tree; /wda/siri/activate answered)",
                         source="WDA 16.7 /wda/siri/activate answered null (XCUISiriService took the text)")


@dataclass(frozen=True)
class Match:
    recipe: str
    locator: Locator
    index: int
    element: Any = None
    retaps: int = 0
    """Taps on the same locator after the first (it was still there: a "double CallKit window")."""
    t_ns: int | None = None
    """When the recipe acted, on the lab clock: the start of the request that tapped, opened the
    URL or asked Siri (what it caused comes after), or None for a recipe that only looked. A recipe
    returns later (it checks what follows: a second window, the screen): with WDA's real find
    latency (0.1-2 s) a mark taken on return would trail the action by that much."""
    path: str | None = None
    """Which way the recipe went where the phone may differ (``prompt``/``no-prompt``, ``sheet``)."""


class Phone:
    """One phone's UI, through its WDA at ``url`` (``http://...`` or ``http+usbmux://UDID:8100``).

    ``ios_version`` defaults to what WDA's ``/status`` reports. Screenshots and sources of failed
    recipes go to ``artifacts`` (default: the current directory). ``locators``: the lab's own
    locators per recipe table (:data:`harness.phone.locators.RECIPES` names them), tried before the
    shipped ones.
    """

    def __init__(
        self,
        url: str,
        *,
        name: str = "",
        ios_version: str | None = None,
        timeline: Timeline | None = None,
        artifacts: str | Path | None = None,
        timeout: float = 30.0,
        locators: Mapping[str, tuple[Locator, ...]] | None = None,
    ) -> None:
        self.name = name or url
        self.lab_locators: dict[str, tuple[Locator, ...]] = dict(locators or {})
        """The lab file's own locators per recipe table (``locators:`` in lab.yaml): tried first."""
        unknown = set(self.lab_locators) - set(L.RECIPES)
        if unknown:
            raise UsageError(f"locators for unknown recipe table(s) {sorted(unknown)}; known: "
                             f"{', '.join(L.RECIPES)}")
        self.observer: Callable[[str], None] | None = None
        """Called at the points where a recipe is between two steps and the screen is worth saving
        (``dial-prompt``, ``first-accept``, ``siri-asked``, ``settings-scrolled``, ``developer-opened``,
        ``reset-sheet``):
        ``harness phone survey`` captures the screen there. None: nothing is called."""
        self.wda = WdaConnection(url, name=self.name, timeout=timeout)
        self.timeline = timeline
        self.artifacts = Path(artifacts) if artifacts is not None else Path.cwd()
        self._ios_version = ios_version
        self._misses = 0
        self._active_app: tuple[str, str] | None = None
        """(session id, app) last set as defaultActiveApplication; None until the first use of the
        phone sets it to "auto" (an adopted session may hold a forced app from an earlier test)."""
        self._window: tuple[int, int] | None = None
        self._acted_ns: int | None = None
        """When the last action (tap, slide, alert click, side button) happened: see Match.t_ns."""
        self.matched: list[Match] = []
        """Every locator match of this phone's recipes, in order (what ``harness phone survey``
        turns into the actions of the screens it saved)."""

    # -- identity --------------------------------------------------------------------------------

    @property
    def ios_version(self) -> str:
        if self._ios_version is None:
            status = self.wda.wait_ready()
            self._ios_version = str((status.get("os") or {}).get("version") or "0")
        return self._ios_version

    @property
    def ios_major(self) -> int:
        return ios.major(self.ios_version)

    def _now(self) -> int:
        return self.timeline.now() if self.timeline is not None else time.monotonic_ns()

    def _acting(self, what: str, fn: Any, *args: Any,
                passthrough: tuple[type[BaseException], ...] = ()) -> Any:
        """``self.wda.call(what, fn, *args)``, remembering when it started (see Match.t_ns)."""
        start = self._now()
        out = self.wda.call(what, fn, *args, passthrough=passthrough)
        self._acted_ns = start
        return out

    def _emit(self, kind: str, **fields: Any) -> None:
        if self.timeline is not None:
            self.timeline.emit("phone", kind, phone=self.name, **fields)

    def _ordered(self, table: Table) -> list[Locator]:
        """A recipe table's locators in the order they are tried: for a named table
        (:data:`~harness.phone.locators.RECIPES`) the lab's own first, then the shipped ones; each
        group with this iOS version's first (:func:`~harness.phone.locators.ordered`)."""
        if isinstance(table, str):
            return (L.ordered(self.lab_locators.get(table, ()), self.ios_major)
                    + L.ordered(L.RECIPES[table], self.ios_major))
        return L.ordered(table, self.ios_major)

    def _observe(self, point: str) -> None:
        if self.observer is not None:
            self.observer(point)

    # -- apps ------------------------------------------------------------------------------------

    def launch_app(
        self,
        bundle_id: str,
        env: dict[str, str] | None = None,
        arguments: list[str] | None = None,
        *,
        relaunch: bool = True,
        timeout: float = 30.0,
    ) -> None:
        """Launch ``bundle_id`` with ``env`` and bring it to the front.

        WDA only activates an app that already runs and drops the new environment, so with
        ``relaunch`` (the default) a running app is terminated first.
        """
        if not bundle_id:
            raise UsageError("launch_app needs a bundle id (the app's CFBundleIdentifier)")
        env = {str(k): str(v) for k, v in (env or {}).items()}
        c = self.wda.client
        self.wda.session_id()
        if relaunch and self.wda.call("app state", c.app_state, bundle_id).value > 1:
            self.wda.call("terminate", c.app_terminate, bundle_id)
        try:
            self.wda.call("launch", c.app_launch, bundle_id, list(arguments or []), env,
                          passthrough=(wda.WDAError,))
        except wda.WDAError as exc:
            raise LabFault(f"{self.name}: WDA could not launch {bundle_id}: {exc}", tag=APP_LAUNCH) from exc
        end = time.monotonic() + timeout
        while (state := self.wda.call("app state", c.app_state, bundle_id).value) != FOREGROUND:
            if time.monotonic() > end:
                raise LabFault(
                    f"{self.name}: {bundle_id} not in the foreground {timeout:.0f} s after launch "
                    f"(state {state})",
                    tag=APP_LAUNCH,
                )
            time.sleep(POLL_S)
        self._emit("app-launched", bundle_id=bundle_id, env_keys=sorted(env))

    def terminate_app(self, bundle_id: str) -> bool:
        return bool(self.wda.call("terminate", self.wda.client.app_terminate, bundle_id).value)

    def app_state(self, bundle_id: str) -> int:
        return int(self.wda.call("app state", self.wda.client.app_state, bundle_id).value)

    def foreground_app(self) -> str:
        return str(self.wda.call("active app", self.wda.client.app_current).get("bundleId", ""))

    def active_app_pid(self, bundle_id: str) -> int | None:
        """The pid of ``bundle_id`` when it is the app WDA sees in front (/wda/activeAppInfo), else
        None. iOS's daemons may name an app by pid in their log lines."""
        info = self.wda.call("active app", self.wda.client.app_current)
        pid = info.get("pid") if isinstance(info, dict) and info.get("bundleId") == bundle_id else None
        return int(pid) if isinstance(pid, int | str) and str(pid).isdigit() else None

    # -- calls -----------------------------------------------------------------------------------

    def dial(self, uri: str, *, timeout: float = 20.0) -> Match:
        """Call ``uri`` (``tel:+1555...`` or ``facetime-audio:ADDRESS``), confirming "Call ...?" if asked.

        Whether iOS prompts when WDA (XCTest) opens the URL is unknown (REV Q2, RIP H4): the recipe
        waits for either the prompt or the in-call screen, taps the prompt only if it came first, and
        records which (``path``: ``prompt`` or ``no-prompt``)."""
        if not re.match(r"^(tel|facetime-audio|facetime):[^\s]+$", uri or ""):
            raise UsageError(
                f"dial: {uri!r} is not a call URL; use tel:+15551234567 or facetime-audio:user@example.com"
            )
        self.wda.session_id()
        try:
            self._acting("open url", self.wda.client.open_url, uri, passthrough=(wda.WDAError,))
        except wda.WDAError as exc:
            raise LabFault(f"{self.name}: WDA could not open {uri}: {exc}", tag=WDA_ERROR) from exc
        opened = self._acted_ns
        prompt = self._ordered("confirm_dial")
        in_call = self._ordered("end_call")
        hit = self._find(prompt + in_call, timeout)
        if hit is None:
            self._miss("dial (neither the Call prompt nor the in-call screen)", prompt + in_call, timeout)
        n, loc, found = hit  # type: ignore[misc]
        if n >= len(prompt):  # the call started without a prompt
            return self._matched("dial", n - len(prompt), loc, found, path="no-prompt", t_ns=opened)
        self._observe("dial-prompt")
        self._act(loc, found)
        match = self._matched("dial", n, loc, found, path="prompt", t_ns=self._acted_ns)
        self._wait_for("dial", "end_call", timeout)
        return match

    def answer_call(self, *, timeout: float = 30.0) -> Match:
        """Answer the ringing call (banner, full screen, or the slider on a locked phone), then tap a
        second Accept if one shows (iOS 18's InCallService-then-SpringBoard Accept, the "double
        CallKit window": REV Q1.1); the timeline's ``path`` says which (``second-accept``/``one-tap``)."""
        match = self._run("answer_call", "answer_call", timeout, confirm_gone=True)
        self._observe("first-accept")
        follow = self._ordered("follow_up_accept")
        answered = self._ordered("end_call")
        # two passes at least: with a real WDA's find latency one pass can outlast the wait, and the
        # second window shows a moment after the first tap
        hit = self._find(follow + answered, FOLLOW_UP_S, min_passes=2)
        if hit is not None and hit[0] < len(follow):
            n, loc, found = hit
            self._act(loc, found)
            second = self._matched("answer_call follow-up", n, loc, found, path="second-accept",
                                   t_ns=self._acted_ns)
            return replace(match, t_ns=second.t_ns)  # the call was answered by the second tap
        else:
            # a second window of the same kind was tapped by the retap of the first locator
            self._emit("recipe-path", recipe="answer_call",
                       path="second-accept" if match.retaps else "one-tap",
                       seen="in-call screen" if hit is not None else f"nothing within {FOLLOW_UP_S:.0f} s")
        return match

    def decline_call(self, *, timeout: float = 30.0) -> Match:
        return self._run("decline_call", "decline_call", timeout, confirm_gone=True)

    def end_call(self, *, timeout: float = 15.0) -> Match:
        return self._run("end_call", "end_call", timeout, confirm_gone=True)

    def accept_permission_prompts(self, *, timeout: float = 5.0, limit: int = 5) -> list[str]:
        """Accept the app's first-run prompts (microphone, local network) until none shows for ``timeout``.

        Returns the prompts' texts, in order. Uses WDA's alert API (SpringBoard Alert elements).
        """
        c = self.wda.client
        self.wda.session_id()
        accepted: list[str] = []
        while len(accepted) < limit:
            end = time.monotonic() + timeout
            while True:
                probe = (wda.WDARequestError,)  # the alert API answers "no such alert" while there is none
                try:
                    text = self.wda.call("alert text", lambda: c.alert.text, passthrough=probe)
                    buttons = self.wda.call("alert buttons", c.alert.buttons, passthrough=probe)
                    break
                except wda.WDARequestError:
                    if time.monotonic() >= end:
                        return accepted
                    time.sleep(POLL_S)
            button = next((b for b in L.ALLOW_BUTTONS if b in buttons), None)
            if button is None:
                self._miss(
                    f"accept_permission_prompts ({text!r}: buttons {buttons})",
                    [Locator(f"alert button {b}", alert_button=b) for b in L.ALLOW_BUTTONS],
                    timeout,
                )
            self.wda.call(f"alert click {button}", c.alert.click, button)
            accepted.append(str(text))
            self._emit(
                "recipe",
                recipe="accept_permission_prompts",
                locator=f"alert button {button}",
                index=L.ALLOW_BUTTONS.index(str(button)),
                fallback=button != L.ALLOW_BUTTONS[0],
                provenance=L.UNVERIFIED,
                retaps=0,
                ios=self.ios_version,
                prompt=text,
            )
        return accepted

    def start_timer(self, seconds: int, *, timeout: float = 10.0) -> Match:
        """A Clock timer, set through Siri ("set a timer for N seconds"): no picker wheels to drive."""
        if seconds <= 0:
            raise UsageError(f"start_timer needs a positive number of seconds (got {seconds})")
        return self.siri(f"set a timer for {int(seconds)} seconds", timeout=timeout)

    def wait_timer_alert(self, *, timeout: float = 30.0) -> Match:
        """Wait until the timer's alarm shows (it went off), without stopping it."""
        return self._wait("timer_alert", "timer_stop", timeout)

    def stop_timer(self, *, timeout: float = 30.0) -> Match:
        """Stop the timer's alarm when it goes off (waits up to ``timeout`` for it)."""
        return self._run("stop_timer", "timer_stop", timeout)

    # -- Siri and Control Center ------------------------------------------------------------------

    def siri(self, text: str, *, timeout: float = 10.0) -> Match:
        """Ask Siri ``text`` (injected as recognised speech: the microphone path is not used)."""
        if not text:
            raise UsageError("siri needs the text to say, e.g. siri('what time is it')")
        self.wda.session_id()
        try:
            self._acting("siri", self.wda.client.siri_activate, text, passthrough=(wda.WDAError,))
        except wda.WDAError as exc:
            raise LabFault(
                f"{self.name}: Siri is not available through WDA: {exc} (enable Siri on the phone)",
                tag="siri-unavailable",
            ) from exc
        # WDA answered: Siri took the text. Its UI may live where XCTest does not look (REV Q6), so a
        # missing overlay is recorded, not a recipe miss.
        asked = self._acted_ns
        self._observe("siri-asked")
        locs = self._ordered("siri_shown")
        hit = self._find(locs, min(timeout, SIRI_UI_S))
        if hit is None:
            return self._matched("siri", len(locs), SIRI_ACTIVATED, None, path="ui-not-in-tree", t_ns=asked)
        n, loc, found = hit
        return self._matched("siri", n, loc, found, path="ui-seen", t_ns=asked)

    def open_control_center(self, *, timeout: float = 10.0) -> Match:
        """Swipe down from the top-right corner (Face ID iPhones), then wait for Control Center."""
        self.wda.session_id()
        c = self.wda.client
        w, h = self.wda.call("window size", c.window_size)
        self.wda.call("swipe", c.swipe, int(w * 0.95), 2, int(w * 0.95), int(h * 0.5), 0.1)
        return self._wait("open_control_center", "control_center", timeout)

    def close_control_center(self) -> None:
        """Swipe up (not Home: Home would send the app under test to the background)."""
        c = self.wda.client
        w, h = self.wda.call("window size", c.window_size)
        self.wda.call("swipe", c.swipe, w // 2, int(h * 0.95), w // 2, int(h * 0.2), 0.1)
        self._emit("control-center-closed")

    def pick_route(self, name: str, *, timeout: float = 10.0) -> Match:
        """Control Center > route picker > ``name``; Control Center is closed afterwards."""
        self.open_control_center(timeout=timeout)
        self._run("open_route_picker", "cc_route_picker", timeout)
        match = self._run(f"pick_route {name}", L.route_row(name), timeout)
        self.close_control_center()
        return match

    def set_bluetooth(self, on: bool, *, timeout: float = 10.0) -> bool:
        """Control Center's Bluetooth toggle to ``on``; returns whether it had to change."""
        self.open_control_center(timeout=timeout)
        locs = self._ordered("cc_bluetooth")
        hit = self._find(locs, timeout)
        if hit is None:
            self._miss("set_bluetooth", locs, timeout)
        n, loc, element = hit  # type: ignore[misc]
        try:
            value = self.wda.call("bluetooth value", lambda: element.value)
        except wda.WDAStaleElementReferenceError:  # the screen or WDA's session changed: look again
            hit = self._find(locs, timeout)
            if hit is None:
                self._miss("set_bluetooth", locs, timeout)
            n, loc, element = hit  # type: ignore[misc]
            value = self.wda.call("bluetooth value", lambda: element.value)
        changed = (str(value) == "1") != on
        if changed:
            self._act(loc, element)
        self._emit(
            "recipe",
            recipe="set_bluetooth",
            locator=loc.label,
            index=n,
            fallback=n > 0,
            provenance=loc.source,
            retaps=0,
            ios=self.ios_version,
            on=on,
            changed=changed,
        )
        self.close_control_center()
        return changed

    def connect_bluetooth(self, name: str, *, timeout: float = 20.0,
                          connected_value: str = L.BT_CONNECTED_VALUE) -> Match:
        """Settings > Bluetooth > ``name``, wait until its row says Connected, then back to the app
        that was in front (Settings takes the foreground meanwhile, as on a phone)."""
        before = self.foreground_app()
        self.launch_app(L.SETTINGS_BUNDLE, {}, timeout=timeout)
        self._run("open Settings > Bluetooth", "settings_bluetooth", timeout, scroll=True)
        match = self._run(f"connect_bluetooth {name}", L.bluetooth_row(name), timeout)
        end = time.monotonic() + timeout
        while True:
            hit = self._find(L.ordered(L.bluetooth_row(name), self.ios_major), 1.0)
            value = None
            if hit:
                with contextlib.suppress(wda.WDAStaleElementReferenceError):  # the next pass looks again
                    value = self.wda.call("row value", getattr, hit[2], "value",
                                          passthrough=(wda.WDAStaleElementReferenceError,))
            if value == connected_value:
                break
            if time.monotonic() > end:
                stem = safe_name(f"{self.name}-connect_bluetooth")
                png, xml = self.save_evidence(stem)
                raise LabFault(
                    f"{self.name}: {name} did not connect within {timeout:.0f} s (row says {value!r}); "
                    f"screenshot {png}, source {xml}",
                    tag="bluetooth-connect",
                )
            time.sleep(POLL_S)
        self._back_to(before)
        return match

    def bluetooth_state(self, name: str, *, timeout: float = 20.0) -> str:
        """What Settings > Bluetooth says of ``name`` (its row's value: "Connected", "Not Connected"),
        then back to the app that was in front."""
        before = self.foreground_app()
        self.launch_app(L.SETTINGS_BUNDLE, {}, timeout=timeout)
        self._run("open Settings > Bluetooth", "settings_bluetooth", timeout)
        value = self._bluetooth_row_value(name, timeout)
        self._back_to(before)
        return value

    def disconnect_bluetooth(self, name: str, *, timeout: float = 20.0, info_label: str = L.BT_INFO_LABEL,
                             disconnect_label: str = L.BT_DISCONNECT_LABEL,
                             connected_value: str = L.BT_CONNECTED_VALUE) -> Match | None:
        """Settings > Bluetooth > (i) of ``name`` > Disconnect; waits until the page no longer offers
        Disconnect (iOS shows it only while the device is connected), then back to the app that was in
        front. None when the row did not say connected (nothing to do). The labels are the lab's to
        change (``harness.lab.settings_bluetooth``) until they are confirmed on a phone."""
        before = self.foreground_app()
        self.launch_app(L.SETTINGS_BUNDLE, {}, timeout=timeout)
        self._run("open Settings > Bluetooth", "settings_bluetooth", timeout)
        if self._bluetooth_row_value(name, timeout) != connected_value:
            self._emit("bluetooth-state", device=name, connected=False)
            self._back_to(before)
            return None
        self._run(f"open {name} info", L.bluetooth_info(name, info_label), timeout)
        table = L.bluetooth_disconnect(disconnect_label)
        match = self._run(f"disconnect_bluetooth {name}", table, timeout)
        end = time.monotonic() + timeout
        while self._find(L.ordered(table, self.ios_major), 0.0) is not None:
            if time.monotonic() > end:
                stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{self.name}-disconnect_bluetooth")
                png, xml = self.save_evidence(stem)
                raise LabFault(f"{self.name}: {name} still offers {disconnect_label!r} {timeout:.0f} s after "
                               f"it was tapped; screenshot {png}, source {xml}", tag="bluetooth-disconnect")
            time.sleep(POLL_S)
        self._back_to(before)
        return match

    def _bluetooth_row_value(self, name: str, timeout: float) -> str:
        """The value of ``name``'s row in Settings > Bluetooth (a recipe miss when it is not listed)."""
        locs = L.ordered(L.bluetooth_row(name), self.ios_major)
        hit = self._find(locs, timeout)
        if hit is None:
            self._miss(f"bluetooth row {name}", locs, timeout)
        n, loc, found = hit  # type: ignore[misc]
        value = str(self.wda.call("row value", getattr, found, "value") or "")
        self._matched(f"bluetooth row {name}", n, loc, found)
        return value

    def open_settings_bluetooth(self, *, timeout: float = 20.0) -> Match:
        """Settings (relaunched: its root page) > Bluetooth; Settings stays in front."""
        self.launch_app(L.SETTINGS_BUNDLE, {}, timeout=timeout)
        return self._run("open Settings > Bluetooth", "settings_bluetooth", timeout, scroll=True)

    def open_settings_developer(self, *, timeout: float = 20.0) -> Match:
        """Settings (relaunched: its root page) > Developer, scrolled to (the row is below the fold on
        a real phone, RIP H5); Settings stays in front."""
        self.launch_app(L.SETTINGS_BUNDLE, {}, timeout=timeout)
        return self._run("open Settings > Developer", "settings_developer", timeout, scroll=True)

    def reset_media_services(self, *, timeout: float = 20.0, confirm: bool = True) -> Match:
        """Settings > Developer > Reset Media Services, then back to the app that was in front.

        ``confirm`` False taps the confirmation sheet's Cancel instead of its reset action (the
        survey on a real phone: the sheet is seen, media services are not reset); a phone that
        asks nothing has reset already."""
        before = self.foreground_app()
        self.open_settings_developer(timeout=timeout)
        self._observe("developer-opened")
        match = self._run("reset_media_services", "reset_media_services", timeout, scroll=True)
        sheet = self._ordered("reset_confirm" if confirm else "reset_cancel")
        hit = self._find(sheet, SHEET_S)
        if hit is not None:  # iOS 18.2/26.1 ask with an action sheet (REV Q4)
            self._observe("reset-sheet")
            n, loc, found = hit
            self._act(loc, found)
            self._matched(f"reset_media_services {'confirm' if confirm else 'cancel'}", n, loc, found,
                          path="sheet")
        else:
            self._emit("recipe-path", recipe="reset_media_services", path="no-confirmation")
        self._back_to(before)
        return match

    def play_other_audio(self, *, timeout: float = 20.0) -> Match:
        """Start playback in Music (other audio), then back to the app that was in front."""
        before = self.foreground_app()
        self.launch_app(L.MUSIC_BUNDLE, {}, relaunch=False, timeout=timeout)
        match = self._run("play_other_audio", "music_play", timeout)
        self._back_to(before)
        return match

    def stop_other_audio(self, *, timeout: float = 10.0) -> bool:
        """Pause Music if it plays (the baseline); True if it was playing.

        Music is brought to the front only when it may be playing: ``/wda/apps/state`` >= 3
        (XCTest's XCUIApplicationState: 1 not running, 2 background suspended, 3 background,
        4 foreground; XCUIApplication.h). Playing audio in the background keeps an app at 3; a
        phone without Music (deleted) answers 1 and costs one request, not a launch. Leaves Music
        in front when it paused it.
        """
        if self.app_state(L.MUSIC_BUNDLE) < RUNNING_BACKGROUND:
            return False
        self.launch_app(L.MUSIC_BUNDLE, {}, relaunch=False, timeout=timeout)
        hit = self._find(self._ordered("music_pause"), 1.0)
        if hit is None:
            return False
        n, loc, found = hit
        self._act(loc, found)
        self._matched("stop_other_audio", n, loc, found)
        return True

    def showing(self, tables: tuple[str, ...], timeout: float) -> str | None:
        """Which of the named recipe tables finds something first within ``timeout`` (None: none):
        a wait that records nothing and fails nothing (``harness phone survey`` saves the screen
        either way)."""
        self.wda.session_id()
        locs = [(t, loc) for t in tables for loc in self._ordered(t)]
        hit = self._find([loc for _, loc in locs], timeout)
        return locs[hit[0]][0] if hit is not None else None

    def timer_ringing(self) -> bool:
        """Whether a timer's alarm shows."""
        return self._find(self._ordered("timer_stop"), 0.2) is not None

    def in_call(self) -> bool:
        """Whether the phone shows a call (ringing or active) that the recipes could end."""
        self.wda.session_id()
        for table in ("end_call", "decline_call"):
            if self._find(self._ordered(table), 0.3) is not None:
                return True
        return False

    def tap_app_element(self, identifier: str, *, timeout: float = 10.0) -> Match:
        """Tap one of the app's own controls (the app contract: ``speakerButton``, ``endCallButton``)."""
        if not identifier or not re.match(r"^[A-Za-z0-9_.-]+$", identifier):
            raise UsageError(f"tap_app_element: {identifier!r} is not an accessibility identifier")
        return self._run(f"tap {identifier}", L.app_element(identifier), timeout)

    def _back_to(self, bundle_id: str) -> None:
        if bundle_id and bundle_id not in (L.SPRINGBOARD, L.SETTINGS_BUNDLE, L.MUSIC_BUNDLE):
            self.wda.call("activate", self.wda.client.app_activate, bundle_id)

    # -- buttons ---------------------------------------------------------------------------------

    def home(self) -> None:
        self.wda.call("home", self.wda.client.home)
        self._emit("button", button="home")

    def lock(self) -> None:
        # Adopt or create the session first: facebook-wda's session() unlocks a locked phone.
        self.wda.session_id()
        self.wda.call("lock", self.wda.client.lock)
        self._emit("button", button="lock")

    def unlock(self) -> None:
        self.wda.call("unlock", self.wda.client.unlock)
        self._emit("button", button="unlock")

    def locked(self) -> bool:
        return bool(self.wda.call("locked", self.wda.client.locked))

    def press(self, button: str) -> None:
        """``home``, ``volumeUp``, ``volumeDown`` (pressButton) or ``power`` (an IOHID press)."""
        c = self.wda.client
        self.wda.session_id()
        if button == "power":
            self.wda.call("power", c.press_duration, "power", 0.05)
        elif button in ("home", "volumeUp", "volumeDown"):
            self.wda.call(f"press {button}", c.press, button)
        else:
            raise UsageError(f"press: unknown button {button!r}; use home, volumeUp, volumeDown or power")
        self._emit("button", button=button)

    # -- evidence --------------------------------------------------------------------------------

    def screenshot(self) -> bytes:
        value = self.wda.call("screenshot", self.wda.client.http.get, "screenshot").value
        return base64.b64decode(value)

    def source(self) -> str:
        """The page source of the auto-detected app (WDA's no-session ``/source``)."""
        return str(self.wda.call("source", self.wda.client.source))

    def save_evidence(self, stem: str) -> tuple[Path, Path]:
        """Screenshot (PNG) and page source (XML) as ``<artifacts>/<stem>.png/.xml``."""
        self.artifacts.mkdir(parents=True, exist_ok=True)
        png, xml = self.artifacts / f"{stem}.png", self.artifacts / f"{stem}.xml"
        try:
            png.write_bytes(self.screenshot())
        except (LabFault, wda.WDAError) as exc:
            png = png.with_suffix(".png.txt")
            png.write_text(f"screenshot failed: {exc}\n")
        try:
            xml.write_text(self.source())
        except (LabFault, wda.WDAError) as exc:
            xml = xml.with_suffix(".xml.txt")
            xml.write_text(f"source failed: {exc}\n")
        return png, xml

    def save_app_sources(self, stem: str, apps: tuple[str, ...] = MISS_APPS) -> list[Path]:
        """Per app: ``defaultActiveApplication`` set to it, then ``GET /session/:id/source`` and
        ``/session/:id/wda/activeAppInfo`` (which app WDA really searched: it falls back to
        auto-detection when the app is neither in front nor active, FBSession.m). Writes
        ``<stem>.<app>.xml`` and one ``<stem>.apps.json`` naming what each request got; ``auto``
        is left set. A WDA that fails on one app still gets the others asked."""
        self.artifacts.mkdir(parents=True, exist_ok=True)
        c = self.wda.client
        index: dict[str, Any] = {}
        paths: list[Path] = []
        for app in apps:
            tag = re.sub(r"[^A-Za-z0-9_.-]+", "_", app)
            path = self.artifacts / f"{stem}.{tag}.xml"
            try:
                self.wda.call("settings", c.appium_settings, {"defaultActiveApplication": app})
                self._active_app = (self.wda.call("session", lambda: c.session_id), app)
                searched = self.wda.session_get("/wda/activeAppInfo")
                start = time.monotonic()
                path.write_text(str(self.wda.session_get("/source")))
                index[app] = {"searched": (searched or {}).get("bundleId"), "source": path.name,
                              "source_s": round(time.monotonic() - start, 3)}
                paths.append(path)
            except (LabFault, wda.WDAError) as exc:
                index[app] = {"error": str(exc)[:300]}
        try:
            index["activeAppInfo (no session)"] = self.wda.call("active app", c.app_current)
        except (LabFault, wda.WDAError) as exc:
            index["activeAppInfo (no session)"] = {"error": str(exc)[:300]}
        with contextlib.suppress(LabFault, wda.WDAError):
            self._use_app(None)
        info = self.artifacts / f"{stem}.apps.json"
        info.write_text(json.dumps(index, indent=2, default=str) + "\n")
        return [*paths, info]

    # -- the recipe engine -----------------------------------------------------------------------

    def focus_on(self, match: Match) -> None:
        """Make the app a recipe matched in WDA's active app, so ``source()``/``screenshot()``
        show that screen (an overlay such as Siri is not in the auto-detected app's tree)."""
        self._use_app(match.locator.app)

    def _use_app(self, app: str | None) -> None:
        """Point WDA's finds at ``app`` (None: auto-detection); sent when it changes, and once on the
        first use of this phone (an adopted session may still hold a forced app)."""
        c = self.wda.client
        want = app or "auto"
        key = (self.wda.call("session", lambda: c.session_id), want)
        if self._active_app != key:
            self.wda.call("settings", c.appium_settings, {"defaultActiveApplication": want})
        self._active_app = key

    def _present(self, loc: Locator) -> Any:
        """The element (or alert button label) ``loc`` finds now, or None."""
        c = self.wda.client
        self._use_app(loc.app)
        if loc.alert_button is not None:
            try:
                buttons = self.wda.call("alert buttons", c.alert.buttons, passthrough=(wda.WDARequestError,))
            except wda.WDARequestError:
                return None  # no such alert
            return loc.alert_button if loc.alert_button in buttons else None
        ids = self.wda.call(f"find {loc.label}", c(**loc.selector).find_element_ids)
        return wda.Element(c, ids[0]) if ids else None

    def _find(self, locs: list[Locator], timeout: float, *, min_passes: int = 1
              ) -> tuple[int, Locator, Any] | None:
        """The first locator present, trying all in order per pass until ``timeout`` (and at least
        ``min_passes`` passes: one pass of finds can outlast a short timeout on a real WDA)."""
        end = time.monotonic() + timeout
        passes = 0
        while True:
            for n, loc in enumerate(locs):
                found = self._present(loc)
                if found is not None:
                    return n, loc, found
            passes += 1
            if time.monotonic() >= end and passes >= min_passes:
                self._use_app(None)
                return None
            time.sleep(POLL_S)

    def _find_scrolling(self, locs: list[Locator], timeout: float) -> tuple[int, Locator, Any] | None:
        """:meth:`_find`, scrolling the list down between passes: Settings rows below the fold are
        not in the tree until scrolled (RIP H5; WDA 16.7 ``POST /wda/scroll {"direction": "down"}``)."""
        end = time.monotonic() + timeout
        scrolls = 0
        while True:
            hit = self._find(locs, 0.0)
            if hit is not None:
                return hit
            if time.monotonic() >= end or scrolls >= MAX_SCROLLS:
                return None
            self._use_app(None)
            self.wda.call("scroll down", self.wda.client._session_http.post, "/wda/scroll",
                          {"direction": "down", "distance": 0.8})
            scrolls += 1
            self._emit("scroll", direction="down", n=scrolls)
            self._observe("settings-scrolled")

    def _window_size(self) -> tuple[int, int]:
        if self._window is None:
            size = self.wda.call("window size", self.wda.client.window_size)
            self._window = (int(size.width), int(size.height))
        return self._window

    def _on_screen(self, rect: Any) -> bool:
        w, h = self._window_size()
        cx, cy = rect.x + rect.width / 2, rect.y + rect.height / 2
        return 0 <= cx < w and 0 <= cy < h

    def _act(self, loc: Locator, found: Any, *, stale_ok: bool = False) -> None:
        """Tap (or slide) what ``loc`` found. ``stale_ok``: a stale element raises
        ``wda.WDAStaleElementReferenceError`` for the caller to look again; otherwise a lab fault."""
        c = self.wda.client
        stale = (wda.WDAStaleElementReferenceError,) if stale_ok else ()
        if loc.alert_button is not None:
            self._acting(f"alert click {found}", c.alert.click, found)
            return
        if loc.gesture == L.POWER_TWICE:
            for _ in range(2):
                self._acting("power", c.press_duration, "power", 0.05)
            return
        try:
            rect = self.wda.call("rect", lambda: found.bounds,
                                 passthrough=(wda.WDAStaleElementReferenceError,))
        except wda.WDAStaleElementReferenceError:
            # the screen changed since the find, or another client replaced WDA's session (element
            # references die with it): find the same thing once more
            again = self._present(loc)
            if again is None:
                if stale_ok:
                    raise  # the caller looks again
                raise LabFault(f"{self.name}: {loc.label} went away between its find and its tap",
                               tag=RECIPE_MISS) from None
            found = again
            rect = self.wda.call("rect", lambda: found.bounds)
        if not self._on_screen(rect):
            # outside the window a coordinate tap errs or lands on nothing: scroll it into view first
            self.wda.call("scroll to visible", found.scroll, "visible")
            self._emit("scroll", to_visible=loc.label)
            rect = self.wda.call("rect", lambda: found.bounds)
            if not self._on_screen(rect):
                raise LabFault(f"{self.name}: {loc.label} stays outside the {self._window_size()} window "
                               f"after scrolling it into view (rect {rect})", tag=RECIPE_MISS)
        if loc.gesture == L.SLIDE:
            y = rect.y + rect.height // 2
            self._acting("slide", c.swipe, rect.x + 5, y, rect.x + rect.width - 5, y, 0.1)
        else:
            start = self._now()
            self.wda.tap(rect.x + rect.width // 2, rect.y + rect.height // 2, passthrough=stale)
            self._acted_ns = start

    def _run(
        self, recipe: str, table: Table, timeout: float, *, confirm_gone: bool = False,
        scroll: bool = False,
    ) -> Match:
        locs = self._ordered(table)
        self.wda.session_id()
        find = self._find_scrolling if scroll else self._find
        hit = find(locs, timeout)
        if hit is None:
            self._miss(recipe, locs, timeout)
        n, loc, found = hit  # type: ignore[misc]
        self._acted_ns = None
        try:
            self._act(loc, found, stale_ok=True)
        except wda.WDAStaleElementReferenceError:
            hit = self._find(locs, 2.0)  # the screen changed between find and tap: look once more
            if hit is None:
                self._miss(recipe, locs, timeout)
            n, loc, found = hit  # type: ignore[misc]
            self._act(loc, found)
        retaps = 0
        if confirm_gone and loc.alert_button is None and loc.gesture != L.POWER_TWICE:
            # "double CallKit window": the public helper taps again when the button is still there.
            time.sleep(POLL_S)
            again = self._present(loc)
            if again is not None:
                retaps = 1
                with contextlib.suppress(wda.WDAStaleElementReferenceError):
                    self._act(loc, again)
        return self._matched(recipe, n, loc, found, retaps, t_ns=self._acted_ns)

    def _matched(self, recipe: str, n: int, loc: Locator, found: Any, retaps: int = 0,
                 path: str | None = None, t_ns: int | None = None) -> Match:
        """Record which locator matched (and whether it was a fallback, and the path taken where the
        phone may differ), then reset WDA's active app."""
        self._emit(
            "recipe",
            recipe=recipe,
            locator=loc.label,
            index=n,
            fallback=n > 0,
            provenance=loc.source,
            retaps=retaps,
            ios=self.ios_version,
            **({"path": path} if path is not None else {}),
            **({"acted_ns": t_ns} if t_ns is not None else {}),
        )
        self._use_app(None)
        match = Match(recipe, loc, n, found, retaps=retaps, t_ns=t_ns, path=path)
        self.matched.append(match)
        return match

    def _wait_for(self, recipe: str, table: Table, timeout: float) -> None:
        locs = self._ordered(table)
        if self._find(locs, timeout) is None:
            self._miss(f"{recipe} (waiting for the in-call screen)", locs, timeout)

    def _wait(self, recipe: str, table: Table, timeout: float) -> Match:
        """A recipe whose locators only confirm a screen (nothing to tap); records which one matched."""
        locs = self._ordered(table)
        hit = self._find(locs, timeout)
        if hit is None:
            self._miss(recipe, locs, timeout)
        n, loc, found = hit  # type: ignore[misc]
        return self._matched(recipe, n, loc, found)

    def _miss(self, recipe: str, locs: list[Locator], timeout: float) -> None:
        self._misses += 1
        stem = safe_name(f"{self.name}-{recipe}-{self._misses}")
        png, xml = self.save_evidence(stem)
        sources = self.save_app_sources(stem)
        tried = "; ".join(loc.label for loc in locs)
        self._emit(
            "recipe-miss",
            recipe=recipe,
            tried=[loc.label for loc in locs],
            screenshot=str(png),
            page_source=str(xml),
            app_sources=[str(p) for p in sources],
            ios=self.ios_version,
        )
        fault = LabFault(
            f"{self.name} (iOS {self.ios_version}): {recipe} found none of its locators within "
            f"{timeout:.0f} s (tried: {tried}); screenshot {png}, sources {xml} and "
            f"{', '.join(p.name for p in sources)}",
            tag=RECIPE_MISS,
        )
        fault.artifacts = [png, xml, *sources]  # type: ignore[attr-defined]
        raise fault
