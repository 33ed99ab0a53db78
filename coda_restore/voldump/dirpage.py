"""Coda directory pages: names -> (vnode, uniquifier), both ways.

A directory vnode's data in a dump is N pages of 2048 bytes (ref §6.2), the
server's directory image copied verbatim.  The image is cut into 32-byte
"blobs"; blob k lives at byte 32*k.  Page 0 opens with the directory header
(page header, a 128-byte allocation map and a 128-bucket hash table of
big-endian blob numbers: blobs 0..12); every other page opens with a 32-byte
page header (its blob 0).  An entry is: flag 1, an unused byte, the next blob
of its hash chain, vnode, uniquifier (all big-endian), then the NUL-terminated
name from byte 12 on, running into the following blobs (ref §10).

``Directory`` edits an image the way the server does (``DIR_MakeDir``,
``DIR_Create``, ``DIR_Delete`` in coda-src/dir/dirbody.c): first fit, new
entries at the head of their chain, deleted entries unlinked and their blobs
freed but their bytes left behind, pages never freed.  So a simulator that
drives it with the server's sequence of operations produces the server's
bytes.  ``decode`` reads any image by walking the 128 chains (the only way
Coda itself enumerates a directory), and refuses, with the reason, an image
whose chains cannot be walked safely (blob out of range, a loop, a name
without its NUL).  Names are bytes: Coda never decoded them.

Not promised: ``decode`` does not check the free-blob bookkeeping; ``check``
reports those inconsistencies (as ``DIR_DirOK`` would) for a validator.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Iterable, Sequence

from coda_restore.errors import BadDirectory, UnsafeName

PAGE_SIZE = 2048  # DIR_PAGESIZE
MAX_PAGES = 128  # DIR_MAXPAGES; the server's restore refuses more
BLOB_SIZE = 32  # ESZ
BLOBS_PER_PAGE = 64  # EPP
NHASH = 128
HEADER_BLOBS = 13  # page header + allocation map (4) + hash table (8) on page 0
PAGE_TAG = 1234
MAX_NAME = 255  # CODA_MAXNAMLEN
FIRST = 1  # FFIRST: flag of the first blob of an entry

_ALLOMAP = 32  # byte offset of the allocation map on page 0
_HASHTABLE = 160  # byte offset of the hash table on page 0
_NAME = 12  # offset of the name inside an entry
_ABSENT = BLOBS_PER_PAGE  # allocation-map value of a page that does not exist


@dataclass(frozen=True)
class DirEntry:
    """One name of a directory and the vnode it names (the FID minus the volume)."""

    name: bytes
    vnode: int
    unique: int

    @property
    def fid(self) -> tuple[int, int]:
        return (self.vnode, self.unique)


def name_hash(name: bytes) -> int:
    """The bucket of ``name`` (DIR_Hash): bytes taken as signed chars, h*173+c
    in 32-bit two's complement, folded into 0..127 as the server does."""
    h = 0
    for c in name:
        h = (h * 173 + (c - 256 if c > 127 else c)) & 0xFFFFFFFF
    t = h & (NHASH - 1)
    if t and h & 0x80000000:  # h < 0 as a signed 32-bit value
        t = NHASH - t
    return t


def name_blobs(name: bytes) -> int:
    """Blobs an entry for ``name`` takes (dir_NameBlobs)."""
    return 1 + ((len(name) + 1 + 15) >> 5)


def _check_name(name: bytes) -> None:
    if not isinstance(name, bytes):
        raise TypeError(f"directory names are bytes, not {type(name).__name__}")
    if not name:
        raise ValueError("empty name")
    if b"\0" in name:
        raise ValueError(f"name {name!r} holds a NUL byte")
    if len(name) > MAX_NAME:
        raise ValueError(f"name of {len(name)} bytes is longer than {MAX_NAME}")


class DirectoryFull(ValueError):
    """No page has room for the entry and the directory has 128 pages."""


