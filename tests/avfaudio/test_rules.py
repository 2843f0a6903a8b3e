"""The rule table: every row cites a source of the reference and a confidence; code cites only rows."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from harness.sim.avfaudio import rules
from harness.sim.avfaudio.rules import INTERRUPTERS, RULES, Availability, Confidence, Priority, Timings

REFERENCE = Path(__file__).resolve().parents[3] / "shared" / "reference" / "ios-audio.md"
PACKAGE = Path(rules.__file__).parent


def reference_keys() -> set[str]:
    if not REFERENCE.is_file():
        pytest.fail(f"the spec {REFERENCE} is missing: CI checks out ../shared beside the repo")
    sources = REFERENCE.read_text().split("## 3. Sources", 1)[1]
    return set(re.findall(r"\[([A-Z0-9][A-Z0-9-]*)\]", sources))


def test_every_rule_cites_sources_from_the_reference() -> None:
    keys = reference_keys()
    assert len(keys) > 30
    for rule in RULES.values():
        assert rule.sources, rule.id
        assert set(rule.sources) <= keys, (rule.id, set(rule.sources) - keys)
        assert isinstance(rule.confidence, Confidence)
        assert rule.text.strip()


def test_every_rule_id_named_in_the_code_exists() -> None:
    world_code = "".join(p.read_text() for p in PACKAGE.glob("*.py") if p.name != "rules.py")
    named = set(re.findall(r'rule="([a-z0-9_]+)"', world_code))
    for module in ("arbitration.py", "routing.py"):
        named |= set(re.findall(r'"([a-z0-9]+(?:_[a-z0-9]+)+)"', (PACKAGE / module).read_text()))
    named -= {"route_change"}  # an event name in routing.OVERRIDE_ENDING_EVENTS, not a rule
    named |= {i.rule for i in INTERRUPTERS.values()}
    assert len(named) > 20
    assert named <= set(RULES), named - set(RULES)


def test_priorities() -> None:
    assert Priority.telephony > Priority.siri == Priority.alarm > Priority.app
    assert INTERRUPTERS["cellular_call"].priority is Priority.telephony
    assert INTERRUPTERS["facetime"].priority is Priority.telephony
    assert INTERRUPTERS["siri"].priority is Priority.siri
    assert INTERRUPTERS["timer"].priority is INTERRUPTERS["alarm"].priority is Priority.alarm
    assert INTERRUPTERS["media_app"].priority is Priority.app
    assert [k for k, i in INTERRUPTERS.items() if not i.ended_should_resume] == ["media_app"]
    assert {k for k, i in INTERRUPTERS.items() if i.interrupts_at == "ring"} == {"cellular_call", "facetime"}


def test_availability_bounds() -> None:
    a = Availability((14, 5), (16, 0))
    assert not a.covers((14, 4)) and a.covers((14, 5)) and a.covers((15, 9)) and not a.covers((16, 0))
    assert Availability((17, 0)).covers((99, 0))
    assert rules.FAMILY27.covers((27, 0)) and not rules.FAMILY27.covers((26, 9))
    assert rules.PREFERS_INTERRUPTION_ON_ROUTE_DISCONNECT.since == (17, 0)
    assert rules.PREFERS_NO_INTERRUPTIONS_FROM_SYSTEM_ALERTS.since == (14, 5)
    assert rules.REASON_KEY.since == (14, 5) and rules.REASON_KEY.until is None
    assert (rules.WAS_SUSPENDED_KEY.since, rules.WAS_SUSPENDED_KEY.until) == ((10, 3), (14, 5))


def test_timings_defaults_match_the_references_qualitative_claims() -> None:
    t = Timings()
    assert 1.0 <= t.media_app_ended_delay_s <= 10.0, "'a few seconds' [TW-VQ]"
    assert 0.0 < t.siri_never_ends_probability < 0.5, "'sometimes never' [OR-20492]"
    assert t.route_switch_latency_ms["bluetoothHFP"] > t.route_switch_latency_ms["builtInReceiver"]


@pytest.mark.parametrize(
    "kw",
    [
        {"siri_never_ends_probability": 1.5},
        {"siri_never_ends_probability": -0.1},
        {"siri_end_delay_s": -1},
        {"media_app_ended_delay_s": -1},
        {"call_ended_delay_s": -1},
        {"media_services_reset_delay_s": -1},
        {"callkit_activation_delay_s": -1},
    ],
)
def test_timings_reject_nonsense(kw: dict) -> None:
    with pytest.raises(ValueError, match=rf"^{next(iter(kw))} must"):  # the message names the parameter first
        Timings(**kw)


def test_timings_accept_the_edges() -> None:
    assert Timings(siri_never_ends_probability=0.0, siri_end_delay_s=0.0).siri_end_delay_s == 0.0
    assert Timings(siri_never_ends_probability=1.0).siri_never_ends_probability == 1.0


def test_rule_tables_are_immutable() -> None:
    """The tables are shared by every phone of the lab: no world may change them."""
    import dataclasses

    rows = [
        next(iter(RULES.values())),
        INTERRUPTERS["siri"],
        rules.REASON_KEY,
        Timings(),
    ]
    for row in rows:
        field = dataclasses.fields(row)[0].name
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(row, field, None)


def test_confidence_words() -> None:
    assert [str(c) for c in Confidence] == ["documented", "observed", "inferred"]


@pytest.mark.parametrize(
    ("availability", "first", "last_before"),
    [
        (rules.REASON_AVAILABILITY[rules.InterruptionReason.default], (14, 5), (14, 4)),
        (rules.REASON_AVAILABILITY[rules.InterruptionReason.appWasSuspended], (14, 5), (14, 4)),
        (rules.REASON_AVAILABILITY[rules.InterruptionReason.builtInMicMuted], (14, 5), (14, 4)),
        (rules.REASON_AVAILABILITY[rules.InterruptionReason.routeDisconnected], (17, 0), (16, 9)),
        (rules.REASON_KEY, (14, 5), (14, 4)),
        (rules.WAS_SUSPENDED_KEY, (10, 3), (10, 2)),
        (rules.FAMILY27, (27, 0), (26, 9)),
        (rules.PREFERS_INTERRUPTION_ON_ROUTE_DISCONNECT, (17, 0), (16, 9)),
        (rules.PREFERS_NO_INTERRUPTIONS_FROM_SYSTEM_ALERTS, (14, 5), (14, 4)),
    ],
)
def test_availability_starts_where_the_header_says(availability, first, last_before) -> None:
    assert availability.covers(first) and not availability.covers(last_before)


def test_visionos_only_reasons_never_on_ios() -> None:
    assert rules.REASON_AVAILABILITY[rules.InterruptionReason.sceneWasBackgrounded] is None
    assert rules.REASON_AVAILABILITY[rules.InterruptionReason.deviceUnauthenticated] is None


def test_every_rule_is_traced_to_the_code_that_applies_it() -> None:
    """No orphan rows: each id appears in the table and at least once where it is applied."""
    text = "".join(p.read_text() for p in PACKAGE.glob("*.py"))
    orphans = [rid for rid in RULES if len(re.findall(rf"\b{rid}\b", text)) < 2]
    assert orphans == []
