"""What the virtual WDA needs from whoever runs the apps of a phone.

The lab's voice-app host (``harness.sim.voiceapp.host.VoiceAppHost``: one OS process per launch)
fits :class:`AppHost` as is. :class:`InMemoryAppHost` is the trivial one for WDA's own tests.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Protocol

UNKNOWN, NOT_RUNNING, RUNNING_BACKGROUND_SUSPENDED, RUNNING_BACKGROUND, RUNNING_FOREGROUND = 0, 1, 2, 3, 4
"""XCUIApplicationState values, as ``/wda/apps/state`` returns them."""


class AppHost(Protocol):
    async def launch(self, bundle_id: str, arguments: list[str], environment: dict[str, str]) -> int:
        """Start the app's process (it is not running); returns its pid."""

    async def terminate(self, bundle_id: str) -> bool:
        """Stop it; False if it was not running."""

    def state(self, bundle_id: str) -> int:
        """1 not running, 2 suspended, 4 running (the SpringBoard says foreground or background)."""

    def pid(self, bundle_id: str) -> int | None: ...


@dataclass
class Launch:
    bundle_id: str
    arguments: list[str]
    environment: dict[str, str]
    pid: int


@dataclass
class InMemoryAppHost:
    """Apps that "run" as entries in a table; every launch is recorded with its arguments and env."""

    launches: list[Launch] = field(default_factory=list)
    running: dict[str, Launch] = field(default_factory=dict)
    suspended: set[str] = field(default_factory=set)
    _pids: itertools.count[int] = field(default_factory=lambda: itertools.count(1000))

    async def launch(self, bundle_id: str, arguments: list[str], environment: dict[str, str]) -> int:
        if bundle_id in self.running:
            return self.running[bundle_id].pid
        record = Launch(bundle_id, list(arguments), dict(environment), next(self._pids))
        self.launches.append(record)
        self.running[bundle_id] = record
        return record.pid

    async def terminate(self, bundle_id: str) -> bool:
        self.suspended.discard(bundle_id)
        return self.running.pop(bundle_id, None) is not None

    def state(self, bundle_id: str) -> int:
        if bundle_id not in self.running:
            return NOT_RUNNING
        return RUNNING_BACKGROUND_SUSPENDED if bundle_id in self.suspended else RUNNING_FOREGROUND

    def pid(self, bundle_id: str) -> int | None:
        record = self.running.get(bundle_id)
        return record.pid if record else None

    def crash(self, bundle_id: str) -> None:
        """The app died on its own (test helper)."""
        self.running.pop(bundle_id, None)
