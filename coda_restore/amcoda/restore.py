"""``amcoda restore``: a level-0 stream on stdin back onto the server, proven.

The stream is spooled to a regular file and restored with ``volutil restore
-f FILE PARTITION [NAME]`` (volutil's stdin is /dev/null: current Coda hangs
on a dump there, and a pipe handed to -f can restore stale data, ref
``coda-dump-format.md`` §23 rows 1-2), then the new volume is dumped back
and compared with what was sent: the executor's own restore and proof
(``executor.restore``), so both sides restore the same way.
"""

from __future__ import annotations

import io
import tempfile
from pathlib import Path
from typing import BinaryIO, TextIO

from coda_restore import proc
from coda_restore.amcoda.request import CHUNK, Request, Settings, settings
from coda_restore.errors import CodaRestoreError, NotVerified, RestoreFailed, RestoreWrong
from coda_restore.executor.restore import Transport, name_free, restore_staged, verify
from coda_restore.volutil import hexid
from coda_restore.voldump.contents import contents
from coda_restore.voldump.reader import DumpReader


def do_restore(req: Request, stdin: BinaryIO, err: TextIO) -> int:
    """Spool the level-0 stream on stdin to a regular file, restore it with
    ``volutil restore -f FILE PARTITION [NAME]``, then dump the new volume
    back and compare.  Every path ends; exit 0 only for a verified restore."""
    try:
        s = settings(req)
    except CodaRestoreError as exc:
        err.write(f"amcoda: {exc}\n")
        return 1
    if not s.partition:
        err.write("amcoda: restore needs the PARTITION property (e.g. /vicepa)\n")
        return 1
    head = stdin.read(4096)
    refusal = _not_a_full_dump(head) or _name_taken(s)
    if refusal:
        err.write(f"amcoda: {refusal}\n")
        return 1
    name = s.restore_name or "(the server's default name)"
    staged = None
    try:
        staged = _spool(head, stdin, s.staging)
        with open(staged, "rb") as f:
            sent = contents(f, "stdin")  # the whole image is valid before the server sees it
        argv = s.volutil.restore_argv(s.partition, s.restore_name, file=str(staged))
        err.write(f"amcoda: {proc.display(argv)}\n")
        volid = restore_staged(s.volutil, argv, staged, name, Transport.FILE)
        err.write(f"amcoda: VolRestore successful, created {volid:08x}\n")
        verify(s.volutil, volid, s.restore_name or hexid(volid), s.volutil.server, sent, staged)
    except OSError as exc:
        err.write(f"amcoda: cannot spool the image to {s.staging or tempfile.gettempdir()}: {exc}\n")
        _remove(staged)
        return 1
    except (RestoreFailed, RestoreWrong, NotVerified) as exc:
        err.write(f"amcoda: {exc}\n")  # the image is kept: the message names it
        return 1
    except CodaRestoreError as exc:
        err.write(f"amcoda: {exc}\n")
        _remove(staged)
        return 1
    _remove(staged)
    err.write(f"amcoda: verified: volume {volid:08x} dumped back holds what was sent "
              f"({sent.count(True)} directories, {sent.count(False)} files and symlinks)\n")
    return 0


def _not_a_full_dump(head: bytes) -> str | None:
    """Why the stream's first bytes are no level-0 dump, or None."""
    try:
        level = DumpReader(io.BytesIO(head), "stdin").read_header().level
    except CodaRestoreError as exc:
        return f"stdin is not a Coda dump: {exc}"
    if level:
        return (f"this is a level {level} dump; the server restores only full "
                "dumps: merge the chain first (coda-restore)")
    return None


def _name_taken(s: Settings) -> str | None:
    """Why RESTORE-NAME cannot be used, or None: the server would make a
    second volume of a name in use (§23 row 15)."""
    if not s.restore_name:
        return None
    check = name_free(s.volutil, s.restore_name)
    return None if check.free else f"{check.detail}; nothing was restored"


def _spool(head: bytes, stdin: BinaryIO, staging: str | None) -> Path:
    """The stream, ``head`` first, in a new regular file (removed if it cannot be written)."""
    staged = None
    try:
        with tempfile.NamedTemporaryFile(prefix="amcoda-restore.", suffix=".dump", dir=staging,
                                         delete=False) as spool:
            staged = Path(spool.name)
            spool.write(head)
            while chunk := stdin.read(CHUNK):
                spool.write(chunk)
    except OSError:
        _remove(staged)
        raise
    return staged


def _remove(path: Path | None) -> None:
    if path is not None:
        path.unlink(missing_ok=True)
