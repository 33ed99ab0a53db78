"""The server's volume state: volumes, vnode lists, vnodes, version vectors.

Mutable on purpose (this is a server's memory), with a plain JSON form for
the state directory.  Field names follow Coda's VolumeDiskData and
VnodeDiskObject (ref coda-dump-format.md §4, §6.1) so a reader can check a
dump field by field against them.
"""

from __future__ import annotations

import base64
import enum
from dataclasses import dataclass, field

from coda_restore.voldump.dirpage import Directory


class VolType(enum.IntEnum):
    RW = 0
    RO = 1
    BACKUP = 2
    REPLICATED = 3
    NONREPLICATED = 4


class VnodeType(enum.IntEnum):
    FILE = 1
    DIRECTORY = 2
    SYMLINK = 3


LARGE, SMALL = "large", "small"

DEFAULT_ACL = "2\n0\nSystem:Administrators\t127\nSystem:AnyUser\t9\n"


def vclass_of(vnum: int) -> str:
    return LARGE if vnum & 1 else SMALL


def bit_of(vnum: int) -> int:
    """List index ("bit number") of a vnode number, both classes."""
    return (vnum - 1) >> 1


def vnum_of(bit: int, vclass: str) -> int:
    return 2 * bit + 1 if vclass == LARGE else 2 * bit + 2


@dataclass
class VV:
    versions: list[int] = field(default_factory=lambda: [0] * 8)
    store_host: int = 0
    store_uniq: int = 0
    flags: int = 0

    def copy(self) -> "VV":
        return VV(list(self.versions), self.store_host, self.store_uniq, self.flags)

    @property
    def store_id(self) -> tuple[int, int]:
        return self.store_host, self.store_uniq

    def to_json(self) -> list:
        return [self.versions, self.store_host, self.store_uniq, self.flags]

    @classmethod
    def from_json(cls, j: list) -> "VV":
        return cls(list(j[0]), j[1], j[2], j[3])


@dataclass
class Vnode:
    vnum: int
    uniq: int
    vtype: VnodeType
    mode: int
    link_count: int = 1
    length: int = 0
    data_version: int = 1
    vv: VV = field(default_factory=VV)
    mtime: int = 0
    author: int = 0
    owner: int = 0
    vparent: int = 0
    uparent: int = 0
    # files and symlinks: the container's bytes; None = no container (D_BADINODE)
    data: bytes | None = None
    # directories: the page image and the ACL text ('X')
    dir: Directory | None = None
    acl: str | None = None
    acl_raw: bytes | None = None  # an old-style 'A' ACL, kept as restored

    @property
    def fid(self) -> tuple[int, int]:
        return self.vnum, self.uniq

    def clone(self) -> "Vnode":
        v = Vnode(**{k: getattr(self, k) for k in self.__dataclass_fields__})
        v.vv = self.vv.copy()
        if self.dir is not None:
            v.dir = Directory.from_pages(self.dir.image())
        return v

    def to_json(self) -> dict:
        j = {k: getattr(self, k) for k in ("vnum", "uniq", "mode", "link_count", "length",
                                           "data_version", "mtime", "author", "owner",
                                           "vparent", "uparent", "acl")}
        j["vtype"] = int(self.vtype)
        j["vv"] = self.vv.to_json()
        j["data"] = None if self.data is None else base64.b64encode(self.data).decode()
        j["dir"] = None if self.dir is None else base64.b64encode(self.dir.image()).decode()
        j["acl_raw"] = None if self.acl_raw is None else base64.b64encode(self.acl_raw).decode()
        return j

    @classmethod
    def from_json(cls, j: dict) -> "Vnode":
        j = dict(j)
        j["vtype"] = VnodeType(j["vtype"])
        j["vv"] = VV.from_json(j["vv"])
        j["data"] = None if j["data"] is None else base64.b64decode(j["data"])
        j["dir"] = None if j["dir"] is None else Directory.from_pages(base64.b64decode(j["dir"]))
        j["acl_raw"] = None if j.get("acl_raw") is None else base64.b64decode(j["acl_raw"])
        return cls(**j)


