"""The .newlist/.ancient vnode lists (ref §12.2) and the IsModified rule (§12.4).

Text, one line each, LF-terminated, as vvlist.cc writes and reads them.  An
ancient list is read the way the server reads it: entries of one list slot
are pushed at the head, so they come back in reverse file order (this fixes
the order of several D_RMVNODE records in one slot, ref §22.5).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from pathlib import Path

from .model import LARGE, SMALL, Vnode, Volume, VolType, bit_of

END_LARGE = "End of the Large Vnode List.\n"

_HEADER = re.compile(r"^\S+ dump of backup vol ([0-9a-fA-F]+)\(([0-9a-fA-F]+)\) for R/W vol ([0-9a-fA-F]+)")
_LIST = re.compile(r"^Start of (\S+) list, (\d+) vnodes, (\d+) lists\.", re.IGNORECASE)
_LINE = re.compile(r"^(-?\d+)\.(-?\d+) \((-?\d+(?:\.-?\d+){7})\) \(([0-9a-fA-F]+)\.([0-9a-fA-F]+)\)(?: (\d+))?")


def list_path(backup_dir: Path, group_id: int, replica_id: int, suffix: str) -> Path:
    """<vicedir>/backup/<groupid>.<replicaid>.<suffix>, lower-case hex, no padding."""
    if group_id > 0:
        return backup_dir / f"{group_id:x}.{replica_id:x}.{suffix}"
    return backup_dir / f"{replica_id:x}.{suffix}"


def header_line(clone: Volume, level: int, unique: int) -> str:
    kind = "Incremental" if level else "Full"
    when = time.ctime(clone.copy_date)
    if clone.type == VolType.BACKUP:
        return (f"{kind} dump of backup vol {clone.id:08x}({unique & 0xFFFFFFFF:x}) for R/W vol "
                f"{clone.parent_id:08x}, (level {level}) backup at {when}\n")
    return (f"{kind} dump of clone vol {clone.id:08x}({unique & 0xFFFFFFFF:x}) for R/W vol "
            f"{clone.parent_id:08x}, (level {level}) cloned at {when}\n")


def list_header(vclass: str, nvnodes: int, nlists: int) -> str:
    # Current servers write the class in lower case (ref §12.2).
    return f"Start of {vclass} list, {nvnodes} vnodes, {nlists} lists.\n"


def vnode_line(v: Vnode, level: int) -> str:
    sites = ".".join(str(s if s < 2**31 else s - 2**32) for s in v.vv.versions)
    return f"{v.vnum}.{v.uniq} ({sites}) ({v.vv.store_host:x}.{v.vv.store_uniq:x}) {level}\n"


@dataclass
class Entry:
    uniq: int
    store_id: tuple[int, int]
    level: int
    seen: bool = False


@dataclass
class Table:
    """One class of an ancient list: slot -> entries (head-inserted)."""

    nlists: int
    slots: dict[int, list[Entry]] = field(default_factory=dict)

    def is_modified(self, bit: int, uniq: int, store_id: tuple[int, int], level: int) -> tuple[bool, int]:
        """(dump it?, level to record) -- vvtable::IsModified."""
        if bit >= self.nlists:
            return True, level
        for e in self.slots.get(bit, ()):
            if e.uniq == uniq:
                e.seen = True
                if e.store_id == store_id and e.level < level:
                    return False, e.level
                return True, level
        return True, level

    def unseen(self, bit: int) -> list[Entry]:
        return [e for e in self.slots.get(bit, ()) if not e.seen]


@dataclass
class Ancient:
    parent_id: int
    unique: int
    large: Table
    small: Table

    def table(self, vclass: str) -> Table:
        return self.large if vclass == LARGE else self.small


def parse(text: str) -> Ancient | None:
    """An ancient list, or None when its header does not parse (ValidListVVHeader)."""
    lines = text.splitlines(keepends=True)
    if not lines:
        return None
    m = _HEADER.match(lines[0])
    if not m:
        return None
    tables: dict[str, Table] = {}
    current: Table | None = None
    for line in lines[1:]:
        h = _LIST.match(line)
        if h:
            vclass = h.group(1).lower()
            if vclass not in (LARGE, SMALL) or int(h.group(3)) <= 0:
                return None
            current = tables[vclass] = Table(int(h.group(3)))
            continue
        if line == END_LARGE:
            current = None
            continue
        e = _LINE.match(line)
        if e and current is not None:
            vnum = int(e.group(1))
            bit = bit_of(vnum)
            if not 0 <= bit < current.nlists:
                return None  # the server asserts here; treat as unusable
            entry = Entry(int(e.group(2)), (int(e.group(4), 16), int(e.group(5), 16)),
                          int(e.group(6) or 0))
            current.slots.setdefault(bit, []).insert(0, entry)
    if LARGE not in tables or SMALL not in tables:
        return None
    return Ancient(int(m.group(3), 16), int(m.group(2), 16), tables[LARGE], tables[SMALL])
