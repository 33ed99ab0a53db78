"""The ``volutil`` client: argument lists for the backup commands and parsers
for what they print (ref ``coda-dump-format.md`` §16, and ``vol-info.cc``).

Both sides use it: amcoda (``coda_restore.amcoda``) to clone, dump and mark
a volume, and the executor (``coda_restore.executor``) to restore one and
dump it back.

Only the commands a backup or a restore needs are here: ``info``, ``lock``,
``unlock``, ``backup``, ``dumpestimate``, ``dump``, ``ancient`` and
``restore``.  Short commands run through ``coda_restore.proc``; the two
streaming ones (``dump`` to stdout, ``restore`` from stdin) are only built
here and started by their caller, which owns the pipes.

Volume ids are printed and taken in hexadecimal without ``0x``.  A real
volutil starts stderr with ``V_BindToServer: binding to host HOST`` on every
call and says some failures on stdout (ref §23 row 10), so a failed short
command is reported as one line: its stdout and stderr without the binding
line.
"""

from __future__ import annotations

import enum
import re
import time
from dataclasses import dataclass

from coda_restore import proc
from coda_restore.errors import CommandFailed, VolutilOutputError

# vol-info.cc's typestring(): 0 read/write, 1 readonly, 2 backup.
RW, RO, BACKUP = 0, 1, 2


class AncientStyle(enum.Enum):
    """How ``volutil ancient`` names the volume whose dump is marked."""

    BACKUP_ID = "backup-id"  # current Coda: ancient <backupid>
    GROUP_REPLICA = "group-replica"  # Coda 6: ancient <groupid> <repid>


@dataclass(frozen=True)
class VolumeInfo:
    """The header lines of ``volutil info`` for one volume."""

    id: int
    name: str
    type: int
    parent_id: int
    backup_id: int
    group_id: int  # 0 when the volume is not replicated
    copy_date: float  # Unix seconds; for a clone, when it was first made
    backup_date: float  # Unix seconds; for a RW volume, when its clone was last made or refreshed
    file_count: int = 0  # vnodes
    disk_used: int = 0  # KiB


_HEADER = re.compile(r"^Volume header for volume ([0-9a-fA-F]+) \((.*)\)\s*$", re.M)
_TYPE = re.compile(r"\btype = (\d+)")
_IDS = {key: re.compile(rf"\b{key} = ([0-9a-fA-F]+)") for key in ("parentId", "backupId")}
_SIZES = re.compile(r"\bfilecount = (\d+), diskused = (\d+)")
_GROUP = re.compile(r"\bgroupId = ([0-9a-fA-F]+)")  # vol-info.cc: "replicated groupId = "
# vol-info.cc prints "(YYYY/MM/DD.hh:mm:ss)" in local time; plain Unix seconds
# are accepted too (the test simulator's form).
_DATE = {key: re.compile(rf"\b{key} = (?:\((\d+)/(\d+)/(\d+)\.(\d+):(\d+):(\d+)\)|(\d+)\b)")
         for key in ("copyDate", "backupDate")}
_ESTIMATE = re.compile(r"Level0>((?:\s+\d+){10})\s+<Level9")
_BACKUP = re.compile(r"Backup \(id = ([0-9a-fA-F]+)\) of Volume ([0-9a-fA-F]+) created")
_DUMPED = re.compile(r"VolDump completed, (\d+) bytes dumped")


def _local_time(match: re.Match) -> float:
    # vol-info.cc prints localtime(); the epoch itself comes out as 1970/01/01
    # in UTC only, so a date before 1971 is "never".
    if match.group(7) is not None:
        return float(match.group(7))
    y, mo, d, h, mi, s = (int(g) for g in match.groups()[:6])
    if y < 1971:
        return 0.0
    return time.mktime((y, mo, d, h, mi, s, 0, 0, -1))


