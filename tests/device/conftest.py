"""Fixtures for the device layer's tests: an in-process virtual lab and the harness pointed at it.

The tests import ``harness.sim`` only to build the scene and read ground truth; the device layer
under test reaches the phones through usbmuxd's socket alone.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from harness.device import use_usbmuxd
from harness.sim.lab import LabConfig, PhoneSpec, VirtualLab

SKEWED = dict(clock_offset_s=3.2, clock_drift_ppm=80.0, utc_offset_min=-7 * 60)
"""A phone 3.2 s ahead, running 80 ppm fast, in UTC-7."""


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """No pair records or usbmuxd address leak in from the host or between tests."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    # setenv first so teardown restores the original state even after use_usbmuxd() set it again.
    monkeypatch.setenv("USBMUXD_SOCKET_ADDRESS", "unset")
    monkeypatch.delenv("USBMUXD_SOCKET_ADDRESS")
    return tmp_path


async def start_lab(tmp_path, *specs: PhoneSpec) -> VirtualLab:
    # Only usbmuxd, lockdownd, the services and WDA's /status: the device layer needs nothing else.
    lab = VirtualLab(LabConfig(phones=list(specs), state_dir=tmp_path / "lab", extensions=()))
    await lab.start()
    use_usbmuxd(lab.usbmuxd_address)
    return lab


@pytest.fixture
async def lab(isolated) -> AsyncIterator[VirtualLab]:
    """A paired DUT on iOS 17.5.1 whose clock is skewed (SKEWED), and a caller on iOS 16."""
    running = await start_lab(
        isolated,
        PhoneSpec(name="DUT", ios="17.5.1", role="dut", **SKEWED),
        PhoneSpec(name="Caller", ios="16.7.10", role="caller", model="iPhone14,5",
                  phone_number="+15550100002",
                  apple_id="caller@example.com", battery_level=12, charging=False),
    )
    try:
        yield running
    finally:
        await running.stop()


@pytest.fixture
def dut(lab: VirtualLab):
    return lab.phone("DUT")


@pytest.fixture
def caller(lab: VirtualLab):
    return lab.phone("Caller")
