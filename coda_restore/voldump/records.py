"""The records of a Coda ``voldump`` stream (ref/coda-dump-format.md §1-§7).

Every record is a frozen dataclass that remembers the byte ``offset`` of its
tag.  Values are kept as they were in the stream so that the writer can
reproduce any dump the reader accepts byte for byte:

* strings are the raw payload (``bytes``, NUL included when it was there);
  ``cstr()`` gives the C string Coda would see;
* ``order`` is the sequence of field tags as they appeared when that differs
  from the canonical order (None = canonical, every field present once);
* 32-bit fields are unsigned except the header level, which is signed
  (negative levels exist, §12.4).

``*.coda_normalised()`` returns what Coda's codamergedump writes when it
re-serialises a record through its C structs (§1.2, §13.5): canonical order,
strings cut at the first NUL and truncated to the struct's buffer, mode
masked to 12 bits, type to 3 bits, weekUse forced to 7 entries.
"""

from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass

DUMPBEGINMAGIC = 0xB3A11322
DUMPENDMAGIC = 0x3A214B6E
DUMPVERSION = 2
D_MAX = 20
DIR_PAGESIZE = 2048
DIR_MAXPAGES = 128
ACL_A_SIZE = 384  # old raw ACL: 384 bytes, then up to 16 NULs (400 on 32-bit servers)
ACL_A_SLACK = 16


class Tag(enum.IntEnum):
    """Section and record tags (§1.3); field tags are ASCII letters > 20."""

    DUMPHEADER = 1
    VOLUMEHEADER = 2
    SMALLINDEX = 3
    LARGEINDEX = 4
    VNODE = 5
    VV = 6
    ENDVV = 7
    DUMPEND = 8
    VOLUMEDISKDATA = 9
    NULLVNODE = 10
    DIRPAGES = 11
    FILEDATA = 12
    RMVNODE = 13
    BADINODE = 14


class VnodeClass(enum.IntEnum):
    """The two index sections; the value is the section tag.  Large (directory)
    vnodes have odd numbers 2b+1, small (file, symlink) even numbers 2b+2."""

    LARGE = Tag.LARGEINDEX
    SMALL = Tag.SMALLINDEX

    def vnode_number(self, slot: int) -> int:
        return 2 * slot + (1 if self is VnodeClass.LARGE else 2)


class VnodeType(enum.IntEnum):
    NULL = 0
    FILE = 1
    DIRECTORY = 2
    SYMLINK = 3


class DataKind(enum.Enum):
    """What follows a vnode's fields."""

    DIRPAGES = Tag.DIRPAGES  # directory pages, held in Vnode.pages
    FILEDATA = Tag.FILEDATA  # Vnode.size bytes, streamed by the reader
    BADINODE = Tag.BADINODE  # file whose container could not be read
    NONE = 0  # no data tag at all (invalid for restore, §17)


def slot_of(vnum: int) -> int:
    """List index ("bit number") of a vnode number, both classes (§5)."""
    return (vnum - 1) >> 1


def cstr(raw: bytes, bufsize: int | None = None) -> bytes:
    """The C string Coda reads from a String payload: up to the first NUL,
    truncated to ``bufsize - 1`` characters when a buffer size is given."""
    nul = raw.find(b"\0")
    s = raw if nul < 0 else raw[:nul]
    if bufsize is not None and len(s) > bufsize - 1:
        s = s[: bufsize - 1]
    return s


def cstring_payload(text: bytes | str) -> bytes:
    """A String payload as Coda writes it: the text plus its NUL."""
    if isinstance(text, str):
        text = text.encode("utf-8", "surrogateescape")
    return text + b"\0"


def _normal_str(raw: bytes, bufsize: int | None) -> bytes:
    return cstr(raw, bufsize) + b"\0"


@dataclass(frozen=True)
class VersionVector:
    """Eight site versions, the StoreId (host, uniquifier) and flags (§1.1)."""

    versions: tuple[int, ...] = (0,) * 8
    host: int = 0
    uniq: int = 0
    flags: int = 0
    order: tuple[int, ...] | None = None  # sub-field tags as read, if not canonical

    def canonical(self) -> "VersionVector":
        return dataclasses.replace(self, order=None) if self.order is not None else self


VV_TAGS = tuple(b"01234567suf")


