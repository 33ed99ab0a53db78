"""The ``volutil`` command line of the simulator (ref §16), over a Server.

Argument handling copies volclient.cc: leading option/value pairs (-h, -r,
-t, -d; unknown ones are consumed with their value) while more than one
argument remains; hexadecimal volume ids (``0x`` accepted); ``dump -i``
takes the next word as the level only when more than four words remain
(so ``dump -i VOLID FILE`` misparses exactly as the real client does).
Messages and exit statuses are the real client's: 0 on success, 1 with
``<Call> failed with <reason>`` on stderr.

Simulator-only: the state directory comes from ``-S DIR`` (before the
command) or the ``CODASIM_STATE`` environment variable; ``-h`` accepts any
name (there is one server).  ``CODASIM_FAIL=dump`` (or a comma list of
commands) makes those calls fail as a dead server would, for tests of the
callers' error paths.
"""

from __future__ import annotations

import io
import os
import re
import stat
import socket
import sys
import time
from typing import BinaryIO, TextIO

from .errors import BadName, NoVolume, ServerDied, ServerError, TransferFailed
from .server import SERVER_ID, Server
from .tree import volume_state

USAGE = ("Usage: volutil [-h host] [-r realm] [-t timeout] [-d debuglevel] <option>,\n"
         "    where <option> is one of the following:\n"
         "\tancient, backup, create, create_rep, dump, dumpestimate, restore, info, lock,\n"
         "\tpurge, unlock\n"
         "\t(codasim: the simulated subset)\n")


class Exit(Exception):
    def __init__(self, status: int):
        self.status = status


def _hex(word: str) -> int | None:
    """sscanf("%x"): optional 0x, leading hex digits."""
    m = re.match(r"\s*[+-]?(?:0[xX])?([0-9a-fA-F]+)", word)
    return int(m.group(1), 16) if m else None


def _atoi(word: str) -> int:
    m = re.match(r"\s*([+-]?\d+)", word)
    return int(m.group(1)) if m else 0


