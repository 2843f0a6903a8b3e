"""The ``harness`` command.

Each subcommand lives in its own module here with ``add_parser(subparsers)``, which registers
its options and sets ``func`` to a callable ``(argparse.Namespace) -> int``. Modules import their
heavy dependencies (aiortc, pymobiledevice3, numpy) inside that callable, so ``harness --help``
stays fast. Every outcome maps onto one exit-code table (:class:`harness.errors.ExitCode`).
"""

from __future__ import annotations

import argparse
import importlib
import sys
import traceback

from harness import __version__
from harness.errors import ExitCode, HarnessError

SUBCOMMANDS = ("probe", "analyze", "peer", "sim", "devices", "doctor", "phone", "run", "repro", "watch")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="harness",
        description="Prove iOS voice apps keep their audio through interruptions and route changes.",
        epilog="Exit codes: 0 pass, 1 app failure, 2 usage or bad input, 3 only lab faults, "
        "4 internal error.",
    )
    parser.add_argument("--version", action="version", version=f"harness {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in SUBCOMMANDS:
        try:
            module = importlib.import_module(f"harness.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"harness.cli.{name}":
                continue  # not built yet
            raise
        module.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: usage errors exit 2, --help exits 0
        return int(exc.code or 0)
    if not getattr(args, "func", None):
        parser.print_help()
        return ExitCode.USAGE
    try:
        return int(args.func(args))
    except HarnessError as exc:
        print(f"harness {args.command}: {exc}", file=sys.stderr)
        return int(exc.exit_code)
    except KeyboardInterrupt:
        print(f"harness {args.command}: interrupted", file=sys.stderr)
        return int(ExitCode.INTERNAL)
    except Exception:  # an internal error: keep the traceback, it is our bug
        traceback.print_exc()
        print(f"harness {args.command}: internal error (exit 4); please report the traceback above",
              file=sys.stderr)
        return int(ExitCode.INTERNAL)


def run() -> None:
    sys.exit(main())


if __name__ == "__main__":
    run()
