"""The ``harness`` command.

Each subcommand lives in its own module here with ``add_parser(subparsers)``, which registers
its options and sets ``func`` to a callable ``(argparse.Namespace) -> int``. Modules import their
heavy dependencies (aiortc, pymobiledevice3, numpy) inside that callable, so ``harness --help``
stays fast. Every outcome maps onto one exit-code table (:class:`harness.errors.ExitCode`).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import tempfile
import time
import traceback
from pathlib import Path

from harness import __version__
from harness.errors import ExitCode, HarnessError, LabFault

SUBCOMMANDS = ("probe", "analyze", "peer", "sim", "lab", "devices", "doctor", "phone", "run", "repro",
               "watch", "report", "merge", "history")


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
    except LabFault as exc:
        print(f"harness {args.command}: lab fault [{exc.tag}]: {exc}", file=sys.stderr)
        return int(exc.exit_code)
    except HarnessError as exc:
        if exc.exit_code == ExitCode.INTERNAL:
            return _internal_error(args, exc)
        print(f"harness {args.command}: {exc}", file=sys.stderr)
        return int(exc.exit_code)
    except KeyboardInterrupt:
        print(f"harness {args.command}: interrupted (exit 4)", file=sys.stderr)
        return int(ExitCode.INTERNAL)
    except BrokenPipeError:  # `harness analyze ... | head`: the reader closed the pipe
        return _pipe_closed()
    except Exception as exc:  # an internal error: our bug; keep the traceback for the report
        return _internal_error(args, exc)


def _internal_error(args: argparse.Namespace, exc: BaseException) -> int:
    """Exit 4 with one short line; the traceback goes to a file (``--out`` when there is one)."""
    path = _traceback_path(args)
    text = "".join(traceback.format_exception(exc))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"harness {args.command} (harness {__version__}, argv {sys.argv!r})\n{text}")
        where = f"traceback saved to {path}"
    except OSError:
        print(text, file=sys.stderr)
        where = "traceback above"
    first = (str(exc).strip().splitlines() or [""])[0][:300]
    print(f"harness {args.command}: internal error (exit 4): {type(exc).__name__}: {first}; {where} "
          "(please report it)", file=sys.stderr)
    return int(ExitCode.INTERNAL)


def _traceback_path(args: argparse.Namespace) -> Path:
    out = getattr(args, "out", None)
    if out and Path(out).is_dir():
        return Path(out) / "harness-error.txt"
    stamp = time.strftime("%Y%m%d-%H%M%S")
    return Path(tempfile.gettempdir()) / f"harness-{args.command}-{stamp}-{os.getpid()}.traceback.txt"


def _pipe_closed() -> int:
    """The output's reader went away: end quietly with exit 2, no traceback (stdout now discards)."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return int(ExitCode.USAGE)


def run() -> None:
    code = main()
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        code = _pipe_closed()
    sys.exit(code)


if __name__ == "__main__":
    run()
