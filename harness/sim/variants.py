"""Variants: each point the public evidence leaves open about a real iPhone, as a switch of the virtual lab.

The table is data (``harness/sim/profiles/variants.yaml``): a variant has a name, values, the
evidence for each value, a default and a ``field`` value. ``harness sim up --variant NAME=VALUE``
(repeatable) picks values for every phone of the lab; ``--variant field`` picks every variant's
``field`` value (the most hostile plausible combination), and a later ``NAME=VALUE`` overrides it.
A phone resolves the rest from its iOS profile's ``defaults`` (where the evidence differs by
version), then from the table's ``default``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

from harness.errors import UsageError

PRESETS = ("field",)
"""``--variant field``: every variant at its ``field`` value."""


@dataclass(frozen=True)
class Value:
    name: str
    evidence: tuple[str, ...]
    note: str = ""
    params: dict[str, Any] = field(default_factory=dict)
    """Numbers the value needs (a latency distribution, a replacement interval)."""


@dataclass(frozen=True)
class Variant:
    name: str
    about: str
    default: str
    field: str
    values: dict[str, Value]


@functools.cache
def catalog() -> dict[str, Variant]:
    """Variant name -> :class:`Variant`, checked: every value names its evidence (a source key or
    "unverified: ..."/"invented ..."), default and field are values."""
    from harness.sim import profiles

    data = profiles._load_yaml("variants.yaml")
    where = profiles.HERE / "variants.yaml"
    if not isinstance(data, dict):
        raise profiles.ProfileError(f"{where}: expected a mapping of variant name -> spec")
    out: dict[str, Variant] = {}
    for name, spec in data.items():
        values: dict[str, Value] = {}
        for value, v in (spec.get("values") or {}).items():
            evidence = tuple(str(e) for e in (v.get("evidence") or ()))
            if not evidence:
                raise profiles.ProfileError(f"{where}: {name}={value} names no evidence")
            for e in evidence:
                profiles.check_provenance(e, f"{where}: {name}={value}")
            values[str(value)] = Value(
                str(value), evidence, " ".join(str(v.get("note", "")).split()), dict(v.get("params") or {})
            )
        variant = Variant(
            str(name),
            " ".join(str(spec.get("about", "")).split()),
            str(spec.get("default")),
            str(spec.get("field")),
            values,
        )
        for role in ("default", "field"):
            if getattr(variant, role) not in values:
                raise profiles.ProfileError(
                    f"{where}: {name}: {role} {getattr(variant, role)!r} is not one of "
                    f"its values ({', '.join(values)})"
                )
        out[variant.name] = variant
    return out


def check(name: str, value: str, where: str = "--variant") -> None:
    """UsageError unless ``name`` is a variant and ``value`` one of its values."""
    table = catalog()
    if name not in table:
        raise UsageError(
            f"{where}: no variant {name!r}; variants: {', '.join(table)} "
            "(or the preset 'field'; see `harness sim variants`)"
        )
    if value not in table[name].values:
        raise UsageError(
            f"{where}: {name}={value!r} is not a value of {name}; values: {', '.join(table[name].values)}"
        )


def parse(items: list[str] | tuple[str, ...], option: str = "--variant") -> dict[str, str]:
    """``["field", "dial_prompt=none"]`` -> the chosen values (a preset expands in place; later wins).
    ``option`` names the command-line option in errors."""
    chosen: dict[str, str] = {}
    for item in items:
        item = item.strip()
        if item in PRESETS:
            chosen.update({v.name: v.field for v in catalog().values()})
            continue
        name, sep, value = item.partition("=")
        if not sep:
            raise UsageError(
                f"{option} {item!r}: use NAME=VALUE (e.g. dial_prompt=none) or the preset "
                "'field'; `harness sim variants` lists them"
            )
        check(name.strip(), value.strip(), option)
        chosen[name.strip()] = value.strip()
    return chosen


def resolve(chosen: dict[str, str], defaults: dict[str, str] | None = None) -> dict[str, str]:
    """Every variant's value for one phone: chosen, else the profile's default, else the table's."""
    defaults = defaults or {}
    return {name: chosen.get(name, defaults.get(name, v.default)) for name, v in catalog().items()}


def params(name: str, value: str) -> dict[str, Any]:
    """The numbers of one variant value (``variants.yaml`` ``params``)."""
    return catalog()[name].values[value].params


def as_args(chosen: dict[str, str]) -> list[str]:
    """``--variant NAME=VALUE`` arguments for ``harness sim up`` (sorted: stable command lines)."""
    out: list[str] = []
    for name, value in sorted(chosen.items()):
        out += ["--variant", f"{name}={value}"]
    return out


def table_rows() -> list[dict[str, Any]]:
    """One row per variant value, for ``harness sim variants`` (and its JSON form)."""
    from harness.sim import profiles

    rows = []
    per_major = {m: profiles.load(m).defaults for m in profiles.majors()}
    for v in catalog().values():
        for value in v.values.values():
            majors = [m for m, d in per_major.items() if d.get(v.name, v.default) == value.name]
            rows.append(
                {
                    "variant": v.name,
                    "value": value.name,
                    "default_on_ios": majors,
                    "field": value.name == v.field,
                    "evidence": list(value.evidence),
                    "note": value.note,
                    "about": v.about,
                }
            )
    return rows


def render_table() -> str:
    """The variant table as text: per variant its question, then each value with its evidence."""
    from harness.sim import profiles

    lines = [
        "Variants of the virtual iPhone (harness sim up --variant NAME=VALUE; --variant field = every",
        "variant's field value). Evidence keys are explained below the table.",
        "",
    ]
    rows = table_rows()
    used: list[str] = []
    for v in catalog().values():
        lines.append(f"{v.name}: {v.about}")
        for row in (r for r in rows if r["variant"] == v.name):
            tags = []
            if row["default_on_ios"]:
                tags.append("default on iOS " + ",".join(map(str, row["default_on_ios"])))
            if row["field"]:
                tags.append("field")
            head = f"  {row['value']:<18} {'[' + '; '.join(tags) + ']' if tags else ''}"
            lines.append(head.rstrip())
            for e in row["evidence"]:
                lines.append(f"      evidence: {e}")
                used += profiles.cited(e)
            if row["note"]:
                lines.append(f"      {row['note']}")
        lines.append("")
    lines.append("Evidence:")
    for key in dict.fromkeys(used):
        lines.append(f"  {key}: {profiles.sources()[key]}")
    return "\n".join(lines)
