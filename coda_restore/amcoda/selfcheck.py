"""``amcoda selfcheck``: amcheck's question, answered before estimate or
backup would fail on it.  One ``OK amcoda: ...`` or ``ERROR amcoda: ...``
line per check on stdout; exit 1 when any check failed.  Every volutil call
is bounded by SELFCHECK_TIMEOUT (see ``request.settings``)."""

from __future__ import annotations

import os
import re
import shutil
from typing import TextIO

from coda_restore import proc
from coda_restore.amcoda.clone import backup_clone, find_volume
from coda_restore.amcoda.request import Request, Settings, settings
from coda_restore.errors import CodaRestoreError, CommandFailed
from coda_restore.volutil import BACKUP, RW, AncientStyle, VolumeInfo, hexid, one_line, refused, server_gone

MAX_VOLNAME = 31  # V_MAXVOLNAMELEN is 32 with the NUL
_PARTITION = re.compile(r"/vicep[a-z0-9]+/?")


class _Lines:
    """amcheck's lines, with a count of the ERRORs."""

    def __init__(self, out: TextIO):
        self.out, self.bad = out, 0

    def ok(self, text: str) -> None:
        self.out.write(f"OK amcoda: {one_line(text)}\n")

    def error(self, text: str) -> None:
        self.bad += 1
        self.out.write(f"ERROR amcoda: {one_line(text)}\n")


def do_selfcheck(req: Request, out: TextIO) -> int:
    """``OK``/``ERROR`` lines for amcheck, for what estimate and backup would
    fail on: volutil runnable and permitted, the server answering, the volume
    present and a RW replica (or its clone), the clone present or creatable,
    the partition and restore name valid, the record style usable."""
    lines = _Lines(out)
    try:
        s = settings(req)
    except CodaRestoreError as exc:
        lines.error(str(exc))
        return 1
    if not _volutil_runs(s, lines):
        return 1
    _check_names(s, lines)
    info = _volume(s, lines)
    if info is None:
        return 1
    _check_clone(s, info, lines)
    if s.ancient is AncientStyle.GROUP_REPLICA and info.type != BACKUP and not info.group_id:
        lines.error(f"ANCIENT-ID group-replica needs a replicated volume; {s.volume} has no groupId")
    return 1 if lines.bad else 0


def _volutil_runs(s: Settings, lines: _Lines) -> bool:
    """The first word of VOLUTIL is an executable (found on PATH or given as a path)."""
    vu = s.volutil
    command = proc.display([*vu.prefix, vu.program])
    runner = (vu.prefix or (vu.program,))[0]
    found = runner if os.sep in runner else shutil.which(runner)
    if not found or not os.access(found, os.X_OK):
        lines.error(f"volutil {command}: {runner!r} is not an executable (set the VOLUTIL property)")
        return False
    lines.ok(f"volutil is {command}")
    return True


def _check_names(s: Settings, lines: _Lines) -> None:
    if s.partition is not None and not _PARTITION.fullmatch(s.partition):
        lines.error(f"PARTITION {s.partition!r} is not a Coda server partition (/vicepa, /vicepb, ...)")
    if s.restore_name is not None and not _volume_name_ok(s.restore_name):
        lines.error(f"RESTORE-NAME {s.restore_name!r} is not a Coda volume name "
                    f"(1-{MAX_VOLNAME} characters, no '/' or white space)")


def _volume_name_ok(name: str) -> bool:
    return 0 < len(name) <= MAX_VOLNAME and "/" not in name and not any(c.isspace() for c in name)


def _volume(s: Settings, lines: _Lines) -> VolumeInfo | None:
    """The volume's ``volutil info``, or None (said why) when the server,
    volutil's privilege or the volume is not there."""
    vu = s.volutil
    where = f"server {vu.server}" if vu.server else "the local server"
    try:
        info = find_volume(s)
    except CommandFailed as exc:
        if refused(exc):
            lines.error(f"volutil is refused for lack of privilege: {exc.stderr_tail} (volutil must run "
                        "as root: VOLUTIL \"sudo\" \"-n\" \"/usr/sbin/volutil\" with the sudoers rule "
                        "of the README)")
        elif server_gone(exc):
            lines.error(f"{where} does not answer: {exc}")
        else:
            lines.error(f"volume {s.volume} on {where}: {exc}")
        return None
    except CodaRestoreError as exc:
        lines.error(str(exc))
        return None
    lines.ok(f"{where} answers; volume {s.volume} is {hexid(info.id)} ({info.name})")
    return info


def _check_clone(s: Settings, info: VolumeInfo, lines: _Lines) -> None:
    """A RW replica's clone is there, or the next estimate can make one."""
    if info.type == BACKUP:
        lines.ok(f"volume {s.volume} is a backup clone: it is dumped as it is, never refreshed")
        return
    if info.type != RW:
        lines.error(f"volume {s.volume} ({info.name}) is of type {info.type}, not a read/write replica")
        return
    try:
        clone = backup_clone(s, info)
    except CodaRestoreError as exc:
        lines.error(str(exc))
        return
    if clone is not None:
        lines.ok(f"backup clone {hexid(clone.id)} of {s.volume}")
    elif info.backup_id:
        lines.ok(f"the backupId {hexid(info.backup_id)} of {s.volume} names no volume (purged "
                 "clone): the next estimate makes a new clone")
    else:
        lines.ok(f"volume {s.volume} has no backup clone yet; the first estimate makes one")
