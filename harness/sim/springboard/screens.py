"""The screens of the virtual phone as accessibility trees, built from its iOS profile.

What each screen holds (types, identifiers, labels, frames, provenance) is the profile's data
(``harness/sim/profiles/iosNN.yaml``); this module only fills in the phone's state (the caller, the
routes, the Settings rows in view) and applies two things the profile leaves to the run:

* **UI mutations**, to prove the recipes' fallbacks: a set of strings naming profile element keys:
  ``key`` leaves the element out, ``key:noid`` drops its identifier, ``key:id=X`` / ``key:label=X``
  replace them (``{name}`` in X is the row's name, for rows built per route or accessory).
* **scroll views** (``scroll:`` in the profile): rows are stacked under the view's offset; rows
  outside the view are left out of the tree, or kept with ``visible=false`` and rects outside the
  window (the ``offscreen_cells`` variant).
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from harness.sim.profiles import Profile, ProfileError
from harness.sim.springboard.element import UNVERIFIED, Frame, UIElement

WIDTH, HEIGHT = 390, 844
SCREEN: Frame = (0, 0, WIDTH, HEIGHT)

SPRINGBOARD = "com.apple.springboard"
IN_CALL_SERVICE = "com.apple.InCallService"
SIRI_VIEW_SERVICE = "com.apple.SiriViewService"
SETTINGS = "com.apple.Preferences"
MUSIC = "com.apple.Music"


@dataclass
class Layer:
    """One app's window on screen. Only its top-level elements' frames take touches (a banner is small).

    ``ax`` False: drawn (screenshots, touches) but not exposed to XCTest (WDA cannot see it).
    """

    bundle_id: str
    root: UIElement
    screen: str = ""
    full_screen: bool = False
    ax: bool = True

    def hit(self, x: float, y: float) -> bool:
        return any(child.contains(x, y) for child in self.root.children)


@dataclass
class Context:
    """The phone's state a screen is filled in with."""

    values: dict[str, Any] = field(default_factory=dict)
    """Placeholders ({caller}), flags (``when:``) and lists (``each:``)."""
    slots: dict[str, list[UIElement]] = field(default_factory=dict)
    """Elements another part supplies (the app's own controls)."""
    scroll: Mapping[str, float] = field(default_factory=dict)
    """Scroll view name -> offset in points."""
    offscreen_cells: str = "absent"
    mutations: frozenset[str] = frozenset()


class _Formatter(string.Formatter):
    def get_value(self, key: Any, args: Any, kwargs: Any) -> Any:
        if key not in kwargs:
            raise KeyError(key)
        return kwargs[key]


_FORMAT = _Formatter()


def _fmt(value: Any, values: Mapping[str, Any], where: str) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return _FORMAT.vformat(value, (), values)
    except KeyError as exc:
        raise ProfileError(
            f"{where}: placeholder {exc} is not part of this screen's state "
            f"(known: {', '.join(sorted(k for k in values if isinstance(values[k], str)))})"
        ) from None


def _mutate(
    node: dict[str, Any], mutations: frozenset[str], values: Mapping[str, Any]
) -> dict[str, Any] | None:
    key = node.get("key")
    if not key or not mutations:
        return node
    if key in mutations:
        return None
    out = dict(node)
    for m in sorted(mutations):
        k, sep, change = m.partition(":")
        if k != key or not sep:
            continue
        if change == "noid":
            out["id"] = ""
        elif change.startswith("id="):
            out["id"] = change[3:]
        elif change.startswith("label="):
            out["label"] = change[6:]
        else:
            raise ValueError(f"UI mutation {m!r}: use {key}, {key}:noid, {key}:id=X or {key}:label=X")
    return out


def _element(
    node: dict[str, Any],
    ctx: Context,
    values: Mapping[str, Any],
    dx: int,
    dy: int,
    inherited: str,
    where: str,
) -> UIElement:
    frame = node.get("frame") or [0, 0, 0, 0]
    x, y, w, h = (int(v) for v in frame)
    value = node.get("value")
    label = _fmt(node.get("label", ""), values, where)
    return UIElement(
        str(node["type"]),
        identifier=str(_fmt(node.get("id", ""), values, where)),
        label=str(label),
        value=None if value is None else str(_fmt(value, values, where)),
        frame=(x + dx, y + dy, w, h),
        enabled=bool(node.get("enabled", True)),
        visible=bool(node.get("visible", True)),
        accessible=node["type"] not in ("Other", "Window", "Table", "Application"),
        action=_fmt(node.get("action"), values, where),
        slide_action=_fmt(node.get("slide_action"), values, where),
        provenance=str(node.get("provenance", inherited)),
        style=str(node.get("style", "")),
        key=str(node.get("key", "")),
    )


