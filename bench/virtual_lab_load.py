"""How many virtual phones with live calls one machine runs with no capture dropout.

For each N: ``harness sim up --phones N`` (its own PulseAudio, acoustics with noise, cross-talk and
the reference pilot), the voice app launched on every phone through WDA with a WHIP session to a
peer in this process (N live calls: Opus both ways), the lab mouth playing, and every phone's
capture device recorded as one multichannel stream with its reference channel. After a warm-up,
``--seconds`` are scored per phone: capture-chain dropouts (the reference channel dead or broken:
a lab fault) and downlink gaps on the receiver channel (what a scenario would blame on the app),
plus the machine's CPU use. Each N runs ``--runs`` times; the median of each figure is printed, then the
largest N whose every run had no capture dropout.

    .venv/bin/python bench/virtual_lab_load.py --phones 1 2 3 4 --seconds 20 --runs 3

The machine may be shared: CPU figures include whatever else runs on it.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

WARMUP_S = 3.0
VOICE_APP = "com.example.voiceagent"


def cpu_busy() -> tuple[float, float]:
    """(busy, total) jiffies of the whole machine, from /proc/stat."""
    with open("/proc/stat") as f:
        fields = [float(v) for v in f.readline().split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields) - idle, sum(fields)


def chain_audio(audio: Any) -> Any:
    """The phone's capture device with its reference. Labs written before the multichannel map
    list per-route monitors (``<phone>_receiver_monitor``): the capture device is beside them."""
    from harness.lab.schema import Audio

    if audio.reference is not None:
        return audio.model_copy(update={"mouth": None})
    phone = audio.capture["receiver"].device.removesuffix("_receiver_monitor")
    routes = ("receiver", "speaker", "bt_hfp", "bt_a2dp", "wired")
    return Audio.model_validate({
        "capture": {"device": f"{phone}_capture_monitor", "channels": {r: i for i, r in enumerate(routes)},
                    "reference": len(routes), "device_channels": len(routes) + 1},
        "env": audio.env,
    })


def one_run(n: int, seconds: float, base: Path) -> dict[str, Any]:
    from harness.audio import devices
    from harness.audio.analyze import analyze
    from harness.audio.capture import read_capture
    from harness.audio.player import play_probe
    from harness.audio.probe import DOWNLINK_SEED, MOUTH_SEED, probe
    from harness.audio.rig import AudioRig, apply_env
    from harness.lab.virtual import start_lab_process
    from harness.session import LabCall, LabPhone, LabSession

    sim = start_lab_process(base / "lab", phones=n)
    rigs: list[AudioRig] = []
    phones: list[LabPhone] = []
    calls: list[LabCall] = []
    mouth = None
    with LabSession.open(sim.lab_yaml, on_close=[sim.stop]) as lab:
        try:
            first = lab.spec.audio_for(lab.spec.devices[0])
            apply_env(first.env)
            devices.rescan()  # this lab's devices, not the previous run's
            if first.mouth is not None:
                mouth = play_probe(first.mouth.device, MOUTH_SEED, name="mouth")
            for i, dev in enumerate(lab.spec.devices):  # recording from before the calls start
                rig = AudioRig(chain_audio(lab.spec.audio_for(dev)), base / f"audio-{i}", routes=["receiver"])
                rigs.append(rig.open())
            for i, dev in enumerate(lab.spec.devices):
                phone = lab.open_phone(dev, None, base / f"phone-{i}")
                phones.append(phone)
                call = lab.open_call(None, base / f"peer-{i}")
                calls.append(call)
                phone.ui.launch_app(VOICE_APP, env=lab.app_env(call, phone))
            for call in calls:
                call.wait_connected(timeout=60, settle_s=0)
            time.sleep(WARMUP_S)
            t0, (busy0, total0) = time.monotonic_ns(), cpu_busy()
            time.sleep(seconds)
            t1, (busy1, total1) = time.monotonic_ns(), cpu_busy()
            for rig in rigs:
                rig.close()
            scored = []
            for rig in rigs:
                chain = rig.reference_gaps(t0, t1)
                rec = read_capture(rig.wav("receiver"))
                a, b = rec.frame_at(t0) / rec.rate, rec.frame_at(t1) / rec.rate
                ref = {"downlink": probe(len(rec.samples) / rec.rate + 60, DOWNLINK_SEED)}
                result = analyze(rec.mono, rec.rate, ref, echo=False)
                gaps = [g for g in result.gaps if g.duration_ms >= 20 and a <= g.start_s < b]
                scored.append({"chain_dropouts": len(chain),
                               "chain_dropout_ms": round(sum(g.span.seconds for g in chain) * 1e3, 1),
                               "downlink_gaps": len(gaps)})
        finally:
            for call in calls:
                call.close()
            for phone in phones:
                lab.close_phone(phone)
            for rig in rigs:
                rig.close()
            if mouth is not None:
                mouth.close()
    return {
        "phones": n,
        "chain_dropouts": sum(p["chain_dropouts"] for p in scored),
        "chain_dropout_ms": round(sum(p["chain_dropout_ms"] for p in scored), 1),
        "downlink_gaps": sum(p["downlink_gaps"] for p in scored),
        "cpu_pct": round(100 * (busy1 - busy0) / max(1.0, total1 - total0), 1),
        "window_s": round((t1 - t0) / 1e9, 1),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--phones", type=int, nargs="+", default=[1, 2, 3, 4])
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    print(f"machine: {os.cpu_count()} cores; {args.seconds:.0f} s scored per run after {WARMUP_S:.0f} s "
          f"warm-up; {args.runs} run(s) per N; medians")
    print(f"{'phones':>6} {'chain dropouts':>15} {'dropout ms':>11} {'downlink gaps':>14} {'cpu %':>6}  runs")
    clean: list[int] = []
    for n in args.phones:
        runs = []
        for _ in range(args.runs):
            with tempfile.TemporaryDirectory(prefix="vlab-load-") as tmp:
                try:
                    runs.append(one_run(n, args.seconds, Path(tmp)))
                except Exception as exc:  # a lab that cannot even start N phones: that is the figure
                    runs.append({"phones": n, "error": f"{type(exc).__name__}: {exc}"[:200]})
        ok = [r for r in runs if "error" not in r]
        if not ok:
            print(f"{n:>6}  failed: {runs[0]['error']}")
            break
        med = {k: statistics.median(r[k] for r in ok)
               for k in ("chain_dropouts", "chain_dropout_ms", "downlink_gaps", "cpu_pct")}
        detail = ", ".join(f"{r['chain_dropouts']}/{r['downlink_gaps']}" if "error" not in r else "error"
                           for r in runs)
        print(f"{n:>6} {med['chain_dropouts']:>15} {med['chain_dropout_ms']:>11} {med['downlink_gaps']:>14} "
              f"{med['cpu_pct']:>6}  [{detail}] (dropouts/gaps per run)",
              flush=True)
        if len(ok) == len(runs) and all(r["chain_dropouts"] == 0 for r in ok):
            clean.append(n)
    best = max(clean, default=0)
    print(f"largest N with no capture dropout in any run: {best} phone(s) with live calls")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
