"""Rules a dump must follow beyond its grammar (ref §8, §17, §19).

``SectionChecker`` checks one record at a time as it streams past (the merge
runs it on every input, before a byte of the record's slot is written);
``validate`` reads a whole dump with it and returns a ``Validation`` instead
of raising, for ``inspect``.  The reader itself already rejects what cannot
be parsed (truncation, unknown or repeated tags, bad magic, huge counts).

Errors make a dump invalid: the merge refuses it, and for a full dump the
server's restore would refuse it too.  Warnings are what Coda accepts but an
operator should know (codamergedump would crash or silently change it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import BinaryIO

from coda_restore.errors import BadDirectory, ChainMismatch, DumpFormatError, UnsafeName
from coda_restore.voldump import dirpage
from coda_restore.voldump.reader import DumpReader
from coda_restore.voldump.stream import Tee
from coda_restore.voldump.records import (
    DataKind,
    DumpHeader,
    DumpWarning,
    IndexHeader,
    NullVnode,
    RemovedVnode,
    VnodeClass,
    VnodeType,
    Vnode,
    VolumeDiskData,
    cstr,
    slot_of,
)

# Volume types the server refuses to restore (§17).
_UNRESTORABLE_TYPES = {0: "read-write", 3: "replicated"}


_FILE_TYPES = (VnodeType.FILE, VnodeType.SYMLINK)


def _what(rec) -> str:
    return f"{'D_RMVNODE' if isinstance(rec, RemovedVnode) else 'vnode'} {rec.vnum:#x}.{rec.uniq:#x}"


class SectionChecker:
    """Record-by-record rules of one index section of one dump."""

    def __init__(self, source: str, index: IndexHeader, full: bool, warn):
        self.source = source
        self.index = index
        self.full = full
        self.warn = warn  # callable(offset, text)
        self.slot = -1
        self.uniqs_in_slot: set[int] = set()
        self.vnodes = 0
        self.removed = 0
        self.nulls = 0
        self.file_bytes = 0
        self.dir_pages = 0
        self.bad_inodes = 0

    def _error(self, offset: int, text: str) -> DumpFormatError:
        return DumpFormatError(offset, text, self.source)

    def check(self, rec) -> None:
        """Raise DumpFormatError if ``rec`` breaks a rule; note warnings.
        (Runs once per record of every merge input: the common path is kept
        short and messages are only formatted when needed.)"""
        cls = type(rec)
        if cls is NullVnode:
            self.nulls += 1
            if self.full:
                self.warn(rec.offset, "D_NULLVNODE in a full dump (counted in nVnodes by Coda's readers)")
            return
        vnum = rec.vnum
        removed = cls is RemovedVnode
        if removed and self.full:
            raise self._error(rec.offset, f"{_what(rec)}: D_RMVNODE in a full dump")
        if vnum == 0:
            raise self._error(rec.offset, f"{_what(rec)}: vnode number 0")
        large = self.index.vclass is VnodeClass.LARGE
        if (vnum & 1) != large:
            raise self._error(rec.offset, f"{_what(rec)}: {'odd' if vnum & 1 else 'even'} vnode number in the "
                              f"{self.index.vclass.name.lower()} index")
        b = slot_of(vnum)
        if b != self.slot:
            if b >= self.index.n_lists:
                raise self._error(rec.offset, f"{_what(rec)}: list index {b} >= nLists {self.index.n_lists}")
            if b < self.slot:
                raise self._error(rec.offset,
                                  f"{_what(rec)}: list index {b} after {self.slot} (records out of slot order)")
            self.slot = b
            self.uniqs_in_slot.clear()
        if removed:
            self.removed += 1
            return
        self.vnodes += 1
        uniqs = self.uniqs_in_slot
        if rec.uniq in uniqs:
            if self.full:
                raise self._error(rec.offset, f"{_what(rec)}: duplicate vnode in a full dump")
            self.warn(rec.offset, f"{_what(rec)}: appears twice in this incremental (the later one wins)")
        uniqs.add(rec.uniq)
        if large:
            if rec.data is DataKind.DIRPAGES and rec.size and rec.pages is not None:
                self._check_pages(rec)
            if rec.data is DataKind.DIRPAGES and rec.size and rec.type == VnodeType.DIRECTORY \
                    and rec.raw is not None and rec.is_coda_normal:
                self.dir_pages += rec.size
                return
        elif rec.data is DataKind.FILEDATA and rec.size == rec.length and rec.raw is not None \
                and rec.type in _FILE_TYPES and rec.is_coda_normal:
            self.file_bytes += rec.size
            return
        self._check_vnode(rec, _what(rec), self.index.vclass)

    def _check_pages(self, rec: Vnode) -> None:
        """Directory pages every command would accept, or none (dirpage.validate)."""
        try:
            dirpage.validate(rec.pages, _what(rec))
        except BadDirectory as err:
            raise self._error(rec.data_offset, f"directory {err.args[0]}: {err.args[1]}") from None
        except UnsafeName as err:
            raise UnsafeName(f"{self.source}: offset {rec.data_offset}: directory {_what(rec)}", err.args[1]) from None

    def _check_vnode(self, rec: Vnode, what: str, vclass: VnodeClass) -> None:
        if vclass is VnodeClass.LARGE:
            if rec.data is not DataKind.DIRPAGES:
                raise self._error(rec.data_offset, f"{what}: directory vnode without D_DIRPAGES")
            if rec.size == 0:
                raise self._error(rec.data_offset, f"{what}: directory with 0 pages")
            self.dir_pages += rec.size
            if rec.type != VnodeType.DIRECTORY:
                self.warn(rec.offset, f"{what}: type {rec.type} in the large (directory) index")
        else:
            if rec.data not in (DataKind.FILEDATA, DataKind.BADINODE):
                raise self._error(rec.data_offset, f"{what}: file vnode with neither D_FILEDATA nor D_BADINODE")
            if rec.data is DataKind.BADINODE:
                self.bad_inodes += 1
                self.warn(rec.data_offset, f"{what}: D_BADINODE (no data; restored as an empty file)")
            else:
                self.file_bytes += rec.size
                if rec.size != rec.length:
                    self.warn(rec.data_offset, f"{what}: D_FILEDATA size {rec.size} differs from length {rec.length}")
            if rec.type not in (VnodeType.FILE, VnodeType.SYMLINK):
                self.warn(rec.offset, f"{what}: type {rec.type} in the small (file) index")
        if rec.type > 7:
            self.warn(rec.offset, f"{what}: type {rec.type} does not fit Coda's 3 bits (merge writes {rec.type & 7})")
        if rec.mode > 0o7777:
            self.warn(rec.offset, f"{what}: mode {rec.mode:#o} has bits above 0o7777 (merge writes {rec.mode & 0o7777:#o})")
        if rec.order is not None:
            present = set(rec.order)
            missing = [chr(t) for t in b"tblLvVmaopq" if t not in present]
            if missing:
                self.warn(rec.offset, f"{what}: fields missing ({''.join(missing)}); Coda's merge would "
                          "inherit them from the previous vnode, this one writes 0")
            else:
                self.warn(rec.offset, f"{what}: fields in non-canonical order")
        if rec.acl is not None:
            if rec.type != VnodeType.DIRECTORY:
                self.warn(rec.offset, f"{what}: ACL on a non-directory (merge drops it)")
            elif not rec.acl.endswith(b"\0") or rec.acl.find(b"\0") != len(rec.acl) - 1:
                self.warn(rec.offset, f"{what}: ACL text not a single NUL-terminated string (merge cuts it at the first NUL)")
        if rec.acl_raw is not None:
            self.warn(rec.offset, f"{what}: old raw 'A' ACL ({len(rec.acl_raw)} bytes, server-specific layout; "
                      "codamergedump crashes on it)")
        elif rec.type == VnodeType.DIRECTORY and rec.acl is None:
            self.warn(rec.offset, f"{what}: directory without an ACL")

    def finish(self, offset: int) -> None:
        """Count rules at the end of the section (full dumps only, §19.19)."""
        if not self.full:
            return
        n = self.index.n_vnodes
        name = self.index.vclass.name.lower()
        if n == self.vnodes:
            return
        if n == self.vnodes + self.nulls:
            self.warn(self.index.offset, f"{name} index: nVnodes {n} counts {self.nulls} null vnode(s); "
                      f"{self.vnodes} vnode records (the server would refuse to restore it)")
            return
        raise self._error(self.index.offset, f"{name} index says nVnodes {n} but {self.vnodes} vnode records "
                          f"follow (up to offset {offset})")


def check_strings(source: str, header: DumpHeader, volume: VolumeDiskData, warn) -> None:
    """Strings Coda truncates or repairs (§1.2, §19.3, §19.4)."""
    for what, raw, size, at in (
        ("volume name", header.name, 32, header.offset),
        ("volume data name", volume.name, 32, volume.offset),
        ("partition", volume.partition, 32, volume.offset),
        ("offline message", volume.offline_message, 128, volume.offset),
        ("motd", volume.motd, 128, volume.offset),
    ):
        s = cstr(raw)
        if len(s) > size - 1:
            warn(at, f"{what} is {len(s)} bytes, Coda keeps {size - 1}")
        if not raw.endswith(b"\0") or len(s) != len(raw) - 1:
            warn(at, f"{what} payload is not one NUL-terminated string (Coda normalises it)")
    if len(volume.week_use) != 7:
        warn(volume.offset, f"weekUse has {len(volume.week_use)} entries, Coda keeps 7")


@dataclass
class SectionSummary:
    vclass: str
    n_vnodes: int
    n_lists: int
    vnodes: int
    removed: int
    nulls: int
    bad_inodes: int
    dir_pages: int
    file_bytes: int


@dataclass
class Validation:
    """What ``validate`` found: as much of the dump as could be read."""

    source: str
    header: DumpHeader | None = None
    volume: VolumeDiskData | None = None
    sections: list[SectionSummary] = field(default_factory=list)
    size: int = 0
    warnings: list[DumpWarning] = field(default_factory=list)
    error: DumpFormatError | None = None
    restorable: bool = False
    not_restorable_because: str = ""

    @property
    def valid(self) -> bool:
        return self.error is None


def validate(raw: BinaryIO, source: str = "dump", *, allow_trailing: bool | None = None,
             on_record: Callable[[object], object] | None = None) -> Validation:
    """Read the whole dump; never raises DumpFormatError (it is returned).
    Bytes after the end magic are an error for a full dump and a warning for
    an incremental (as in codamergedump) unless ``allow_trailing`` says.
    ``on_record`` sees every index record once it passed the checks (a
    restore drill collects the dump's names with it, ``voldump.names``)."""
    result = Validation(source)
    reader = DumpReader(raw, source, allow_trailing=bool(allow_trailing))
    reader.warnings = result.warnings

    def warn(offset: int, text: str) -> None:
        result.warnings.append(DumpWarning(source, offset, text))

    try:
        result.header = reader.read_header()
        full = result.header.level == 0
        if allow_trailing is None:
            reader.allow_trailing = not full
        result.volume = reader.read_volume()
        check_strings(source, result.header, result.volume, warn)
        for _ in range(2):
            index = reader.read_index()
            checker = SectionChecker(source, index, full, warn)
            while (rec := reader.next_record()) is not None:
                checker.check(rec)
                if on_record is not None:
                    on_record(rec)
            checker.finish(reader.offset)
            result.sections.append(SectionSummary(
                index.vclass.name.lower(), index.n_vnodes, index.n_lists, checker.vnodes, checker.removed,
                checker.nulls, checker.bad_inodes, checker.dir_pages, checker.file_bytes,
            ))
        reader.read_end()
    except (DumpFormatError, UnsafeName) as err:  # the same for every command
        result.error = err
    result.size = reader.offset
    if result.error is not None:
        result.not_restorable_because = "invalid dump"
    elif result.header.level != 0:
        result.not_restorable_because = f"incremental dump (level {result.header.level}); merge it onto its full dump"
    elif result.volume.type in _UNRESTORABLE_TYPES:
        result.not_restorable_because = f"volume type {result.volume.type} ({_UNRESTORABLE_TYPES[result.volume.type]})"
    elif any(s.n_vnodes != s.vnodes for s in result.sections):
        result.not_restorable_because = "null vnodes counted in nVnodes"
    result.restorable = not result.not_restorable_because
    return result


def copy_validated(raw: BinaryIO, write, source: str = "dump") -> Validation:
    """Pass a whole full dump to ``write`` while validating it (a chain of one
    level 0 needs no merge); raise what makes it invalid or not a full dump."""
    checked = validate(Tee(raw, write), source)
    if not checked.valid:
        raise checked.error
    if checked.header.level != 0:
        raise ChainMismatch(f"{source} is not a full dump (level {checked.header.level}); nothing to merge it onto")
    return checked
