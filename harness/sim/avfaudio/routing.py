"""Apple's route rules: which ports a session reaches, and which one plays (reference §1.5, §1.6).

Pure functions of (session configuration, connected accessories in connection order, speaker
override). Each decision names the rules that produced it so the world's log can cite them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from harness.sim.avfaudio.constants import Category, CategoryOptions, PortOverride, RouteChangeReason
from harness.sim.avfaudio.ports import BUILT_IN_MIC, RECEIVER, SPEAKER, Accessory, Port, RouteDescription
from harness.sim.avfaudio.rules import OUTPUT_CATEGORIES, RECORDING_CATEGORIES, Timings
from harness.sim.avfaudio.session import SessionConfig


@dataclass(frozen=True)
class Decision:
    route: RouteDescription
    rules: tuple[str, ...]


@dataclass(frozen=True)
class Candidate:
    """What one connected accessory offers this session."""

    output: Port | None
    input: Port | None
    rule: str


def candidate(accessory: Accessory, config: SessionConfig) -> Candidate | None:
    """The port this session can reach on one accessory, or None (not reachable)."""
    category = config.category
    records = category in RECORDING_CATEGORIES
    plays = category in OUTPUT_CATEGORIES
    if accessory.hfp and records and config.has(CategoryOptions.allowBluetoothHFP):
        port = accessory.hfp_port
        # hfp_wins_same_device: checked before A2DP on purpose.
        return Candidate(
            port if plays else None, port, "hfp_wins_same_device" if accessory.a2dp else "hfp_needs_option"
        )
    if accessory.a2dp and plays:
        if category is Category.playAndRecord or category is Category.multiRoute:
            if config.has(CategoryOptions.allowBluetoothA2DP):
                # rule a2dp_input_builtin_mic: A2DP is output only; the built-in mic records
                return Candidate(accessory.a2dp_port, BUILT_IN_MIC, "a2dp_needs_option")
            return None
        return Candidate(accessory.a2dp_port, None, "a2dp_for_playback")
    out = accessory.output_port if plays else None
    inp = accessory.input_port if records else None
    if out is None and inp is None:
        return None
    if records and inp is None:
        inp = BUILT_IN_MIC
    return Candidate(out, inp, "wired_follows_system")


def route_for(
    config: SessionConfig,
    connected: Sequence[Accessory],
    port_override: PortOverride = PortOverride.none,
) -> Decision:
    """The route this session gets. ``connected`` is in connection order (the last is the last in)."""
    category = config.category
    records = category in RECORDING_CATEGORIES
    plays = category in OUTPUT_CATEGORIES
    if port_override is PortOverride.speaker and category is Category.playAndRecord:
        return Decision(RouteDescription((BUILT_IN_MIC,), (SPEAKER,)), ("speaker_override",))
    for accessory in reversed(connected):  # last_in_wins
        found = candidate(accessory, config)
        if found is None:
            continue
        # candidate() offers an output exactly when the category plays, an input when it records.
        inputs = (found.input,) if found.input else ()
        outputs = (found.output,) if found.output else ()
        return Decision(RouteDescription(inputs, outputs), (found.rule, "last_in_wins"))
    inputs = (BUILT_IN_MIC,) if records else ()
    if not plays:
        return Decision(RouteDescription(inputs, ()), ("receiver_default",))
    if category is Category.playAndRecord and not config.has(CategoryOptions.defaultToSpeaker):
        return Decision(RouteDescription(inputs, (RECEIVER,)), ("receiver_default",))
    return Decision(RouteDescription(inputs, (SPEAKER,)), ("default_to_speaker_only_alone",))


CALL_CONFIG = SessionConfig(Category.playAndRecord, requested_options=CategoryOptions.allowBluetoothHFP)
"""How the phone's own call audio reaches accessories (rule ``call_route``, inferred)."""

MEDIA_CONFIG = SessionConfig(Category.playback)
"""How system media (another app's video, an alarm, Siri's voice) reaches accessories (inferred)."""


def call_route(connected: Sequence[Accessory], speaker: bool = False) -> Decision:
    """The phone call's route: last HFP/wired/car device, else the receiver; the speaker if chosen."""
    override = PortOverride.speaker if speaker else PortOverride.none
    decision = route_for(CALL_CONFIG, connected, override)
    return Decision(decision.route, (*decision.rules, "call_route"))


def media_route(connected: Sequence[Accessory]) -> Decision:
    return route_for(MEDIA_CONFIG, connected)


OVERRIDE_ENDING_EVENTS = frozenset({"route_change", "interruption"})
"""Rule ``override_ends_on_route_change`` [QA1754]: any route change or interruption."""


def override_after(event: str, current: PortOverride) -> PortOverride:
    """The override after ``event`` (``route_change``, ``interruption``, or anything else)."""
    return PortOverride.none if event in OVERRIDE_ENDING_EVENTS else current


def change_reason(
    before: RouteDescription, after: RouteDescription, cause: RouteChangeReason
) -> RouteChangeReason | None:
    """The routeChange reason to post, or None when the route is unchanged.

    A category change is reported even when the ports stay the same (the category is part of what
    changed); every other cause only when the ports differ.
    """
    if cause is RouteChangeReason.categoryChange:
        return cause
    if before == after:
        return None
    return cause


def switch_latency_ms(timings: Timings, route: RouteDescription) -> float:
    """How long the new output needs before it plays (a parameter per port type)."""
    port = route.output
    if port is None:
        return 0.0
    return timings.route_switch_latency_ms.get(str(port.port_type), 0.0)
