"""The audio world of one virtual iPhone: the facade the scene, the control API and apps drive.

A deterministic state machine. Inputs are events (the scene's ``incoming_call``, ``siri_started``,
``accessory_connected``..., the apps' AVAudioSession calls); outputs are (a) per-app notification
deliveries in order, (b) the current route per app and of the system's own audio, (c) an event log of
what the world decided and sent, citing rule ids (ground truth for tests, never for verdicts).
Delays go through an injected :class:`~harness.sim.avfaudio.scheduler.Scheduler`; randomness (does
Siri ever end?) through one seeded RNG. Not thread-safe: drive it from one thread (the lab's loop).
"""

from __future__ import annotations

import functools
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from harness.errors import UsageError
from harness.sim.avfaudio import arbitration, routing
from harness.sim.avfaudio.avaudiosession import AVAudioSession
from harness.sim.avfaudio.constants import (
    AudioSessionError,
    Category,
    CategoryOptions,
    ErrorCode,
    InterruptionReason,
    PortOverride,
    RouteChangeReason,
    SetActiveOptions,
)
from harness.sim.avfaudio.notifications import CallKitCallback, Name, Notification, Payloads
from harness.sim.avfaudio.ports import (
    BUILT_IN_MIC,
    RECEIVER,
    SPEAKER,
    Accessories,
    Accessory,
    AccessoryState,
    Port,
    RouteDescription,
)
from harness.sim.avfaudio.rules import INTERRUPTERS, RULES, Interrupter, Timings
from harness.sim.avfaudio.scheduler import ManualScheduler, Scheduler
from harness.sim.avfaudio.session import SessionState
from harness.sim.versions import full_version, major, modelled, parse


@dataclass(frozen=True)
class Delivery:
    """One notification as one app received it."""

    seq: int
    bundle_id: str
    notification: Notification
    posted_ns: int
    delivered_ns: int

    @property
    def name(self) -> str:
        return self.notification.name

    @property
    def user_info(self) -> dict[str, Any]:
        return self.notification.user_info

    @property
    def late(self) -> bool:
        """Held back while the app was suspended [AP-WS]."""
        return self.delivered_ns > self.posted_ns


@dataclass(frozen=True)
class LogEntry:
    t_ns: int
    kind: str
    """``event`` (an input), ``decision`` (a rule applied), ``post``, ``deliver``, ``route``, ``process``."""
    fields: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {"t_ns": self.t_ns, "kind": self.kind, **self.fields}


@dataclass
class _App:
    session: SessionState
    route: RouteDescription
    foreground: bool = True
    suspended: bool = False
    terminated: bool = False
    observers: list[Callable[[Delivery], None]] = field(default_factory=list)
    inbox: list[tuple[int, Notification, int]] = field(default_factory=list)
    """Posted while suspended: (seq, notification, posted_ns)."""
    unread: list[Delivery] = field(default_factory=list)
    hinted: bool = False
    ended_on_return: str | None = None
    """Holder id whose ended waits until the app is foreground again (other media app) [TW-VQ]."""


@dataclass
class _Holder:
    """A system audio source holding the audio (a call, Siri, an alarm, another media app)."""

    id: str
    interrupter: Interrupter
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass
class Call:
    id: str
    kind: str
    caller: str
    state: str = "ringing"
    """``ringing`` or ``active``."""
    speaker: bool = False


@dataclass(frozen=True)
class WorldOptions:
    """Behaviour switches that are inferred, so a lab can change them after checking hardware."""

    call_style: str = "fullscreen"
    """``banner`` (iOS 14+ unlocked) or ``fullscreen`` (locked) incoming-call UI [AP-PNI]."""
    return_to_app_after_call: bool = True
    """When a call ends iOS returns to the app that was in front (inferred)."""
    auto_suspend: bool = True
    """Suspend a background app whose session is inactive (inferred, rule suspended_delivery_late)."""
    background_suspend_delay_s: float = 1.0
    wake_on_should_resume: bool = True
    """An ended+shouldResume wakes a suspended audio app to deliver it (inferred)."""
    callkit_self_activation_blocks_did_activate: bool = True
    """Rule callkit_self_activation (inferred from field reports)."""
    unduck_needs_notify: bool = True
    """Rule unduck_needs_notify (inferred from field reports): deactivating without
    notifyOthersOnDeactivation leaves other audio ducked. To verify on hardware."""

    def __post_init__(self) -> None:
        if self.call_style not in ("banner", "fullscreen"):
            raise UsageError(f"call_style must be 'banner' or 'fullscreen', not {self.call_style!r}")


def _step(method: Callable[..., Any]) -> Callable[..., Any]:
    """One world step: observers run only once the outermost step is complete (they may re-enter)."""

    @functools.wraps(method)
    def wrapper(self: AudioWorld, *args: Any, **kwargs: Any) -> Any:
        self._depth += 1
        try:
            return method(self, *args, **kwargs)
        finally:
            self._depth -= 1
            self._flush()

    return wrapper


