"""WebDriverAgent's element queries, evaluated over an element tree: one implementation for every user.

What a find sends WDA (``POST /elements`` with ``using``/``value``) and what WDA 16.7 answers from
an XCTest snapshot: the ``id``/``name``/``accessibility id`` strategies (the element's ``name``:
its identifier, else its label), ``class name``, predicate strings (comparisons ==, !=, CONTAINS,
BEGINSWITH, ENDSWITH, LIKE, MATCHES, each with an optional [c]/[d]/[cd] modifier; AND/OR/NOT,
&&/||/!, parentheses; the attributes WDA exposes with or without the ``wd`` prefix), class chains
(``**/`` and ``/`` steps, ``/**/`` at any step, types or ``XCUIElementTypeAny``, backtick
predicates, 1-based or negative indices: Utilities/FBClassChainQueryParser.h) and ElementTree's
subset of XPath over the XML source.

Who uses it, and why it lives outside both the virtual lab and the recipes:

* the virtual WDA (``harness.sim.wda.query`` wraps it, turning :class:`QueryError` into WDA's
  error envelope) answers finds with it;
* ``harness doctor --profile`` and ``harness phone survey`` evaluate the recipes' locators
  (:mod:`harness.phone.locators`) against trees a phone really showed (:class:`Node`, parsed from
  WDA's XML page source or from a phone profile's screen trees), without a phone;
* the lab schema rejects a lab-level locator whose predicate or class chain WDA would refuse.

It knows WDA's query language, nothing of what any screen holds, so sharing it lets neither side
agree with the other by construction: the virtual lab's screens come from its profiles, the
harness's locators from the public evidence (import-linter contracts keep those apart).

Real WDA vs this: WDA evaluates predicates with NSPredicate over XCTest snapshots, which accepts
more syntax (key paths, aggregate operators, ``$`` variables) than this subset; a locator using
those is refused here as an invalid query (the harness's own tables and lab locators stay inside
the subset). Every strategy here is checked against WDA 16.7's own unit tests' examples in
tests/wda/test_query.py.
"""

from __future__ import annotations

import fnmatch
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

INVALID_SELECTOR = "invalid selector"
INVALID_ARGUMENT = "invalid argument"
TYPE_PREFIX = "XCUIElementType"


class QueryError(ValueError):
    """A query WDA would refuse: ``error`` is WDA's error string (``invalid selector`` or ``invalid
    argument``), ``message`` its message."""

    def __init__(self, error: str, message: str) -> None:
        super().__init__(f"{error}: {message}")
        self.error = error
        self.message = message


class Element(Protocol):
    """What a query reads of an element (the virtual lab's UIElement and :class:`Node` both are)."""

    type: str
    """The short type (``Button``); WDA's is ``XCUIElementType`` + this."""

    @property
    def children(self) -> Sequence[Any]: ...

    @property
    def name(self) -> str | None: ...

    def attribute(self, name: str) -> object: ...


def attribute_table(*, type: str, identifier: str, label: str, value: str | None,
                    frame: tuple[int, int, int, int], enabled: bool, visible: bool,
                    accessible: bool) -> dict[str, object]:
    """WDA's element attributes (``/attribute/:name`` and predicate keys, without the ``wd`` prefix)
    from an element's snapshot fields (WebDriverAgentLib/Routing/FBElement.h,
    XCUIElement+FBWebDriverAttributes)."""
    x, y, w, h = frame
    rect = {"x": x, "y": y, "width": w, "height": h}
    return {
        "type": f"{TYPE_PREFIX}{type}",
        "name": identifier or label or None,
        "label": label or None,
        "value": value,
        "identifier": identifier,
        "enabled": enabled,
        "visible": visible,
        "accessible": accessible,
        "rect": rect,
        "frame": rect,
        "selected": False,
        "focused": False,
        "hittable": visible and enabled,
        "accessibilityContainer": False,
        "index": 0,
    }


def attribute_key(name: str) -> str:
    """``wdLabel`` -> ``label``: WDA accepts its attribute names with or without the ``wd`` prefix."""
    return name[2].lower() + name[3:] if name.startswith("wd") and len(name) > 2 else name


