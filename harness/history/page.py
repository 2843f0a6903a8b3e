"""The trends page: one static ``index.html`` (inline SVG and CSS, no script, no network).

Flags come first, each linking to what it flags: a metric outside its trailing distribution (or
creeping), a flaky scenario, a phone with repeated lab faults. Then what is new since last night,
pass rates per scenario x phone/iOS over the nights, every metric's trend with p50 and p95, flaky
scenarios and the lab's health per phone.
"""

from __future__ import annotations

from html import escape

from harness.history.trends import LAB_FAULT_REPEAT, LAB_HEALTH_NIGHTS, Cell, MetricTrend, Trends

CSS = """
body{font-family:sans-serif;margin:1.5em;color:#222;max-width:1400px}
h1{font-size:1.4em}h2{font-size:1.15em;margin-top:2em;border-top:1px solid #ccc;padding-top:.8em}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ddd;padding:3px 6px;font-size:13px;
text-align:left;vertical-align:top}th{background:#f3f3f3}
td.night{width:22px;height:18px;padding:0;text-align:center;font-size:10px;color:#fff}
.note{color:#777;font-size:12px}
#flags li{margin:.2em 0}.flag{font-weight:bold}.flag.outlier,.flag.creeping{color:#cf222e}
.flag.flaky{color:#8250df}.flag.lab-health{color:#9a6700}
.trends{display:flex;flex-wrap:wrap;gap:10px}
figure.trend{margin:0;border:1px solid #ddd;padding:4px;width:372px}
figure.trend.flagged{border:3px solid #cf222e;padding:2px}
figure.trend figcaption{font-size:12px}
tr.flagged td{background:#fff1e5}
.app-failure,.error{color:#cf222e;font-weight:bold}.lab-fault{color:#9a6700;font-weight:bold}
"""
PASS_COLOUR, FAIL_COLOUR, MIXED_COLOUR, LAB_COLOUR = "#2da44e", "#cf222e", "#fb8f44", "#9e9e9e"
P50_COLOUR, P95_COLOUR, FLAG_COLOUR = "#1f77b4", "#ff7f0e", "#cf222e"
PLOT_W, PLOT_H = 360, 130


def render(t: Trends, nights_asked: int) -> str:
    title = "harness history"
    parts = ["<!doctype html><html lang=en><head><meta charset=utf-8>",
             f"<title>{title}</title><style>{CSS}</style></head><body>", f"<h1>{title}</h1>"]
    if not t.nights:
        parts.append('<p id="summary">the history holds no runs yet: <code>harness history ingest OUT</code> '
                     "adds a report folder</p></body></html>")
        return "\n".join(parts)
    parts.append(f'<p id="summary">{len(t.nights)} night(s) (up to {nights_asked} asked), '
                 f"{escape(t.nights[0])} "
                 f"to tonight, <b>{escape(t.tonight)}</b>: {t.runs} run(s) from "
                 f"{escape(', '.join(t.hosts))}</p>")
    parts += [_flags(t), _new(t), _pass_rates(t), _metrics(t), _flaky(t), _health(t), "</body></html>"]
    return "\n".join(parts)


def _flags(t: Trends) -> str:
    flags = t.flags
    if not flags:
        return '<h2>flags</h2><p id="flags">nothing flagged tonight</p>'
    items = "".join(f'<li class="flag {f.kind}" data-kind="{f.kind}"><a href="#{f.anchor}">{escape(f.kind)}'
                    f"</a>: {escape(f.text)}</li>" for f in flags)
    return f'<h2>flags</h2><ul id="flags">{items}</ul>'


def _new(t: Trends) -> str:
    head = '<h2>new since last night</h2><p class="note">tonight\'s failures and lab faults of a scenario ' \
           "on a phone that passed there the night before</p>"
    if not t.new_failures:
        return head + '<p id="new">nothing</p>'
    rows = "".join(
        f'<tr><td>{escape(n.scenario)}</td><td>{escape(n.phone)}</td><td>{escape(n.ios)}</td>'
        f'<td class="{n.outcome}">{n.outcome}</td><td>{escape(n.detail)}</td>'
        f"<td>{escape(_build_change(n.build_before, n.build_now))}</td></tr>" for n in t.new_failures)
    return (head + '<table id="new"><tr><th>scenario</th><th>phone</th><th>iOS</th><th>tonight</th>'
            f"<th>rule / lab tag</th><th>app build</th></tr>{rows}</table>")