class Volutil:
    def __init__(self, argv: list[str], stdin: BinaryIO, stdout: BinaryIO, stderr: TextIO,
                 env: dict[str, str]):
        self.argv = argv
        self.stdin, self.stdout, self.stderr, self.env = stdin, stdout, stderr, env
        self.state_dir = env.get("CODASIM_STATE")

    def err(self, text: str) -> None:
        self.stderr.write(text)
        self.stderr.flush()

    def fail(self, call: str, e: ServerError, lead: str = "") -> None:
        self.err(f"{lead}{call} failed with {e.text}\n")
        raise Exit(1)

    def usage(self, text: str) -> None:
        self.err(text + "\n")
        raise Exit(1)

    def run(self) -> int:
        try:
            self._run()
        except Exit as e:
            return e.status
        return 0

    def _run(self) -> None:
        args = ["volutil"] + list(self.argv)
        host = socket.gethostname()
        while len(args) > 2 and args[1].startswith("-"):
            if args[1] == "-S":
                self.state_dir = args[2]
            elif args[1] == "-h":
                try:
                    socket.gethostbyname(args[2])
                except OSError:
                    self.err(f"{args[2]} is not a valid host name.\n")
                    raise Exit(1)
                host = args[2]
            del args[1:3]
        if len(args) < 2:
            self.usage(USAGE.rstrip("\n"))
        if not self.state_dir:
            self.usage("codasim volutil: set CODASIM_STATE (or -S DIR) to the server's state directory")
        command = args[1]
        handler = getattr(self, "cmd_" + command, None)
        if handler is None:
            self.usage(USAGE.rstrip("\n"))
        # ref §23 row 10: every call's stderr starts so, whatever follows
        self.err(f"V_BindToServer: binding to host {host}\n")
        if not _can_read_token(self.state_dir):
            # volclient.cc: no readable volutil.tk and no Coda token (stdout, exit 1)
            self.stdout.write(b"Couldn't get a token to authenticate with the server\n")
            raise Exit(1)
        call = _CALLS.get(command, command)
        if os.path.exists(os.path.join(self.state_dir, "dead")):
            self.err(f"{call} failed with RPC2_DEAD (F)\n")
            raise Exit(1)
        self.server = Server(self.state_dir)
        self.args = args
        failing = {c.strip() for c in self.env.get("CODASIM_FAIL", "").split(",") if c.strip()}
        if command in failing:
            self.err(f"{call} failed with RPC2_NOBINDING (F) (codasim: {command} told to fail)\n")
            raise Exit(1)
        handler()

    # -- commands ---------------------------------------------------------
    def _volid(self, word: str, what: str) -> int:
        v = _hex(word)
        if v is None:
            self.usage(f"{what} {word}")
        return v

    def _create(self, partition: str, name: str, group: int | None, replica: int | None) -> None:
        if len(partition) > 2 and partition.endswith("/"):
            partition = partition[:-1]
        try:
            vol = self.server.create_volume(name, partition, replicated=group is not None,
                                            group_id=group, replica_id=replica or None)
        except ServerError as e:
            self.fail("VolCreate", e)
        self.stdout.write(f"Volume {vol.id:08x} ({name}) created \n".encode())

    def cmd_create(self) -> None:
        if len(self.args) != 4:
            self.usage("Usage:  volutil create partition-path volumeName")
        self._create(self.args[2], self.args[3], None, None)

    def cmd_create_rep(self) -> None:
        if len(self.args) not in (5, 6):
            self.usage("Usage: volutil create_rep partition volumename replicated-volid [replica-volid]")
        group = self._volid(self.args[4], "CreateRep: Bad Group Id")
        replica = self._volid(self.args[5], "CreateRep: Bad Volume Id") if len(self.args) == 6 else None
        self._create(self.args[2], self.args[3], group, replica)

    def cmd_lock(self) -> None:
        if len(self.args) != 3:
            self.usage("Usage: volutil lock volumeId")
        vid = self._volid(self.args[2], "VolLock: Bogus volume number")
        try:
            vv = self.server.lock(vid)
        except ServerError as e:
            self.fail("VolLock", e)
        sites = ",".join(str(s if s < 2**31 else s - 2**32) for s in vv.versions)
        self.stdout.write(f"Locked volume {vid:08x} had a VVV of ({sites})\n".encode())

    def cmd_unlock(self) -> None:
        if len(self.args) != 3:
            self.usage("Usage: volutil unlock volumeId")
        vid = self._volid(self.args[2], "VolUnlock: Bogus volume number")
        try:
            self.server.unlock(vid)
        except ServerError as e:
            self.fail("VolUnlock", e)
        self.stdout.write(f"Volume {vid:08x} is unlocked.\n".encode())

    def cmd_backup(self) -> None:
        if len(self.args) != 3:
            self.usage("Usage: volutil backup volumeId")
        vid = self._volid(self.args[2], "VolMakeBackups: Bogus volume number")
        try:
            bid = self.server.backup(vid)
        except ServerError as e:
            self.fail("VolMakeBackups", e)
        self.stdout.write(f"Backup (id = {bid:08x}) of Volume {vid:08x} created\n".encode())

    def cmd_ancient(self) -> None:
        if len(self.args) not in (3, 4):
            self.usage("Usage: volutil ancient <backupid>")
        ids = [self._volid(w, "MarkAsAncient: Bad backupId") for w in self.args[2:]]
        try:
            self.server.ancient(*ids)
        except ServerError as e:
            self.fail("VolMarkAsAncient", e)

    def cmd_dump(self) -> None:
        a = self.args
        level, bad = 0, False
        while len(a) > 2 and a[2].startswith("-"):
            if a[2] == "-i":
                if len(a) > 4:
                    level = _atoi(a[3])
                    a = a[:2] + a[3:]
                else:
                    level = 1
            else:
                bad = True
            a = a[:2] + a[3:]
        if bad or len(a) < 3:
            self.usage("Usage: volutil dump [-i [lvl]] <volume-id> [file]")
        vid = self._volid(a[2], "Dump: Bad Volumeid")
        sink = _Receiver(self.stdout) if len(a) < 4 else open(a[3], "wb")
        out = self._dying(vid, sink)
        try:
            done, nbytes = self.server.dump(vid, level, out)
        except ServerError as e:
            self.fail("VolDump", e, lead="\n")
        except _DiedMidDump:
            self.err("\nVolDump failed with RPC2_DEAD (F) (codasim: died mid-dump)\n")
            raise Exit(1)
        finally:
            if not isinstance(sink, _Receiver):
                sink.close()
        self.err(".\n" + ("Incremental " if done else "") + f"VolDump completed, {nbytes & 0xFFFFFFFF} bytes dumped\n")

    def _dying(self, vid: int, out):
        """CODASIM_DIE_AFTER=NAME:BYTES: a dump of volume NAME stops after that
        many bytes with an error, as when the server dies mid-dump (a fault
        for callers' tests)."""
        name, _, count = self.env.get("CODASIM_DIE_AFTER", "").partition(":")
        if not count:
            return out
        try:
            if self.server.volume(vid).name != name:
                return out
        except ServerError:
            return out
        return _Dying(out, int(count))

    def cmd_dumpestimate(self) -> None:
        if len(self.args) < 3:
            self.usage("Usage: volutil dumpestimate <volume-id>")
        vid = self._volid(self.args[2], "Dump: Bad Volumeid")
        try:
            sizes = self.server.dumpestimate(vid)
        except ServerDied as e:
            self.err(f"VolDumpEstimate failed with {e.text}\n")
            raise Exit(1)
        except ServerError as e:
            self.fail("VolDumpEstimate", e)
        self.stdout.write(("Level0> " + " ".join(str(s & 0xFFFFFFFF) for s in sizes) + " <Level9\n").encode())
        self.err("VolDumpEstimate completed\n")

    def cmd_restore(self) -> None:
        a = self.args
        filename = None
        while len(a) > 2 and a[2].startswith("-"):
            if a[2] == "-f":
                filename = a[3] if len(a) > 3 else None
                a = a[:2] + a[3:]
            a = a[:2] + a[3:]
        if len(a) < 3:
            self.usage("Usage: volutil restore [-f <file name>] <partition-name> [<volname> [<volid>]]")
        partition = a[2]
        if len(partition) > 2 and partition.endswith("/"):
            partition = partition[:-1]
        name = a[3] if len(a) > 3 and a[3] else None
        volid = (_hex(a[4]) or 0) if len(a) > 4 else 0
        if filename is None and self.env.get("CODASIM_CLIENT") != "old":
            self._hang_on_stdin()
        try:
            fd = os.dup(0) if filename is None else os.open(filename, os.O_RDONLY)
        except OSError as e:
            self.err(f"RestoreFile: {e.strerror}\n")
            raise Exit(1)
        try:
            received = read_as_sftp(fd)
        finally:
            os.close(fd)
        limit = self.env.get("CODASIM_RESTORE_LIMIT")
        try:
            created = self.server.restore(io.BytesIO(received), partition, name, volid,
                                          limit=int(limit) if limit else None)
        except TransferFailed as e:
            self.fail("VolRestore", e, lead=e.detail + "\n")
        except ServerError as e:
            self.fail("VolRestore", e, lead="\n")
        self.stdout.write(f"\nVolRestore successful, created {created:08x}\n".encode())

    def _hang_on_stdin(self) -> None:
        """§23 row 1: without -f the client's rock holds fd 0 and
        ``CODA_ASSERT(rockinfo->fd != 0)`` fails; coda_assert sleeps forever."""
        # coda_assert.c's format; the line number is the simulator's, not read from volclient.cc
        self.err('Assertion failed: rockinfo->fd != 0, file "volclient.cc", line 1011\n')
        self.err(f"Sleeping forever.  You may use gdb to attach to process {os.getpid()}.")
        while True:
            time.sleep(1)

    def cmd_purge(self) -> None:
        if len(self.args) != 4:
            self.usage("Usage: volutil purge VolumeId VolumeName")
        vid = self._volid(self.args[2], "Purge: Bad Volume Id")
        try:
            self.server.purge(vid, self.args[3])
        except ServerError as e:
            self.fail("VolPurge", e)
        self.stdout.write(f"Volume {vid:08x} ({self.args[3]}) successfully purged\n".encode())

    def cmd_getvolumelist(self) -> None:
        """Every volume on the server, VLDB or not, as vol-getvolumelist.cc's
        VListVolumes writes it: ``P<part> H<host> T<total> F<free>`` per
        partition, then ``<W|R|B|?><name> I<id> H<server> P<part> m M U W C D B A``."""
        with self.server.txn() as t:
            vols = [t.volume(v) for v in t.ids()]
            parts = t.meta["partitions"]
        host = socket.gethostname()
        lines = [f"P{p} H{host} T{0x100000:x} F{0x80000:x}\n" for p in parts]
        kind = {0: "W", 1: "R", 2: "B"}
        for v in vols:
            usage = sum(v.week_use)
            lines.append(f"{kind.get(int(v.type), '?')}{v.name} I{v.id:x} H{SERVER_ID:x} P{v.partition} "
                         f"m{v.minquota:x} M{v.maxquota:x} U{v.diskused:x} W{v.parent_id:x} "
                         f"C{v.creation_date:x} D{v.copy_date:x} B{v.backup_date:x} A{usage:x}\n")
        out = self.stdout if len(self.args) < 3 else open(self.args[2], "wb")
        out.write("".join(lines).encode())
        out.flush()
        self.err("GetVolumeList finished successfully\n")

    def cmd_info(self) -> None:
        a = self.args
        dump_all = False
        while len(a) > 2 and a[2].startswith("-"):
            if a[2] != "-all":
                self.usage("Usage: volutil info [-all] volumeName/volumeNumber [file]")
            dump_all = True
            a = a[:2] + a[3:]
        if len(a) < 3:
            self.usage("Usage: volutil info [-all] volumeName/volumeNumber [file]")
        try:
            with self.server.txn() as t:
                vol = t.locate(a[2])  # names only through the VLDB (ref §23 rows 8, 9)
        except ServerError as e:
            self.fail("VolInfo", e)
        text = info_text(vol, dump_all)
        if len(a) > 3:
            with open(a[3], "w") as f:
                f.write(text)
        else:
            self.stdout.write(text.encode())