def descendants(e: Element) -> Iterator[Any]:
    for child in e.children:
        yield child
        yield from descendants(child)


# -- predicate strings -----------------------------------------------------------------------------

Predicate = Callable[[Any], bool]

_TOKEN = re.compile(
    r"""
    \s*(?:
      (?P<lp>\() | (?P<rp>\)) |
      (?P<str>'(?:\\.|[^'\\])*'|"(?:\\.|[^"\\])*") |
      (?P<op>==|!=|<=|>=|=|<|>|&&|\|\||!) |
      (?P<mod>\[[cdn]+\]) |
      (?P<num>-?\d+(?:\.\d+)?) |
      (?P<word>[A-Za-z_][A-Za-z0-9_.]*)
    )""",
    re.X,
)

_WORD_OPS = {"CONTAINS", "BEGINSWITH", "ENDSWITH", "LIKE", "MATCHES", "IN"}
_KNOWN_ATTRIBUTES = frozenset(attribute_table(type="Other", identifier="", label="", value=None,
                                              frame=(0, 0, 0, 0), enabled=True, visible=True,
                                              accessible=False))


def _invalid(text: str, why: str) -> QueryError:
    return QueryError(INVALID_SELECTOR, f"Invalid predicate string {text!r}: {why}")


def _tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise _invalid(text, f"unexpected text at {pos}: {text[pos : pos + 12]!r}")
        kind = m.lastgroup or ""
        out.append((kind, m.group(kind)))
        pos = m.end()
    return out


def _unquote(s: str) -> str:
    return re.sub(r"\\(.)", r"\1", s[1:-1])


def parse_predicate(text: str) -> Predicate:
    """A predicate string as a test on elements; :class:`QueryError` (invalid selector) if WDA would
    refuse it (an unknown attribute, a missing operand, unbalanced parentheses)."""
    toks = _tokens(text)
    i = 0

    def peek() -> tuple[str, str] | None:
        return toks[i] if i < len(toks) else None

    def take() -> tuple[str, str]:
        nonlocal i
        if i >= len(toks):
            raise _invalid(text, "unexpected end")
        i += 1
        return toks[i - 1]

    def is_word(tok: tuple[str, str] | None, *words: str) -> bool:
        return tok is not None and tok[0] == "word" and tok[1].upper() in words

    def or_expr() -> Predicate:
        left = and_expr()
        while (t := peek()) and (is_word(t, "OR") or t == ("op", "||")):
            take()
            right = and_expr()
            left = (lambda a, b: lambda e: a(e) or b(e))(left, right)
        return left

    def and_expr() -> Predicate:
        left = not_expr()
        while (t := peek()) and (is_word(t, "AND") or t == ("op", "&&")):
            take()
            right = not_expr()
            left = (lambda a, b: lambda e: a(e) and b(e))(left, right)
        return left

    def not_expr() -> Predicate:
        t = peek()
        if is_word(t, "NOT") or t == ("op", "!"):
            take()
            inner = not_expr()
            return lambda e: not inner(e)
        return atom()

    def atom() -> Predicate:
        t = take()
        if t[0] == "lp":
            inner = or_expr()
            if take()[0] != "rp":
                raise _invalid(text, "missing )")
            return inner
        if t[0] == "word" and t[1].upper() in ("TRUEPREDICATE", "TRUE", "YES"):
            return lambda e: True
        if t[0] == "word" and t[1].upper() in ("FALSEPREDICATE", "FALSE", "NO"):
            return lambda e: False
        if t[0] != "word":
            raise _invalid(text, f"expected an attribute name, got {t[1]!r}")
        key = t[1]
        op_tok = take()
        if op_tok[0] == "op" and op_tok[1] in ("==", "=", "!=", "<", ">", "<=", ">="):
            op = "==" if op_tok[1] == "=" else op_tok[1]
        elif op_tok[0] == "word" and op_tok[1].upper() in _WORD_OPS:
            op = op_tok[1].upper()
        else:
            raise _invalid(text, f"expected an operator after {key!r}, got {op_tok[1]!r}")
        mods = ""
        if (m := peek()) and m[0] == "mod":
            mods = take()[1]
        value = literal(take())
        return comparison(key, op, mods, value)

    def literal(t: tuple[str, str]) -> object:
        if t[0] == "str":
            return _unquote(t[1])
        if t[0] == "num":
            return float(t[1]) if "." in t[1] else int(t[1])
        if t[0] == "word" and t[1].upper() in ("TRUE", "YES"):
            return True
        if t[0] == "word" and t[1].upper() in ("FALSE", "NO"):
            return False
        if t[0] == "word" and t[1].upper() in ("NIL", "NULL"):
            return None
        raise _invalid(text, f"expected a value, got {t[1]!r}")

    def comparison(key: str, op: str, mods: str, value: object) -> Predicate:
        fold = "c" in mods
        if attribute_key(key) not in _KNOWN_ATTRIBUTES:  # checked once, at parse time, as WDA does
            raise _invalid(text, f"unknown attribute {key!r}")

        def norm(v: object) -> object:
            if isinstance(v, str) and fold:
                return v.lower()
            return v

        def test(e: Any) -> bool:
            actual = e.attribute(key)
            if isinstance(value, bool) or isinstance(actual, bool):
                a: object = bool(actual) if actual is not None else False
                b: object = (
                    bool(value) if not isinstance(value, str) else value.lower() in ("1", "true", "yes")
                )
            else:
                a, b = norm(actual), norm(value)
            if op == "==":
                return a == b
            if op == "!=":
                return a != b
            if a is None or b is None:
                return False
            sa, sb = str(a), str(b)
            if op == "CONTAINS":
                return sb in sa
            if op == "BEGINSWITH":
                return sa.startswith(sb)
            if op == "ENDSWITH":
                return sa.endswith(sb)
            if op == "LIKE":
                return fnmatch.fnmatchcase(sa, sb)
            if op == "MATCHES":
                return re.fullmatch(sb, sa, re.I if fold else 0) is not None
            try:
                fa, fb = float(sa), float(sb)
            except ValueError:
                return False
            return {"<": fa < fb, ">": fa > fb, "<=": fa <= fb, ">=": fa >= fb}.get(op, False)

        return test

    pred = or_expr()
    if i != len(toks):
        raise _invalid(text, f"unexpected {toks[i][1]!r}")
    return pred