def _build_change(before: str, now: str) -> str:
    return f"same build ({now or '?'})" if before == now else f"new build: {before or '?'} to {now or '?'}"


def _pass_rates(t: Trends) -> str:
    head = "".join(f'<th title="{escape(n)}">{escape(n[5:])}</th>' for n in t.nights)
    rows = []
    for row in t.pass_rows:
        cells = "".join(_cell(row.cells.get(n), n) for n in t.nights)
        total = Cell()
        for c in row.cells.values():
            total.passed += c.passed
            total.failed += c.failed
        rate = f"{total.rate:.0%}" if total.rate is not None else "-"
        rows.append(f"<tr><td>{escape(row.scenario)}</td><td>{escape(row.phone)}</td><td>{escape(row.ios)}</td>"
                    f"{cells}<td>{rate}</td></tr>")
    return ('<h2>pass rate per scenario x phone/iOS</h2><p class="note">per night: passes over passes and '
            "failures (green all passed, red none, orange some); grey: lab faults only. Hover for counts.</p>"
            f'<table id="pass-rates"><tr><th>scenario</th><th>phone</th><th>iOS</th>{head}<th>all</th></tr>'
            + "".join(rows) + "</table>")


def _cell(c: Cell | None, night: str) -> str:
    if c is None:
        return '<td class="night"></td>'
    tip = (f"{night}: {c.passed} pass, {c.failed} failed, {c.lab_faults} lab fault(s), {c.skipped} skipped")
    if c.rate is None:
        colour, text = (LAB_COLOUR, "L") if c.lab_faults else ("#fff", "")
    else:
        colour = PASS_COLOUR if c.rate == 1 else FAIL_COLOUR if c.rate == 0 else MIXED_COLOUR
        text = "" if c.rate in (0, 1) else f"{round(100 * c.rate)}"
    return f'<td class="night" style="background:{colour}" title="{escape(tip)}">{text}</td>'


def _metrics(t: Trends) -> str:
    figs = "".join(_trend_figure(m, t.nights) for m in t.metrics)
    return ("<h2>metrics per scenario and iOS</h2><p class=note>each night's p50 (blue) and p95 (orange) of "
            "every numeric JUnit property; the red dot is tonight when it is flagged.</p>"
            f'<div class="trends" id="metrics">{figs}</div>')


def _trend_figure(m: MetricTrend, nights: list[str]) -> str:
    tonight = nights[-1]
    p50, p95 = m.p(tonight, 50), m.p(tonight, 95)
    now = (f"tonight p50 {p50:.4g}, p95 {p95:.4g}" if p50 is not None and p95 is not None
           else "not measured tonight")
    cls = f"trend flagged {m.flag}" if m.flag else "trend"
    why = f'<br><span class="flag {m.flag}">{escape(m.flag)}: {escape(m.why)}</span>' if m.flag else ""
    return (f'<figure class="{cls}" id="{m.anchor}" data-flag="{m.flag}">{_trend_svg(m, nights)}'
            f"<figcaption><b>{escape(m.metric)}</b> &middot; {escape(m.scenario)} &middot; iOS "
            f"{escape(m.ios or '?')}<br>{escape(now)}{why}</figcaption></figure>")


