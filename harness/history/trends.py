"""Judging a window of nights: pass rates, metric trends and outliers, what is new since last
night, flaky scenarios and the lab's health per phone. Pure functions of the rows read back
(:func:`harness.history.query.load_window`), so SQLite and PostgreSQL give the same page.

The rules, each one constant here:

* pass rate: passes over passes and failures (app failures and harness errors) per scenario x
  phone/iOS per night; lab faults and skips are shown beside it, never counted against the app.
* a metric (every numeric JUnit property) per scenario x iOS: p50 and p95 per night. Tonight is
  *outside its trailing distribution* when tonight's median is beyond every earlier value in the
  window and more than ``OUTLIER_Z`` robust standard deviations (1.4826 x MAD) from their median,
  with at least ``MIN_TRAILING`` earlier values. It is *creeping* when its nightly medians over at
  least ``CREEP_MIN_NIGHTS`` nights trend one way (Kendall's tau, p < ``CREEP_P``) by at least
  ``CREEP_MIN_CHANGE`` of where they began.
* new since last night: tonight's failures and lab faults of a scenario on a phone that passed
  there the night before, with its app build then and now.
* flaky: a scenario on a phone whose outcome changed between pass and failure with neither the
  app build nor the iOS version changing: ``FLAKY_MIN_CHANGES`` times between runs, or once
  within a night (a rerun that passed). One change alone is news (see above), not yet a flake.
* lab health: lab faults per phone by tag; ``LAB_FAULT_REPEAT`` or more of one tag within the last
  ``LAB_HEALTH_NIGHTS`` nights flags the phone (a cable, a hub, WDA: not a bug report).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from harness.history.query import Row

MIN_TRAILING = 5
OUTLIER_Z = 4.0
CREEP_MIN_NIGHTS = 6
CREEP_P = 0.01
CREEP_MIN_CHANGE = 0.10
FLAKY_MIN_CHANGES = 2
LAB_HEALTH_NIGHTS = 7
LAB_FAULT_REPEAT = 3
FAILED = ("app-failure", "error")


@dataclass
class Cell:
    passed: int = 0
    failed: int = 0
    lab_faults: int = 0
    skipped: int = 0

    @property
    def rate(self) -> float | None:
        judged = self.passed + self.failed
        return self.passed / judged if judged else None

    def add(self, outcome: str) -> None:
        if outcome == "pass":
            self.passed += 1
        elif outcome in FAILED:
            self.failed += 1
        elif outcome == "lab-fault":
            self.lab_faults += 1
        else:
            self.skipped += 1


@dataclass
class PassRow:
    scenario: str
    phone: str
    ios: str
    cells: dict[str, Cell] = field(default_factory=dict)  # night -> outcomes


@dataclass
class MetricTrend:
    metric: str
    scenario: str
    ios: str
    values: dict[str, list[float]]  # night -> values, nights with data only
    flag: str = ""  # "", "outlier", "creeping"
    why: str = ""

    def p(self, night: str, q: float) -> float | None:
        v = self.values.get(night)
        return float(np.percentile(v, q)) if v else None

    @property
    def anchor(self) -> str:
        return _anchor("m", self.metric, self.scenario, self.ios)


@dataclass
class NewFailure:
    scenario: str
    phone: str
    ios: str
    outcome: str
    detail: str
    build_before: str
    build_now: str


@dataclass
class Flaky:
    scenario: str
    phone: str
    ios: str
    flips: list[str]

    @property
    def anchor(self) -> str:
        return _anchor("f", self.scenario, self.phone)


@dataclass
class PhoneHealth:
    phone: str
    model: str
    ios: str
    results: int
    by_tag: dict[str, int]
    recent_by_tag: dict[str, int]
    flagged_tag: str = ""

    @property
    def lab_faults(self) -> int:
        return sum(self.by_tag.values())

    @property
    def rate(self) -> float:
        return self.lab_faults / self.results if self.results else 0.0

    @property
    def anchor(self) -> str:
        return _anchor("p", self.phone)


@dataclass
class Flag:
    kind: str  # outlier, creeping, flaky, lab-health
    anchor: str
    text: str


@dataclass
class Trends:
    nights: list[str]
    runs: int
    hosts: list[str]
    pass_rows: list[PassRow]
    metrics: list[MetricTrend]
    new_failures: list[NewFailure]
    flaky: list[Flaky]
    health: list[PhoneHealth]

    @property
    def tonight(self) -> str:
        return self.nights[-1] if self.nights else ""

    @property
    def flags(self) -> list[Flag]:
        out = [Flag(m.flag, m.anchor, f"{m.metric} of {m.scenario} on iOS {m.ios or '?'}: {m.why}")
               for m in self.metrics if m.flag]
        out += [Flag("flaky", f.anchor, f"{f.scenario} on {f.phone}: {len(f.flips)} outcome change(s) "
                     "with no change of app build") for f in self.flaky]
        out += [Flag("lab-health", h.anchor, f"{h.phone}: {h.recent_by_tag[h.flagged_tag]} x {h.flagged_tag} "
                     f"in the last {LAB_HEALTH_NIGHTS} nights") for h in self.health if h.flagged_tag]
        return out


def judge(nights: list[str], rows: list[Row]) -> Trends:
    return Trends(nights=nights, runs=len({r.run_key for r in rows}), hosts=sorted({r.host for r in rows}),
                  pass_rows=pass_rates(rows), metrics=metric_trends(nights, rows),
                  new_failures=new_since_last_night(nights, rows), flaky=flaky(rows),
                  health=lab_health(nights, rows))


def pass_rates(rows: Iterable[Row]) -> list[PassRow]:
    table: dict[tuple[str, str, str], PassRow] = {}
    for r in rows:
        key = (r.scenario, r.phone_label, r.ios)
        row = table.setdefault(key, PassRow(*key))
        row.cells.setdefault(r.night, Cell()).add(r.outcome)
    return [table[k] for k in sorted(table)]


def metric_trends(nights: list[str], rows: Iterable[Row]) -> list[MetricTrend]:
    series: dict[tuple[str, str, str], dict[str, list[float]]] = {}
    for r in rows:
        for name, value in r.metrics.items():
            series.setdefault((name, r.scenario, r.ios), {}).setdefault(r.night, []).append(value)
    trends = [MetricTrend(*key, values=series[key]) for key in sorted(series)]
    tonight = nights[-1] if nights else ""
    for t in trends:
        t.flag, t.why = outside_trailing(t, tonight) or creeping(t) or ("", "")
    return trends


def outside_trailing(t: MetricTrend, tonight: str) -> tuple[str, str] | None:
    now = t.values.get(tonight)
    trailing = np.array([v for night, vs in t.values.items() if night < tonight for v in vs])
    if not now or len(trailing) < MIN_TRAILING:
        return None
    value = float(np.median(now))
    centre = float(np.median(trailing))
    spread = 1.4826 * float(np.median(np.abs(trailing - centre)))
    scale = max(spread, 0.01 * abs(centre), 1e-9)
    z = (value - centre) / scale
    beyond = value > trailing.max() or value < trailing.min()
    if abs(z) <= OUTLIER_Z or not beyond:
        return None
    p95 = float(np.percentile(trailing, 95))
    p5 = float(np.percentile(trailing, 5))
    return "outlier", (f"tonight {_fmt(value)} is outside its trailing distribution (p5 {_fmt(p5)}, "
                       f"p50 {_fmt(centre)}, p95 {_fmt(p95)} over {len(trailing)} values; "
                       f"{z:+.1f} robust sd)")


def creeping(t: MetricTrend) -> tuple[str, str] | None:
    from scipy.stats import kendalltau

    nights = sorted(t.values)
    if len(nights) < CREEP_MIN_NIGHTS:
        return None
    p50 = np.array([np.median(t.values[n]) for n in nights])
    tau, p = kendalltau(np.arange(len(p50)), p50)
    if not np.isfinite(p) or p >= CREEP_P:
        return None
    first, last = float(np.median(p50[:3])), float(np.median(p50[-3:]))
    change = (last - first) / max(abs(first), 1e-9)
    if abs(change) < CREEP_MIN_CHANGE:
        return None
    way = "up" if change > 0 else "down"
    return "creeping", (f"creeping {way} over {len(nights)} nights: nightly p50 from {_fmt(first)} to "
                        f"{_fmt(last)} ({change:+.0%}, Kendall tau {tau:+.2f}, p={p:.3g})")


def new_since_last_night(nights: list[str], rows: list[Row]) -> list[NewFailure]:
    if len(nights) < 2:
        return []
    tonight, before = nights[-1], nights[-2]
    last: dict[tuple[str, str], list[Row]] = {}
    for r in rows:
        if r.night == before:
            last.setdefault((r.scenario, r.phone), []).append(r)
    out = []
    for r in rows:
        if r.night != tonight or r.outcome not in (*FAILED, "lab-fault"):
            continue
        then = last.get((r.scenario, r.phone), [])
        if any(x.outcome == "pass" for x in then) and not any(x.outcome in FAILED for x in then):
            out.append(NewFailure(r.scenario, r.phone_label, r.ios, r.outcome, r.rule or r.lab_tag,
                                  then[-1].app_build, r.app_build))
    return out


def flaky(rows: list[Row]) -> list[Flaky]:
    seq: dict[tuple[str, str], list[Row]] = {}
    for r in rows:
        if r.outcome == "pass" or r.outcome in FAILED:
            seq.setdefault((r.scenario, r.phone), []).append(r)
    out = []
    for (scenario, _), runs in sorted(seq.items()):
        flips, rerun = [], False
        for a, b in itertools.pairwise(runs):
            if (a.outcome == "pass") == (b.outcome == "pass") or a.app_build != b.app_build or a.ios != b.ios:
                continue
            rerun |= a.night == b.night
            when = f"a rerun on {b.night}" if a.night == b.night else f"{a.night} to {b.night}"
            flips.append(f"{a.outcome} then {b.outcome} ({when}, app build {b.app_build or '?'}, "
                         f"iOS {b.ios or '?'})")
        if len(flips) >= FLAKY_MIN_CHANGES or rerun:
            out.append(Flaky(scenario, runs[-1].phone_label, runs[-1].ios, flips))
    return out


def lab_health(nights: list[str], rows: list[Row]) -> list[PhoneHealth]:
    recent = set(nights[-LAB_HEALTH_NIGHTS:])
    phones: dict[str, PhoneHealth] = {}
    for r in rows:
        h = phones.setdefault(r.phone, PhoneHealth(r.phone_label, r.model, r.ios, 0, {}, {}))
        h.ios = r.ios or h.ios
        if r.outcome == "skipped":
            continue
        h.results += 1
        if r.outcome == "lab-fault":
            tag = r.lab_tag or "lab"
            h.by_tag[tag] = h.by_tag.get(tag, 0) + 1
            if r.night in recent:
                h.recent_by_tag[tag] = h.recent_by_tag.get(tag, 0) + 1
    for h in phones.values():
        worst = max(sorted(h.recent_by_tag), key=lambda tag: h.recent_by_tag[tag], default="")
        if worst and h.recent_by_tag[worst] >= LAB_FAULT_REPEAT:
            h.flagged_tag = worst
    return sorted(phones.values(), key=lambda h: (-h.rate, h.phone))


def _fmt(x: float) -> str:
    return f"{x:.4g}"


def _anchor(prefix: str, *parts: str) -> str:
    import re

    return prefix + "-" + re.sub(r"[^A-Za-z0-9]+", "-", "-".join(parts)).strip("-").lower()
