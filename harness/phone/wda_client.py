"""facebook-wda, wrapped once: one base client per phone, one session, a deadline on every call.

The gaps this file closes (reference/wda.md §1.2, §1.4, §6):

* **No timeout over usbmux.** ``http+usbmux://`` sockets never get ``conn.timeout``, so a hung WDA
  hangs the test forever. Every call here runs in a watchdog thread with a deadline; a call that
  outlives it is a lab fault (``wda-timeout``). The stuck thread is left behind (it cannot be
  killed) and facebook-wda's per-host lock then blocks the next calls too, which time out as well:
  the phone is unusable either way, and the verdict says so.
* **Session recovery.** Clients returned by ``Client.session(bundle)`` share the parent's error
  callbacks, so on ``invalid session id`` they loop to ``RuntimeError("call depth exceed 10")``.
  Only the base client (``wda.Client(url)``) recovers: on that error it forgets its id and adopts
  whatever session ``/status`` reports (or creates one). So the harness only ever uses the base
  client, never holds a child, and launches apps with ``app_launch`` inside the adopted session.
* **USBClient never fails when WDA is down.** Readiness is checked with ``/status`` here.
* Transport errors (``wda.usbmux.exceptions.HTTPError``) are not ``WDAError`` subclasses; they
  become ``LabFault("wda-down")`` here.
* **JSON of another shape.** facebook-wda 1.5.4's ``_unsafe_httpdo`` turns undecodable bodies into
  ``WDAError`` but assumes the JSON is an object with ``value``: an array, a number or a missing key
  raises ``TypeError``/``AttributeError``/``KeyError`` from inside the package. Such an error raised
  in facebook-wda's own code is the server's answer, not a harness bug: ``LabFault("wda-error")``
  (tests/reliability/test_fuzz.py serves it random JSON).
* **WDA's own errors are the lab's.** facebook-wda raises ``WDARequestError`` for every error
  envelope (``{"value": {"error", "message"}}``, wda/__init__.py ``_unsafe_httpdo``) and
  ``WDAElementNotFoundError`` for its own waits. A home press that fails, an element WDA cannot
  act on, a passcode-locked phone WDA cannot unlock: none says anything about the app under test,
  so :meth:`WdaConnection.call` turns them into lab faults with their own tags
  (:func:`wda_fault`). Probes that expect an error (the alert API answering ``no such alert``, a
  stale element to look up again) opt in to the raw exception with ``passthrough=``.
* **Taps go to ``/wda/tap``.** facebook-wda's ``tap()`` catches any error and retries
  ``/wda/tap/0``, a route WDA 6.0 removed (CHANGELOG 6.0.0, 2024-01-31), so a real tap error
  surfaces as a misleading ``unknown command``; :meth:`WdaConnection.tap` posts the route once.

Real phone vs virtual lab: real WDA answers ``unknown error`` far more often (snapshots that time
out, XCTest failures) and cannot unlock a phone with a passcode ("Timed out while waiting until
the screen gets unlocked", XCUIDevice+FBHelpers.m ``fb_unlockScreen``); the virtual WDA answers
these only when told to (control route ``POST /phones/{udid}/wda/errors``), which is how
tests/cli checks that each ends as a lab fault with its tag.
"""

from __future__ import annotations

import os
import threading
import time
import traceback
from collections.abc import Callable
from typing import Any, TypeVar

import wda
from wda.usbmux.exceptions import HTTPError as WdaTransportError

from harness.errors import LabFault
from harness.lab_faults import (
    PASSCODE_LOCKED,
    WDA_DOWN,
    WDA_ELEMENT_STATE,
    WDA_ERROR,
    WDA_NO_ELEMENT,
    WDA_TIMEOUT,
    lab_fault,
)

T = TypeVar("T")
_WDA_PACKAGE = os.path.dirname(wda.__file__)
_SHAPE_ERRORS = (TypeError, AttributeError, KeyError, IndexError, ValueError)
UNLOCK_TIMEOUT = "Timed out while waiting until the screen gets unlocked"
"""WDA's message when ``/wda/unlock`` meets a passcode (XCUIDevice+FBHelpers.m fb_unlockScreen)."""

FIX_WDA = ("check that WebDriverAgent runs on the phone (`curl <url>/status`); `harness doctor` says how "
           "to start it (lab.yaml wda_runner: lets the harness keep it up), and keep the phone unlocked")


def wda_fault(phone: str, what: str, exc: wda.WDAError) -> LabFault:
    """The lab fault for one of WDA's own errors during ``what`` on ``phone``."""
    value = getattr(exc, "value", None)
    error = str(value.get("error", "")) if isinstance(value, dict) else ""
    message = str(value.get("message", "")) if isinstance(value, dict) else str(exc)
    if UNLOCK_TIMEOUT in message:
        tag = PASSCODE_LOCKED
    elif error == "invalid element state":
        tag = WDA_ELEMENT_STATE
    elif error == "no such element" or isinstance(exc, wda.WDAElementNotFoundError):
        tag = WDA_NO_ELEMENT
    else:
        tag = WDA_ERROR
    meaning, fix = lab_fault(tag).meaning, lab_fault(tag).fix
    said = f"{error}: {message}" if error else (message or type(exc).__name__)
    return LabFault(f"{phone}: {meaning} during {what} ({said[:300]}); fix: {fix}", tag=tag)


