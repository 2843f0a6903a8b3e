"""A survey's walk as a phone profile: the virtual lab's format, from what one real phone showed.

The format is the virtual phone's (``harness/sim/profiles/ios16.yaml`` explains it): a profile
``extends`` the shipped profile of its iOS major and replaces the screens it observed; every element
and log line carries ``provenance: survey <model> <iOS build> <date>``. ``harness sim up
--phone-profile`` replays it, ``harness doctor --profile`` checks the recipes against it. What this
module decides, and on what:

* **The screen of a state.** A full screen (home, lock, Settings, Music, the in-call screen) is the
  tree of the app WDA auto-detected. An overlay (an incoming call, the dial prompt, Siri, a timer, Control
  Center, the reset sheet) is what is new against the state before it (its ``base``): the subtrees
  of each app's tree whose (type, frame, identifier) the base did not have, in the app with the
  most new controls. Which profile screen that is follows its shape: an incoming call covering the
  screen is ``incoming.full``, else ``incoming.banner``; a timer with an Alert is ``timer.alert``,
  one in the Dynamic Island (``systemAperture`` identifiers, REV Q1.4) ``timer.live_activity``,
  else ``timer.banner``; Siri's UI in SiriViewService ``siri.view_service``, else ``siri.springboard``.
  A second observation of a screen is kept as ``NAME@STATE`` (the doctor checks it too).
* **What an element does** (its ``action``): what a recipe's live tap on it did, so only elements the
  survey really used get one. The Accept tapped on the first call is also the Accept of the second
  call's banner (the same element by type, label and identifier), and so on.
* **What the phone supplies at run time** becomes the format's placeholders: the caller on the call
  screens (``{caller}``, ``{party}``, ``{title}``), the paired devices of Settings > Bluetooth (one
  ``each: devices`` row, from the rows whose value says Connected / Not Connected), the Play/Pause
  label of Music's toggle, Settings' long lists as scroll views (rows merged over the pages scrolled).
* **The surveyed phone's variant values** (``defaults:``): what each state showed, for the variants
  of the virtual lab a survey can observe (dial prompt, incoming-call style, second Accept, timer,
  Siri's UI, rows below the fold, the reset sheet, WDA's latency).

Everything text passes the :class:`~harness.phone.survey.privacy.Scrubber` first.
"""

from __future__ import annotations

import copy
import math
import statistics
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from harness.phone import locators as L
from harness.phone.locator_match import ALERT_TYPES, INTERACTIVE, Trees, find
from harness.phone.survey.capture import IN_CALL_SERVICE, SIRI_VIEW_SERVICE, SPRINGBOARD, Capture
from harness.phone.survey.privacy import Scrubber
from harness.phone.survey.walk import State, Walk
from harness.wda_query import Node

FULL_SHARE = 0.8
"""A window covering this share of the screen is a full-screen one."""
SCREEN = (390, 844)
PARTY = {"incoming": "caller", "second_accept": "caller", "in_call": "party", "call_prompt": "title"}
"""The placeholder that stands for the other party on each call screen (what the virtual phone fills)."""
CONNECTION_VALUES = ("Connected", "Not Connected")
"""Values of a paired device's row in Settings > Bluetooth (the lab may word them otherwise:
``harness.lab.settings_bluetooth`` options; unverified on iOS 17/18)."""
WDA_LATENCY = {"instant": (0.0, 0.0), "typical": (0.15, 0.4), "slow": (0.4, 0.8)}
"""The virtual lab's ``wda_latency`` values as (median find, median page source) seconds (the
wda-latency evidence: finds 0.1-0.6 s with median 0.15 s and sources 0.2-1.2 s, or on a slower phone
0.1-2 s and 0.4-2 s; harness/sim/profiles/variants.yaml, checked equal in tests/cli/test_survey.py):
the surveyed phone's value is the nearest by both medians (on a log scale); below 0.03 s both, instant."""
INSTANT_S = 0.03
LOG_VOLUME_IDLE = {"typical": 1000.0, "heavy": 3000.0}
"""The virtual lab's ``log_volume`` values as idle lines per second of the whole unified log (the
log-volume evidence, harness/sim/profiles/ios*.yaml ``log_volume``, checked equal in
tests/cli/test_survey.py): the surveyed phone's value is the nearest to its idle rate (log scale);
below :data:`QUIET_BELOW` lines/s, quiet. A real phone streams hundreds to thousands a second
(reference real-iphone.md H6): the survey measures it over ``--log-window`` seconds at the home screen."""
QUIET_BELOW = 100.0
SUBTITLE_WORDS = frozenset({"mobile", "home", "work", "iphone", "facetime audio", "facetime", "main",
                            "incoming call", "calling…", "calling...", "connected"})


