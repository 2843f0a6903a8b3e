"""The virtual lab's usbmuxd/lockdownd as pymobiledevice3 sees it: start-up, sessions, log throughput.

Run: ``.venv/bin/python bench/sim_lockdown.py [--phones N] [--sessions N] [--records N]``.
Prints: lab start time for N phones (key generation dominates); ``create_using_usbmux`` (paired,
TLS session) p50/p95; StartService round trips; os_trace records/s from ``phone.log`` to parsed
``SyslogEntry``; control-API ``POST /log`` requests/s; and the phone-clock error of os_trace
timestamps (max |parsed - expected|).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time

import aiohttp


def _pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


async def main(phones: int, sessions: int, records: int) -> None:
    from pymobiledevice3.lockdown import create_using_usbmux
    from pymobiledevice3.services.os_trace import OsTraceService

    from harness.sim.clock import PhoneClock
    from harness.sim.lab import LabConfig, VirtualLab

    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        lab = VirtualLab(LabConfig.default(phones, state_dir=tmp, extensions=()))
        await lab.start()
        print(f"lab start, {phones} phone(s): {time.perf_counter() - t0:.2f} s")
        try:
            os.environ["USBMUXD_SOCKET_ADDRESS"] = lab.usbmuxd_address
            os.environ["XDG_DATA_HOME"] = os.path.join(tmp, "xdg")
            phone = next(iter(lab.phones.values()))
            times = []
            for _ in range(sessions):
                t = time.perf_counter()
                async with await create_using_usbmux(serial=phone.udid):
                    pass
                times.append((time.perf_counter() - t) * 1e3)
            print(
                f"create_using_usbmux (TLS session), n={sessions}: p50 {statistics.median(times):.1f} ms, "
                f"p95 {_pct(times, 0.95):.1f} ms"
            )
            async with await create_using_usbmux(serial=phone.udid) as lockdown:
                t = time.perf_counter()
                for _ in range(20):
                    conn = await lockdown.start_lockdown_service("com.apple.syslog_relay")
                    await conn.close()
                print(f"StartService + TLS service connection: {(time.perf_counter() - t) / 20 * 1e3:.1f} ms")

                phone.clock = PhoneClock(3.2, 100.0, 330)
                stream = OsTraceService(lockdown).syslog()
                first = asyncio.ensure_future(stream.__anext__())
                await asyncio.sleep(0.2)
                t = time.perf_counter()
                stamps = []
                for i in range(records):
                    stamps.append(phone.log("bench", f"record {i}", subsystem="s", category="c").t_mono_ns)
                entries = [await first]
                for _ in range(records - 1):
                    entries.append(await stream.__anext__())
                dt = time.perf_counter() - t
                await stream.aclose()
                err = max(
                    abs(e.timestamp.timestamp() * 1e9 - phone.clock.phone_time_ns(s))
                    for e, s in zip(entries, stamps, strict=True)
                )
                print(
                    f"os_trace: {records} records in {dt:.2f} s = {records / dt:,.0f} records/s; "
                    f"max timestamp error vs phone clock {err / 1e3:.1f} us"
                )
            async with aiohttp.ClientSession() as http:
                t = time.perf_counter()
                n = 300
                for i in range(n):
                    async with http.post(
                        f"{lab.control_url}/phones/{phone.udid}/log",
                        json={"process": "VoiceApp", "message": f"m{i}"},
                    ) as r:
                        await r.read()
                print(f"control API POST /log: {n / (time.perf_counter() - t):,.0f} requests/s (one client)")
        finally:
            await lab.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--phones", type=int, default=4)
    parser.add_argument("--sessions", type=int, default=30)
    parser.add_argument("--records", type=int, default=20000)
    args = parser.parse_args()
    asyncio.run(main(args.phones, args.sessions, args.records))
