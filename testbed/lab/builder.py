"""Build a real Amanda config from a description of nights, and run it.

A ``LabSpec`` names the DLEs, the vtape and holding geometry, and a list of
``Run``s: each one sets the fake clock, applies file changes to the DLE
directories, optionally makes DLEs unreachable or forces a full dump, then
runs ``amdump`` (with flags, optionally for some DLEs only), ``amflush`` or
``amfetchdump`` as user ``backup`` under libfaketime.  After every run the
lab keeps a snapshot (the log.* files, tapelist, holding disk and the text of
``amadmin CONF find``) so tests can compare with Amanda at every step.

Everything lives in ``spec.root`` (default ``/var/tmp/NAME``; user ``backup``
must reach it, and pytest's tmp dirs are mode 0700) and in
``/etc/amanda/NAME``, both wiped at the start of a build.  Needs root.

To add another kind of DLE (e.g. a Coda volume behind an Amanda application),
put its ``define application``/``define dumptype`` text in
``LabSpec.extra_conf``, give the ``Dle`` that dumptype and a ``device``, and
use ``Run.before`` hooks (callables taking the ``Lab`` and the ``Run``) for
what the lab cannot do to a directory.
"""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import fcntl
import json
import math
import os
import pwd
import random
import re
import shutil
import subprocess
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

from . import amfind

AMANDA_USER = "backup"
ETC_AMANDA = Path("/etc/amanda")


class LabError(Exception):
    """The lab could not be built; carries the failing command's output."""


# --------------------------------------------------------------------------
# The description


@dataclass(frozen=True)
class Write:
    """Create or overwrite ``path`` (relative to the DLE directory) with
    ``size`` bytes of deterministic pseudo-random data (incompressible, so
    dump sizes and part counts are predictable)."""

    disk: str
    path: str
    size: int


@dataclass(frozen=True)
class Delete:
    disk: str
    path: str


Change = Write | Delete


@dataclass(frozen=True)
class Dle:
    disk: str  # the Amanda disk name, e.g. a Coda volume name "u.jan"
    host: str = "localhost"
    dumptype: str = "lab-gtar"
    device: str | None = None  # default: ROOT/data/DISK, a directory the lab mutates


class RunKind(enum.Enum):
    AMDUMP = "amdump"
    AMFLUSH = "amflush"
    AMFETCHDUMP = "amfetchdump"  # fetches one dump to /dev/null (leaves a log.* in logdir)


@dataclass(frozen=True)
class Run:
    """One Amanda run at fake local time ``at`` (``YYYY-MM-DD HH:MM:SS``)."""

    name: str
    at: str
    kind: RunKind = RunKind.AMDUMP
    flags: tuple[str, ...] = ()  # e.g. ("--no-taper",)
    only: tuple[str, ...] = ()  # disks to dump (amdump CONF HOST DISK ...); all if empty
    changes: tuple[Change, ...] = ()  # applied before the run
    force: tuple[str, ...] = ()  # `amadmin CONF force HOST DISK` before the run
    fail: tuple[str, ...] = ()  # disks whose directory is unreachable during the run
    before: tuple[Callable[["Lab", "Run"], None], ...] = ()
    fetch: tuple[str, ...] = ()  # AMFETCHDUMP: dumpspec after CONF (host disk [date [level]])
    expect_status: int | None = 0  # None: any exit status; amdump's is a bit mask
    note: str = ""


DEFAULT_CONF = """\
define application-tool lab-amgtar {{
  plugin "amgtar"
  property "GNUTAR-LISTDIR" "{root}/gnutar-lists"
  property "ATIME-PRESERVE" "no"
}}

define dumptype lab-gtar {{
  program "APPLICATION"
  application "lab-amgtar"
  auth "local"
  compress none
  encrypt none
  # index no breaks Application-API dumps on 3.5.1 (ref §10)
  index yes
  # server estimates: the planner never touches the client, so an
  # unreachable DLE fails in the dumper (a client-side failure), not in the planner
  estimate server
  holdingdisk auto
  record yes
}}
"""


