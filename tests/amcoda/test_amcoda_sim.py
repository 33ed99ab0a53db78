"""amcoda run the way Amanda runs it: a child process with Amanda's argument
conventions, fd 1 for data, fd 3 for messages and fd 4 for the index, against
the Coda server simulator's ``volutil`` (testbed/codasim)."""

from __future__ import annotations

import io
import math
import os
import stat
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from coda_restore.amcoda.backup import scan_dump
from coda_restore.amcoda.request import kib
from coda_restore.voldump.reader import DumpReader
from codasim import VOLUTIL, vvlist
from codasim.clock import FakeClock
from codasim.server import Server
from paths import REPO

SIM_VOLUTIL = VOLUTIL  # testbed/codasim/volutil
T0 = 1_767_000_000  # the simulated clock at the start of every test


@dataclass
class Result:
    status: int
    data: bytes  # fd 1
    mesg: str  # fd 3
    index: bytes  # fd 4
    stderr: str


class Coda:
    """A simulated server plus how amcoda reaches it (a VOLUTIL wrapper that
    carries the state directory and the clock, as Amanda passes no env)."""

    def __init__(self, root: Path):
        self.root = root
        self.clock = FakeClock(T0)
        self.server = Server(root / "state", clock=self.clock)
        self.volutil = root / "volutil"
        self.write_wrapper(self.volutil)

    def write_wrapper(self, path: Path, cut_dump_at: int | None = None,
                      dump_instead: int | None = None) -> Path:
        # A tiny exec wrapper: the state directory and the clock, as the lab
        # does for Amanda (which passes no environment to applications).
        cut = "" if cut_dump_at is None else (
            f"if 'dump' in sys.argv:\n"
            f"    p = subprocess.run(argv, stdout=subprocess.PIPE)\n"
            f"    sys.stdout.buffer.write(p.stdout[:{cut_dump_at}])\n"
            f"    sys.exit(p.returncode)\n")
        if dump_instead is not None:  # a server that dumps the wrong volume
            cut += (f"if 'dump' in sys.argv:\n"
                    f"    argv[-1] = '{dump_instead:08x}'\n")
        path.write_text(
            f"#!{sys.executable}\n"
            "import os, subprocess, sys\n"
            f"os.environ['CODASIM_STATE'] = {str(self.root / 'state')!r}\n"
            f"os.environ['CODASIM_NOW'] = open({str(self.root / 'now')!r}).read().strip()\n"
            f"argv = [{str(SIM_VOLUTIL)!r}, *sys.argv[1:]]\n"
            f"{cut}"
            "os.execv(argv[0], argv)\n")
        path.chmod(path.stat().st_mode | stat.S_IXUSR)
        self.sync_clock()
        return path

    def sync_clock(self) -> None:
        (self.root / "now").write_text(str(self.clock.now))

    def tick(self, seconds: int) -> None:
        self.clock.tick(seconds)
        self.sync_clock()

    def amcoda(self, *args: str, stdin: bytes | None = None, index: bool = True,
               volutil: Path | None = None) -> Result:
        """Run amcoda as sendbackup does: fd 3 and (with --index) fd 4 open."""
        self.sync_clock()
        argv = [sys.executable, "-m", "coda_restore.amcoda", *args,
                "--volutil", str(volutil or self.volutil)]
        files = {n: open(self.root / f"fd{n}", "w+b") for n in (1, 2, 3, 4)}
        inp = subprocess.PIPE if stdin is not None else subprocess.DEVNULL

        def place_fds():  # in the child: the message and index files at fds 3 and 4
            import fcntl
            high = [fcntl.fcntl(files[n].fileno(), fcntl.F_DUPFD, 20) for n in (3, 4)]
            os.dup2(high[0], 3)
            if index:
                os.dup2(high[1], 4)

        # amcoda judges the clone's age by its own clock: run it at the
        # simulator's "now", under libfaketime as the lab runs Amanda.
        # A relative offset, as the lab uses: with an absolute "@DATE" libfaketime
        # makes Python's sleep in subprocess's timed wait fail with EINVAL.
        env = dict(os.environ, LD_PRELOAD=faketime_library(), FAKETIME_DONT_FAKE_MONOTONIC="1",
                   FAKETIME=f"{math.ceil(self.clock.now - time.time()):+d}")
        try:
            proc = subprocess.run(argv, input=stdin, stdin=None if stdin is not None else inp,
                                  stdout=files[1], stderr=files[2], preexec_fn=place_fds,
                                  close_fds=False, cwd=REPO, env=env, timeout=120)
            out = {}
            for n, f in files.items():
                f.seek(0)
                out[n] = f.read()
        finally:
            for f in files.values():
                f.close()
        return Result(proc.returncode, out[1], out[3].decode(), out[4], out[2].decode())


