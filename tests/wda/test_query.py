"""Element lookup logic (pure): predicate strings, class chains, xpath, strategies."""

from __future__ import annotations

import pytest

from harness.sim.springboard.element import UIElement
from harness.sim.wda.errors import WdaError
from harness.sim.wda.query import class_chain, find, parse_predicate, xpath


def tree() -> UIElement:
    accept = UIElement("Button", identifier="acceptCall", label="Accept", frame=(300, 60, 56, 56))
    decline = UIElement("Button", label="Decline", frame=(240, 60, 56, 56), enabled=False)
    title = UIElement("StaticText", label="It's me", value="It's me")
    banner = UIElement("Other", label="banner", children=[title, decline, accept])
    return UIElement("Application", label="InCallService", children=[banner])


def names(elements: list[UIElement]) -> list[str | None]:
    return [e.name for e in elements]


@pytest.mark.parametrize(
    ("predicate", "expected"),
    [
        ("name == 'acceptCall'", ["acceptCall"]),
        ("label == 'Accept'", ["acceptCall"]),
        ("label ==[c] 'ACCEPT'", ["acceptCall"]),
        ("label BEGINSWITH 'De'", ["Decline"]),
        ("label ENDSWITH 'line'", ["Decline"]),
        ("label CONTAINS 'cc' AND type == 'XCUIElementTypeButton'", ["acceptCall"]),
        ("type == 'XCUIElementTypeButton' AND enabled == true", ["acceptCall"]),
        ("wdType == 'XCUIElementTypeButton' && NOT (label == 'Accept')", ["Decline"]),
        ("label == 'Accept' OR label == 'Decline'", ["Decline", "acceptCall"]),
        ('value == "It\'s me"', ["It's me"]),
        ("label == 'It\\'s me'", ["It's me"]),
        ("label LIKE 'Ac*'", ["acceptCall"]),
        ("label MATCHES '^D.*'", ["Decline"]),
        ("enabled == false", ["Decline"]),
        ("FALSEPREDICATE", []),
        ("visible == 1", ["banner", "It's me", "Decline", "acceptCall"]),
    ],
)
def test_predicates(predicate: str, expected: list[str]) -> None:
    assert names(find(tree(), "predicate string", predicate)) == expected


@pytest.mark.parametrize(
    "bad", ["label ~ 'x'", "label == ", "nosuchkey == 'x'", "(label == 'x'", "label == 'x' y"]
)
def test_bad_predicates_are_invalid_selectors(bad: str) -> None:
    with pytest.raises(WdaError) as info:
        parse_predicate(bad)
    assert info.value.error == "invalid selector"


@pytest.mark.parametrize(
    ("chain", "expected"),
    [
        ("**/XCUIElementTypeButton", ["Decline", "acceptCall"]),
        ("**/XCUIElementTypeAny[`name == 'acceptCall'`]", ["acceptCall"]),
        ("XCUIElementTypeOther/XCUIElementTypeButton[1]", ["Decline"]),
        ("XCUIElementTypeOther/XCUIElementTypeButton[-1]", ["acceptCall"]),
        ("**/XCUIElementTypeOther/XCUIElementTypeButton[`label BEGINSWITH 'A'`]", ["acceptCall"]),
        ("**/XCUIElementTypeButton[5]", []),
        ("XCUIElementTypeButton", []),  # not a direct child of the application
        # descendants at a later step (appium-xcuitest-driver's class chain reference)
        ("XCUIElementTypeOther[`label == 'banner'`]/**/XCUIElementTypeButton[`label == 'Accept'`]",
         ["acceptCall"]),
        ("**/XCUIElementTypeOther/**/XCUIElementTypeStaticText", ["It's me"]),
    ],
)
def test_class_chains(chain: str, expected: list[str]) -> None:
    assert names(class_chain(tree(), chain)) == expected


@pytest.mark.parametrize(
    "bad", ["**/Button", "**/XCUIElementTypeButton[0]", "**/XCUIElementTypeButton[`x ~ 1`]", "!!"]
)
def test_bad_class_chains(bad: str) -> None:
    with pytest.raises(WdaError) as info:
        class_chain(tree(), bad)
    assert info.value.error == "invalid selector"


def test_identifier_strategies_and_xpath() -> None:
    t = tree()
    for using in ("id", "name", "accessibility id"):
        assert names(find(t, using, "acceptCall")) == ["acceptCall"]
    assert names(find(t, "id", "Decline")) == ["Decline"]  # no identifier: the label is the name
    assert names(find(t, "class name", "XCUIElementTypeStaticText")) == ["It's me"]
    assert names(find(t, "link text", "label=Accept")) == ["acceptCall"]
    assert names(find(t, "partial link text", "label=ccep")) == ["acceptCall"]
    assert names(xpath(t, "//XCUIElementTypeButton[@label='Decline']")) == ["Decline"]
    assert names(xpath(t, "/XCUIElementTypeApplication/XCUIElementTypeOther/*")) == [
        "It's me",
        "Decline",
        "acceptCall",
    ]
    with pytest.raises(WdaError) as info:
        find(t, "css selector", "x")
    assert info.value.error == "invalid argument"