@dataclass(frozen=True)
class LabSpec:
    """A whole lab: the config name (``/etc/amanda/CONFIG``), its DLEs, the
    runs in order, and the vtape geometry (small enough that dumps split
    into parts, span vtapes and tapes get reused)."""

    config: str
    dles: tuple[Dle, ...]
    runs: tuple[Run, ...]
    initial: tuple[Change, ...] = ()  # files present before the first run
    root: Path | None = None  # default /var/tmp/CONFIG
    slots: int = 5
    tapecycle: int = 4
    runtapes: int = 2
    dumpcycle: int = 4
    tape_length_kb: int = 1024
    part_size_kb: int = 128
    holding_chunk_kb: int = 1024
    extra_conf: str = ""  # appended to amanda.conf (more applications, dumptypes)
    seed: int = 1

    @property
    def lab_root(self) -> Path:
        return self.root or Path("/var/tmp") / self.config

    def fingerprint(self) -> str:
        """Identifies the description, so a reused lab can be checked against it
        (hooks by name: their repr holds an address that changes per process;
        notes left out: they change nothing Amanda does)."""
        plain = dataclasses.replace(self, runs=tuple(dataclasses.replace(r, note="") for r in self.runs))
        return re.sub(r" at 0x[0-9a-f]+", "", repr(plain))


# --------------------------------------------------------------------------
# The built lab


@dataclass(frozen=True)
class Step:
    """A snapshot after one run: copies of Amanda's records at that point."""

    name: str
    at: str
    kind: str
    argv: tuple[str, ...]
    status: int
    dir: Path  # holds log/, tapelist, holding/, find.txt
    new_logs: tuple[str, ...]  # log.* files this run added

    @property
    def logdir(self) -> Path:
        return self.dir / "log"

    @property
    def tapelist(self) -> Path:
        return self.dir / "tapelist"

    @property
    def holding(self) -> Path:
        return self.dir / "holding"

    def find_rows(self) -> list[amfind.FindRow]:
        return amfind.parse((self.dir / "find.txt").read_text())


@dataclass(frozen=True)
class Lab:
    """A built lab: where Amanda keeps its records, the snapshot after each
    run, and ``amanda()`` to run more Amanda commands as backup at its clock."""

    config: str
    root: Path
    dles: tuple[Dle, ...] = ()
    steps: tuple[Step, ...] = ()
    clock: str = ""  # fake time that helper commands run at (after the last run)
    build_seconds: float = 0.0

    @property
    def config_dir(self) -> Path:
        return ETC_AMANDA / self.config

    @property
    def logdir(self) -> Path:
        return self.root / "log"

    @property
    def tapelist(self) -> Path:
        return self.root / "tapelist"

    @property
    def holding(self) -> tuple[Path, ...]:
        return (self.root / "holding",)

    @property
    def vtapes(self) -> Path:
        return self.root / "vtapes"

    def data_dir(self, dle: Dle) -> Path:
        return Path(dle.device) if dle.device else self.root / "data" / dle.disk

    def amanda(self, *argv: str, at: str | None = None, check: bool = True,
               stdout=subprocess.PIPE) -> subprocess.CompletedProcess:
        """Run an Amanda command as ``backup`` under the fake clock (``at``, or
        the lab's clock after its last run)."""
        return run_as_backup(list(argv), at or self.clock, check=check, stdout=stdout,
                             cwd=self.root)

    def find(self, *dumpspec: str) -> list[amfind.FindRow]:
        """``amadmin CONFIG find [HOST [DISK]]`` now, parsed."""
        return amfind.parse(self.amanda("amadmin", self.config, "find", *dumpspec).stdout)

    # -- manifest (lets a developer reuse a built lab) --

    def save(self, fingerprint: str) -> None:
        data = {
            "fingerprint": fingerprint,
            "config": self.config,
            "root": str(self.root),
            "dles": [asdict(d) for d in self.dles],
            "clock": self.clock,
            "build_seconds": self.build_seconds,
            "steps": [{**asdict(s), "dir": str(s.dir)} for s in self.steps],
        }
        (self.root / "lab.json").write_text(json.dumps(data, indent=1))

    @classmethod
    def load(cls, root: Path) -> tuple["Lab", str]:
        data = json.loads((root / "lab.json").read_text())
        steps = tuple(
            Step(s["name"], s["at"], s["kind"], tuple(s["argv"]), s["status"], Path(s["dir"]),
                 tuple(s["new_logs"]))
            for s in data["steps"]
        )
        lab = cls(data["config"], Path(data["root"]), tuple(Dle(**d) for d in data["dles"]),
                  steps, data["clock"], data["build_seconds"])
        return lab, data["fingerprint"]


# --------------------------------------------------------------------------
# Running Amanda as backup under a fake clock


