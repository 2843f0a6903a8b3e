"""What a scenario does to the phones, in the user's terms, each step marked on the timeline.

:class:`Actions` wraps the phone recipes (``harness.phone``) into the steps the catalog is made of
(a phone call from the caller phone, Siri, a timer, Bluetooth, Music...). Every step puts a mark on
the timeline (source ``mark``) at the moment the verdicts measure from, so the report's action
lane and the expectations use the same instants.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from harness import contract
from harness.errors import LabFault
from harness.timeline import Event, Span, Timeline

if TYPE_CHECKING:
    from harness.lab.accessories import LabAccessory
    from harness.session import LabPhone


class Actions:
    def __init__(self, dut: LabPhone, caller: LabPhone | None, timeline: Timeline,
                 accessories: dict[str, LabAccessory] | None = None) -> None:
        self.dut = dut
        self.caller = caller
        self.timeline = timeline
        self.accessories = accessories or {}

    def mark(self, name: str, **fields: Any) -> Event:
        return self.timeline.mark(name, **fields)

    def mark_action(self, name: str, match: Any, **fields: Any) -> Event:
        """A mark at the moment a recipe acted (``Match.t_ns``: its tap), not when it returned: a recipe
        checks what follows its tap, which with a real WDA's find latency takes up to seconds."""
        t_ns = getattr(match, "t_ns", None)
        return self.timeline.mark(name, **fields, **({"t_ns": t_ns} if t_ns is not None else {}))

    def now(self) -> int:
        """The lab clock now (ns)."""
        return self.timeline.now()

    def since(self, start: Event | int) -> Span:
        """From a mark (or a lab time) until now."""
        return Span(start.t_ns if isinstance(start, Event) else start, self.now())

    def hold(self, seconds: float) -> Span:
        """Let the call run ``seconds``; the span leaves out its first 20 % (settling)."""
        start = self.now()
        time.sleep(seconds)
        end = self.now()
        return Span(start + int((end - start) * 0.2), end)

    # -- calls from the caller phone --------------------------------------------------------------

    def _caller(self) -> LabPhone:
        if self.caller is None:
            raise LabFault("this scenario needs a caller phone (role: caller in the lab file)",
                           tag="lab-config")
        return self.caller

    def incoming_call(self, kind: str = "tel") -> Event:
        """The caller phone dials the DUT (``tel`` or ``facetime-audio``); returns the dial mark."""
        caller = self._caller()
        address = self.dut.number if kind == "tel" else self.dut.apple_id
        dialled = caller.ui.dial(f"{kind}:{address}")
        return self.mark_action("call-dialled", dialled, call_kind=kind)

    def answer(self) -> Event:
        return self.mark_action("call-answered", self.dut.ui.answer_call())

    def decline(self) -> Event:
        return self.mark_action("call-declined", self.dut.ui.decline_call())

    def caller_hangs_up(self) -> Event:
        return self.mark_action("call-ended", self._caller().ui.end_call())

    def phone_call(self, kind: str = "tel", hold_s: float = 3.0) -> Span:
        """Dial, answer, talk ``hold_s``, the caller hangs up: the span from answer to hang-up."""
        self.incoming_call(kind)
        answered = self.answer()
        time.sleep(hold_s)
        ended = self.caller_hangs_up()
        return Span(answered.t_ns, ended.t_ns)

    # -- system interruptions on the DUT ----------------------------------------------------------

    def siri(self, text: str, hold_s: float = 2.0) -> Span:
        """Ask Siri ``text``; after ``hold_s`` dismiss it with Home. Span: asked -> dismissed."""
        asked = self.mark_action("siri-asked", self.dut.ui.siri(text), text=text)
        time.sleep(hold_s)
        self.dut.ui.home()
        dismissed = self.mark("siri-dismissed")
        return Span(asked.t_ns, dismissed.t_ns)

    def timer(self, seconds: int, ring_s: float = 2.0) -> Span:
        """A Clock timer of ``seconds`` (set through Siri) goes off, rings ``ring_s``, is stopped.
        Span: from the alarm showing to its stop."""
        self.mark_action("timer-started", self.dut.ui.start_timer(seconds), seconds=seconds)
        self.dut.ui.wait_timer_alert(timeout=seconds + 30)
        fired = self.mark("timer-fired")
        time.sleep(ring_s)
        stopped = self.mark_action("timer-stopped", self.dut.ui.stop_timer())
        return Span(fired.t_ns, stopped.t_ns)

    def reset_media_services(self) -> Event:
        self.dut.ui.reset_media_services()
        return self.mark("media-services-reset")

    def lock(self) -> Event:
        self.dut.ui.lock()
        return self.mark("locked")

    def unlock(self) -> Event:
        self.dut.ui.unlock()
        return self.mark("unlocked")

    def play_other_audio(self) -> Event:
        self.dut.ui.play_other_audio()
        return self.mark("other-audio-started")

    # -- routes -----------------------------------------------------------------------------------

    def accessory(self, name: str) -> LabAccessory:
        found = self.accessories.get(name)
        if found is None:
            known = ", ".join(sorted(self.accessories)) or "none"
            raise LabFault(f"this scenario needs the accessory {name!r}; the lab file has: {known}",
                           tag="lab-config")
        return found

    def accessory_with(self, profile: str, only: bool = False) -> str:
        """The name of the DUT's accessory offering ``profile`` (``hfp``, ``a2dp``; ``only``: nothing
        else), so scenarios never hard-code a lab's device names."""
        for name, a in self.accessories.items():
            profiles = list(a.spec.profiles)
            if (profiles == [profile]) if only else (profile in profiles):
                return name
        raise LabFault(f"the lab has no accessory with {'only ' if only else ''}{profile} for this DUT "
                       "(accessories: profiles: in the lab file)", tag="lab-config")

    def connect_bluetooth(self, name: str) -> Event:
        """Power the accessory on, then connect it in Settings > Bluetooth (as a tester would)."""
        self.accessory(name).power_on()
        self.dut.ui.connect_bluetooth(name)
        return self.mark("bluetooth-connected", device=name)

    def bluetooth_off(self, name: str) -> Event:
        """The accessory goes away (powered off) mid-call."""
        self.accessory(name).power_off()
        return self.mark("bluetooth-powered-off", device=name)

    def pick_route(self, name: str) -> Event:
        self.dut.ui.pick_route(name)
        return self.mark("route-picked", route=name)

    def tap(self, identifier: str) -> Event:
        self.dut.ui.tap_app_element(identifier)
        return self.mark("tapped", element=identifier)

    def tap_speaker_button(self) -> Event:
        """The app's own loudspeaker toggle (the app contract's ``speakerButton``)."""
        return self.tap(contract.SPEAKER_BUTTON)

    def tap_end_call_button(self) -> Event:
        """The app's own end-of-call button (the app contract's ``endCallButton``)."""
        return self.tap(contract.END_CALL_BUTTON)

    def back_to_app(self) -> None:
        """Bring the app under test back to the front (after a system app took it)."""
        app = self.dut.app_bundle
        if app:
            self.dut.ui.launch_app(app, relaunch=False)
