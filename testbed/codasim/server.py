"""The simulated Coda server: a state directory and the calls volutil makes.

State directory (``CODASIM_STATE`` for the volutil executable)::

    server.json            id counters, partitions, StoreId counter, name index
    volumes/<id>.json      one volume (RW replica, backup clone or restored)
    backup/<g>.<r>.newlist the vnode lists of ref §12.2, byte for byte
    backup/<g>.<r>.ancient
    timeline/<name>.jsonl  one line per edit session: time and the volume's tree
    lock                   every call holds an exclusive flock on it
    volutil.tk             the server's volutil secret: only who can read it may call
    dead                   present once the server process has died (ref §23 row 4)

The VLDB (``server.json``'s ``vldb``) holds the names ``volutil info NAME``
resolves (ref §23 row 8): volumes made by ``create_volume`` (createvol_rep
runs bldvldb.sh) and whatever ``bldvldb()`` adds; clones and restored volumes
are found by hex id only until then.

Every call takes the lock, so concurrent volutil processes (Amanda runs
dumps in parallel) see a consistent server.
"""

from __future__ import annotations

import fcntl
import io
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from . import dump as dumping
from . import restore as restoring
from . import vvlist
from .clock import Clock, system_clock
from .editor import Editor
from .errors import BadDumpStream, BadName, NoVolume, ServerDied, ServerError, TransferFailed, VolumeIdInUse, WouldBlock
from .model import DEFAULT_ACL, VV, Vnode, VnodeIndex, VnodeType, Volume, VolType
from .tree import State, state_from_json, state_to_json, volume_state

from coda_restore.voldump.dirpage import Directory

SERVER_ID = 0x01  # volume ids are (server id << 24) | counter, as Coda allocates them
SEND_CHUNK = 64 << 10  # bytes per write to the receiver
CLIENT_HOST = 0x7F000001  # StoreId.Host of every update (the one simulated client)
TRANSFER_BUFFER = "transfer.buf"  # the server's restore buffer, kept between restores
PDB_FILE = "pdb.json"  # the protection DB (name -> id), as pdbtool shows it
# a fresh server's protection DB: the system groups and the administrator
DEFAULT_PDB = {"System:AnyUser": -101, "System:AuthUsers": -102, "System:Administrators": -204,
               "admin": 500}


class Txn:
    """Loaded server state for one call; written back when the call succeeds."""

    def __init__(self, root: Path):
        self.root = root
        self.meta = json.loads((root / "server.json").read_text())
        self.loaded: dict[int, Volume] = {}
        self.as_read: dict[int, str] = {}  # a volume is written back only if it changed
        self.deleted: set[int] = set()

    def ids(self) -> list[int]:
        return sorted(int(k, 16) for k in self.meta["volumes"])

    def volume(self, volid: int) -> Volume:
        if volid in self.loaded:
            return self.loaded[volid]
        path = self.root / "volumes" / f"{volid:08x}.json"
        if volid in self.deleted or not path.exists():
            raise NoVolume(f"no volume {volid:08x}")
        text = path.read_text()
        vol = Volume.from_json(json.loads(text))
        self.loaded[volid] = vol
        self.as_read[volid] = text
        return vol

    def find(self, name_or_id: str | int) -> Volume:
        """By id (int, or hex text as volutil takes it) or by name."""
        if isinstance(name_or_id, int):
            return self.volume(name_or_id)
        for key, name in self.meta["volumes"].items():
            if name == name_or_id:
                return self.volume(int(key, 16))
        try:
            return self.volume(int(name_or_id, 16))
        except ValueError:
            raise NoVolume(f"no volume {name_or_id}") from None

    def vldb(self) -> set[str]:
        # a state directory made before the VLDB was simulated: every RW name
        if "vldb" not in self.meta:
            return {n for n in self.meta["volumes"].values() if not n.endswith(".backup")}
        return set(self.meta["vldb"])

    def locate(self, word: str) -> Volume:
        """What ``volutil info WORD`` reaches (VOL_Locate): a name only through
        the VLDB, else a hexadecimal id; a name the VLDB lacks is EINVAL."""
        if word in self.vldb():
            for key, name in self.meta["volumes"].items():
                if name == word:
                    return self.volume(int(key, 16))
            raise NoVolume(f"the VLDB names {word}, the server has no such volume")
        import re

        m = re.fullmatch(r"(?:0[xX])?([0-9a-fA-F]+)", word)
        if not m:
            raise BadName(f"{word} is not in the VLDB")
        return self.volume(int(m.group(1), 16))

    def add(self, vol: Volume) -> None:
        self.loaded[vol.id] = vol
        self.deleted.discard(vol.id)
        self.meta["volumes"][f"{vol.id:08x}"] = vol.name

    def remove(self, volid: int) -> None:
        self.loaded.pop(volid, None)
        self.deleted.add(volid)
        self.meta["volumes"].pop(f"{volid:08x}", None)

    def new_id(self) -> int:
        while True:
            self.meta["next_volume"] += 1
            vid = (SERVER_ID << 24) | self.meta["next_volume"]
            if f"{vid:08x}" not in self.meta["volumes"]:
                return vid

    def next_store_id(self) -> tuple[int, int]:
        self.meta["store_uniq"] += 1
        return CLIENT_HOST, self.meta["store_uniq"]

    def commit(self) -> None:
        vdir = self.root / "volumes"
        for volid in self.deleted:
            (vdir / f"{volid:08x}.json").unlink(missing_ok=True)
        for volid, vol in self.loaded.items():
            text = json.dumps(vol.to_json())
            if volid != vol.id or self.as_read.get(volid) != text:
                _write_atomic(vdir / f"{vol.id:08x}.json", text)
        _write_atomic(self.root / "server.json", json.dumps(self.meta, indent=1))


