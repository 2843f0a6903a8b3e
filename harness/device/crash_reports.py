"""Crash reports the phone wrote during a test (com.apple.crashreportcopymobile over AFC).

"During a test" is decided by listing, not by clocks: :meth:`CrashReportWatch.begin` notes every
report already on the phone, :meth:`CrashReportWatch.collect` flushes pending reports
(crashreportmover), lists again and pulls only the new ones into the test's folder. Each pulled
report also goes on the timeline (``device / crash-report``) with its process and file.
"""

from __future__ import annotations

import json
import posixpath
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.device.errors import device_errors
from harness.timeline import Timeline

COPY_SERVICE = "com.apple.crashreportcopymobile"
REPORT_SUFFIXES = (".ips", ".panic", ".crash")


@dataclass(frozen=True)
class CrashReport:
    device_path: str
    local_path: Path
    process: str
    bug_type: str
    timestamp: str
    """As the report states it, in the phone's local time with its UTC offset."""


def report_header(text: str) -> dict[str, Any]:
    """The JSON header line of an .ips report ({} when the report has none)."""
    first = text.split("\n", 1)[0]
    try:
        header = json.loads(first)
    except ValueError:
        return {}
    return header if isinstance(header, dict) else {}


class CrashReportWatch:
    def __init__(self, lockdown: Any, udid: str, *, timeline: Timeline | None = None,
                 timeout: float = 60.0) -> None:
        self.lockdown = lockdown
        self.udid = udid
        self.timeline = timeline
        self.timeout = timeout
        self.before: set[str] | None = None

    async def _list(self) -> set[str]:
        from pymobiledevice3.services.crash_reports import CrashReportsManager

        async with CrashReportsManager(self.lockdown) as manager:
            entries = await manager.ls("/", depth=-1)
        return {e for e in entries if e.endswith(REPORT_SUFFIXES)}

    async def begin(self) -> int:
        """Note the reports already on the phone; returns how many."""
        async with device_errors("list crash reports", self.udid, self.timeout, service=COPY_SERVICE):
            self.before = await self._list()
        return len(self.before)

    async def new_reports(self) -> list[str]:
        """Device paths of reports written since :meth:`begin`."""
        from pymobiledevice3.services.crash_reports import CrashReportsManager

        if self.before is None:
            raise RuntimeError("call CrashReportWatch.begin() before the test")
        async with device_errors("list crash reports", self.udid, self.timeout, service=COPY_SERVICE):
            async with CrashReportsManager(self.lockdown) as manager:
                await manager.flush()
            now = await self._list()
        return sorted(now - self.before)

    async def collect(self, out_dir: str | Path) -> list[CrashReport]:
        """Pull the new reports into ``out_dir`` (flushed as written) and put them on the timeline."""
        from pymobiledevice3.services.crash_reports import CrashReportsManager

        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        reports: list[CrashReport] = []
        paths = await self.new_reports()
        async with (device_errors("pull crash reports", self.udid, self.timeout, service=COPY_SERVICE),
                    CrashReportsManager(self.lockdown) as manager):
            for path in paths:
                data = await manager.afc.get_file_contents(path)
                local = out / posixpath.basename(path)
                local.write_bytes(data)
                header = report_header(data.decode("utf-8", "replace"))
                report = CrashReport(path, local, str(header.get("app_name") or header.get("name") or ""),
                                     str(header.get("bug_type", "")), str(header.get("timestamp", "")))
                reports.append(report)
                if self.timeline is not None:
                    self.timeline.emit("device", "crash-report", udid=self.udid, process=report.process,
                                       device_path=path, file=str(local), bug_type=report.bug_type,
                                       phone_timestamp=report.timestamp)
        return reports
