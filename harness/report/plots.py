"""Inline SVG plots for the report: a test's timeline, and capture levels around an interruption.

Plain SVG text with ``<title>`` tooltips: no script, no stylesheet outside the page, no network,
so the report opens from a CI artifact store or a laptop alike.
"""

from __future__ import annotations

import math
from html import escape
from typing import Any

import numpy as np

from harness.report.artifacts import ArtifactFolder

WIDTH = 1100
LABEL_W = 190
LANE_H = 24
AXIS_H = 26
ROUTE_COLOURS = {"receiver": "#1f77b4", "speaker": "#d62728", "bt_hfp": "#2ca02c", "bt_a2dp": "#9467bd",
                 "wired": "#8c564b"}
PEER_STATE_COLOURS = {"connected": "#2ca02c", "connecting": "#bcbd22", "checking": "#bcbd22",
                      "completed": "#2ca02c", "disconnected": "#ff7f0e", "failed": "#d62728",
                      "closed": "#7f7f7f"}
GAP_FILL = "#d62728"
MAX_LOG_TICKS = 400
"""Plain device-log lines drawn per phone lane at most (a real phone's log runs at hundreds of lines a
second; every app event and stream loss is drawn anyway). The full log is in device-log.txt."""


def route_colour(route: str) -> str:
    return ROUTE_COLOURS.get(route, "#17becf")


class _Scale:
    def __init__(self, start_ns: int, end_ns: int, x0: float, x1: float) -> None:
        self.start_ns, self.end_ns = start_ns, max(end_ns, start_ns + 1)
        self.x0, self.x1 = x0, x1

    def x(self, t_ns: int | float) -> float:
        f = (t_ns - self.start_ns) / (self.end_ns - self.start_ns)
        return round(self.x0 + min(max(f, 0.0), 1.0) * (self.x1 - self.x0), 1)

    def ticks(self, origin_ns: int, most: int = 40) -> list[tuple[float, str]]:
        span_s = (self.end_ns - self.start_ns) / 1e9
        step = max(_nice_step(span_s / 10), 0.001)
        first = math.ceil((self.start_ns - origin_ns) / 1e9 / step)
        out = []
        for k in range(first, first + most + 1):
            t = k * step
            if origin_ns + t * 1e9 > self.end_ns:
                break
            out.append((self.x(origin_ns + t * 1e9), f"{round(t, 3):g}"))
        return out


def _nice_step(raw: float) -> float:
    if raw <= 0:
        return 1.0
    mag = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 5, 10):
        if raw <= m * mag:
            return m * mag
    return 10 * mag