def faketime_library() -> str:
    """libfaketime's path, as the Debian package installs it."""
    try:
        files = subprocess.run(["dpkg", "-L", "libfaketime"], capture_output=True, text=True,
                               check=True).stdout.split()
    except (OSError, subprocess.CalledProcessError) as err:
        raise LabError(f"libfaketime is not installed (dpkg -L libfaketime: {err})") from None
    for path in files:
        if path.endswith("/libfaketime.so.1"):
            return path
    raise LabError("libfaketime.so.1 not found in dpkg -L libfaketime")


def fake_offset(at: str) -> str:
    """A relative FAKETIME offset (seconds) that makes local time read ``at`` now."""
    target = time.mktime(time.strptime(at, "%Y-%m-%d %H:%M:%S"))
    # rounded up: the clock must not read a second before `at` when Amanda starts
    return f"{math.ceil(target - time.time()):+d}"


def run_as_backup(argv: list[str], at: str, *, check: bool = True, stdout=subprocess.PIPE,
                  stdin=subprocess.DEVNULL, cwd: Path | str = "/",
                  timeout: float = 600) -> subprocess.CompletedProcess:
    # runuser, not the faketime wrapper around su (ref §10); the offset is
    # computed right before the call so the clock reads `at` when it starts.
    env = [
        f"LD_PRELOAD={faketime_library()}",
        f"FAKETIME={fake_offset(at)}",
        "FAKETIME_DONT_FAKE_MONOTONIC=1",
        "PATH=/usr/sbin:/usr/bin:/sbin:/bin",
        "HOME=/var/backups",
    ]
    full = ["runuser", "-u", AMANDA_USER, "--", "env", *env, *argv]
    try:
        proc = subprocess.run(full, stdin=stdin, stdout=stdout, stderr=subprocess.PIPE, text=True,
                              cwd=cwd, timeout=timeout)
    except subprocess.TimeoutExpired:
        # runuser is gone, but amdump's driver, taper and dumpers may not be (ref §10)
        raise LabError(f"{' '.join(argv)} (at {at}) did not finish in {timeout}s; look for "
                       "leftover Amanda processes of this config") from None
    if check and proc.returncode != 0:
        raise LabError(f"{' '.join(argv)} (at {at}) exited {proc.returncode}:\n"
                       f"{proc.stdout or ''}{proc.stderr}")
    return proc


# --------------------------------------------------------------------------
# Building


def check_can_build() -> None:
    """Raise LabError unless we are root with Amanda and libfaketime installed."""
    if os.geteuid() != 0:
        raise LabError("the Amanda lab needs root (runuser, /etc/amanda)")
    for prog in ("amdump", "amadmin", "amflush", "amfetchdump", "runuser"):
        if not shutil.which(prog, path="/usr/sbin:/usr/bin:/sbin:/bin"):
            raise LabError(f"{prog} not found: install amanda-server amanda-client")
    faketime_library()


def amanda_conf(spec: LabSpec) -> str:
    root = spec.lab_root
    return f"""\
# Written by testbed/lab/builder.py: a throwaway lab config.
org "{spec.config}"
mailto ""
dumpuser "{AMANDA_USER}"
dumpcycle {spec.dumpcycle}
runspercycle {spec.dumpcycle}
tapecycle {spec.tapecycle}
runtapes {spec.runtapes}
tpchanger "chg-disk:{root}/vtapes"
autolabel "{spec.config}-%%" any
labelstr "^{spec.config}-[0-9][0-9]*$"
tapetype "LAB-VTAPE"
infofile "{root}/curinfo"
logdir "{root}/log"
indexdir "{root}/index"
tapelist "{root}/tapelist"
autoflush no

define tapetype LAB-VTAPE {{
  length {spec.tape_length_kb} kbytes
  part-size {spec.part_size_kb} kbytes
}}

# the `holdingdisk NAME {{}}` form: a bare `define holdingdisk` enables nothing (ref §10)
holdingdisk hd1 {{
  directory "{root}/holding"
  use 100 mbytes
  chunksize {spec.holding_chunk_kb} kbytes
}}

{DEFAULT_CONF.format(root=root)}
{spec.extra_conf}
"""


def disklist(spec: LabSpec, lab: Lab) -> str:
    return "".join(f"{d.host} {d.disk} {lab.data_dir(d)} {d.dumptype}\n" for d in spec.dles)