def _trend_svg(m: MetricTrend, nights: list[str]) -> str:
    pad_l, pad_r, pad_t, pad_b = 44, 8, 8, 18
    points = [(i, m.p(n, 50), m.p(n, 95)) for i, n in enumerate(nights) if n in m.values]
    ys = [y for _, a, b in points for y in (a, b) if y is not None]
    lo, hi = min(ys), max(ys)
    if hi - lo < 1e-12:
        lo, hi = lo - 1, hi + 1
    span_x = max(len(nights) - 1, 1)

    def x(i: int) -> float:
        return round(pad_l + i / span_x * (PLOT_W - pad_l - pad_r), 1)

    def y(v: float) -> float:
        return round(PLOT_H - pad_b - (v - lo) / (hi - lo) * (PLOT_H - pad_t - pad_b), 1)

    def line(k: int, colour: str, cls: str, dash: str = "") -> str:
        pts = " ".join(f"{x(p[0])},{y(float(v))}" for p in points if (v := p[k]) is not None)
        return (f'<polyline class="{cls}" points="{pts}" fill="none" stroke="{colour}" stroke-width="2"'
                f'{dash}/>')

    dots = "".join(f'<circle class="p50-point" cx="{x(i)}" cy="{y(a)}" r="2.5" fill="{P50_COLOUR}">'
                   f"<title>{escape(nights[i])}: p50 {a:.4g}, p95 {b:.4g}</title></circle>"
                   for i, a, b in points if a is not None and b is not None)
    last_i, last_p50 = points[-1][0], points[-1][1]
    flag = ""
    if m.flag and last_p50 is not None and last_i == len(nights) - 1:
        flag = (f'<circle class="flagged-point" cx="{x(last_i)}" cy="{y(last_p50)}" r="6" '
                f'fill="{FLAG_COLOUR}">'
                f"<title>{escape(m.why)}</title></circle>")
    axis = (f'<text x="{pad_l - 4}" y="{y(hi) + 4}" font-size="10" text-anchor="end">{hi:.4g}</text>'
            f'<text x="{pad_l - 4}" y="{y(lo)}" font-size="10" text-anchor="end">{lo:.4g}</text>'
            f'<text x="{pad_l}" y="{PLOT_H - 4}" font-size="10">{escape(nights[0][5:])}</text>'
            f'<text x="{PLOT_W - pad_r}" y="{PLOT_H - 4}" font-size="10" text-anchor="end">'
            f"{escape(nights[-1][5:])}</text>"
            f'<line x1="{pad_l}" y1="{PLOT_H - pad_b}" x2="{PLOT_W - pad_r}" y2="{PLOT_H - pad_b}" '
            'stroke="#999"/>')
    dashed = ' stroke-dasharray="4 3"'
    return (f'<svg class="trend-plot" width="{PLOT_W}" height="{PLOT_H}" viewBox="0 0 {PLOT_W} {PLOT_H}" '
            f'xmlns="http://www.w3.org/2000/svg">{axis}{line(2, P95_COLOUR, "p95", dashed)}'
            f'{line(1, P50_COLOUR, "p50")}{dots}{flag}</svg>')


def _flaky(t: Trends) -> str:
    head = ('<h2>flaky scenarios</h2><p class="note">outcome changed between pass and failure with no change '
            "of app build or iOS (between nights, or a rerun within one)</p>")
    if not t.flaky:
        return head + '<p id="flaky">none</p>'
    rows = "".join(f'<tr class="flaky flagged" id="{f.anchor}"><td>{escape(f.scenario)}</td>'
                   f"<td>{escape(f.phone)}</td><td>{escape(f.ios)}</td><td>{len(f.flips)}</td>"
                   f"<td>{escape('; '.join(f.flips))}</td></tr>"
                   for f in t.flaky)
    return (head + '<table id="flaky"><tr><th>scenario</th><th>phone</th><th>iOS</th><th>changes</th>'
            f"<th>which</th></tr>{rows}</table>")


def _health(t: Trends) -> str:
    rows = []
    for h in t.health:
        cls = ' class="lab-health flagged"' if h.flagged_tag else ""
        tags, recent = _tags(h.by_tag), _tags(h.recent_by_tag)
        verdict = f"needs the lab's attention: {h.flagged_tag} again and again" if h.flagged_tag else ""
        rows.append(f'<tr{cls} id="{h.anchor}"><td>{escape(h.phone)}</td><td>{escape(h.model)}</td>'
                    f"<td>{escape(h.ios)}</td><td>{h.results}</td><td>{h.lab_faults} ({h.rate:.0%})</td>"
                    f"<td>{escape(tags)}</td><td>{escape(recent)}</td><td>{escape(verdict)}</td></tr>")
    return (f'<h2>lab health per phone</h2><p class="note">lab faults are the lab\'s, never the app\'s: '
            f"{LAB_FAULT_REPEAT} or more of one tag in the last {LAB_HEALTH_NIGHTS} nights flags the "
            "phone</p>"
            '<table id="lab-health"><tr><th>phone</th><th>model</th><th>iOS</th><th>results</th>'
            f"<th>lab faults</th><th>by tag</th><th>last {LAB_HEALTH_NIGHTS} nights</th><th></th></tr>"
            + "".join(rows) + "</table>")


def _tags(counts: dict[str, int]) -> str:
    return ", ".join(f"{tag} x {n}" for tag, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