class Directory:
    """A directory image being built or edited as the server edits it."""

    def __init__(self, image: bytearray):
        self._img = image

    # -- construction -------------------------------------------------------

    @classmethod
    def new(cls, me: tuple[int, int], parent: tuple[int, int]) -> "Directory":
        """An empty directory holding ``.`` (me) and ``..`` (parent), as
        DIR_MakeDir makes it.  The root's parent is itself (1.1)."""
        img = bytearray(PAGE_SIZE)
        struct.pack_into(">I", img, 0, PAGE_TAG)
        free = BLOBS_PER_PAGE - HEADER_BLOBS
        img[4] = free
        img[5], img[6] = 0xFF, 0x1F  # blobs 0..12 in use
        img[_ALLOMAP] = free
        for page in range(1, MAX_PAGES):
            img[_ALLOMAP + page] = _ABSENT
        d = cls(img)
        d.create(b".", me)
        d.create(b"..", parent)
        return d

    @classmethod
    def from_pages(cls, pages: bytes | Sequence[bytes]) -> "Directory":
        """Load an image (the concatenated pages, or a sequence of pages) to
        read or edit it.  Checks only the sizes; see ``decode``."""
        img = bytearray(pages if isinstance(pages, (bytes, bytearray)) else b"".join(pages))
        n, rest = divmod(len(img), PAGE_SIZE)
        if rest or not 1 <= n <= MAX_PAGES:
            raise BadDirectory("?", f"image of {len(img)} bytes is not 1..{MAX_PAGES} pages of {PAGE_SIZE}")
        return cls(img)

    # -- reading ------------------------------------------------------------

    @property
    def npages(self) -> int:
        return len(self._img) // PAGE_SIZE

    def pages(self) -> tuple[bytes, ...]:
        """The image as the dump carries it: one bytes object per page."""
        img = bytes(self._img)
        return tuple(img[i : i + PAGE_SIZE] for i in range(0, len(img), PAGE_SIZE))

    def image(self) -> bytes:
        return bytes(self._img)

    def entries(self) -> tuple[DirEntry, ...]:
        return decode(self._img)

    # -- editing (the server's operations) ------------------------------------

    def create(self, name: bytes, fid: tuple[int, int]) -> None:
        """Add ``name`` -> ``fid`` (DIR_Create).  Raises ValueError for a name
        Coda cannot store or one already present, DirectoryFull past 128 pages."""
        _check_name(name)
        if self._find(name) is not None:
            raise ValueError(f"name {name!r} already in the directory")
        vnode, unique = fid
        nblobs = name_blobs(name)
        first = self._find_blobs(nblobs)
        off = first * BLOB_SIZE
        bucket = name_hash(name)
        head = self._chain_head(bucket)
        struct.pack_into(">BBHII", self._img, off, FIRST, 0, head, vnode & 0xFFFFFFFF, unique & 0xFFFFFFFF)
        self._img[off + _NAME : off + _NAME + len(name) + 1] = name + b"\0"
        struct.pack_into(">H", self._img, _HASHTABLE + 2 * bucket, first)

    def delete(self, name: bytes) -> tuple[int, int]:
        """Remove ``name`` (DIR_Delete); returns the fid it named.  Its blobs
        are freed, its bytes stay (the server never clears them)."""
        found = self._find(name)
        if found is None:
            raise KeyError(name)
        blob, prev = found
        off = blob * BLOB_SIZE
        (nxt,) = struct.unpack_from(">H", self._img, off + 2)
        if prev:
            struct.pack_into(">H", self._img, prev * BLOB_SIZE + 2, nxt)
        else:
            struct.pack_into(">H", self._img, _HASHTABLE + 2 * name_hash(name), nxt)
        page, first = divmod(blob, BLOBS_PER_PAGE)
        n = name_blobs(name)
        self._img[_ALLOMAP + page] += n
        self._img[page * PAGE_SIZE + 4] += n
        for k in range(first, first + n):
            self._img[page * PAGE_SIZE + 5 + (k >> 3)] &= ~(1 << (k & 7)) & 0xFF
        return struct.unpack_from(">II", self._img, off + 4)

    # -- internals ----------------------------------------------------------

    def _chain_head(self, bucket: int) -> int:
        return struct.unpack_from(">H", self._img, _HASHTABLE + 2 * bucket)[0]

    def _find(self, name: bytes) -> tuple[int, int] | None:
        """(blob, previous blob or 0) of ``name`` in its chain."""
        blob, prev, seen = self._chain_head(name_hash(name)), 0, set()
        while blob and blob not in seen:
            seen.add(blob)
            if _name_at(self._img, blob) == name:
                return blob, prev
            prev, blob = blob, struct.unpack_from(">H", self._img, blob * BLOB_SIZE + 2)[0]
        return None

    def _find_blobs(self, nblobs: int) -> int:
        """First fit, page by page (dir_FindBlobs); adds a page when the first
        page with room is one that does not exist yet."""
        for page in range(MAX_PAGES):
            if self._img[_ALLOMAP + page] < nblobs:
                continue
            if self._img[_ALLOMAP + page] == _ABSENT:
                self._add_page(page)
            base = page * PAGE_SIZE
            bitmap = int.from_bytes(self._img[base + 5 : base + 13], "little")
            want = (1 << nblobs) - 1
            for j in range(BLOBS_PER_PAGE - nblobs + 1):
                if not bitmap & (want << j):
                    bitmap |= want << j
                    self._img[base + 5 : base + 13] = bitmap.to_bytes(8, "little")
                    self._img[_ALLOMAP + page] -= nblobs
                    self._img[base + 4] -= nblobs
                    return page * BLOBS_PER_PAGE + j
        raise DirectoryFull(f"no room for an entry of {nblobs} blobs in {MAX_PAGES} pages")

    def _add_page(self, page: int) -> None:
        # Pages exist contiguously, so the first absent page is the next one.
        assert page == self.npages, (page, self.npages)
        new = bytearray(PAGE_SIZE)
        struct.pack_into(">I", new, 0, PAGE_TAG)
        new[4] = BLOBS_PER_PAGE - 1
        new[5] = 0x01  # blob 0 holds the page header
        self._img += new
        self._img[_ALLOMAP + page] = BLOBS_PER_PAGE - 1


