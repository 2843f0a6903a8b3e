"""What the harness reaches into, in one place: a version bump that moves it fails here, loudly.

pymobiledevice3 and facebook-wda are pinned to exact versions (pyproject.toml). The harness uses
their public calls and some internals (the os_trace relay framing, the exception classes of the
fault table, the tunnel classes, facebook-wda's session plumbing). This test:

* imports every ``from pymobiledevice3... import NAME`` in the harness (found by reading the source,
  so a new import is covered without editing this file) and every ``x.NAME`` of the fault table;
* checks each call the harness makes has the parameters it passes (``inspect.signature``), and is
  a coroutine where the harness awaits it;
* checks the facebook-wda methods and attributes the harness calls.

When it fails after a bump: read the new version's code for that name, adapt the one module that
uses it (the failure names it), and move the pin.
"""

from __future__ import annotations

import ast
import importlib
import inspect
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
HARNESS_SOURCES = [p for p in (ROOT / "harness").rglob("*.py") if "sim" not in p.relative_to(ROOT).parts]
HARNESS_SOURCES += list((ROOT / "fixtures").rglob("*.py")) + list((ROOT / "bench").rglob("*.py"))


def test_the_pins_match_what_is_installed():
    text = (ROOT / "pyproject.toml").read_text()
    for dist, version in (("pymobiledevice3", "11.45.0"), ("facebook-wda", "1.5.4")):
        assert f'"{dist}=={version}"' in text, f"{dist} must be pinned to an exact version"
        installed = metadata.version(dist)
        assert installed == version, f"installed {dist} {installed}, pinned {version}"


def _imports(package: str) -> set[tuple[str, str]]:
    """(module, name) of every ``from <package>... import name`` / ``import <package>...`` in the harness."""
    found: set[tuple[str, str]] = set()
    for path in HARNESS_SOURCES:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == package:
                found.update((node.module, alias.name) for alias in node.names)
            elif isinstance(node, ast.Import):
                found.update((alias.name, "") for alias in node.names if alias.name.split(".")[0] == package)
    return found


def test_every_pymobiledevice3_import_of_the_harness_resolves():
    found = _imports("pymobiledevice3")
    assert len(found) >= 25, sorted(found)  # the source was read
    for module, name in sorted(found):
        mod = importlib.import_module(module)
        if name:
            assert hasattr(mod, name) or importlib.util.find_spec(f"{module}.{name}"), f"{module}.{name}"


def test_every_exception_of_the_fault_table_exists_with_its_base():
    from pymobiledevice3 import exceptions as x

    source = (ROOT / "harness" / "device" / "errors.py").read_text()
    names = {n.attr for n in ast.walk(ast.parse(source)) if isinstance(n, ast.Attribute)
             and isinstance(n.value, ast.Name) and n.value.id == "x"}
    assert len(names) >= 25, names
    for name in sorted(names):
        cls = getattr(x, name, None)
        assert isinstance(cls, type) and issubclass(cls, BaseException), f"pymobiledevice3.exceptions.{name}"
        assert issubclass(cls, x.PyMobileDevice3Exception), name
    # the table's order relies on these relations (the specific one is tested before its base)
    assert issubclass(x.ConnectionFailedToUsbmuxdError, x.ConnectionFailedError)
    assert issubclass(x.DeviceHasPasscodeSetError, x.PyMobileDevice3Exception)
    for name in ("ProtocolError", "LockdownError", "TunneldConnectionError", "DeviceNotFoundError"):
        assert issubclass(getattr(x, name), x.PyMobileDevice3Exception), name