def faketime_library() -> str:
    out = subprocess.run(["dpkg", "-L", "libfaketime"], capture_output=True, text=True).stdout
    found = [p for p in out.split() if p.endswith("/libfaketime.so.1")]
    if not found:
        pytest.fail("libfaketime is not installed (tests/setup-and-run installs faketime)")
    return found[0]


def dle(volume: str, *more: str) -> list[str]:
    return ["--config", "lab", "--host", "coda host", "--disk", f"/coda/{volume}",
            "--device", volume, *more]


@pytest.fixture
def coda(tmp_path):
    if not SIM_VOLUTIL.exists():
        pytest.fail(f"the simulator's volutil is missing: {SIM_VOLUTIL}")
    c = Coda(tmp_path)
    c.server.create_volume("u.jan")
    with c.server.edit("u.jan") as ed:
        ed.mkdir("/docs")
        ed.write("/docs/thesis.tex", b"x" * 3000)
        ed.write("/notes.txt", b"hello")
        ed.symlink("/latest", "docs/thesis.tex")
    c.tick(60)
    return c


def mesg_lines(r: Result, prefix: str) -> list[str]:
    return [line for line in r.mesg.splitlines() if line.startswith(prefix)]


def error_lines(r: Result) -> list[str]:
    """A backup's failure: one line on stderr, which sendbackup relays as
    ``sendbackup: error [line]``; nothing about it on fd 3."""
    assert "sendbackup: error" not in r.mesg
    return [line for line in r.stderr.splitlines() if line.startswith("amcoda: ")]


def ancient_of(c: Coda, volume: str) -> Path:
    rw = c.server.volume(volume)
    return vvlist.list_path(c.server.backup_dir, rw.group_id, rw.id, "ancient")


# --- support and selfcheck -------------------------------------------------------


def test_selfcheck_ok_for_a_volume_the_server_has(coda):
    r = coda.amcoda("selfcheck", *dle("u.jan"))
    assert r.status == 0, r
    oks = [line for line in r.data.decode().splitlines() if line.startswith("OK ")]
    assert any("volume u.jan is" in line for line in oks), r.data
    assert "ERROR" not in r.data.decode()


def test_selfcheck_errors_for_a_missing_volume_and_a_missing_volutil(coda):
    r = coda.amcoda("selfcheck", *dle("u.nobody"))
    assert r.status == 1
    assert "ERROR amcoda: volume u.nobody" in r.data.decode()
    r = coda.amcoda("selfcheck", *dle("u.jan"), volutil=coda.root / "no-such-volutil")
    assert r.status == 1 and "is not an executable" in r.data.decode()


# --- estimate -------------------------------------------------------------------


def test_estimate_clones_once_and_prints_every_level_in_kib(coda):
    r = coda.amcoda("estimate", *dle("u.jan", "--level", "0", "--level", "1"))
    assert r.status == 0, r
    rw = coda.server.volume("u.jan")
    assert rw.backup_id, "the first estimate makes the backup clone"
    made = rw.backup_date
    assert made == coda.clock.now
    full = coda.amcoda("backup", *dle("u.jan", "--level", "0")).data
    lines = r.data.decode().splitlines()
    # level 0 from volutil info's size: never below the real dump; level 1 (no
    # .ancient list yet, so the server dumps everything) counted exactly
    assert lines[1] == f"1 {kib(len(full))} 1"
    assert lines[0].startswith("0 ") and kib(len(full)) <= int(lines[0].split()[1]) <= 2 * kib(len(full))

    coda.tick(3600)  # within CLONE-MAX-AGE (4 h): the clone is kept
    assert coda.amcoda("estimate", *dle("u.jan", "--level", "0")).status == 0
    assert coda.server.volume("u.jan").backup_date == made

    coda.tick(4 * 3600)  # now older than 4 h: lock + backup make a fresh clone
    assert coda.amcoda("estimate", *dle("u.jan", "--level", "0")).status == 0
    assert coda.server.volume("u.jan").backup_date == coda.clock.now
    assert coda.server.volume("u.jan").backup_id == rw.backup_id  # refreshed in place
    assert not coda.server.volume("u.jan").locked