def _name_at(img: bytes | bytearray, blob: int) -> bytes | None:
    start = blob * BLOB_SIZE + _NAME
    end = img.find(b"\0", start, start + MAX_NAME + 1)
    return None if end < 0 else bytes(img[start:end])


def encode(me: tuple[int, int], parent: tuple[int, int], entries: Iterable[tuple[bytes, tuple[int, int]]]) -> tuple[bytes, ...]:
    """Pages of a fresh directory ``me`` in ``parent`` holding ``entries``
    (name, fid) created in the order given, after ``.`` and ``..``."""
    d = Directory.new(me, parent)
    for name, fid in entries:
        d.create(name, fid)
    return d.pages()


def decode(pages: bytes | bytearray | Sequence[bytes], where: str = "?") -> tuple[DirEntry, ...]:
    """Every entry reachable from the hash table, ``.`` and ``..`` included,
    bucket by bucket in chain order.  Raises BadDirectory (naming ``where``,
    e.g. the vnode and its offset) when the image cannot be walked safely."""
    img = pages if isinstance(pages, (bytes, bytearray)) else b"".join(pages)
    n, rest = divmod(len(img), PAGE_SIZE)
    if rest or not 1 <= n <= MAX_PAGES:
        raise BadDirectory(where, f"image of {len(img)} bytes is not 1..{MAX_PAGES} pages of {PAGE_SIZE}")
    for page in range(n):
        (tag,) = struct.unpack_from(">I", img, page * PAGE_SIZE)
        if tag != PAGE_TAG:
            raise BadDirectory(where, f"page {page} has tag {tag}, not {PAGE_TAG}")
    nblobs = n * BLOBS_PER_PAGE
    out: list[DirEntry] = []
    names: set[bytes] = set()
    seen: set[int] = set()
    for bucket in range(NHASH):
        (blob,) = struct.unpack_from(">H", img, _HASHTABLE + 2 * bucket)
        while blob:
            if blob < HEADER_BLOBS or blob >= nblobs or blob % BLOBS_PER_PAGE == 0:
                raise BadDirectory(where, f"hash chain {bucket} points at blob {blob}, outside the entries")
            if blob in seen:
                raise BadDirectory(where, f"hash chain {bucket} reaches blob {blob} twice (a loop)")
            seen.add(blob)
            off = blob * BLOB_SIZE
            flag, _, nxt, vnode, unique = struct.unpack_from(">BBHII", img, off)
            if flag != FIRST:
                raise BadDirectory(where, f"entry at blob {blob} has flag {flag}, not {FIRST}")
            name = _name_at(img, blob)
            if name is None or (off + _NAME + len(name)) // PAGE_SIZE != off // PAGE_SIZE:
                raise BadDirectory(where, f"entry at blob {blob} has no NUL-terminated name within its page")
            if not name:
                raise BadDirectory(where, f"entry at blob {blob} has an empty name")
            if name in names:
                raise BadDirectory(where, f"name {name!r} appears twice")
            names.add(name)
            out.append(DirEntry(name, vnode, unique))
            blob = nxt
    return tuple(out)