@dataclass
class Written:
    """A screen ready to write: its owner, whether it covers the screen, its top-level nodes."""

    name: str
    state: State
    owner: str
    nodes: list[Node]
    full_screen: bool
    auto: str | None
    scroll: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def base(self) -> str:
        return self.name.partition("@")[0]


def signature(n: Node) -> tuple[str, tuple[int, int, int, int], str]:
    return (n.type, n.frame, n.identifier)


def new_subtrees(tree: Node, base: Node | None) -> list[Node]:
    """The largest subtrees of ``tree`` (an Application root) whose root ``base`` lacks (by type, frame
    and identifier: a label that changes, a clock, is the same element)."""
    if base is None:
        return list(tree.children)
    known = {signature(n) for n in base.walk()}
    out: list[Node] = []

    def visit(n: Node) -> None:
        if signature(n) not in known:
            out.append(n)
            return
        for c in n.children:
            visit(c)

    for child in tree.children:
        visit(child)
    return out


def _controls(nodes: Iterable[Node]) -> int:
    return sum(1 for top in nodes for n in top.walk() if n.type in INTERACTIVE)


def _covers(nodes: list[Node], size: tuple[int, int]) -> bool:
    area = size[0] * size[1]
    return any(n.frame[2] * n.frame[3] >= FULL_SHARE * area for n in nodes)


def overlay(cap: Capture, base: Capture | None,
            prefer: tuple[str, ...] = ()) -> tuple[str, list[Node]] | None:
    """(owner, new top-level nodes) of the app with the most new controls (``prefer`` first on a tie,
    then InCallService, then SpringBoard); None when nothing is new."""
    options = []
    for bundle, tree in cap.trees.items():
        new = new_subtrees(tree, base.trees.get(bundle) if base is not None else None)
        if new:
            order = (*prefer, IN_CALL_SERVICE, SPRINGBOARD)
            rank = order.index(bundle) if bundle in order else 99
            options.append((_controls(new), sum(1 for t in new for _ in t.walk()), -rank, bundle, new))
    if not options:
        return None
    best = max(options, key=lambda o: o[:3])
    return best[3], best[4]


def full(cap: Capture) -> tuple[str, list[Node]] | None:
    owner = cap.auto
    if owner is None or owner not in cap.trees:
        return None
    return owner, list(cap.trees[owner].children)


# -- which screen each state is -------------------------------------------------------------------


def screens(walk: Walk, size: tuple[int, int]) -> list[Written]:
    """The profile screens the walk observed (first observation under the plain name)."""
    states = walk.states
    out: list[Written] = []

    def base_capture(state: State) -> Capture | None:
        base = states.get(state.base or "")
        return base.capture if base is not None else None

    def add(name: str, state: State, owner: str, nodes: list[Node], *, scroll: str | None = None) -> None:
        taken = {w.name for w in out}
        final = name if name not in taken else f"{name}@{state.name}"
        cover = owner != SPRINGBOARD and _covers(nodes, size)
        out.append(Written(final, state, owner, nodes, cover, state.capture.auto if state.capture else None,
                           scroll))

    for state in states.values():
        cap = state.capture
        if cap is None or not cap.trees:
            continue
        kind = STATE_SCREENS.get(state.name)
        if kind is None:
            continue
        if kind in FULL_SCREENS:
            got = full(cap)
            if got is None:
                continue
            owner, nodes = got
            if kind in ("settings.root", "settings.developer"):
                nodes = merged_list(nodes, [p for p in state.pages if p.auto == owner], owner, kind)
                add(kind, state, owner, nodes, scroll=kind)
            else:
                add(kind, state, owner, nodes)
            continue
        if kind == "call_prompt" and walk.dial_path != "prompt":
            continue
        if kind == "second_accept" and walk.answer_path != "second-accept":
            continue
        prefer = (SIRI_VIEW_SERVICE,) if kind == "siri" else ()
        got = overlay(cap, base_capture(state), prefer)
        if got is None:
            continue
        owner, nodes = got
        if kind == "incoming":
            name = "incoming.locked" if state.name == "incoming-locked" else \
                "incoming.full" if _covers(nodes, size) else "incoming.banner"
        elif kind == "second_accept":
            name = "second_accept.incallservice" if owner == IN_CALL_SERVICE else "second_accept.springboard"
        elif kind == "siri":
            name = "siri.view_service" if owner == SIRI_VIEW_SERVICE else "siri.springboard"
        elif kind == "timer":
            name = timer_screen(nodes)
        else:
            name = kind
        add(name, state, owner, nodes)
    return out


