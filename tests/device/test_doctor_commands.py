"""Every pymobiledevice3 command the doctor (or a device fault) tells a person to run is one the
installed pymobiledevice3 accepts: each is parsed by pymobiledevice3's own CLI (its typer/click
command tree, as ``python -m pymobiledevice3`` builds it), fully (options, arguments) and with
``--help`` (what a person would try first). Nothing is run against a phone.

The texts come from everywhere a fix is written: the doctor's rules over every kind of phone
(:func:`harness.device.doctor.evaluate`), the fault table (:func:`harness.device.errors.translate`
and its ``FIX_*`` texts), the lab schema's messages, and a real ``harness doctor`` report of a
virtual lab with faults switched on.
"""

from __future__ import annotations

import contextlib
import io
import re
import shlex
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from harness.device import errors
from harness.device.apps import AppInfo
from harness.device.doctor import Facts, evaluate
from harness.device.errors import DeviceFault, translate
from harness.device.info import DeviceInfo
from harness.device.provisioning import Profile
from harness.device.wda_launcher import Status
from harness.errors import UsageError
from harness.lab.schema import Lab

UDID = "00008120-001A2B3C4D5E6F70"
RUNNER = "com.example.WebDriverAgentRunner.xctrunner"
NOW = datetime(2026, 3, 1, tzinfo=UTC)
COMMAND = re.compile(r"`((?:sudo )?(?:python3 -m )?pymobiledevice3 [^`]+)`")
PLACEHOLDERS = {"RUNNER_BUNDLE_ID": RUNNER}
"""Words a fix asks the person to replace, and what they stand for here."""
FILES = ("WebDriverAgentRunner-Runner.app", "APP.ipa")
"""Files a fix names by placeholder (the person's own build): they exist when the person runs it."""


# -- pymobiledevice3's own parser ---------------------------------------------------------------------

@pytest.fixture(scope="module")
def pmd3() -> Any:
    """The root command of the installed pymobiledevice3 CLI (``pymobiledevice3/__main__.py``)."""
    import typer
    from pymobiledevice3.__main__ import app

    return typer.main.get_command(app)


def parse(root: Any, argv: list[str]) -> Any:
    """Parse ``argv`` down to its leaf command without running it; raises what the CLI would."""
    command, ctx = root, root.make_context("pymobiledevice3", list(argv))
    while hasattr(command, "resolve_command"):
        rest = [*getattr(ctx, "_protected_args", []), *ctx.args]
        name, command, rest = command.resolve_command(ctx, rest)
        ctx = command.make_context(name, rest, parent=ctx)
    return command


def accepted(root: Any, text: str, files: Any = None) -> tuple[bool, str]:
    """Whether pymobiledevice3 accepts the command ``text`` (full parse, then ``--help``); ``files``
    is a folder holding the placeholder files (:data:`FILES`)."""
    argv = shlex.split(text)
    while argv and argv[0] in ("sudo", "python3", "-m"):
        argv.pop(0)
    assert argv and argv[0] == "pymobiledevice3", text
    argv = [PLACEHOLDERS.get(a, str(files / a) if files is not None and a in FILES else a) for a in argv[1:]]
    try:
        parse(root, argv)
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            code = root.main(args=[*argv, "--help"], prog_name="pymobiledevice3", standalone_mode=False)
    except Exception as exc:  # click's UsageError, NoSuchOption, MissingParameter...
        return False, f"{type(exc).__name__}: {exc}"
    return code == 0 and "Usage:" in out.getvalue(), out.getvalue()[:200]


def commands(texts: list[str], root: Any) -> set[str]:
    """Every backticked pymobiledevice3 command in ``texts``; fails on one written outside backticks
    (it would escape this test)."""
    from pymobiledevice3.__main__ import CLI_GROUPS

    groups = "|".join(map(re.escape, CLI_GROUPS))
    loose = re.compile(rf"pymobiledevice3 (?:{groups})\b")
    found: set[str] = set()
    for text in texts:
        assert not loose.search(COMMAND.sub("", text)), f"a command outside backticks: {text}"
        found.update(COMMAND.findall(text))
    return found


# -- what the harness prints ----------------------------------------------------------------------------

def _info(**kw: Any) -> DeviceInfo:
    base = dict(udid=UDID, name="A", product_type="iPhone15,4", model="iPhone 15", ios="18.2", build="22C152",
                paired=True, battery_level=80, charging=False, developer_mode=True, passcode_set=False)
    base.update(kw)
    return DeviceInfo(**base)


def _phones() -> list[Facts]:
    """Phones in every state the rules tell apart: each fix text is produced at least once."""
    runner = AppInfo(RUNNER, "WebDriverAgentRunner-Runner", "1.0", "1", "User")
    fresh = Profile("p", "u", f"TEAM.{RUNNER}", NOW + timedelta(days=100), (UDID,))
    base = Facts(udid=UDID, attached=True, paired=True, info=_info(), wda=Status(True, "ready"),
                 ddi=Status(True, "mounted"), tunnel=Status(True, "tunneld"), bundle_id="com.example.voice",
                 app_checked=True, app=None, role="dut", wda_runner=RUNNER, wda_launch="xcuitest",
                 runner=runner, runner_checked=True, profiles=[fresh])
    down = Status(False, "nothing answers on device port 8100")
    fault = DeviceFault("phone X: list apps: refused; fix: `pymobiledevice3 mounter auto-mount --udid X`",
                        errors.SERVICE_REFUSED, UDID)
    out = [Facts(udid=UDID), Facts(udid=UDID, attached=True, paired=False),
           Facts(udid=UDID, attached=True, problems={"connect": fault})]
    for version in ("15.8", "16.7.10", "17.2", "17.5.1", "18.2", "26.1", ""):
        for launch, runner_id in (("xcuitest", RUNNER), ("external", None)):
            for wda in (Status(True, "ready"), down):
                out.append(replace(base, info=_info(ios=version, developer_mode=False, passcode_set=True,
                                                    battery_level=5),
                                   wda=wda, wda_launch=launch, wda_runner=runner_id, runner=None,
                                   runners=() if runner_id is None else None,
                                   ddi=Status(False, "not mounted"), tunnel=Status(False, "no tunneld"),
                                   profiles=[replace(fresh, expires=NOW - timedelta(days=1))]))
    out += [
        replace(base, ddi=None, tunnel=None, wda=down, info=_info(developer_mode=None)),
        replace(base, profiles=None, problems={"profiles": fault, "runner": fault}),
        replace(base, wda_runner=None, runners=(RUNNER,), wda=down),
        replace(base, wda_runner=None, runners=(RUNNER, "b.xctrunner")),
        replace(base, profiles=[replace(fresh, devices=("other",))]),
        replace(base, profiles=[replace(fresh, expires=NOW + timedelta(hours=3))]),
        replace(base, app_checked=False, problems={"app": fault}),
        replace(base, role="caller"),
        replace(base, apple_id=None, phone_number=None),
    ]
    return out


