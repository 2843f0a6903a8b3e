"""Element lookup as WDA does it, for the virtual WDA: :mod:`harness.wda_query` with WDA's errors.

The query language (identifier, predicate strings, class chains, XPath's subset) is implemented once
in :mod:`harness.wda_query`, which the harness's profile checks use too; here a query WDA would
refuse becomes WDA's error envelope (``invalid selector`` / ``invalid argument``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from harness import wda_query
from harness.sim.springboard.element import UIElement
from harness.sim.wda.errors import WdaError

Predicate = Callable[[UIElement], bool]


def _wda_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    def call(*args: Any) -> Any:
        try:
            return fn(*args)
        except wda_query.QueryError as exc:
            raise WdaError(exc.error, exc.message) from None

    call.__doc__ = fn.__doc__
    return call


parse_predicate: Callable[[str], Predicate] = _wda_errors(wda_query.parse_predicate)
class_chain: Callable[[UIElement, str], list[UIElement]] = _wda_errors(wda_query.class_chain)
xpath: Callable[[UIElement, str], list[UIElement]] = _wda_errors(wda_query.xpath)
find: Callable[[UIElement, str, str], list[UIElement]] = _wda_errors(wda_query.find)