def timeline_svg(ev: ArtifactFolder, title: str = "") -> str:
    """Marks and actions, device log events per phone, peer events and states, downlink presence per
    route capture, and gap bands where no route carried the call's audio."""
    origin = ev.start_ns
    sc = _Scale(origin, ev.end_ns, LABEL_W, WIDTH - 10)
    lanes: list[tuple[str, str, list[str]]] = []

    marks = [e for e in ev.events if e.source == "mark"]
    actions = [e for e in ev.events if e.source in ("phone", "action")]
    by_phone: dict[str, list[Any]] = {}
    for e in actions:
        by_phone.setdefault(str(e.fields.get("phone", e.source)), []).append(e)
    lanes.append(("marks", "marks", [_tick(sc, e.t_ns, 0, "#000", _tip(e, origin), cls="mark")
                                     for e in marks]))
    for phone, evs in by_phone.items():
        lanes.append((f"actions-{phone}", f"actions: {phone}",
                      [_tick(sc, e.t_ns, 0, "#ff7f0e", _tip(e, origin), cls="event action") for e in evs]))
    logs: dict[str, list[Any]] = {}
    for e in ev.events:
        if e.source == "device-log" and e.kind in ("log", "app-event", "stream-lost"):
            logs.setdefault(str(e.fields.get("udid", "")), []).append(e)
    for udid, evs in logs.items():
        name = ev.phones.get(udid, udid[:8])
        shown, lines = capped_log_ticks(evs)
        elems = [_tick(sc, e.t_ns, 0, "#9467bd" if e.kind == "app-event" else "#aaa", _tip(e, origin),
                       cls=f"event device-log {e.kind}", tall=e.kind != "log") for e in shown]
        if len(shown) < len(evs):
            drawn = sum(e.kind == "log" for e in shown)
            elems.append(f'<text class="log-cap" x="{WIDTH - 14}" y="{LANE_H - 4}" text-anchor="end" '
                         f'font-size="9" font-family="sans-serif" fill="#555">{drawn} of {lines} lines '
                         f'drawn (all in device-log.txt)</text>')
        lanes.append((f"devlog-{udid}", f"device log: {name}", elems))
    peer = [e for e in ev.events if e.source == "peer"]
    if peer:
        lanes.append(("peer", "peer", _peer_elements(sc, peer, origin, ev.end_ns)))
    for cap in ev.captures:
        colour = route_colour(cap.route)
        elems = [f'<rect class="capture-span" x="{sc.x(cap.t0_ns)}" y="{LANE_H * 0.4:.1f}" '
                 f'width="{max(sc.x(cap.end_ns) - sc.x(cap.t0_ns), 0.5):.1f}" height="{LANE_H * 0.2:.1f}" '
                 f'fill="#ddd"><title>{escape(cap.route)} capture {cap.duration_s:.1f} s</title></rect>']
        for a, b in cap.presence:
            elems.append(f'<rect class="presence" data-route="{escape(cap.route)}" x="{sc.x(a)}" y="3" '
                         f'width="{max(sc.x(b) - sc.x(a), 0.8):.1f}" height="{LANE_H - 6}" fill="{colour}">'
                         f'<title>downlink on {escape(cap.route)}: {(a - origin) / 1e9:.3f}-'
                         f'{(b - origin) / 1e9:.3f} s</title></rect>')
        label = f"route: {cap.route}" + (" (!)" if cap.error else "")
        lanes.append((f"route-{cap.route}", label, elems))

    height = AXIS_H + LANE_H * len(lanes) + 8
    parts = [f'<svg class="timeline-plot" xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" '
             f'height="{height}" viewBox="0 0 {WIDTH} {height}" role="img" '
             f'aria-label="{escape(title or "timeline")}">',
             f'<rect x="0" y="0" width="{WIDTH}" height="{height}" fill="#fff"/>']
    for i, (lane_id, label, elems) in enumerate(lanes):
        y = AXIS_H + i * LANE_H
        shade = "#f7f7f7" if i % 2 else "#fff"
        parts.append(f'<g class="lane" data-lane="{escape(lane_id)}" transform="translate(0,{y})">'
                     f'<rect x="{LABEL_W}" y="0" width="{WIDTH - LABEL_W - 10}" height="{LANE_H}" '
                     f'fill="{shade}"/>'
                     f'<text x="{LABEL_W - 6}" y="{LANE_H * 0.65:.1f}" text-anchor="end" font-size="11" '
                     f'font-family="sans-serif">{escape(label[:30])}</text>{"".join(elems)}</g>')
    for a, b in ev.gap_bands():
        parts.append(f'<rect class="gap-band" x="{sc.x(a)}" y="{AXIS_H}" width="{max(sc.x(b) - sc.x(a), 1)}" '
                     f'height="{height - AXIS_H - 8}" fill="{GAP_FILL}" fill-opacity="0.15" '
                     f'stroke="{GAP_FILL}" stroke-opacity="0.5"><title>no route carried the call audio: '
                     f'{(a - origin) / 1e9:.3f}-{(b - origin) / 1e9:.3f} s ({(b - a) / 1e6:.0f} ms)'
                     f'</title></rect>')
    for e in marks:
        x = sc.x(e.t_ns)
        parts.append(f'<line class="mark-line" x1="{x}" x2="{x}" y1="{AXIS_H - 4}" y2="{height - 8}" '
                     f'stroke="#000" stroke-dasharray="3,3" stroke-width="1"/>'
                     f'<text x="{x + 2}" y="{AXIS_H - 8}" font-size="10" font-family="sans-serif">'
                     f'{escape(e.kind)}</text>')
    parts.append(_axis(sc, origin, AXIS_H - 20, "s"))
    parts.append("</svg>")
    return "".join(parts)


