"""Starting the virtual lab as a ``harness sim up`` subprocess, and reading its state files.

This is the harness's side of the virtual lab: it talks to it only through the files and the
process, never by importing :mod:`harness.sim` (verdicts must not see ground truth).
"""

from __future__ import annotations

import contextlib
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