# (module, attribute path, what the harness passes, "async" | "asyncgen" | "sync" | "class"): a name is a
# keyword argument, a number how many arguments it passes by position.
PMD3_CALLS: list[tuple[str, str, tuple[str | int, ...], str]] = [
    ("pymobiledevice3.lockdown", "create_using_usbmux", ("serial", "autopair", "pair_timeout"), "async"),
    ("pymobiledevice3.lockdown", "LockdownClient.get_value", ("domain", "key"), "async"),
    ("pymobiledevice3.lockdown", "LockdownClient.get_developer_mode_status", (), "async"),
    ("pymobiledevice3.lockdown", "LockdownClient.close", (), "async"),
    ("pymobiledevice3.usbmux", "list_devices", (), "async"),
    ("pymobiledevice3.usbmux", "select_device", (1,), "async"),
    ("pymobiledevice3.usbmux", "create_mux", (), "async"),
    ("pymobiledevice3.usbmux", "MuxDevice.connect", (1,), "async"),
    ("pymobiledevice3.services.wda", "WdaServiceClient", ("service_provider", "port", "timeout"), "class"),
    ("pymobiledevice3.services.wda", "WdaServiceClient.get_status", (), "async"),
    ("pymobiledevice3.services.wda", "WdaServiceClient.get_screenshot", (), "async"),
    ("pymobiledevice3.services.mobile_image_mounter", "MobileImageMounterService", (1,), "class"),
    ("pymobiledevice3.services.mobile_image_mounter", "MobileImageMounterService.is_image_mounted", (1,),
     "async"),
    ("pymobiledevice3.tunneld.api", "get_tunneld_device_by_udid", (1,), "async"),
    ("pymobiledevice3.remote.userspace_tunnel", "UserspaceRsdTunnel", ("serial",), "class"),
    ("pymobiledevice3.services.dvt.testmanaged.xcuitest", "TestConfig.create_for", (1, "runner_bundle_id"),
     "async"),
    ("pymobiledevice3.services.dvt.testmanaged.xcuitest", "XCUITestService", (1,), "class"),
    ("pymobiledevice3.services.dvt.testmanaged.xcuitest", "XCUITestService.run", (1,), "async"),
    ("pymobiledevice3.services.installation_proxy", "InstallationProxyService", ("lockdown",), "class"),
    ("pymobiledevice3.services.installation_proxy", "InstallationProxyService.get_apps",
     ("application_type", "bundle_identifiers"), "async"),
    ("pymobiledevice3.services.installation_proxy", "InstallationProxyService.install_from_local", (1,),
     "async"),
    ("pymobiledevice3.services.installation_proxy", "InstallationProxyService.uninstall", (1,), "async"),
    ("pymobiledevice3.services.os_trace", "OsTraceService", ("lockdown",), "class"),
    ("pymobiledevice3.services.os_trace", "OsTraceService.connect", (), "async"),
    ("pymobiledevice3.services.os_trace", "OsTraceService.syslog", ("pid",), "asyncgen"),
    ("pymobiledevice3.services.os_trace", "parse_syslog_entry", (1,), "sync"),
    ("pymobiledevice3.service_connection", "ServiceConnection.send_plist", (1,), "async"),
    ("pymobiledevice3.service_connection", "ServiceConnection.recvall", (1,), "async"),
    ("pymobiledevice3.services.crash_reports", "CrashReportsManager", (1,), "class"),
    ("pymobiledevice3.services.crash_reports", "CrashReportsManager.ls", (1, "depth"), "async"),
    ("pymobiledevice3.services.crash_reports", "CrashReportsManager.flush", (), "async"),
    ("pymobiledevice3.services.afc", "AfcService.get_file_contents", (1,), "async"),
    ("pymobiledevice3.services.screenshot", "ScreenshotService.take_screenshot", (), "async"),
    ("pymobiledevice3.services.screenshot", "ScreenshotService", (1,), "class"),
    ("pymobiledevice3.services.dvt.instruments.dvt_provider", "DvtProvider", (1,), "class"),
    ("pymobiledevice3.services.dvt.instruments.screenshot", "Screenshot", (1,), "class"),
    ("pymobiledevice3.services.dvt.instruments.screenshot", "Screenshot.get_screenshot", (), "async"),
    ("pymobiledevice3.services.misagent", "MisagentService", (1,), "class"),
    ("pymobiledevice3.services.misagent", "MisagentService.copy_all", (), "async"),
]


def _resolve(module: str, path: str) -> tuple[Any, bool]:
    """The function at ``module.path`` and whether it takes ``self`` (a plain method or ``__init__``)."""
    obj: Any = importlib.import_module(module)
    takes_self = False
    for part in path.split("."):
        if isinstance(obj, type):
            raw = inspect.getattr_static(obj, part)
            takes_self = not isinstance(raw, classmethod | staticmethod) and inspect.isfunction(raw)
            obj = getattr(obj, part)  # bound for a classmethod
        else:
            obj = getattr(obj, part)
    return obj, takes_self


@pytest.mark.parametrize(("module", "path", "params", "kind"), PMD3_CALLS, ids=[c[1] for c in PMD3_CALLS])
def test_each_pymobiledevice3_call_takes_what_the_harness_passes(module, path, params, kind):
    obj, takes_self = _resolve(module, path)
    target = obj.__init__ if kind == "class" else obj
    signature = inspect.signature(target)
    names = [p for p in params if isinstance(p, str)]
    missing = [p for p in names if p not in signature.parameters]
    assert not missing, f"{module}.{path}{signature}: no parameter {missing}"
    positional = sum(p for p in params if isinstance(p, int))
    args = [None] * (positional + (kind == "class" or takes_self))  # self of a method or __init__
    try:
        signature.bind_partial(*args, **dict.fromkeys(names))
    except TypeError as exc:
        pytest.fail(f"{module}.{path}{signature} does not take {positional} positional argument(s): {exc}")
    if kind == "async":  # (through pymobiledevice3's argument-converting decorators)
        assert inspect.iscoroutinefunction(inspect.unwrap(obj)), f"{path} is no longer a coroutine function"
    elif kind == "asyncgen":
        assert inspect.isasyncgenfunction(inspect.unwrap(obj)), f"{path} is no longer an async generator"
    elif kind == "class":
        assert isinstance(obj, type)


