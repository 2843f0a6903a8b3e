"""The corpus is deterministic and its truth is where the impairments are."""

from __future__ import annotations

import numpy as np

from harness.audio.corpus import make_case, naive_silence_gaps


def test_same_seed_same_case_and_seeds_differ() -> None:
    a, b = make_case("opus16", 3), make_case("opus16", 3)
    assert np.array_equal(a.capture, b.capture) and a.gaps == b.gaps
    c = make_case("opus16", 4)
    assert c.gaps != a.gaps


def test_truth_marks_silent_gaps_where_the_capture_is_silent() -> None:
    case = make_case("clean", 5)
    silent = [g for g in case.gaps if g.fill == "silence"]
    assert silent
    for g in silent:
        seg = case.capture[round(g.start_s * case.rate) : round(g.end_s * case.rate)]
        assert np.abs(seg).max() == 0.0
    assert all(g.kind in ("lost", "delayed") for g in case.gaps)


def test_the_naive_detector_misses_concealment() -> None:
    """Opus PLC fills short losses with sound: only long losses fade into silence."""
    case = make_case("opus32", 0)
    assert len(case.gaps) >= 6
    assert len(naive_silence_gaps(case.capture, case.rate)) < len(case.gaps) // 2
