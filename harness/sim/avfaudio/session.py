"""One app's AVAudioSession state: category, mode, options with their side effects, preferences.

Pure state and validation. Activation is arbitrated by the world (it depends on other sessions),
so :class:`SessionState` only records who activated the session and why it is inactive.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from harness.sim.avfaudio.constants import (
    AudioSessionError,
    Category,
    CategoryOptions,
    ErrorCode,
    Mode,
    PortOverride,
)
from harness.sim.avfaudio.rules import (
    MODE_CATEGORIES,
    MODE_IMPLIES,
    MODE_SINCE,
    OPTION_CATEGORIES,
    OPTION_IMPLIES,
    OPTION_SINCE,
    Version,
)


def _as_category(value: Category | str) -> Category:
    try:
        return Category(value)
    except ValueError:
        raise AudioSessionError(
            ErrorCode.badParam, f"unknown category {value!r}; use one of {', '.join(Category)}"
        ) from None


def _as_mode(value: Mode | str) -> Mode:
    try:
        return Mode(value)
    except ValueError:
        raise AudioSessionError(
            ErrorCode.badParam, f"unknown mode {value!r}; use one of {', '.join(Mode)}"
        ) from None


NO_OPTIONS = CategoryOptions(0)


def implied_options(mode: Mode, options: CategoryOptions) -> CategoryOptions:
    """Options a mode or another option sets as a side effect [H27]."""
    extra = MODE_IMPLIES.get(mode, CategoryOptions(0))
    for option, implied in OPTION_IMPLIES.items():
        if option in options:
            extra |= implied
    return extra


@dataclass(frozen=True)
class SessionConfig:
    """What setCategory/setMode stored. ``options`` reads back as iOS shows it (side effects included)."""

    category: Category = Category.soloAmbient
    mode: Mode = Mode.default
    requested_options: CategoryOptions = NO_OPTIONS

    @property
    def options(self) -> CategoryOptions:
        return self.requested_options | implied_options(self.mode, self.requested_options)

    def has(self, option: CategoryOptions) -> bool:
        return option in self.options

    @property
    def mixable(self) -> bool:
        """mixWithOthers (duckOthers implies it) [H27]."""
        return CategoryOptions.mixWithOthers in self.options or self.category is Category.ambient

    def with_category(
        self,
        category: Category | str,
        mode: Mode | str | None = None,
        options: CategoryOptions | int = 0,
        version: Version = (99,),
    ) -> SessionConfig:
        """setCategory(_:mode:options:). Options are not sticky: the new set replaces the old one."""
        cat = _as_category(category)
        opts = CategoryOptions(int(options))
        for option, categories in OPTION_CATEGORIES.items():
            if option in opts and cat not in categories:
                raise AudioSessionError(
                    ErrorCode.badParam,
                    f"option {option.name} is only valid with {', '.join(sorted(categories))}, not {cat}",
                )
            since = OPTION_SINCE.get(option)
            if since and option in opts and version < since:
                raise AudioSessionError(ErrorCode.badParam, f"option {option.name} needs iOS {since}")
        if mode is None:
            # rule mode_kept_on_category_change
            new_mode = self.mode if cat in MODE_CATEGORIES[self.mode] else Mode.default
        else:
            new_mode = _check_mode(_as_mode(mode), cat, version)
        return SessionConfig(cat, new_mode, opts)

    def with_mode(self, mode: Mode | str, version: Version = (99,)) -> SessionConfig:
        return replace(self, mode=_check_mode(_as_mode(mode), self.category, version))


def _check_mode(mode: Mode, category: Category, version: Version) -> Mode:
    if category not in MODE_CATEGORIES[mode]:
        raise AudioSessionError(
            ErrorCode.badParam,
            f"mode {mode} is only valid with {', '.join(sorted(MODE_CATEGORIES[mode]))}, not {category}",
        )
    since = MODE_SINCE.get(mode)
    if since and version < since:
        raise AudioSessionError(ErrorCode.badParam, f"mode {mode} needs iOS {'.'.join(map(str, since))}")
    return mode


@dataclass
class SessionState:
    """One app's session as the world tracks it."""

    bundle_id: str
    config: SessionConfig = field(default_factory=SessionConfig)
    active: bool = False
    activated_by: str | None = None
    """``app`` (setActive(true)) or ``callkit`` (system activation, telephony priority)."""
    io_running: bool = False
    interrupted_by: str | None = None
    """The interrupter's id while this session is interrupted."""
    port_override: PortOverride = PortOverride.none
    prefers_no_interruptions_from_system_alerts: bool = False
    prefers_interruption_on_route_disconnect: bool = True
    now_playing: bool = False
    uses_callkit: bool = False
    """The app reported its call to CallKit; CallKit owns activation."""
    callkit_call_active: bool = False
    on_hold: bool = False
    activated_itself_under_callkit: bool = False
    """Visible trace of the pitfall: the app called setActive(true) while CallKit owned activation."""
    mic_zeroed: bool = False
    """overrideMutedMicrophoneInterruption with the mic hardware-muted: active, all-zero buffers."""

    def reset_for_media_services(self) -> None:
        """mediaServicesWereReset: category, mode and options back to defaults, inactive [AP-MSR]."""
        self.config = SessionConfig()
        self.active = False
        self.activated_by = None
        self.io_running = False
        self.interrupted_by = None
        self.port_override = PortOverride.none
        self.mic_zeroed = False