# -- class chains ----------------------------------------------------------------------------------

# A step is separated from the previous one by "/" (children) or "/**/" (descendants, allowed at any
# step: appium-xcuitest-driver's class chain reference, e.g.
# **/XCUIElementTypeCell[`name BEGINSWITH "D"`]/**/XCUIElementTypeButton).
_STEP = re.compile(r"(/?\*\*/|/)?([A-Za-z]+)((?:\[(?:`(?:[^`])*`|-?\d+)\])*)")
_FILTER = re.compile(r"\[(`[^`]*`|-?\d+)\]")


def short_type(name: str) -> str:
    """``XCUIElementTypeButton`` -> ``Button``; QueryError for a name without the prefix."""
    if not name.startswith(TYPE_PREFIX):
        raise QueryError(INVALID_SELECTOR, f"Invalid class name {name!r} in the class chain query")
    return name[len(TYPE_PREFIX):]


def _identity_unique(items: list[Any]) -> list[Any]:
    out: list[Any] = []
    for e in items:
        if not any(e is seen for seen in out):
            out.append(e)
    return out


def class_chain(root: Element, query: str) -> list[Any]:
    """The elements a class chain query finds under ``root``; QueryError if it does not parse."""
    steps = parse_class_chain(query)
    current: list[Any] = [root]
    for deep, short, filters in steps:
        nxt: list[Any] = []
        for node in current:
            pool = list(descendants(node)) if deep else list(node.children)
            matched = [e for e in pool if short == "Any" or e.type == short]
            for f in filters:
                if isinstance(f, int):
                    idx = f - 1 if f > 0 else len(matched) + f
                    matched = [matched[idx]] if 0 <= idx < len(matched) else []
                else:
                    matched = [e for e in matched if f(e)]
            nxt += matched
        current = _identity_unique(nxt)
    return current