class WdaConnection:
    """The base facebook-wda client of one phone, with a deadline on every call."""

    def __init__(self, url: str, *, name: str = "", timeout: float = 30.0) -> None:
        self.url = url
        self.name = name or url
        self.timeout = timeout
        self.client = wda.Client(url)

    def call(
        self,
        what: str,
        fn: Callable[..., T],
        *args: Any,
        timeout: float | None = None,
        passthrough: tuple[type[BaseException], ...] = (),
        **kwargs: Any,
    ) -> T:
        """``fn(*args, **kwargs)`` under the watchdog; every failure becomes a lab fault.

        ``passthrough``: exception classes the caller handles itself (raised as they are), e.g.
        ``wda.WDARequestError`` for the alert API's ``no such alert``.
        """
        deadline = self.timeout if timeout is None else timeout
        box: dict[str, Any] = {}
        done = threading.Event()

        def run() -> None:
            try:
                box["value"] = fn(*args, **kwargs)
            except BaseException as exc:
                box["error"] = exc
            finally:
                done.set()

        threading.Thread(target=run, name=f"wda:{self.name}:{what}", daemon=True).start()
        if not done.wait(deadline):
            raise LabFault(
                f"{self.name}: WDA did not answer {what} within {deadline:.0f} s ({self.url}); {FIX_WDA}",
                tag=WDA_TIMEOUT,
            )
        if "error" in box:
            error = box["error"]
            if passthrough and isinstance(error, passthrough):
                raise error
            raise self._translate(what, error) from error
        return box["value"]

    def _translate(self, what: str, exc: BaseException) -> BaseException:
        if isinstance(exc, WdaTransportError):
            return LabFault(
                f"{self.name}: WDA unreachable during {what} ({self.url}): {exc}; {FIX_WDA}", tag=WDA_DOWN
            )
        if isinstance(exc, RuntimeError) and "call depth" in str(exc):
            return LabFault(f"{self.name}: WDA session recovery looped during {what}: {exc}", tag=WDA_ERROR)
        if isinstance(exc, wda.WDAError):
            return wda_fault(self.name, what, exc)
        if isinstance(exc, _SHAPE_ERRORS) and not isinstance(exc, wda.WDAError) and _raised_in_wda(exc):
            return LabFault(f"{self.name}: WDA answered {what} with JSON facebook-wda cannot read "
                            f"({type(exc).__name__}: {str(exc)[:200]}); is {self.url} WebDriverAgent?",
                            tag=WDA_ERROR)
        return exc

    # -- gestures --------------------------------------------------------------------------------

    def tap(self, x: float, y: float, *, passthrough: tuple[type[BaseException], ...] = ()) -> None:
        """``POST /session/:id/wda/tap`` at (x, y) points, once (no fallback to ``/wda/tap/0``)."""
        self.call(f"tap {x:.0f},{y:.0f}", self.client._session_http.post, "/wda/tap",
                  {"x": x, "y": y}, passthrough=passthrough)

    # -- session ---------------------------------------------------------------------------------

    def wait_ready(self, timeout: float = 60.0) -> dict[str, Any]:
        """``/status`` until it answers (USBClient's own check never fails); returns its value."""
        end = time.monotonic() + timeout
        last: BaseException | None = None
        while True:
            try:
                return self.call(
                    "status", self.client.status, timeout=min(10.0, max(1.0, end - time.monotonic()))
                )
            except LabFault as exc:
                last = exc
            if time.monotonic() >= end:
                raise LabFault(
                    f"{self.name}: WDA not ready within {timeout:.0f} s ({self.url}): {last}; {FIX_WDA}",
                    tag=WDA_DOWN,
                )
            time.sleep(0.5)

    def session_id(self) -> str:
        """The active session, adopted from ``/status``, or a new one with no app (never kills the app)."""
        return self.call("session", lambda: self.client.session_id)

    def adopt_session(self) -> tuple[str, bool]:
        """(session id, created): the session WDA already holds (``/status`` ``sessionId``) is
        adopted; a new one (no app, empty capabilities) is created only when WDA holds none.

        pymobiledevice3 #1825: a WDA started by ``developer dvt xcuitest`` (and, per the reporter,
        by ``xcodebuild test`` too) died when an external client (Appium) created a session, on
        iPadOS 26.4. Adopting what is there means a run never replaces a live session; whether
        the harness's own first ``POST /session {"capabilities": {}}`` is safe on a real phone is
        checked by the ``@pytest.mark.iphone`` test "WDA up and adopted without killing the runner"
        (tests/device/test_real_wda.py); the virtual WDA never dies of it.
        """
        status = self.call("status", self.client.status)
        current = status.get("sessionId") if isinstance(status, dict) else None
        if current:
            self.client.session_id = current
            return str(current), False
        self.client.session_id = None  # a cached id of a WDA that was restarted is gone with it
        sid = self.session_id()
        self.client.session_id = sid
        return sid, True

    def new_session(self) -> str:
        """Replace the session (WDA terminates the old session's tested app) and adopt the new id."""

        def create() -> str:
            child = self.client.session()  # a child client: read its id and drop it (callback bug)
            sid = child.session_id
            self.client.session_id = sid
            return sid

        return self.call("new session", create)

    def session_get(self, path: str) -> Any:
        """GET a session route through the base client (recovers an invalid session id)."""
        return self.call(f"GET {path}", self.client._session_http.get, path).value


def _raised_in_wda(exc: BaseException) -> bool:
    """Was ``exc`` raised by facebook-wda's own code (its innermost frame is in the package)?"""
    frames = traceback.extract_tb(exc.__traceback__)
    return bool(frames) and os.path.abspath(frames[-1].filename).startswith(_WDA_PACKAGE)