def test_the_os_trace_relay_constants_and_record_fields():
    """The harness sends its own StartActivity (harness/device/os_trace.py) with these values and reads
    these fields of pymobiledevice3's parsed record."""
    from pymobiledevice3.services import os_trace as t

    assert int(t.OS_TRACE_RELAY_MESSAGE_FILTER_ALL) == 0xFFFF
    flags = int(t.OS_TRACE_RELAY_STREAM_FLAGS_DEFAULT)
    assert flags & t.OsActivityStreamFlag.PAYLOAD and flags & t.OsActivityStreamFlag.HISTORICAL
    fields = {f for f in getattr(t.SyslogEntry, "__dataclass_fields__", {})} or set(
        inspect.signature(t.SyslogEntry).parameters)
    assert {"pid", "timestamp", "level", "filename", "message", "label"} <= fields, fields
    label = {f for f in getattr(t.SyslogLabel, "__dataclass_fields__", {})} or set(
        inspect.signature(t.SyslogLabel).parameters)
    assert {"subsystem", "category"} <= label
    assert t.OsTraceService.SERVICE_NAME == "com.apple.os_trace_relay"
    source = inspect.getsource(t.OsTraceService.syslog)
    # the framing start_activity/next_entry reproduce: a LE length of the length, then a 0x02 marker
    assert "StartActivity" in source and "\\x02" in source


def test_the_lockdown_client_attributes_the_harness_reads():
    from pymobiledevice3.lockdown import LockdownClient
    from pymobiledevice3.service_connection import ServiceConnection

    init = inspect.getsource(LockdownClient.__init__)
    for name in ("all_values", "paired", "product_version", "product_type", "has_developer_mode"):
        assert hasattr(LockdownClient, name) or f"self.{name} =" in init, name
    assert "mux_device" in inspect.signature(ServiceConnection.__init__).parameters  # info.connection_type
    from pymobiledevice3.irecv_devices import IRECV_DEVICES

    names = {d.product_type: d.display_name for d in IRECV_DEVICES}
    assert names.get("iPhone15,4") == "iPhone 15"


# -- facebook-wda --------------------------------------------------------------------------------------

WDA_CLIENT_METHODS: dict[str, tuple[str, ...]] = {
    "status": (), "session": (), "home": (), "lock": (), "unlock": (), "locked": (), "source": (),
    "app_current": (), "app_state": ("bundle_id",), "app_terminate": ("bundle_id",),
    "app_activate": ("bundle_id",), "app_launch": ("bundle_id", "arguments", "environment"),
    "open_url": ("url",), "siri_activate": ("text",), "window_size": (),
    "swipe": ("x1", "y1", "x2", "y2", "duration"), "tap": ("x", "y"), "press": ("name",),
    "press_duration": ("name", "duration"), "appium_settings": ("value",),
}


@pytest.mark.parametrize("name", sorted(WDA_CLIENT_METHODS))
def test_each_facebook_wda_client_call_takes_what_the_harness_passes(name):
    import wda

    member = inspect.getattr_static(wda.Client, name)
    fn = member.fget if isinstance(member, property) else member
    params = inspect.signature(fn).parameters
    missing = [p for p in WDA_CLIENT_METHODS[name] if p not in params]
    assert not missing, f"wda.Client.{name}{inspect.signature(fn)}: no parameter {missing}"


def test_facebook_wda_internals_the_harness_reaches_into():
    """harness/phone/wda_client.py: the base client's session plumbing and error classes."""
    import wda
    from wda.usbmux.exceptions import HTTPError

    assert isinstance(inspect.getattr_static(wda.Client, "session_id"), property)
    assert inspect.getattr_static(wda.Client, "session_id").fset is not None  # the harness adopts an id
    for name in ("http", "_session_http", "alert"):
        assert hasattr(wda.Client, name), name
    assert "__call__" in vars(wda.BaseClient) or "__call__" in vars(wda.Client)  # c(**selector) -> Selector
    assert hasattr(wda.Selector, "find_element_ids")
    assert {"text", "buttons", "click", "dismiss"} <= set(dir(wda.Alert))
    element = inspect.signature(wda.Element.__init__).parameters
    assert list(element)[1:3] == ["session", "id"], element
    assert isinstance(inspect.getattr_static(wda.Element, "bounds"), property)
    assert isinstance(inspect.getattr_static(wda.Element, "value"), property)
    for name in ("WDAError", "WDARequestError", "WDAStaleElementReferenceError", "WDAElementNotFoundError"):
        assert issubclass(getattr(wda, name), wda.WDAError), name
    assert not issubclass(HTTPError, wda.WDAError)  # transport errors are translated separately