def _write_atomic_bytes(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


class Server:
    """One simulated file server over a state directory."""

    def __init__(self, root: str | os.PathLike, clock: Clock = system_clock,
                 partitions: tuple[str, ...] = ("/vicepa", "/vicepb")):
        self.root = Path(root)
        self.clock = clock
        for sub in ("volumes", "backup", "timeline"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        meta = self.root / "server.json"
        if not meta.exists():
            _write_atomic(meta, json.dumps({
                "next_volume": 1, "next_group": 0, "store_uniq": 0,
                "partitions": list(partitions), "volumes": {}, "vldb": []}, indent=1))
        token = self.root / "volutil.tk"
        if not token.exists():
            token.write_text("codasim volutil secret\n")
            token.chmod(0o600)
            owner = self.root.stat()
            if os.geteuid() == 0 and owner.st_uid != 0:
                # root opening a state Amanda's user owns (a lab test): the secret stays that user's
                os.chown(token, owner.st_uid, owner.st_gid)

    @property
    def dead(self) -> bool:
        """The server process died (a dumpestimate with an .ancient list, ref §23 row 4)."""
        return (self.root / "dead").exists()

    def die(self) -> None:
        (self.root / "dead").touch()

    def restart(self) -> None:
        """An operator starts codasrv again."""
        (self.root / "dead").unlink(missing_ok=True)

    def bldvldb(self) -> None:
        """bldvldb.sh: every volume the server holds gets its name into the VLDB."""
        with self.txn() as t:
            t.meta["vldb"] = sorted(t.vldb() | set(t.meta["volumes"].values()))

    @property
    def backup_dir(self) -> Path:
        return self.root / "backup"

    @contextmanager
    def txn(self) -> Iterator[Txn]:
        # read-only: flock needs no write access, so any user may share the lock file
        fd = os.open(self.root / "lock", os.O_RDONLY | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            t = Txn(self.root)
            yield t
            t.commit()
        finally:
            os.close(fd)

    # -- volumes ---------------------------------------------------------
    def create_volume(self, name: str, partition: str = "/vicepa", *, replicated: bool = True,
                      group_id: int | None = None, replica_id: int | None = None,
                      replica_index: int = 0, large_lists: int = 128, small_lists: int = 256,
                      large_step: int = 128, small_step: int = 256, owner: int = 0,
                      in_vldb: bool = True) -> Volume:
        """A new RW replica holding an empty root directory 1.1: ``createvol_rep``
        (which puts the name into the VLDB) or, with ``in_vldb=False``, a bare
        ``volutil create_rep``."""
        now = self.clock()
        with self.txn() as t:
            if partition not in t.meta["partitions"]:
                raise ServerError(f"{partition} is not a server partition")
            if any(n == name for n in t.meta["volumes"].values()):
                raise ServerError(f"volume name {name} in use")
            vid = replica_id if replica_id is not None else t.new_id()
            if f"{vid:08x}" in t.meta["volumes"]:
                raise ServerError(f"volume id {vid:08x} in use")
            if replicated and group_id is None:
                t.meta["next_group"] += 1
                group_id = 0x7F000000 | t.meta["next_group"]
            vol = Volume(id=vid, name=name, partition=partition, type=VolType.RW, parent_id=vid,
                         group_id=group_id if replicated else 0, replica_index=replica_index,
                         creation_date=now, access_date=now, update_date=now, copy_date=now,
                         large=VnodeIndex(large_lists), small=VnodeIndex(small_lists),
                         large_step=large_step, small_step=small_step, owner=owner)
            host, uniq = t.next_store_id()
            root = Vnode(1, 1, VnodeType.DIRECTORY, 0o755, link_count=2, data_version=1,
                         vv=VV(store_host=host, store_uniq=uniq), mtime=now, author=owner,
                         owner=owner, vparent=1, uparent=1, acl=DEFAULT_ACL,
                         dir=Directory.new((1, 1), (1, 1)))
            root.vv.versions[replica_index] = 1
            root.length = root.dir.npages * 2048
            vol.large.lists[0] = [root]
            vol.uniquifier = 2
            vol.vv.versions[replica_index] = 1
            t.add(vol)
            if in_vldb:
                t.meta["vldb"] = sorted(t.vldb() | {name})
        self._record(vol, now)
        return vol

    @contextmanager
    def edit(self, name_or_id: str | int) -> Iterator[Editor]:
        """Mutate a RW volume; each editor call is one update at this replica."""
        with self.txn() as t:
            vol = t.find(name_or_id)
            if vol.type != VolType.RW:
                raise ServerError(f"volume {vol.name} is not read-write")
            if vol.locked:
                raise WouldBlock(f"volume {vol.id:08x} is locked")
            ed = Editor(vol, self.clock, t.next_store_id)
            yield ed
        self._record(vol, self.clock())

    def volume(self, name_or_id: str | int) -> Volume:
        with self.txn() as t:
            return t.find(name_or_id)

    def volumes(self) -> list[Volume]:
        with self.txn() as t:
            return [t.volume(v) for v in t.ids()]

    # -- the timeline ------------------------------------------------------
    def _record(self, vol: Volume, when: int) -> None:
        line = json.dumps({"t": when, "vv": vol.vv.versions[vol.replica_index],
                           "state": state_to_json(volume_state(vol))})
        with open(self.root / "timeline" / f"{vol.name}.jsonl", "a") as f:
            f.write(line + "\n")

    def timeline(self, name: str) -> list[tuple[int, State]]:
        path = self.root / "timeline" / f"{name}.jsonl"
        out = []
        for line in path.read_text().splitlines():
            j = json.loads(line)
            out.append((j["t"], state_from_json(j["state"])))
        return out

    def state_at(self, name: str, when: int) -> State:
        """The tree of volume ``name`` at instant ``when`` (after every edit made at or before it)."""
        found = None
        for t, state in self.timeline(name):
            if t <= when:
                found = state
        if found is None:
            raise NoVolume(f"volume {name} did not exist at {when}")
        return found

    def state(self, name_or_id: str | int) -> State:
        """The tree of any volume now (a RW replica, a clone, a restored volume)."""
        return volume_state(self.volume(name_or_id))

    # -- volutil calls -----------------------------------------------------
    def lock(self, volid: int) -> VV:
        with self.txn() as t:
            vol = t.volume(volid)
            if vol.locked:
                raise WouldBlock(f"volume {volid:08x} is already locked")
            vol.locked = True
            return vol.vv.copy()

    def unlock(self, volid: int) -> None:
        with self.txn() as t:
            t.volume(volid).locked = False

    def backup(self, volid: int) -> int:
        """Create or refresh the .backup clone of a locked RW replica; unlocks it.

        As S_VolMakeBackups (vol-backup.cc): when backupId names no volume (0,
        or a purged clone) a new clone is made under a newly allocated id,
        which becomes the backupId; an existing clone is brought up to date in
        place and keeps its creation and copy dates (ref §23 row 5): only the
        RW volume's backupDate moves."""
        now = self.clock()
        with self.txn() as t:
            rw = t.volume(volid)
            if rw.type != VolType.RW:
                raise ServerError(f"volume {volid:08x} is not a read-write replica")
            if not rw.locked:
                raise ServerError(f"volume {volid:08x} is not locked")
            try:
                old = t.volume(rw.backup_id) if rw.backup_id else None
            except NoVolume:
                old = None
            clone = Volume.from_json(rw.to_json())  # a deep copy: vnodes, VV, dates
            if old is None:
                rw.backup_id = t.new_id()
                clone.creation_date = clone.copy_date = clone.backup_date = now
            else:
                clone.creation_date, clone.copy_date = old.creation_date, old.copy_date
                clone.backup_date = old.backup_date
            clone.id = rw.backup_id
            clone.name = f"{rw.name}.backup"
            clone.type = VolType.BACKUP
            clone.parent_id = rw.id
            clone.backup_id = rw.backup_id
            clone.locked = False
            rw.backup_date = now
            rw.locked = False
            t.add(clone)
            return clone.id

    def dump(self, volid: int, level: int, out: BinaryIO) -> tuple[int, int]:
        """Dump clone ``volid`` at ``level`` to ``out``; returns (level done, bytes).

        The dump is made under the server lock and sent after it is released,
        so a slow receiver does not stall other calls.  The .newlist is
        written once the dump has been sent, and also when the receiver quit
        early: the real server counts the bytes it made, not those that
        arrived, and succeeds (ref §23 row 13)."""
        buf = io.BytesIO()
        with self.txn() as t:
            done, nbytes, newlist, text = dumping.dump(t.volume(volid), level, buf, self.backup_dir)
        view = buf.getbuffer()
        try:
            for at in range(0, len(view), SEND_CHUNK):  # in pieces, as the server's WriteDump calls
                out.write(view[at:at + SEND_CHUNK])
                out.flush()
        except BrokenPipeError:
            pass  # the receiver quit early: the real server does not notice (ref §23 row 13)
        del view
        with self.txn():
            newlist.write_text(text)
        return done, nbytes

    def dumpestimate(self, volid: int) -> list[int]:
        """The sizes per level; with an .ancient list the real server asserts
        (list headers compared case-sensitively, ref §22.6, §23 row 4) and dies."""
        with self.txn() as t:
            clone = t.volume(volid)
            if dumping.has_ancient(clone, self.backup_dir):
                self.die()
                raise ServerDied("codasrv: Assertion failed: strcmp(Class, ...) == 0, vol-dump.cc:483")
            return dumping.estimate(clone, self.backup_dir)

    def ancient(self, first: int, second: int | None = None) -> None:
        """Rename the replica's .newlist to .ancient: ``ancient BACKUPID`` (current
        Coda) or ``ancient GROUPID REPLICAID`` (Coda 6)."""
        with self.txn() as t:
            if second is None:
                vol = t.volume(first)
                group, replica = vol.group_id, vol.parent_id
            else:
                group, replica = first, second
            src = vvlist.list_path(self.backup_dir, group, replica, "newlist")
            if not src.exists():
                raise ServerError(f"rename {src.name} -> .ancient failed: no such file")
            os.replace(src, vvlist.list_path(self.backup_dir, group, replica, "ancient"))

    # -- restore (ref §17, and what a real server does, §23 rows 2, 3, 15-18) --
    def restore(self, stream: BinaryIO, partition: str, name: str | None = None,
                volid: int = 0, limit: int | None = None) -> int:
        """Restore what ``stream`` delivers; returns the new volume's id.

        What the server receives goes into its transfer buffer, which keeps
        the previous restore's bytes beyond it: a short transfer (a pipe whose
        writer paused) is read on into stale data, unnoticed (row 2).  With a
        ``limit`` (the server's transfer buffer size, ``restore_limit`` in
        server.json, or the argument) a dump larger than it fails (row 3).
        Names may repeat (row 15).  ACL names are resolved in the protection
        DB: an unknown one leaves the previous vnode's ACL, logged (row 16);
        known ones come back in id order (row 17)."""
        received = stream.read()
        with self.txn() as t:
            limit = t.meta.get("restore_limit") if limit is None else limit
            if partition not in t.meta["partitions"]:
                raise BadDumpStream(f"{partition} is not a server partition")
            if volid and f"{volid:08x}" in t.meta["volumes"]:
                raise VolumeIdInUse(f"volume id {volid:08x} in use")
            if limit and len(received) > limit:
                self._transfer(received[:limit])
                raise TransferFailed("ReadDump: Error RPC2_SEFAIL2 (F) in CheckSideEffect")
            buf = self._transfer(received)
            try:
                vol = restoring.read_dump(io.BytesIO(buf))
            except BadDumpStream as e:
                self.log(f"VolRestore: {e.detail}")
                raise
            self._resolve_acls(vol)
            vol.restored_from_id = vol.parent_id
            if vol.type == VolType.RO:
                vol.name = name or restoring.default_name(vol.name, True)
            else:
                vol.name = name or restoring.default_name(vol.name, False)
            vol.id = volid or t.new_id()
            if vol.type == VolType.RO:
                vol.parent_id = vol.id
            vol.partition = partition
            vol.locked = False
            t.add(vol)
            return vol.id

    def _transfer(self, received: bytes) -> bytes:
        """The transfer buffer after receiving ``received``: its head is new,
        the rest is what the previous restore left there."""
        path = self.root / TRANSFER_BUFFER
        old = path.read_bytes() if path.exists() else b""
        buf = received + old[len(received):]
        _write_atomic_bytes(path, buf)  # replaced, not rewritten: root and Amanda's user share the state
        return buf

    def _resolve_acls(self, vol: Volume) -> None:
        pdb = self.pdb()
        last = "0\n0\n"  # the ACL area of the first vnode holds nothing yet
        for v in vol.large:
            if v.acl is None:
                continue
            resolved = _resolve_acl(v.acl, pdb)
            if resolved is None:
                self.log(f"failed to parse ExternalAccessList of vnode {v.vnum}.{v.uniq} of {vol.name}")
                v.acl = last
            else:
                v.acl = resolved
            last = v.acl

    def pdb(self) -> dict[str, int]:
        """The protection DB: name -> id (users > 0, groups < 0)."""
        path = self.root / PDB_FILE
        return json.loads(path.read_text()) if path.exists() else dict(DEFAULT_PDB)

    def set_pdb(self, names: dict[str, int]) -> None:
        _write_atomic(self.root / PDB_FILE, json.dumps(names, indent=1))

    def set_restore_limit(self, limit: int | None) -> None:
        with self.txn() as t:
            t.meta["restore_limit"] = limit

    def log(self, line: str) -> None:
        """The server's SrvLog (writable by every user that runs volutil on this state)."""
        fd = os.open(self.root / "SrvLog", os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
        try:
            if os.fstat(fd).st_uid == os.geteuid():
                os.fchmod(fd, 0o666)
            os.write(fd, (line + "\n").encode())
        finally:
            os.close(fd)

    def purge(self, volid: int, name: str) -> None:
        with self.txn() as t:
            vol = t.volume(volid)
            if vol.name != name:
                raise ServerError(f"volume {volid:08x} is named {vol.name}, not {name}")
            t.remove(volid)


def _resolve_acl(text: str, pdb: dict[str, int]) -> str | None:
    """The 'X' text with its names resolved and each part in id order, as the
    server's internal ACL holds it; None when a name is unknown or the text
    does not parse (AL_Internalize fails)."""
    lines = text.split("\n")
    try:
        npos, nneg = int(lines[0]), int(lines[1])
        entries = [line.split("\t") for line in lines[2:2 + npos + nneg]]
        parsed = [(pdb[name], name, int(rights)) for name, rights in entries]
    except (ValueError, KeyError, IndexError):
        return None
    pos, neg = sorted(parsed[:npos]), sorted(parsed[npos:])
    return f"{npos}\n{nneg}\n" + "".join(f"{n}\t{r}\n" for _, n, r in pos + neg)
