"""One exit-code table and the error classes every part of the harness raises.

A verdict has three possible culprits: the app (exit 1), the person typing the command (exit 2)
and the lab (exit 3). Anything else is the harness's own bug (exit 4). Every subcommand maps its
outcome through :func:`exit_code_for`, so nightly CI can tell an app bug from a lab fault by the
exit code alone.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    PASS = 0
    APP_FAILURE = 1
    USAGE = 2
    LAB_FAULT = 3
    INTERNAL = 4


class HarnessError(Exception):
    """Base class. ``exit_code`` says whose fault it is."""

    exit_code: ExitCode = ExitCode.INTERNAL


class UsageError(HarnessError):
    """Bad input from the user: a missing file, a malformed option. The message names the fix."""

    exit_code = ExitCode.USAGE


class LabFault(HarnessError):
    """The lab, not the app, failed: a phone detached, WDA died, a capture went silent.

    ``tag`` is a short stable identifier (``device-gone``, ``wda-down``, ``capture-dropout``...)
    used in reports and JUnit properties.
    """

    exit_code = ExitCode.LAB_FAULT

    def __init__(self, message: str, tag: str = "lab") -> None:
        super().__init__(message)
        self.tag = tag


class AppFailure(HarnessError):
    """The app under test broke a playbook rule. ``rule`` names the rule."""

    exit_code = ExitCode.APP_FAILURE

    def __init__(self, message: str, rule: str = "") -> None:
        super().__init__(message)
        self.rule = rule


def exit_code_for(exc: BaseException) -> ExitCode:
    """The exit code a subcommand ends with when ``exc`` escapes it (Ctrl-C included: 4)."""
    if isinstance(exc, HarnessError):
        return exc.exit_code
    return ExitCode.INTERNAL
