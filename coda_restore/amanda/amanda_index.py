"""Reading Amanda's index files: the names amcoda said a dump holds.

Layout (ref amanda-formats.md §3.2, Amanda's ``getindexfname``):
``INDEXDIR/HOST/DISK/DUMPTS_LEVEL.gz`` with host and disk sanitised
(``/``, ``:`` and ``\\`` become ``_``; Amanda 2.5 changed only ``/``) and
the dump timestamp's non-digits removed.  Amanda 3.4+ may leave the
``-sorted``/``-unsorted`` forms instead; amindexd looks for them first,
then the plain ``.gz``, then the names with the lower-cased host: so do we.
Each line is one path from the volume's root, directories ending in "/".

Not promised: an index file says what the client sent, not that the dump
exists (amtrmidx removes them late), so a drill reads both.
"""

from __future__ import annotations

import gzip
import re
import zlib
from dataclasses import dataclass
from pathlib import Path

from coda_restore.errors import IndexUnreadable

SUFFIXES = ("-sorted", "-sorted.gz", "-unsorted", "-unsorted.gz", ".gz", "")


def sanitise(name: str) -> str:
    """A host or disk name as a path component of Amanda's index (and curinfo)."""
    return re.sub(r"[/:\\]", "_", name)


def candidates(indexdir: Path, host: str, disk: str, datestamp: str, level: int) -> list[Path]:
    """Where the index of one dump can be, in amindexd's order of preference."""
    stamp = re.sub(r"\D", "", datestamp)
    found = []
    for h in dict.fromkeys((host, host.lower())):
        for d in dict.fromkeys((sanitise(disk), disk.replace("/", "_"))):
            found += [indexdir / sanitise(h) / d / f"{stamp}_{level}{suffix}" for suffix in SUFFIXES]
    return list(dict.fromkeys(found))


@dataclass(frozen=True)
class IndexFile:
    path: Path
    lines: frozenset[bytes]


def read_index(indexdir: Path, host: str, disk: str, datestamp: str, level: int) -> IndexFile:
    """The lines of one dump's index file; IndexUnreadable when there is none
    or it cannot be read (a dump with ``index no``, or trimmed by amtrmidx)."""
    tried = candidates(indexdir, host, disk, datestamp, level)
    path = next((p for p in tried if p.is_file()), None)
    if path is None:
        raise IndexUnreadable(f"{host} {disk} {datestamp} level {level}", f"no index file (looked for {tried[0]})")
    try:
        raw = gzip.decompress(path.read_bytes()) if path.name.endswith(".gz") else path.read_bytes()
    except (OSError, EOFError, gzip.BadGzipFile, zlib.error) as err:
        raise IndexUnreadable(f"{host} {disk} {datestamp} level {level}", f"{path}: {err}") from None
    return IndexFile(path, frozenset(line for line in raw.split(b"\n") if line))
