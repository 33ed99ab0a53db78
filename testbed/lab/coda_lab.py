"""The Coda lab: real Amanda backs up simulated Coda volumes with amcoda.

Test equipment, built on ``builder`` (the real-Amanda lab): amcoda is
installed into Amanda's application directory, a ``coda`` dumptype runs it
for every volume of a codasim server whose state lives in the lab root, and
``Run.before`` hooks change the volumes between nights with the simulator's
editor, at the night's fake time.  Amanda chooses the levels itself (bump
settings low enough that it goes past level 1); ``volutil`` reaches the
simulator through a wrapper that carries its state directory, because Amanda
gives applications a clean environment.

What ``SPEC`` exercises, night by night, is in ``NIGHTS``' notes: a first
full, incrementals at levels 1-3 chosen by Amanda, deletions (reported once),
renames, vnode reuse, a night whose dumps fail (volutil cannot reach the
server: nothing is recorded), a night that is dumped to the holding disk only
and whose holding files are then lost (recorded by the server, on no tape: a
broken link), and enough nights that vtapes are reused.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from codasim.server import Server
from coda_restore.plugin_install import ask_amanda

from .builder import AMANDA_USER, Dle, Lab, LabError, LabSpec, Run

REPO = Path(__file__).resolve().parents[2]
TESTBED = REPO / "testbed"
SYSTEM_PYTHON = "/usr/bin/python3"  # what user backup can run (root's Python may be private)
CONFIG = "codarestore-coda"
VOLUMES = ("u.jan", "p.proj")
# the amcoda of the venv this suite runs in (tests/setup-and-run puts it where user backup can reach)
AMCODA = Path(sysconfig.get_path("scripts")) / "amcoda"


def install_amcoda() -> Path:
    """Install amcoda as Amanda's ``amcoda`` application the documented way,
    ``amcoda install``, from the suite's venv (which it checks by running the
    plugin as user backup).  --force: a lab machine may hold the checkout
    wrapper this file wrote before there was an installer."""
    done = subprocess.run([str(AMCODA), "install", "--force"], capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=120)
    if done.returncode != 0:
        raise LabError(f"amcoda install exited {done.returncode}: {done.stderr.strip()}")
    return Path(ask_amanda("amlibexecdir")) / "application" / "amcoda"


def _sh(word: str) -> str:
    return "'" + word.replace("'", "'\\''") + "'"


def _run_tool(tool: str) -> str:
    """The shell words that run this checkout's simulated TOOL (volutil or
    pdbtool) with the system Python: testbed/ for codasim, the checkout for
    the codec (Amanda's user has neither on its path)."""
    path = f"{TESTBED}:{REPO}"
    return f"PYTHONPATH={_sh(path)} exec {SYSTEM_PYTHON} -m codasim.{tool}_cli"


def sim_root(lab_root: Path) -> Path:
    return lab_root / "coda"


def volutil_wrapper(lab_root: Path) -> Path:
    return lab_root / "bin" / "volutil"


def write_volutil_wrapper(lab_root: Path) -> Path:
    """``ROOT/bin/volutil``: the simulator's volutil on the lab's state.
    While ``ROOT/coda/fail`` exists every call fails as with a dead server."""
    path = volutil_wrapper(lab_root)
    path.parent.mkdir(parents=True, exist_ok=True)
    state, fail = sim_root(lab_root) / "state", sim_root(lab_root) / "fail"
    path.write_text(
        "#!/bin/sh\n"
        "# the codasim volutil for the Coda lab (written by testbed/lab/coda_lab.py)\n"
        f"CODASIM_STATE={_sh(str(state))}; export CODASIM_STATE\n"
        f"if [ -e {_sh(str(fail))} ]; then CODASIM_FAIL=dump; export CODASIM_FAIL; fi\n"
        f"{_run_tool('volutil')} \"$@\"\n")
    path.chmod(0o755)
    return path


def checkout_tool(lab_root: Path, where: Path, tool: str = "volutil", env: str = "") -> Path:
    """``WHERE/TOOL``: this checkout's simulated volutil (or pdbtool) on the
    lab's server state, whoever built the lab (its own wrapper runs the
    builder's checkout).  ``env`` is prepended shell assignments."""
    path = where / tool
    where.mkdir(parents=True, exist_ok=True)
    path.write_text(
        "#!/bin/sh\n"
        f"CODASIM_STATE={_sh(str(sim_root(lab_root) / 'state'))}; export CODASIM_STATE\n"
        f"{env}\n"
        f"{_run_tool(tool)} \"$@\"\n")
    path.chmod(0o755)
    return path


def coda_conf(lab_root: Path) -> str:
    return f"""
define application-tool app-amcoda {{
  plugin "amcoda"
  property "VOLUTIL" "{volutil_wrapper(lab_root)}"
  property "PARTITION" "/vicepa"
  property "CLONE-MAX-AGE" "4h"
}}

define dumptype coda {{
  program "APPLICATION"
  application "app-amcoda"
  auth "local"
  compress none
  encrypt none
  index yes
  record yes
  estimate client
  holdingdisk auto
  # bump to the next level as soon as it saves anything, so Amanda itself
  # walks through levels 1, 2, 3 within a dumpcycle
  bumpsize 1 kbytes
  bumppercent 0
  bumpdays 1
  bumpmult 1
}}
"""


def at_epoch(at: str) -> int:
    return int(time.mktime(time.strptime(at, "%Y-%m-%d %H:%M:%S")))


class FixedClock:
    def __init__(self, now: int):
        self.now = now

    def __call__(self) -> int:
        return self.now


@dataclass(frozen=True)
class Night:
    """One amdump night and what happens to the volumes before it."""

    name: str
    at: str
    edit: Callable[[Server], None] | None = None
    flags: tuple[str, ...] = ()
    server_down: bool = False  # every volutil call fails during the run
    lose_holding: bool = False  # after the run, its holding files are deleted
    expect_status: int | None = 0
    note: str = ""

    def __repr__(self) -> str:
        edit = self.edit if isinstance(self.edit, (Small, ManualDump, Remove)) else getattr(self.edit, "__qualname__", None)
        return (f"Night({self.name}, {self.at}, {edit}, {self.flags}, down={self.server_down}, "
                f"lose={self.lose_holding}, {self.expect_status})")


@dataclass(frozen=True)
class Edits:
    """Run.before hook: set the server up (first night) and edit the volumes
    at 5 minutes before the run, as root; then hand the files to backup.
    (Hooks have a stable repr: the lab's fingerprint is the spec's repr.)"""

    night: Night
    first: bool
    volumes: tuple[str, ...] = VOLUMES

    def __repr__(self) -> str:
        more = "" if self.volumes == VOLUMES else f", volumes={len(self.volumes)}"
        return f"Edits({self.night.name}, first={self.first}{more})"

    def __call__(self, lab: Lab, run: Run) -> None:
        server = Server(sim_root(lab.root) / "state", clock=FixedClock(at_epoch(self.night.at) - 300))
        if self.first:
            install_amcoda()
            write_volutil_wrapper(lab.root)
            for name in self.volumes:
                server.create_volume(name)
        if self.night.edit is not None:
            self.night.edit(server)
        _chown_tree(lab.root / "bin")
        _chown_tree(sim_root(lab.root))


@dataclass(frozen=True)
class ServerDown:
    """Run.before hook: while ROOT/coda/fail exists, volutil dump fails."""

    down: bool

    def __call__(self, lab: Lab, run: Run) -> None:
        flag = sim_root(lab.root) / "fail"
        if self.down:
            flag.touch()
        elif flag.exists():
            flag.unlink()


@dataclass(frozen=True)
class LoseHolding:
    """Run.before hook: the previous run's holding files are lost before
    they reach a tape."""

    def __call__(self, lab: Lab, run: Run) -> None:
        for d in sorted((lab.root / "holding").iterdir()):
            if d.is_dir():
                shutil.rmtree(d)


def _chown_tree(path: Path) -> None:
    shutil.chown(path, AMANDA_USER, AMANDA_USER)
    for dirpath, dirnames, filenames in os.walk(path):
        for name in dirnames + filenames:
            shutil.chown(os.path.join(dirpath, name), AMANDA_USER, AMANDA_USER)


def runs(nights: tuple[Night, ...], lab_root: Path, volumes: tuple[str, ...] = VOLUMES) -> tuple[Run, ...]:
    out = []
    lose_next = False
    for i, n in enumerate(nights):
        before = [Edits(n, first=(i == 0), volumes=volumes), ServerDown(n.server_down)]
        if lose_next:
            before.insert(0, LoseHolding())
        lose_next = n.lose_holding
        out.append(Run(n.name, n.at, flags=n.flags, before=tuple(before),
                       expect_status=n.expect_status, note=n.note))
    return tuple(out)


def spec(nights: tuple[Night, ...], config: str = CONFIG, root: Path | None = None,
         volumes: tuple[str, ...] = VOLUMES, extra_conf: str = "", **geometry) -> LabSpec:
    lab_root = root or Path("/var/tmp") / config
    dles = tuple(Dle(f"/coda/{v}", dumptype="coda", device=v) for v in volumes)
    return LabSpec(config, dles, runs(nights, lab_root, volumes), root=root,
                   extra_conf=coda_conf(lab_root) + extra_conf, **geometry)


# --------------------------------------------------------------------------
# The standard Coda lab: twelve nights


K = 1024


def _blob(tag: str, size: int) -> bytes:
    return (tag.encode() * (size // max(1, len(tag)) + 1))[:size]


def _mon(s: Server) -> None:
    with s.edit("u.jan") as ed:
        ed.mkdir("/docs")
        ed.write("/docs/thesis.tex", _blob("thesis", 24 * K))
        ed.write("/docs/notes.txt", _blob("notes", 3 * K))
        ed.mkdir("/mail")
        ed.write("/mail/inbox", _blob("inbox", 12 * K))
        ed.symlink("/latest", "docs/thesis.tex")
    with s.edit("p.proj") as ed:
        ed.mkdir("/data")
        ed.write("/data/big.bin", _blob("big", 60 * K))
        ed.write("/data/old.bin", _blob("old", 8 * K))
        ed.mkdir("/src")
        ed.write("/src/main.c", _blob("main", 4 * K))


def _tue(s: Server) -> None:
    with s.edit("u.jan") as ed:
        ed.write("/docs/ch1.tex", _blob("ch1", 6 * K))
        ed.remove("/docs/notes.txt")  # a deletion, reported once
    with s.edit("p.proj") as ed:
        ed.write("/src/util.c", _blob("util", 2 * K))


def _wed(s: Server) -> None:
    with s.edit("u.jan") as ed:
        ed.rename("/docs/ch1.tex", "/docs/chapter1.tex")
        ed.write("/mail/inbox", _blob("inbox2", 14 * K))
    with s.edit("p.proj") as ed:
        old = ed.lookup("/data/old.bin")
        ed.remove("/data/old.bin")
        # the freed vnode number comes back with a new uniquifier
        ed.write("/data/new.bin", _blob("new", 5 * K), vnum=old.vnum, uniq=old.uniq + 1000)


def _thu(s: Server) -> None:
    with s.edit("u.jan") as ed:
        ed.write("/docs/ch2.tex", _blob("ch2", 5 * K))


def _fri(s: Server) -> None:
    with s.edit("u.jan") as ed:
        ed.mkdir("/old")
        ed.rename("/docs/ch2.tex", "/old/ch2.tex")
    with s.edit("p.proj") as ed:
        ed.write("/src/main.c", _blob("main2", 4 * K))


def _sat(s: Server) -> None:
    with s.edit("u.jan") as ed:
        ed.rmtree("/old")  # a directory and its file go
        ed.write("/mail/sent", _blob("sent", 3 * K))


def _sun(s: Server) -> None:
    with s.edit("p.proj") as ed:
        ed.remove("/src/util.c")
        ed.write("/data/big.bin", _blob("big2", 61 * K))


@dataclass(frozen=True)
class Small:
    """A small new file per volume: ``u.jan:/mail/TAG``, ``p.proj:/src/TAG.c``."""

    tags: tuple[tuple[str, str], ...]  # (volume, tag)

    def __call__(self, s: Server) -> None:
        for volume, tag in self.tags:
            path = f"/mail/{tag}" if volume == "u.jan" else f"/src/{tag}.c"
            with s.edit(volume) as ed:
                ed.write(path, _blob(tag, 2 * K))


@dataclass(frozen=True)
class Remove:
    """EDIT, then delete PATH of VOLUME."""

    volume: str
    path: str
    edit: Callable[[Server], None]

    def __call__(self, s: Server) -> None:
        self.edit(s)
        with s.edit(self.volume) as ed:
            ed.remove(self.path)


@dataclass(frozen=True)
class ManualDump:
    """An operator's backup outside Amanda (lock, backup, dump, ancient) after
    EDIT: the next Amanda incremental of VOLUME is relative to it, so its
    ``oldest`` matches no dump Amanda knows (an image "from another chain")."""

    volume: str
    edit: Callable[[Server], None]

    def __call__(self, s: Server) -> None:
        self.edit(s)
        rw = s.volume(self.volume)
        s.lock(rw.id)
        clone = s.backup(rw.id)
        with open(os.devnull, "wb") as out:
            s.dump(clone, 1, out)
        s.ancient(clone)


NIGHTS = (
    Night("n01", "2026-05-04 01:00:00", _mon, note="first night: level 0 of both volumes"),
    Night("n02", "2026-05-05 01:00:00", _tue, note="new file, a deletion"),
    Night("n03", "2026-05-06 01:00:00", _wed, note="a rename; p.proj reuses a vnode number"),
    Night("n04", "2026-05-07 01:00:00", _thu, server_down=True, expect_status=None,
          note="volutil dump fails: both dumps FAIL, nothing is recorded"),
    Night("n05", "2026-05-08 01:00:00", _fri, note="the night after a failure"),
    Night("n06", "2026-05-09 01:00:00", _sat, flags=("--no-taper",), lose_holding=True,
          expect_status=None,
          note="holding disk only, then the holding files are lost: recorded, on no tape"),
    Night("n07", "2026-05-10 01:00:00", _sun, note="after the broken link"),
    Night("n08", "2026-05-11 01:00:00", Small((("u.jan", "a"), ("p.proj", "x")))),
    Night("n09", "2026-05-12 01:00:00", Small((("u.jan", "b"), ("p.proj", "y")))),
    Night("n10", "2026-05-13 01:00:00", Small((("u.jan", "c"), ("p.proj", "z")))),
    Night("n11", "2026-05-14 01:00:00", Remove("p.proj", "/src/x.c", Small((("u.jan", "d"),))),
          note="a deletion in p.proj that Amanda's own (minimal) chain for n12 skips"),
    Night("n12", "2026-05-15 01:00:00", ManualDump("u.jan", Small((("u.jan", "e"), ("p.proj", "w")))),
          note="the first night's vtape is reused: its dumps vanish; u.jan was dumped and marked outside "
               "Amanda just before: its n12 image belongs to no Amanda chain"),
)

# Ten vtapes, nine in the cycle: the last night reuses the first night's tape
# (its dumps vanish); the nights with deletions, renames, vnode reuse, the
# failure and the broken link stay in the catalog.
SPEC = spec(NIGHTS, slots=10, tapecycle=9)


# --------------------------------------------------------------------------
# The fixture


@dataclass(frozen=True)
class CodaLab:
    """The built Coda lab: Amanda's side (``lab``) and the simulated server."""

    lab: Lab
    nights: tuple[Night, ...] = NIGHTS

    @property
    def config(self) -> str:
        return self.lab.config

    def server(self) -> Server:
        """The simulator at the lab's clock (its timeline answers "the state
        of VOLUME at instant T": ``server().state_at(volume, at_epoch(night.at))``)."""
        return Server(sim_root(self.lab.root) / "state", clock=FixedClock(at_epoch(self.lab.clock)))

    def disk(self, volume: str) -> str:
        return f"/coda/{volume}"

    def night(self, name: str) -> Night:
        return next(n for n in self.nights if n.name == name)


def load_or_build(reuse: bool = False, progress: Callable[[str], None] = lambda m: None) -> CodaLab:
    from .builder import load_or_build as build_lab

    lab = CodaLab(build_lab(SPEC, reuse=reuse, progress=progress))
    install_amcoda()  # a reused lab runs this suite's amcoda too
    return lab


@pytest.fixture(scope="session")
def coda_lab() -> CodaLab:
    """The Coda lab (``NIGHTS``), built once per session; fails (never skips)
    without root, Amanda or libfaketime.  ``CODARESTORE_LAB_REUSE=1`` reuses
    a lab built from the same description."""
    try:
        return load_or_build(reuse=os.environ.get("CODARESTORE_LAB_REUSE", "") not in ("", "0"),
                             progress=lambda m: print(f"coda lab: {m}", file=sys.stderr))
    except LabError as err:
        pytest.fail(f"cannot build the Coda lab: {err}", pytrace=False)
