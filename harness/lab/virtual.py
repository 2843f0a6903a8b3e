"""Starting the virtual lab as a ``harness sim up`` subprocess, and reading its state files.

This is the harness's side of the virtual lab: it talks to it only through the files and the
process, never by importing :mod:`harness.sim` (verdicts must not see ground truth).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.errors import LabFault

SIM_JSON = "sim.json"
LAB_YAML = "lab.yaml"


def clear_state(state_dir: str | Path) -> None:
    """Remove sim.json, so a reader waits for the next lab's."""
    with contextlib.suppress(FileNotFoundError):
        (Path(state_dir) / SIM_JSON).unlink()


def read_state(state_dir: str | Path) -> dict[str, Any] | None:
    try:
        return json.loads((Path(state_dir) / SIM_JSON).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None


def process_identity(pid: int) -> dict[str, Any] | None:
    """What tells a process apart from a later one with a recycled pid: its command line and its
    start time (``/proc/<pid>/stat`` field 22, clock ticks since boot). None when it is gone (or on
    a system without /proc)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2:].split()  # after "pid (comm) ": comm may hold spaces
    return {"cmdline": [a.decode(errors="replace") for a in cmdline.split(b"\0") if a],
            "start_ticks": int(fields[19])}


def _started_at(ticks: int) -> float | None:
    """Wall-clock start of a process from its start ticks (None without /proc/stat's btime)."""
    try:
        for line in Path("/proc/stat").read_text().splitlines():
            if line.startswith("btime "):
                return int(line.split()[1]) + ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError):
        return None
    return None


def foreign_process(state: dict[str, Any], state_dir: str | Path) -> str | None:
    """Why the live pid ``state`` names is not the lab that wrote it (a recycled pid, another
    program), or None when it is. ``state["process"]`` (written by ``sim up``) must match exactly;
    a sim.json without it needs a ``harness sim up`` command line with this state dir, started
    before sim.json was written."""
    pid = int(state["pid"])
    now = process_identity(pid)
    if now is None:
        return None if sys.platform != "linux" else f"pid {pid} has no /proc entry"
    recorded = state.get("process")
    if isinstance(recorded, dict):
        if recorded.get("start_ticks") != now["start_ticks"] or recorded.get("cmdline") != now["cmdline"]:
            return f"pid {pid} is now another process ({' '.join(now['cmdline'])[:120]!r})"
        return None
    args = now["cmdline"]
    is_sim_up = any(a.endswith("harness") for a in args) and \
        any(x == "sim" and y == "up" for x, y in itertools.pairwise(args))
    if not is_sim_up:
        return f"pid {pid} is not a `harness sim up` ({' '.join(args)[:120]!r})"
    started = _started_at(now["start_ticks"])
    try:
        written = (Path(state_dir) / SIM_JSON).stat().st_mtime
    except OSError:
        written = None
    if started is not None and written is not None and started > written + 2.0:
        return f"pid {pid} started after sim.json was written: it is another `harness sim up`"
    return None


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass
class LabProcess:
    """A ``harness sim up`` running as a child process (for pytest fixtures)."""

    process: subprocess.Popen[bytes]
    state_dir: Path
    state: dict[str, Any]

    @property
    def usbmuxd_address(self) -> str:
        return self.state["usbmuxd_address"]

    @property
    def control_url(self) -> str:
        return self.state["control_url"]

    @property
    def lab_yaml(self) -> Path:
        return self.state_dir / LAB_YAML

    def stop(self, timeout: float = 20.0) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode

    def __enter__(self) -> LabProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_lab_process(
    state_dir: str | Path,
    phones: int = 2,
    ios_versions: str | None = None,
    extra_args: list[str] | None = None,
    timeout: float = 60.0,
    duts: int = 1,
    variants: list[str] | tuple[str, ...] = (),
) -> LabProcess:
    """Start ``harness sim up`` in a subprocess and wait until its sim.json is written.

    ``variants``: ``NAME=VALUE`` or ``field`` items, each passed as ``--variant``
    (``harness sim variants``)."""
    state_dir = Path(state_dir)
    state_dir.mkdir(parents=True, exist_ok=True)
    clear_state(state_dir)
    cmd = [
        sys.executable,
        "-m",
        "harness",
        "sim",
        "up",
        "--state-dir",
        str(state_dir),
        "--phones",
        str(phones),
        "--duts",
        str(duts),
    ]
    if ios_versions:
        cmd += ["--ios", ios_versions]
    for item in variants:
        cmd += ["--variant", item]
    cmd += extra_args or []
    log = open(state_dir / "sim.log", "ab")  # noqa: SIM115 - the child owns it for its life
    process = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                               start_new_session=True)  # a Ctrl-C on the run must not stop the lab mid-run
    log.close()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = read_state(state_dir)
        if state is not None and state.get("pid") == process.pid:
            return LabProcess(process, state_dir, state)
        if process.poll() is not None:
            tail = (state_dir / "sim.log").read_text(errors="replace")[-2000:]
            raise LabFault(
                f"harness sim up exited with {process.returncode} before it was ready:\n{tail}",
                tag="sim-start",
            )
        time.sleep(0.05)
    process.kill()
    process.wait()
    raise LabFault(
        f"harness sim up did not write {state_dir / SIM_JSON} within {timeout:.0f} s", tag="sim-start"
    )