@dataclass(frozen=True)
class DumpHeader:
    """The dump header (§3)."""

    volume_id: int
    parent_id: int = 0
    name: bytes = b"\0"  # raw String payload
    backup_date: int = 0
    level: int = 0  # 'i' Incremental, signed: 0 full, 1..9, negative levels
    oldest: int = 0
    latest: int = 0
    version: int = DUMPVERSION
    order: tuple[int, ...] | None = None
    offset: int = 0

    @property
    def volume_name(self) -> str:
        return cstr(self.name).decode("utf-8", "surrogateescape")

    @property
    def is_full(self) -> bool:
        return self.level == 0

    def coda_normalised(self) -> "DumpHeader":
        return dataclasses.replace(self, name=_normal_str(self.name, 32), version=DUMPVERSION, order=None)


HEADER_TAGS = tuple(b"vpnbiI")


@dataclass(frozen=True)
class VolumeDiskData:
    """The volume metadata section (§4), every dumped field of VolumeDiskData."""

    id: int = 0
    version: int = 0
    name: bytes = b"\0"
    partition: bytes = b"\0"
    in_service: int = 0
    blessed: int = 0
    uniquifier: int = 0
    type: int = 0
    parent_id: int = 0
    group_id: int = 0
    clone_id: int = 0
    backup_id: int = 0
    max_quota: int = 0
    min_quota: int = 0
    max_files: int = 0
    disk_used: int = 0
    file_count: int = 0
    link_count: int = 0
    account_number: int = 0
    owner: int = 0
    creation_date: int = 0
    access_date: int = 0
    update_date: int = 0
    expiration_date: int = 0
    backup_date: int = 0
    offline_message: bytes = b"\0"
    motd: bytes = b"\0"
    week_use: tuple[int, ...] = (0,) * 7
    day_use_date: int = 0
    day_use: int = 0
    vv: VersionVector = VersionVector()
    order: tuple[int, ...] | None = None
    offset: int = 0

    @property
    def volume_name(self) -> str:
        return cstr(self.name).decode("utf-8", "surrogateescape")

    def coda_normalised(self) -> "VolumeDiskData":
        week = (tuple(self.week_use) + (0,) * 7)[:7]
        return dataclasses.replace(
            self,
            name=_normal_str(self.name, 32),
            partition=_normal_str(self.partition, 32),
            offline_message=_normal_str(self.offline_message, 128),
            motd=_normal_str(self.motd, 128),
            week_use=week,
            in_service=self.in_service & 0xFF,
            blessed=self.blessed & 0xFF,
            type=self.type & 0xFF,
            link_count=self.link_count & 0xFFFF,
            vv=self.vv.canonical(),
            order=None,
        )


# (tag, attribute, encoding) in the order the server writes them.
VOLUME_FIELDS: tuple[tuple[int, str, str], ...] = tuple(
    (ord(t), a, e)
    for t, a, e in (
        ("i", "id", "I"), ("v", "version", "I"), ("n", "name", "S"), ("P", "partition", "S"),
        ("s", "in_service", "B"), ("+", "blessed", "B"), ("u", "uniquifier", "I"), ("t", "type", "B"),
        ("p", "parent_id", "I"), ("g", "group_id", "I"), ("c", "clone_id", "I"), ("b", "backup_id", "I"),
        ("q", "max_quota", "I"), ("m", "min_quota", "I"), ("x", "max_files", "I"), ("d", "disk_used", "I"),
        ("f", "file_count", "I"), ("l", "link_count", "H"), ("a", "account_number", "I"), ("o", "owner", "I"),
        ("C", "creation_date", "I"), ("A", "access_date", "I"), ("U", "update_date", "I"),
        ("E", "expiration_date", "I"), ("B", "backup_date", "I"), ("O", "offline_message", "S"),
        ("M", "motd", "S"), ("W", "week_use", "W"), ("D", "day_use_date", "I"), ("Z", "day_use", "I"),
        ("V", "vv", "V"),
    )
)


@dataclass(frozen=True)
class IndexHeader:
    """Opens the large (directory) or small (file) vnode section (§5)."""

    vclass: VnodeClass
    n_vnodes: int
    n_lists: int
    order: tuple[int, ...] | None = None
    offset: int = 0


