"""The virtual lab's control API: what no phone UI can do (attach/detach, faults, scene events).

One aiohttp server on the lab process. Routes can be added at any time, also after start
(:meth:`ControlAPI.add_route`), so later parts register theirs when a phone is added. Path
parameters use aiohttp's ``{name}`` syntax and appear in ``request.match_info``.
Errors are JSON ``{"error": message}`` with status 400 (bad request) or 404 (unknown phone/route).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from harness.errors import UsageError

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _compile(path: str) -> re.Pattern[str]:
    pattern = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(path))
    return re.compile(f"^{pattern}$")


class ControlAPI:
    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port
        self._routes: list[tuple[str, str, re.Pattern[str], Handler]] = []
        self._runner: web.AppRunner | None = None
        self.url = ""

    def add_route(self, method: str, path: str, handler: Handler) -> None:
        """Register ``handler`` for ``method`` (GET, POST, ...) on ``path`` (e.g. ``/phones/{udid}/log``)."""
        method = method.upper()
        self._routes = [r for r in self._routes if not (r[0] == method and r[1] == path)]
        self._routes.append((method, path, _compile(path), handler))

    def routes(self) -> list[tuple[str, str]]:
        return [(m, p) for m, p, _, _ in self._routes]

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        path_matched = False
        for method, _path, pattern, handler in self._routes:
            match = pattern.match(request.path)
            if match is None:
                continue
            path_matched = True
            if method != request.method:
                continue
            request.match_info.update(match.groupdict())
            try:
                return await handler(request)
            except UsageError as exc:
                return error(400, str(exc))
            except KeyError as exc:
                return error(404, f"not found: {exc.args[0] if exc.args else exc}")
        if path_matched:
            return error(405, f"{request.method} not allowed on {request.path}")
        return error(404, f"no route {request.method} {request.path}; see GET /routes")

    async def start(self) -> str:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        self.add_route("GET", "/routes", self._list_routes)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        try:
            await site.start()
        except OSError as exc:
            await self._runner.cleanup()
            raise UsageError(
                f"the control API cannot listen on {self.host}:{self.port}: {exc.strerror or exc}; "
                "choose another --control-port"
            ) from None
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://{self.host}:{port}"
        return self.url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _list_routes(self, request: web.Request) -> web.Response:
        return web.json_response([{"method": m, "path": p} for m, p in self.routes()])


def error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


async def json_body(request: web.Request) -> dict[str, Any]:
    if not request.can_read_body:
        return {}
    try:
        body = await request.json()
    except ValueError:
        raise UsageError("the request body is not JSON") from None
    if not isinstance(body, dict):
        raise UsageError("the request body must be a JSON object")
    return body