def night(coda, level: int, record: bool = True) -> tuple[Result, Result]:
    """What amdump does for one DLE: estimate, a few minutes, backup."""
    est = coda.amcoda("estimate", *dle("u.jan", "--level", str(level), "--level", str(level + 1)))
    coda.tick(300)
    more = ("--record",) if record else ()
    return est, coda.amcoda("backup", *dle("u.jan", "--level", str(level), *more))


def test_estimates_after_a_recorded_dump_never_call_dumpestimate(coda):
    """ref §23 row 4: dumpestimate with an .ancient list kills the server."""
    est, full = night(coda, 0)
    assert (est.status, full.status) == (0, 0), (est, full)
    coda.tick(86400)
    with coda.server.edit("u.jan") as ed:
        ed.write("/docs/ch1.tex", b"y" * 5000)
    est, inc = night(coda, 1)
    assert not coda.server.dead, "amcoda called dumpestimate"
    assert (est.status, inc.status) == (0, 0), (est, inc)
    sizes = dict(line.split()[:2] for line in est.data.decode().splitlines())
    assert sizes["1"] == str(kib(len(inc.data)))  # the unmarked counted dump is the real one
    h = DumpReader(io.BytesIO(inc.data)).read_header()
    assert h.level == 1 and h.oldest == DumpReader(io.BytesIO(full.data)).read_header().latest


def test_dumpestimate_only_behind_its_property(coda):
    r = coda.amcoda("estimate", *dle("u.jan", "--level", "0", "--estimate", "dumpestimate"))
    assert r.status == 0, r
    sizes = coda.server.dumpestimate(coda.server.volume("u.jan").backup_id)
    assert r.data.decode() == f"0 {kib(sizes[0])} 1\n"
    bad = coda.amcoda("estimate", *dle("u.jan", "--level", "0", "--estimate", "guess"))
    assert bad.status == 1 and "bad ESTIMATE 'guess'" in bad.stderr


def test_the_clone_is_made_at_most_once_a_night(coda):
    """The age is the RW volume's backupDate (ref §23 row 5: the clone's own
    dates never move): estimate makes the clone, the backup uses it."""
    for n in range(3):
        est, bak = night(coda, min(n, 1))
        assert (est.status, bak.status) == (0, 0), (est, bak)
        rw = coda.server.volume("u.jan")
        assert rw.backup_date == coda.clock.now - 300, f"night {n}: the backup re-cloned"
        assert any("using backup clone" in line for line in bak.mesg.splitlines()), bak.mesg
        coda.tick(86400 - 300)


def test_a_purged_clone_is_backed_up_from_estimate_to_restore(coda):
    """issue 10 point 4: a backupId naming no volume (603) is a normal state
    (vol-backup.cc makes a new clone under a new id)."""
    est, first = night(coda, 0)
    assert first.status == 0, first
    old = coda.server.volume("u.jan").backup_id
    coda.server.purge(old, "u.jan.backup")
    coda.tick(86400)
    with coda.server.edit("u.jan") as ed:
        ed.write("/after-purge", b"z" * 1000)
    sel = coda.amcoda("selfcheck", *dle("u.jan"))
    assert sel.status == 0 and "names no volume" in sel.data.decode(), sel
    est, full = night(coda, 0)
    assert (est.status, full.status) == (0, 0), (est, full)
    new = coda.server.volume("u.jan").backup_id
    assert new != old
    assert DumpReader(io.BytesIO(full.data)).read_header().volume_id == new
    r = coda.amcoda("restore", "--config", "lab", "--disk", "/coda/u.jan", "--level", "0",
                    "--partition", "/vicepb", "--restore-name", "u.jan.back", ".", stdin=full.data)
    assert r.status == 0, r
    assert coda.server.state("u.jan.back") == coda.server.state("u.jan")
    assert "/after-purge" in coda.server.state("u.jan.back")


