"""The backup clone: what estimate and backup dump, and selfcheck looks for.

A Coda backup dumps a read/write replica's backup clone, never the replica
itself.  ``fresh_clone`` makes or refreshes it (``volutil lock`` then
``backup``, which unlocks) when it is missing or older than CLONE-MAX-AGE,
so at most once a night however many times Amanda asks (ref
``coda-dump-format.md`` §12, §23 row 5).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from coda_restore.amcoda.request import Settings
from coda_restore.errors import CodaRestoreError, CommandFailed, VolumeProblem
from coda_restore.volutil import BACKUP, RW, VolumeInfo, hexid, no_such_volume, not_in_vldb


@dataclass(frozen=True)
class Clone:
    rw: VolumeInfo  # the read/write replica
    clone: VolumeInfo  # its backup clone, the volume that is dumped
    notes: tuple[str, ...] = ()  # what was done to get it, for the messages


def find_volume(s: Settings) -> VolumeInfo:
    """``volutil info VOLUME``, with a failure that says what it means."""
    try:
        return s.volutil.info(s.volume)
    except CommandFailed as exc:
        if not_in_vldb(exc):
            raise VolumeProblem(f"volume {s.volume}: the name is not in the server's VLDB (volutil "
                                "info finds a name only there): give the replica's hex id, or run "
                                "bldvldb.sh on the server") from None
        if no_such_volume(exc):
            raise VolumeProblem(f"no volume {s.volume} on the server") from None
        raise


def backup_clone(s: Settings, rw: VolumeInfo) -> VolumeInfo | None:
    """The RW volume's backup clone, or None when its backupId names no volume
    (0, or a purged clone: ``Unknown RPC2 return code 603``)."""
    if not rw.backup_id:
        return None
    try:
        clone = s.volutil.info(hexid(rw.backup_id))
    except CommandFailed as exc:
        if no_such_volume(exc):
            return None
        raise
    if clone.type != BACKUP or clone.parent_id != rw.id:
        # vol-backup.cc asserts on this: volutil backup would take the server down
        raise VolumeProblem(f"backupId {hexid(rw.backup_id)} of {hexid(rw.id)} names volume "
                            f"{clone.name} (type {clone.type}, parent {hexid(clone.parent_id)}), "
                            "not its backup clone: volutil backup would fail")
    return clone


def fresh_clone(s: Settings, now: Callable[[], float] = time.time) -> Clone:
    """The volume's backup clone, made or refreshed first (``lock`` then
    ``backup``, which unlocks) when the backupId names no volume or the RW
    volume's backupDate is older than CLONE-MAX-AGE: so at most once a night
    however many times Amanda asks."""
    vu = s.volutil
    first = find_volume(s)
    if first.type == BACKUP:  # the DLE names the clone itself: dump it as it is
        return Clone(vu.info(hexid(first.parent_id)), first)
    if first.type != RW:
        raise VolumeProblem(f"volume {s.volume} ({first.name}) is of type {first.type}, not a "
                            "read/write replica or its backup clone")
    rw, notes = first, []
    clone = backup_clone(s, rw)
    if clone is not None:
        age = now() - rw.backup_date
        if age <= s.clone_max_age:
            return Clone(rw, clone, (f"using backup clone {hexid(clone.id)} made "
                                     f"{age / 3600:.1f} h ago",))
        notes.append(f"backup clone {hexid(clone.id)} is {age / 3600:.1f} h old, re-cloning")
    elif rw.backup_id:
        notes.append(f"backupId {hexid(rw.backup_id)} of {hexid(rw.id)} names no volume "
                     "(the clone was purged), making a new clone")
    else:
        notes.append(f"volume {hexid(rw.id)} has no backup clone yet, cloning")
    clone = _reclone(s, rw, notes)
    notes.append(f"made backup clone {hexid(clone.id)} of {hexid(rw.id)}")
    return Clone(vu.info(hexid(rw.id)), clone, tuple(notes))


def _reclone(s: Settings, rw: VolumeInfo, notes: list[str]) -> VolumeInfo:
    """``lock`` + ``backup``: the new clone's info."""
    vu = s.volutil
    vu.lock(rw.id)
    try:
        backup_id = vu.backup(rw.id)
    except CodaRestoreError:
        try:  # backup unlocks only when it succeeds; do not leave the RW locked
            vu.unlock(rw.id)
        except CodaRestoreError as exc:
            notes.append(f"unlock after a failed backup also failed: {exc}")
        raise
    return vu.info(hexid(backup_id))