@dataclass
class VnodeIndex:
    """One vnode class: nLists lists; list b holds vnodes of number 2b+1 or 2b+2."""

    nlists: int
    lists: dict[int, list[Vnode]] = field(default_factory=dict)

    def __iter__(self):
        """Vnodes in dump order: lists 0..nLists-1, each in list order."""
        for b in sorted(self.lists):
            yield from self.lists[b]

    def __len__(self) -> int:
        return sum(len(v) for v in self.lists.values())

    def get(self, vnum: int, uniq: int) -> Vnode | None:
        for v in self.lists.get(bit_of(vnum), ()):
            if v.uniq == uniq:
                return v
        return None

    def slot(self, bit: int) -> list[Vnode]:
        return self.lists.get(bit, [])

    def clone(self) -> "VnodeIndex":
        return VnodeIndex(self.nlists, {b: [v.clone() for v in vs] for b, vs in self.lists.items() if vs})


@dataclass
class Volume:
    id: int
    name: str
    partition: str
    type: VolType
    parent_id: int
    group_id: int = 0
    clone_id: int = 0
    backup_id: int = 0
    uniquifier: int = 1  # next uniquifier to hand out
    stamp_version: int = 1
    in_service: int = 1
    blessed: int = 1
    maxquota: int = 0
    minquota: int = 0
    maxfiles: int = 0
    account_number: int = 0
    owner: int = 0
    creation_date: int = 0
    access_date: int = 0
    update_date: int = 0
    expiration_date: int = 0
    backup_date: int = 0
    copy_date: int = 0
    offline_message: str = ""
    motd: str = ""
    week_use: list[int] = field(default_factory=lambda: [0] * 7)
    day_use_date: int = 0
    day_use: int = 0
    vv: VV = field(default_factory=VV)
    large: VnodeIndex = field(default_factory=lambda: VnodeIndex(128))
    small: VnodeIndex = field(default_factory=lambda: VnodeIndex(256))
    large_step: int = 128
    small_step: int = 256
    replica_index: int = 0  # this server's slot in the group's version vectors
    locked: bool = False
    restored_from_id: int = 0

    def index(self, vclass: str) -> VnodeIndex:
        return self.large if vclass == LARGE else self.small

    def vnode(self, vnum: int, uniq: int) -> Vnode | None:
        return self.index(vclass_of(vnum)).get(vnum, uniq)

    def vnodes(self):
        yield from self.large
        yield from self.small

    @property
    def diskused(self) -> int:
        """1K blocks: file containers plus directory pages."""
        total = 0
        for v in self.vnodes():
            size = len(v.data or b"") if v.dir is None else v.dir.npages * 2048
            total += (size + 1023) // 1024
        return total

    @property
    def filecount(self) -> int:
        return len(self.large) + len(self.small)

    def to_json(self) -> dict:
        j = {k: getattr(self, k) for k in self.__dataclass_fields__
             if k not in ("vv", "large", "small", "type")}
        j["type"] = int(self.type)
        j["vv"] = self.vv.to_json()
        for name in (LARGE, SMALL):
            idx = self.index(name)
            j[name] = {"nlists": idx.nlists,
                       "lists": {str(b): [v.to_json() for v in vs] for b, vs in idx.lists.items() if vs}}
        return j

    @classmethod
    def from_json(cls, j: dict) -> "Volume":
        j = dict(j)
        j["type"] = VolType(j["type"])
        j["vv"] = VV.from_json(j["vv"])
        for name in (LARGE, SMALL):
            raw = j[name]
            j[name] = VnodeIndex(raw["nlists"], {int(b): [Vnode.from_json(v) for v in vs]
                                                 for b, vs in raw["lists"].items()})
        return cls(**j)