def test_volume_names_need_the_vldb_and_hex_ids_always_work(coda):
    """ref §23 row 8; and every message is one line although volutil's stderr
    has several (row 10)."""
    coda.server.create_volume("u.bare", in_vldb=False)
    bare = coda.server.volume("u.bare").id
    r = coda.amcoda("estimate", *dle("u.bare", "--level", "0"))
    assert r.status == 1 and len(r.stderr.splitlines()) == 1, r.stderr
    assert r.stderr.startswith("ERROR amcoda: volume u.bare: the name is not in the server's VLDB")
    sel = coda.amcoda("selfcheck", *dle("u.bare"))
    assert sel.status == 1
    assert [line for line in sel.data.decode().splitlines() if line.startswith("ERROR")] == [
        r.stderr.rstrip("\n")]
    by_id = ["--config", "lab", "--host", "h", "--disk", "/coda/u.bare", "--device", f"{bare:08x}"]
    assert coda.amcoda("selfcheck", *by_id).status == 0
    est = coda.amcoda("estimate", *by_id, "--level", "0")
    assert est.status == 0, est
    bak = coda.amcoda("backup", *by_id, "--level", "0", "--record")
    assert bak.status == 0, bak


def test_volutil_runs_through_a_command_prefix(coda):
    """VOLUTIL is multi-valued: the words before volutil, never a shell string."""
    r = coda.amcoda("backup", *dle("u.jan", "--level", "0", "--volutil", "/usr/bin/env",
                                   "--volutil", "LC_ALL=C"))
    assert r.status == 0, r
    assert any(f"running /usr/bin/env LC_ALL=C {coda.volutil} dump" in line
               for line in r.mesg.splitlines()), r.mesg
    sel = coda.amcoda("selfcheck", *dle("u.jan", "--volutil", "/usr/bin/env", "--volutil", "LC_ALL=C"))
    assert sel.status == 0 and f"OK amcoda: volutil is /usr/bin/env LC_ALL=C {coda.volutil}" in sel.data.decode()


def test_selfcheck_says_plainly_when_volutil_lacks_privilege(coda):
    """The server's secret (volutil.tk) is root's: run as another user volutil
    gets no token (volclient.cc)."""
    nobody = ("/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
              "/usr/bin/env", f"CODASIM_STATE={coda.root / 'state'}")
    words = [w for word in nobody for w in ("--volutil", word)]
    r = coda.amcoda("selfcheck", *dle("u.jan", *words), volutil=SIM_VOLUTIL)
    [error] = [line for line in r.data.decode().splitlines() if line.startswith("ERROR")]
    assert r.status == 1
    assert error.startswith("ERROR amcoda: volutil is refused for lack of privilege: "
                            "Couldn't get a token to authenticate with the server"), error


def test_estimate_error_goes_to_stderr_with_a_nonzero_exit(coda):
    r = coda.amcoda("estimate", *dle("u.nobody", "--level", "0"))
    assert r.status == 1 and r.data == b""
    assert r.stderr.startswith("ERROR amcoda:") and "u.nobody" in r.stderr


# --- backup ----------------------------------------------------------------------


def test_backup_level0_streams_a_valid_dump_reports_size_index_and_marks(coda):
    r = coda.amcoda("backup", *dle("u.jan", "--level", "0", "--index", "line", "--record"))
    assert r.status == 0, r
    seen = scan_dump(io.BytesIO(r.data))
    assert seen.problem is None and seen.header.level == 0
    assert mesg_lines(r, "sendbackup: size ") == [f"sendbackup: size {kib(len(r.data))}"]
    # sendbackup says "end" itself once the data is through (an early one hung amdump)
    assert r.mesg.splitlines()[-1].startswith("sendbackup: size ") and "sendbackup: end" not in r.mesg
    assert not error_lines(r) and not mesg_lines(r, "? ")
    assert r.index.splitlines() == [b"/", b"/docs/", b"/docs/thesis.tex", b"/latest",
                                    b"/notes.txt"]
    assert ancient_of(coda, "u.jan").exists(), "a recorded good dump is marked"