# the RPC each command makes, as its error messages name it
_CALLS = {"lock": "VolLock", "unlock": "VolUnlock", "backup": "VolMakeBackups",
          "ancient": "VolMarkAsAncient", "dump": "VolDump", "dumpestimate": "VolDumpEstimate",
          "restore": "VolRestore", "info": "VolInfo", "purge": "VolPurge",
          "create": "VolCreate", "create_rep": "VolCreate"}


def _can_read_token(state_dir: str) -> bool:
    """The server's secret is readable (the state of a new directory always is)."""
    token = os.path.join(state_dir, "volutil.tk")
    if os.path.exists(token):
        return os.access(token, os.R_OK)
    if os.path.isdir(state_dir):  # made before the token was simulated
        return os.access(state_dir, os.R_OK | os.X_OK)
    return os.access(os.path.dirname(os.path.abspath(state_dir)), os.W_OK | os.X_OK)


_TYPENAMES = {0: "read/write", 1: "readonly", 2: "backup"}


def _date(t: int) -> str:
    """vol-info.cc's date(): local time, no Unix seconds (ref §23 row 12)."""
    tm = time.localtime(t)
    return (f"({tm.tm_year:04d}/{tm.tm_mon:02d}/{tm.tm_mday:02d}."
            f"{tm.tm_hour:02d}:{tm.tm_min:02d}:{tm.tm_sec:02d})")


