"""How many unified-log lines a real phone sends per second (reference/real-iphone.md H6, §8.6).

The whole live stream as pymobiledevice3 reads it (``OsTraceService.syslog``: every process, debug
level, no backlog), counted without the harness's pump in between: the load any log path on a lab
host has to carry. Idle for 20 s, then (with a caller in the lab) 20 s while the caller rings the
DUT for 8 s and hangs up.
"""

from __future__ import annotations

import asyncio
import posixpath
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest

from harness.device.lockdown import connect
from tests.iphone.conftest import pick, report

pytestmark = pytest.mark.iphone

WINDOW_S = 20.0


async def _count(udid: str, seconds: float) -> tuple[int, Counter[str]]:
    """Lines the phone logs live in ``seconds`` (no backlog: the HISTORICAL flag is left out)."""
    from pymobiledevice3.services.os_trace import OS_TRACE_RELAY_STREAM_FLAGS_DEFAULT as DEFAULT
    from pymobiledevice3.services.os_trace import OsActivityStreamFlag, OsTraceService

    lockdown = await connect(udid)
    lines, processes = 0, Counter[str]()
    live = int(DEFAULT) & ~int(OsActivityStreamFlag.HISTORICAL)
    try:
        async with asyncio.timeout(seconds):  # a quiet phone may send nothing: the window still ends
            async for entry in OsTraceService(lockdown=lockdown).syslog(stream_flags=live):
                lines += 1
                processes[posixpath.basename(entry.filename)] += 1
    except TimeoutError:
        pass
    finally:
        await lockdown.close()
    return lines, processes


def test_device_log_lines_per_second(lab, open_phone, out_dir):
    """Counted on a loop of its own (not the one forwarding the caller's WDA), so neither slows the other."""
    dut = pick(lab, "dut")
    with ThreadPoolExecutor(1) as pool:
        lines, procs = pool.submit(asyncio.run, _count(dut.udid, WINDOW_S)).result(WINDOW_S + 30)
        figures = {"idle_lines": lines, "idle_lines_per_s": round(lines / WINDOW_S, 1),
                   "idle_top": procs.most_common(10)}
        if lab.spec.role("caller") and dut.phone_number:
            caller = open_phone("caller")
            ringing = pool.submit(asyncio.run, _count(dut.udid, WINDOW_S))
            time.sleep(1)
            caller.ui.dial(f"tel:{dut.phone_number}")
            time.sleep(8)
            caller.ui.end_call()
            lines, procs = ringing.result(WINDOW_S + 30)
            figures.update(call_lines=lines, call_lines_per_s=round(lines / WINDOW_S, 1),
                           call_top=procs.most_common(10))
    report(out_dir, "device-log-rate", phone=dut.name, window_s=WINDOW_S, **figures)
    seen = figures["idle_lines"] + figures.get("call_lines", 0)
    assert seen > 0, "the phone sent no log line at all: the os_trace relay is not streaming"