def test_incrementals_chain_on_the_recorded_dump_only(coda):
    full = coda.amcoda("backup", *dle("u.jan", "--level", "0", "--index", "line", "--record"))
    base = DumpReader(io.BytesIO(full.data)).read_header()
    coda.tick(600)
    with coda.server.edit("u.jan") as ed:
        ed.write("/docs/ch1.tex", b"chapter one")
        ed.remove("/notes.txt")
    coda.tick(5 * 3600)  # the next night: the clone is stale and gets refreshed
    # not recorded (e.g. amdump --no-record): the server's base stays the full
    probe = coda.amcoda("backup", *dle("u.jan", "--level", "1", "--index", "line"))
    assert probe.status == 0, probe
    inc = coda.amcoda("backup", *dle("u.jan", "--level", "1", "--index", "line", "--record"))
    assert inc.status == 0, inc
    for r in (probe, inc):
        h = DumpReader(io.BytesIO(r.data)).read_header()
        assert (h.level, h.oldest) == (1, base.latest)
    assert b"/docs/ch1.tex" in inc.index.splitlines()
    assert b"/notes.txt" not in inc.index.splitlines()
    coda.tick(600)
    with coda.server.edit("u.jan") as ed:
        ed.write("/notes.txt", b"back again")
    coda.tick(5 * 3600)
    second = coda.amcoda("backup", *dle("u.jan", "--level", "2", "--index", "line", "--record"))
    h2 = DumpReader(io.BytesIO(second.data)).read_header()
    h1 = DumpReader(io.BytesIO(inc.data)).read_header()
    assert (h2.level, h2.oldest) == (2, h1.latest)


def test_a_truncated_dump_fails_and_is_never_marked(coda):
    cut = coda.write_wrapper(coda.root / "volutil-cut", cut_dump_at=500)
    r = coda.amcoda("backup", *dle("u.jan", "--level", "0", "--index", "line", "--record"),
                    volutil=cut)
    assert r.status == 1
    errors = error_lines(r)
    assert len(errors) == 1 and "truncated" in errors[0] and "(not marked)" in errors[0]
    assert not mesg_lines(r, "sendbackup: size")
    assert not ancient_of(coda, "u.jan").exists()


def test_a_dump_of_another_volume_fails_and_is_never_marked(coda):
    coda.server.create_volume("u.ann")
    rw = coda.server.volume("u.ann")
    coda.server.lock(rw.id)
    other = coda.server.backup(rw.id)
    wrong = coda.write_wrapper(coda.root / "volutil-wrong", dump_instead=other)
    r = coda.amcoda("backup", *dle("u.jan", "--level", "0", "--record"), volutil=wrong)
    assert r.status == 1
    [error] = error_lines(r)
    assert f"the dump is of volume {other:08x}" in error
    assert not ancient_of(coda, "u.jan").exists() and not ancient_of(coda, "u.ann").exists()


def test_a_failing_volutil_is_reported_with_its_stderr(coda):
    r = coda.amcoda("backup", *dle("u.nobody", "--level", "0", "--record"))
    assert r.status == 1
    [error] = error_lines(r)
    assert error.startswith("amcoda: ") and "u.nobody" in error


def test_silent_full_dump_fallback_is_reported_as_strange(coda):
    # never recorded: no .ancient list, so the server dumps everything (ref §12.2)
    r = coda.amcoda("backup", *dle("u.jan", "--level", "1", "--index", "line", "--record"))
    assert r.status == 0, r
    assert DumpReader(io.BytesIO(r.data)).read_header().level == 0
    [strange] = mesg_lines(r, "? ")
    assert "asked for level 1" in strange and "full dump" in strange


def test_coda6_ancient_takes_group_and_replica_ids(coda):
    r = coda.amcoda("backup", *dle("u.jan", "--level", "0", "--record",
                                   "--ancient-id", "group-replica"))
    assert r.status == 0, r
    rw = coda.server.volume("u.jan")
    assert any(f"ancient {rw.group_id:08x} {rw.id:08x}" in line for line in r.mesg.splitlines())
    assert ancient_of(coda, "u.jan").exists()


# --- restore and validate ------------------------------------------------------------


