"""Another client of the phone's WDA: it replaces WDA's one session now and then (``wda_session=replaced``).

A lab phone's WDA is shared by whatever else talks to it (an Appium server left running, a
colleague's script, the keeper). WDA keeps one session (``Routing/FBSession.m``): a ``POST
/session`` from anyone kills the active one, so the harness's next request answers ``invalid
session id`` and its settings (``defaultActiveApplication``) are back to their defaults (wda.md
§6, openatx/facebook-wda#122 and #139).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable


class Intruder:
    """Every ``interval_s`` (jittered +-30 %, seeded) calls ``replace()`` while a session exists."""

    def __init__(
        self,
        interval_s: float,
        replace: Callable[[], Awaitable[None]],
        has_session: Callable[[], bool],
        seed: int,
    ) -> None:
        self.interval_s = interval_s
        self.replace = replace
        self.has_session = has_session
        self.rng = random.Random(seed)
        self.count = 0
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval_s * self.rng.uniform(0.7, 1.3))
            if self.has_session():
                await self.replace()
                self.count += 1