def _expand(
    nodes: list[dict[str, Any]],
    ctx: Context,
    values: Mapping[str, Any],
    dx: int,
    dy: int,
    inherited: str,
    where: str,
) -> list[UIElement]:
    out: list[UIElement] = []
    for raw in nodes:
        if "when" in raw and not values.get(raw["when"]):
            continue
        if "slot" in raw:
            out += ctx.slots.get(str(raw["slot"]), [])
            continue
        if "each" in raw:
            items = values.get(raw["each"])
            if items is None:
                raise ProfileError(f"{where}: no list {raw['each']!r} in this screen's state")
            step = raw.get("step") or [0, 0]
            wrap = raw.get("wrap")
            for i, item in enumerate(items):
                if wrap:
                    ox, oy = (i % int(wrap[0])) * int(step[0]), (i // int(wrap[0])) * int(wrap[1])
                else:
                    ox, oy = i * int(step[0]), i * int(step[1])
                out += _expand([raw["template"]], ctx, {**values, **item}, dx + ox, dy + oy, inherited, where)
            continue
        node = _mutate(raw, ctx.mutations, values)
        if node is None:
            continue
        element = _element(node, ctx, values, dx, dy, inherited, where)
        children = _expand(node.get("children") or [], ctx, values, dx, dy, element.provenance, where)
        if node.get("scroll"):
            children = _scroll(element, str(node["scroll"]), int(node.get("row_height", 44)), children, ctx)
        element.children = children
        out.append(element)
    return out


def _shift(e: UIElement, dy: int) -> None:
    x, y, w, h = e.frame
    e.frame = (x, y + dy, w, h)
    for c in e.children:
        _shift(c, dy)


def _scroll(
    view: UIElement, name: str, row_height: int, rows: list[UIElement], ctx: Context
) -> list[UIElement]:
    """Stack ``rows`` in ``view`` under its offset; rows out of view follow ``offscreen_cells``."""
    _, vy, _, vh = view.frame
    view.scroll = name
    view.content_height = row_height * len(rows)
    offset = int(max(0.0, min(float(ctx.scroll.get(name, 0.0)), max(0, view.content_height - vh))))
    kept = []
    for i, row in enumerate(rows):
        top = vy + i * row_height - offset
        _shift(row, top - row.frame[1])
        x, _, w, _ = row.frame
        row.frame = (x, top, w, row_height)
        if top + row_height <= vy or top >= vy + vh:  # wholly outside the view
            if ctx.offscreen_cells == "absent":
                continue  # a cell UIKit has not instantiated is not in the XCTest tree
            row.visible = False
        kept.append(row)
    return kept


def build(profile: Profile, name: str, ctx: Context, *, owner: str | None = None, ax: bool = True) -> Layer:
    """Screen ``name`` of ``profile`` filled with ``ctx``: one app's window (a :class:`Layer`)."""
    screen = profile.screen(name)
    values = dict(ctx.values)
    where = f"iOS {profile.ios} screen {name}"
    bundle = owner or str(_fmt(screen.owner, values, where))
    children = _expand(screen.tree, ctx, values, 0, 0, screen.provenance, where)
    app_label = screen.app_label or str(values.get("app_name") or profile.system_apps.get(bundle, bundle))
    root = UIElement(
        "Application",
        label=app_label,
        frame=SCREEN,
        accessible=True,
        children=children,
        provenance="inference: the XCUIElementTypeApplication root of every XCTest tree",
    )
    return Layer(bundle, root, name, screen.full_screen, ax)


__all__ = [
    "HEIGHT",
    "IN_CALL_SERVICE",
    "MUSIC",
    "SCREEN",
    "SETTINGS",
    "SIRI_VIEW_SERVICE",
    "SPRINGBOARD",
    "UNVERIFIED",
    "WIDTH",
    "Context",
    "Layer",
    "build",
]