STATE_SCREENS = {
    "home": "home", "locked": "lock", "dial-prompt": "call_prompt", "incoming-app": "incoming",
    "incoming-home": "incoming", "incoming-locked": "incoming", "answered": "second_accept",
    "in-call": "in_call", "in-call-locked": "in_call", "siri-question": "siri", "siri-music": "siri",
    "timer-ending": "timer", "control-center": "control_center", "settings-root": "settings.root",
    "settings-bluetooth": "settings.bluetooth", "settings-developer": "settings.developer",
    "reset-sheet": "settings.reset_sheet", "music": "music", "music-playing": "music",
}
"""Which profile screen (or kind of screen) each state of the walk shows."""
FULL_SCREENS = frozenset({"home", "lock", "in_call", "settings.root", "settings.bluetooth",
                          "settings.developer", "music"})


def timer_screen(nodes: list[Node]) -> str:
    every = [n for top in nodes for n in top.walk()]
    if any(n.type in ALERT_TYPES for n in every):
        return "timer.alert"
    if any("systemaperture" in n.identifier.lower() for n in every):
        return "timer.live_activity"
    return "timer.banner"


def merged_list(nodes: list[Node], pages: list[Capture], owner: str, name: str) -> list[Node]:
    """``nodes`` with their longest list (the container with the most Cells) holding every row seen
    over ``pages`` (scrolled further down), in order, as the virtual phone's scroll view (its rows are
    stacked, so a row's place in the list is what counts)."""
    nodes = copy.deepcopy(nodes)
    container = _list_container(nodes)
    if container is None:
        return nodes
    rows = list(container.children)
    seen = {(r.type, r.label, r.identifier) for r in rows}
    for page in pages:
        tree = page.trees.get(owner)
        if tree is None:
            continue
        other = _list_container(list(tree.children))
        for r in (other.children if other is not None else []):
            key = (r.type, r.label, r.identifier)
            if key not in seen:
                seen.add(key)
                rows.append(copy.deepcopy(r))
    for r in rows:
        for n in r.walk():
            n.visible = True  # the scroll view decides what is visible
    container.children = rows
    heights = [r.frame[3] for r in rows if r.type == "Cell" and r.frame[3] > 0] or [44]
    container.extra["scroll"] = name
    container.extra["row_height"] = int(statistics.median(heights))
    return nodes


def _list_container(nodes: list[Node]) -> Node | None:
    best, count = None, 0
    for top in nodes:
        for n in top.walk():
            cells = sum(1 for c in n.children if c.type == "Cell")
            if cells > count:
                best, count = n, cells
    return best if count >= 3 else None


# -- what elements do ----------------------------------------------------------------------------


def place_actions(written: list[Written]) -> list[str]:
    """Give each element a recipe tapped its action (on every screen of the same kind); returns what
    could not be placed."""
    problems: list[str] = []
    by_base: dict[str, list[Written]] = {}
    for w in written:
        by_base.setdefault(w.base, []).append(w)
    for w in written:
        for act in w.state.acts:
            root = Node("Application", children=w.nodes)
            hits = find(act.locator, Trees({w.owner: root}, w.owner))
            if not hits:
                problems.append(f"{w.name}: {act.table}'s {act.locator.label!r} tapped on the phone but "
                                "finds nothing in the saved screen; no action placed")
                continue
            target = hits[0]
            for other in by_base[w.base]:
                for n in ([target] if other is w else _same(other.nodes, target)):
                    key = "slide_action" if act.locator.gesture == L.SLIDE else "action"
                    n.extra[key] = act.action
                    n.extra["tapped"] = f"{act.table}: {act.locator.label}"
    return problems


def sheet_reset_action(written: list[Written]) -> None:
    """On a real phone the survey cancels the reset sheet (it resets nothing unasked): the sheet's one
    other button is then the reset action (REV Q4: the sheet holds the reset action and Cancel), so
    a replay can reset; its provenance says it was inferred, not tapped."""
    for w in written:
        if w.base != "settings.reset_sheet":
            continue
        buttons = [n for top in w.nodes for n in top.walk() if n.type == "Button"]
        cancelled = [b for b in buttons if b.extra.get("action") == "settings:reset-cancel"]
        others = [b for b in buttons if "action" not in b.extra]
        if cancelled and len(others) == 1:
            others[0].extra["action"] = "settings:reset-media-services"
            others[0].extra["inferred"] = ("the sheet's other button than the Cancel tapped (REV Q4: a reset "
                                           "action and Cancel); not tapped: the survey resets nothing")


