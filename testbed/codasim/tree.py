"""What a volume holds, as a map a test can compare: path -> Node.

Paths start at "/" (the root directory 1.1).  Vnodes no directory reaches
(orphans, what a minimal-chain restore leaves) are listed the way
codadump2tar files them, ``lost+found/%08x.%08x`` (vnode, uniquifier), with
their subtree below.  A live server volume never has orphans; a restored one
may.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass

from .model import Vnode, VnodeType, Volume

ROOT = (1, 1)


@dataclass(frozen=True)
class Node:
    kind: str  # "dir", "file", "symlink"
    mode: int  # permission bits (& 0o7777)
    data: bytes | None = None  # file contents or symlink target; None for directories

    def to_json(self) -> list:
        return [self.kind, self.mode, None if self.data is None else base64.b64encode(self.data).decode()]

    @classmethod
    def from_json(cls, j: list) -> "Node":
        return cls(j[0], j[1], None if j[2] is None else base64.b64decode(j[2]))

    def __str__(self) -> str:
        if self.kind == "dir":
            return f"dir {self.mode:04o}"
        if self.kind == "symlink":
            return f"symlink {self.mode:04o} -> {self.data.decode(errors='backslashreplace')}"
        return f"file {self.mode:04o} {len(self.data)} bytes"


State = dict[str, Node]

_KIND = {VnodeType.DIRECTORY: "dir", VnodeType.FILE: "file", VnodeType.SYMLINK: "symlink"}


def node_of(v: Vnode) -> Node:
    if v.vtype == VnodeType.DIRECTORY:
        return Node("dir", v.mode & 0o7777)
    return Node(_KIND[v.vtype], v.mode & 0o7777, v.data or b"")


def _children(v: Vnode) -> list[tuple[bytes, tuple[int, int]]]:
    if v.dir is None:
        return []
    return [(e.name, e.fid) for e in v.dir.entries() if e.name not in (b".", b"..")]


def _join(base: str, name: bytes) -> str:
    n = name.decode("utf-8", errors="backslashreplace")
    return base + n if base.endswith("/") else f"{base}/{n}"


def volume_state(vol: Volume) -> State:
    vnodes = {v.fid: v for v in vol.vnodes()}
    state: State = {}
    reached: set[tuple[int, int]] = set()

    def walk(fid: tuple[int, int], path: str) -> None:
        v = vnodes.get(fid)
        if v is None or fid in reached:
            return  # a dangling name, or a loop: nothing more to list
        reached.add(fid)
        state[path] = node_of(v)
        for name, child in _children(v):
            walk(child, _join(path, name))

    walk(ROOT, "/")
    named_by_orphan = set()
    for fid, v in vnodes.items():
        if fid not in reached:
            named_by_orphan.update(child for _, child in _children(v))
    for fid in sorted(vnodes):
        if fid not in reached and fid not in named_by_orphan:
            walk(fid, f"lost+found/{fid[0]:08x}.{fid[1]:08x}")
    for fid in sorted(vnodes):  # orphan cycles
        if fid not in reached:
            walk(fid, f"lost+found/{fid[0]:08x}.{fid[1]:08x}")
    return state


def orphans(state: State) -> State:
    return {p: n for p, n in state.items() if p.startswith("lost+found/")}


def reachable(state: State) -> State:
    return {p: n for p, n in state.items() if p.startswith("/")}


def state_to_json(state: State) -> dict:
    return {p: n.to_json() for p, n in state.items()}


def state_from_json(j: dict) -> State:
    return {p: Node.from_json(n) for p, n in j.items()}


def diff(a: State, b: State) -> list[str]:
    """Human-readable differences, for assertion messages."""
    out = []
    for p in sorted(set(a) | set(b)):
        if p not in b:
            out.append(f"- {p}: {a[p]}")
        elif p not in a:
            out.append(f"+ {p}: {b[p]}")
        elif a[p] != b[p]:
            out.append(f"~ {p}: {a[p]} -> {b[p]}")
    return out