def _chown_backup(path: Path) -> None:
    """Give ``path`` and everything under it to backup.  Only what is not
    backup's already: a chown changes ctime, and GNU tar's incrementals then
    take the file again."""
    user = pwd.getpwnam(AMANDA_USER)
    for p in [path, *path.rglob("*")]:
        if p.lstat().st_uid != user.pw_uid:
            os.chown(p, user.pw_uid, user.pw_gid, follow_symlinks=False)


def _apply(spec: LabSpec, lab: Lab, change: Change, salt: str) -> None:
    dle = next(d for d in spec.dles if d.disk == change.disk)
    path = lab.data_dir(dle) / change.path
    if isinstance(change, Delete):
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink()
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = random.Random(f"{spec.seed}:{change.disk}:{change.path}:{salt}")
    path.write_bytes(rng.randbytes(change.size))


def _snapshot(lab: Lab, run: Run, argv: list[str], status: int, before: set[str],
              index: int) -> Step:
    d = lab.root / "steps" / f"{index:02d}-{run.name}"
    (d / "log").mkdir(parents=True)
    logs = sorted(p.name for p in lab.logdir.glob("log.*") if p.is_file())
    for name in logs:
        shutil.copy2(lab.logdir / name, d / "log" / name)
    if lab.tapelist.exists():
        shutil.copy2(lab.tapelist, d / "tapelist")
    else:
        (d / "tapelist").write_text("")
    shutil.copytree(lab.holding[0], d / "holding", symlinks=True)
    (d / "find.txt").write_text(lab.amanda("amadmin", lab.config, "find", at=run.at).stdout)
    return Step(run.name, run.at, run.kind.value, tuple(argv), status, d,
                tuple(n for n in logs if n not in before))


def build(spec: LabSpec, *, progress: Callable[[str], None] = lambda msg: None) -> Lab:
    """Wipe and build the lab that ``spec`` describes; return it with its steps."""
    check_can_build()
    started = time.monotonic()
    root = spec.lab_root
    lab = Lab(spec.config, root, spec.dles)
    _refuse_if_running(lab)
    _lay_out(spec, lab)
    steps = []
    for i, run in enumerate(spec.runs, start=1):
        progress(f"{run.name} at {run.at}: {run.kind.value} {' '.join(run.flags)}")
        steps.append(_night(spec, lab, run, i))
    last = spec.runs[-1].at if spec.runs else "2026-01-01 00:00:00"
    clock = time.strftime("%Y-%m-%d %H:%M:%S",
                          time.localtime(time.mktime(time.strptime(last, "%Y-%m-%d %H:%M:%S")) + 3600))
    lab = Lab(spec.config, root, spec.dles, tuple(steps), clock, time.monotonic() - started)
    lab.save(spec.fingerprint())
    return lab


def _lay_out(spec: LabSpec, lab: Lab) -> None:
    """An empty lab: its directories, vtape slots, data, tapelist and config."""
    root = lab.root
    shutil.rmtree(root, ignore_errors=True)
    shutil.rmtree(lab.config_dir, ignore_errors=True)
    for sub in ("log", "holding", "curinfo", "index", "gnutar-lists", "steps"):
        (root / sub).mkdir(parents=True)
    for n in range(1, spec.slots + 1):
        (root / "vtapes" / f"slot{n}").mkdir(parents=True)
    for dle in spec.dles:
        if not dle.device:
            lab.data_dir(dle).mkdir(parents=True)
    for change in spec.initial:
        _apply(spec, lab, change, "initial")
    lab.tapelist.write_text("")
    lab.config_dir.mkdir(parents=True)
    (lab.config_dir / "amanda.conf").write_text(amanda_conf(spec))
    (lab.config_dir / "disklist").write_text(disklist(spec, lab))
    _chown_backup(root)
    _chown_backup(lab.config_dir)
    # backup must be able to reach ROOT through its parents
    os.chmod(root, 0o755)


