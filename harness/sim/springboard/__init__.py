"""The virtual phone's UI: SpringBoard and the system apps' screens, per iOS version."""

from harness.sim.springboard.element import UNVERIFIED, UIElement
from harness.sim.springboard.model import SpringBoard, UrlNotHandled
from harness.sim.springboard.screens import HEIGHT, IN_CALL_SERVICE, SPRINGBOARD, WIDTH, Layer

__all__ = [
    "HEIGHT",
    "IN_CALL_SERVICE",
    "SPRINGBOARD",
    "UNVERIFIED",
    "WIDTH",
    "Layer",
    "SpringBoard",
    "UIElement",
    "UrlNotHandled",
]