def capped_log_ticks(evs: list[Any], most: int = MAX_LOG_TICKS) -> tuple[list[Any], int]:
    """(events to draw, plain lines in all): every non-``log`` event, and at most ``most`` plain
    lines, evenly spread over the test."""
    lines = [e for e in evs if e.kind == "log"]
    if len(lines) <= most:
        return evs, len(lines)
    step = len(lines) / most
    keep = {id(lines[int(i * step)]) for i in range(most)}
    return [e for e in evs if e.kind != "log" or id(e) in keep], len(lines)


def _peer_elements(sc: _Scale, peer: list[Any], origin: int, end_ns: int) -> list[str]:
    elems = []
    state_start: tuple[int, str] | None = None
    for e in peer:
        if e.kind == "connection-state":
            state = str(e.fields.get("state", ""))
            if state_start is not None:
                elems.append(_bar(sc, state_start[0], e.t_ns, 4, LANE_H - 16,
                                  PEER_STATE_COLOURS.get(state_start[1], "#ccc"),
                                  f"peer {state_start[1]}", "peer-state"))
            state_start = (e.t_ns, state)
    if state_start is not None and state_start[1] not in ("closed", "failed"):
        elems.append(_bar(sc, state_start[0], end_ns, 4, LANE_H - 16,
                          PEER_STATE_COLOURS.get(state_start[1], "#ccc"), f"peer {state_start[1]}",
                          "peer-state"))
    stopped = None
    for e in peer:
        if e.kind == "uplink-stopped":
            stopped = int(e.fields.get("since_ns", e.t_ns))
        elif e.kind == "uplink-resumed" and stopped is not None:
            elems.append(_bar(sc, stopped, e.t_ns, LANE_H - 10, 7, "#d62728", "uplink stopped", "uplink-gap"))
            stopped = None
    for e in peer:
        if e.kind not in ("rtp-stats", "connection-state"):
            elems.append(_tick(sc, e.t_ns, 0, "#555", _tip(e, origin), cls=f"event peer {e.kind}",
                               tall=False))
    return elems


def _bar(sc: _Scale, a: int, b: int, y: float, h: float, colour: str, text: str, cls: str) -> str:
    return (f'<rect class="{cls}" x="{sc.x(a)}" y="{y}" width="{max(sc.x(b) - sc.x(a), 0.8):.1f}" '
            f'height="{h}" fill="{colour}" fill-opacity="0.7"><title>{escape(text)}</title></rect>')


def _tick(sc: _Scale, t_ns: int, y: float, colour: str, tip: str, cls: str = "event",
          tall: bool = True) -> str:
    x = sc.x(t_ns)
    y0, y1 = (y + 2, y + LANE_H - 2) if tall else (y + LANE_H * 0.3, y + LANE_H * 0.7)
    return (f'<line class="{cls}" x1="{x}" x2="{x}" y1="{y0:.1f}" y2="{y1:.1f}" stroke="{colour}" '
            f'stroke-width="2"><title>{escape(tip)}</title></line>')


def _tip(e: Any, origin: int) -> str:
    detail = e.fields.get("message") or e.fields.get("recipe") or e.fields.get("state") or ""
    extra = {k: v for k, v in e.fields.items() if k not in ("message", "udid", "phone_time_ns", "provenance")}
    text = f"{(e.t_ns - origin) / 1e9:.3f} s  {e.source}/{e.kind}"
    if detail:
        text += f": {detail}"
    elif extra:
        text += " " + ", ".join(f"{k}={v}" for k, v in list(extra.items())[:6])
    return text[:300]


def _axis(sc: _Scale, origin: int, y: float, unit: str, below: bool = False) -> str:
    """A time axis whose line is at ``y + 12``; tick labels above it (or ``below``)."""
    line_y = y + 12
    label_y = line_y + 12 if below else y + 6
    parts = [f'<g class="axis"><line x1="{sc.x0}" x2="{sc.x1}" y1="{line_y}" y2="{line_y}" stroke="#999"/>']
    for x, label in sc.ticks(origin):
        parts.append(f'<line x1="{x}" x2="{x}" y1="{line_y - 4}" y2="{line_y + 4}" stroke="#999"/>'
                     f'<text x="{x}" y="{label_y}" font-size="10" text-anchor="middle" '
                     f'font-family="sans-serif">{escape(label)}</text>')
    unit_x, unit_y = (sc.x1, label_y + 10) if below else (sc.x0 - 6, line_y + 3)
    parts.append(f'<text x="{unit_x}" y="{unit_y}" font-size="10" text-anchor="end" '
                 f'font-family="sans-serif">t ({unit})</text></g>')
    return "".join(parts)


