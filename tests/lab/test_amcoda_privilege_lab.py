"""amcoda under real Amanda against a server whose state only root can read
(as a real Coda server's ``/vice/db/volutil.tk``): Amanda's user runs
volutil only through ``sudo -n`` and the README's sudoers rule, the first
night clones new volumes, the second night backs up a volume whose clone was
purged, and ``amcheck`` shows an error for each fault that would make an
estimate or a backup fail (one test per fault) and none in the clean lab.

Its own config (``codarestore-coda-sudo``) and root, so it never touches the
shared Coda lab's server."""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from coda_restore.plugin_install import ask_amanda, wrapper_text
from coda_restore.voldump.reader import DumpReader
from codasim.server import Server
from lab import coda_lab as cl
from lab.builder import (AMANDA_USER, Dle, LabError, LabSpec, Run, faketime_library, load_or_build,
                         run_as_backup)

pytestmark = pytest.mark.lab

CONFIG = "codarestore-coda-sudo"
ROOT = Path("/var/tmp") / CONFIG
SUDOERS = Path("/etc/sudoers.d") / CONFIG
VOLUMES = cl.VOLUMES
# Amanda's application directory is shared by every checkout (and venv) on
# the machine, and each one's Coda lab reinstalls "amcoda": this lab runs the
# suite's amcoda under a name of its own, with the wrapper `amcoda install`
# writes (which has no option for another name).
PLUGIN = f"amcoda-{CONFIG}"


def install_plugin() -> Path:
    path = Path(ask_amanda("amlibexecdir")) / "application" / PLUGIN
    path.write_text(wrapper_text(Path(sys.executable)))
    path.chmod(0o755)
    return path


def root_volutil(root: Path) -> Path:
    """What sudo runs as root: the lab's volutil wrapper under the lab's fake
    clock (sudo drops LD_PRELOAD; the sudoers rule keeps FAKETIME)."""
    return root / "bin" / "volutil-root"


def write_root_volutil(root: Path) -> Path:
    path = root_volutil(root)
    lib = faketime_library()
    die = cl.sim_root(root) / "die-after"
    path.write_text("#!/bin/sh\n"
                    "# test rig: the simulated server runs at the lab's fake time; while\n"
                    "# ROOT/coda/die-after holds NAME:BYTES, dumps of NAME die mid-stream\n"
                    f'if [ -n "$FAKETIME" ]; then LD_PRELOAD={lib}; export LD_PRELOAD; fi\n'
                    f'if [ -e {die} ]; then CODASIM_DIE_AFTER=$(cat {die}); export CODASIM_DIE_AFTER; fi\n'
                    f'exec {cl.volutil_wrapper(root)} "$@"\n')
    path.chmod(0o755)
    return path


def sudoers_rule(volutil: Path) -> str:
    """The README's rule, for this lab's volutil."""
    return (f'Defaults!{volutil} env_keep += "FAKETIME FAKETIME_DONT_FAKE_MONOTONIC"\n'
            "Cmnd_Alias AMCODA_VOLUTIL = \\\n"
            f"    {volutil} ^(-h [A-Za-z0-9.-]+ )?(info|lock|unlock|backup) [0-9A-Za-z._-]+$, \\\n"
            f"    {volutil} ^(-h [A-Za-z0-9.-]+ )?ancient [0-9a-f]+( [0-9a-f]+)?$, \\\n"
            f"    {volutil} ^(-h [A-Za-z0-9.-]+ )?dump (-i [1-9] )?[0-9a-f]+$\n"
            f"{AMANDA_USER} ALL = (root) NOPASSWD: AMCODA_VOLUTIL\n")


def install_sudoers(volutil: Path) -> None:
    tmp = SUDOERS.with_name(CONFIG + ".new")  # sudo skips names with a dot
    tmp.write_text(sudoers_rule(volutil))
    tmp.chmod(0o440)
    check = subprocess.run(["visudo", "-cf", str(tmp)], capture_output=True, text=True)
    if check.returncode != 0:
        tmp.unlink()
        raise LabError(f"visudo refuses the README's rule: {check.stdout}{check.stderr}")
    os.replace(tmp, SUDOERS)


def _app(name: str, *props: tuple[str, str]) -> str:
    lines = "".join(f'  property "{k}" {v}\n' for k, v in props)
    return f'define application-tool {name} {{\n  plugin "{PLUGIN}"\n{lines}}}\n'


