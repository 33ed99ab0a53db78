"""The ``tapelist`` file, every generation (ref amanda-formats.md §2.1):

    DATESTAMP LABEL [reuse|no-reuse] [BARCODE:b] [META:m] [BLOCKSIZE:n]
                    [POOL:p] [STORAGE:s] [CONFIG:c] [#comment]

A bare ``DATESTAMP LABEL`` (old files, test catalogs) means reuse.  Positions
are Amanda's: sorted by datestamp descending, file order kept for ties, 1 =
newest.  A malformed line is a warning and is skipped.
"""

from __future__ import annotations

import re
import sys
from dataclasses import replace

from coda_restore.amanda.model import CatalogWarning, Origin, TapelistEntry

_STAMP = re.compile(r"0|\d{8}|\d{14}")
_PREFIXED = {"BARCODE:": "barcode", "META:": "meta", "BLOCKSIZE:": "blocksize", "POOL:": "pool",
             "STORAGE:": "storage", "CONFIG:": "config"}


def parse_tapelist_line(text: str) -> TapelistEntry:
    """One line; raises ValueError with the reason when it does not parse."""
    body, hash_, comment = text.partition("#")
    toks = body.split()
    if len(toks) < 2:
        raise ValueError("expected 'DATESTAMP LABEL'")
    stamp, label = toks[0], toks[1]
    if not _STAMP.fullmatch(stamp):
        raise ValueError(f"expected a datestamp (0, 8 or 14 digits), got {stamp!r}")
    fields: dict[str, object] = {}
    reuse = True
    for tok in toks[2:]:
        if tok in ("reuse", "no-reuse"):
            reuse = tok == "reuse"
            continue
        for prefix, name in _PREFIXED.items():
            if tok.startswith(prefix):
                value = tok[len(prefix):]
                if name == "blocksize":
                    try:
                        fields[name] = int(value)
                    except ValueError:
                        raise ValueError(f"expected a number after BLOCKSIZE:, got {value!r}") from None
                else:
                    fields[name] = sys.intern(value)
                break
        else:
            raise ValueError(f"unexpected field {tok!r}")
    return TapelistEntry(datestamp=sys.intern(stamp), label=sys.intern(label), reuse=reuse,
                         comment=comment.strip() if hash_ else None, **fields)


def read_tapelist(path: str, warnings: list[CatalogWarning]) -> tuple[TapelistEntry, ...]:
    """Every entry, with Amanda's positions (1 = newest).  A missing file is
    an empty tapelist (every tape copy then counts as gone)."""
    entries: list[TapelistEntry] = []
    seen: set[str] = set()
    try:
        f = open(path, encoding="utf-8", errors="surrogateescape")
    except FileNotFoundError:
        warnings.append(CatalogWarning(Origin(path), "no tapelist: every tape copy counts as gone"))
        return ()
    with f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                entry = parse_tapelist_line(line)
            except ValueError as err:
                warnings.append(CatalogWarning(Origin(path, lineno), f"malformed tapelist line: {err}"))
                continue
            if entry.label in seen:
                warnings.append(CatalogWarning(Origin(path, lineno),
                                               f"label {entry.label!r} listed twice; the first entry counts"))
                continue
            seen.add(entry.label)
            entries.append(entry)
    # Sort newest first; Python's sort is stable, so ties keep file order.
    ordered = sorted(entries, key=lambda e: int(e.datestamp.ljust(14, "0")), reverse=True)
    return tuple(replace(e, position=i) for i, e in enumerate(ordered, 1))
