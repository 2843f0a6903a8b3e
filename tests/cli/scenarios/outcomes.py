"""Scenarios with known outcomes and no lab (run by tests/cli/test_plugin.py)."""

from __future__ import annotations

import pytest

from fixtures.plugin import record_device_metadata, record_test_device
from harness.errors import AppFailure, LabFault


@pytest.fixture
def phone(request: pytest.FixtureRequest) -> str:
    record_device_metadata(request.config, "iPhone A", udid="00008120-0000000000000001", model="iPhone15,2",
                           ios_build="21F90", app_version="1.4.0", app_build="812", wda_version="8.4.1")
    record_test_device(request.node, "iPhone A")
    return "iPhone A"


@pytest.fixture
def breaks_in_teardown():
    yield
    raise LabFault("WDA died while the app was terminated", tag="wda-down")


@pytest.fixture
def bug_in_teardown():
    yield
    raise RuntimeError("peer did not stop")


def test_passes(phone, record_property) -> None:
    record_property("resume_latency_ms", 364.5)


@pytest.mark.catches("never_resumes")
def test_app_fails(phone) -> None:
    raise AppFailure("receiver: call audio never came back", rule="resume-on-should-resume")


def test_lab_fault_in_teardown(phone, breaks_in_teardown) -> None:
    pass


def test_bug_in_teardown(bug_in_teardown) -> None:
    pass


def test_skips() -> None:
    pytest.skip("the lab has no phone with role 'caller'")
