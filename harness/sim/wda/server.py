"""The virtual WebDriverAgent of one phone: WDA's routes, envelopes and error strings over aiohttp.

Faithful to appium/WebDriverAgent v16.7.0 as reference/wda.md describes it: one session at a
time (a new session kills the old one and terminates its tested app), ``/wda/apps/launch`` only
activates an app that already runs (its arguments and environment are then ignored), element
references are cached per session and resolved again by what they matched (stale when nothing on
screen matches any more), finds run in the active application as WDA picks it
(:mod:`harness.sim.wda.active_app`; without a session: auto-detection), unknown routes answer
``unknown command``. A trailing ``/`` is stripped before routing (the client sends ``DELETE
/session/<sid>/``).

What a real phone's WDA does that the evidence leaves open is a variant of the phone
(``harness.sim.variants``): find/source latency, another client replacing the session, a passcode
that defeats ``/wda/unlock``, a tap outside the window, rows of a list not in the tree until
scrolled (``/wda/scroll`` and ``/wda/element/:uuid/scroll`` as ``FBElementCommands.m`` handleScroll).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import re
import traceback
import uuid
from collections.abc import Awaitable, Callable, Container
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from harness.sim import network
from harness.sim import variants as variants_mod
from harness.sim.springboard import SPRINGBOARD, SpringBoard, UIElement, UrlNotHandled
from harness.sim.springboard.model import DETECTION_POINT, SCROLL_TOUCH_PROPORTION
from harness.sim.springboard.render import render_png
from harness.sim.springboard.screens import HEIGHT, WIDTH
from harness.sim.wda import query
from harness.sim.wda.active_app import active_app, auto_detected
from harness.sim.wda.apphost import (
    NOT_RUNNING,
    RUNNING_BACKGROUND,
    RUNNING_BACKGROUND_SUSPENDED,
    RUNNING_FOREGROUND,
    AppHost,
)
from harness.sim.wda.errors import NO_SESSION, WdaError, invalid_argument, no_alert, stale
from harness.sim.wda.intruder import Intruder
from harness.sim.wda.latency import Latency

W3C_ELEMENT_KEY = "element-6066-11e4-a52e-4f735466cecf"
WDA_BUNDLE_ID = "com.facebook.WebDriverAgentRunner.xctrunner"
UNLOCK_TIMEOUT_S = 7.0
"""fb_unlockScreen: Home, 1 s, Home, 1 s, then up to FBScreenLockTimeout (5 s) for the unlock
(appium/WebDriverAgent v16.7.0 XCUIDevice+FBHelpers.m)."""

DEFAULT_SETTINGS: dict[str, Any] = {
    "defaultActiveApplication": "auto",
    "respectSystemAlerts": False,
    "defaultAlertAction": "",
    "acceptAlertButtonSelector": "",
    "dismissAlertButtonSelector": "",
    "shouldUseCompactResponses": True,
    "elementResponseAttributes": "type,label",
    "snapshotMaxDepth": 50,
    "useFirstMatch": False,
    "boundElementsByIndex": False,
    "reduceMotion": False,
    "screenshotQuality": 3,
    "mjpegServerFramerate": 10,
    "activeAppDetectionPoint": f"{DETECTION_POINT[0]:.2f},{DETECTION_POINT[1]:.2f}",
}
HID_POWER, HID_HOME, HID_VOLUME_UP, HID_VOLUME_DOWN = 0x30, 0x40, 0xE9, 0xEA


Signature = tuple[str, str, str, str, str]
"""What a cached element is found again by: (app, key or type, identifier, label, nth such)."""


@dataclass
class Session:
    id: str
    bundle_id: str | None
    settings: dict[str, Any] = field(default_factory=lambda: dict(DEFAULT_SETTINGS))
    should_terminate_app: bool = True
    elements: dict[str, UIElement] = field(default_factory=dict)
    signatures: dict[str, Signature] = field(default_factory=dict)
    _ids: dict[int, str] = field(default_factory=dict)

    def ref(self, element: UIElement, signature: Signature | None = None) -> dict[str, str]:
        uid = self._ids.get(id(element))
        if uid is None or self.elements.get(uid) is not element:
            uid = str(uuid.uuid4()).upper()
            self._ids[id(element)] = uid
            self.elements[uid] = element
            if signature is not None:
                self.signatures[uid] = signature
        return {W3C_ELEMENT_KEY: uid, "ELEMENT": uid}


@dataclass
class InjectedError:
    """An error WDA answers instead of running a route (a fault a test injects; real WDA answers
    these on its own: ``unknown error`` from XCTest, the unlock timeout of a passcode-locked phone)."""

    method: str | None
    route: str
    error: WdaError
    times: int
    """How many more requests get it; -1: until cleared."""
    regex: re.Pattern[str] = field(init=False)

    def __post_init__(self) -> None:
        self.regex = re.compile("^" + re.sub(r":(\w+)", r"[^/]+", self.route.rstrip("/")) + "$", re.I)

    def to_json(self) -> dict[str, Any]:
        return {"method": self.method, "route": self.route, "error": self.error.error,
                "message": self.error.message, "times": self.times}


@dataclass
class Request:
    params: dict[str, str]
    body: dict[str, Any]
    query: dict[str, str]
    session: Session | None


Handler = Callable[[Request], Awaitable[Any]]


@dataclass
class Route:
    method: str
    path: str
    scope: str  # "S" session only, "N" no session only, "B" both
    handler: Handler
    regex: re.Pattern[str] = field(init=False)

    def __post_init__(self) -> None:
        pattern = re.sub(r":(\w+)", r"(?P<\1>[^/]+)", self.path)
        self.regex = re.compile(f"^{pattern}$", re.I)


class WdaServer:
    """One phone's WDA. ``await start()`` binds a loopback port; ``url`` is then ``http://127.0.0.1:<port>``.

    ``log(message)`` (optional) receives a line per command, as WDA's own os_log does.
    """

    def __init__(
        self,
        springboard: SpringBoard,
        apps: AppHost,
        *,
        udid: str = "00008120-000000000000001E",
        device_name: str = "iPhone",
        ios_version: str = "17.5.1",
        installed: Container[str] | None = None,
        battery: Callable[[], tuple[float, int]] | None = None,
        screenshot_scale: int = 1,
        host: str = "127.0.0.1",
        port: int = 0,
        log: Callable[[str], None] | None = None,
        variants: dict[str, str] | None = None,
        seed: int = 0,
    ) -> None:
        self.springboard = springboard
        self.apps = apps
        self.udid = udid
        self.device_name = device_name
        self.ios_version = ios_version
        self.installed = installed
        self.battery = battery or (lambda: (0.87, 2))
        self.screenshot_scale = screenshot_scale
        self.host = host
        self.port = port
        self._log = log or (lambda message: None)
        self.session: Session | None = None
        self.process_arguments: dict[str, dict[str, Any]] = {}
        self.siri_requests: list[str] = []
        self.pasteboard = b""
        self.orientation = "PORTRAIT"
        self.internal_errors: list[str] = []
        """Tracebacks of the virtual WDA's own bugs (answered as ``unknown error``); tests keep it empty."""
        self.requests: list[tuple[str, str]] = []
        """Every request as (method, path): what the harness sent, for tests and ground truth."""
        self.injected: list[InjectedError] = []
        self._system_running: set[str] = {SPRINGBOARD, WDA_BUNDLE_ID}
        self._runner: web.AppRunner | None = None
        self._routes = self._route_table()
        springboard.is_running = lambda bundle: self.state_of(bundle) > NOT_RUNNING
        self.built_in = set(springboard.profile.system_apps) | {WDA_BUNDLE_ID}
        """Apps SpringBoard runs itself (the profile's system apps); every other bundle goes to the app
        host."""
        self.variants = dict(springboard.variants if variants is None else variants)
        self.latency = Latency.for_value(self.variants["wda_latency"], seed)
        self.latency_s: list[float] = []
        """Every delay drawn (finds and sources), for tests and the README's figures."""
        self.intruder: Intruder | None = None
        if self.variants["wda_session"] == "replaced":
            interval = float(variants_mod.params("wda_session", "replaced")["interval_s"])
            self.intruder = Intruder(interval, self._replaced_by_another_client,
                                     lambda: self.session is not None, seed)

    # -- lifecycle -------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def start(self) -> int:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        if self.intruder is not None:
            self.intruder.start()
        return self.port

    async def stop(self) -> None:
        if self.intruder is not None:
            self.intruder.stop()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # -- injected errors --------------------------------------------------------------------------

    def inject_error(self, route: str, error: str, message: str = "", *, method: str | None = None,
                     times: int = 1) -> InjectedError:
        """Answer ``error`` (a WDA error string) on ``route`` (a WDA route, ``:param`` allowed, with
        or without the ``/session/:id`` prefix) for the next ``times`` requests (-1: until cleared)."""
        injected = InjectedError(method.upper() if method else None, route,
                                 WdaError(error, message or f"injected {error}"), times)
        self.injected.append(injected)
        return injected

    def _injected(self, method: str, rest: str) -> WdaError | None:
        for inj in self.injected:
            if (inj.method is None or inj.method == method) and inj.regex.match(rest):
                if inj.times > 0:
                    inj.times -= 1
                    if inj.times == 0:
                        self.injected.remove(inj)
                return inj.error
        return None

    # -- routing and envelope --------------------------------------------------------------------

    def _route_table(self) -> list[Route]:
        r: list[tuple[str, str, str, Handler]] = [
            ("GET", "/status", "N", self.status),
            ("POST", "/session", "N", self.create_session),
            ("GET", "", "S", self.get_session),
            ("DELETE", "", "S", self.delete_session),
            ("GET", "/wda/healthcheck", "N", self.healthcheck),
            ("POST", "/wda/homescreen", "N", self.homescreen),
            ("POST", "/wda/lock", "B", self.lock),
            ("POST", "/wda/unlock", "B", self.unlock),
            ("GET", "/wda/locked", "B", self.locked),
            ("GET", "/wda/screen", "B", self.screen),
            ("GET", "/wda/activeAppInfo", "B", self.active_app_info),
            ("GET", "/wda/device/info", "B", self.device_info),
            ("POST", "/wda/setPasteboard", "B", self.set_pasteboard),
            ("POST", "/wda/getPasteboard", "B", self.get_pasteboard),
            ("GET", "/wda/batteryInfo", "S", self.battery_info),
            ("POST", "/wda/apps/launch", "S", self.app_launch),
            ("POST", "/wda/apps/activate", "S", self.app_activate),
            ("POST", "/wda/apps/terminate", "S", self.app_terminate),
            ("POST", "/wda/apps/state", "S", self.app_state),
            ("GET", "/wda/apps/list", "S", self.app_list),
            ("POST", "/wda/apps/launchUnattached", "N", self.app_launch_unattached),
            ("POST", "/url", "S", self.open_url),
            ("GET", "/appium/settings", "S", self.get_settings),
            ("POST", "/appium/settings", "S", self.set_settings),
            ("POST", "/wda/pressButton", "S", self.press_button),
            ("POST", "/wda/performIoHidEvent", "S", self.io_hid_event),
            ("POST", "/wda/siri/activate", "S", self.siri),
            ("POST", "/wda/deactivateApp", "S", self.deactivate_app),
            ("GET", "/alert/text", "B", self.alert_text),
            ("POST", "/alert/text", "S", self.alert_set_text),
            ("POST", "/alert/accept", "B", self.alert_accept),
            ("POST", "/alert/dismiss", "B", self.alert_dismiss),
            ("GET", "/wda/alert/buttons", "S", self.alert_buttons),
            ("POST", "/elements", "S", self.find_elements),
            ("POST", "/element", "S", self.find_element),
            ("POST", "/element/:uuid/elements", "S", self.find_child_elements),
            ("POST", "/element/:uuid/element", "S", self.find_child_element),
            ("GET", "/element/:uuid/enabled", "S", self.el_enabled),
            ("GET", "/element/:uuid/rect", "S", self.el_rect),
            ("GET", "/element/:uuid/text", "S", self.el_text),
            ("GET", "/element/:uuid/displayed", "S", self.el_displayed),
            ("GET", "/element/:uuid/selected", "S", self.el_selected),
            ("GET", "/element/:uuid/name", "S", self.el_name),
            ("GET", "/element/:uuid/attribute/:name", "S", self.el_attribute),
            ("GET", "/wda/element/:uuid/accessible", "S", self.el_accessible),
            ("GET", "/wda/element/:uuid/accessibilityContainer", "S", self.el_container),
            ("POST", "/element/:uuid/click", "S", self.el_click),
            ("POST", "/element/:uuid/value", "S", self.el_value),
            ("POST", "/element/:uuid/clear", "S", self.el_clear),
            ("POST", "/wda/element/:uuid/touchAndHold", "S", self.el_click),
            ("POST", "/wda/element/:uuid/doubleTap", "S", self.el_click),
            ("POST", "/wda/element/:uuid/scroll", "S", self.scroll),
            ("POST", "/wda/scroll", "S", self.scroll),
            ("POST", "/wda/element/:uuid/scrollTo", "S", self.el_scroll_to),
            ("POST", "/wda/element/:uuid/swipe", "S", self.el_noop),
            ("POST", "/wda/element/:uuid/pinch", "S", self.el_noop),
            ("POST", "/wda/tap", "S", self.tap),
            ("POST", "/wda/doubleTap", "S", self.tap),
            ("POST", "/wda/touchAndHold", "S", self.tap),
            ("POST", "/wda/dragfromtoforduration", "S", self.drag),
            ("POST", "/wda/pressAndDragWithVelocity", "S", self.drag),
            ("POST", "/wda/keys", "S", self.keys),
            ("GET", "/window/size", "B", self.window_size),
            ("GET", "/screenshot", "B", self.screenshot),
            ("GET", "/source", "B", self.source),
            ("GET", "/wda/accessibleSource", "B", self.accessible_source),
            ("GET", "/orientation", "B", self.get_orientation),
            ("POST", "/orientation", "B", self.set_orientation),
        ]
        return [Route(m, p, s, h) for m, p, s, h in r]

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        path = request.path.rstrip("/") or "/"
        self.requests.append((request.method, path))
        if request.method == "GET" and path == "/health":
            return web.Response(text="I-AM-ALIVE", content_type="text/html")
        try:
            raw = await request.read()
            try:
                body = json.loads(raw) if raw.strip() else {}
            except ValueError:
                raise invalid_argument(f"The request body is not valid JSON: {raw[:60]!r}") from None
            if not isinstance(body, dict):
                raise invalid_argument("The request body must be a JSON object")
            value = await self._route(request.method, path, body, dict(request.query))
            return self._reply(200, value)
        except WdaError as err:
            self._log(f"{request.method} {path} -> {err.error}: {err.message}")
            return self._reply(err.http_status, {"error": err.error, "message": err.message, "traceback": ""})
        except Exception as exc:  # a bug of the virtual phone: WDA's exception handler answers unknown error
            self.internal_errors.append(f"{request.method} {path}: {traceback.format_exc()}")
            self._log(f"{request.method} {path} -> internal error {exc!r}")
            return self._reply(500, {"error": "unknown error", "message": repr(exc), "traceback": ""})

    async def _route(self, method: str, path: str, body: dict[str, Any], q: dict[str, str]) -> Any:
        m = re.match(r"^/session/([^/]+)(/.*)?$", path, re.I)
        if m:
            sid, rest, scopes = m.group(1), m.group(2) or "", ("S", "B")
        else:
            sid, rest, scopes = None, path, ("N", "B")
        injected = self._injected(method, rest)
        if injected is not None:
            raise injected
        for route in self._routes:
            if route.scope not in scopes or route.method != method:
                continue
            match = route.regex.match(rest)
            if not match:
                continue
            session = None
            if sid is not None:
                if self.session is None or self.session.id != sid:
                    raise WdaError("invalid session id", NO_SESSION)
                session = self.session
            return await route.handler(Request(match.groupdict(), body, q, session))
        params = {**q, **body}
        raise WdaError("unknown command", f"Unhandled endpoint: {path} with parameters {params}")

    def _reply(self, status: int, value: Any) -> web.Response:
        payload = {"value": value, "sessionId": self.session.id if self.session else None}
        return web.Response(
            status=status,
            text=json.dumps(payload, indent=2, ensure_ascii=False),
            content_type="application/json",
            charset="UTF-8",
        )

    # -- status and sessions ---------------------------------------------------------------------

    def phone_ip(self) -> str:
        """``ios.ip`` of /status: the phone's own address as the lab host reaches it (phone_network)."""
        if self.variants.get("phone_network") == network.LAN_ONLY:
            return network.lan_address() or "127.0.0.1"
        return "127.0.0.1"

    async def _replaced_by_another_client(self) -> None:
        """Another client's ``POST /session`` (no bundle): the active session dies, settings reset."""
        old = self.session
        await self._kill_session()
        self.session = Session(str(uuid.uuid4()).upper(), None)
        self._log(f"session {old.id if old else None} replaced by another client's {self.session.id}")

    async def status(self, req: Request) -> Any:
        return {
            "message": "WebDriverAgent is ready to accept commands",
            "state": "success",
            "os": {
                "testmanagerdVersion": 65535,
                "name": "iOS",
                "sdkVersion": self.ios_version,
                "version": self.ios_version,
            },
            "ios": {"ip": self.phone_ip()},
            "ready": True,
            "build": {
                "time": "Jan  1 2026 00:00:00",
                "productBundleIdentifier": "com.facebook.WebDriverAgentRunner",
            },
            "device": "iphone",
        }

    async def create_session(self, req: Request) -> Any:
        caps = req.body.get("capabilities")
        if not isinstance(caps, dict):
            raise WdaError("session not created", "'capabilities' is mandatory to create a new session")
        merged: dict[str, Any] = {}
        always = caps.get("alwaysMatch") or {}
        first = (caps.get("firstMatch") or [{}])[0] or {}
        for k, v in {**first, **always}.items():
            merged[k.removeprefix("appium:")] = v
        await self._kill_session()
        bundle = merged.get("bundleId") or None
        session = Session(str(uuid.uuid4()).upper(), bundle)
        if "shouldTerminateApp" in merged:
            session.should_terminate_app = bool(merged["shouldTerminateApp"])
        if "defaultAlertAction" in merged:
            session.settings["defaultAlertAction"] = merged["defaultAlertAction"]
        if bundle:
            self._require_installed(bundle, created=True)
            if merged.get("forceAppLaunch", True) and self.state_of(bundle) > NOT_RUNNING:
                await self._terminate(bundle)
            await self._launch(
                bundle, list(merged.get("arguments") or []), dict(merged.get("environment") or {})
            )
        self.session = session
        self._log(f"session {session.id} created (bundle {bundle})")
        return {"sessionId": session.id, "capabilities": {"device": "iphone", "sdkVersion": self.ios_version}}

    async def _kill_session(self) -> None:
        old, self.session = self.session, None
        if old is None:
            return
        bundle = old.bundle_id
        if (
            bundle
            and old.should_terminate_app
            and bundle != SPRINGBOARD
            and self.state_of(bundle) > NOT_RUNNING
        ):
            await self._terminate(bundle)

    async def get_session(self, req: Request) -> Any:
        assert req.session is not None
        return {
            "sessionId": req.session.id,
            "capabilities": {
                "device": "iphone",
                "browserName": self._name(req.session.bundle_id),
                "sdkVersion": self.ios_version,
            },
        }

    async def delete_session(self, req: Request) -> Any:
        await self._kill_session()
        return None

    # -- apps ------------------------------------------------------------------------------------

    def _name(self, bundle: str | None) -> str:
        return self.springboard.display_name(bundle) if bundle else ""

    def _require_installed(self, bundle: str, created: bool = False) -> None:
        if self.installed is not None and bundle not in self.installed and bundle not in self.built_in:
            raise WdaError(
                "session not created" if created else "unknown error",
                f"The application under test with bundle id '{bundle}' is not installed on the device",
            )

    def state_of(self, bundle: str) -> int:
        """XCUIApplicationState: SpringBoard is always in the foreground (inference: XCTest's system
        app); a system app is while it is in front or shows a full-screen window, and runs in the
        background while another of its windows is up (a banner, an overlay)."""
        sb = self.springboard
        if bundle in self.built_in or any(layer.bundle_id == bundle for layer in sb.layers()):
            if bundle == SPRINGBOARD:
                return RUNNING_FOREGROUND
            if sb.foreground == bundle or sb.foreground_full_screen(bundle):
                return RUNNING_FOREGROUND
            if any(layer.bundle_id == bundle for layer in sb.layers()):
                return RUNNING_BACKGROUND
            return RUNNING_BACKGROUND if bundle in self._system_running else NOT_RUNNING
        st = self.apps.state(bundle)
        if st <= NOT_RUNNING:
            return NOT_RUNNING
        if st == RUNNING_BACKGROUND_SUSPENDED:
            return st
        return RUNNING_FOREGROUND if sb.foreground == bundle else RUNNING_BACKGROUND

    def _pid(self, bundle: str) -> int:
        if bundle in self.built_in:
            return 40 + sum(map(ord, bundle)) % 400
        return self.apps.pid(bundle) or 0

    async def _launch(self, bundle: str, arguments: list[str], environment: dict[str, str]) -> None:
        """Launch, or only activate when it already runs (its arguments and environment are then ignored)."""
        self._require_installed(bundle)
        if self.state_of(bundle) > NOT_RUNNING:
            self._log(f"activate {bundle} (already running: launch arguments ignored)")
        elif bundle in self.built_in:
            self._system_running.add(bundle)
            self.process_arguments[bundle] = {"args": arguments, "env": environment}
        else:
            pid = await self.apps.launch(bundle, arguments, environment)
            self.process_arguments[bundle] = {"args": arguments, "env": environment}
            self._log(f"launched {bundle} pid {pid}")
        if bundle != SPRINGBOARD:
            self.springboard.bring_to_front(bundle)
        else:
            self.springboard.press_home()

    async def _terminate(self, bundle: str) -> bool:
        if bundle in self.built_in:
            was = bundle in self._system_running and bundle != SPRINGBOARD
            if bundle != SPRINGBOARD:
                self._system_running.discard(bundle)
        else:
            was = await self.apps.terminate(bundle)
        self.process_arguments.pop(bundle, None)
        self.springboard.app_terminated(bundle)
        return was

    def _bundle(self, req: Request) -> str:
        bundle = req.body.get("bundleId")
        if not isinstance(bundle, str) or not bundle:
            raise invalid_argument("'bundleId' argument must be set")
        return bundle

    async def app_launch(self, req: Request) -> Any:
        args = req.body.get("arguments") or []
        env = req.body.get("environment") or {}
        if not isinstance(args, list) or not isinstance(env, dict):
            raise invalid_argument("'arguments' must be an array and 'environment' an object")
        await self._launch(
            self._bundle(req), [str(a) for a in args], {str(k): str(v) for k, v in env.items()}
        )
        return None

    async def app_activate(self, req: Request) -> Any:
        bundle = self._bundle(req)
        if self.state_of(bundle) <= NOT_RUNNING:
            raise WdaError("unknown error", f"The application '{bundle}' is not running")
        await self._launch(bundle, [], {})
        return None

    async def app_launch_unattached(self, req: Request) -> Any:
        await self._launch(self._bundle(req), [], {})
        return None

    async def app_terminate(self, req: Request) -> Any:
        bundle = self._bundle(req)
        if self.state_of(bundle) <= NOT_RUNNING:
            return False
        return await self._terminate(bundle)

    async def app_state(self, req: Request) -> Any:
        return self.state_of(self._bundle(req))

    async def app_list(self, req: Request) -> Any:
        running = [b for b in self.process_arguments if self.state_of(b) > NOT_RUNNING]
        out = [{"pid": self._pid(SPRINGBOARD), "bundleId": SPRINGBOARD}]
        out += [{"pid": self._pid(b), "bundleId": b} for b in running]
        for layer in self.springboard.ax_layers():
            if layer.bundle_id not in {o["bundleId"] for o in out}:
                out.append({"pid": self._pid(layer.bundle_id), "bundleId": layer.bundle_id})
        return out

    async def active_app_info(self, req: Request) -> Any:
        bundle = self._active_bundle(req.session)
        pa = self.process_arguments.get(bundle, {"args": [], "env": {}})
        return {"pid": self._pid(bundle), "bundleId": bundle, "name": "", "processArguments": pa}

    # -- device ----------------------------------------------------------------------------------

    async def healthcheck(self, req: Request) -> Any:
        self.springboard.press_home()  # WDA's health check presses Home (XCUIDevice+FBHealthCheck.m)
        return None

    async def homescreen(self, req: Request) -> Any:
        self.springboard.press_home()
        return None

    async def lock(self, req: Request) -> Any:
        self.springboard.lock()
        return None

    async def unlock(self, req: Request) -> Any:
        """fb_unlockScreen presses Home twice and waits for the lock state: a passcode defeats it."""
        if self.springboard.locked and self.springboard.passcode:
            self._log("unlock: Home twice; the passcode pad shows")
            await asyncio.sleep(UNLOCK_TIMEOUT_S)
            raise WdaError("unknown error", "Timed out while waiting until the screen gets unlocked")
        self.springboard.unlock()
        return None

    async def locked(self, req: Request) -> Any:
        return self.springboard.locked

    async def screen(self, req: Request) -> Any:
        return {
            "screenSize": {"width": WIDTH, "height": HEIGHT},
            "statusBarSize": {"width": WIDTH, "height": 54},
            "scale": 3,
        }

    async def device_info(self, req: Request) -> Any:
        return {
            "currentLocale": "en_US",
            "timeZone": "Etc/UTC",
            "name": self.device_name,
            "model": "iPhone",
            "uuid": self.udid,
            "userInterfaceIdiom": 0,
            "userInterfaceStyle": "light",
            "isSimulator": False,
            "thermalState": 0,
        }

    async def battery_info(self, req: Request) -> Any:
        level, state = self.battery()
        return {"level": level, "state": state}

    async def set_pasteboard(self, req: Request) -> Any:
        content = req.body.get("content")
        if not isinstance(content, str):
            raise invalid_argument("'content' must be a base64 string")
        try:
            self.pasteboard = base64.b64decode(content)
        except ValueError:
            raise invalid_argument("'content' is not valid base64") from None
        return None

    async def get_pasteboard(self, req: Request) -> Any:
        return base64.b64encode(self.pasteboard).decode()

    async def press_button(self, req: Request) -> Any:
        name = str(req.body.get("name", "")).lower()
        if name == "home":
            self.springboard.press_home()
        elif name not in ("volumeup", "volumedown"):
            raise WdaError(
                "unknown error",
                f"The button '{req.body.get('name')}' is not supported. The device "
                "under test only supports the following buttons: home, volumeDown, volumeUp",
            )
        self._log(f"pressButton {name}")
        return None

    async def io_hid_event(self, req: Request) -> Any:
        try:
            page, usage = int(req.body["page"]), int(req.body["usage"])
            float(req.body.get("duration", 0.005))
        except (KeyError, TypeError, ValueError):
            raise invalid_argument("'page', 'usage' and 'duration' must be numbers") from None
        if page == 0x0C and usage == HID_POWER:
            self.springboard.press_power()
        elif page == 0x0C and usage == HID_HOME:
            self.springboard.press_home()
        self._log(f"performIoHidEvent page {page} usage {usage:#x}")
        return None

    async def siri(self, req: Request) -> Any:
        text = req.body.get("text")
        if not isinstance(text, str) or not text:
            raise invalid_argument("'text' argument must be set")
        if not self.springboard.siri_available:
            raise WdaError("unknown error", "Siri service is not available on the device under test")
        self.siri_requests.append(text)
        self.springboard.siri(text)
        return None

    async def deactivate_app(self, req: Request) -> Any:
        duration = float(req.body.get("duration", 3.0))
        bundle = self.springboard.foreground
        self.springboard.press_home()
        await asyncio.sleep(max(0.0, duration))
        if bundle != SPRINGBOARD and self.state_of(bundle) > NOT_RUNNING:
            self.springboard.bring_to_front(bundle)
        return None

    async def open_url(self, req: Request) -> Any:
        url = req.body.get("url")
        if not isinstance(url, str) or not url:
            raise invalid_argument("'url' argument must be set")
        try:
            self.springboard.open_url(url)
        except (UrlNotHandled, ValueError):
            raise WdaError(
                "unknown error",
                f"The URL '{url}' cannot be opened: no application is registered to handle it",
            ) from None
        return None

    async def get_settings(self, req: Request) -> Any:
        assert req.session is not None
        return dict(req.session.settings)

    async def set_settings(self, req: Request) -> Any:
        assert req.session is not None
        settings = req.body.get("settings")
        if not isinstance(settings, dict):
            raise invalid_argument("'settings' must be an object")
        req.session.settings.update(settings)
        return dict(req.session.settings)

    async def get_orientation(self, req: Request) -> Any:
        return self.orientation

    async def set_orientation(self, req: Request) -> Any:
        value = str(req.body.get("orientation", "")).upper()
        if value not in (
            "PORTRAIT",
            "LANDSCAPE",
            "UIA_DEVICE_ORIENTATION_LANDSCAPERIGHT",
            "UIA_DEVICE_ORIENTATION_PORTRAIT_UPSIDEDOWN",
        ):
            raise WdaError("unsupported operation", f"Unable to perform orientation change to {value}")
        self.orientation = "PORTRAIT" if "PORTRAIT" in value else "LANDSCAPE"
        return None

    # -- screen ----------------------------------------------------------------------------------

    def _active_bundle(self, session: Session | None) -> str:
        """WDA's active application for ``session`` (None: a no-session route: auto-detection)."""
        if session is None:
            return auto_detected(self.springboard)
        pref = session.settings.get("defaultActiveApplication")
        return active_app(
            self.springboard,
            self.state_of,
            wanted=str(pref) if pref and pref != "auto" else None,
            tested=session.bundle_id,
            respect_system_alerts=bool(session.settings.get("respectSystemAlerts")),
        )

    def _active_tree(self, session: Session | None) -> UIElement:
        return self.springboard.app_tree(self._active_bundle(session))

    async def window_size(self, req: Request) -> Any:
        return {"width": WIDTH, "height": HEIGHT}

    async def screenshot(self, req: Request) -> Any:
        png = render_png(self.springboard.layers(), self.screenshot_scale)
        return base64.b64encode(png).decode()

    async def source(self, req: Request) -> Any:
        await self._delay(self.latency.for_source())
        root = self._active_tree(req.session)
        fmt = req.query.get("format", "xml").lower()
        if fmt == "json":
            return root.to_json()
        if fmt == "description":
            return "\n".join(f"{e.wd_type}, {{{e.frame}}}, name: {e.name!r}" for e in root.walk())
        if fmt != "xml":
            raise invalid_argument(
                f"Unknown source format '{fmt}'. Only xml, json and description are supported"
            )
        return f'<?xml version="1.0" encoding="UTF-8"?>\n<AppiumAUT>\n{root.to_xml(1)}\n</AppiumAUT>'

    async def accessible_source(self, req: Request) -> Any:
        await self._delay(self.latency.for_source())
        return self._active_tree(req.session).to_json()

    # -- alerts ----------------------------------------------------------------------------------

    def _alert(self) -> UIElement:
        alert = self.springboard.alert()
        if alert is None:
            raise no_alert()
        return alert

    @staticmethod
    def _buttons(alert: UIElement) -> list[UIElement]:
        return [e for e in alert.descendants() if e.type == "Button"]

    async def alert_text(self, req: Request) -> Any:
        alert = self._alert()
        return alert.label or " ".join(e.label for e in alert.descendants() if e.type == "StaticText")

    async def alert_set_text(self, req: Request) -> Any:
        alert = self._alert()
        fields = [e for e in alert.descendants() if e.type in ("TextField", "SecureTextField")]
        if not fields:
            raise WdaError("invalid element state", "The alert has no text field to type into")
        value = req.body.get("value")
        fields[0].value = "".join(value) if isinstance(value, list) else str(value)
        return None

    def _press_alert_button(self, name: Any, default_last: bool) -> None:
        alert = self._alert()
        buttons = self._buttons(alert)
        if name:
            target = next((b for b in buttons if b.label == name), None)
            if target is None:
                raise WdaError(
                    "invalid element state",
                    f"Failed to find button with label '{name}' for alert: {alert.label}",
                )
        elif not buttons:
            raise WdaError("invalid element state", f"The alert '{alert.label}' has no buttons")
        else:
            last = default_last if alert.type == "Alert" else not default_last
            target = buttons[-1] if last else buttons[0]
        self.springboard.perform(target.action or "")

    async def alert_accept(self, req: Request) -> Any:
        self._press_alert_button(req.body.get("name"), default_last=True)
        return None

    async def alert_dismiss(self, req: Request) -> Any:
        self._press_alert_button(req.body.get("name"), default_last=False)
        return None

    async def alert_buttons(self, req: Request) -> Any:
        return [b.label for b in self._buttons(self._alert())]

    # -- elements --------------------------------------------------------------------------------

    def _locator(self, req: Request) -> tuple[str, str]:
        using, value = req.body.get("using"), req.body.get("value")
        if not isinstance(using, str) or not isinstance(value, str):
            raise invalid_argument("'using' and 'value' are required")
        return using, value

    def _signature(self, element: UIElement) -> Signature | None:
        """What finds ``element`` again after the screen is rebuilt (XCUIElement re-resolves its query)."""
        for layer in self.springboard.ax_layers():
            same: list[UIElement] = []
            wanted = (element.key or element.type, element.identifier, element.label)
            for e in layer.root.walk():
                if (e.key or e.type, e.identifier, e.label) == wanted:
                    same.append(e)
                if e is element:
                    return (layer.bundle_id, e.key or e.type, e.identifier, e.label, str(len(same) - 1))
        return None

    def _resolve(self, signature: Signature) -> UIElement | None:
        bundle, kind, identifier, label, nth = signature
        same = [e for layer in self.springboard.ax_layers() if layer.bundle_id == bundle
                for e in layer.root.walk()
                if (e.key or e.type, e.identifier, e.label) == (kind, identifier, label)]
        return same[int(nth)] if int(nth) < len(same) else None

    def _element(self, req: Request) -> UIElement:
        assert req.session is not None
        uid = req.params["uuid"]
        element = req.session.elements.get(uid)
        if element is not None and self.springboard.on_screen(element):
            return element
        signature = req.session.signatures.get(uid)
        again = self._resolve(signature) if signature is not None else None
        if again is None:
            raise stale(uid)
        req.session.elements[uid] = again
        req.session._ids[id(again)] = uid
        return again

    def _refs(self, session: Session, found: list[UIElement]) -> list[dict[str, str]]:
        return [session.ref(e, self._signature(e)) for e in found]

    async def _delay(self, seconds: float) -> None:
        if seconds > 0:
            self.latency_s.append(seconds)
            await asyncio.sleep(seconds)

    async def find_elements(self, req: Request) -> Any:
        assert req.session is not None
        await self._delay(self.latency.for_find())
        found = query.find(self._active_tree(req.session), *self._locator(req))
        return self._refs(req.session, found)

    async def find_element(self, req: Request) -> Any:
        assert req.session is not None
        using, value = self._locator(req)
        await self._delay(self.latency.for_find())
        found = query.find(self._active_tree(req.session), using, value)
        if not found:
            raise WdaError("no such element", f"unable to find an element using '{using}', value '{value}'")
        return self._refs(req.session, found[:1])[0]

    async def find_child_elements(self, req: Request) -> Any:
        assert req.session is not None
        await self._delay(self.latency.for_find())
        found = query.find(self._element(req), *self._locator(req))
        return self._refs(req.session, found)

    async def find_child_element(self, req: Request) -> Any:
        found = await self.find_child_elements(req)
        if not found:
            raise WdaError("no such element", "unable to find an element")
        return found[0]

    async def el_enabled(self, req: Request) -> Any:
        return self._element(req).enabled

    async def el_rect(self, req: Request) -> Any:
        return self._element(req).rect

    async def el_text(self, req: Request) -> Any:
        e = self._element(req)
        return e.label or e.value or ""

    async def el_displayed(self, req: Request) -> Any:
        return self._element(req).visible

    async def el_selected(self, req: Request) -> Any:
        self._element(req)
        return False

    async def el_name(self, req: Request) -> Any:
        return self._element(req).wd_type  # WDA returns the type here (FBElementCommands handleGetName)

    async def el_attribute(self, req: Request) -> Any:
        e = self._element(req)
        with contextlib.suppress(KeyError):
            return e.attribute(req.params["name"])
        return None

    async def el_accessible(self, req: Request) -> Any:
        return self._element(req).accessible

    async def el_container(self, req: Request) -> Any:
        self._element(req)
        return False

    async def el_click(self, req: Request) -> Any:
        e = self._element(req)
        if not e.visible:
            raise WdaError("element not visible", f"The element '{e.name}' is not visible on the screen")
        if e.action:
            self.springboard.perform(e.action)
        else:
            x, y, w, h = e.frame
            self.springboard.tap(x + w / 2, y + h / 2)
        return None

    async def el_value(self, req: Request) -> Any:
        e = self._element(req)
        value = req.body.get("value", req.body.get("text"))
        if value is None:
            raise invalid_argument("'value' or 'text' must be set")
        e.value = "".join(value) if isinstance(value, list) else str(value)
        return None

    async def el_clear(self, req: Request) -> Any:
        self._element(req).value = ""
        return None

    async def el_noop(self, req: Request) -> Any:
        self._element(req)
        return None

    # -- scrolling (FBElementCommands.m handleScroll / handleScrollTo) ----------------------------

    def _scroll_to_visible(self, element: UIElement) -> None:
        """handleScrollElementToVisible: an element that is not in the tree cannot be scrolled to."""
        if not self.springboard.on_screen(element):
            raise WdaError("element not visible", "Can't scroll to element that does not exist")
        if not self.springboard.scroll_into_view(element) and not element.visible:
            raise WdaError("invalid element state",
                           "Failed to find scrollable visible parent with 2 visible children")

    def _scroll_view_for(self, target: UIElement) -> UIElement | None:
        if target.scroll:
            return target
        inside = [e for e in target.descendants() if e.scroll]
        if inside:
            return inside[0]
        x, y, w, h = target.frame
        return self.springboard.scroll_view_at(x + w / 2, y + h / 2)

    async def scroll(self, req: Request) -> Any:
        """POST /wda/scroll (the active app) or /wda/element/:uuid/scroll: ``name`` (a descendant by
        identifier), ``direction`` (+ ``distance``), ``predicateString`` (a descendant) or ``toVisible``."""
        target = self._element(req) if "uuid" in req.params else self._active_tree(req.session)
        b = req.body
        if b.get("name"):
            found = query.find(target, "id", str(b["name"]))
            if not found:
                raise WdaError("no such element", f"'{b['name']}' identifier didn't match any elements")
            self._scroll_to_visible(found[-1])
        elif b.get("direction"):
            direction = str(b["direction"])
            distance = float(b.get("distance", 1.0))
            view = self._scroll_view_for(target)
            if view is not None and direction in ("up", "down"):
                dy = distance * view.frame[3] * SCROLL_TOUCH_PROPORTION
                self.springboard.scroll_by(view, dy if direction == "down" else -dy)
        elif b.get("predicateString"):
            found = query.find(target, "predicate string", str(b["predicateString"]))
            if not found:
                raise WdaError("no such element",
                               f"'{b['predicateString']}' predicate didn't match any elements")
            self._scroll_to_visible(found[-1])
        elif "toVisible" in b:
            self._scroll_to_visible(target)
        else:
            raise invalid_argument("Unsupported scroll type")
        self._log(f"scroll {json.dumps(b, sort_keys=True)}")
        return None

    async def el_scroll_to(self, req: Request) -> Any:
        self._scroll_to_visible(self._element(req))
        return None

    # -- touches ---------------------------------------------------------------------------------

    @staticmethod
    def _number(body: dict[str, Any], key: str) -> float:
        try:
            return float(body[key])
        except (KeyError, TypeError, ValueError):
            raise invalid_argument(f"'{key}' must be a number") from None

    async def tap(self, req: Request) -> Any:
        has_x, has_y = "x" in req.body, "y" in req.body
        if has_x != has_y:
            raise invalid_argument("Both x and y coordinates must be provided")
        x, y = (
            (self._number(req.body, "x"), self._number(req.body, "y")) if has_x else (WIDTH / 2, HEIGHT / 2)
        )
        if not (0 <= x < WIDTH and 0 <= y < HEIGHT):
            # a coordinate outside the window (the tap_outside_window variant; wording unverified)
            self._log(f"tap {x:.0f},{y:.0f} outside the {WIDTH}x{HEIGHT} window")
            if self.variants["tap_outside_window"] == "error":
                raise WdaError("unknown error", f"The point ({x:.0f}, {y:.0f}) is outside of the application "
                                                f"window bounds ({WIDTH}x{HEIGHT}): it cannot be tapped")
            return None
        self.springboard.tap(x, y)
        self._log(f"tap {x:.0f},{y:.0f}")
        return None

    async def drag(self, req: Request) -> Any:
        b = req.body
        x1, y1, x2, y2 = (self._number(b, k) for k in ("fromX", "fromY", "toX", "toY"))
        self.springboard.drag(x1, y1, x2, y2)
        self._log(f"drag {x1:.0f},{y1:.0f} -> {x2:.0f},{y2:.0f}")
        return None

    async def keys(self, req: Request) -> Any:
        value = req.body.get("value")
        if not isinstance(value, list):
            raise invalid_argument("'value' must be an array of strings")
        self._log(f"keys {len(''.join(map(str, value)))} chars")
        return None