def parse_info(text: str) -> VolumeInfo:
    """Parse ``volutil info`` output (the header part; vnode lines are ignored)."""
    # Only the header: names in a vnode or tree listing must not match.
    text = re.split(r"\n(?:Large vnodes|Tree:)", text, maxsplit=1)[0]
    head = _HEADER.search(text)
    kind = _TYPE.search(text)
    if not head or not kind:
        raise VolutilOutputError("info", text[:300])
    ids = {}
    for key, rx in _IDS.items():
        m = rx.search(text)
        ids[key] = int(m.group(1), 16) if m else 0
    group = _GROUP.search(text)
    sizes = _SIZES.search(text)
    dates = {key: (_local_time(m) if (m := rx.search(text)) else 0.0)
             for key, rx in _DATE.items()}
    return VolumeInfo(id=int(head.group(1), 16), name=head.group(2), type=int(kind.group(1)),
                      parent_id=ids["parentId"], backup_id=ids["backupId"],
                      group_id=int(group.group(1), 16) if group else 0,
                      copy_date=dates["copyDate"], backup_date=dates["backupDate"],
                      file_count=int(sizes.group(1)) if sizes else 0,
                      disk_used=int(sizes.group(2)) if sizes else 0)


def parse_estimate(text: str) -> tuple[int, ...]:
    """``Level0> n0 … n9 <Level9`` → the ten sizes in bytes, level 0 first."""
    m = _ESTIMATE.search(text)
    if not m:
        raise VolutilOutputError("dumpestimate", text[:300])
    return tuple(int(n) for n in m.group(1).split())


def parse_backup(text: str) -> int:
    """``Backup (id = X) of Volume Y created`` → the backup clone's id."""
    m = _BACKUP.search(text)
    if not m:
        raise VolutilOutputError("backup", text[:300])
    return int(m.group(1), 16)


def bytes_dumped(stderr: str) -> int | None:
    """The byte count ``volutil dump`` reports on stderr, if it said one."""
    m = _DUMPED.search(stderr)
    return int(m.group(1)) if m else None


def hexid(volid: int) -> str:
    return f"{volid:08x}"


BINDING = "V_BindToServer: binding to host"


def one_line(*texts: str) -> str:
    """What volutil said, as one message line: every non-empty line but the
    binding line every call prints, joined with '; '."""
    lines = [line.strip() for text in texts for line in text.splitlines()]
    said = [line for line in lines if line and not line.startswith(BINDING)]
    return "; ".join(said or [line for line in lines if line])


# How a failure reads (ref §23 rows 8, 9, 11; volclient.cc; sudo -n).
_NO_VOLUME = re.compile(r"return code 603\b")
_BAD_NAME = re.compile(r"VolInfo failed with Unknown RPC2 return code 22\b")
_NO_PRIVILEGE = re.compile(r"Couldn't get a token to authenticate|^sudo: |\bsudo: .*(password is required|"
                           r"not allowed|may not run|terminal is required)|[Pp]ermission denied", re.M)
_SERVER_GONE = re.compile(r"RPC2_DEAD|RPC2_NOBINDING|RPC2_TIMEOUT|is not a valid host name")


def no_such_volume(exc: CommandFailed) -> bool:
    return bool(_NO_VOLUME.search(exc.stderr_tail))


def not_in_vldb(exc: CommandFailed) -> bool:
    return bool(_BAD_NAME.search(exc.stderr_tail))


def refused(exc: CommandFailed) -> bool:
    """volutil (or sudo in front of it) refused for lack of privilege."""
    return exc.status == 126 or bool(_NO_PRIVILEGE.search(exc.stderr_tail))


def server_gone(exc: CommandFailed) -> bool:
    return bool(_SERVER_GONE.search(exc.stderr_tail))


