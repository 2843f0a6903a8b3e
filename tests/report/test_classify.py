"""Whose fault: app, lab or harness, from the exception and what it was raised from."""

from __future__ import annotations

from pathlib import Path

import pytest

import harness
from harness.errors import AppFailure, LabFault, UsageError
from harness.report.classify import classify


def _raise(exc: BaseException) -> BaseException:
    try:
        raise exc
    except BaseException as caught:
        return caught


def test_pass_app_failure_and_lab_fault() -> None:
    assert classify(None).outcome == "pass"
    v = classify(AppFailure("audio never came back", rule="resume-on-should-resume"))
    assert (v.outcome, v.rule) == ("app-failure", "resume-on-should-resume")
    v = classify(LabFault("WDA died", tag="wda-down"))
    assert (v.outcome, v.lab_tag) == ("lab-fault", "wda-down")


def test_an_error_raised_from_a_lab_fault_is_that_lab_fault() -> None:
    try:
        try:
            raise LabFault("phone detached", tag="device-gone")
        except LabFault as fault:
            raise RuntimeError("could not read the log") from fault
    except RuntimeError as exc:
        v = classify(exc)
    assert (v.outcome, v.lab_tag) == ("lab-fault", "device-gone")


def test_an_app_failure_is_never_turned_into_a_lab_fault() -> None:
    try:
        try:
            raise LabFault("capture stalled", tag="capture-dropout")
        except LabFault:
            raise AppFailure("speaker leak", rule="no-speaker-leak") from None
    except AppFailure as exc:
        assert classify(exc).outcome == "app-failure"


def test_a_bare_assert_in_a_scenario_is_an_app_failure_but_in_the_harness_an_error() -> None:
    exc = _raise(AssertionError("scenario check"))
    assert classify(exc).outcome == "app-failure"  # raised here, in tests/: not harness code
    inside = str(Path(harness.__file__).parent / "report" / "inside.py")  # as if raised in harness code
    with pytest.raises(AssertionError) as info:
        exec(compile("assert 1 == 2, 'internal invariant'", inside, "exec"))
    assert classify(info.value).outcome == "error"


def test_usage_errors_and_plain_exceptions_are_the_harness_s_errors() -> None:
    assert classify(UsageError("bad call")).outcome == "error"
    assert classify(_raise(KeyError("x"))).outcome == "error"


def test_exception_groups_pick_the_app_failure_first_then_errors_then_lab_faults() -> None:
    group = ExceptionGroup("tasks", [LabFault("x", tag="peer-unreachable"), AppFailure("y", rule="r")])
    assert classify(group).outcome == "app-failure"
    only_lab = ExceptionGroup("tasks", [LabFault("x", tag="peer-unreachable")])
    assert classify(only_lab).lab_tag == "peer-unreachable"
    mixed = ExceptionGroup("tasks", [LabFault("x", tag="t"), ValueError("bug")])
    assert classify(mixed).outcome == "error"
