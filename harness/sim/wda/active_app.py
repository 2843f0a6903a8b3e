"""Which app WDA searches, as WebDriverAgent v16.7.0 decides it.

``Routing/FBSession.m`` ``activeApplication``:

1. the ``defaultActiveApplication`` setting, when that app's state is RunningForeground;
2. else the session's tested app (a session created with a ``bundleId``), when it runs in the
   foreground; with ``respectSystemAlerts`` SpringBoard instead while it shows an Alert;
3. else ``XCUIApplication+FBHelpers.m`` ``fb_activeApplicationWithDefaultBundleId:``: the app under the
   detection point (``Utilities/FBActiveAppDetectionPoint.m``: 20 % of the short screen side from the
   top-left) if it is the wanted one; else, when XCTest lists more than one active application, the
   wanted one if it is listed; else the listed app under the detection point; else the first listed
   ("the most recent"); else SpringBoard.

``/source``, ``/wda/accessibleSource`` and ``/wda/activeAppInfo`` without a session skip 1 and 2
(``FBDebugCommands.m``: ``request.session.activeApplication ?: XCUIApplication.fb_activeApplication``).
"""

from __future__ import annotations

from collections.abc import Callable

from harness.sim.springboard import SPRINGBOARD, SpringBoard
from harness.sim.springboard.model import DETECTION_POINT

RUNNING_FOREGROUND = 4


def auto_detected(board: SpringBoard, wanted: str | None = None) -> str:
    """``fb_activeApplicationWithDefaultBundleId:`` (step 3)."""
    active = board.active_apps()
    at_point = board.layer_at(*DETECTION_POINT, ax_only=True).bundle_id if board.ax_layers() else SPRINGBOARD
    if wanted is not None and at_point == wanted:
        return wanted
    if len(active) > 1:
        if wanted is not None and wanted in active:
            return wanted
        if at_point in active:
            return at_point
    if active:
        return active[0]
    return SPRINGBOARD


def active_app(
    board: SpringBoard,
    state_of: Callable[[str], int],
    *,
    wanted: str | None,
    tested: str | None,
    respect_system_alerts: bool = False,
) -> str:
    """The bundle WDA's finds, taps and sources use for a session (steps 1-3)."""
    if wanted is not None and state_of(wanted) >= RUNNING_FOREGROUND:
        return wanted
    if tested is not None and state_of(tested) >= RUNNING_FOREGROUND:
        if respect_system_alerts and any(
            e.type == "Alert"
            for layer in board.ax_layers()
            if layer.bundle_id == SPRINGBOARD
            for e in layer.root.walk()
        ):
            return SPRINGBOARD
        return tested
    return auto_detected(board, wanted)
