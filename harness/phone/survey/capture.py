"""One saved screen: a screenshot, the page sources WDA gives for each app through the session route,
and which app WDA really searched for each (``/wda/activeAppInfo``).

Through the session route, after setting ``defaultActiveApplication``, as a recipe miss saves them
(:meth:`harness.phone.Phone.save_app_sources`): real WDA honours the setting only while that app is
in front or active and otherwise auto-detects (WDA 16.7 FBSession.m; reference real-iphone.md H10),
so each source is filed under the app WDA says it searched, and two requests that reached the same
app give one tree.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import wda

from harness.errors import LabFault
from harness.phone import Phone
from harness.phone.locator_match import Trees
from harness.wda_query import Node, parse_source

SPRINGBOARD, IN_CALL_SERVICE = "com.apple.springboard", "com.apple.InCallService"
SIRI_VIEW_SERVICE = "com.apple.SiriViewService"
APPS = ("auto", SPRINGBOARD, IN_CALL_SERVICE)
"""The apps a state's sources are asked for (the auto-detected one, SpringBoard, InCallService)."""


@dataclass
class Capture:
    phone: str
    """``dut`` or ``caller``."""
    stem: str
    screenshot: Path | None = None
    sources: dict[str, Path] = field(default_factory=dict)
    """App asked for -> its saved source."""
    searched: dict[str, str | None] = field(default_factory=dict)
    """App asked for -> the app WDA says it searched."""
    active_app: Any = None
    """``/wda/activeAppInfo`` without a session (WDA's auto-detection at that moment)."""
    trees: dict[str, Node] = field(default_factory=dict)
    """Bundle WDA searched -> its tree (the first request that reached it)."""
    source_s: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    t_ns: int = 0

    @property
    def auto(self) -> str | None:
        return self.searched.get("auto")

    def view(self) -> Trees:
        return Trees(self.trees, self.auto, {b: str(p) for b, p in self.sources.items()})

    def to_json(self) -> dict[str, Any]:
        return {"phone": self.phone, "screenshot": self.screenshot.name if self.screenshot else None,
                "sources": {k: v.name for k, v in self.sources.items()}, "searched": self.searched,
                "auto_detected": self.auto, "active_app": self.active_app, "source_s": self.source_s,
                "errors": self.errors}


def capture(ui: Phone, folder: Path, stem: str, phone: str, apps: tuple[str, ...] = APPS, *,
            screenshot: bool = True) -> Capture:
    """Save what ``ui`` shows now into ``folder``: ``<stem>.png``, ``<stem>.<app>.xml`` per app,
    ``<stem>.apps.json``. A request that fails is noted in ``errors``, never raised: a survey saves
    what it can of every state."""
    folder.mkdir(parents=True, exist_ok=True)
    out = Capture(phone, stem, t_ns=time.monotonic_ns())
    previous = ui.artifacts
    ui.artifacts = folder
    try:
        if screenshot:
            try:
                png = folder / f"{stem}.png"
                png.write_bytes(ui.screenshot())
                out.screenshot = png
            except (LabFault, wda.WDAError, ValueError) as exc:
                out.errors.append(f"screenshot: {str(exc)[:200]}")
        try:
            ui.save_app_sources(stem, apps)
        except (LabFault, wda.WDAError) as exc:
            out.errors.append(f"sources: {str(exc)[:200]}")
    finally:
        ui.artifacts = previous
    try:
        index = json.loads((folder / f"{stem}.apps.json").read_text())
    except (OSError, ValueError):
        return out
    out.active_app = index.get("activeAppInfo (no session)")
    for app in apps:
        entry = index.get(app) or {}
        if "error" in entry:
            out.errors.append(f"{app}: {entry['error']}")
            continue
        path = folder / str(entry.get("source"))
        out.sources[app] = path
        out.searched[app] = entry.get("searched")
        if entry.get("source_s") is not None:
            out.source_s.append(float(entry["source_s"]))
        bundle = entry.get("searched") or app
        if bundle in out.trees:
            continue
        try:
            out.trees[bundle] = parse_source(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            out.errors.append(f"{app}: source not parsed ({str(exc)[:120]})")
    return out