def parse_class_chain(query: str) -> list[tuple[bool, str, list[Predicate | int]]]:
    """(descendants?, short type, filters) per step; QueryError naming where it stops parsing."""
    pos = 0
    q = query.strip()
    steps: list[tuple[bool, str, list[Predicate | int]]] = []
    if not q:
        raise QueryError(INVALID_SELECTOR, "Cannot parse an empty class chain query")
    while pos < len(q):
        m = _STEP.match(q, pos)
        if not m or m.end() == pos:
            raise QueryError(INVALID_SELECTOR, f"Cannot parse class chain query {query!r} at {pos}")
        sep, typ, raw_filters = m.group(1), m.group(2), m.group(3)
        if sep is None and steps:
            raise QueryError(INVALID_SELECTOR, f"Cannot parse class chain query {query!r} at {pos}")
        # a descendant step at the start or in the middle ("**/XCUIElementTypeButton/**/XCUIElementTypeImage",
        # appium/WebDriverAgent v16.7.0 WebDriverAgentTests/UnitTests/FBClassChainTests.m:127)
        deep = sep in ("**/", "/**/")
        filters: list[Predicate | int] = []
        for f in _FILTER.findall(raw_filters):
            if f.startswith("`"):
                filters.append(parse_predicate(f[1:-1]))
            else:
                n = int(f)
                if n == 0:
                    raise QueryError(INVALID_SELECTOR, "Class chain indices are 1-based")
                filters.append(n)
        steps.append((deep, short_type(typ), filters))
        pos = m.end()
    return steps


# -- xpath (ElementTree's subset over the XML source) ----------------------------------------------


def xpath(root: Element, query: str) -> list[Any]:
    nodes: dict[int, Any] = {}

    def build(e: Any) -> ET.Element:
        wd_type = f"{TYPE_PREFIX}{e.type}"
        attrs = {"type": wd_type, "enabled": str(bool(e.attribute("enabled"))).lower(),
                 "visible": str(bool(e.attribute("visible"))).lower()}
        for key in ("name", "label", "value"):
            val = e.attribute(key)
            if val:
                attrs[key] = str(val)
        node = ET.Element(wd_type, attrs)
        nodes[id(node)] = e
        node.extend(build(c) for c in e.children)
        return node

    tree = build(root)
    wrapper = ET.Element("AppiumAUT")
    wrapper.append(tree)
    path = query.strip()
    if path.startswith("/"):
        path = "." + path
    try:
        found = wrapper.findall(path)
    except (SyntaxError, KeyError) as exc:
        raise QueryError(
            INVALID_SELECTOR, f"Cannot evaluate results for XPath expression {query!r}: {exc}"
        ) from None
    return [nodes[id(n)] for n in found if id(n) in nodes]


# -- the strategies of POST /elements ---------------------------------------------------------------

STRATEGIES = ("id", "name", "accessibility id", "class name", "predicate string", "class chain", "xpath",
              "link text", "partial link text")


def check(using: str, value: str) -> None:
    """QueryError unless WDA would accept the query (its syntax only: nothing is searched)."""
    if not isinstance(using, str) or not isinstance(value, str):
        raise QueryError(INVALID_ARGUMENT, "'using' and 'value' must be strings")
    strategy = using.lower()
    if strategy not in STRATEGIES:
        raise QueryError(INVALID_ARGUMENT, f"Invalid locator requested: {using}")
    if strategy == "class name":
        short_type(value)
    elif strategy == "predicate string":
        parse_predicate(value)
    elif strategy == "class chain":
        parse_class_chain(value)
    elif strategy == "xpath":
        xpath(Node("Application"), value)


