"""Element lookup as WDA does it: identifier, predicate string, class chain and a subset of XPath.

Predicate strings support comparisons (==, !=, CONTAINS, BEGINSWITH, ENDSWITH, LIKE, MATCHES,
each with an optional [c]/[d]/[cd] modifier), AND/OR/NOT (&&, ||, !) and parentheses, on the
element attributes WDA exposes (name, label, value, type, identifier, enabled, visible, ...,
with or without the ``wd`` prefix). Class chains support ``**/`` and ``/`` steps, types or
``XCUIElementTypeAny``, backtick predicates and 1-based (or negative) indices
(Utilities/FBClassChainQueryParser.h). XPath runs ElementTree's subset on the XML source.
"""

from __future__ import annotations

import fnmatch
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable

from harness.sim.springboard.element import UIElement
from harness.sim.wda.errors import WdaError, invalid_argument

Predicate = Callable[[UIElement], bool]

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


def _invalid(text: str, why: str) -> WdaError:
    return WdaError("invalid selector", f"Invalid predicate string {text!r}: {why}")


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

        def get(e: UIElement) -> object:
            try:
                return e.attribute(key)
            except KeyError:
                raise _invalid(text, f"unknown attribute {key!r}") from None

        def norm(v: object) -> object:
            if isinstance(v, str) and fold:
                return v.lower()
            return v

        def test(e: UIElement) -> bool:
            actual = get(e)
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

        # Validate the attribute name once, at parse time, as WDA does.
        probe = UIElement("Other")
        get(probe)
        return test

    pred = or_expr()
    if i != len(toks):
        raise _invalid(text, f"unexpected {toks[i][1]!r}")
    return pred


# -- class chain -----------------------------------------------------------------------------------

# A step is separated from the previous one by "/" (children) or "/**/" (descendants, allowed at any
# step: appium-xcuitest-driver's class chain reference, e.g.
# **/XCUIElementTypeCell[`name BEGINSWITH "D"`]/**/XCUIElementTypeButton).
_STEP = re.compile(r"(/?\*\*/|/)?([A-Za-z]+)((?:\[(?:`(?:[^`])*`|-?\d+)\])*)")
_FILTER = re.compile(r"\[(`[^`]*`|-?\d+)\]")


def _type_ok(name: str) -> str:
    if not name.startswith("XCUIElementType"):
        raise WdaError("invalid selector", f"Invalid class name {name!r} in the class chain query")
    return name[len("XCUIElementType") :]


def class_chain(root: UIElement, query: str) -> list[UIElement]:
    pos = 0
    current = [root]
    q = query.strip()
    first = True
    while pos < len(q):
        m = _STEP.match(q, pos)
        if not m or m.end() == pos:
            raise WdaError("invalid selector", f"Cannot parse class chain query {query!r} at {pos}")
        sep, typ, filters = m.group(1), m.group(2), m.group(3)
        if sep is None and not first:
            raise WdaError("invalid selector", f"Cannot parse class chain query {query!r} at {pos}")
        # a descendant step at the start or in the middle ("**/XCUIElementTypeButton/**/XCUIElementTypeImage",
        # appium/WebDriverAgent v16.7.0 WebDriverAgentTests/UnitTests/FBClassChainTests.m:127)
        deep = sep in ("**/", "/**/")
        short = _type_ok(typ)
        nxt: list[UIElement] = []
        for node in current:
            pool = list(node.descendants()) if deep else list(node.children)
            matched = [e for e in pool if short == "Any" or e.type == short]
            for f in _FILTER.findall(filters):
                if f.startswith("`"):
                    pred = parse_predicate(f[1:-1])
                    matched = [e for e in matched if pred(e)]
                else:
                    n = int(f)
                    if n == 0:
                        raise WdaError("invalid selector", "Class chain indices are 1-based")
                    idx = n - 1 if n > 0 else len(matched) + n
                    matched = [matched[idx]] if 0 <= idx < len(matched) else []
            for e in matched:
                if not any(e is seen for seen in nxt):
                    nxt.append(e)
        current = nxt
        pos = m.end()
        first = False
    return current


# -- xpath (ElementTree's subset over the XML source) ----------------------------------------------


def xpath(root: UIElement, query: str) -> list[UIElement]:
    nodes: dict[int, UIElement] = {}

    def build(e: UIElement) -> ET.Element:
        attrs = {"type": e.wd_type, "enabled": str(e.enabled).lower(), "visible": str(e.visible).lower()}
        for key, val in (("name", e.name), ("label", e.label), ("value", e.value)):
            if val:
                attrs[key] = str(val)
        node = ET.Element(e.wd_type, attrs)
        nodes[id(node)] = e
        node.extend(build(c) for c in e.children)
        return node

    tree = build(root)
    wrapper = ET.Element("AppiumAUT")
    wrapper.append(tree)
    path = query.strip()
    if (path.startswith("/") and not path.startswith("//")) or path.startswith("//"):
        path = "." + path
    try:
        found = wrapper.findall(path)
    except (SyntaxError, KeyError) as exc:
        raise WdaError(
            "invalid selector", f"Cannot evaluate results for XPath expression {query!r}: {exc}"
        ) from None
    return [nodes[id(n)] for n in found if id(n) in nodes]


# -- the strategies of POST /elements ---------------------------------------------------------------


def find(root: UIElement, using: str, value: str) -> list[UIElement]:
    """Elements under ``root`` (the active application) for one ``using``/``value`` pair."""
    if not isinstance(using, str) or not isinstance(value, str):
        raise invalid_argument("'using' and 'value' must be strings")
    strategy = using.lower()
    if strategy in ("id", "name", "accessibility id"):
        return [e for e in root.descendants() if e.name == value]
    if strategy == "class name":
        short = _type_ok(value)
        return [e for e in root.descendants() if e.type == short or short == "Any"]
    if strategy == "predicate string":
        pred = parse_predicate(value)
        return [e for e in root.descendants() if pred(e)]
    if strategy == "class chain":
        return class_chain(root, value)
    if strategy == "xpath":
        return xpath(root, value)
    if strategy in ("link text", "partial link text"):
        prop, sep, text = value.partition("=")
        if not sep:
            prop, text = "name", value
        out = []
        for e in root.descendants():
            try:
                actual = e.attribute(prop)
            except KeyError:
                raise invalid_argument(f"'{prop}' is not a known element attribute") from None
            if actual is not None and (
                str(actual) == text if strategy == "link text" else text in str(actual)
            ):
                out.append(e)
        return out
    raise invalid_argument(f"Invalid locator requested: {using}")
