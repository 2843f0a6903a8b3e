"""``harness doctor --profile``: the recipes' locators against the screens a phone profile holds.

A phone profile (the virtual lab's format; ``harness phone survey`` writes one from a real phone)
describes each screen as the app that owns it and its accessibility tree. For every recipe table
(:data:`harness.phone.locators.RECIPES`), this finds which locator matches each screen the recipe
acts on (:data:`RECIPE_SCREENS`), with the lab file's own locators first, as a run tries them: the
harness's query code (:mod:`harness.phone.locator_match`) against the profile's trees, no phone and
no virtual lab. A recipe whose screen is in the profile but none of whose locators matches it is a
failed check naming the screen and the candidate elements; a screen the profile does not hold is
not observed (n/a).

The profile is read here as data (harness.sim, which replays profiles, may not be imported by the
harness): a file's own ``screens:`` are checked, not what it ``extends``. Templates (``each:``) are
expanded once with sample values, ``when:`` parts are included, placeholders (``{caller}``) read as
``<caller>``.

A real phone differs from its saved profile where XCTest builds elements only when asked or a screen
changes between two finds; the survey records the live recipe's result beside the offline one, and
``tests/iphone/test_survey.py`` checks both agree on a real lab.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from harness import ios
from harness.device.doctor import FAIL, NOT_APPLICABLE, OK, WARN, Check
from harness.errors import UsageError
from harness.lab import bounded_yaml
from harness.phone import locators as L
from harness.phone.locator_match import Trees, candidates, detected_app, evaluate
from harness.phone.locators import Locator
from harness.wda_query import Node

MAX_PROFILE_BYTES = 16 * 1024 * 1024
SCREEN_SIZE = (390, 844)
"""Points of the screen a profile's frames are in when it does not say (the virtual phone's)."""

RECIPE_SCREENS: dict[str, tuple[tuple[str, Mapping[str, str]], ...]] = {
    "answer_call": (("incoming.banner", {}), ("incoming.full", {}), ("incoming.locked", {})),
    "decline_call": (("incoming.banner", {}), ("incoming.full", {}), ("incoming.locked", {})),
    "follow_up_accept": (("second_accept.springboard", {}), ("second_accept.incallservice", {})),
    "end_call": (("in_call", {}),),
    "confirm_dial": (("call_prompt", {}),),
    "siri_shown": (("siri.springboard", {}), ("siri.view_service", {})),
    "timer_stop": (("timer.alert", {}), ("timer.banner", {}), ("timer.live_activity", {})),
    "control_center": (("control_center", {}),),
    "cc_route_picker": (("control_center", {}),),
    "cc_bluetooth": (("control_center", {}),),
    "settings_bluetooth": (("settings.root", {}),),
    "settings_developer": (("settings.root", {}),),
    "reset_media_services": (("settings.developer", {}),),
    "reset_confirm": (("settings.reset_sheet", {}),),
    "reset_cancel": (("settings.reset_sheet", {}),),
    "music_play": (("music", {"play_label": "Play"}),),
    "music_pause": (("music", {"play_label": "Pause"}),),
}
"""Which profile screens each recipe table acts on (the profile format's screen names;
``music``'s toggle reads Play or Pause by the player's state). A screen named ``NAME@STATE`` (a
survey's second observation of NAME, e.g. the banner over the home screen) counts as NAME."""
ONLY_IN_STATES: dict[str, tuple[str, ...]] = {"music_play": ("music",), "music_pause": ("music-playing",)}
"""Tables that act on only some of a screen's survey observations (``NAME@STATE``): Music's Play
button is on the paused player (the survey's ``music`` state), its Pause button on the playing one
(``music-playing``); the screen's own template holds both (a ``when:`` on the player's state)."""
RECORDED_ONLY = frozenset({"siri_shown"})
"""Tables whose miss a recipe records instead of failing (Siri's UI may be outside XCTest's tree,
REV Q6): a miss here warns."""
assert set(RECIPE_SCREENS) == set(L.RECIPES), "every recipe table says where it acts"


@dataclass(frozen=True)
class ProfileScreen:
    name: str
    owner: str
    tree: Node
    """An Application root holding the screen's top-level elements."""
    auto: str | None
    """The app WDA auto-detects on this screen (its owner, or another app behind it: None)."""

    @property
    def base(self) -> str:
        return self.name.partition("@")[0]


@dataclass
class PhoneProfile:
    path: Path
    ios_major: int
    raw: dict[str, Any]
    screen_size: tuple[int, int] = SCREEN_SIZE
    screens: dict[str, dict[str, Any]] = field(default_factory=dict)

    def screen(self, name: str, values: Mapping[str, str] | None = None) -> ProfileScreen:
        spec = self.screens[name]
        owner = str(spec.get("owner", ""))
        where = f"{self.path}: screen {name}"
        nodes = _expand(list(spec.get("tree") or []), _Sample(values or {}), 0, 0, where)
        root = Node("Application", label=owner, frame=(0, 0, *self.screen_size), children=nodes)
        auto = spec.get("auto_detected")  # what WDA said on the surveyed phone
        if auto is None:  # else WDA's rule: the owner if its elements cover the detection point
            auto = detected_app([(owner, nodes)], self.screen_size, fallback=False)
        return ProfileScreen(name, owner, root, str(auto) if auto else None)


class _Sample(dict[str, Any]):
    """Placeholder values: the given ones, else ``<name>``."""

    def __missing__(self, key: str) -> str:
        return f"<{key}>"


def _fmt(value: Any, values: Mapping[str, Any], where: str) -> str:
    if value is None:
        return ""
    try:
        return string.Formatter().vformat(str(value), (), values)
    except (ValueError, IndexError) as exc:
        raise UsageError(f"{where}: {value!r} is not a valid profile text ({exc}); write a literal "
                         "{ or } as {{ or }}") from None


def _expand(nodes: list[Any], values: _Sample, dx: int, dy: int, where: str) -> list[Node]:
    out: list[Node] = []
    for raw in nodes:
        if not isinstance(raw, dict):
            raise UsageError(f"{where}: a tree node must be a mapping, got {type(raw).__name__}")
        if "slot" in raw:
            continue  # filled by the app (the voice app's own controls)
        if "each" in raw:  # a list the phone supplies: one sample item
            out += _expand([raw.get("template") or {}], _Sample(values), dx, dy, where)
            continue
        if "type" not in raw:
            raise UsageError(f"{where}: a tree node has no type ({sorted(raw)[:6]})")
        frame = raw.get("frame") or [0, 0, 0, 0]
        try:
            x, y, w, h = (int(v) for v in frame)
        except (TypeError, ValueError):
            raise UsageError(f"{where}: frame {frame!r} is not [x, y, width, height]") from None
        value = raw.get("value")
        node = Node(
            str(raw["type"]),
            identifier=_fmt(raw.get("id", ""), values, where),
            label=_fmt(raw.get("label", ""), values, where),
            value=None if value is None else _fmt(value, values, where),
            frame=(x + dx, y + dy, w, h),
            enabled=bool(raw.get("enabled", True)),
            visible=bool(raw.get("visible", True)),
            accessible=raw["type"] not in ("Other", "Window", "Table", "Application"),
            extra={k: raw[k] for k in ("key", "action", "slide_action", "provenance") if k in raw},
        )
        node.children = _expand(list(raw.get("children") or []), values, dx, dy, where)
        out.append(node)
    return out


def read_profile(path: str | Path) -> PhoneProfile:
    """A phone profile file (UsageError naming the file and the problem)."""
    path = Path(path)
    try:
        data = bounded_yaml.loads(bounded_yaml.read_text(path, max_bytes=MAX_PROFILE_BYTES))
    except FileNotFoundError:
        raise UsageError(f"--profile {path}: not found; give the profile.yaml a survey wrote "
                         "(`harness phone survey --out DIR` writes DIR/profile.yaml)") from None
    except OSError as exc:
        raise UsageError(f"--profile {path}: cannot read it ({exc.strerror})") from None
    except (bounded_yaml.BoundedYamlError, yaml.YAMLError) as exc:
        why = " ".join(str(exc).split())[:200]
        raise UsageError(f"--profile {path}: not a phone profile ({why})") from None
    if not isinstance(data, dict) or not isinstance(data.get("screens"), dict) or "ios" not in data:
        raise UsageError(f"--profile {path}: not a phone profile (expected a mapping with ios: and screens:)")
    try:
        major = int(data["ios"])
    except (TypeError, ValueError):
        raise UsageError(f"--profile {path}: ios: {data['ios']!r} is not an iOS major") from None
    size = data.get("screen_size") or SCREEN_SIZE
    profile = PhoneProfile(path, major, data, (int(size[0]), int(size[1])))
    for name, spec in data["screens"].items():
        if not isinstance(spec, dict) or "owner" not in spec or "tree" not in spec:
            raise UsageError(f"--profile {path}: screen {name!r} needs owner: and tree:")
        profile.screens[str(name)] = spec
    return profile


def screens_of(recipe: str, profile: PhoneProfile) -> list[tuple[str, Mapping[str, str]]]:
    """The profile's screens ``recipe`` acts on (with the sample values to fill them with)."""
    out = []
    for base, values in RECIPE_SCREENS[recipe]:
        for name in profile.screens:
            screen, _at, state = name.partition("@")
            if screen == base and (not state or state in ONLY_IN_STATES.get(recipe, (state,))):
                out.append((name, values))
    return out


def trees_of(screen: ProfileScreen) -> Trees:
    return Trees({screen.owner: screen.tree}, screen.auto, {screen.owner: screen.name})


def check_recipe(recipe: str, profile: PhoneProfile,
                 lab_locators: Mapping[str, tuple[Locator, ...]] | None = None) -> Check:
    """One recipe table against every screen of the profile it acts on."""
    extra = (lab_locators or {}).get(recipe, ())
    locs = L.ordered(tuple(extra), profile.ios_major) + L.ordered(L.RECIPES[recipe], profile.ios_major)
    title = f"recipe {recipe}"
    observed = screens_of(recipe, profile)
    if not observed:
        wanted = ", ".join(b for b, _ in RECIPE_SCREENS[recipe])
        return Check(f"profile-{recipe}", title, NOT_APPLICABLE,
                     f"the profile holds none of its screens ({wanted}): not observed")
    matched: list[str] = []
    missed: list[str] = []
    for name, values in observed:
        screen = profile.screen(name, values)
        results = evaluate(locs, trees_of(screen))
        hit = next((r for r in results if r.matched), None)
        if hit is not None:
            n = results.index(hit)
            lab = " (the lab file's)" if hit.locator in extra else ""
            matched.append(f"{name}: {hit.locator.label!r}{lab}, locator {n + 1} of {len(locs)}")
        else:
            found = candidates(screen.tree)
            listed = "; ".join(c.describe() for c in found) or "no controls"
            missed.append(f"{name} (owner {screen.owner}, WDA auto-detects "
                          f"{screen.auto or 'another app'}): none of its {len(locs)} locators matches; "
                          f"candidates: {listed}")
    if not missed:
        return Check(f"profile-{recipe}", title, OK, "; ".join(matched))
    status = WARN if recipe in RECORDED_ONLY else FAIL
    fix = (f"add a locator for {recipe} under `locators:` in lab.yaml (e.g. `{recipe}: [{{predicate: "
           f"\"type == 'XCUIElementTypeButton' AND label == '...'\", app: BUNDLE, "
           "source: \"survey ...\"}]`) "
           "from the candidates above, then rerun this check with --lab; and send the profile to the "
           "harness maintainers")
    return Check(f"profile-{recipe}", title, status, "; ".join(missed + matched), fix)


def check_profile(path: str | Path, lab_locators: Mapping[str, tuple[Locator, ...]] | None = None
                  ) -> tuple[PhoneProfile, list[Check]]:
    """Every recipe table against the profile at ``path``."""
    profile = read_profile(path)
    if profile.ios_major not in ios.IOS_VERSIONS:
        raise UsageError(f"--profile {path}: iOS {profile.ios_major} is not one the harness supports "
                         f"({', '.join(map(str, ios.IOS_VERSIONS))})")
    return profile, [check_recipe(r, profile, lab_locators) for r in L.RECIPES]
