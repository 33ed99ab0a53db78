"""The restore on the server, from a staged regular file, and its proof.

    volutil -h S restore -f STAGED PARTITION NAME
    volutil -h S dump ID  ->  contents  ==  contents of STAGED ?

Why a regular file: current Coda's client asserts and sleeps forever when
the dump is on its stdin (fd 0), and a pipe, FIFO or /dev/fd whose writer
pauses makes the server read on into its previous restore's buffer and
report success (ref §23 rows 1, 2).  A regular file read by volutil's own
``-f`` has neither problem; the 2 GB limit the old stdin recipe avoided
concerns transfers with a seek offset, which ``-f`` does not use (§16).

Why the dump back: the server can fail or lie (rows 2, 3, 16); a restored
volume dumps back (row 18), so every restore is compared with what was
sent before it counts as done.  ``Transport.STDIN`` gives the staged file
to volutil as its stdin, for old servers whose stdin path works.
"""

from __future__ import annotations

import enum
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from coda_restore import proc
from coda_restore.errors import CodaRestoreError, NotVerified, RestoreFailed, RestoreWrong
from coda_restore.volutil import Volutil, created_id, explain, hexid, parse_volume_list
from coda_restore.voldump.contents import Contents, contents, differences
from coda_restore.voldump.stream import Tee


class Transport(enum.Enum):
    FILE = "file"  # volutil restore -f STAGED (current Coda)
    STDIN = "stdin"  # the staged file on volutil's stdin (old servers only)


class NameState(enum.Enum):
    FREE = "free"
    TAKEN = "taken"  # a volume on the server has that name, or that id
    UNKNOWN = "unknown"  # volutil could not tell


@dataclass(frozen=True)
class NameCheck:
    state: NameState
    detail: str  # the preflight line's words

    @property
    def free(self) -> bool:
        return self.state is NameState.FREE


def name_free(vu: Volutil, name: str) -> NameCheck:
    """Whether any volume on the server has ``name`` as its name or its id
    (volutil takes either).  ``volutil getvolumelist`` lists every
    volume, restored ones too, which ``info NAME`` misses since they are in
    no VLDB (§23 row 8), and the server allows a second volume of a name in
    use (row 15); ``info NAME`` when getvolumelist fails."""
    where = vu.server or "the local server"
    listed = proc.run(vu.argv("getvolumelist"), check=False)
    if listed.status == 0:
        volumes = parse_volume_list(listed.stdout)
        taken = [hexid(volid) for volid, vname in volumes.items() if vname == name]
        if taken:
            return NameCheck(NameState.TAKEN, f"volume {name} already exists on {where} (id {', '.join(taken)})")
        as_id = _hex_or_none(name)
        if as_id is not None and as_id in volumes:
            return NameCheck(NameState.TAKEN,
                             f"volume {name} already exists on {where}: {name} is the id of {volumes[as_id]}")
        return NameCheck(NameState.FREE, f"{name} is free on {where} (no volume of {len(volumes)} has that name or id)")
    done = proc.run(vu.argv("info", name), check=False)
    if done.status == 0:
        return NameCheck(NameState.TAKEN, f"volume {name} already exists on {where}")
    # current Coda: 22 for a name not in the VLDB, 603 for no such volume (§23 rows 8, 9)
    if re.search(r"not found|does not exist|VNOVOL|no such|return code (22|603)\b", done.stderr, re.I):
        return NameCheck(NameState.FREE,
                         f"{name} is free on {where} (volutil info; getvolumelist failed: {explain(listed.stderr)})")
    return NameCheck(NameState.UNKNOWN, f"cannot tell whether {name} exists: volutil info exited {done.status}: "
                                        f"{explain(done.stderr)}")


def _hex_or_none(word: str) -> int | None:
    try:
        return int(word, 16)
    except ValueError:
        return None


def purge_command(vu: Volutil, volid: int | str, name: str) -> str:
    return proc.display(vu.argv("purge", volid if isinstance(volid, str) else hexid(volid), name))