def _vv(vv) -> str:
    signed = [s if s < 2**31 else s - 2**32 for s in vv.versions]
    return "{[" + "".join(f" {s}" for s in signed) + f" ] [ {vv.store_host} {vv.store_uniq} ] [ {vv.flags:#x} ]}}\n"


def info_text(vol, dump_all: bool = False) -> str:
    """VolInfo's header (vol-info.cc's PrintHeader, same lines and formats), the
    vnodes with -all, then -- a simulator addition -- the tree, one path a line."""
    t = int(vol.type)
    out = [
        f"Volume header for volume {vol.id:08x} ({vol.name})\n",
        f"stamp.magic = 78a1b2c5, stamp.version = {vol.stamp_version}\n",
        f"partition = ({vol.partition})\n",
        f"inUse = 0, inService = {vol.in_service}, blessed = {vol.blessed}, needsSalvaged = 0, dontSalvage = 0\n",
        f"type = {t} ({_TYPENAMES.get(t, 'unknown')}), uniquifier = {vol.uniquifier}, needsCallback = 0, destroyMe = 0\n",
        f"id = {vol.id:08x}, parentId = {vol.parent_id:08x}, cloneId = {vol.clone_id:08x}, "
        f"backupId = {vol.backup_id:08x}, restoredFromId = {vol.restored_from_id:08x}\n",
        f"maxquota = {vol.maxquota}, minquota = {vol.minquota}, maxfiles = {vol.maxfiles}, "
        f"filecount = {vol.filecount}, diskused = {vol.diskused}\n",
        f"creationDate = {_date(vol.creation_date)}, copyDate = {_date(vol.copy_date)}\n",
        f"backupDate = {_date(vol.backup_date)}, expirationDate = {_date(vol.expiration_date)}\n",
        f"accessDate = {_date(vol.access_date)}, updateDate = {_date(vol.update_date)}\n",
        f"owner = {vol.owner}, accountNumber = {vol.account_number}\n",
        f"dayUse = {vol.day_use}; week = ({', '.join(str(w) for w in vol.week_use)}), "
        f"dayUseDate = {_date(vol.day_use_date)}\n",
    ]
    if vol.group_id:
        out.append(f"replicated groupId = {vol.group_id:08x}\n")
        out.append(_vv(vol.vv))
    if dump_all:
        for title, idx in (("\nLarge vnodes (directories)\n", vol.large),
                           ("\nSmall vnodes(files, symbolic links)\n", vol.small)):
            out.append(title)
            for v in idx:
                out.append(f"Vnode {v.vnum}.{v.uniq}.{v.data_version}, cloned = 0, length = {v.length}, inode = 0\n")
                out.append(f"link count = {v.link_count}, type = {int(v.vtype)}, volume index = 0\n")
                out.append(_vv(v.vv))
    out.append("\nTree (codasim):\n")
    for path, node in sorted(volume_state(vol).items()):
        out.append(f"{path}\t{node}\n")
    return "".join(out)