def _night(spec: LabSpec, lab: Lab, run: Run, i: int) -> Step:
    """One run of the description: its changes, forced and failing DLEs and
    hooks, then the Amanda command as backup at the run's fake time."""
    root = lab.root
    for change in run.changes:
        _apply(spec, lab, change, run.name)
    for disk in run.force:
        dle = next(d for d in spec.dles if d.disk == disk)
        lab.amanda("amadmin", spec.config, "force", dle.host, dle.disk, at=run.at)
    hidden = []
    for disk in run.fail:
        dle = next(d for d in spec.dles if d.disk == disk)
        src = lab.data_dir(dle)
        src.rename(src.with_name(src.name + ".unreachable"))
        hidden.append(src)
    for hook in run.before:
        hook(lab, run)
    if (root / "data").exists():
        _chown_backup(root / "data")
    argv = _argv(spec, run)
    before = {p.name for p in lab.logdir.glob("log.*")}
    # amfetchdump -p writes the image to stdout: throw it away
    out = subprocess.DEVNULL if run.kind is RunKind.AMFETCHDUMP else subprocess.PIPE
    try:
        proc = run_as_backup(argv, run.at, check=False, stdout=out, cwd=root)
    finally:
        for src in hidden:
            src.with_name(src.name + ".unreachable").rename(src)
    if run.expect_status is not None and proc.returncode != run.expect_status:
        raise LabError(f"{run.name}: {' '.join(argv)} exited {proc.returncode}, expected "
                       f"{run.expect_status}:\n{proc.stdout}{proc.stderr}")
    return _snapshot(lab, run, argv, proc.returncode, before, i)


def _argv(spec: LabSpec, run: Run) -> list[str]:
    hosts_disks: list[str] = []
    for disk in run.only:
        dle = next(d for d in spec.dles if d.disk == disk)
        hosts_disks += [dle.host, dle.disk]
    if run.kind is RunKind.AMDUMP:
        return ["amdump", *run.flags, spec.config, *hosts_disks]
    if run.kind is RunKind.AMFLUSH:
        # -b: no questions, -f: stay in the foreground so we know when it ends
        return ["amflush", "-b", "-f", *run.flags, spec.config, *hosts_disks]
    # -a: never wait for the operator; -p: the image to stdout
    return ["amfetchdump", "-a", "-p", *run.flags, spec.config, *run.fetch]


def _refuse_if_running(lab: Lab) -> None:
    """A previous build that was killed may have left Amanda processes of this
    config running (ref §10); they hold its locks and would write into the
    new lab.  They are not ours to kill: say which they are."""
    try:
        out = subprocess.run(["ps", "-eo", "pid=,args="], capture_output=True, text=True).stdout
    except OSError:
        return
    for line in out.splitlines():
        pid, _, args = line.strip().partition(" ")
        words = args.split()
        if lab.config in words and any("amanda" in w or w.startswith("am") for w in words[:2]):
            raise LabError(f"an Amanda process of {lab.config} is still running (pid {pid}: "
                           f"{args}); stop it first")


def export_records(lab: Lab, dest: Path) -> None:
    """Copy what a reader needs off the lab, as an operator would copy it off
    a backup server: ``dest/log/log.*`` (not amdump.* or the ``log``
    symlink), ``dest/tapelist`` and ``dest/holding/``.  ``dest`` is replaced."""
    if dest.exists():
        shutil.rmtree(dest)
    (dest / "log").mkdir(parents=True)
    for src in sorted(lab.logdir.glob("log.*")):
        if src.is_file() and not src.is_symlink():
            shutil.copyfile(src, dest / "log" / src.name)
    shutil.copyfile(lab.tapelist, dest / "tapelist")
    for root in lab.holding:
        for src in sorted(root.rglob("*")):
            if src.is_file() and not src.name.endswith(".tmp") and src.name != "pid":
                target = dest / "holding" / src.relative_to(root)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(src, target)


@contextlib.contextmanager
def session_lock(spec: LabSpec):
    """Hold the lab for a test session.  Several sessions may share one built
    lab, but a (re)build waits until no other session is using it, and no
    session reads a lab while it is being built.  Yields a function that
    turns the exclusive lock taken for building into a shared one."""
    path = spec.lab_root.with_name(spec.lab_root.name + ".lock")
    with open(path, "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield lambda: fcntl.flock(fh, fcntl.LOCK_SH)
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def load_or_build(spec: LabSpec, *, reuse: bool,
                  progress: Callable[[str], None] = lambda msg: None) -> Lab:
    """Reuse a lab already built from the same spec if ``reuse`` and it is
    intact; otherwise build it afresh."""
    manifest = spec.lab_root / "lab.json"
    if reuse and manifest.exists() and (ETC_AMANDA / spec.config / "amanda.conf").exists():
        lab, fingerprint = Lab.load(spec.lab_root)
        if fingerprint == spec.fingerprint():
            return lab
        progress("lab description changed since the last build; rebuilding")
    return build(spec, progress=progress)