def restore_staged(vu: Volutil, argv: list[str], staged: Path, name: str, transport: Transport,
                   watch=lambda child: None) -> int:
    """Run ``argv`` (volutil restore); return the id of the volume it made.
    ``watch(child)`` lets a stall watchdog stop it."""
    with open(staged, "rb") if transport is Transport.STDIN else open("/dev/null", "rb") as stdin:
        child = proc.Child(argv, stdin=stdin, stdout=proc.PIPE)
        watch(child)
        try:
            out = child.stdout.read().decode("utf-8", "replace")
        except BaseException:  # a signal: volutil leads its own process group, so stop it here
            child.kill()
            raise
        status = child.wait(check=False)
    volid = created_id(out)
    if status != 0 or volid is None:
        why = explain(child.stderr_tail) if status != 0 else f"no 'VolRestore successful' in {out.strip()!r}"
        # a restored volume is in no VLDB: getvolumelist finds it, info NAME does not
        check = f"{proc.display(vu.argv('getvolumelist'))} (a line B{name} I<VOLID> ...)"
        raise RestoreFailed(name, why, name, vu.server or "the local server", check,
                            purge_command(vu, "VOLID", name), staged)
    return volid


def dump_back(vu: Volutil, volid: int, on_bytes, watch=lambda child: None) -> Contents:
    """``volutil dump ID`` of the restored volume, read as it streams;
    ``watch(child)`` lets a stall watchdog stop it."""
    child = proc.Child(vu.dump_back_argv(volid), stdout=proc.PIPE)
    watch(child)
    counted = Tee(child.stdout, on_bytes=on_bytes)
    try:
        got = contents(counted, f"volutil dump {hexid(volid)}")
    except CodaRestoreError as err:
        child.kill()
        child.wait(check=False)
        raise _DumpBackFailed(f"{err}; volutil: {explain(child.stderr_tail)}") from None
    if child.wait(check=False) != 0:
        raise _DumpBackFailed(explain(child.stderr_tail))
    return got


class _DumpBackFailed(Exception):
    pass


def verify(vu: Volutil, volid: int, name: str, server: str | None, sent: Contents, staged: Path,
           on_bytes=lambda n: None, watch=lambda child: None) -> Contents:
    """Dump the restored volume back and compare; raise unless it is what was sent."""
    purge = purge_command(vu, volid, name)
    try:
        got = dump_back(vu, volid, on_bytes, watch)
    except _DumpBackFailed as err:
        raise NotVerified(name, hexid(volid), server or "the local server", err, purge, staged) from None
    diffs = differences(sent, got)
    if diffs:
        raise RestoreWrong(name, hexid(volid), server or "the local server", "\n  ".join(diffs), purge, staged)
    return got


def acl_users_check(pdbtool: str, names: set[str]) -> tuple[bool | None, str]:
    """Look every ACL name of the dump up in the protection DB
    (``pdbtool n NAME``: ``NAME's id is ID``, 0 when unknown).  Returns
    (True: all known, False: some unknown, None: not checked) and a line."""
    if not names:
        return True, "the dump's ACLs name nobody"
    if shutil.which(pdbtool) is None:
        return None, f"not checked: {pdbtool} not found (the server's protection DB is not reachable)"
    unknown = []
    for name in sorted(names):
        done = proc.run([pdbtool, "n", name], check=False, timeout=60)
        text = done.stdout.strip()
        if done.status != 0 or "'s id is" not in text:
            return None, f"not checked: {pdbtool} n {name} answered {explain(done.stderr) or text!r}"
        if text.rsplit(" ", 1)[-1] == "0":
            unknown.append(name)
    if unknown:
        return False, (f"the server's protection DB does not know {', '.join(unknown)}: their ACL entries "
                       "will not be restored (the server leaves stale ACLs; the verify will fail)")
    return True, f"all {len(names)} name(s) of the dump's ACLs are known to the protection DB"
