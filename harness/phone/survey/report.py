"""``survey.html``: one page a person reads after the survey, from ``survey.json``'s content.

Per state: what the phone showed (its screenshot), which locators of the recipes that act there
find something in the saved trees and which do not (what a lab copies into ``locators:``), what the
live recipe matched, the device-log lines around it and a suggested ``system_log`` pattern. The page
holds screenshots and raw log lines with the lab's phone numbers and names: it stays in the lab;
``profile.yaml`` is what is sent back.
"""

from __future__ import annotations

import html
from typing import Any

MAX_LOG_LINES = 200

STYLE = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 2em; color: #222; max-width: 1400px; }
h1 { font-size: 1.5em; }
h2 { font-size: 1.2em; margin-top: 2em; border-top: 1px solid #ccc; padding-top: 1em; }
table { border-collapse: collapse; margin: .5em 0; } td, th { border: 1px solid #ddd; padding: 2px 6px;
  text-align: left; vertical-align: top; }
.reached { color: #186a1b; } .unreachable { color: #b00020; } .note { color: #6a4c00; }
.state { display: flex; gap: 2em; align-items: flex-start; }
.state img { width: 260px; border: 1px solid #999; }
.yes { color: #186a1b; font-weight: bold; } .no { color: #999; }
pre { background: #f6f6f6; padding: .5em; max-height: 24em; overflow: auto; font-size: 12px; }
code { background: #f0f0f0; padding: 0 3px; }
"""


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def render(summary: dict[str, Any]) -> str:
    device = summary.get("device") or {}
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>Phone survey: {_e(device.get('model'))} iOS {_e(device.get('ios'))}</title>",
        f"<style>{STYLE}</style></head><body>",
        f"<h1>Phone survey: {_e(device.get('model_name') or device.get('model'))} "
        f"({_e(device.get('model'))}), "
        f"iOS {_e(device.get('ios'))} ({_e(device.get('build'))}), {_e(summary.get('date'))}</h1>",
        f"<p>Profile: <a href='{_e(summary.get('profile'))}'>{_e(summary.get('profile'))}</a> "
        f"(provenance <code>{_e(summary.get('provenance'))}</code>). This page and <code>raw/</code> hold "
        "screenshots and log lines with the lab's numbers and names: keep them in the lab.</p>",
    ]
    states = summary.get("states") or []
    reached = sum(1 for s in states if s["status"] == "reached")
    parts.append(f"<p id='reached'>{reached} of {len(states)} states reached.</p>")
    parts.append("<h2>What this phone is (the virtual lab's variants)</h2><table id='facts'>"
                 "<tr><th>variant</th><th>value</th><th>seen</th></tr>")
    for name, fact in (summary.get("facts") or {}).items():
        parts.append(f"<tr><td>{_e(name)}</td><td>{_e(fact['value'])}</td><td>{_e(fact['seen'])}</td></tr>")
    parts.append("</table>")
    measured = summary.get("measured") or {}
    parts.append("<h2>Measured</h2><table id='measured'>")
    for key, label in (("find_s", "WDA find (s)"), ("source_s", "WDA page source (s)")):
        m = measured.get(key) or {}
        parts.append(f"<tr><td>{label}</td><td>median {_e(m.get('median'))}, {_e(m.get('min'))} to "
                     f"{_e(m.get('max'))} over {_e(m.get('n'))}</td></tr>")
    for key, rate in (measured.get("log_lines_per_s") or {}).items():
        parts.append(f"<tr><td>device log, lines/s ({_e(key)}, every process)</td><td>{_e(rate)}</td></tr>")
    parts.append("</table>")
    if summary.get("problems"):
        parts.append("<h2>Problems</h2><ul>" + "".join(f"<li>{_e(p)}</li>" for p in summary["problems"])
                     + "</ul>")
    parts.append("<h2>States</h2><table id='states'><tr><th>state</th><th>phone</th><th>status</th>"
                 "<th>profile screen</th></tr>")
    for s in states:
        parts.append(f"<tr><td><a href='#{_e(s['name'])}'>{_e(s['name'])}</a></td><td>{_e(s['phone'])}</td>"
                     f"<td class='{_e(s['status'])}'>{_e(s['status'])}</td>"
                     f"<td>{_e(s.get('screen') or '')}</td></tr>")
    parts.append("</table>")
    for s in states:
        parts.append(_state(s))
    parts.append("</body></html>\n")
    return "\n".join(parts)


def _state(s: dict[str, Any]) -> str:
    out = [f"<h2 id='{_e(s['name'])}' class='state-title'>{_e(s['name'])}: {_e(s['about'])}</h2>",
           f"<p class='{_e(s['status'])}'>{_e(s['status'])}{': ' + _e(s['why']) if s.get('why') else ''}</p>"]
    for note in s.get("notes") or []:
        out.append(f"<p class='note'>{_e(note)}</p>")
    out.append("<div class='state'>")
    cap = s.get("capture") or {}
    folder = s.get("folder") or ""
    if cap.get("screenshot"):
        shot = f"{_e(folder)}/{_e(cap['screenshot'])}"
        out.append(f"<a href='{shot}'><img class='screenshot' alt='{_e(s['name'])}' src='{shot}'></a>")
    out.append("<div>")
    if cap:
        searched = cap.get("searched") or {}
        files = ", ".join(f"<a href='{_e(folder)}/{_e(f)}'>{_e(app)}</a> (WDA searched "
                          f"{_e(searched.get(app))})" for app, f in (cap.get("sources") or {}).items())
        screen = f"; screen in the profile: <code>{_e(s['screen'])}</code>" if s.get("screen") else ""
        out.append(f"<p>Sources: {files}; auto-detected app <code>{_e(cap.get('auto_detected'))}</code>"
                   f"{'; ' + _e(s['pages']) + ' more page(s) scrolled' if s.get('pages') else ''}"
                   f"{screen}"
                   "</p>")
        for err in cap.get("errors") or []:
            out.append(f"<p class='unreachable'>{_e(err)}</p>")
    for table, rows in (s.get("recipes") or {}).items():
        hit = next((r for r in rows if r["matched"]), None)
        verdict = f"matched by <code>{_e(hit['locator'])}</code>" if hit else "<b>no locator matches</b>"
        out.append(f"<h3>recipe {_e(table)}: {verdict}</h3><table class='locators'>"
                   "<tr><th></th><th>locator</th><th>WDA searched</th><th>found</th><th>source</th></tr>")
        for r in rows:
            mark = "<span class='yes'>&#10003;</span>" if r["matched"] else "<span class='no'>&#10007;</span>"
            out.append(f"<tr class='{'match' if r['matched'] else 'miss'}'><td>{mark}</td>"
                       f"<td>{_e(r['locator'])}</td>"
                       f"<td>{_e(r.get('searched') or 'alert API')}</td><td>{_e(r.get('found') or '')}</td>"
                       f"<td>{_e(r['source'])}</td></tr>")
        out.append("</table>")
    if s.get("live"):
        out.append("<h3>What the recipes did on the phone</h3><ul>")
        for m in s["live"]:
            path = f", path {_e(m['path'])}" if m.get("path") else ""
            out.append(f"<li>{_e(m['recipe'])}: <code>{_e(m['locator'])}</code> (locator {m['index'] + 1}"
                       f"{path}{', tapped again' if m.get('retaps') else ''})</li>")
        out.append("</ul>")
    lines = s.get("log") or []
    out.append(f"<h3>Device log ({len(lines)} lines of the audio daemons, SpringBoard, InCallService, "
               "callservicesd)</h3>")
    if lines:
        shown = lines[:MAX_LOG_LINES]
        more = f"\n... {len(lines) - len(shown)} more in {folder}/log.txt" if len(lines) > len(shown) else ""
        out.append(f"<pre class='log'>{_e(chr(10).join(shown) + more)}</pre>")
    pattern = s.get("suggested_pattern")
    out.append("<p>Suggested <code>system_log.interruption_pattern</code>: "
               + (f"<code class='pattern'>{_e(pattern)}</code> (check it against the lines above before "
                  "marking it verified in lab.yaml)" if pattern
                  else "none: no audio-daemon line here names a client and began/ended") + "</p>")
    out.append("</div></div>")
    return "\n".join(out)