def _same(nodes: list[Node], target: Node) -> list[Node]:
    key = (target.type, target.label, target.identifier)
    return [n for top in nodes for n in top.walk() if (n.type, n.label, n.identifier) == key][:1]


def bluetooth_rows(w: Written) -> bool:
    """Settings > Bluetooth's paired-device rows as one ``each: devices`` row (the virtual phone lists
    its own accessories there); True when rows were found."""
    for top in w.nodes:
        for parent in top.walk():
            rows = [c for c in parent.children if c.type == "Cell" and (c.value or "") in CONNECTION_VALUES]
            if not rows:
                continue
            first = rows[0]
            step = rows[1].frame[1] - first.frame[1] if len(rows) > 1 else first.frame[3]
            template = copy.deepcopy(first)
            name = first.label
            for n in template.walk():
                if name and n.label == name:
                    _placeholder(n, "label", "{name}")
                if name and n.identifier == name:
                    _placeholder(n, "identifier", "{name}")
            _placeholder(template, "value", "{state}")
            template.extra["action"] = "bt:{name}"
            buttons = [n for n in template.walk() if n.type == "Button"]
            if len(buttons) == 1:  # the row's (i): the device's own page
                buttons[0].extra["action"] = "settings:bt-info:{name}"
            at = parent.children.index(first)
            parent.children = [c for c in parent.children if c not in rows]
            holder = Node("Each", frame=first.frame, extra={"each": "devices", "step": [0, step],
                                                            "when": "bluetooth_on", "template": template})
            parent.children.insert(at, holder)
            return True
    return False


def music_toggle(w: Written, playing: Written | None) -> None:
    """The toggle a recipe tapped reads Play or Pause by the player's state (``{play_label}``) when
    the paused and playing screens show exactly those two labels there."""
    for n in (n for top in w.nodes for n in top.walk()):
        if n.extra.get("action") != "music.toggle" or playing is None:
            continue
        twin = [m for top in playing.nodes for m in top.walk() if m.type == n.type and m.frame == n.frame]
        if twin and {n.label, twin[0].label} == {"Play", "Pause"}:
            _placeholder(n, "label", "{play_label}")


def _placeholder(n: Node, what: str, text: str) -> None:
    """``n``'s ``what`` is written as the placeholder ``text`` (filled by the virtual phone), not
    scrubbed and escaped as observed text is."""
    n.extra.setdefault("raw", {})[what] = text


# -- the profile file ------------------------------------------------------------------------------


def caller_display(walk: Walk) -> str | None:
    """How the DUT shows the caller on its incoming call (a number, or a contact's name): the first
    text of the ringing screen that is neither a button's label nor a subtitle word."""
    state = walk.states.get("incoming-app") or walk.states.get("incoming-home")
    if state is None or state.capture is None:
        return None
    base = walk.states.get(state.base or "")
    got = overlay(state.capture, base.capture if base is not None else None)
    if got is None:
        return None
    labels = {n.label for top in got[1] for n in top.walk() if n.type in INTERACTIVE}
    for top in got[1]:
        for n in top.walk():
            text = n.label.strip()
            if n.type == "StaticText" and text and text not in labels and text.lower() not in SUBTITLE_WORDS:
                return text
    return None


class Writer:
    """Node trees to the profile's YAML structure, scrubbed, with provenance."""

    def __init__(self, scrubber: Scrubber, provenance: str) -> None:
        self.scrubber = scrubber
        self.provenance = provenance

    def text(self, n: Node, what: str, value: str, party: str | None) -> str:
        raw = n.extra.get("raw") or {}
        return raw[what] if what in raw else self.scrubber.text(value, party=party, escape=True)

    def node(self, n: Node, party: str | None) -> dict[str, Any]:
        if n.type == "Each":
            spec = dict(n.extra)
            spec["template"] = self.node(spec["template"], party)
            return spec
        out: dict[str, Any] = {"type": n.type}
        if "scroll" in n.extra:
            out["scroll"] = n.extra["scroll"]
            out["row_height"] = n.extra["row_height"]
        if n.identifier:
            out["id"] = self.text(n, "identifier", n.identifier, party)
        if n.label:
            out["label"] = self.text(n, "label", n.label, party)
        if n.value is not None:
            out["value"] = self.text(n, "value", n.value, party)
        out["frame"] = list(n.frame)
        if not n.visible:
            out["visible"] = False
        if not n.enabled:
            out["enabled"] = False
        for key in ("action", "slide_action"):
            if key in n.extra:
                out[key] = n.extra[key]
        tapped = f" (tapped: {n.extra['tapped']})" if "tapped" in n.extra else ""
        inferred = f" (action inferred: {n.extra['inferred']})" if "inferred" in n.extra else ""
        out["provenance"] = self.provenance + tapped + inferred
        if n.children:
            out["children"] = [self.node(c, party) for c in n.children]
        return out

    def screen(self, w: Written) -> dict[str, Any]:
        party = PARTY.get(w.base.split(".")[0])
        out: dict[str, Any] = {"owner": w.owner, "surveyed": True, "provenance": self.provenance}
        if w.full_screen:
            out["full_screen"] = True
        if w.auto is not None:
            out["auto_detected"] = w.auto
        out["state"] = w.state.name
        out["tree"] = [self.node(n, party) for n in w.nodes]
        return out