LEVEL_W = 540
LEVEL_H = 232
LEVEL_MIN_DB = -90.0


def level_svg(ev: ArtifactFolder, window: tuple[int, int], title: str = "") -> str:
    """Level (dBFS, 20 ms RMS) of every route capture across ``window``, with marks and gap bands."""
    origin = ev.start_ns
    left, top, bottom = 46, 20, 30
    sc = _Scale(window[0], window[1], left, LEVEL_W - 10)

    def y(db: float) -> float:
        f = (min(max(db, LEVEL_MIN_DB), 0.0) - LEVEL_MIN_DB) / -LEVEL_MIN_DB
        return round(LEVEL_H - bottom - f * (LEVEL_H - bottom - top), 1)

    parts = [f'<svg class="level-plot" xmlns="http://www.w3.org/2000/svg" width="{LEVEL_W}" '
             f'height="{LEVEL_H}" viewBox="0 0 {LEVEL_W} {LEVEL_H}" role="img" '
             f'aria-label="{escape(title or "levels")}">',
             f'<rect x="0" y="0" width="{LEVEL_W}" height="{LEVEL_H}" fill="#fff"/>',
             f'<text x="{left}" y="13" font-size="11" font-family="sans-serif">{escape(title)}</text>']
    for db in range(int(LEVEL_MIN_DB), 1, 15):
        parts.append(f'<line x1="{left}" x2="{LEVEL_W - 10}" y1="{y(db)}" y2="{y(db)}" stroke="#eee"/>'
                     f'<text x="{left - 4}" y="{y(db) + 3}" font-size="9" text-anchor="end" '
                     f'font-family="sans-serif">{db}</text>')
    for a, b in ev.gap_bands():
        if b < window[0] or a > window[1]:
            continue
        parts.append(f'<rect class="gap-band" x="{sc.x(a)}" y="{top}" width="{max(sc.x(b) - sc.x(a), 1)}" '
                     f'height="{LEVEL_H - top - bottom}" fill="{GAP_FILL}" fill-opacity="0.12"/>')
    legend_x = left + 4
    for cap in ev.captures:
        if not len(cap.level_t_ns):
            continue
        sel = (cap.level_t_ns >= window[0]) & (cap.level_t_ns <= window[1])
        if not np.any(sel):
            continue
        ts, dbs = cap.level_t_ns[sel], cap.level_db[sel]
        step = max(1, len(ts) // 600)
        points = " ".join(f"{sc.x(int(t))},{y(float(d))}"
                          for t, d in zip(ts[::step], dbs[::step], strict=True))
        colour = route_colour(cap.route)
        parts.append(f'<polyline class="level-line" data-route="{escape(cap.route)}" points="{points}" '
                     f'fill="none" stroke="{colour}" stroke-width="1.2"><title>{escape(cap.route)}</title>'
                     f'</polyline>')
        parts.append(f'<text x="{legend_x}" y="{top + 12}" font-size="10" fill="{colour}" '
                     f'font-family="sans-serif">{escape(cap.route)}</text>')
        legend_x += 8 + 7 * len(cap.route)
    for e in ev.events:
        if e.source == "mark" and window[0] <= e.t_ns <= window[1]:
            x = sc.x(e.t_ns)
            parts.append(f'<line class="mark-line" x1="{x}" x2="{x}" y1="{top}" y2="{LEVEL_H - bottom}" '
                         f'stroke="#000" stroke-dasharray="3,3"><title>{escape(e.kind)}</title></line>')
    parts.append(_axis(sc, origin, LEVEL_H - bottom - 12, "s", below=True))
    parts.append(f'<text x="4" y="{top + 8}" font-size="9" font-family="sans-serif">dBFS</text></svg>')
    return "".join(parts)
