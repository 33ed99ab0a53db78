"""What a full dump holds, in the terms a restore must give back: the proof
that a restored volume is the one that was sent (§23 rows 2, 17, 18).

Per vnode (by fid): its type, mode, owner, parent and length; for a
directory the names it holds (name -> fid) and its ACL as a *set* of entries
(the server reorders them; an old raw 'A' ACL, which comes back as text, is
not compared); for a file or symlink the sha256 of its bytes.
Fields a server may set itself on restore (version vectors, dates, the
volume's id and name, directory page layout) are not compared.  Memory holds
these facts only; file data is hashed as it streams.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import BinaryIO

from coda_restore.voldump import dirpage
from coda_restore.voldump.reader import DumpReader
from coda_restore.voldump.records import DataKind, Vnode, VnodeType


@dataclass(frozen=True)
class VnodeFacts:
    type: int
    mode: int
    owner: int
    parent: tuple[int, int]
    length: int
    sha256: str | None = None  # files and symlinks
    names: frozenset[tuple[bytes, tuple[int, int]]] | None = None  # directories
    acl: frozenset[tuple[str, str, str]] | None = None  # directories: (sign, name, rights)


@dataclass(frozen=True)
class Contents:
    vnodes: dict[tuple[int, int], VnodeFacts]

    def acl_names(self) -> set[str]:
        """Every user or group an ACL of the dump names."""
        return {name for f in self.vnodes.values() for _, name, _ in (f.acl or ())}

    def count(self, directories: bool) -> int:
        return sum((f.type == VnodeType.DIRECTORY) == directories for f in self.vnodes.values())


def acl_entries(acl: bytes | None, raw: bytes | None) -> frozenset[tuple[str, str, str]] | None:
    """The 'X' text (``npos\\nnneg\\nname\\trights``...) as a set; an old 'A'
    blob as one opaque entry."""
    if raw is not None:
        return frozenset({("raw", hashlib.sha256(raw).hexdigest(), "")})
    if acl is None:
        return None
    lines = acl.split(b"\0", 1)[0].decode("utf-8", "surrogateescape").split("\n")
    try:
        npos, nneg = int(lines[0]), int(lines[1])
    except (ValueError, IndexError):
        return frozenset({("unparsable", lines[0] if lines else "", "")})
    out = set()
    for i, line in enumerate(lines[2:2 + npos + nneg]):
        name, _, rights = line.partition("\t")
        out.add(("+" if i < npos else "-", name, rights.strip()))
    return frozenset(out)


def _raw_acl(f: VnodeFacts) -> bool:
    return f.acl is not None and any(sign == "raw" for sign, _, _ in f.acl)


def _facts(rec: Vnode, reader: DumpReader) -> VnodeFacts:
    common = dict(type=rec.type, mode=rec.mode, owner=rec.owner, parent=(rec.vparent, rec.uparent),
                  length=rec.length)
    if rec.data is DataKind.DIRPAGES:
        names = frozenset((e.name, e.fid) for e in dirpage.decode(rec.pages, f"vnode {rec.vnum}.{rec.uniq}"))
        return VnodeFacts(**common, names=names, acl=acl_entries(rec.acl, rec.acl_raw))
    h = hashlib.sha256()
    if rec.data is DataKind.FILEDATA:
        for chunk in reader.data_chunks():
            h.update(chunk)
    return VnodeFacts(**common, sha256=h.hexdigest())


def contents(stream: BinaryIO, source: str = "dump") -> Contents:
    """Read a whole full dump (a file or a pipe) into its Contents."""
    reader = DumpReader(stream, source)
    vnodes: dict[tuple[int, int], VnodeFacts] = {}
    for rec in reader:
        if isinstance(rec, Vnode):
            vnodes[rec.fid] = _facts(rec, reader)
    return Contents(vnodes)


def differences(sent: Contents, got: Contents, limit: int = 8) -> list[str]:
    """What ``got`` (the restored volume dumped back) lacks or has otherwise
    than ``sent``; empty when they agree.  At most ``limit`` lines, then a count."""
    out: list[str] = []
    for directories, what in ((True, "directories"), (False, "files and symlinks")):
        a, b = sent.count(directories), got.count(directories)
        if a != b:
            out.append(f"{what}: {a} sent, {b} on the server")
    for fid in sorted(sent.vnodes.keys() | got.vnodes.keys()):
        mine, theirs = sent.vnodes.get(fid), got.vnodes.get(fid)
        where = f"vnode {fid[0]}.{fid[1]}"
        if theirs is None:
            out.append(f"{where}: missing on the server")
        elif mine is None:
            out.append(f"{where}: on the server but not sent")
        elif mine != theirs:
            fields = [k for k in VnodeFacts.__dataclass_fields__ if getattr(mine, k) != getattr(theirs, k)]
            if _raw_acl(mine):
                # an old 'A' blob (ids, host layout) comes back as 'X' text: not comparable here
                fields = [k for k in fields if k != "acl"]
            if not fields:
                continue
            out.append(f"{where}: differs in {', '.join('bytes' if k == 'sha256' else k for k in fields)}")
    if len(out) > limit:
        out[limit:] = [f"... and {len(out) - limit} more"]
    return out
