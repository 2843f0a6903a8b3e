"""Phone profiles: what a virtual iPhone of each iOS major shows to XCTest/WDA and writes to its log.

The data lives in this folder, one file per major (``ios16.yaml`` ... ``ios27.yaml``), each later
major extending an earlier one; ``sources.yaml`` holds the public sources that elements and log
lines cite, and ``variants.yaml`` the points the evidence leaves open (:mod:`harness.sim.variants`).
This module loads and checks them: every provenance names a source of ``sources.yaml`` or says
"unverified" (or "invented"), every variant value names its evidence, every ``extends`` and
``patch`` points at something that exists. A bad file is a :class:`ProfileError` naming the file
and the fix, at load time (the tests load every profile).

The harness side never reads these files: its locator tables (``harness.phone.locators``) come from
the evidence itself, so a recipe passes only if it finds what the profile shows.
"""

from __future__ import annotations

import copy
import functools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).parent
PROFILE_FILE = re.compile(r"^ios(\d+)\.yaml$")
FREE_TEXT = ("unverified", "invented", "inference", "survey")
"""A provenance may start with one of these words instead of a source key ("survey <model> <iOS
build> <date>": seen on a real phone by ``harness phone survey``)."""
_KEY = re.compile(r"[a-z0-9][a-z0-9.-]*[a-z0-9]")


class ProfileError(ValueError):
    """A profile, sources or variants file is malformed; the message names the file and the fix."""


def _load_yaml(name: str) -> Any:
    path = HERE / name
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ProfileError(f"{path}: cannot read it ({exc})") from None


@functools.cache
def sources() -> dict[str, str]:
    """Source key -> citation (``sources.yaml``)."""
    data = _load_yaml("sources.yaml")
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        raise ProfileError(f"{HERE / 'sources.yaml'}: expected a mapping of key -> citation text")
    return {str(k): " ".join(str(v).split()) for k, v in data.items()}


def check_provenance(text: Any, where: str) -> str:
    """``text`` if it starts with a source key or with unverified/invented/inference; else ProfileError."""
    if not isinstance(text, str) or not text.strip():
        raise ProfileError(f"{where}: a provenance is required (a key of sources.yaml, or 'unverified: why')")
    first = text.strip().split()[0].rstrip(":;,()")
    if first.lower() in FREE_TEXT or first in sources():
        return text
    raise ProfileError(
        f"{where}: provenance {text!r} starts with neither a key of sources.yaml nor "
        f"'unverified'/'invented'; known keys: {', '.join(sorted(sources()))}"
    )


def cited(text: str) -> list[str]:
    """The source keys a provenance string names, in order."""
    return [w for w in dict.fromkeys(_KEY.findall(text)) if w in sources()]


# -- profiles ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Screen:
    """One screen (a window of one app) as the profile describes it."""

    name: str
    owner: str
    tree: list[dict[str, Any]]
    provenance: str
    app_label: str = ""
    full_screen: bool = False
    """Covers the whole screen: its owner then runs in the foreground
    (XCUIApplicationStateRunningForeground)."""


@dataclass(frozen=True)
class LineFormat:
    """One plausible way the audio daemon logs an interruption it posts to an app."""

    name: str
    began: str
    ended: str
    pattern: str | None
    provenance: str


@dataclass(frozen=True)
class Profile:
    ios: int
    version: str
    files: tuple[str, ...]
    defaults: dict[str, str]
    system_apps: dict[str, str]
    screens: dict[str, Screen]
    developer_services: frozenset[str]
    audio_daemon: dict[str, str]
    interruption_formats: dict[str, LineFormat]
    call_lines: dict[str, dict[str, str]]
    live_voicemail: dict[str, Any]
    log_volume: dict[str, dict[str, int]]
    raw: dict[str, Any] = field(repr=False, default_factory=dict)

    def screen(self, name: str) -> Screen:
        try:
            return self.screens[name]
        except KeyError:
            raise ProfileError(
                f"iOS {self.ios} profile ({', '.join(self.files)}) has no screen {name!r}; "
                f"screens: {', '.join(sorted(self.screens))}"
            ) from None

    def elements(self) -> list[tuple[str, dict[str, Any]]]:
        """Every element node of every screen as (screen name, node), templates included."""
        out: list[tuple[str, dict[str, Any]]] = []
        for screen in self.screens.values():
            for node in _walk(screen.tree):
                out.append((screen.name, node))
        return out


