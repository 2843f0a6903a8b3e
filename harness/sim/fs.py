"""An in-memory file tree: what AFC sees of a virtual phone (media partition, crash reports)."""

from __future__ import annotations

import posixpath
import time
from dataclasses import dataclass, field


@dataclass
class Node:
    is_dir: bool
    data: bytearray = field(default_factory=bytearray)
    mtime_ns: int = field(default_factory=time.time_ns)
    birth_ns: int = field(default_factory=time.time_ns)


def norm(path: str) -> str:
    p = posixpath.normpath("/" + (path or "/").lstrip("/"))
    return "/" if p in ("/", "//", ".") else p


class VirtualFS:
    """Paths are absolute POSIX paths inside the service's root ("/" is the root)."""

    def __init__(self, dirs: tuple[str, ...] = ()) -> None:
        self.nodes: dict[str, Node] = {"/": Node(True)}
        for d in dirs:
            self.makedirs(d)

    def get(self, path: str) -> Node | None:
        return self.nodes.get(norm(path))

    def makedirs(self, path: str) -> None:
        path = norm(path)
        parts = [p for p in path.split("/") if p]
        cur = ""
        for part in parts:
            cur += "/" + part
            node = self.nodes.get(cur)
            if node is None:
                self.nodes[cur] = Node(True)
            elif not node.is_dir:
                raise FileExistsError(cur)

    def write(self, path: str, data: bytes, mtime_ns: int | None = None) -> None:
        path = norm(path)
        self.makedirs(posixpath.dirname(path))
        node = Node(False, bytearray(data))
        if mtime_ns is not None:
            node.mtime_ns = node.birth_ns = mtime_ns
        self.nodes[path] = node

    def read(self, path: str) -> bytes:
        node = self.get(path)
        if node is None or node.is_dir:
            raise FileNotFoundError(path)
        return bytes(node.data)

    def listdir(self, path: str) -> list[str]:
        path = norm(path)
        prefix = "/" if path == "/" else path + "/"
        return sorted(
            p[len(prefix) :]
            for p in self.nodes
            if p != path and p.startswith(prefix) and "/" not in p[len(prefix) :]
        )

    def remove(self, path: str, recursive: bool = False) -> None:
        path = norm(path)
        if path not in self.nodes:
            raise FileNotFoundError(path)
        children = [p for p in self.nodes if p.startswith(path + "/")]
        if children and not recursive:
            raise OSError(f"directory not empty: {path}")
        for p in children:
            del self.nodes[p]
        if path != "/":
            del self.nodes[path]

    def rename(self, src: str, dst: str) -> None:
        src, dst = norm(src), norm(dst)
        if src not in self.nodes:
            raise FileNotFoundError(src)
        moved = {p: n for p, n in self.nodes.items() if p == src or p.startswith(src + "/")}
        for p in moved:
            del self.nodes[p]
        for p, n in moved.items():
            self.nodes[dst + p[len(src) :]] = n
