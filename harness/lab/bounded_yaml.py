"""Reading a small YAML file a person wrote, with bounds: size, encoding, nesting, aliases, keys.

``yaml.safe_load`` alone trusts its input's shape: an alias bomb (621 bytes that stand for 10^9
values) passes it in 2 ms and then costs gigabytes in whatever walks the result; 50,000 nested
``[`` end in a RecursionError; a duplicate key silently keeps the last value; ``/dev/zero`` or a
FIFO is read forever (../shared/reference/reliability-probe.md §2 and finding 4). Here:

* only a regular file of at most ``max_bytes`` is read (a FIFO, device or socket is refused before
  it is opened for reading);
* it must be UTF-8 (a UTF-8 byte-order mark is fine; UTF-16/32 and other encodings are refused with
  where the first bad byte is);
* nesting deeper than ``MAX_DEPTH`` and documents that expand (through aliases) to more than
  ``MAX_VALUES`` values are refused before anything walks them;
* a key given twice in one mapping is an error naming both lines (merge keys ``<<`` may still be
  overridden, as YAML says).

Every problem is a :class:`BoundedYamlError` with one line that names it.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import ConstructorError
from yaml.nodes import MappingNode, Node, SequenceNode

MAX_BYTES = 1024 * 1024
MAX_DEPTH = 64
MAX_VALUES = 100_000
_BOMS = ((b"\x00\x00\xfe\xff", "UTF-32"), (b"\xff\xfe\x00\x00", "UTF-32"), (b"\xfe\xff", "UTF-16"),
         (b"\xff\xfe", "UTF-16"))


class BoundedYamlError(ValueError):
    """The file cannot be a small YAML document a person wrote; the message says why and where."""


def read_text(path: str | os.PathLike[str], max_bytes: int = MAX_BYTES) -> str:
    """The UTF-8 text of a regular file of at most ``max_bytes`` (BoundedYamlError otherwise;
    OSError, e.g. not found, passes through for the caller to word)."""
    path = Path(path)
    st = path.stat()
    if stat.S_ISDIR(st.st_mode):
        raise IsADirectoryError(21, "Is a directory", str(path))
    if not stat.S_ISREG(st.st_mode):
        raise BoundedYamlError("not a regular file (a FIFO, device or socket); give a file")
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):  # replaced since the stat above
            raise BoundedYamlError("not a regular file (a FIFO, device or socket); give a file")
        data = b""
        while len(data) <= max_bytes:
            chunk = os.read(fd, max_bytes + 1 - len(data))
            if not chunk:
                break
            data += chunk
    finally:
        os.close(fd)
    if len(data) > max_bytes:
        raise BoundedYamlError(f"larger than {max_bytes // 1024} KiB: not a lab file a person wrote")
    for bom, name in _BOMS:
        if data.startswith(bom):
            raise BoundedYamlError(f"saved as {name} (it starts with a {name} byte-order mark); "
                                   "save it as UTF-8")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise BoundedYamlError(f"not UTF-8 text: byte {data[exc.start]:#04x} at line {line}, column "
                               f"{column}; save the file as UTF-8") from None


class _Loader(yaml.SafeLoader):
    """SafeLoader with a nesting bound while composing and a duplicate-key check while constructing."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node:
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                mark = self.peek_event().start_mark
                raise BoundedYamlError(f"nested more than {MAX_DEPTH} levels deep at line {mark.line + 1}, "
                                       f"column {mark.column + 1}")
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:
        if isinstance(node, MappingNode):
            seen: dict[Any, Any] = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = self.construct_object(key_node, deep=True)
                try:
                    first = seen.get(key)
                except TypeError:
                    continue  # an unhashable key: the constructor below says so
                if first is not None:
                    raise ConstructorError(None, None, f"key {str(key)[:60]!r} given twice (first at line "
                                           f"{first.line + 1}); keep one", key_node.start_mark)
                seen[key] = key_node.start_mark
        return super().construct_mapping(node, deep)


def _expanded(root: Node) -> tuple[int, int]:
    """(values, depth) ``root`` stands for once every alias is expanded; shared nodes are counted
    from a memo, so an alias bomb is measured in microseconds. Iterative: alias chains may be long."""
    memo: dict[int, tuple[int, int]] = {}
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        children = _children(node)
        if done:
            size, depth = 1, 1
            for c in children:
                cs, cd = memo.get(id(c), (1, 1))  # a cycle (recursive alias) counts once
                size, depth = size + cs, max(depth, cd + 1)
            memo[key] = (min(size, 10 * MAX_VALUES), min(depth, 10 * MAX_DEPTH))
        elif key not in memo:
            memo[key] = (1, 1)  # provisional: marks it in progress
            stack.append((node, True))
            stack.extend((c, False) for c in children if id(c) not in memo)
    return memo[id(root)]


def _children(node: Node) -> list[Node]:
    if isinstance(node, SequenceNode):
        return list(node.value)
    if isinstance(node, MappingNode):
        return [n for pair in node.value for n in pair]
    return []


def loads(text: str, max_values: int = MAX_VALUES) -> Any:
    """Parse one YAML document with the bounds above (BoundedYamlError / yaml.YAMLError)."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        size, depth = _expanded(node)
        if size > max_values:
            raise BoundedYamlError(f"expands to more than {max_values} values (aliases repeating aliases?): "
                                   "not a lab file")
        if depth > MAX_DEPTH:
            raise BoundedYamlError(f"nested more than {MAX_DEPTH} levels deep once its aliases are expanded")
        return loader.construct_document(node)
    finally:
        loader.dispose()