def validate(pages: bytes | bytearray | Sequence[bytes], where: str = "?") -> tuple[DirEntry, ...]:
    """The one validator of directory pages, used by every command that reads
    a dump (inspect, merge, run, ls, extract), so that a dump is valid for all
    of them or for none: its entries, or BadDirectory naming ``where`` for an
    image ``decode`` cannot walk, any inconsistency DIR_DirOK reports (a
    flipped bit in a hash chain loses entries: the blobs in use no longer
    match the bitmaps), or UnsafeName for a name holding a ``/``."""
    img = pages if isinstance(pages, (bytes, bytearray)) else b"".join(pages)
    entries = decode(img, where)
    for e in entries:
        if b"/" in e.name:
            raise UnsafeName(where, e.name)
    problems = _problems(img, entries)
    if problems:
        raise BadDirectory(where, "; ".join(problems))
    return entries


def check(pages: bytes | bytearray | Sequence[bytes]) -> list[str]:
    """Inconsistencies DIR_DirOK would report, for a validator: allocation map
    against page bitmaps, blobs in use against entries, entries in the wrong
    bucket, missing ``.``/``..``.  Empty when the image is what the server
    writes.  Raises BadDirectory when ``decode`` does."""
    img = pages if isinstance(pages, (bytes, bytearray)) else b"".join(pages)
    return _problems(img, decode(img))


def _problems(img: bytes | bytearray, entries: tuple[DirEntry, ...]) -> list[str]:
    n = len(img) // PAGE_SIZE
    problems: list[str] = []
    used = bytearray(n * BLOBS_PER_PAGE)
    for k in range(HEADER_BLOBS):
        used[k] = 1
    for page in range(1, n):
        used[page * BLOBS_PER_PAGE] = 1
    for bucket in range(NHASH):
        (blob,) = struct.unpack_from(">H", img, _HASHTABLE + 2 * bucket)
        while blob:
            name = _name_at(img, blob)
            if name_hash(name) != bucket:
                problems.append(f"name {name!r} is in bucket {bucket}, its hash is {name_hash(name)}")
            for k in range(blob, min(blob + name_blobs(name), len(used))):
                used[k] = 1
            (blob,) = struct.unpack_from(">H", img, blob * BLOB_SIZE + 2)
    for page in range(n):
        base = page * PAGE_SIZE
        bitmap = int.from_bytes(img[base + 5 : base + 13], "little")
        expect = sum(used[page * BLOBS_PER_PAGE + k] << k for k in range(BLOBS_PER_PAGE))
        if bitmap != expect:
            problems.append(f"page {page}: blob bitmap {bitmap:016x} but entries use {expect:016x}")
        free = BLOBS_PER_PAGE - bin(bitmap).count("1")
        if img[base + 4] != free:
            problems.append(f"page {page}: free count {img[base + 4]} but bitmap has {free} free")
        if img[_ALLOMAP + page] != free:
            problems.append(f"page {page}: allocation map says {img[_ALLOMAP + page]} free, bitmap {free}")
    for page in range(n, MAX_PAGES):
        if img[_ALLOMAP + page] != _ABSENT:
            problems.append(f"allocation map lists page {page} beyond the {n} pages dumped")
    names = {e.name for e in entries}
    for dot in (b".", b".."):
        if dot not in names:
            problems.append(f"no {dot.decode()!r} entry")
    return problems
