"""Measure the clock mapping against the virtual lab (a figure, not a test).

Run: ``.venv/bin/python bench/device_clock.py [SECONDS]``. A phone 3.2 s ahead in UTC-7
logs a line every 20 ms; each line's place on the lab timeline is compared with when the phone
really logged it (the sim's ground truth). Printed per drift rate: median, p99 and max error,
the fitted drift and what the timeline states. (Belongs in bench/; it lives here because this
area owns tests/device only.)
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import tempfile

from harness.device import Device, LogFilter, use_usbmuxd
from harness.sim.lab import LabConfig, PhoneSpec, VirtualLab
from harness.timeline import Timeline


async def measure(drift_ppm: float, seconds: float) -> str:
    spec = PhoneSpec(name="A", ios="17.5.1", clock_offset_s=3.2, clock_drift_ppm=drift_ppm,
                     utc_offset_min=-420)
    async with VirtualLab.running(LabConfig(phones=[spec], extensions=())) as lab:
        use_usbmuxd(lab.usbmuxd_address)
        model_phone = lab.phone("A")
        timeline = Timeline()
        async with await Device.open(model_phone.udid, timeline=timeline) as phone:
            await phone.log_stream(LogFilter(processes=("mediaserverd",)))
            truth = []
            loop = asyncio.get_running_loop()
            end = loop.time() + seconds
            while loop.time() < end:
                truth.append(model_phone.log("mediaserverd", f"line {len(truth)}"))
                await asyncio.sleep(0.02)
            while len(timeline.events(source="device-log", kind="log")) < len(truth):
                await asyncio.sleep(0.05)
            model = phone.clock.model
        events = timeline.events(source="device-log", kind="log")
        errors = sorted(abs(e.t_ns - r.t_mono_ns) / 1e6 for e, r in zip(events, truth, strict=True))
        stated = timeline.last("clock-offset", source="device-clock")
        assert model is not None and stated is not None
        return (f"drift {drift_ppm:6.0f} ppm: {len(errors)} lines in {seconds:.0f} s; |error| median "
                f"{statistics.median(errors):.3f} ms, p99 {errors[int(len(errors) * 0.99) - 1]:.3f} ms, "
                f"max {errors[-1]:.3f} ms; fitted drift {model.drift_ppm:.1f} ppm; timeline states "
                f"{stated.fields['ahead_of_host_ms']} ms ahead, +-{stated.fields['uncertainty_ms']} ms")


async def main(seconds: float) -> None:
    os.environ["XDG_DATA_HOME"] = tempfile.mkdtemp(prefix="measure-clock-")
    for drift in (80.0, 1000.0):
        print(await measure(drift, seconds), flush=True)


if __name__ == "__main__":
    asyncio.run(main(float(sys.argv[1]) if len(sys.argv) > 1 else 10.0))
