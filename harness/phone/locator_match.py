"""Which of the recipes' locators find something in trees a phone showed, without the phone.

A recipe finds through facebook-wda: ``client(**locator.selector).find_element_ids()`` turns the
locator into one ``POST /elements`` (``using``/``value``), after setting WDA's
``defaultActiveApplication`` to the locator's app. Here the same facebook-wda ``Selector`` builds the
query (its ``_wdasearch`` is the one step that would reach the phone, and is caught), and
:mod:`harness.wda_query` answers it from a saved tree, with WDA 16.7's rule for the app searched: a
forced app is searched only while it shows (is in front or active); otherwise WDA falls back to the
auto-detected app (FBSession.m). Alert-button locators ask WDA's alert API, which answers from the
Alert or Sheet element on screen.

Used by ``harness doctor --profile`` (a phone profile's screens) and ``harness phone survey`` (the
trees it saved per state). A real phone answers the same queries from live XCTest snapshots: what a
saved tree cannot show (an element XCTest creates only when asked, a tree that changed between the
save and the find) is why the survey also records what the live recipe did.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field

import wda

from harness import wda_query
from harness.phone.locators import Locator
from harness.wda_query import Node

ALERT_TYPES = ("Alert", "Sheet")
DETECTION_SHARE = 0.2
"""WDA's active-app detection point: 20 % of the short screen side from the top-left
(appium/WebDriverAgent v16.7.0 Utilities/FBActiveAppDetectionPoint.m)."""


class _Recorder(wda.Selector):
    """facebook-wda's Selector with its one request replaced by a note of what it would send."""

    query: tuple[str, str] | None = None

    def _wdasearch(self, using: str, value: str) -> list[str]:
        self.query = (using, value)
        return []


@functools.cache
def _offline_client() -> wda.Client:
    return wda.Client("http://127.0.0.1:9")  # never contacted: _Recorder sends nothing


def query_of(loc: Locator) -> tuple[str, str]:
    """The ``using``/``value`` pair facebook-wda sends WDA for ``loc`` (it has a selector)."""
    recorder = _Recorder(_offline_client(), **dict(loc.selector))
    recorder.find_element_ids()
    if recorder.query is None:
        raise ValueError(f"locator {loc.label!r} has no selector")
    return recorder.query


@dataclass(frozen=True)
class Trees:
    """What WDA could search on one screen: each app's tree (an Application root) by bundle id, and
    the app auto-detection picks."""

    by_app: Mapping[str, Node]
    auto: str | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    """Where each tree came from, for messages (a saved file, a profile screen)."""

    def tree_for(self, app: str | None) -> tuple[str | None, Node | None]:
        """(bundle, tree) WDA searches for a locator of ``app`` (None: auto-detection)."""
        if app is not None and app in self.by_app:
            return app, self.by_app[app]
        if self.auto is not None:
            return self.auto, self.by_app.get(self.auto)
        return None, None


def find(loc: Locator, trees: Trees) -> list[Node]:
    """What ``loc`` finds on that screen (for an alert button: the button), in document order."""
    if loc.alert_button is not None:
        for app_tree in trees.by_app.values():
            for alert in (n for n in app_tree.walk() if n.type in ALERT_TYPES):
                hits = [b for b in alert.walk() if b.type == "Button" and b.label == loc.alert_button]
                if hits:
                    return hits
        return []
    _app, tree = trees.tree_for(loc.app)
    if tree is None:
        return []
    using, value = query_of(loc)
    return wda_query.find(tree, using, value)


@dataclass(frozen=True)
class Result:
    """One locator tried on one screen."""

    locator: Locator
    found: list[Node]
    searched: str | None
    """The app WDA would have searched (None for an alert button)."""

    @property
    def matched(self) -> bool:
        return bool(self.found)


def evaluate(locs: list[Locator], trees: Trees) -> list[Result]:
    """Every locator of a recipe table on one screen, in the order the recipe tries them."""
    out = []
    for loc in locs:
        searched = None if loc.alert_button is not None else trees.tree_for(loc.app)[0]
        out.append(Result(loc, find(loc, trees), searched))
    return out


INTERACTIVE = ("Button", "Cell", "Slider", "Switch", "Icon", "Link", "TextField", "Key", "MenuItem",
               "SegmentedControl", "Stepper", "Picker", "PickerWheel", "Toggle")


def candidates(tree: Node, limit: int = 12) -> list[Node]:
    """The elements a person would look at for a missing locator: the controls of the tree, then
    labelled containers (a banner, a Live Activity), at most ``limit``."""
    controls = [n for n in tree.walk() if n.type in INTERACTIVE]
    labelled = [n for n in tree.walk() if n.type == "Other" and (n.label or n.identifier)]
    return (controls + labelled)[:limit]


def detected_app(layers: list[tuple[str, list[Node]]], size: tuple[int, int], *,
                 fallback: bool = True) -> str | None:
    """The app WDA auto-detects: the topmost whose top-level elements cover the detection point.
    ``layers``: (bundle, top-level nodes) bottom to top; ``size``: the window (points). None covers
    it: the bottom layer (``fallback``), else None."""
    d = DETECTION_SHARE * min(size)
    for bundle, nodes in reversed(layers):
        for n in nodes:
            x, y, w, h = n.frame
            if x <= d < x + w and y <= d < y + h:
                return bundle
    return layers[0][0] if layers and fallback else None