class _DiedMidDump(Exception):
    pass


class _Dying:
    """Passes on the first ``left`` bytes, then the dump dies."""

    def __init__(self, out, left: int):
        self.out, self.left = out, left

    def write(self, data) -> None:
        data = bytes(data)
        if len(data) >= self.left:
            self.out.write(data[:self.left])
            self.out.flush()
            raise _DiedMidDump()
        self.left -= len(data)
        self.out.write(data)

    def flush(self) -> None:
        self.out.flush()


class _Receiver:
    """The dump's stdout.  When the reader quits early the rest is dropped and
    the dump still succeeds with its full byte count (ref §23 row 13)."""

    def __init__(self, stream: BinaryIO):
        self.stream = stream
        self.gone = False

    def write(self, data) -> None:
        if not self.gone:
            try:
                self.stream.write(data)
                self.stream.flush()
            except BrokenPipeError:
                self.gone = True
                os.dup2(os.open(os.devnull, os.O_WRONLY), self.stream.fileno())

    def flush(self) -> None:
        pass


SFTP_PACKET = 8192  # bytes the client's side-effect transfer asks of its file per read


def read_as_sftp(fd: int) -> bytes:
    """What the server receives from the client's ``-f`` file (§23 row 2).

    A regular file is read to its end.  On a pipe, FIFO or /dev/fd a read
    returns what is in the pipe now: the first short read ends the transfer,
    so a writer that pauses loses the rest, unnoticed."""
    chunks = []
    regular = stat.S_ISREG(os.fstat(fd).st_mode)
    while chunk := os.read(fd, SFTP_PACKET):
        chunks.append(chunk)
        if not regular and len(chunk) < SFTP_PACKET:
            break
    return b"".join(chunks)


def main(argv: list[str] | None = None) -> int:
    tool = Volutil(sys.argv[1:] if argv is None else argv, sys.stdin.buffer, sys.stdout.buffer,
                   sys.stderr, dict(os.environ))
    return tool.run()


if __name__ == "__main__":
    sys.exit(main())