@dataclass(frozen=True)
class Vnode:
    """A ``D_VNODE`` record (§6.1) and what its data part is (§6.2, §6.3).

    Directory pages are small (at most 128 x 2048 bytes) and are held in
    ``pages`` (the concatenated image, without the 'P' markers).  File data
    can be any size and is never held: the reader streams ``size`` bytes
    after yielding the record (see ``DumpReader.data_chunks``)."""

    vnum: int
    uniq: int
    type: int = VnodeType.FILE
    mode: int = 0o644
    link_count: int = 1
    length: int = 0
    data_version: int = 0
    vv: VersionVector = VersionVector()
    mtime: int = 0
    author: int = 0
    owner: int = 0
    vparent: int = 0
    uparent: int = 0
    acl: bytes | None = None  # 'X' String payload (text ACL), directories
    acl_raw: bytes | None = None  # 'A' raw ACL blob (pre-2021 dumps)
    data: DataKind = DataKind.FILEDATA
    size: int = 0  # FILEDATA byte count, or DIRPAGES page count
    pages: bytes | None = None  # DIRPAGES: size * 2048 bytes
    order: tuple[int, ...] | None = None
    offset: int = 0
    data_offset: int = 0  # offset of the data tag
    # The record's bytes from its tag up to its data tag, when the reader met
    # it in canonical layout; lets a merge copy an unchanged record verbatim.
    raw: bytes | None = dataclasses.field(default=None, compare=False, repr=False)

    @property
    def slot(self) -> int:
        return slot_of(self.vnum)

    @property
    def fid(self) -> tuple[int, int]:
        return (self.vnum, self.uniq)

    @property
    def data_bytes(self) -> int:
        """Bytes of the data part after its tag and count (file or pages)."""
        if self.data is DataKind.FILEDATA:
            return self.size
        if self.data is DataKind.DIRPAGES:
            return self.size * (DIR_PAGESIZE + 1)
        return 0

    @property
    def is_coda_normal(self) -> bool:
        """True when codamergedump would write this record's fields unchanged."""
        if self.order is not None or self.vv.order is not None or self.acl_raw is not None:
            return False
        if self.type > 7 or self.mode > 0o7777 or self.link_count > 0xFFFF:
            return False
        if self.type == VnodeType.DIRECTORY:
            return self.acl is not None and self.acl.find(b"\0") == len(self.acl) - 1
        return self.acl is None

    def coda_normalised(self) -> "Vnode":
        acl = _normal_str(self.acl, None) if self.acl is not None else None
        if self.type & 7 == VnodeType.DIRECTORY and acl is None and self.acl_raw is None:
            acl = b"\0"  # codamergedump writes the (empty) text ACL of every directory
        if self.type & 7 != VnodeType.DIRECTORY:
            acl = None
        return dataclasses.replace(
            self,
            type=self.type & 7,
            mode=self.mode & 0o7777,
            link_count=self.link_count & 0xFFFF,
            vv=self.vv.canonical(),
            acl=acl,
            acl_raw=self.acl_raw if self.type & 7 == VnodeType.DIRECTORY else None,
            order=None,
        )


VNODE_FIELDS: tuple[tuple[int, str, str], ...] = tuple(
    (ord(t), a, e)
    for t, a, e in (
        ("t", "type", "B"), ("b", "mode", "H"), ("l", "link_count", "H"), ("L", "length", "I"),
        ("v", "data_version", "I"), ("V", "vv", "V"), ("m", "mtime", "I"), ("a", "author", "I"),
        ("o", "owner", "I"), ("p", "vparent", "I"), ("q", "uparent", "I"),
    )
)
TAG_ACL_TEXT = ord("X")
TAG_ACL_RAW = ord("A")


@dataclass(frozen=True)
class RemovedVnode:
    """``D_RMVNODE``: (vnum, uniq) existed at the previous dump (§6.6)."""

    vnum: int
    uniq: int
    offset: int = 0

    @property
    def slot(self) -> int:
        return slot_of(self.vnum)


@dataclass(frozen=True)
class NullVnode:
    """``D_NULLVNODE``: an empty position, no payload (§6.5)."""

    offset: int = 0


@dataclass(frozen=True)
class DumpEnd:
    """``D_DUMPEND`` and its magic (§7)."""

    magic: int = DUMPENDMAGIC
    offset: int = 0


Record = DumpHeader | VolumeDiskData | IndexHeader | Vnode | RemovedVnode | NullVnode | DumpEnd
SectionRecord = Vnode | RemovedVnode | NullVnode


@dataclass(frozen=True)
class DumpWarning:
    """Something Coda accepts that deserves a look; never stops reading."""

    source: str
    offset: int
    text: str

    def __str__(self) -> str:
        return f"{self.source}: offset {self.offset}: {self.text}"