class AudioWorld:
    """One phone's audio world. See the module docstring; the scene API is the public methods."""

    def __init__(
        self,
        ios_version: int | str = 18,
        *,
        scheduler: Scheduler | None = None,
        seed: int = 0,
        timings: Timings | None = None,
        options: WorldOptions | None = None,
        on_log: Callable[[LogEntry], None] | None = None,
        on_process: Callable[[str, bool], None] | None = None,
    ) -> None:
        try:
            full = full_version(str(ios_version))
            m = major(full)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        if m not in modelled():
            raise UsageError(
                f"iOS {ios_version} is not modelled; choose one of {', '.join(map(str, modelled()))}"
            )
        self.version = parse(full)
        self.payloads = Payloads(self.version)
        self.scheduler: Scheduler = scheduler or ManualScheduler()
        self.timings = timings or Timings()
        self.options = options or WorldOptions()
        self.seed = seed
        self._rng = random.Random(seed)
        self._on_log = on_log
        self._on_process = on_process
        self.accessories = Accessories()
        self._apps: dict[str, _App] = {}
        self._holders: dict[str, _Holder] = {}
        self.call: Call | None = None
        self._return_to: str | None = None
        self._foreground: str | None = None
        self._mic_muted = False
        self._other_audio = "stopped"
        self._duck_held = False
        self._ids = 0
        self._seq = 0
        self._outbox: list[Callable[[], None]] = []
        self._flushing = False
        self._depth = 0
        self.log: list[LogEntry] = []
        self.deliveries: list[Delivery] = []
        self._log("event", event="world_created", ios=full, seed=seed)

    # ================================================================== apps (launched by WDA)
    @_step
    def launch(self, bundle_id: str, *, foreground: bool = True) -> AVAudioSession:
        """A (re)launched app gets a fresh session in the default configuration."""
        if not bundle_id:
            raise UsageError("launch needs a bundle id, e.g. 'com.example.voice'")
        session = SessionState(bundle_id)
        self._apps[bundle_id] = _App(session, self._route_of(session), foreground=False)
        self._log("event", event="app_launched", bundle=bundle_id)
        if foreground:
            self.app_foreground(bundle_id)
        return AVAudioSession(self, bundle_id)

    def session(self, bundle_id: str) -> AVAudioSession:
        self._app(bundle_id)
        return AVAudioSession(self, bundle_id)

    @_step
    def terminate(self, bundle_id: str) -> None:
        app = self._app(bundle_id)
        app.terminated = True
        app.session.active = False
        app.inbox.clear()
        if self._foreground == bundle_id:
            self._foreground = None
        self._log("event", event="app_terminated", bundle=bundle_id)
        self._update_duck()

    @_step
    def app_foreground(self, bundle_id: str) -> None:
        """The app comes to the front (the user opened it, or iOS returned to it)."""
        app = self._app(bundle_id)
        for other_id, other in self._apps.items():
            if other_id != bundle_id and other.foreground:
                other.foreground = False
                self._maybe_suspend(other_id)
        app.foreground = True
        self._foreground = bundle_id
        self._log("event", event="app_foreground", bundle=bundle_id)
        media = self._holder_of_kind("media_app")
        if media is not None and media.detail.get("foreground"):
            self._media_stop(media, cause="backgrounded")  # a video pauses when its app leaves the front
        if app.suspended:
            self._resume(bundle_id, "foreground")
        if app.ended_on_return is not None:
            holder_id, app.ended_on_return = app.ended_on_return, None
            self._later(
                self.timings.media_app_ended_delay_s,
                lambda: self._end_interruption(bundle_id, holder_id, False, "media_app_ended_late_no_resume"),
            )

    @_step
    def app_background(self, bundle_id: str) -> None:
        """The app leaves the front (home gesture, another app opened)."""
        app = self._app(bundle_id)
        app.foreground = False
        if self._foreground == bundle_id:
            self._foreground = None
        self._log("event", event="app_background", bundle=bundle_id)
        self._maybe_suspend(bundle_id)

    @_step
    def app_suspended(self, bundle_id: str) -> None:
        """The lab (or the scene) says iOS suspended the app now."""
        self._suspend(bundle_id, "scene")

    @_step
    def app_resumed(self, bundle_id: str) -> None:
        self._resume(bundle_id, "scene")

    # ================================================================== phone calls
    @_step
    def incoming_call(self, caller: str = "+15550100", kind: str = "cellular_call") -> str:
        """A call starts ringing (``cellular_call`` or ``facetime``). Returns the call id."""
        if kind not in ("cellular_call", "facetime"):
            raise UsageError(f"call kind must be 'cellular_call' or 'facetime', not {kind!r}")
        if self.call is not None:
            raise UsageError(
                f"call {self.call.id} is still {self.call.state}; end it first (call waiting is not modelled)"
            )
        call = Call(self._new_id("call"), kind, caller)
        self.call = call
        holder = _Holder(call.id, INTERRUPTERS[kind])
        self._holders[call.id] = holder
        self._log(
            "event",
            event="incoming_call",
            call=call.id,
            call_kind=kind,
            caller=caller,
            call_style=self.options.call_style,
        )
        self._apply_interrupter(holder, "ring")
        return call.id

    @_step
    def call_answered(self, mode: str = "hold_and_accept") -> None:
        """The user answers. For a CallKit app in a call: ``hold_and_accept`` or ``end_and_accept``."""
        if mode not in ("hold_and_accept", "end_and_accept"):
            raise UsageError(f"answer mode must be 'hold_and_accept' or 'end_and_accept', not {mode!r}")
        call = self._ringing_call("answer")
        call.state = "active"
        self._log("event", event="call_answered", call=call.id, mode=mode)
        holder = self._holders[call.id]
        for bundle_id, app in self._live_apps():
            s = app.session
            rule = arbitration.interruption_rule(
                holder.interrupter, "answer", s, banner_call_style=self._banner, version=self.version
            )
            if rule == "callkit_hold_accept":
                self._callkit_yield(bundle_id, call.id, mode)
            elif rule is not None:
                self._interrupt(bundle_id, call.id, InterruptionReason.default, rule)
        # The in-call screen takes the front; iOS returns to the app when the call ends.
        self._return_to = self._foreground
        if self._foreground is not None:
            self.app_background(self._foreground)
        self._log("route", owner=call.id, route=self.call_route().to_dict())

    def call_declined(self) -> None:
        self._end_call("declined")

    def call_ignored(self) -> None:
        """Nobody answers (the call goes to voicemail)."""
        self._end_call("ignored")

    def caller_hung_up(self) -> None:
        """The remote party ends the call (before or after it was answered)."""
        self._end_call("remote")

    def call_ended(self) -> None:
        """The local user ends the answered call."""
        self._end_call("local")

    @_step
    def call_speaker(self, on: bool) -> None:
        """The user toggles the speaker in the in-call UI."""
        if self.call is None:
            raise UsageError("no call to switch to the speaker; start one with incoming_call")
        self.call.speaker = bool(on)
        self._log("route", owner=self.call.id, route=self.call_route().to_dict(), rule="call_route")

    @_step
    def callkit_unhold(self, bundle_id: str) -> None:
        """The user resumes a held CallKit call from the system UI [TW-VQ case C]."""
        s = self._state(bundle_id)
        if not s.on_hold:
            raise UsageError(f"{bundle_id} has no held CallKit call to resume")
        self._post(bundle_id, [Payloads.callkit(CallKitCallback.performSetHeldCallAction, isOnHold=False)])
        s.on_hold = False
        self._callkit_activate(bundle_id)

    # ================================================================== Siri, alarms, other media
    @_step
    def siri_started(self, plays_audio: bool = False) -> None:
        """Siri starts listening. ``plays_audio``: the request starts audio of its own (music, a
        podcast), so its ended comes without shouldResume [AP-GUIDE "Handling Interruptions From
        Siri"] (inferred: which requests do so)."""
        if self._holder_of_kind("siri") is not None:
            raise UsageError("Siri is already active; dismiss it first")
        never = self._rng.random() < self.timings.siri_never_ends_probability
        holder = _Holder(self._new_id("siri"), INTERRUPTERS["siri"],
                         {"never_ends": never, "should_resume": not plays_audio})
        self._holders[holder.id] = holder
        self._log("event", event="siri_started", holder=holder.id)
        self._log(
            "decision",
            rule="siri_ended_late_or_never",
            holder=holder.id,
            ended_will_come=not never,
            probability_never=self.timings.siri_never_ends_probability,
            seed=self.seed,
        )
        self._apply_interrupter(holder, "start")

    @_step
    def siri_dismissed(self) -> None:
        holder = self._holder_of_kind("siri")
        if holder is None:
            raise UsageError("Siri is not active; call siri_started first")
        del self._holders[holder.id]
        self._log("event", event="siri_dismissed", holder=holder.id)
        # rules siri_ended_late_or_never and no_guaranteed_ended: the ended may never come
        if not holder.detail["never_ends"]:
            self._schedule_ended(holder, self.timings.siri_end_delay_s)

    @_step
    def alarm_fired(self, kind: str = "timer") -> None:
        """A Clock timer or alarm (or a Calendar alarm: ``alarm``) goes off."""
        if kind not in ("timer", "alarm"):
            raise UsageError(f"alarm kind must be 'timer' or 'alarm', not {kind!r}")
        if self._holder_of_kind(kind) is not None:
            raise UsageError(f"a {kind} is already ringing; dismiss it first")
        holder = _Holder(self._new_id(kind), INTERRUPTERS[kind])
        self._holders[holder.id] = holder
        self._log("event", event="alarm_fired", holder=holder.id, alarm_kind=kind)
        self._apply_interrupter(holder, "start")

    @_step
    def alarm_dismissed(self, kind: str = "timer") -> None:
        holder = self._holder_of_kind(kind)
        if holder is None:
            raise UsageError(f"no {kind} is ringing; call alarm_fired({kind!r}) first")
        del self._holders[holder.id]
        self._log("event", event="alarm_dismissed", holder=holder.id)
        self._schedule_ended(holder, self.timings.call_ended_delay_s)

    @_step
    def media_app_played(self, name: str = "com.google.ios.youtube", *, foreground: bool = True) -> None:
        """Another app plays non-mixable media. ``foreground``: the user switched to that app."""
        if self._holder_of_kind("media_app") is not None:
            raise UsageError("another media app is already playing; stop it first")
        holder = _Holder(
            self._new_id("media"), INTERRUPTERS["media_app"], {"name": name, "foreground": foreground}
        )
        self._holders[holder.id] = holder
        self._log("event", event="media_app_played", holder=holder.id, name=name, foreground=foreground)
        if foreground and self._foreground is not None:
            self.app_background(self._foreground)
        self._other_audio = "playing"
        self._apply_interrupter(holder, "start")
        for bundle_id, app in self._live_apps():
            if arbitration.hint_recipient(app.session, app.foreground):
                app.hinted = True
                self._log("decision", rule="silence_secondary_hint", bundle=bundle_id, hint="begin")
                self._post(bundle_id, [Payloads.silence_secondary_audio_hint(True)])
        self._update_duck()

    @_step
    def media_app_stopped(self) -> None:
        holder = self._holder_of_kind("media_app")
        if holder is None:
            raise UsageError("no other media app is playing; call media_app_played first")
        self._media_stop(holder, cause="stopped")

    # ================================================================== accessories and routes
    def accessory_paired(self, accessory: Accessory) -> None:
        """Make an accessory known to the phone (paired or pluggable). It starts disconnected."""
        try:
            self.accessories.add(accessory)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        self._log(
            "event",
            event="accessory_paired",
            uid=accessory.uid,
            accessory_kind=str(accessory.kind),
            hfp=accessory.hfp,
            a2dp=accessory.a2dp,
        )

    @_step
    def accessory_connected(self, uid: str) -> None:
        if not self._accessories_call(lambda: self.accessories.connect(uid)):
            return
        self._log("event", event="accessory_connected", uid=uid)
        self._reroute(RouteChangeReason.newDeviceAvailable, lost=None)

    def accessory_disconnected(self, uid: str) -> None:
        """The user disconnects it (Control Center, Settings); the radio stays on."""
        self._drop(uid, AccessoryState.disconnected)

    def accessory_powered_off(self, uid: str) -> None:
        self._drop(uid, AccessoryState.powered_off)

    def accessory_out_of_range(self, uid: str) -> None:
        self._drop(uid, AccessoryState.out_of_range)

    @_step
    def media_services_reset(self) -> None:
        """Settings > Developer > Reset Media Services [QA1749]: lost now, reset after a delay."""
        self._log("event", event="media_services_reset")
        for bundle_id, _ in self._live_apps():
            self._post(bundle_id, [Payloads.media_services_lost()])
        self._later(self.timings.media_services_reset_delay_s, self._media_services_back)

    @_step
    def mic_hardware_muted(self, muted: bool) -> None:
        """The built-in mic is hardware-muted (or unmuted) [H27]."""
        muted = bool(muted)
        if muted == self._mic_muted:
            return
        self._mic_muted = muted
        self._log("event", event="mic_hardware_muted", muted=muted)
        for bundle_id, app in self._live_apps():
            s = app.session
            if muted and app.route.input == BUILT_IN_MIC:
                if arbitration.mic_mute_interrupts(s):
                    self._interrupt(
                        bundle_id, "mic_muted", InterruptionReason.builtInMicMuted, "mic_muted_interrupts"
                    )
                elif s.active:
                    s.mic_zeroed = True
                    self._log(
                        "decision", rule="mic_muted_interrupts", bundle=bundle_id, action="zero_buffers"
                    )
            elif not muted:
                s.mic_zeroed = False
                self._end_interruption(bundle_id, "mic_muted", True, "mic_muted_interrupts")

    # ================================================================== observations
    def route(self, bundle_id: str) -> RouteDescription:
        return self._app(bundle_id).route

    def playing_output(self, bundle_id: str) -> Port | None:
        """Where the app's audio really plays now: its output while active with I/O running, else None."""
        app = self._app(bundle_id)
        s = app.session
        if app.terminated or not s.active or not s.io_running or app.suspended:
            return None
        return app.route.output

    def call_route(self) -> RouteDescription:
        """The phone call's route (the receiver when no call, for display)."""
        connected = [e.accessory for e in self.accessories.connected()]
        return routing.call_route(connected, speaker=bool(self.call and self.call.speaker)).route

    def system_audio(self) -> dict[str, Port | None]:
        """What the system's own sources play, and where: holder id -> output port."""
        connected = [e.accessory for e in self.accessories.connected()]
        out: dict[str, Port | None] = {}
        for holder in self._holders.values():
            if holder.interrupter.kind in ("cellular_call", "facetime"):
                out[holder.id] = self.call_route().output
            else:
                out[holder.id] = routing.media_route(connected).route.output
        return out

    def bluetooth_devices(self) -> list[dict[str, Any]]:
        """What Settings > Bluetooth shows: every paired Bluetooth accessory and its state."""
        return [
            {
                "uid": e.accessory.uid,
                "name": e.accessory.name,
                "state": str(e.state),
                "hfp": e.accessory.hfp,
                "a2dp": e.accessory.a2dp,
            }
            for e in self.accessories.all()
            if e.accessory.kind == "bluetooth"
        ]

    def route_picker(self, bundle_id: str | None = None) -> list[dict[str, Any]]:
        """What Control Center's route picker lists: the built-in output and every connected device,
        with the one that plays now (the app's route, else the system media route) selected."""
        connected = [e.accessory for e in self.accessories.connected()]
        if bundle_id is not None:
            current = self.route(bundle_id).output
            builtin = current if current in (RECEIVER, SPEAKER) else RECEIVER
        else:
            current = routing.media_route(connected).route.output
            builtin = SPEAKER
        ports = [builtin]
        for accessory in connected:
            port = accessory.output_port or accessory.a2dp_port or accessory.hfp_port
            if current is not None and accessory.owns(current):
                port = current
            ports.append(port)
        return [{**p.to_dict(), "selected": p == current} for p in ports if p is not None]

    @property
    def other_audio_state(self) -> str:
        """Another app's audio: ``stopped``, ``playing``, ``ducked`` or ``interrupted``."""
        return self._other_audio

    @property
    def foreground_app(self) -> str | None:
        return self._foreground

    @property
    def mic_muted(self) -> bool:
        return self._mic_muted

    def app_state(self, bundle_id: str) -> dict[str, Any]:
        """Ground truth for one app, JSON-ready."""
        app = self._app(bundle_id)
        s = app.session
        return {
            "bundle": bundle_id,
            "category": str(s.config.category),
            "mode": str(s.config.mode),
            "options": int(s.config.options),
            "active": s.active,
            "activated_by": s.activated_by,
            "io_running": s.io_running,
            "interrupted_by": s.interrupted_by,
            "override": s.port_override.name,
            "foreground": app.foreground,
            "suspended": app.suspended,
            "terminated": app.terminated,
            "on_hold": s.on_hold,
            "activated_itself_under_callkit": s.activated_itself_under_callkit,
            "mic_zeroed": s.mic_zeroed,
            "route": app.route.to_dict(),
        }

    def delivered(self, bundle_id: str) -> list[Delivery]:
        return [d for d in self.deliveries if d.bundle_id == bundle_id]

    def rule_ids_applied(self) -> list[str]:
        return [e.fields["rule"] for e in self.log if "rule" in e.fields]

    # ================================================================== AVAudioSession backend
    @_step
    def _set_category(self, bundle_id: str, category: Any, mode: Any, options: Any) -> None:
        app = self._app(bundle_id)
        s = app.session
        before_config = s.config
        try:
            s.config = s.config.with_category(category, mode, options, self.version)
        except AudioSessionError as exc:
            self._log("decision", rule="option_valid_for_category", bundle=bundle_id, error=str(exc))
            raise
        self._log(
            "event",
            event="set_category",
            bundle=bundle_id,
            category=str(s.config.category),
            mode=str(s.config.mode),
            options=int(s.config.options),
            rule="options_not_sticky",
        )
        if s.config != before_config:
            self._config_changed(bundle_id)

    @_step
    def _set_mode(self, bundle_id: str, mode: Any) -> None:
        s = self._state(bundle_id)
        before = s.config
        s.config = s.config.with_mode(mode, self.version)
        self._log(
            "event",
            event="set_mode",
            bundle=bundle_id,
            mode=str(s.config.mode),
            options=int(s.config.options),
        )
        if s.config != before:
            self._config_changed(bundle_id)

    def _config_changed(self, bundle_id: str) -> None:
        app = self._apps[bundle_id]
        s = app.session
        s.port_override = routing.override_after("route_change", s.port_override)
        before = app.route
        app.route = self._route_of(s)
        if s.active:
            self._post_route_change(bundle_id, RouteChangeReason.categoryChange, before)

    @_step
    def _set_active(self, bundle_id: str, active: bool, options: SetActiveOptions) -> None:
        app = self._app(bundle_id)
        s = app.session
        if active:
            self._activate_by_app(bundle_id)
        else:
            if not s.active:
                return
            if s.io_running:
                self._log("decision", rule="deactivate_with_running_io_fails", bundle=bundle_id)
                raise AudioSessionError(
                    ErrorCode.isBusy, "deactivating a session with running I/O; stop I/O first"
                )
            s.active = False
            s.activated_by = None
            notify = SetActiveOptions.notifyOthersOnDeactivation in options
            self._log("event", event="set_active", bundle=bundle_id, active=False, notify_others=notify)
            self._post(bundle_id, self.payloads.app_deactivated())
            if notify:
                self._notify_others(bundle_id)
            elif (self.options.unduck_needs_notify and CategoryOptions.duckOthers in s.config.options
                  and self._other_audio == "ducked"):
                self._duck_held = True
                self._log("decision", rule="unduck_needs_notify", bundle=bundle_id, other_audio="ducked")
            self._update_duck()
            self._maybe_suspend(bundle_id)

    def _activate_by_app(self, bundle_id: str) -> None:
        s = self._state(bundle_id)
        if s.active:
            return
        if s.callkit_call_active and not s.on_hold:
            s.activated_itself_under_callkit = True
            self._log("decision", rule="callkit_self_activation", bundle=bundle_id)
        error = arbitration.activation_error(self._system_holders(), s)
        if error is not None:
            self._log("decision", rule="cannot_interrupt_higher_priority", bundle=bundle_id, error=error.name)
            raise AudioSessionError(
                error, "a phone call, Siri or an alarm holds the audio; retry when it ends"
            )
        self._take_audio(bundle_id, "app")
        self._log("event", event="set_active", bundle=bundle_id, active=True)

    def _take_audio(self, bundle_id: str, by: str) -> None:
        """The session becomes active; a non-mixable one interrupts other apps' non-mixable audio."""
        s = self._state(bundle_id)
        s.active, s.activated_by, s.interrupted_by = True, by, None
        if not s.config.mixable:
            media = self._holder_of_kind("media_app")
            if media is not None:
                del self._holders[media.id]
                self._other_audio = "interrupted"
                self._log(
                    "decision", rule="priority_order", bundle=bundle_id, action="interrupts", other=media.id
                )
            for other_id, other in self._live_apps():
                if other_id != bundle_id and other.session.active and not other.session.config.mixable:
                    self._interrupt(
                        other_id, f"app:{bundle_id}", InterruptionReason.default, "priority_order"
                    )
        self._post(bundle_id, self.payloads.reactivated())
        self._update_duck()

    def _notify_others(self, bundle_id: str) -> None:
        self._log("decision", rule="notify_others_only_on_deactivation", bundle=bundle_id)
        self._duck_held = False
        for other_id, _ in self._live_apps():
            self._end_interruption(other_id, f"app:{bundle_id}", True, "notify_others_only_on_deactivation")
        if self._other_audio == "interrupted":
            self._other_audio = "playing"
            self._log("decision", rule="notify_others_only_on_deactivation", other_audio="resumes")

    @_step
    def _set_io(self, bundle_id: str, running: bool) -> None:
        s = self._state(bundle_id)
        if running and not s.active:
            raise AudioSessionError(ErrorCode.cannotStartPlaying, "start I/O after setActive(true)")
        s.io_running = running
        self._log("event", event="io", bundle=bundle_id, running=running)

    @_step
    def _override(self, bundle_id: str, port: PortOverride) -> None:
        app = self._app(bundle_id)
        s = app.session
        if port is PortOverride.speaker and s.config.category is not Category.playAndRecord:
            raise AudioSessionError(
                ErrorCode.badParam, "overrideOutputAudioPort(.speaker) needs playAndRecord"
            )
        s.port_override = port
        before = app.route
        app.route = self._route_of(s)
        self._log(
            "event",
            event="override_output_audio_port",
            bundle=bundle_id,
            port=port.name,
            rule="speaker_override",
        )
        self._post_route_change(bundle_id, RouteChangeReason.override, before)

    @_step
    def _callkit_started(self, bundle_id: str) -> None:
        s = self._state(bundle_id)
        s.uses_callkit = True
        s.callkit_call_active = True
        self._log("event", event="callkit_call_started", bundle=bundle_id)
        self._later(self.timings.callkit_activation_delay_s, lambda: self._callkit_activate(bundle_id))

    def _callkit_activate(self, bundle_id: str) -> None:
        app = self._apps.get(bundle_id)
        if app is None or app.terminated:
            return
        s = app.session
        if not s.callkit_call_active or s.on_hold:
            return
        if s.activated_itself_under_callkit and self.options.callkit_self_activation_blocks_did_activate:
            self._log("decision", rule="callkit_self_activation", bundle=bundle_id, action="no_did_activate")
            return
        if any(
            h.interrupter.kind in ("cellular_call", "facetime") and self.call and self.call.state == "active"
            for h in self._holders.values()
        ):
            self._log("decision", rule="priority_order", bundle=bundle_id, action="activation_waits_for_call")
            return
        self._take_audio(bundle_id, "callkit")
        self._log("decision", rule="callkit_telephony_priority", bundle=bundle_id)
        self._post(bundle_id, [Payloads.callkit(CallKitCallback.didActivate)])

    @_step
    def _callkit_ended(self, bundle_id: str) -> None:
        s = self._state(bundle_id)
        s.callkit_call_active = False
        s.on_hold = False
        self._log("event", event="callkit_call_ended", bundle=bundle_id)
        if s.active and s.activated_by == "callkit":
            s.active, s.activated_by, s.io_running = False, None, False
            self._post(bundle_id, [Payloads.callkit(CallKitCallback.didDeactivate)])
            self._update_duck()
        self._maybe_suspend(bundle_id)

    @_step
    def _callkit_set_held(self, bundle_id: str, on_hold: bool) -> None:
        s = self._state(bundle_id)
        if not s.callkit_call_active:
            raise UsageError(f"{bundle_id} has no CallKit call to hold")
        self._log("event", event="callkit_set_held", bundle=bundle_id, on_hold=on_hold)
        self._post(bundle_id, [Payloads.callkit(CallKitCallback.performSetHeldCallAction, isOnHold=on_hold)])
        if on_hold and s.active:
            s.on_hold = True
            s.active, s.io_running = False, False
            self._post(bundle_id, [Payloads.callkit(CallKitCallback.didDeactivate)])
        elif not on_hold and s.on_hold:
            s.on_hold = False
            self._callkit_activate(bundle_id)

    def _observe(self, bundle_id: str, callback: Callable[[Delivery], None]) -> None:
        self._app(bundle_id).observers.append(callback)

    def _drain(self, bundle_id: str) -> list[Delivery]:
        app = self._app(bundle_id)
        out, app.unread = app.unread, []
        return out

    def _state(self, bundle_id: str) -> SessionState:
        return self._app(bundle_id).session

    # ================================================================== internals
    @property
    def _banner(self) -> bool:
        return self.options.call_style == "banner"

    def _app(self, bundle_id: str) -> _App:
        try:
            return self._apps[bundle_id]
        except KeyError:
            known = ", ".join(sorted(self._apps)) or "none"
            raise UsageError(f"app {bundle_id!r} is not launched on this phone (launched: {known})") from None

    def _live_apps(self) -> list[tuple[str, _App]]:
        return [(b, a) for b, a in self._apps.items() if not a.terminated]

    def _new_id(self, prefix: str) -> str:
        self._ids += 1
        return f"{prefix}-{self._ids}"

    def _holder_of_kind(self, kind: str) -> _Holder | None:
        return next((h for h in self._holders.values() if h.interrupter.kind == kind), None)

    def _system_holders(self) -> list[Interrupter]:
        return [h.interrupter for h in self._holders.values()]

    def _ringing_call(self, verb: str) -> Call:
        if self.call is None or self.call.state != "ringing":
            raise UsageError(f"no ringing call to {verb}; call incoming_call first")
        return self.call

    def _route_of(self, s: SessionState) -> RouteDescription:
        connected = [e.accessory for e in self.accessories.connected()]
        return routing.route_for(s.config, connected, s.port_override).route

    def _log(self, log_kind: str, /, **fields: Any) -> None:
        rule = fields.get("rule")
        if rule is not None and rule not in RULES:
            raise KeyError(f"rule {rule!r} is not in rules.RULES")
        entry = LogEntry(self.scheduler.now_ns(), log_kind, fields)
        self.log.append(entry)
        if self._on_log is not None:
            self._on_log(entry)

    def _later(self, delay_s: float, fn: Callable[[], None]) -> None:
        self.scheduler.call_later(delay_s, lambda: self._run_later(fn))

    @_step
    def _run_later(self, fn: Callable[[], None]) -> None:
        fn()

    def _apply_interrupter(self, holder: _Holder, phase: str) -> None:
        for bundle_id, app in self._live_apps():
            rule = arbitration.interruption_rule(
                holder.interrupter, phase, app.session, banner_call_style=self._banner, version=self.version
            )
            if rule is not None:
                self._interrupt(bundle_id, holder.id, InterruptionReason.default, rule)
            elif app.session.active:
                self._log(
                    "decision",
                    rule=self._why_not(holder, app.session),
                    bundle=bundle_id,
                    action="not_interrupted",
                    by=holder.id,
                )

    def _why_not(self, holder: _Holder, s: SessionState) -> str:
        if arbitration.session_priority(s) > holder.interrupter.priority:
            return "priority_order"
        if holder.interrupter.kind == "media_app":
            return "mixable_not_interrupted_by_apps"
        if arbitration.session_priority(s) == holder.interrupter.priority:
            return "callkit_reject_no_interruption"
        return "banner_no_interruptions"

    def _interrupt(self, bundle_id: str, holder_id: str, reason: InterruptionReason, rule: str) -> None:
        app = self._apps[bundle_id]
        s = app.session
        s.active, s.io_running, s.interrupted_by = False, False, holder_id
        if s.activated_by != "callkit":
            s.activated_by = None
        self._log(
            "decision", rule=rule, bundle=bundle_id, action="interrupt", by=holder_id, reason=reason.name
        )
        self._post(bundle_id, self.payloads.interruption_began(reason))
        if s.port_override is PortOverride.speaker:
            s.port_override = routing.override_after("interruption", s.port_override)
            before = app.route
            app.route = self._route_of(s)
            self._log(
                "decision", rule="override_ends_on_route_change", bundle=bundle_id, cause="interruption"
            )
            self._post_route_change(bundle_id, RouteChangeReason.override, before, rule="override_end_reason")
        self._update_duck()
        self._maybe_suspend(bundle_id)

    def _callkit_yield(self, bundle_id: str, call_id: str, mode: str) -> None:
        """Hold & Accept (or End & Accept) for a CallKit app when a cellular call is answered [TW-VQ]."""
        s = self._state(bundle_id)
        if mode == "hold_and_accept":
            self._post(bundle_id, [Payloads.callkit(CallKitCallback.performSetHeldCallAction, isOnHold=True)])
            s.on_hold = True
        else:
            self._post(bundle_id, [Payloads.callkit(CallKitCallback.performEndCallAction)])
            s.callkit_call_active = False
        self._interrupt(bundle_id, call_id, InterruptionReason.default, "callkit_hold_accept")
        s.activated_by = None
        self._post(bundle_id, [Payloads.callkit(CallKitCallback.didDeactivate)])

    @_step
    def _end_call(self, how: str) -> None:
        if self.call is None:
            raise UsageError("no call to end; call incoming_call first")
        call = self.call
        if how in ("declined", "ignored") and call.state != "ringing":
            raise UsageError(f"call {call.id} was answered; it cannot be {how} any more (use call_ended)")
        holder = self._holders.pop(call.id)
        self.call = None
        self._log("event", event="call_ended", call=call.id, how=how, state=call.state)
        for bundle_id, app in self._live_apps():
            s = app.session
            if s.interrupted_by != call.id:
                continue
            if s.on_hold:
                s.interrupted_by = None
                if how == "local":
                    self._log("decision", rule="callkit_hold_accept", bundle=bundle_id, action="unhold")
                    self._post(
                        bundle_id,
                        [Payloads.callkit(CallKitCallback.performSetHeldCallAction, isOnHold=False)],
                    )
                    s.on_hold = False
                    self._later(
                        self.timings.callkit_activation_delay_s, lambda b=bundle_id: self._callkit_activate(b)
                    )
                else:
                    self._log("decision", rule="callkit_remote_hangup_no_unhold", bundle=bundle_id)
            else:
                rule = (
                    "declined_ended_should_resume" if call.state == "ringing" else "answered_ended_after_call"
                )
                should_resume = holder.interrupter.ended_should_resume
                self._later(
                    self.timings.call_ended_delay_s,
                    lambda b=bundle_id, r=rule, sr=should_resume: self._end_interruption(b, call.id, sr, r),
                )
        if call.state == "active" and self.options.return_to_app_after_call and self._return_to is not None:
            back, self._return_to = self._return_to, None
            if back in self._apps and not self._apps[back].terminated:
                self.app_foreground(back)

    def _schedule_ended(self, holder: _Holder, delay_s: float) -> None:
        rule = holder.interrupter.rule
        for bundle_id, app in self._live_apps():
            if app.session.interrupted_by == holder.id:
                should_resume = holder.detail.get("should_resume", holder.interrupter.ended_should_resume)
                self._later(
                    delay_s,
                    lambda b=bundle_id, sr=should_resume: self._end_interruption(b, holder.id, sr, rule),
                )

    def _end_interruption(self, bundle_id: str, holder_id: str, should_resume: bool, rule: str) -> None:
        app = self._apps.get(bundle_id)
        if app is None or app.terminated or app.session.interrupted_by != holder_id:
            return
        app.session.interrupted_by = None
        self._log(
            "decision",
            rule=rule,
            bundle=bundle_id,
            action="end_interruption",
            by=holder_id,
            should_resume=should_resume,
        )
        self._post(bundle_id, self.payloads.interruption_ended(should_resume))

    def _media_stop(self, holder: _Holder, cause: str) -> None:
        del self._holders[holder.id]
        self._other_audio = "stopped"
        self._log("event", event="media_app_stopped", holder=holder.id, cause=cause)
        for bundle_id, app in self._live_apps():
            if app.hinted:
                app.hinted = False
                self._post(bundle_id, [Payloads.silence_secondary_audio_hint(False)])
            if app.session.interrupted_by == holder.id:
                if app.foreground:
                    self._later(
                        self.timings.media_app_ended_delay_s,
                        lambda b=bundle_id: self._end_interruption(
                            b, holder.id, False, "media_app_ended_late_no_resume"
                        ),
                    )
                else:
                    app.ended_on_return = holder.id
                    self._log(
                        "decision",
                        rule="media_app_ended_late_no_resume",
                        bundle=bundle_id,
                        action="ended_waits_for_foreground",
                    )
        self._update_duck()

    @_step
    def _drop(self, uid: str, state: AccessoryState) -> None:
        if not self._accessories_call(lambda: self.accessories.drop(uid, state)):
            return
        self._log("event", event=f"accessory_{state}", uid=uid)
        self._reroute(RouteChangeReason.oldDeviceUnavailable, lost=self.accessories.get(uid).accessory)

    def _accessories_call(self, fn: Callable[[], bool]) -> bool:
        try:
            return fn()
        except (KeyError, ValueError) as exc:
            raise UsageError(str(exc.args[0] if exc.args else exc)) from None

    def _reroute(self, cause: RouteChangeReason, lost: Accessory | None) -> None:
        """A device came or went: every override ends, every app's route is recomputed [QA1754]."""
        for bundle_id, app in self._live_apps():
            s = app.session
            if s.port_override is not PortOverride.none:
                s.port_override = routing.override_after("route_change", s.port_override)
                self._log(
                    "decision", rule="override_ends_on_route_change", bundle=bundle_id, cause=cause.name
                )
            before = app.route
            app.route = self._route_of(s)
            self._post_route_change(bundle_id, cause, before)
            used = lost is not None and lost.owns(before.output)
            if arbitration.route_disconnect_interrupts(s, self.version, used):
                self._interrupt(
                    bundle_id,
                    f"route:{lost.uid if lost else ''}",
                    InterruptionReason.routeDisconnected,
                    "route_disconnect_interrupts_now_playing",
                )
        self._log("route", owner="call", route=self.call_route().to_dict(), rule="call_route")

    def _post_route_change(
        self,
        bundle_id: str,
        cause: RouteChangeReason,
        before: RouteDescription,
        rule: str = "route_change_to_affected_apps",
    ) -> None:
        app = self._apps[bundle_id]
        reason = routing.change_reason(before, app.route, cause)
        if reason is None:
            return
        self._log(
            "route",
            bundle=bundle_id,
            reason=reason.name,
            previous=before.to_dict(),
            route=app.route.to_dict(),
            latency_ms=routing.switch_latency_ms(self.timings, app.route),
            rule=rule,
        )
        self._post(bundle_id, [Payloads.route_change(reason, before)])

    def _media_services_back(self) -> None:
        self._log("decision", rule="media_services_reset")
        for bundle_id, app in self._live_apps():
            app.session.reset_for_media_services()
            app.route = self._route_of(app.session)
            self._post(bundle_id, [Payloads.media_services_reset()])
        self._update_duck()

    def _update_duck(self) -> None:
        if self._other_audio not in ("playing", "ducked"):
            self._duck_held = False
            return
        ducked = self._duck_held or any(arbitration.ducks_others(a.session) for _, a in self._live_apps())
        new = "ducked" if ducked else "playing"
        if new != self._other_audio:
            self._other_audio = new
            self._log("decision", rule="duck_while_active", other_audio=new)

    # -- suspension and delivery
    def _maybe_suspend(self, bundle_id: str) -> None:
        if not self.options.auto_suspend:
            return
        app = self._apps[bundle_id]
        if app.suspended or app.terminated or not arbitration.suspends(app.session, app.foreground):
            return

        def check() -> None:
            if not app.suspended and not app.terminated and arbitration.suspends(app.session, app.foreground):
                self._suspend(bundle_id, "background_inactive")

        self._later(self.options.background_suspend_delay_s, check)

    def _suspend(self, bundle_id: str, why: str) -> None:
        app = self._app(bundle_id)
        if app.suspended:
            return
        app.suspended = True
        self._log("process", bundle=bundle_id, suspended=True, why=why)
        if self._on_process is not None:
            cb = self._on_process
            self._outbox.append(lambda: cb(bundle_id, True))

    def _resume(self, bundle_id: str, why: str) -> None:
        app = self._app(bundle_id)
        if not app.suspended:
            return
        app.suspended = False
        self._log("process", bundle=bundle_id, suspended=False, why=why)
        if self._on_process is not None:
            cb = self._on_process
            self._outbox.append(lambda: cb(bundle_id, False))
        pending, app.inbox = app.inbox, []
        for seq, notification, posted in pending:
            self._deliver(bundle_id, seq, notification, posted)
        if pending:
            self._log("decision", rule="suspended_delivery_late", bundle=bundle_id, count=len(pending))

    def _post(self, bundle_id: str, notifications: list[Notification]) -> None:
        app = self._apps[bundle_id]
        for notification in notifications:
            self._seq += 1
            now = self.scheduler.now_ns()
            self._log(
                "post",
                bundle=bundle_id,
                name=notification.name,
                userInfo=notification.user_info,
                queued=app.suspended,
            )
            if app.suspended:
                app.inbox.append((self._seq, notification, now))
                if (
                    self.options.wake_on_should_resume
                    and notification.name == Name.interruption
                    and notification.user_info.get("AVAudioSessionInterruptionOptionKey") == 1
                ):
                    self._resume(bundle_id, "ended_should_resume")
            else:
                self._deliver(bundle_id, self._seq, notification, now)

    def _deliver(self, bundle_id: str, seq: int, notification: Notification, posted_ns: int) -> None:
        app = self._apps[bundle_id]
        delivery = Delivery(seq, bundle_id, notification, posted_ns, self.scheduler.now_ns())
        self.deliveries.append(delivery)
        app.unread.append(delivery)
        self._log("deliver", bundle=bundle_id, name=notification.name, seq=seq, late=delivery.late)
        for observer in list(app.observers):
            self._outbox.append(lambda o=observer, d=delivery: o(d))

    def _flush(self) -> None:
        """Run observer callbacks after the world's step is complete (they may call back into it)."""
        if self._flushing or self._depth:
            return
        self._flushing = True
        try:
            while self._outbox:
                self._outbox.pop(0)()
        finally:
            self._flushing = False
