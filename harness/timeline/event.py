from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Event:
    """One thing that happened, at ``t_ns`` on the lab's monotonic clock.

    ``source`` says who saw it (``peer``, ``device-log``, ``action``, ``audio``, ``mark``...),
    ``kind`` what it was (``ice-state``, ``interruption-began``...), ``fields`` the details (JSON
    values only).
    """

    t_ns: int
    source: str
    kind: str
    fields: dict[str, Any] = field(default_factory=dict)

    @property
    def t_s(self) -> float:
        return self.t_ns / 1e9

    def to_json(self) -> str:
        return json.dumps(
            {"t_ns": self.t_ns, "source": self.source, "kind": self.kind, **self.fields},
            separators=(",", ":"),
            default=_jsonable,
        )

    @classmethod
    def from_json(cls, line: str) -> Event:
        d = json.loads(line)
        t_ns = d.pop("t_ns")
        source = d.pop("source")
        kind = d.pop("kind")
        return cls(int(t_ns), str(source), str(kind), d)


def _jsonable(value: Any) -> Any:
    if hasattr(value, "tolist"):  # numpy arrays and scalars
        return value.tolist()
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    return str(value)
