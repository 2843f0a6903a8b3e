"""Recipe misses per variant value of the virtual phone, and what each recipe matched.

For every value of every variant (``harness sim variants``), two virtual phones (iOS 17 and 18 by
default) run one tour of the catalog's recipes through the real facebook-wda client: launch the app,
dial / answer / end, dial / decline, Siri, a timer ending, Control Center's route picker, Reset
Media Services, Music. Prints per value the misses (target 0), the tour's time and the paths the
recipes took; then, over all tours, which locator each recipe matched how often.

    .venv/bin/python bench/recipe_variants.py [--ios 17.5.1,18.2] [--only dial_prompt,siri_ui]

Runs in-process (no ``harness sim up``): each phone is a virtual SpringBoard and WDA on one carrier.
Takes several minutes: run it on an otherwise idle machine (its times are part of the figures).
"""

from __future__ import annotations

import argparse
import collections
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harness.errors import LabFault
from harness.phone import Phone
from harness.sim import variants
from harness.timeline import Timeline
from tests.wda.scene import VOICE_APP, Scene

ENV = {"HARNESS_WHIP_URL": "http://127.0.0.1:9/whip", "HARNESS_WHIP_TOKEN": "bench"}
SKIP = {"passcode": {"on"}}
"""Values a tour cannot pass by design: a passcode defeats WDA's unlock (a lab misconfiguration)."""


def tour(scene: Scene, ios: str, chosen: dict[str, str], out: Path, tl: Timeline) -> list[str]:
    """One pass of the catalog's recipes on a fresh pair of phones (numbers of their own on the
    scene's carrier); returns the misses."""
    n = len(scene.phones)
    A, B = f"+1555010{n + 1:04d}", f"+1555010{n + 2:04d}"
    a = scene.add_phone(ios=ios, number=A, apple_id=f"a{n}@example.com", name=f"caller-{ios}",
                        variants=chosen)
    b = scene.add_phone(ios=ios, number=B, apple_id=f"b{n}@example.com", name=f"dut-{ios}",
                        variants=chosen)
    caller = Phone(a.url, name=f"caller-{ios}", timeline=tl, artifacts=out, timeout=30)
    dut = Phone(b.url, name=f"dut-{ios}", timeline=tl, artifacts=out, timeout=30)
    misses: list[str] = []

    def step(name: str, fn: Any) -> None:
        try:
            fn()
        except LabFault as exc:
            misses.append(f"{name}: {str(exc).splitlines()[0][:140]}")
            for p in (dut, caller):
                try:
                    p.home()
                except LabFault:
                    pass

    step("launch", lambda: dut.launch_app(VOICE_APP, ENV))
    step("call", lambda: (caller.dial(f"tel:{B}"), dut.answer_call(), caller.end_call()))
    step(
        "decline",
        lambda: (
            dut.launch_app(VOICE_APP, ENV, relaunch=False),
            caller.dial(f"tel:{B}"),
            dut.decline_call(),
            caller.home(),
        ),
    )
    step("siri", lambda: (dut.siri("what time is it"), dut.home()))
    # Siri's UI (it set the timer) may still cover the screen: Home, as a user would
    step(
        "timer",
        lambda: (
            dut.launch_app(VOICE_APP, ENV, relaunch=False),
            dut.start_timer(1),
            dut.wait_timer_alert(timeout=20),
            dut.stop_timer(),
            dut.home(),
        ),
    )
    step("route", lambda: dut.pick_route("Speaker"))
    step("reset", lambda: dut.reset_media_services())
    step("music", lambda: (dut.play_other_audio(), dut.stop_other_audio()))
    return misses


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--ios", default="17.5.1,18.2", help="iOS versions of the phones (comma-separated)")
    p.add_argument("--only", default="", help="only these variants (comma-separated)")
    args = p.parse_args()
    versions = [v.strip() for v in args.ios.split(",") if v.strip()]
    only = {v.strip() for v in args.only.split(",") if v.strip()}
    matched: collections.Counter[tuple[str, str]] = collections.Counter()
    paths: collections.Counter[tuple[str, str]] = collections.Counter()
    rows = []
    total_misses = 0
    with tempfile.TemporaryDirectory(prefix="recipe-variants-") as tmp:
        for v in variants.catalog().values():
            if only and v.name not in only:
                continue
            for value in v.values:
                if value in SKIP.get(v.name, ()):
                    rows.append((f"{v.name}={value}", "-", "-", "skipped: a passcode defeats WDA's unlock"))
                    continue
                chosen = {v.name: value}
                if v.name != "wda_latency":
                    chosen["wda_latency"] = "typical"
                scene = Scene()
                tl = Timeline()
                t0 = time.monotonic()
                misses: list[str] = []
                try:
                    for ios in versions:
                        misses += [f"iOS {ios} {m}" for m in tour(scene, ios, chosen, Path(tmp), tl)]
                finally:
                    scene.close()
                took = time.monotonic() - t0
                for e in tl.events(source="phone"):
                    if e.kind == "recipe":
                        matched[(str(e.fields["recipe"]), str(e.fields["locator"]))] += 1
                    if e.fields.get("path"):
                        paths[(str(e.fields["recipe"]), str(e.fields["path"]))] += 1
                tour_paths = sorted(
                    {
                        f"{e.fields['recipe'].split()[0]}:{e.fields['path']}"
                        for e in tl.events(source="phone")
                        if e.fields.get("path")
                    }
                )
                total_misses += len(misses)
                rows.append(
                    (
                        f"{v.name}={value}",
                        str(len(misses)),
                        f"{took:.1f}",
                        "; ".join(misses) or ", ".join(tour_paths),
                    )
                )
                print(
                    f"{rows[-1][0]:<40} misses {rows[-1][1]:>2}  {rows[-1][2]:>6} s",
                    file=sys.stderr,
                    flush=True,
                )
    print(f"Recipe tour per variant value (iOS {', '.join(versions)}; wda_latency=typical unless varied)\n")
    print("| variant=value | recipe misses | tour s | paths taken (or the misses) |")
    print("|---|---|---|---|")
    for r in rows:
        print(f"| {r[0]} | {r[1]} | {r[2]} | {r[3]} |")
    print(f"\ntotal recipe misses: {total_misses}\n")
    print("What each recipe matched (all tours)\n")
    print("| recipe | locator | times |")
    print("|---|---|---|")
    for (recipe, loc), n in sorted(matched.items()):
        print(f"| {recipe} | {loc} | {n} |")
    print("\n| recipe | path | times |")
    print("|---|---|---|")
    for (recipe, path), n in sorted(paths.items()):
        print(f"| {recipe} | {path} | {n} |")
    return 1 if total_misses else 0


if __name__ == "__main__":
    raise SystemExit(main())
