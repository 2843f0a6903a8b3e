"""The expectations scenarios judge apps by: each raises AppFailure naming its rule, and passes a
correct observation (plain unit tests on spans and levels)."""

from __future__ import annotations

import pytest

from harness.errors import AppFailure
from harness.timeline import Span
from harness.verdicts.expect import (
    expect_ducked,
    expect_level_kept,
    expect_new_session,
    expect_no_echo,
    expect_on_route,
    expect_restored,
    expect_resumed,
    expect_stays_paused,
    expect_uninterrupted,
)

S = 1_000_000_000


def spans(*pairs: tuple[float, float]) -> list[Span]:
    return [Span(int(a * S), int(b * S)) for a, b in pairs]


def rule_of(fn, *args) -> str:  # type: ignore[no-untyped-def]
    with pytest.raises(AppFailure) as info:
        fn(*args)
    return info.value.rule


def test_resumed_measures_latency_and_names_the_rule_it_was_given() -> None:
    assert expect_resumed(spans((0, 5), (10.4, 15)), 10 * S, 2.0, "rx") == pytest.approx(0.4)
    assert rule_of(expect_resumed, spans((0, 5)), 10 * S, 2.0, "rx") == "resume-on-should-resume"
    assert rule_of(expect_resumed, spans((0, 5), (13, 15)), 10 * S, 2.0, "rx") == "resume-on-should-resume"
    with pytest.raises(AppFailure) as info:
        expect_resumed(spans((0, 5)), 10 * S, 2.0, "rx", rule_id="ice-recheck")
    assert info.value.rule == "ice-recheck"


def test_stays_paused_tolerates_a_blip_but_not_a_resume() -> None:
    expect_stays_paused(spans((0, 5), (10.0, 10.2)), Span(10 * S, 14 * S), "rx")
    assert rule_of(expect_stays_paused, spans((0, 5), (11, 14)), Span(10 * S, 14 * S), "rx") == \
        "honour-should-not-resume"


def test_uninterrupted_and_on_route() -> None:
    expect_uninterrupted(spans((0, 10)), Span(2 * S, 8 * S), "rx", "callkit-owns-activation")
    assert rule_of(expect_uninterrupted, spans((0, 4), (6, 10)), Span(2 * S, 8 * S), "rx",
                   "callkit-owns-activation") == "callkit-owns-activation"
    expect_on_route(["bt_a2dp"], "bt_a2dp", "x", "a2dp-option")
    assert rule_of(expect_on_route, ["receiver"], "bt_a2dp", "x", "a2dp-option") == "a2dp-option"
    with pytest.raises(AppFailure) as info:
        expect_on_route([], "speaker", "after the speaker button")
    assert info.value.rule == "" and "no route" in str(info.value)


def test_echo_level_duck_restore_and_new_session() -> None:
    expect_no_echo(None, 40, "uplink")  # no echo found at all
    expect_no_echo(55.0, 40, "uplink")
    assert rule_of(expect_no_echo, 33.0, 40, "uplink") == "session-mode"
    expect_level_kept(-1.0, -2.0, 6, "rx")
    assert rule_of(expect_level_kept, -1.0, -31.0, 6, "rx") == "level-after-resume"
    assert expect_ducked(-20.0, -35.0, -60.0, 6.0, "music") == pytest.approx(15.0)
    assert rule_of(expect_ducked, -20.0, -90.0, -60.0, 6.0, "music") == "duck-others"  # stopped
    assert rule_of(expect_ducked, -20.0, -22.0, -60.0, 6.0, "music") == "duck-others"  # not ducked
    expect_restored(-20.0, -20.5, 3.0, "music")
    assert rule_of(expect_restored, -20.0, -35.0, 3.0, "music") == "notify-on-deactivate"
    assert expect_new_session([1 * S, 12 * S], 10 * S, 15, "peer") == pytest.approx(2.0)
    assert rule_of(expect_new_session, [1 * S], 10 * S, 15, "peer") == "ice-recheck"


def test_one_interval_type_cuts_stretches_the_way_scenarios_say_them() -> None:
    rang = Span(10 * S, 14 * S)
    assert rang.seconds == 4.0
    assert rang.after(0.5) == Span(int(10.5 * S), 14 * S)
    assert rang.after(9.0) == Span(14 * S, 14 * S)  # empty, never reversed
    assert rang.trim(1.0, 0.5) == Span(11 * S, int(13.5 * S))
    assert Span.before(10 * S, 3.0) == Span(int(6.7 * S), int(9.7 * S))
    assert Span.starting(10 * S, 2.8).after(0.5) == Span(int(10.5 * S), int(12.8 * S))
    assert rang.overlap_s(12 * S, 20 * S) == 2.0
