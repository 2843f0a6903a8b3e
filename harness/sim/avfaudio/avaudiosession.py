"""The AVAudioSession an app sees: the voice app model calls this as it would call iOS.

One instance per launched app (``world.launch(bundle_id)``). Calls raise
:class:`~harness.sim.avfaudio.constants.AudioSessionError` where iOS returns an NSError. Notifications
and CallKit callbacks arrive through :meth:`add_observer` (called on the world's thread, after the
world has finished the step that produced them) or are pulled with :meth:`drain`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from harness.sim.avfaudio.constants import Category, CategoryOptions, Mode, PortOverride, SetActiveOptions
from harness.sim.avfaudio.ports import RouteDescription

if TYPE_CHECKING:
    from harness.sim.avfaudio.world import AudioWorld, Delivery


class AVAudioSession:
    def __init__(self, world: AudioWorld, bundle_id: str) -> None:
        self._world = world
        self.bundle_id = bundle_id

    # -- configuration
    def set_category(
        self, category: Category | str, mode: Mode | str | None = None, options: CategoryOptions | int = 0
    ) -> None:
        self._world._set_category(self.bundle_id, category, mode, options)

    def set_mode(self, mode: Mode | str) -> None:
        self._world._set_mode(self.bundle_id, mode)

    def set_active(self, active: bool, options: SetActiveOptions | int = 0) -> None:
        self._world._set_active(self.bundle_id, active, SetActiveOptions(int(options)))

    def override_output_audio_port(self, port: PortOverride) -> None:
        self._world._override(self.bundle_id, PortOverride(port))

    def set_prefers_no_interruptions_from_system_alerts(self, value: bool) -> None:
        self._world._state(self.bundle_id).prefers_no_interruptions_from_system_alerts = bool(value)

    def set_prefers_interruption_on_route_disconnect(self, value: bool) -> None:
        self._world._state(self.bundle_id).prefers_interruption_on_route_disconnect = bool(value)

    def set_now_playing(self, value: bool) -> None:
        """MPNowPlayingInfoCenter: the app is the Now Playing app (matters for routeDisconnected)."""
        self._world._state(self.bundle_id).now_playing = bool(value)

    # -- the app's audio I/O (AVAudioEngine / VoiceProcessingIO running)
    def start_io(self) -> None:
        self._world._set_io(self.bundle_id, True)

    def stop_io(self) -> None:
        self._world._set_io(self.bundle_id, False)

    # -- CallKit (CXProvider / CXCallController from the app's side)
    def callkit_call_started(self) -> None:
        """The app's CallKit call was answered or started; the system will activate the session."""
        self._world._callkit_started(self.bundle_id)

    def callkit_call_ended(self) -> None:
        """CXEndCallAction fulfilled: the system deactivates the session (didDeactivate)."""
        self._world._callkit_ended(self.bundle_id)

    def callkit_set_held(self, on_hold: bool) -> None:
        """CXSetHeldCallAction requested by the app."""
        self._world._callkit_set_held(self.bundle_id, on_hold)

    # -- reading state back, as iOS shows it
    @property
    def category(self) -> Category:
        return self._world._state(self.bundle_id).config.category

    @property
    def mode(self) -> Mode:
        return self._world._state(self.bundle_id).config.mode

    @property
    def category_options(self) -> CategoryOptions:
        return self._world._state(self.bundle_id).config.options

    @property
    def is_active(self) -> bool:
        return self._world._state(self.bundle_id).active

    @property
    def current_route(self) -> RouteDescription:
        return self._world.route(self.bundle_id)

    @property
    def is_other_audio_playing(self) -> bool:
        return self._world.other_audio_state in ("playing", "ducked")

    @property
    def secondary_audio_should_be_silenced_hint(self) -> bool:
        return self._world.other_audio_state == "playing"

    # -- notifications
    def add_observer(self, callback: Callable[[Delivery], None]) -> None:
        self._world._observe(self.bundle_id, callback)

    def drain(self) -> list[Delivery]:
        """Deliveries since the last drain (delivered ones only: a suspended app receives nothing)."""
        return self._world._drain(self.bundle_id)
