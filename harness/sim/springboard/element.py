"""One accessibility element of the virtual phone's UI, as XCTest (and so WDA) sees it.

Every element carries its provenance: the public source its identifier and label come from (a key
of ``harness/sim/profiles/sources.yaml``), or ``"unverified: ..."``. ``harness phone dump`` on a real
phone is how unverified ones get replaced.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from xml.sax.saxutils import quoteattr

from harness.wda_query import attribute_key, attribute_table

UNVERIFIED = "unverified"

Frame = tuple[int, int, int, int]
"""x, y, width, height in points."""


@dataclass(eq=False)
class UIElement:
    """An XCUIElement snapshot. ``type`` is the short type ("Button"); XML uses XCUIElementType<type>.

    ``action`` names what a tap does (the SpringBoard dispatches it); ``slide_action`` what a drag
    across the element from its left to its right half does (slide to answer).
    """

    type: str
    identifier: str = ""
    label: str = ""
    value: str | None = None
    frame: Frame = (0, 0, 0, 0)
    enabled: bool = True
    visible: bool = True
    accessible: bool = False
    children: list[UIElement] = field(default_factory=list)
    action: str | None = None
    slide_action: str | None = None
    provenance: str = UNVERIFIED
    style: str = ""
    """A rendering hint: "accept", "decline", "end", "alert", "banner", "dim", ..."""
    key: str = ""
    """The profile's name for this element (``incoming.accept``): patches and UI mutations use it."""
    scroll: str = ""
    """A scroll view: the name its offset is kept under (its rows are laid out by the profile)."""
    content_height: int = 0
    """A scroll view's content height in points (its rows), for clamping the offset."""

    @property
    def wd_type(self) -> str:
        return f"XCUIElementType{self.type}"

    @property
    def name(self) -> str | None:
        """WDA's ``name``: the accessibility identifier, else the label (FBElement wdName)."""
        return self.identifier or self.label or None

    @property
    def rect(self) -> dict[str, int]:
        x, y, w, h = self.frame
        return {"x": x, "y": y, "width": w, "height": h}

    def contains(self, x: float, y: float) -> bool:
        fx, fy, fw, fh = self.frame
        return fx <= x < fx + fw and fy <= y < fy + fh

    def walk(self) -> Iterator[UIElement]:
        """This element and its descendants, depth first in document order."""
        yield self
        for child in self.children:
            yield from child.walk()

    def descendants(self) -> Iterator[UIElement]:
        for child in self.children:
            yield from child.walk()

    def attribute(self, name: str) -> object:
        """An attribute by WDA's names (``/attribute/:name`` and predicate keys)."""
        table = attribute_table(type=self.type, identifier=self.identifier, label=self.label,
                                value=self.value, frame=self.frame, enabled=self.enabled,
                                visible=self.visible, accessible=self.accessible)
        key = attribute_key(name)
        if key not in table:
            raise KeyError(name)
        return table[key]

    def to_xml(self, indent: int = 0) -> str:
        x, y, w, h = self.frame
        attrs = [("type", self.wd_type)]
        if self.name is not None:
            attrs.append(("name", self.name))
        if self.label:
            attrs.append(("label", self.label))
        if self.value is not None:
            attrs.append(("value", self.value))
        attrs += [
            ("enabled", _bool(self.enabled)),
            ("visible", _bool(self.visible)),
            ("accessible", _bool(self.accessible)),
            ("x", str(x)),
            ("y", str(y)),
            ("width", str(w)),
            ("height", str(h)),
        ]
        pad = "  " * indent
        head = f"{pad}<{self.wd_type} " + " ".join(f"{k}={quoteattr(v)}" for k, v in attrs)
        if not self.children:
            return head + "/>"
        inner = "\n".join(c.to_xml(indent + 1) for c in self.children)
        return f"{head}>\n{inner}\n{pad}</{self.wd_type}>"

    def to_json(self) -> dict[str, object]:
        """The ``/source?format=json`` shape (FBXCElementSnapshot dictionary)."""
        node: dict[str, object] = {
            "type": self.type,
            "name": self.name,
            "label": self.label or None,
            "value": self.value,
            "rawIdentifier": self.identifier or None,
            "rect": self.rect,
            "frame": _frame_str(self.frame),
            "isEnabled": self.enabled,
            "isVisible": self.visible,
            "isAccessible": self.accessible,
        }
        if self.children:
            node["children"] = [c.to_json() for c in self.children]
        return node


def _bool(v: bool) -> str:
    return "true" if v else "false"


def _frame_str(f: Frame) -> str:
    x, y, w, h = f
    return f"{{{{{x}, {y}}}, {{{w}, {h}}}}}"
