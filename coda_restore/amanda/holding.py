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
from dataclasses import dataclass

from coda_restore.amanda.header import HEADER_BYTES, Header, HeaderError, read_header
from coda_restore.amanda.model import CatalogWarning, DumpStatus, HoldingCopy, Origin

_RUN_DIR = re.compile(r"\d{8}|\d{14}")
_MAX_CHUNKS = 100_000  # a CONT_FILENAME loop must end


def _check_size(path: str) -> None:
    """A holding file is its 32 KiB header and then data: anything shorter
    (cut, or empty) is no copy of a dump, and is said so, not dropped."""
    size = os.path.getsize(path)
    if size == 0:
        raise HeaderError("the file is empty (0 bytes)")
    if size < HEADER_BYTES:
        raise HeaderError(f"the file is {size} bytes, shorter than its {HEADER_BYTES}-byte Amanda header")


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
                except HeaderError as err:
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
        except (OSError, HeaderError) as err:
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
