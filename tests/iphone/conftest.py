"""Hardware tests: real iPhones of a lab file, about a minute each.

Run them with ``pytest tests/iphone --lab lab.yaml`` on a lab host; without a hardware lab they are
skipped (``fixtures/plugin.py``: the ``iphone`` marker). They reach the phones as a run does: through
the lab file's ``usbmuxd`` (the harness's ``lab`` fixture points pymobiledevice3 at it), each phone's
WDA through a usbmux port forward. They change nothing a run depends on, and each prints what it
measured or matched (``-s`` shows it; the same lines go to ``<--harness-out>/iphone/*.json``).

Where each open point of reference/real-iphone.md §8 is settled:

* the app launched with its environment, read back from ``/wda/activeAppInfo``: test_app_launch.py;
* dial, answer, end between the DUT and the caller, with the locators that matched: test_calls.py;
* Settings > Developer reachable (H5): test_settings.py; Siri activates (H11): test_siri.py;
* device-log lines per second (H6): test_device_log.py;
* WDA up and adopted without killing the runner (pymobiledevice3 #1825): the WDA keeper's test,
  test_wda_keeper.py (issue 15 part B, with the keeper);
* the device layer (WDA started by the harness, screenshots, clock offset): test_device_layer.py.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from harness.device import Device
from harness.lab.schema import Device as DeviceSpec
from harness.phone import Phone
from harness.session import LabPhone, LabSession
from harness.timeline import Timeline


@dataclass
class RealPhone:
    """A phone the lab session opened (``.ui`` its recipes), with its own timeline."""

    opened: LabPhone
    timeline: Timeline

    @property
    def spec(self) -> DeviceSpec:
        return self.opened.spec

    @property
    def device(self) -> Device:
        return self.opened.device

    @property
    def ui(self) -> Phone:
        return self.opened.ui


def pick(lab: LabSession, role: str, wanted: str | None = None) -> DeviceSpec:
    """The lab's phone of ``role`` (``--device`` names the DUT); a skip naming what is missing."""
    if wanted and role == "dut":
        return lab.spec.device(wanted)
    phones = lab.spec.role(role)
    if not phones:
        pytest.skip(f"the lab file has no phone with role: {role}")
    return phones[0]


@pytest.fixture
def out_dir(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    out = request.config.getoption("--harness-out")
    path = Path(out) / "iphone" if out else tmp_path
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture
def open_phone(lab: LabSession, out_dir: Path) -> Iterator[Callable[[str], RealPhone]]:
    """``open_phone("dut" | "caller")``: that phone opened by the lab session (device connection, WDA
    forward and UI), as a run opens it, with no device log and no baseline."""
    opened: list[RealPhone] = []

    def open_(role: str) -> RealPhone:
        spec = pick(lab, role, None)
        timeline = Timeline(out_dir / f"{role}-timeline.jsonl")
        opened.append(RealPhone(lab.open_phone(spec, timeline, out_dir), timeline))
        return opened[-1]

    yield open_
    for p in opened:
        try:
            lab.close_phone(p.opened)
        finally:
            p.timeline.close()


def report(out_dir: Path, name: str, **fields: Any) -> None:
    """Print what a hardware test measured and keep it as JSON beside the run's other output."""
    text = json.dumps(fields, indent=2, default=str)
    print(f"\n{name}: {text}")
    (out_dir / f"{name}.json").write_text(text + "\n")


def matched_locators(timeline: Timeline) -> list[dict[str, Any]]:
    """Every recipe step the phone took, with the locator that matched (the timeline's ``recipe``)."""
    keys = ("recipe", "locator", "index", "fallback", "provenance", "retaps", "ios")
    return [{k: e.fields.get(k) for k in keys} for e in timeline.events(kind="recipe")]