def _dumptype(name: str, app: str) -> str:
    return (f'define dumptype {name} {{\n  program "APPLICATION"\n  application "{app}"\n'
            '  auth "local"\n  compress none\n  encrypt none\n  index yes\n  record yes\n'
            '  estimate client\n  holdingdisk auto\n'
            '  maxpromoteday 0\n}\n')  # night 2 stays an incremental: no balancing fulls


SUDO = f'"/usr/bin/sudo" "-n" "{root_volutil(ROOT)}"'
# application-tool -> the fault its properties make (besides the good one)
APPS = {
    "app-amcoda": (),
    "app-nosudo": (("VOLUTIL", f'"{cl.volutil_wrapper(ROOT)}"'),),
    "app-novolutil": (("VOLUTIL", '"/nonexistent/volutil"'),),
    "app-badpartition": (("PARTITION", '"/tmp"'),),
    "app-badname": (("RESTORE-NAME", '"u.jan restored"'),),
    "app-coda6": (("ANCIENT-ID", '"group-replica"'),),
}


def conf() -> str:
    out = []
    for app, faults in APPS.items():
        props = dict((("VOLUTIL", SUDO), ("PARTITION", '"/vicepa"'), ("CLONE-MAX-AGE", '"4h"')))
        props.update(faults)
        out.append(_app(app, *props.items()))
        out.append(_dumptype("coda" if app == "app-amcoda" else app.replace("app-", "coda-"), app))
    return "".join(out)


def _root_only(path: Path) -> None:
    """The server's state as on a real server: root's, unreadable by others."""
    for dirpath, dirnames, filenames in os.walk(path):
        for name in dirnames + filenames:
            shutil.chown(os.path.join(dirpath, name), "root", "root")
    shutil.chown(path, "root", "root")
    path.chmod(0o700)


@dataclass(frozen=True)
class Setup:
    """Run.before hook, as root: on the first night the server (its state
    root's only), the volutil wrappers and the sudoers rule; every night the
    night's edit.  (A stable repr: the lab's fingerprint is the spec's repr.)"""

    night: cl.Night
    first: bool

    def __repr__(self) -> str:
        return f"Setup({self.night.name}, first={self.first})"

    def __call__(self, lab, run) -> None:
        sim = cl.sim_root(lab.root)
        server = Server(sim / "state", clock=cl.FixedClock(cl.at_epoch(self.night.at) - 300))
        if self.first:
            install_plugin()
            cl.write_volutil_wrapper(lab.root)
            install_sudoers(write_root_volutil(lab.root))
            for name in VOLUMES:
                server.create_volume(name)
            server.create_volume("u.bare", in_vldb=False)  # volutil create_rep, no bldvldb
            server.create_volume("u.solo", replicated=False)
            server.create_volume("u.odd")
            odd, other = server.volume("u.odd").id, server.volume("p.proj").id
            with server.txn() as t:  # its backupId names a volume that is not its clone
                t.volume(odd).backup_id = other
        if self.night.edit is not None:
            self.night.edit(server)
        _root_only(sim / "state")  # the wrappers in ROOT/bin stay root's too


@dataclass(frozen=True)
class PurgeClone:
    """EDIT, then purge VOLUME's .backup clone: its backupId names no volume."""

    volume: str
    edit: object

    def __call__(self, s: Server) -> None:
        self.edit(s)
        rw = s.volume(self.volume)
        s.purge(rw.backup_id, f"{rw.name}.backup")


@dataclass(frozen=True)
class DieMidDump:
    """Run.before hook: while set, u.jan's dumps die after 20,000 bytes
    (issue 13 item 2: such a backup once hung the whole amdump)."""

    on: bool

    def __call__(self, lab, run) -> None:
        marker = cl.sim_root(lab.root) / "die-after"
        if self.on:
            marker.write_text("u.jan.backup:20000")
        else:
            marker.unlink(missing_ok=True)


NIGHTS = (
    cl.Night("s1", "2026-07-06 01:00:00", cl._mon, note="new volumes: backupId 0, cloned"),
    cl.Night("s2", "2026-07-07 01:00:00", PurgeClone("u.jan", cl._tue),
             note="u.jan's clone purged before the night: a new clone, an incremental"),
    cl.Night("s3", "2026-07-08 01:00:00", cl._wed, expect_status=None,
             note="u.jan forced full, its dump dies mid-stream: FAIL, p.proj taped, amdump ends"),
    cl.Night("s4", "2026-07-09 01:00:00", cl._thu, note="the night after: both fine"),
)
DYING = "s3"


