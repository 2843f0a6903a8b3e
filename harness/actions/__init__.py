"""What a scenario does to the phones, in the user's terms, each step marked on the timeline.

:class:`Actions` wraps the phone recipes (``harness.phone``) into the steps the catalog is made of
(a phone call from the caller phone, Siri, a timer, Bluetooth, Music...). Every step puts a mark on
the timeline (source ``mark``) at the moment the verdicts measure from, so the report's action
lane and the expectations use the same instants.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from harness.errors import LabFault
from harness.timeline import Event, Timeline


@dataclass(frozen=True)
class Window:
    """A stretch of the call between two marks, in lab-clock ns."""

    start_ns: int
    end_ns: int

    @property
    def seconds(self) -> float:
        return (self.end_ns - self.start_ns) / 1e9

    @classmethod
    def before(cls, t_ns: int, seconds: float, margin_s: float = 0.3) -> Window:
        """The ``seconds`` up to ``margin_s`` before ``t_ns``."""
        return cls(t_ns - int((seconds + margin_s) * 1e9), t_ns - int(margin_s * 1e9))


class Actions:
    def __init__(self, dut: Any, caller: Any | None, timeline: Timeline,
                 accessories: dict[str, Any] | None = None) -> None:
        self.dut = dut
        self.caller = caller
        self.timeline = timeline
        self.accessories = accessories

    def mark(self, name: str, **fields: Any) -> Event:
        return self.timeline.mark(name, **fields)

    def mark_action(self, name: str, match: Any, **fields: Any) -> Event:
        """A mark at the moment a recipe acted (``Match.t_ns``: its tap), not when it returned: a recipe
        checks what follows its tap, which with a real WDA's find latency takes up to seconds."""
        t_ns = getattr(match, "t_ns", None)
        return self.timeline.mark(name, **fields, **({"t_ns": t_ns} if t_ns is not None else {}))

    def hold(self, seconds: float) -> Window:
        """Let the call run ``seconds``; the window leaves out its first 20 % (settling)."""
        start = self.timeline.now()
        time.sleep(seconds)
        end = self.timeline.now()
        return Window(start + int((end - start) * 0.2), end)

    # -- calls from the caller phone --------------------------------------------------------------

    def _caller(self) -> Any:
        if self.caller is None:
            raise LabFault("this scenario needs a caller phone (role: caller in the lab file)",
                           tag="lab-config")
        return self.caller

    def incoming_call(self, kind: str = "tel") -> Event:
        """The caller phone dials the DUT (``tel`` or ``facetime-audio``); returns the dial mark."""
        caller = self._caller()
        address = self.dut.number if kind == "tel" else self.dut.apple_id
        dialled = caller.phone.dial(f"{kind}:{address}")
        return self.mark_action("call-dialled", dialled, call_kind=kind)

    def answer(self) -> Event:
        return self.mark_action("call-answered", self.dut.phone.answer_call())

    def decline(self) -> Event:
        return self.mark_action("call-declined", self.dut.phone.decline_call())

    def caller_hangs_up(self) -> Event:
        return self.mark_action("call-ended", self._caller().phone.end_call())

    def phone_call(self, kind: str = "tel", hold_s: float = 3.0) -> Window:
        """Dial, answer, talk ``hold_s``, the caller hangs up: the window from answer to hang-up."""
        self.incoming_call(kind)
        answered = self.answer()
        time.sleep(hold_s)
        ended = self.caller_hangs_up()
        return Window(answered.t_ns, ended.t_ns)

    # -- system interruptions on the DUT ----------------------------------------------------------

    def siri(self, text: str, hold_s: float = 2.0) -> Window:
        """Ask Siri ``text``; after ``hold_s`` dismiss it with Home. Window: asked -> dismissed."""
        asked = self.mark_action("siri-asked", self.dut.phone.siri(text), text=text)
        time.sleep(hold_s)
        self.dut.phone.home()
        dismissed = self.mark("siri-dismissed")
        return Window(asked.t_ns, dismissed.t_ns)

    def timer(self, seconds: int, ring_s: float = 2.0) -> Window:
        """A Clock timer of ``seconds`` (set through Siri) goes off, rings ``ring_s``, is stopped.
        Window: from the alarm showing to its stop."""
        self.mark_action("timer-started", self.dut.phone.start_timer(seconds), seconds=seconds)
        self.dut.phone.wait_timer_alert(timeout=seconds + 30)
        fired = self.mark("timer-fired")
        time.sleep(ring_s)
        stopped = self.mark_action("timer-stopped", self.dut.phone.stop_timer())
        return Window(fired.t_ns, stopped.t_ns)

    def reset_media_services(self) -> Event:
        self.dut.phone.reset_media_services()
        return self.mark("media-services-reset")

    def lock(self) -> Event:
        self.dut.phone.lock()
        return self.mark("locked")

    def unlock(self) -> Event:
        self.dut.phone.unlock()
        return self.mark("unlocked")

    def play_other_audio(self) -> Event:
        self.dut.phone.play_other_audio()
        return self.mark("other-audio-started")

    # -- routes -----------------------------------------------------------------------------------

    def accessory(self, name: str) -> Any:
        found = (self.accessories or {}).get(name)
        if found is None:
            known = ", ".join(sorted(self.accessories or {})) or "none"
            raise LabFault(f"this scenario needs the accessory {name!r}; the lab file has: {known}",
                           tag="lab-config")
        return found

    def accessory_with(self, profile: str, only: bool = False) -> str:
        """The name of the DUT's accessory offering ``profile`` (``hfp``, ``a2dp``; ``only``: nothing
        else), so scenarios never hard-code a lab's device names."""
        for name, a in (self.accessories or {}).items():
            profiles = list(getattr(a.spec, "profiles", []))
            if (profiles == [profile]) if only else (profile in profiles):
                return name
        raise LabFault(f"the lab has no accessory with {'only ' if only else ''}{profile} for this DUT "
                       "(accessories: profiles: in the lab file)", tag="lab-config")

    def connect_bluetooth(self, name: str) -> Event:
        """Power the accessory on, then connect it in Settings > Bluetooth (as a tester would)."""
        self.accessory(name).power_on()
        self.dut.phone.connect_bluetooth(name)
        return self.mark("bluetooth-connected", device=name)

    def bluetooth_off(self, name: str) -> Event:
        """The accessory goes away (powered off) mid-call."""
        self.accessory(name).power_off()
        return self.mark("bluetooth-powered-off", device=name)

    def pick_route(self, name: str) -> Event:
        self.dut.phone.pick_route(name)
        return self.mark("route-picked", route=name)

    def tap(self, identifier: str) -> Event:
        self.dut.phone.tap_app_element(identifier)
        return self.mark("tapped", element=identifier)

    def back_to_app(self) -> None:
        """Bring the app under test back to the front (after a system app took it)."""
        app = getattr(self.dut, "app_bundle", None)
        if app:
            self.dut.phone.launch_app(app, relaunch=False)
