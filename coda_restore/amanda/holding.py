"""Dumps waiting in holding disks, read from their 32 KiB Amanda headers
(ref amanda-formats.md §4.1–§4.2).

A holding dump is identified by its header, not its name: any non-empty
regular file in a ``<holding>/<8 or 14 digits>/`` directory whose header type
is ``FILE``.  Its chunks are found by following ``CONT_FILENAME=`` (an
absolute path, possibly on another holding disk).  ``*.tmp`` files (being
written) are ignored, as is a directory whose ``pid`` file names a live
process (a dump is in progress there).  ``PARTIAL=YES`` marks what
amcleanup salvaged from an interrupted dump.
"""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass

from coda_restore.amanda.logfile import LogSyntaxError, tokens, unquote
from coda_restore.amanda.model import CatalogWarning, DumpStatus, HoldingCopy, Origin

HEADER_BYTES = 32 * 1024  # DISK_BLOCK_BYTES
_RUN_DIR = re.compile(r"\d{8}|\d{14}")
_MAX_CHUNKS = 100_000  # a CONT_FILENAME loop must end


@dataclass(frozen=True, slots=True)
class Header:
    """The fields of a dump file header that a catalog needs."""

    type: str  # FILE, CONT_FILE, SPLIT_FILE, TAPESTART, ...
    datestamp: str
    host: str
    disk: str
    level: int
    partial: bool = False
    cont_filename: str | None = None
    orig_kb: int | None = None
    program: str | None = None
    application: str | None = None
    compression: str | None = None  # "comp" suffix, None when "N"


def parse_header(block: bytes) -> Header:
    """Parse a header block; raises LogSyntaxError when it is not a dump header."""
    text = block.split(b"\0", 1)[0].decode("utf-8", "surrogateescape")
    first, _, rest = text.partition("\n")
    toks = tokens(first)
    if len(toks) < 2 or toks[0] not in ("AMANDA:", "NETDUMP:"):
        raise LogSyntaxError("not an Amanda header")
    typ = toks[1]
    if typ not in ("FILE", "CONT_FILE", "SPLIT_FILE"):
        raise LogSyntaxError(f"header type {typ} is not a dump")
    if len(toks) < 7:
        raise LogSyntaxError("short dump header")
    datestamp, host, disk = toks[2], toks[3], unquote(toks[4])
    fields: dict[str, str] = {}
    i = 5
    while i + 1 < len(toks):
        fields.setdefault(toks[i], toks[i + 1])
        i += 2
    try:
        level = int(fields["lev"])
    except (KeyError, ValueError):
        raise LogSyntaxError("no level in header") from None
    partial = False
    cont = orig = app = None
    for line in rest.split("\n"):
        if line.startswith("CONT_FILENAME="):
            cont = line[len("CONT_FILENAME="):] or None
        elif line == "PARTIAL=YES":
            partial = True
        elif line.startswith("ORIGSIZE="):
            try:
                orig = int(line[len("ORIGSIZE="):])
            except ValueError:
                pass
        elif line.startswith("APPLICATION="):
            app = line[len("APPLICATION="):]
        elif line.startswith("DLE=<<") or line.startswith("To restore"):
            break  # the DLE heredoc and the instructions carry nothing we need
    comp = fields.get("comp")
    return Header(typ, sys.intern(datestamp), sys.intern(host), sys.intern(disk), level, partial, cont,
                  orig, fields.get("program"), app, None if comp in (None, "N") else comp)


def read_header(path: str) -> Header:
    with open(path, "rb") as f:
        return parse_header(f.read(HEADER_BYTES))


def _check_size(path: str) -> None:
    """A holding file is its 32 KiB header and then data: anything shorter
    (cut, or empty) is no copy of a dump, and is said so, not dropped."""
    size = os.path.getsize(path)
    if size == 0:
        raise LogSyntaxError("the file is empty (0 bytes)")
    if size < HEADER_BYTES:
        raise LogSyntaxError(f"the file is {size} bytes, shorter than its {HEADER_BYTES}-byte Amanda header")


def _live_pid(run_dir: str) -> bool:
    try:
        with open(os.path.join(run_dir, "pid")) as f:
            pid = int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass(frozen=True, slots=True)
class HoldingDump:
    header: Header
    copy: HoldingCopy


def scan_holding(roots: tuple[str, ...] | list[str], warnings: list[CatalogWarning]) -> list[HoldingDump]:
    """Every holding dump under the given holding-disk directories."""
    found: list[HoldingDump] = []
    for root in roots:
        try:
            runs = sorted(os.listdir(root))
        except FileNotFoundError:
            warnings.append(CatalogWarning(Origin(root), "holding disk directory does not exist"))
            continue
        except OSError as err:
            warnings.append(CatalogWarning(Origin(root), f"cannot list holding disk: {err.strerror}"))
            continue
        for run in runs:
            run_dir = os.path.join(root, run)
            if not _RUN_DIR.fullmatch(run) or not os.path.isdir(run_dir) or _live_pid(run_dir):
                continue
            try:
                names = sorted(os.listdir(run_dir))
            except OSError as err:
                warnings.append(CatalogWarning(Origin(run_dir), f"cannot list holding run directory: {err.strerror}"))
                continue
            for name in names:
                path = os.path.join(run_dir, name)
                if name.endswith(".tmp") or name == "pid" or not os.path.isfile(path):
                    continue
                try:
                    _check_size(path)
                    header = read_header(path)
                except LogSyntaxError as err:
                    warnings.append(CatalogWarning(Origin(path), f"not a holding dump: {err}"))
                    continue
                except OSError as err:
                    warnings.append(CatalogWarning(Origin(path), f"cannot read holding file: {err.strerror}"))
                    continue
                if header.type != "FILE":
                    continue  # CONT_FILE chunks are reached from their first chunk
                found.append(HoldingDump(header, _follow_chunks(path, header, warnings)))
    return found


def _follow_chunks(path: str, header: Header, warnings: list[CatalogWarning]) -> HoldingCopy:
    chunks = [path]
    size = max(os.path.getsize(path) - HEADER_BYTES, 0)
    partial = header.partial
    nxt = header.cont_filename
    while nxt and len(chunks) < _MAX_CHUNKS:
        if nxt in chunks:
            warnings.append(CatalogWarning(Origin(chunks[-1]), f"CONT_FILENAME loops back to {nxt}"))
            partial = True
            break
        try:
            _check_size(nxt)
            chunk = read_header(nxt)
            size += max(os.path.getsize(nxt) - HEADER_BYTES, 0)
        except (OSError, LogSyntaxError) as err:
            reason = err.strerror if isinstance(err, OSError) else str(err)
            warnings.append(CatalogWarning(Origin(chunks[-1]), f"next chunk {nxt}: {reason}"))
            partial = True  # a missing chunk: the image is incomplete
            break
        chunks.append(nxt)
        partial = partial or chunk.partial
        nxt = chunk.cont_filename
    if size == 0 and not partial:
        warnings.append(CatalogWarning(Origin(path), "holding file has a header but no data: not a copy"))
        partial = True
    status = DumpStatus.PARTIAL if partial else DumpStatus.OK
    return HoldingCopy(path=path, chunks=tuple(chunks), status=status, kb=size // 1024)
