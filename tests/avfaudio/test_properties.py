"""Stateful property tests: any sequence of route and interruption events keeps the route rules.

- exactly one output route (per app session that plays, and for the phone call);
- never A2DP output for a session without allowBluetoothA2DP;
- never the speaker after an override was ended by a route change or interruption (unless the
  session's own defaultToSpeaker rule puts it there with nothing else connected).
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from harness.ios import IOS_VERSIONS
from harness.sim.avfaudio import (
    AudioSessionError,
    AudioWorld,
    CategoryOptions,
    PortOverride,
    airpods,
    bluetooth_headset,
    bluetooth_speaker,
    car_audio,
    wired_headphones,
)
from harness.sim.avfaudio.ports import AccessoryState
from harness.sim.avfaudio.rules import Timings

APP = "com.example.voice"
ACCESSORIES = [airpods(), bluetooth_headset(), bluetooth_speaker(), wired_headphones(), car_audio()]
UIDS = [a.uid for a in ACCESSORIES]
OPTION_SETS = [
    CategoryOptions(0),
    CategoryOptions.allowBluetoothHFP,
    CategoryOptions.allowBluetoothA2DP,
    CategoryOptions.allowBluetoothHFP | CategoryOptions.allowBluetoothA2DP,
    CategoryOptions.defaultToSpeaker,
    CategoryOptions.defaultToSpeaker | CategoryOptions.allowBluetoothA2DP,
    CategoryOptions.duckOthers,
]
MODES = ["default", "voiceChat", "videoChat"]


def app_runs(machine: AudioRoutes) -> bool:
    """A suspended app's process is stopped: it cannot call its AVAudioSession."""
    return not machine.world.app_state(APP)["suspended"]


class AudioRoutes(RuleBasedStateMachine):
    @initialize(version=st.sampled_from(IOS_VERSIONS), seed=st.integers(0, 2**16))
    def start(self, version: int, seed: int) -> None:
        self.world = AudioWorld(version, seed=seed, timings=Timings(siri_never_ends_probability=0.3))
        for accessory in ACCESSORIES:
            self.world.accessory_paired(accessory)
        self.session = self.world.launch(APP)
        self.session.set_category("playAndRecord", "voiceChat")
        self.session.set_active(True)
        self.override_ended = False
        self.seen = 0

    # -- events
    @rule(uid=st.sampled_from(UIDS))
    def connect(self, uid: str) -> None:
        was = self.world.accessories.get(uid).state
        self.world.accessory_connected(uid)
        if was is not AccessoryState.connected:
            self._route_changed()

    @rule(uid=st.sampled_from(UIDS), how=st.sampled_from(["disconnected", "powered_off", "out_of_range"]))
    def drop(self, uid: str, how: str) -> None:
        was = self.world.accessories.get(uid).state
        getattr(self.world, f"accessory_{how}")(uid)
        if was is AccessoryState.connected:
            self._route_changed()

    @precondition(app_runs)
    @rule(options=st.sampled_from(OPTION_SETS), mode=st.sampled_from(MODES))
    def set_category(self, options: CategoryOptions, mode: str) -> None:
        before = self.world._state(APP).config
        self.session.set_category("playAndRecord", mode, options)
        if self.world._state(APP).config != before:
            self._route_changed()  # a category change is a route change; re-setting the same one is not

    @precondition(app_runs)
    @rule()
    def override_speaker(self) -> None:
        self.session.override_output_audio_port(PortOverride.speaker)
        self.override_ended = False

    @precondition(app_runs)
    @rule()
    def override_none(self) -> None:
        self.session.override_output_audio_port(PortOverride.none)

    @precondition(app_runs)
    @rule()
    def activate(self) -> None:
        try:
            self.session.set_active(True)
        except AudioSessionError:
            pass  # a call, Siri or an alarm holds the audio: that refusal is itself a rule

    @precondition(lambda self: self.world.call is None)
    @rule(kind=st.sampled_from(["cellular_call", "facetime"]))
    def ring(self, kind: str) -> None:
        self.world.incoming_call(kind=kind)

    @precondition(lambda self: self.world.call is not None and self.world.call.state == "ringing")
    @rule()
    def answer(self) -> None:
        self.world.call_answered()

    @precondition(lambda self: self.world.call is not None)
    @rule(how=st.sampled_from(["caller_hung_up", "call_ended", "call_declined"]))
    def hang_up(self, how: str) -> None:
        if how != "caller_hung_up" and (how == "call_declined") != (self.world.call.state == "ringing"):
            how = "caller_hung_up"
        getattr(self.world, how)()

    @precondition(lambda self: self.world.call is not None)
    @rule(on=st.booleans())
    def call_speaker(self, on: bool) -> None:
        self.world.call_speaker(on)

    @rule()
    def siri(self) -> None:
        if self.world._holder_of_kind("siri") is None:
            self.world.siri_started()
        else:
            self.world.siri_dismissed()

    @rule()
    def timer(self) -> None:
        if self.world._holder_of_kind("timer") is None:
            self.world.alarm_fired("timer")
        else:
            self.world.alarm_dismissed("timer")

    @rule()
    def media_app(self) -> None:
        if self.world._holder_of_kind("media_app") is None:
            self.world.media_app_played()
        else:
            self.world.media_app_stopped()

    @rule()
    def foreground(self) -> None:
        self.world.app_foreground(APP)

    @rule(seconds=st.sampled_from([0.1, 0.5, 2.0, 5.0]))
    def wait(self, seconds: float) -> None:
        self.world.scheduler.advance(seconds)

    @rule()
    def media_services_reset(self) -> None:
        self.world.media_services_reset()
        self.world.scheduler.advance(self.world.timings.media_services_reset_delay_s)
        self.session.set_category("playAndRecord", "voiceChat")
        self._route_changed()

    # -- bookkeeping
    def _route_changed(self) -> None:
        self.override_ended = True

    def _check_interruptions(self) -> None:
        # The world's log says when an interruption happened (a suspended app hears of it later).
        new = self.world.log[self.seen :]
        self.seen += len(new)
        if any(e.fields.get("action") == "interrupt" and e.fields.get("bundle") == APP for e in new):
            self.override_ended = True

    # -- properties
    @invariant()
    def exactly_one_output(self) -> None:
        assert len(self.session.current_route.outputs) == 1
        assert len(self.world.call_route().outputs) == 1

    @invariant()
    def no_a2dp_without_the_option(self) -> None:
        out = self.session.current_route.output
        if out.port_type == "bluetoothA2DP":
            assert CategoryOptions.allowBluetoothA2DP in self.session.category_options

    @invariant()
    def no_speaker_after_the_override_ended(self) -> None:
        self._check_interruptions()
        if not self.override_ended:
            return
        assert self.world.app_state(APP)["override"] == "none"
        if self.session.current_route.output.port_type == "builtInSpeaker":
            assert CategoryOptions.defaultToSpeaker in self.session.category_options
            reachable = [e for e in self.world.accessories.connected() if self._reaches(e.accessory)]
            assert reachable == [], "defaultToSpeaker only when nothing else is connected"

    def _reaches(self, accessory) -> bool:
        from harness.sim.avfaudio import routing

        config = self.world._state(APP).config
        offer = routing.candidate(accessory, config)
        return offer is not None and offer.output is not None


TestAudioRoutes = AudioRoutes.TestCase
TestAudioRoutes.settings = settings(
    max_examples=int(os.environ.get("AVFAUDIO_EXAMPLES", "150")),
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
