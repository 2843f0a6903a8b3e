"""The analyzer against known captures: self, no probe, inserted gaps (hypothesis), echo."""

from __future__ import annotations

import json

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.audio.analyze import analyze
from harness.audio.probe import DOWNLINK_SEED, MOUTH_SEED, OTHER_AUDIO_SEED, probe

RATE = 48000
REF = probe(8.0, DOWNLINK_SEED)


def test_probe_against_itself_is_perfect() -> None:
    a = analyze(REF, RATE, {"downlink": REF})
    d = a.to_dict()
    assert d["gaps"] == [] and d["glitches"] == [] and d["skips"] == [] and d["repeats"] == []
    assert d["latency_ms"] == 0.0
    assert d["level_db"] == [0.0]
    assert d["coverage"] == 1.0 and d["reference"] == "downlink"
    assert json.loads(json.dumps(d)) == d


def test_capture_without_probe_has_empty_presence() -> None:
    rng = np.random.default_rng(3)
    for capture in (np.zeros(RATE * 3, np.float32), rng.standard_normal(RATE * 3).astype(np.float32) * 0.1,
                    probe(3.0, OTHER_AUDIO_SEED)):
        a = analyze(capture, RATE, {"downlink": REF, "mouth": probe(8.0, MOUTH_SEED)})
        assert a.presence == {"downlink": [], "mouth": []}
        assert a.reference is None and a.gaps == [] and a.latency_ms is None


def _with_gap(start_s: float, dur_ms: float, kind: str, latency_s: float) -> np.ndarray:
    start, dur, lead = round(start_s * RATE), round(dur_ms * RATE / 1000), round(latency_s * RATE)
    resume = start + dur if kind == "lost" else start
    parts = [np.zeros(lead, np.float32), REF[:start], np.zeros(dur, np.float32), REF[resume:]]
    return np.concatenate(parts)[: 7 * RATE]


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(start_s=st.floats(1.0, 5.0), dur_ms=st.floats(20.0, 1500.0), kind=st.sampled_from(["lost", "delayed"]),
       latency_s=st.floats(0.0, 0.3))
def test_inserted_gap_is_found_to_the_millisecond(
    start_s: float, dur_ms: float, kind: str, latency_s: float
) -> None:
    cap = _with_gap(start_s, dur_ms, kind, latency_s)
    a = analyze(cap, RATE, {"downlink": REF})
    assert len(a.gaps) == 1, a.to_dict()["gaps"]
    g = a.gaps[0]
    lead = round(latency_s * RATE) / RATE
    assert abs(g.start_s - (lead + round(start_s * RATE) / RATE)) < 0.001
    assert abs(g.duration_ms - round(dur_ms * RATE / 1000) / RATE * 1000) < 1.0
    assert g.kind == kind
    assert abs(a.latency_ms - lead * 1000) < 0.05
    want_delay = g.duration_ms if kind == "delayed" else 0.0
    assert abs(g.added_delay_ms - want_delay) < 1.0


def test_skip_repeat_and_level_step() -> None:
    x = REF
    cap = np.concatenate([x[: 2 * RATE], x[2 * RATE + 4800 : 4 * RATE], x[4 * RATE - 2400 : 6 * RATE] * 0.1])
    a = analyze(cap, RATE, {"downlink": x})
    assert a.gaps == []
    assert [round(j.jump_ms) for j in a.skips] == [100]
    assert [round(j.jump_ms) for j in a.repeats] == [-50]
    assert [round(s.level_vs_first_db) for s in a.segments] == [0, 0, -20]


def test_echo_of_the_other_direction() -> None:
    mouth = probe(8.0, MOUTH_SEED)
    delay = 2400
    echo = np.concatenate([np.zeros(delay, np.float32), REF[:-delay]]) * 10 ** (-25 / 20)
    a = analyze(mouth + echo, RATE, {"uplink": mouth, "downlink": REF})
    assert a.reference == "uplink"
    (e,) = a.echo
    assert e.detected and abs(e.median_erl_db - 25.0) < 1.0 and abs(e.lag_ms - 50.0) < 0.1
    b = analyze(mouth, RATE, {"uplink": mouth, "downlink": REF})
    assert not b.echo[0].detected and b.echo[0].median_erl_db > 40
