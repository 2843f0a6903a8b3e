"""``harness peer``: the WHIP loopback peer, standalone, for pointing a test build at it."""

from __future__ import annotations

import argparse


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "peer", help="run the WHIP peer: probe downlink, packet-level uplink capture",
        description="Serve WHIP at http(s)://HOST:PORT/whip; Ctrl-C ends every call and prints a summary "
        "per call.")
    p.add_argument("--bind", default="127.0.0.1:8080", help="HOST:PORT to listen on (default %(default)s)")
    p.add_argument("--token", action="append", required=True, help="bearer token of a call (repeatable)")
    p.add_argument("--record-dir", required=True, help="where packet logs, WAVs and the timeline go")
    p.add_argument("--downlink", choices=("probe", "echo", "silence"), default="probe")
    p.add_argument("--ice-host", action="append", default=[], metavar="ADDR",
                   help="host address for ICE candidates (repeatable; default: the bind address)")
    p.add_argument("--ice-server", action="append", default=[], metavar="URL",
                   help="STUN/TURN URL (default none)")
    p.add_argument("--tls-cert")
    p.add_argument("--tls-key")
    p.add_argument("--no-analyze", action="store_true", help="skip the analyzer in the summary")
    p.add_argument("--uplink-seed", type=lambda s: int(s, 0), default=None,
                   help="probe seed the app's microphone hears (default: the mouth seed)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import asyncio
    import contextlib
    import json
    import signal

    from harness.peer.whip import WhipPeer
    from harness.timeline import Timeline

    async def main() -> list[dict]:
        tl = Timeline(f"{args.record_dir}/peer-timeline.jsonl")
        peer = WhipPeer(bind=args.bind, tokens=args.token, record_dir=args.record_dir, timeline=tl,
                        downlink=args.downlink, ice_hosts=args.ice_host, ice_servers=args.ice_server,
                        tls_cert=args.tls_cert, tls_key=args.tls_key)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, stop.set)
        async with peer:
            print(f"WHIP endpoint: {peer.url}", flush=True)
            await stop.wait()
        return [_summary(c, not args.no_analyze, args.uplink_seed) for c in peer.calls.values()]

    summaries = asyncio.run(main())
    if not summaries:
        print("no call connected", flush=True)
    for s in summaries:
        gaps = {axis: len(s.get(f"uplink_gaps_{axis}", [])) for axis in ("rtp", "arrival")}
        print(f"{s['call']}: {s['duration_s']:.1f} s, {s['sessions']} session(s), "
              f"{s['reconnects']} reconnect(s), {s['packets']} packets, {s['lost']} lost, "
              f"uplink gaps rtp={gaps['rtp']} arrival={gaps['arrival']}", flush=True)
        print(json.dumps(s), flush=True)
    return 0


def _summary(call, analyze_it: bool, seed: int | None) -> dict:
    """The call's summary plus, per uplink axis, the analyzer's gaps against the mouth probe."""
    s = call.summary()
    if analyze_it and call.wavs:
        from harness.audio.analyze import analyze
        from harness.audio.probe import MOUTH_SEED, probe
        from harness.audio.wav import read_wav

        for axis, path in call.wavs.items():
            samples, rate = read_wav(path)
            ref = probe(len(samples) / rate + 2, MOUTH_SEED if seed is None else seed, rate)
            a = analyze(samples, rate, {"mouth": ref}, echo=False)
            s[f"uplink_gaps_{axis}"] = [g.to_dict() for g in a.gaps]
            s[f"uplink_coverage_{axis}"] = round(a.coverage, 3)
    return s