def find(root: Element, using: str, value: str) -> list[Any]:
    """Elements under ``root`` (the active application) for one ``using``/``value`` pair."""
    if not isinstance(using, str) or not isinstance(value, str):
        raise QueryError(INVALID_ARGUMENT, "'using' and 'value' must be strings")
    strategy = using.lower()
    if strategy in ("id", "name", "accessibility id"):
        return [e for e in descendants(root) if e.name == value]
    if strategy == "class name":
        short = short_type(value)
        return [e for e in descendants(root) if e.type == short or short == "Any"]
    if strategy == "predicate string":
        pred = parse_predicate(value)
        return [e for e in descendants(root) if pred(e)]
    if strategy == "class chain":
        return class_chain(root, value)
    if strategy == "xpath":
        return xpath(root, value)
    if strategy in ("link text", "partial link text"):
        prop, sep, text = value.partition("=")
        if not sep:
            prop, text = "name", value
        if attribute_key(prop) not in _KNOWN_ATTRIBUTES:
            raise QueryError(INVALID_ARGUMENT, f"'{prop}' is not a known element attribute")
        out = []
        for e in descendants(root):
            actual = e.attribute(prop)
            if actual is not None and (
                str(actual) == text if strategy == "link text" else text in str(actual)
            ):
                out.append(e)
        return out
    raise QueryError(INVALID_ARGUMENT, f"Invalid locator requested: {using}")


# -- a tree a phone showed ---------------------------------------------------------------------------


@dataclass(eq=False)
class Node:
    """One element of a tree a phone showed (WDA's XML page source) or a profile describes.

    ``identifier`` is the accessibility identifier when known: the XML source carries only ``name``
    (the identifier, else the label; FBElement wdName), so a node parsed from it has the name as
    identifier when the name differs from the label, else none.
    """

    type: str
    identifier: str = ""
    label: str = ""
    value: str | None = None
    frame: tuple[int, int, int, int] = (0, 0, 0, 0)
    enabled: bool = True
    visible: bool = True
    accessible: bool = False
    children: list[Node] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    """Anything else a reader keeps with the node (a profile's ``action``, ``key``, provenance)."""

    @property
    def name(self) -> str | None:
        return self.identifier or self.label or None

    def attribute(self, name: str) -> object:
        table = attribute_table(type=self.type, identifier=self.identifier, label=self.label,
                                value=self.value, frame=self.frame, enabled=self.enabled,
                                visible=self.visible, accessible=self.accessible)
        key = attribute_key(name)
        if key not in table:
            raise KeyError(name)
        return table[key]

    def walk(self) -> Iterator[Node]:
        yield self
        for c in self.children:
            yield from c.walk()

    def describe(self) -> str:
        """``Button 'Accept' (name=acceptCall) [314, 62, 56, 56]``: for messages and reports."""
        text = f"{self.type} {self.label!r}" if self.label else self.type
        if self.identifier and self.identifier != self.label:
            text += f" (name={self.identifier})"
        if self.value not in (None, ""):
            text += f" value={self.value!r}"
        return f"{text} [{', '.join(str(v) for v in self.frame)}]"


def _int(text: str | None) -> int:
    try:
        return round(float(text or 0))
    except ValueError:
        return 0


def _node_from_xml(e: ET.Element) -> Node:
    wd_type = e.get("type") or e.tag
    name, label = e.get("name") or "", e.get("label") or ""
    return Node(
        wd_type[len(TYPE_PREFIX):] if wd_type.startswith(TYPE_PREFIX) else wd_type,
        identifier=name if name and name != label else "",
        label=label,
        value=e.get("value"),
        frame=(_int(e.get("x")), _int(e.get("y")), _int(e.get("width")), _int(e.get("height"))),
        enabled=e.get("enabled", "true") == "true",
        visible=e.get("visible", "true") == "true",
        accessible=e.get("accessible", "false") == "true",
        children=[_node_from_xml(c) for c in e],
    )


def parse_source(xml: str) -> Node:
    """WDA's XML page source (``GET /source``) as a tree of :class:`Node`; ValueError if it is not XML
    with an element at its root."""
    try:
        root = ET.fromstring(xml.encode("utf-8") if isinstance(xml, str) else xml)
    except ET.ParseError as exc:
        raise ValueError(f"not an XML page source ({exc})") from None
    if root.tag == "AppiumAUT" and len(root):  # Appium's wrapper around the application
        root = root[0]
    return _node_from_xml(root)