def test_restore_spools_the_dump_restores_it_from_the_file_and_verifies_it(coda, tmp_path):
    # the simulator hangs, as a real client does, if the dump comes on volutil's stdin (§23 row 1)
    full = coda.amcoda("backup", *dle("u.jan", "--level", "0", "--record"))
    staging = tmp_path / "staging"
    staging.mkdir()
    r = coda.amcoda("restore", "--config", "lab", "--disk", "/coda/u.jan", "--level", "0",
                    "--partition", "/vicepb", "--restore-name", "u.jan.restored", "--staging", str(staging),
                    ".", stdin=full.data)
    assert r.status == 0, r
    assert f" restore -f {staging}/amcoda-restore." in r.stderr and "VolRestore successful" in r.stderr
    assert "amcoda: verified: volume" in r.stderr
    assert coda.server.state("u.jan.restored") == coda.server.state("u.jan")
    assert list(staging.iterdir()) == []  # the spool is gone


def test_restore_ends_with_one_clear_error_on_every_failure(coda, tmp_path):
    full = coda.amcoda("backup", *dle("u.jan", "--level", "0", "--record")).data
    args = ("restore", "--disk", "/coda/u.jan", "--level", "0", "--partition", "/vicepa")
    # a truncated image never reaches the server
    r = coda.amcoda(*args, "--restore-name", "u.jan.cut", stdin=full[:-7])
    assert r.status == 1 and "truncated" in r.stderr, r
    # the server fails the restore (a size above its transfer buffer, §23 row 3)
    small = tmp_path / "small-volutil"
    small.write_text(f"#!/bin/sh\nCODASIM_RESTORE_LIMIT=100 exec {coda.volutil} \"$@\"\n")
    small.chmod(0o755)
    r = coda.amcoda(*args, "--restore-name", "u.jan.big", stdin=full, volutil=small)
    assert r.status == 1 and "failed to read a dump this size" in r.stderr, r
    # the server says successful but holds other data (its buffer, read on past a short transfer)
    stale = tmp_path / "stale-volutil"
    stale.write_text("#!/bin/bash\n"
                     'args=("$@"); for i in "${!args[@]}"; do [ "${args[$i]}" = "-f" ] && f="${args[$((i+1))]}" '
                     '&& args[$((i+1))]=/dev/stdin; done\n'
                     f'if [ -n "$f" ]; then {{ head -c 40 "$f"; sleep 4; tail -c +41 "$f"; }} | '
                     f'exec {coda.volutil} "${{args[@]}}"; exit; fi\nexec {coda.volutil} "$@"\n')
    stale.chmod(0o755)
    with coda.server.edit("u.jan") as ed:
        ed.write("/new", b"n")
    coda.tick(5 * 3600)
    newer = coda.amcoda("backup", *dle("u.jan", "--level", "0")).data
    assert coda.amcoda(*args, "--restore-name", "u.jan.prev", stdin=full).status == 0
    r = coda.amcoda(*args, "--restore-name", "u.jan.stale", stdin=newer, volutil=stale)
    assert r.status == 1 and "is WRONG" in r.stderr and "purge" in r.stderr, r
    assert coda.server.state("u.jan.stale") == coda.server.state("u.jan.prev")  # what the server holds
    kept = Path(r.stderr.split("The merged image is kept: ")[1].split()[0])
    assert kept.read_bytes() == newer  # kept for the operator, as the message says
    kept.unlink()
    # a RESTORE-NAME in use (the server would make a second volume of it, §23 row 15)
    r = coda.amcoda(*args, "--restore-name", "u.jan.prev", stdin=full)
    assert r.status == 1 and "volume u.jan.prev already exists" in r.stderr and "nothing was restored" in r.stderr
    assert [v.name for v in coda.server.volumes()].count("u.jan.prev") == 1
    # a dead server
    dead = tmp_path / "dead-volutil"
    dead.write_text(f"#!/bin/sh\necho 'V_BindToServer: binding to host localhost' >&2\n"
                    "echo 'VolRestore failed with RPC2_DEAD (F)' >&2\nexit 1\n")
    dead.chmod(0o755)
    r = coda.amcoda(*args, "--restore-name", "u.jan.dead", stdin=full, volutil=dead)
    assert r.status == 1 and "the server is dead or unreachable" in r.stderr, r