def majors() -> tuple[int, ...]:
    """The iOS majors that have a profile file, ascending."""
    found = [int(m.group(1)) for p in HERE.iterdir() if (m := PROFILE_FILE.match(p.name))]
    return tuple(sorted(found))


def _walk(nodes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for node in nodes:
        out.append(node)
        if "template" in node:
            out += _walk([node["template"]])
        out += _walk(node.get("children") or [])
    return out


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict) and key != "tree":
            out[key] = _merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _raw(major: int, seen: tuple[int, ...] = ()) -> tuple[dict[str, Any], tuple[str, ...]]:
    name = f"ios{major}.yaml"
    if major in seen:
        raise ProfileError(f"{HERE / name}: 'extends' loops ({' -> '.join(map(str, (*seen, major)))})")
    data = _load_yaml(name)
    if not isinstance(data, dict) or data.get("ios") != major:
        raise ProfileError(f"{HERE / name}: expected a mapping with 'ios: {major}'")
    parent = data.get("extends")
    if parent is None:
        return data, (name,)
    if parent not in majors():
        raise ProfileError(
            f"{HERE / name}: extends {parent!r}, which has no profile file "
            f"(profiles: {', '.join(map(str, majors()))})"
        )
    base, files = _raw(int(parent), (*seen, major))
    patches = data.get("patch") or {}
    merged = _merge(
        {k: v for k, v in base.items() if k != "patch"},
        {k: v for k, v in data.items() if k not in ("patch", "extends")},
    )
    merged["patch"] = {**(base.get("patch") or {}), **patches}
    return merged, (*files, name)


@functools.cache
def load(major: int) -> Profile:
    """The profile of iOS ``major`` (ProfileError if it has no file or a file is malformed)."""
    if major not in majors():
        raise ProfileError(
            f"iOS {major} has no phone profile; profiles: {', '.join(map(str, majors()))} "
            f"(add harness/sim/profiles/ios{major}.yaml extending the nearest one)"
        )
    data, files = _raw(major)
    return _build(data, files, set(data.get("patch") or {}))