@dataclass(frozen=True)
class Volutil:
    """How to reach one server: the program, what it runs through (e.g.
    ``("sudo", "-n")``) and its ``-h`` host."""

    program: str = "volutil"
    server: str | None = None
    timeout: float | None = None  # seconds, for the short commands only
    prefix: tuple[str, ...] = ()

    def argv(self, *words: object) -> list[str]:
        host = ["-h", self.server] if self.server else []
        return proc.argv_of([*self.prefix, self.program, *host, *words])

    def _run(self, *words: object) -> proc.Completed:
        # proc.run's limit is a timer (safe under the lab's libfaketime) and
        # it shows bytes that are not UTF-8; a failure is one line of both streams
        done = proc.run(self.argv(*words), timeout=self.timeout, check=False)
        if done.status != 0:
            said = one_line(done.stderr, done.stdout)
            raise CommandFailed(done.argv, done.status, said[-proc.STDERR_TAIL:])
        return done

    def info(self, volume: str) -> VolumeInfo:
        return parse_info(self._run("info", volume).stdout)

    def lock(self, volid: int) -> str:
        return self._run("lock", hexid(volid)).stdout

    def unlock(self, volid: int) -> str:
        return self._run("unlock", hexid(volid)).stdout

    def backup(self, volid: int) -> int:
        """Refresh (or create) the backup clone of a locked RW replica."""
        return parse_backup(self._run("backup", hexid(volid)).stdout)

    def dumpestimate(self, volid: int) -> tuple[int, ...]:
        return parse_estimate(self._run("dumpestimate", hexid(volid)).stdout)

    def ancient_argv(self, style: AncientStyle, clone: VolumeInfo, rw: VolumeInfo) -> list[str]:
        return self.argv(*_ancient_words(style, clone, rw))

    def ancient(self, style: AncientStyle, clone: VolumeInfo, rw: VolumeInfo) -> str:
        """Mark the clone's last dump as the base of the next incremental."""
        return self._run(*_ancient_words(style, clone, rw)).stdout

    def dump_argv(self, volid: int, level: int) -> list[str]:
        # Level 0 without -i; an incremental as "-i LEVEL VOLID" and no file
        # (with a file name, "-i VOLID FILE" would misparse, ref §16).
        levels = ["-i", str(level)] if level else []
        return self.argv("dump", *levels, hexid(volid))

    def restore_argv(self, partition: str, name: str | None = None,
                     volid: str | None = None, file: str | None = None) -> list[str]:
        """``restore -f FILE PARTITION [NAME [VOLID]]``; without ``file`` the
        dump is read on stdin, which only old servers survive (§23 row 1)."""
        words = ["-f", file] if file is not None else []
        words.append(partition)
        if name:
            words.append(name)
            if volid:
                words.append(volid)
        return self.argv("restore", *words)

    def dump_back_argv(self, volid: int) -> list[str]:
        """A full dump of a restored volume to stdout, to compare (§23 row 18)."""
        return self.argv("dump", hexid(volid))


# vol-getvolumelist.cc's VListVolumes: one line per volume on the server,
# VLDB or not: "<W|R|B|?><name> I<id> H<server> P<partition> m.. M.. ..."
_LISTED = re.compile(r"^[WRB?](.*) I([0-9a-fA-F]+) H[0-9a-fA-F]+ P\S+ m", re.M)


def parse_volume_list(text: str) -> dict[int, str]:
    """``volutil getvolumelist`` output -> {volume id: name}."""
    return {int(m.group(2), 16): m.group(1) for m in _LISTED.finditer(text)}


_CREATED = re.compile(r"VolRestore successful, created ([0-9a-fA-F]+)")
_RPC2_CODE = re.compile(r"Unknown RPC2 return code (-?\d+)")
# what current Coda's volutil means by "Unknown RPC2 return code N" (§23 row 11)
RPC2_CODES = {
    11: "the volume is locked (busy)",
    22: "no such volume name (names are known only once they are in the VLDB)",
    602: "the server found the dump truncated",
    603: "no such volume",
    604: "the volume id is already in use",
    700: "the server failed the call (VFAIL: it refused or could not read the dump)",
}


def created_id(stdout: str) -> int | None:
    """The id in ``VolRestore successful, created ID``, if volutil said it."""
    m = _CREATED.search(stdout)
    return int(m.group(1), 16) if m else None


def explain(stderr: str) -> str:
    """What a failed volutil call means, from its stderr: a dead server, a
    transfer the server could not take (its size), or a return code."""
    text = one_line(stderr)
    if _SERVER_GONE.search(text):
        return f"the server is dead or unreachable ({text})"
    if "ReadDump" in text and ("SEFAIL" in text or "CheckSideEffect" in text):
        return ("the server failed to read a dump this size (its transfer buffer is about 512,000 "
                f"bytes on current Coda): the server's failure, not the image's ({text})")
    m = _RPC2_CODE.search(text)
    if m and int(m.group(1)) in RPC2_CODES:
        return f"{RPC2_CODES[int(m.group(1))]} ({text})"
    return text or "(no output)"


def _ancient_words(style: AncientStyle, clone: VolumeInfo, rw: VolumeInfo) -> tuple[str, ...]:
    if style is AncientStyle.BACKUP_ID:
        return ("ancient", hexid(clone.id))
    return ("ancient", hexid(rw.group_id), hexid(rw.id))
