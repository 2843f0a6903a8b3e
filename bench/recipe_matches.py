"""What each recipe matched in one or more `harness run` reports, from their timelines.

    .venv/bin/python bench/recipe_matches.py OUT [OUT...]

Reads ``OUT/tests/*/timeline.jsonl`` (source ``phone``: kinds ``recipe``, ``recipe-path`` and
``recipe-miss``) and prints per recipe the locator that matched, the path it took where the phone
may differ (a dial prompt or not, a second Accept, a confirmation sheet, Siri's UI seen or not),
and the recipe misses (target 0). Works the same on a real lab's reports.
"""

from __future__ import annotations

import collections
import json
import sys
from pathlib import Path


def events(out: Path) -> list[dict]:
    found = []
    for path in sorted(out.glob("tests/*/timeline.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                e = json.loads(line)
            except ValueError:
                continue
            if e.get("source") == "phone" and e.get("kind") in ("recipe", "recipe-path", "recipe-miss"):
                e["test"] = path.parent.name
                found.append(e)
    return found


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    matched: collections.Counter[tuple[str, str, str]] = collections.Counter()
    misses: list[str] = []
    for out in map(Path, argv):
        if not (out / "tests").is_dir():
            print(f"{out}: not a harness run report (no tests/ folder)", file=sys.stderr)
            return 2
        for e in events(out):
            if e["kind"] == "recipe-miss":
                misses.append(f"{e['test']}: {e.get('recipe')}")
            else:
                matched[(str(e.get("recipe")), str(e.get("locator", "-")), str(e.get("path", "")))] += 1
    print("| recipe | locator matched | path | times |")
    print("|---|---|---|---|")
    for (recipe, loc, path), n in sorted(matched.items()):
        print(f"| {recipe} | {loc} | {path} | {n} |")
    print(f"\nrecipe misses: {len(misses)}" + "".join(f"\n  {m}" for m in misses))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