def load_file(path: str | Path) -> Profile:
    """A profile from a file of its own (``harness phone survey``'s ``profile.yaml``): the same format,
    ``extends`` naming a shipped major whose screens, lines and defaults it inherits and replaces.
    Screens marked ``surveyed: true`` are what a phone showed: the shipped majors' ``patch`` entries
    leave them alone. ProfileError naming the file and the fix."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ProfileError(f"{path}: cannot read it ({' '.join(str(exc).split())[:200]})") from None
    if not isinstance(data, dict) or not isinstance(data.get("ios"), int) or "version" not in data:
        raise ProfileError(f"{path}: not a phone profile (expected a mapping with 'ios: N' and 'version:')")
    parent = data.get("extends")
    if parent not in majors():
        raise ProfileError(f"{path}: extends {parent!r}, which has no shipped profile "
                           f"(profiles: {', '.join(map(str, majors()))}); write 'extends: N' with the "
                           "nearest major")
    base, files = _raw(int(parent))
    own = data.get("patch") or {}
    merged = _merge({k: v for k, v in base.items() if k != "patch"},
                    {k: v for k, v in data.items() if k not in ("patch", "extends")})
    merged["patch"] = {**(base.get("patch") or {}), **own}
    from harness.errors import UsageError

    try:
        return _build(merged, (*files, str(path)), set(own))
    except UsageError as exc:  # a variant value the table does not know
        raise ProfileError(str(exc)) from None


def _build(data: dict[str, Any], files: tuple[str, ...], own_patches: set[str]) -> Profile:
    """A merged profile checked and built; ``own_patches``: the patch keys that must find an element
    (a surveyed file's screens replace the shipped ones, and with them elements a shipped patch names)."""
    where = " + ".join(files)
    patches = data.get("patch") or {}
    screens: dict[str, Screen] = {}
    patched: set[str] = set()
    for name, spec in (data.get("screens") or {}).items():
        if not isinstance(spec, dict) or "owner" not in spec or "tree" not in spec:
            raise ProfileError(f"{where}: screen {name!r} needs 'owner' and 'tree'")
        provenance = check_provenance(spec.get("provenance", "unverified"), f"{where}: screen {name}")
        tree = copy.deepcopy(spec["tree"])
        for node in _walk(tree):
            key = node.get("key")
            if key in patches and not spec.get("surveyed"):
                node.update(copy.deepcopy(patches[key]))
                patched.add(key)
            if "provenance" in node:
                check_provenance(
                    node["provenance"], f"{where}: screen {name}, element {key or node.get('label')}"
                )
        screens[name] = Screen(
            name,
            str(spec["owner"]),
            tree,
            provenance,
            str(spec.get("app_label", "")),
            bool(spec.get("full_screen", False)),
        )
    unknown = own_patches - patched
    if unknown:
        raise ProfileError(f"{where}: patch names element keys no screen has: {', '.join(sorted(unknown))}")
    log = data.get("log") or {}
    formats = {}
    for name, f in (log.get("interruption") or {}).items():
        pattern = f.get("pattern")
        if pattern is not None:
            groups = set(re.compile(pattern).groupindex)
            if "type" not in groups or not groups & {"bundle", "pid", "process"}:
                raise ProfileError(
                    f"{where}: interruption format {name}: the pattern needs (?P<type>) and one of "
                    "(?P<bundle>), (?P<pid>), (?P<process>) (the lab schema's rule), or pattern: null"
                )
        formats[name] = LineFormat(
            name,
            str(f["began"]),
            str(f["ended"]),
            pattern,
            check_provenance(f.get("provenance"), f"{where}: interruption {name}"),
        )
    daemon = dict(log.get("audio_daemon") or {})
    check_provenance(daemon.get("provenance"), f"{where}: log.audio_daemon")
    for name, line in (log.get("call") or {}).items():
        check_provenance(line.get("provenance"), f"{where}: log.call.{name}")
    lv = dict(log.get("live_voicemail") or {})
    check_provenance(lv.get("provenance"), f"{where}: log.live_voicemail")
    volume = dict(log.get("volume") or {})
    check_provenance(volume.pop("provenance", None), f"{where}: log.volume")
    dev = (data.get("lockdownd") or {}).get("developer_services") or {}
    check_provenance(dev.get("provenance"), f"{where}: lockdownd.developer_services")
    from harness.sim import variants  # the variant table checks the profile's defaults

    defaults = {str(k): str(v) for k, v in (data.get("defaults") or {}).items()}
    for name, value in defaults.items():
        variants.check(name, value, f"{where}: defaults")
    return Profile(
        ios=int(data["ios"]),
        version=str(data["version"]),
        files=files,
        defaults=defaults,
        system_apps={str(k): str(v) for k, v in (data.get("system_apps") or {}).items()},
        screens=screens,
        developer_services=frozenset(dev.get("names") or ()),
        audio_daemon={k: str(v) for k, v in daemon.items()},
        interruption_formats=formats,
        call_lines={k: {kk: str(vv) for kk, vv in v.items()} for k, v in (log.get("call") or {}).items()},
        live_voicemail=lv,
        log_volume={k: {kk: int(vv) for kk, vv in v.items()} for k, v in volume.items()},
        raw=data,
    )
