"""``harness peer``: the WHIP loopback peer, standalone, for pointing a test build at it.

``harness peer decode RECORD_DIR`` rebuilds every call's WAVs and summary from the packet logs a
peer left (after a ``kill -9``, a crash, or to re-analyse).

Tokens come from ``--token`` (visible to every local user in ``ps``), ``--token-file`` (one per
line; keep it ``chmod 600``) or the ``HARNESS_PEER_TOKENS`` environment variable (separated by
spaces or commas).
"""

from __future__ import annotations

import argparse
import os
import re
import stat
from pathlib import Path

TOKENS_ENV = "HARNESS_PEER_TOKENS"
TOKEN_FILE_MAX = 64 * 1024


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "peer", help="run the WHIP peer: probe downlink, packet-level uplink capture",
        description="Serve WHIP at http(s)://HOST:PORT/whip; Ctrl-C ends every call and prints a summary "
        f"per call. Tokens: --token, --token-file or ${TOKENS_ENV}. `harness peer decode RECORD_DIR` "
        "rebuilds the WAVs and summaries of a record dir from its packet logs.")
    p.add_argument("--bind", default="127.0.0.1:8080", help="HOST:PORT to listen on (default %(default)s)")
    p.add_argument("--token", action="append", default=[],
                   help="bearer token of a call (repeatable; visible in `ps`: prefer --token-file)")
    p.add_argument("--token-file", metavar="PATH",
                   help="file with one bearer token per line (# comments); keep it chmod 600")
    p.add_argument("--record-dir", help="where packet logs, WAVs and the timeline go (required)")
    p.add_argument("--downlink", choices=("probe", "echo", "silence"), default="probe")
    p.add_argument("--ice-host", action="append", default=[], metavar="ADDR",
                   help="host address for ICE candidates (repeatable; default: the bind address)")
    p.add_argument("--ice-server", action="append", default=[], metavar="URL",
                   help="STUN URL, e.g. stun:stun.example.org:3478 (default none)")
    p.add_argument("--tls-cert")
    p.add_argument("--tls-key")
    p.add_argument("--cors-origin", action="append", default=[], metavar="ORIGIN",
                   help="browser origin allowed to call the endpoint besides loopback pages "
                        "(e.g. https://lab.example.org; repeatable; '*' for any)")
    p.add_argument("--no-analyze", action="store_true", help="skip the analyzer in the summary")
    p.add_argument("--uplink-seed", type=_seed, default=None,
                   help="probe seed the app's microphone hears (default: the mouth seed)")
    p.set_defaults(func=run)
    sub = p.add_subparsers(dest="peer_command", metavar="ACTION")
    d = sub.add_parser("decode", help="rebuild every call's WAVs and summary.json from its packet logs",
                       description="Rebuild the uplink WAVs and summary.json of every call folder in "
                       "RECORD_DIR from its .rtplog files (e.g. after the peer was killed).")
    d.add_argument("record_dir", metavar="RECORD_DIR")
    d.add_argument("--timeline", metavar="JSONL",
                   help="the peer's timeline (default RECORD_DIR/peer-timeline.jsonl, or a test's "
                        "timeline.jsonl one folder up)")
    d.add_argument("--no-analyze", action="store_true", help="skip the analyzer in the summary")
    d.add_argument("--uplink-seed", type=_seed, default=None, help="probe seed the microphone heard")
    d.set_defaults(func=run_decode)


def _seed(text: str) -> int:
    value = int(text, 0)
    if not 0 <= value < 2**64:
        raise argparse.ArgumentTypeError(f"{text}: a seed is 0 to 2^64-1")
    return value


def tokens_from(args: argparse.Namespace, environ: dict[str, str] | None = None) -> list[str]:
    """Every token given by --token, --token-file and $HARNESS_PEER_TOKENS (UsageError when none)."""
    from harness.errors import UsageError

    env = os.environ if environ is None else environ
    tokens = list(args.token)
    if args.token_file:
        tokens += read_token_file(Path(args.token_file))
    tokens += [t for t in re.split(r"[\s,]+", env.get(TOKENS_ENV, "")) if t]
    if not tokens:
        raise UsageError(f"no token: give --token-file PATH (one token per line), ${TOKENS_ENV} or --token")
    return tokens


def read_token_file(path: Path) -> list[str]:
    from harness.errors import UsageError

    try:
        st = path.stat()
    except OSError as exc:
        raise UsageError(f"--token-file {path}: cannot read it ({exc.strerror})") from None
    if not stat.S_ISREG(st.st_mode):
        raise UsageError(f"--token-file {path}: not a regular file")
    if st.st_size > TOKEN_FILE_MAX:
        raise UsageError(f"--token-file {path}: {st.st_size} bytes; a token file is at most {TOKEN_FILE_MAX}")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"--token-file {path}: cannot read it as UTF-8 text ({exc})") from None
    lines = [line.strip() for line in text.splitlines()]
    tokens = [line for line in lines if line and not line.startswith("#")]
    if not tokens:
        raise UsageError(f"--token-file {path}: holds no token (one per line, # for comments)")
    if st.st_mode & (stat.S_IRGRP | stat.S_IROTH):
        import sys

        print(f"harness peer: warning: --token-file {path} is readable by other users; chmod 600 it",
              file=sys.stderr)
    return tokens


def run(args: argparse.Namespace) -> int:
    import asyncio
    import contextlib
    import json
    import signal

    from harness.errors import UsageError
    from harness.peer.summary import add_uplink_analysis, summary_line, write_summary
    from harness.peer.whip import WhipPeer, check_record_dir
    from harness.timeline import Timeline

    tokens = tokens_from(args)
    if args.record_dir is None:
        raise UsageError("--record-dir is required: a folder for the packet logs, WAVs and timeline")
    record_dir = check_record_dir(args.record_dir)

    async def main() -> list[dict]:
        tl = Timeline(record_dir / "peer-timeline.jsonl", retain=False)
        peer = WhipPeer(bind=args.bind, tokens=tokens, record_dir=record_dir, timeline=tl,
                        downlink=args.downlink, ice_hosts=args.ice_host, ice_servers=args.ice_server,
                        tls_cert=args.tls_cert, tls_key=args.tls_key, cors_origins=args.cors_origin)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, stop.set)
        async with peer:
            print(f"WHIP endpoint: {peer.url}", flush=True)
            await stop.wait()
        out = []
        for call in peer.calls.values():
            s = call.summary()
            if not args.no_analyze and call.wavs:
                add_uplink_analysis(s, call.wavs, args.uplink_seed)
            write_summary(call.dir, s)
            out.append(s)
        return out

    summaries = asyncio.run(main())
    if not summaries:
        print("no call connected", flush=True)
    for s in summaries:
        print(summary_line(s), flush=True)
        print(json.dumps(s), flush=True)
    return 0


def run_decode(args: argparse.Namespace) -> int:
    import json

    from harness.peer.recordings import rebuild
    from harness.peer.summary import summary_line

    summaries = rebuild(args.record_dir, args.timeline, analyze=not args.no_analyze, seed=args.uplink_seed)
    if not summaries:
        print(f"no call folder with packet logs in {args.record_dir}", flush=True)
    for s in summaries:
        print(summary_line(s), flush=True)
        print(json.dumps(s), flush=True)
    return 0
