"""The survey's walk: both phones through every state the catalog needs, each saved as it was.

States, in order (``phone``: whose screen is saved): the DUT's home and lock screens; the caller's
home and its dial prompt (or none) when it calls the DUT; the DUT ringing in front of an app (then
the window after the first Accept, the call, its end), ringing on the home screen (then declined),
ringing while locked (answered with the slider; the caller hangs up); Siri asked a question and to
play music; a timer set (through Siri) and ending in front of an app; Control Center; Settings'
root, Bluetooth and Developer pages with Reset Media Services' confirmation sheet (cancelled unless
``confirm_reset``: a real phone's media services are not reset behind the lab's back); Music paused
and playing. Each state saves a screenshot, the sources of the auto-detected app, SpringBoard and
InCallService (and Siri's view service on Siri's states) through the session route with what WDA
searched, and the window of time whose device-log lines belong to it. The recipes drive the phones
(a lab's own locators included), and every match they make is kept: what a recipe tapped on a saved
screen is what that element does when a virtual phone replays the profile.

A state the walk cannot reach (a recipe miss, WDA failing, no phone number to dial) is recorded with
why, its screen saved anyway, and the walk goes on after bringing both phones back to the lab's
baseline. On the virtual lab every state is reached (tests/cli/test_survey.py); on a real phone the
unreachable ones are the findings.
"""

from __future__ import annotations

import contextlib
import functools
import statistics
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import wda

from harness.errors import LabFault
from harness.naming import safe_name
from harness.phone import locators as L
from harness.phone.recipes import Match
from harness.phone.survey.capture import APPS, SIRI_VIEW_SERVICE, Capture, capture
from harness.session import LabPhone, LabSession
from harness.timeline import Timeline

RING_WAIT_S = 25.0
"""How long the DUT may take to show an incoming call after the caller dialled."""
FOLLOW_UP_WAIT_S = 3.0
"""After the first Accept: how long to wait for a second window or the call (signvios waits 3 s)."""
FIND_PROBES = 8
"""Finds timed at the home screen for WDA's find latency."""
PROBE_NAME = "harness-survey-latency-probe"
"""A name no element has: the find walks the whole tree and answers nothing."""
STATES = ("home", "locked", "caller-home", "app-in-front", "dial-prompt", "incoming-app", "answered",
          "in-call", "ended", "incoming-home", "declined", "incoming-locked", "in-call-locked",
          "siri-question", "siri-music", "timer-set", "timer-ending", "control-center", "settings-root",
          "settings-bluetooth", "settings-developer", "reset-sheet", "music", "music-playing")
"""Every state a survey records, in the walk's order: each is reached, or recorded unreachable with
why (one the walk could not even attempt names the state before it that failed)."""
CALLER_STATES = ("caller-home", "dial-prompt")
CALL_STATES = STATES[STATES.index("caller-home"):STATES.index("in-call-locked") + 1]
"""The states of the calls: none is reachable without a caller and the DUT's number."""


@dataclass
class Act:
    """A recipe acted on an element of a saved state: that element does ``action`` (the profile's
    vocabulary, harness/sim/profiles/ios16.yaml)."""

    table: str
    locator: L.Locator
    action: str


@dataclass
class State:
    name: str
    phone: str
    about: str
    recipes: tuple[str, ...] = ()
    """The recipe tables that act on this state's screen (checked against its capture)."""
    base: str | None = None
    """The state whose trees this one is compared with (an overlay: what is new is the screen)."""
    status: str = "not reached"
    why: str = ""
    capture: Capture | None = None
    pages: list[Capture] = field(default_factory=list)
    """Further captures of the same screen scrolled down (Settings' lists)."""
    start_ns: int = 0
    end_ns: int = 0
    acts: list[Act] = field(default_factory=list)
    matches: list[Match] = field(default_factory=list)
    """What the live recipes matched while this state was up."""
    notes: list[str] = field(default_factory=list)
    folder: Path | None = None

    @property
    def reached(self) -> bool:
        return self.status == "reached"