def _printed_by_the_rules() -> list[str]:
    texts = []
    for facts in _phones():
        for check in evaluate(facts, now=NOW):
            texts += [check.detail, check.fix]
    return texts


def _printed_by_the_fault_table() -> list[str]:
    from pymobiledevice3 import exceptions as x

    texts = [v for k, v in vars(errors).items() if k.startswith("FIX_") and isinstance(v, str)]
    texts.append(errors.fix_start_wda(UDID, None))
    for cls in vars(x).values():
        if isinstance(cls, type) and issubclass(cls, BaseException):
            try:
                exc = cls()
            except TypeError:
                continue
            for version in ("16.7", "17.5"):
                fault = str(translate(exc, action="do it", udid=UDID, ios_version=version,
                                      service="com.apple.instruments.remoteserver"))
                # the fix is the harness's; the cause before it may quote pymobiledevice3's own message
                texts.append(fault.split("; fix: ", 1)[1] if "; fix: " in fault else "")
    return texts


def _printed_by_the_schema() -> list[str]:
    texts = []
    for device in ({"wda_runner": "not a bundle id"}, {"wda": {"launch": "xcuitest"}}):
        with pytest.raises(UsageError) as err:
            Lab.from_dict({"devices": [{"name": "A", "udid": UDID, **device}]})
        texts.append(str(err.value))
    return texts


@pytest.fixture
def files(tmp_path):
    (tmp_path / "WebDriverAgentRunner-Runner.app").mkdir()
    (tmp_path / "APP.ipa").write_bytes(b"PK")
    return tmp_path


def test_every_command_a_fix_names_is_accepted_by_the_installed_pymobiledevice3(pmd3, files):
    texts = _printed_by_the_rules() + _printed_by_the_fault_table() + _printed_by_the_schema()
    found = commands(texts, pmd3)
    assert len(found) >= 10, found  # the rules above do print the whole range of fixes
    named = {tuple(shlex.split(c)[1:3]) if not c.startswith("sudo") else tuple(shlex.split(c)[2:4])
             for c in found}
    for group in (("amfi", "enable-developer-mode"), ("amfi", "reveal-developer-mode"),
                  ("developer", "dvt"), ("mounter", "auto-mount"), ("lockdown", "pair"),
                  ("remote", "tunneld"), ("apps", "install"), ("provision", "list")):
        assert group in named, (group, sorted(named))
    refused = {c: why for c in sorted(found) for ok, why in [accepted(pmd3, c, files)] if not ok}
    assert not refused, refused
    rules = commands(_printed_by_the_rules(), pmd3)
    assert not [c for c in rules if re.search(r"\bUDID\b", c)], "a doctor fix kept its UDID placeholder"


async def test_a_real_doctor_report_names_only_accepted_commands(pmd3, files, lab, dut, caller):
    """`harness doctor` on a virtual lab with the misses a new phone has: every command it prints parses."""
    from harness.cli.doctor import examine, render

    spec = Lab.from_dict({"usbmuxd": lab.usbmuxd_address, "devices": [
        # nothing listens on port 8200: WDA is down, and the lab's runner is not installed
        {"name": "DUT", "udid": dut.udid, "role": "dut", "wda_runner": RUNNER, "wda_port": 8200},
        {"name": "Caller", "udid": caller.udid, "role": "caller"}]})
    dut.developer_mode, dut.ddi_mounted = False, False
    caller.paired = False
    report = render(await examine(spec, None, 10.0, 30))
    found = commands([report], pmd3)
    assert f"pymobiledevice3 amfi enable-developer-mode --udid {dut.udid}" in found
    assert f"pymobiledevice3 apps install WebDriverAgentRunner-Runner.app --udid {dut.udid}" in found
    refused = {c: why for c in sorted(found) for ok, why in [accepted(pmd3, c, files)] if not ok}
    assert not refused, refused


@pytest.mark.parametrize("text", [
    "pymobiledevice3 developer wda --xctrunner com.facebook.WebDriverAgentRunner.xctrunner --udid U status",
    "pymobiledevice3 developer dvt xcuitest --udid U",
    "pymobiledevice3 amfi enable-developer-mode --serial U",
    "pymobiledevice3 mounter automount --udid U",
])
def test_the_check_refuses_what_pymobiledevice3_refuses(pmd3, text):
    """The old doctor's WDA fix (``--xctrunner`` on the group), a missing runner argument, a wrong
    option, a misspelt command: each is refused, so the test above can fail."""
    ok, why = accepted(pmd3, text)
    assert not ok, why