def test_restore_refuses_an_incremental(coda):
    coda.amcoda("backup", *dle("u.jan", "--level", "0", "--record"))
    with coda.server.edit("u.jan") as ed:
        ed.write("/new", b"n")
    coda.tick(5 * 3600)
    inc = coda.amcoda("backup", *dle("u.jan", "--level", "1", "--record"))
    r = coda.amcoda("restore", "--disk", "u.jan", "--partition", "/vicepa", stdin=inc.data)
    assert r.status == 1 and "level 1 dump" in r.stderr
    assert [v.name for v in coda.server.volumes() if v.name.endswith(".restored")] == []


def test_validate_accepts_a_dump_and_rejects_a_truncated_one(coda):
    full = coda.amcoda("backup", *dle("u.jan", "--level", "0")).data
    assert coda.amcoda("validate", stdin=full).status == 0
    bad = coda.amcoda("validate", stdin=full[:-3])
    assert bad.status == 1 and "invalid dump" in bad.stderr


def test_restore_to_a_server_whose_protection_db_lacks_a_user_is_caught_by_the_dump_back(coda):
    # §23 row 16: the server restores the directory with a stale ACL and says
    # successful; the dump back shows it (ACLs compared as sets, row 17)
    coda.server.set_pdb({**coda.server.pdb(), "jan": 1001})
    with coda.server.edit("u.jan") as ed:
        ed.mkdir("/shared")
        ed.setacl("/shared", [("jan", 127), ("System:AnyUser", 9)])
    full = coda.amcoda("backup", *dle("u.jan", "--level", "0")).data
    args = ("restore", "--disk", "/coda/u.jan", "--level", "0", "--partition", "/vicepa")
    ok = coda.amcoda(*args, "--restore-name", "u.jan.known", stdin=full)
    assert ok.status == 0 and "amcoda: verified" in ok.stderr, ok
    coda.server.set_pdb({k: v for k, v in coda.server.pdb().items() if k != "jan"})  # another server
    r = coda.amcoda(*args, "--restore-name", "u.jan.unknown", stdin=full)
    assert r.status == 1 and "is WRONG" in r.stderr and "differs in acl" in r.stderr, r
    assert "failed to parse ExternalAccessList" in (coda.root / "state" / "SrvLog").read_text()
    Path(r.stderr.split("The merged image is kept: ")[1].split()[0]).unlink()


def test_a_hung_volutil_does_not_hang_selfcheck_or_estimate(coda):
    """issue 13 item 9: short volutil calls have a time limit."""
    hung = coda.root / "volutil-hung"
    hung.write_text("#!/bin/sh\nexec sleep 60\n")
    hung.chmod(0o755)
    started = time.monotonic()
    sel = coda.amcoda("selfcheck", *dle("u.jan", "--volutil-timeout", "1"), volutil=hung)
    est = coda.amcoda("estimate", *dle("u.jan", "--level", "0", "--volutil-timeout", "1"), volutil=hung)
    assert time.monotonic() - started < 30
    assert sel.status == 1 and "timed out after 1.0 s" in sel.data.decode(), sel
    assert est.status == 1 and est.stderr.startswith("ERROR amcoda: ") and "timed out" in est.stderr
    assert len(est.stderr.splitlines()) == 1


def test_a_volutil_printing_bytes_that_are_not_utf8_gives_one_line_not_a_traceback(coda):
    """issue 13 item 7."""
    odd = coda.root / "volutil-latin1"
    odd.write_bytes(b"#!/bin/sh\nprintf 'V_BindToServer: binding to host x\\nVolInfo failed: \\377\\376 caf\\351\\n' >&2\n"
                    b"printf 'Volume header \\377\\n'\nexit 1\n")
    odd.chmod(0o755)
    sel = coda.amcoda("selfcheck", *dle("u.jan"), volutil=odd)
    est = coda.amcoda("estimate", *dle("u.jan", "--level", "0"), volutil=odd)
    for text in (sel.data.decode(), est.stderr):
        assert "Traceback" not in text and "VolInfo failed: \ufffd\ufffd caf\ufffd" in text, text
    assert sel.status == 1 and est.status == 1 and len(est.stderr.splitlines()) == 1