def spec() -> LabSpec:
    runs = tuple(Run(n.name, n.at, before=(Setup(n, first=(i == 0)), DieMidDump(n.name == DYING)),
                     force=("/coda/u.jan",) if n.name == DYING else (),
                     expect_status=n.expect_status, note=n.note)
                 for i, n in enumerate(NIGHTS))
    dles = tuple(Dle(f"/coda/{v}", dumptype="coda", device=v) for v in VOLUMES)
    return LabSpec(CONFIG, dles, runs, extra_conf=conf(), slots=6, tapecycle=5)


@pytest.fixture(scope="module")
def sudo_lab() -> cl.CodaLab:
    if shutil.which("sudo") is None or shutil.which("visudo") is None:
        pytest.fail("sudo is not installed (tests/setup-and-run installs it)")
    try:
        lab = load_or_build(spec(), reuse=os.environ.get("CODARESTORE_LAB_REUSE", "") not in ("", "0"))
    except LabError as err:
        pytest.fail(f"cannot build the sudo lab: {err}", pytrace=False)
    install_plugin()  # a reused lab: amcheck runs this checkout's amcoda
    return cl.CodaLab(lab, NIGHTS)


_RESULT = re.compile(r"^(SUCCESS|FAIL|STRANGE) dumper (\S+) (\S+) (\d{14}) (\d+) ", re.M)


def results(lab: cl.CodaLab) -> list[tuple[str, str, str, int]]:
    out = []
    for log in sorted(lab.lab.logdir.glob("log.*")):
        for m in _RESULT.finditer(log.read_text(errors="replace")):
            out.append((m.group(1), m.group(3), m.group(4)[:8], int(m.group(5))))
    return sorted(out, key=lambda r: (r[2], r[1]))


def test_backups_through_sudo_succeed_on_the_first_night_and_after_a_purged_clone(sudo_lab):
    got = [r for r in results(sudo_lab) if r[2] in ("20260706", "20260707")]
    assert sorted((r[0], r[1], r[2]) for r in got) == sorted(
        ("SUCCESS", f"/coda/{v}", night) for v in VOLUMES for night in ("20260706", "20260707")), got
    levels = {(r[1], r[2]): r[3] for r in got}
    assert levels[("/coda/u.jan", "20260706")] == 0 and levels[("/coda/u.jan", "20260707")] == 1


def test_a_dump_dying_mid_stream_fails_that_volume_and_the_night_ends(sudo_lab):
    """issue 13 item 2: the night's amdump finished (the build waits for it),
    u.jan is a FAIL with volutil's message, p.proj is on tape, and the next
    night backs both up."""
    by_night = {}
    for kind, disk, night, _level in results(sudo_lab):
        by_night.setdefault(night, {}).setdefault(disk, set()).add(kind)
    assert by_night["20260708"] == {"/coda/u.jan": {"FAIL"}, "/coda/p.proj": {"SUCCESS"}}
    assert by_night["20260709"] == {"/coda/u.jan": {"SUCCESS"}, "/coda/p.proj": {"SUCCESS"}}
    [log] = [p.read_text(errors="replace") for p in sudo_lab.lab.logdir.glob("log.20260708*")]
    fails = [line for line in log.splitlines() if line.startswith("FAIL dumper localhost /coda/u.jan ")]
    assert fails, log  # the dumper may retry once
    for fail in fails:
        assert " 0 [amcoda: " in fail and "RPC2_DEAD" in fail and fail.endswith("(not marked)]"), fail
    assert re.search(r"^DONE taper .* localhost /coda/p.proj 20260708\d{6} ", log, re.M), log


def test_the_purged_clone_night_dumped_the_new_clone_on_the_recorded_base(sudo_lab, tmp_path):
    images = {}
    for night in ("20260706", "20260707"):
        out = tmp_path / night
        with open(out, "wb") as f:
            run_as_backup(["amfetchdump", "-a", "-p", CONFIG, "localhost", "/coda/u.jan", night],
                          sudo_lab.lab.clock, stdout=f)
        images[night] = DumpReader(io.BytesIO(out.read_bytes())).read_header()
    first, second = images["20260706"], images["20260707"]
    assert second.volume_id != first.volume_id  # vol-backup.cc: a new clone, a new id
    assert second.parent_id == first.parent_id
    assert (second.level, second.oldest) == (1, first.latest)