def wda_latency(find_s: float, source_s: float) -> str:
    """The ``wda_latency`` value nearest to the measured medians (:data:`WDA_LATENCY`)."""
    if find_s < INSTANT_S and source_s < INSTANT_S:
        return "instant"

    def distance(medians: tuple[float, float]) -> float:
        return sum(math.log(max(got, 1e-3) / want) ** 2 for got, want in zip((find_s, source_s), medians,
                                                                              strict=True))

    return min((v for v in WDA_LATENCY if v != "instant"), key=lambda v: distance(WDA_LATENCY[v]))


def log_volume(idle_per_s: float) -> str:
    """The ``log_volume`` value nearest to the measured idle rate (:data:`LOG_VOLUME_IDLE`)."""
    if idle_per_s < QUIET_BELOW:
        return "quiet"
    return min(LOG_VOLUME_IDLE, key=lambda v: abs(math.log(idle_per_s / LOG_VOLUME_IDLE[v])))


def facts(walk: Walk, written: list[Written], find_median: float | None,
          source_median: float | None, idle_lines_per_s: float | None = None) -> dict[str, tuple[str, str]]:
    """The surveyed phone's value of each variant a survey observes: name -> (value, what showed it)."""
    states = walk.states
    out: dict[str, tuple[str, str]] = {}
    if walk.dial_path is not None:
        out["dial_prompt"] = ("shown" if walk.dial_path == "prompt" else "none",
                              f"the caller's dial went the {walk.dial_path} way")
    for w in written:
        if w.name in ("incoming.banner", "incoming.full"):
            out["incoming_call"] = ("full-screen" if w.name == "incoming.full" else "banner",
                                    f"the unlocked ringing screen ({w.state.name}) is {w.name}")
            break
    if walk.answer_path is not None:
        second = next((w for w in written if w.base.startswith("second_accept.")), None)
        value = "none" if walk.answer_path == "one-tap" else \
            ("incallservice" if second is not None and second.owner == IN_CALL_SERVICE else "springboard")
        out["second_accept"] = (value, f"answer_call took the {walk.answer_path} way")
    timer = next((w for w in written if w.base.startswith("timer.")), None)
    if timer is not None:
        out["timer_ending"] = (timer.base.split(".")[1].replace("_", "-"), f"the timer ended as {timer.base}")
    siri = states.get("siri-question")
    if siri is not None and siri.reached:
        shown = next((w for w in written if w.state is siri), None)
        value = "absent" if shown is None else "siri-view-service" if shown.base == "siri.view_service" \
            else "springboard"
        out["siri_ui"] = (value, "Siri's UI " + ("was in no tree" if shown is None else f"was {shown.base}"))
    root = states.get("settings-root")
    if root is not None and root.capture is not None and root.capture.auto in root.capture.trees:
        tree = root.capture.trees[root.capture.auto]
        below = [n for n in tree.walk() if n.type == "Cell" and (not n.visible or n.frame[1] >= SCREEN[1])]
        out["offscreen_cells"] = ("present" if below else "absent",
                                  f"{len(below)} Settings rows below the fold in the first page's tree")
    if walk.reset_path is not None:
        out["reset_confirmation"] = ("sheet" if walk.reset_path == "sheet" else "none",
                                     f"Reset Media Services went the {walk.reset_path} way")
    if find_median is not None and source_median is not None:
        value = wda_latency(find_median, source_median)
        out["wda_latency"] = (value, f"median find {find_median:.3f} s, "
                                     f"median page source {source_median:.3f} s")
    if idle_lines_per_s is not None:
        out["log_volume"] = (log_volume(idle_lines_per_s),
                             f"{idle_lines_per_s:.0f} device-log lines/s at the home screen (every process)")
    return out


def counts(written: list[Written]) -> Counter[str]:
    return Counter(w.base for w in written)
