"""A placeholder WDA on device port 8100: ``GET /status`` only, in WDA's envelope.

The virtual WDA (harness/sim/wda, another part) replaces it by registering its own server with
``phone.device_ports[8100] = pipe_to("127.0.0.1", port)``.
"""

from __future__ import annotations

from aiohttp import web

from harness.sim.phone import VirtualPhone


async def start_wda_stub(phone: VirtualPhone) -> tuple[web.AppRunner, int]:
    async def status(request: web.Request) -> web.Response:
        return web.json_response(
            {
                "value": {
                    "message": "WebDriverAgent is ready to accept commands",
                    "state": "success",
                    "os": {
                        "testmanagerdVersion": 65535,
                        "name": "iOS",
                        "sdkVersion": phone.ios_version,
                        "version": phone.ios_version,
                    },
                    "ios": {"ip": "127.0.0.1"},
                    "ready": True,
                    "build": {
                        "time": "Jan  1 2026 00:00:00",
                        "productBundleIdentifier": "com.facebook.WebDriverAgentRunner",
                    },
                },
                "sessionId": None,
            }
        )

    app = web.Application()
    app.router.add_get("/status", status)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, port