def test_the_state_is_roots_and_volutil_as_backup_gets_no_token(sudo_lab):
    state = cl.sim_root(sudo_lab.lab.root) / "state"
    assert (state.stat().st_uid, state.stat().st_mode & 0o777) == (0, 0o700)
    p = run_as_backup([str(cl.volutil_wrapper(sudo_lab.lab.root)), "info", "u.jan"],
                      sudo_lab.lab.clock, check=False)
    assert p.returncode == 1 and "Couldn't get a token to authenticate" in p.stdout


def test_the_sudoers_rule_allows_only_what_amcoda_needs(sudo_lab):
    sudo = ["/usr/bin/sudo", "-n", str(root_volutil(sudo_lab.lab.root))]
    rw = f"{sudo_lab.server().volume('u.jan').id:08x}"
    allowed = run_as_backup([*sudo, "info", rw], sudo_lab.lab.clock, check=False)
    assert allowed.returncode == 0, allowed.stderr
    for words in (["purge", rw, "u.jan"], ["info", rw, "/tmp/x"], ["dumpestimate", rw],
                  ["restore", "/vicepa"]):
        p = run_as_backup([*sudo, *words], sudo_lab.lab.clock, check=False)
        assert p.returncode == 1 and p.stderr.startswith("sudo: "), (words, p.stderr)


def test_amcheck_is_clean(sudo_lab):
    p = sudo_lab.lab.amanda("amcheck", CONFIG, check=False)
    assert p.returncode == 0 and "0 problems found" in p.stdout, p.stdout + p.stderr


# --- amcheck shows each fault (a disklist of its own, -o diskfile=) --------------


def amcheck_with(lab: cl.CodaLab, name: str, lines: list[str]):
    disklist = lab.lab.root / "faults" / f"{name}.disklist"
    disklist.parent.mkdir(exist_ok=True)
    disklist.write_text("".join(line + "\n" for line in lines))
    shutil.chown(disklist.parent, AMANDA_USER, AMANDA_USER)
    shutil.chown(disklist, AMANDA_USER, AMANDA_USER)
    p = lab.lab.amanda("amcheck", "-c", "-o", f"diskfile={disklist}", CONFIG, check=False)
    return p.returncode, p.stdout + p.stderr


def errors(text: str) -> list[str]:
    return [line for line in text.splitlines() if "amcoda:" in line and "ERROR" in line]


@pytest.mark.parametrize("fault, dle, expected", [
    ("no-privilege", "u.jan u.jan coda-nosudo", "volutil is refused for lack of privilege"),
    ("no-volutil", "u.jan u.jan coda-novolutil", "is not an executable"),
    ("no-volume", "u.gone 7777777 coda", "no volume 7777777 on the server"),
    ("not-in-vldb", "u.bare u.bare coda", "the name is not in the server's VLDB"),
    ("clone-not-creatable", "u.odd u.odd coda", "not its backup clone: volutil backup would fail"),
    ("bad-partition", "u.jan u.jan coda-badpartition", "PARTITION '/tmp' is not a Coda server partition"),
    ("bad-restore-name", "u.jan u.jan coda-badname", "RESTORE-NAME 'u.jan restored' is not a Coda volume name"),
    ("record-style", "u.solo u.solo coda-coda6", "ANCIENT-ID group-replica needs a replicated volume"),
])
def test_amcheck_shows_the_fault(sudo_lab, fault, dle, expected):
    disk, device, dumptype = dle.split()
    status, out = amcheck_with(sudo_lab, fault, [f"localhost /coda/{disk} {device} {dumptype}"])
    assert status != 0, out
    found = errors(out)
    assert len(found) == 1 and expected in found[0], out


def test_amcheck_shows_a_server_that_does_not_answer(sudo_lab):
    server = sudo_lab.server()
    server.die()
    try:
        status, out = amcheck_with(sudo_lab, "dead", ["localhost /coda/u.jan u.jan coda"])
    finally:
        server.restart()
    found = errors(out)
    assert status != 0 and len(found) == 1 and "does not answer" in found[0], out
    assert "RPC2_DEAD" in found[0]


def test_a_clean_disklist_of_the_same_volumes_shows_no_error(sudo_lab):
    status, out = amcheck_with(sudo_lab, "clean", [f"localhost /coda/{v} {v} coda" for v in VOLUMES]
                               + ["localhost /coda/u.bare-by-id {:08x} coda".format(
                                   sudo_lab.server().volume("u.bare").id)])
    assert status == 0 and not errors(out), out
