"""Fixtures for the virtual lab's own tests: an in-process lab, and pymobiledevice3 pointed at it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from harness.sim.lab import LabConfig, PhoneSpec, VirtualLab


@pytest.fixture
async def lab(tmp_path, monkeypatch) -> AsyncIterator[VirtualLab]:
    """Two phones (a paired DUT on iOS 17.5.1, a caller on 18.2); pymobiledevice3 env set for it."""
    config = LabConfig(
        phones=[
            PhoneSpec(
                name="DUT", ios="17.5.1", role="dut", phone_number="+15550100001", apple_id="dut@example.com"
            ),
            PhoneSpec(
                name="Caller",
                ios="18.2",
                role="caller",
                model="iPhone16,1",
                phone_number="+15550100002",
                apple_id="caller@example.com",
            ),
        ],
        state_dir=tmp_path / "lab",
        extensions=(),  # the core only: other parts test themselves on top of it
        # record by record: no background log volume between the lines a test writes and reads (a
        # real phone's log is never quiet: the log pump's tests run at the typical and heavy volumes)
        variants={"log_volume": "quiet"},
    )
    async with VirtualLab.running(config) as running:
        monkeypatch.setenv("USBMUXD_SOCKET_ADDRESS", running.usbmuxd_address)
        monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
        yield running


@pytest.fixture
def dut(lab: VirtualLab):
    return lab.phone("DUT")