@dataclass
class Measures:
    find_s: list[float] = field(default_factory=list)
    source_s: list[float] = field(default_factory=list)
    windows: dict[str, tuple[str, int, int]] = field(default_factory=dict)
    """Log-rate windows: name (idle, call) -> (phone role, lab start ns, lab end ns)."""

    def to_json(self) -> dict[str, Any]:
        def stats(xs: list[float]) -> dict[str, Any]:
            if not xs:
                return {"n": 0}
            ordered = sorted(xs)
            return {"n": len(xs), "median": round(statistics.median(xs), 3), "min": round(ordered[0], 3),
                    "max": round(ordered[-1], 3)}

        return {"find_s": stats(self.find_s), "source_s": stats(self.source_s)}


class Walk:
    """One survey's walk over ``dut`` and ``caller`` (lab phones of ``session``), saving into ``raw``."""

    def __init__(self, session: LabSession, dut: LabPhone, caller: LabPhone | None, raw: Path,
                 timeline: Timeline, *, confirm_reset: bool = False, log_window_s: float = 10.0,
                 timer_s: int = 8, say: Callable[[str], None] = lambda s: None) -> None:
        self.session = session
        self.dut = dut
        self.caller = caller
        self.raw = raw
        self.timeline = timeline
        self.confirm_reset = confirm_reset
        self.log_window_s = log_window_s
        self.timer_s = timer_s
        self.say = say
        self.states: dict[str, State] = {}
        self.measures = Measures()
        self.dial_path: str | None = None
        """``prompt`` or ``no-prompt`` (the caller's dial), once seen."""
        self.answer_path: str | None = None
        self.reset_path: str | None = None
        self._current: State | None = None

    # -- states --------------------------------------------------------------------------------------

    def phone(self, role: str) -> LabPhone:
        if role == "caller":
            if self.caller is None:
                raise LabFault("no caller phone is open", tag="lab-config")
            return self.caller
        return self.dut

    def declare(self, name: str, phone: str, about: str, recipes: tuple[str, ...] = (),
                base: str | None = None) -> State:
        state = State(name, phone, about, recipes, base)
        state.folder = self.raw / "states" / f"{len(self.states) + 1:02d}-{safe_name(name)}"
        self.states[name] = state
        return state

    @contextlib.contextmanager
    def state(self, name: str, phone: str, about: str, recipes: tuple[str, ...] = (),
              base: str | None = None) -> Iterator[State]:
        """Run the body as state ``name``: a fault marks it unreachable (with why) and the walk goes
        on; the phone's matches during it are kept."""
        state = self.states.get(name) or self.declare(name, phone, about, recipes, base)
        state.start_ns = self.timeline.now()
        ui = self.phone(phone).ui if (phone != "caller" or self.caller is not None) else None
        before = len(ui.matched) if ui is not None else 0
        self._current = state
        self.say(f"  {name}: {about}")
        try:
            yield state
            if state.status == "not reached":
                state.status = "reached"
        except (LabFault, wda.WDAError) as exc:
            state.status = "unreachable"
            state.why = " ".join(str(exc).split())[:600]
            self.say(f"    unreachable: {state.why[:200]}")
            if state.capture is None and ui is not None:
                with contextlib.suppress(Exception):  # save what the phone shows anyway
                    self.save(state)
        finally:
            state.end_ns = self.timeline.now()
            if ui is not None:
                state.matches = list(ui.matched[before:])
            self._current = None

    def unreachable(self, name: str, phone: str, about: str, why: str, recipes: tuple[str, ...] = (),
                    base: str | None = None) -> None:
        state = self.states.get(name) or self.declare(name, phone, about, recipes, base)
        state.status, state.why = "unreachable", why
        state.start_ns = state.end_ns = self.timeline.now()
        self.say(f"  {name}: unreachable: {why}")

    def save(self, state: State, apps: tuple[str, ...] = APPS) -> Capture:
        """The state's screen now (screenshot and sources)."""
        assert state.folder is not None
        cap = capture(self.phone(state.phone).ui, state.folder, state.phone, state.phone, apps)
        state.capture = cap
        self.measures.source_s += cap.source_s
        return cap

    def page(self, state: State) -> None:
        """One more page of a scrolled list (the auto-detected app's source only)."""
        assert state.folder is not None
        cap = capture(self.phone(state.phone).ui, state.folder, f"{state.phone}-page{len(state.pages) + 1}",
                      state.phone, ("auto",), screenshot=False)
        state.pages.append(cap)
        self.measures.source_s += cap.source_s

    def act(self, state_name: str, table: str, match: Match | None, action: str) -> None:
        """``match`` tapped an element of ``state_name``'s screen: that element does ``action``."""
        state = self.states.get(state_name)
        if state is not None and match is not None and match.locator is not None and action:
            state.acts.append(Act(table, match.locator, action))

    def matched_since(self, role: str, before: int, recipe: str) -> Match | None:
        """The last match of ``recipe`` the phone made after its ``before``-th."""
        found = [m for m in self.phone(role).ui.matched[before:] if m.recipe == recipe]
        return found[-1] if found else None

    def baseline(self, *roles: str) -> None:
        """Both phones (or ``roles``) to the lab's baseline; a failure is noted on the current state."""
        for role in roles or ("dut", "caller"):
            if role == "caller" and self.caller is None:
                continue
            phone = self.phone(role)
            phone.ui.observer = None
            try:
                self.session.to_baseline(phone, self.timeline, with_app=False)
            except (LabFault, wda.WDAError) as exc:
                self.say(f"    {role} did not reach the baseline: {' '.join(str(exc).split())[:200]}")

    @contextlib.contextmanager
    def observing(self, role: str, handlers: dict[str, Callable[[], object]]) -> Iterator[None]:
        """While the body runs, a recipe of ``role``'s phone reaching one of ``handlers``' points
        runs that handler (a failing handler is noted, never raised into the recipe)."""
        ui = self.phone(role).ui

        def observer(point: str) -> None:
            handler = handlers.get(point)
            if handler is None:
                return
            try:
                handler()
            except Exception as exc:  # a capture must never break the recipe it watches
                self.say(f"    saving at {point} failed: {str(exc)[:200]}")

        ui.observer = observer
        try:
            yield
        finally:
            ui.observer = None

    # -- the walk ------------------------------------------------------------------------------------

    def run(self) -> None:
        self.say("bringing both phones to the lab's baseline")
        self.baseline()
        self.screens_at_rest()
        self.calls()
        self.baseline()
        self.siri_and_timer()
        self.baseline("dut")
        self.control_center()
        self.settings()
        self.music()
        self.baseline()
        self.complete()

    def complete(self) -> None:
        """Every state of :data:`STATES` recorded, in that order: one the walk never attempted (a
        branch skipped after an earlier failure) is unreachable, naming the failure before it."""
        for i, name in enumerate(STATES):
            if name in self.states:
                continue
            failed = [self.states[n] for n in STATES[:i] if n in self.states and not self.states[n].reached]
            why = (f"not attempted: {failed[-1].name} was not reached ({failed[-1].why[:200]})" if failed
                   else "not attempted")
            self.unreachable(name, "caller" if name in CALLER_STATES else "dut", name, why)
        self.states = {**{n: self.states[n] for n in STATES}, **self.states}

    def screens_at_rest(self) -> None:
        ui = self.dut.ui
        with self.state("home", "dut", "the DUT's home screen; WDA's find latency and the idle log rate"):
            ui.home()
            self.save(self.states["home"])
            c = ui.wda.client
            for _ in range(FIND_PROBES):
                start = time.monotonic()
                ui.wda.call("find", c(name=PROBE_NAME).find_element_ids)
                self.measures.find_s.append(time.monotonic() - start)
            start = self.timeline.now()
            time.sleep(self.log_window_s)
            self.measures.windows["idle"] = ("dut", start, self.timeline.now())
        with self.state("locked", "dut", "the DUT locked"):
            ui.lock()
            time.sleep(0.5)
            self.save(self.states["locked"])
        with contextlib.suppress(LabFault, wda.WDAError):
            ui.unlock()

    # -- calls ---------------------------------------------------------------------------------------

    def calls(self) -> None:
        number = self.dut.spec.phone_number
        why = ("no caller phone (--caller)" if self.caller is None else
               f"the lab file gives {self.dut.name} no phone_number: the caller cannot dial it "
               "(add it to lab.yaml)" if not number else None)
        if why is not None:
            for name in CALL_STATES:
                self.unreachable(name, "caller" if name in CALLER_STATES else "dut", "a call from the caller",
                                 why)
            return
        assert self.caller is not None and number
        with self.state("caller-home", "caller", "the caller's home screen (what its dial prompt covers)"):
            self.caller.ui.home()
            self.save(self.states["caller-home"])
        with self.state("app-in-front", "dut", "an app in front of the DUT (Settings) before a call rings"):
            self.dut.ui.launch_app(L.SETTINGS_BUNDLE, {})
            self.save(self.states["app-in-front"])
        if self.ring("incoming-app", "ringing with an app in front (unlocked)", "app-in-front", number,
                     first=True) and self.answer("incoming-app", "answered", "app-in-front"):
            with self.state("in-call", "dut", "the DUT in the call; the log rate during a call",
                            ("end_call",)):
                self.save(self.states["in-call"])
                start = self.timeline.now()
                time.sleep(self.log_window_s)
                self.measures.windows["call"] = ("dut", start, self.timeline.now())
            with self.state("ended", "dut", "the DUT after it ended the call"):
                before = len(self.dut.ui.matched)
                self.dut.ui.end_call()
                self.act("in-call", "end_call", self.matched_since("dut", before, "end_call"), "call.end")
                time.sleep(1.0)
                self.save(self.states["ended"])
        self.baseline()
        if self.ring("incoming-home", "ringing on the home screen (unlocked)", "home", number):
            with self.state("declined", "dut", "the DUT after it declined the call"):
                before = len(self.dut.ui.matched)
                match = self.dut.ui.decline_call()
                self.act("incoming-home", "decline_call", self.matched_since("dut", before, "decline_call"),
                         "call.decline" if match.locator.gesture == L.TAP else "")
                time.sleep(1.5)
                self.save(self.states["declined"])
        self.baseline()
        with contextlib.suppress(LabFault, wda.WDAError):
            self.dut.ui.lock()
        if self.ring("incoming-locked", "ringing while the DUT is locked", "locked", number):
            with self.state("in-call-locked", "dut", "the DUT in the call answered on the lock screen",
                            ("end_call",)):
                before = len(self.dut.ui.matched)
                self.dut.ui.answer_call()
                answered = self.matched_since("dut", before, "answer_call")
                self.act("incoming-locked", "answer_call", answered, "call.accept")
                time.sleep(1.0)
                self.save(self.states["in-call-locked"])
                self.caller.ui.end_call()
                time.sleep(1.0)

    def ring(self, name: str, about: str, base: str, number: str, *, first: bool = False) -> bool:
        """The caller dials the DUT (the first time saving its dial prompt); the DUT's ringing screen
        is saved as ``name``. True when it rang."""
        assert self.caller is not None
        caller = self.caller.ui
        dialled = False
        if first:
            prompt = self.declare("dial-prompt", "caller", "the caller's dial prompt (Call ...?) when it "
                                  "dials the DUT, if iOS shows one", ("confirm_dial",), "caller-home")
            with self.state("dial-prompt", "caller", prompt.about):
                before = len(caller.matched)
                try:
                    with self.observing("caller", {"dial-prompt": lambda: self.save(prompt)}):
                        match = caller.dial(f"tel:{number}")
                finally:
                    dialled = True  # never dial twice: a dial that missed its screens may be ringing
                self.dial_path = match.path
                if match.path == "prompt":
                    self.act("dial-prompt", "confirm_dial", self.matched_since("caller", before, "dial"),
                             "prompt.call")
                else:
                    prompt.notes.append("no prompt: the call started as soon as WDA opened the URL")
                    self.save(prompt)
        state = self.declare(name, "dut", about, ("answer_call", "decline_call"), base)
        with self.state(name, "dut", about):
            if not dialled:
                caller.dial(f"tel:{number}")
            if self.dut.ui.showing(("answer_call", "decline_call"), RING_WAIT_S) is None:
                state.notes.append(f"no answer_call or decline_call locator found within {RING_WAIT_S:.0f} s")
            self.save(state)
        if not state.reached:
            self.baseline()
            return False
        return True

    def answer(self, ringing: str, name: str, base: str) -> bool:
        """Answer with the recipe, saving the window after its first tap (a second Accept, or already
        the call: the "double CallKit window", REV Q1.1)."""
        state = self.declare(name, "dut", "the DUT right after the first Accept (a second window, if any)",
                             ("follow_up_accept", "end_call"), base)
        ui = self.dut.ui

        def after_first() -> None:
            ui.showing(("follow_up_accept", "end_call"), FOLLOW_UP_WAIT_S)
            self.save(state)

        with self.state(name, "dut", state.about):
            before = len(ui.matched)
            with self.observing("dut", {"first-accept": after_first}):
                ui.answer_call()
            self.act(ringing, "answer_call", self.matched_since("dut", before, "answer_call"), "call.accept")
            second = self.matched_since("dut", before, "answer_call follow-up")
            if second is not None:
                self.answer_path = "second-accept"
                self.act(name, "follow_up_accept", second, "call.accept")
            else:
                first = self.matched_since("dut", before, "answer_call")
                self.answer_path = "second-accept" if first is not None and first.retaps else "one-tap"
        if not state.reached:
            for later in ("in-call", "ended"):
                self.unreachable(later, "dut", "the call", "the call was not answered (answered: "
                                 f"{state.why[:200]})")
        return state.reached

    # -- Siri, the timer -----------------------------------------------------------------------------

    def siri_and_timer(self) -> None:
        ui = self.dut.ui
        apps = ("auto", SIRI_VIEW_SERVICE, *APPS[1:])
        for name, text, about in (("siri-question", "what time is it", "Siri asked a question"),
                                  ("siri-music", "play some music", "Siri asked to play music")):
            state = self.declare(name, "dut", about, ("siri_shown",), "home")
            with self.state(name, "dut", about):
                ui.home()
                with self.observing("dut", {"siri-asked": functools.partial(self.save, state, apps)}):
                    ui.siri(text)
                if state.capture is None:
                    self.save(state, apps)
            self.baseline("dut")
        timer = self.declare("timer-set", "dut", f"a {self.timer_s} s timer set through Siri",
                             ("siri_shown",), "app-in-front")
        ending = self.declare("timer-ending", "dut", "the timer ending with an app in front",
                              ("timer_stop",), "app-in-front")
        with self.state("timer-set", "dut", timer.about):
            ui.launch_app(L.SETTINGS_BUNDLE, {})
            with self.observing("dut", {"siri-asked": lambda: self.save(timer, apps)}):
                ui.start_timer(self.timer_s)
        if not timer.reached:
            self.unreachable("timer-ending", "dut", ending.about, "the timer could not be set")
            return
        with self.state("timer-ending", "dut", ending.about):
            with contextlib.suppress(LabFault, wda.WDAError):
                ui.home()  # Siri's answer away; the app back in front
                ui.launch_app(L.SETTINGS_BUNDLE, {}, relaunch=False)
            if ui.showing(("timer_stop",), self.timer_s + 15.0) is None:
                ending.notes.append("no timer_stop locator found")
            self.save(ending)
            before = len(ui.matched)
            ui.stop_timer(timeout=5.0)
            stopped = self.matched_since("dut", before, "stop_timer")
            self.act("timer-ending", "timer_stop", stopped, "timer.stop")

    # -- Control Center, Settings, Music -------------------------------------------------------------

    def control_center(self) -> None:
        ui = self.dut.ui
        state = self.declare("control-center", "dut", "Control Center over the home screen",
                             ("control_center", "cc_bluetooth", "cc_route_picker"), "home")
        with self.state("control-center", "dut", state.about):
            ui.home()
            try:
                ui.open_control_center()
            finally:
                self.save(state)
                with contextlib.suppress(LabFault, wda.WDAError):
                    ui.close_control_center()

    def settings(self) -> None:
        ui = self.dut.ui
        root = self.declare("settings-root", "dut", "Settings' root list (scrolled down to Developer)",
                            ("settings_bluetooth", "settings_developer"))
        bluetooth = self.declare("settings-bluetooth", "dut", "Settings > Bluetooth")
        developer = self.declare("settings-developer", "dut", "Settings > Developer (scrolled down to Reset "
                                 "Media Services)", ("reset_media_services",))
        sheet = self.declare("reset-sheet", "dut", "Reset Media Services' confirmation "
                             + ("(confirmed: --confirm-reset)" if self.confirm_reset else "(cancelled)"),
                             ("reset_confirm", "reset_cancel"), "settings-developer")
        with self.state("settings-root", "dut", root.about):
            ui.launch_app(L.SETTINGS_BUNDLE, {})
            self.save(root)
        with self.state("settings-bluetooth", "dut", bluetooth.about):
            before = len(ui.matched)
            ui.open_settings_bluetooth()
            self.act("settings-root", "settings_bluetooth",
                     self.matched_since("dut", before, "open Settings > Bluetooth"), "settings:bluetooth")
            self.save(bluetooth)
        phase = {"page": root}
        with self.state("settings-developer", "dut", developer.about):
            before = len(ui.matched)

            def opened() -> None:
                phase["page"] = developer
                self.save(developer)

            with self.observing("dut", {"settings-scrolled": lambda: self.page(phase["page"]),
                                        "developer-opened": opened,
                                        "reset-sheet": lambda: self.save(sheet)}):
                ui.reset_media_services(confirm=self.confirm_reset)
            self.act("settings-root", "settings_developer",
                     self.matched_since("dut", before, "open Settings > Developer"), "settings:developer")
            self.act("settings-developer", "reset_media_services",
                     self.matched_since("dut", before, "reset_media_services"), "settings:reset-row")
            confirmed = self.matched_since("dut", before, "reset_media_services confirm")
            cancelled = self.matched_since("dut", before, "reset_media_services cancel")
            self.act("reset-sheet", "reset_confirm", confirmed, "settings:reset-media-services")
            self.act("reset-sheet", "reset_cancel", cancelled, "settings:reset-cancel")
            self.reset_path = "sheet" if (confirmed or cancelled) else "no-confirmation"
        if developer.reached and sheet.capture is None:
            sheet.status = "reached"
            sheet.notes.append("no confirmation: the row reset media services at once")
            if not self.confirm_reset:
                sheet.notes.append("the phone asked nothing, so media services WERE reset")
        elif sheet.capture is not None:
            sheet.status = "reached" if developer.reached else "unreachable"
            sheet.why = developer.why
        else:
            sheet.status, sheet.why = "unreachable", developer.why or "Settings > Developer not reached"
        sheet.start_ns, sheet.end_ns = developer.start_ns, developer.end_ns

    def music(self) -> None:
        ui = self.dut.ui
        paused = self.declare("music", "dut", "Music in front, paused", ("music_play",))
        playing = self.declare("music-playing", "dut", "Music playing", ("music_pause",))
        with self.state("music", "dut", paused.about):
            ui.launch_app(L.MUSIC_BUNDLE, {}, relaunch=False)
            self.save(paused)
        if not paused.reached:
            self.unreachable("music-playing", "dut", playing.about, "Music did not open")
            return
        with self.state("music-playing", "dut", playing.about):
            before = len(ui.matched)
            ui.play_other_audio()
            played = self.matched_since("dut", before, "play_other_audio")
            self.act("music", "music_play", played, "music.toggle")
            time.sleep(1.0)
            self.save(playing)
            ui.stop_other_audio()
