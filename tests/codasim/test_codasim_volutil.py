"""The simulator's volutil executable, run as a subprocess the way amcoda runs it."""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import time

import pytest

from codasim import PDBTOOL, VOLUTIL, FakeClock, Server
from codasim.restore import parse_dump

T0 = 1_700_000_000
BIND = r"V_BindToServer: binding to host [^\n]+\n"  # ref §23 row 10


def volutil(state, *args, input: bytes | None = None, status: int = 0, env=None):
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("CODASIM_")}
    full_env.update(CODASIM_STATE=str(state), **(env or {}))
    p = subprocess.run([str(VOLUTIL), *map(str, args)], input=input, capture_output=True,
                       env=full_env, timeout=60)
    assert p.returncode == status, (args, p.returncode, p.stderr.decode())
    return p


@pytest.fixture
def state(tmp_path):
    root = tmp_path / "server"
    srv = Server(root, clock=FakeClock(T0))
    srv.create_volume("u.jan")
    with srv.edit("u.jan") as ed:
        ed.mkdir("/docs")
        ed.write("/docs/a.txt", "alpha\n")
        ed.symlink("/a", "docs/a.txt")
    return root


def rw_id(state) -> int:
    return Server(state).volume("u.jan").id


def test_backup_cycle_output_formats(state):
    rw = rw_id(state)
    out = volutil(state, "-h", "localhost", "lock", f"{rw:x}").stdout.decode()
    assert re.fullmatch(rf"Locked volume {rw:08x} had a VVV of \(\d+,0,0,0,0,0,0,0\)\n", out)
    out = volutil(state, "backup", f"{rw:08x}").stdout.decode()
    m = re.fullmatch(rf"Backup \(id = ([0-9a-f]{{8}})\) of Volume {rw:08x} created\n", out)
    assert m
    bid = m.group(1)
    est = volutil(state, "dumpestimate", bid)
    sizes = re.fullmatch(r"Level0> ((?:\d+ ){10})<Level9\n", est.stdout.decode())
    assert sizes and len(set(sizes.group(1).split())) == 1
    d = volutil(state, "dump", "0x" + bid)
    assert re.fullmatch(rf"{BIND}\.\nVolDump completed, {len(d.stdout)} bytes dumped\n", d.stderr.decode())
    parsed = parse_dump(io.BytesIO(d.stdout))
    assert parsed.level == 0 and parsed.volume_id == int(bid, 16)
    assert volutil(state, "ancient", bid).stdout == b""

    with Server(state, clock=FakeClock(T0 + 60)).edit("u.jan") as ed:
        ed.remove("/a")
    volutil(state, "lock", f"{rw:x}")
    volutil(state, "backup", f"{rw:x}")
    inc = volutil(state, "dump", "-i", "2", bid)
    assert re.fullmatch(rf"{BIND}\.\nIncremental VolDump completed, {len(inc.stdout)} bytes dumped\n", inc.stderr.decode())
    p = parse_dump(io.BytesIO(inc.stdout))
    assert p.level == 2 and p.oldest == parsed.latest
    assert [type(r).__name__ for r in p.small] == ["Removed"]


def test_incremental_without_ancient_falls_back_silently(state):
    rw = rw_id(state)
    volutil(state, "lock", f"{rw:x}")
    bid = re.search(r"id = (\w+)", volutil(state, "backup", f"{rw:x}").stdout.decode()).group(1)
    d = volutil(state, "dump", "-i", "1", bid)
    assert "Incremental" not in d.stderr.decode()
    assert parse_dump(io.BytesIO(d.stdout)).level == 0


def test_dump_to_a_file_and_the_dash_i_misparse(state, tmp_path):
    rw = rw_id(state)
    volutil(state, "lock", f"{rw:x}")
    bid = re.search(r"id = (\w+)", volutil(state, "backup", f"{rw:x}").stdout.decode()).group(1)
    target = tmp_path / "friday-0"
    d = volutil(state, "dump", bid, target)
    assert d.stdout == b"" and target.stat().st_size > 0
    # `dump -i VOLID FILE` takes VOLID as the level and FILE as the volume id (ref §16)
    bad = volutil(state, "dump", "-i", bid, tmp_path / "x", status=1)
    assert "Dump: Bad Volumeid" in bad.stderr.decode()


def test_dump_of_rw_or_unknown_volume_fails(state):
    rw = rw_id(state)
    assert "VolDump failed with VFAIL" in volutil(state, "dump", f"{rw:x}", status=1).stderr.decode()
    assert ("VolDump failed with Unknown RPC2 return code 603"
            in volutil(state, "dump", "7777777", status=1).stderr.decode())


def test_lock_twice_and_ancient_without_dump(state):
    rw = rw_id(state)
    volutil(state, "lock", f"{rw:x}")
    assert "VolLock failed with EWOULDBLOCK" in volutil(state, "lock", f"{rw:x}", status=1).stderr.decode()
    assert volutil(state, "unlock", f"{rw:x}").stdout.decode() == f"Volume {rw:08x} is unlocked.\n"
    assert "VolMarkAsAncient failed" in volutil(state, "ancient", f"{rw:x}", status=1).stderr.decode()


def _dump_of_backup(state) -> tuple[str, bytes]:
    rw = rw_id(state)
    volutil(state, "lock", f"{rw:x}")
    bid = re.search(r"id = (\w+)", volutil(state, "backup", f"{rw:x}").stdout.decode()).group(1)
    return bid, volutil(state, "dump", bid).stdout


def test_restore_from_a_file_info_and_purge(state, tmp_path):
    bid, dump = _dump_of_backup(state)
    staged = tmp_path / "staged.dump"
    staged.write_bytes(dump)
    r = volutil(state, "restore", "-f", staged, "/vicepa/")
    m = re.fullmatch(r"\nVolRestore successful, created ([0-9a-f]{8})\n", r.stdout.decode())
    assert m
    # a restored volume is not in the VLDB: found by its id only (ref §23 row 8)
    assert volutil(state, "info", "u.jan.restored", status=1).stderr.decode().endswith(
        "VolInfo failed with Unknown RPC2 return code 22\n")
    info = volutil(state, "info", m.group(1)).stdout.decode()
    assert "/docs/a.txt\tfile 0644 6 bytes\n" in info and "/a\tsymlink 0777 -> docs/a.txt\n" in info
    assert re.search(rf"^id = {m.group(1)}, parentId = {rw_id(state):08x}, ", info, re.M)
    assert "Large vnodes (directories)" in volutil(state, "info", "-all", m.group(1)).stdout.decode()
    r2 = volutil(state, "restore", "-f", "-", "/vicepa", "u.jan.friday", "1000777", status=1)
    assert "RestoreFile" in r2.stderr.decode()  # -f - names a file called "-"
    staged.write_bytes(dump[:-1] + bytes([dump[-1] ^ 1]))
    bad = volutil(state, "restore", "-f", staged, "/vicepa", status=1)
    assert re.fullmatch(rf"{BIND}\nVolRestore failed with Unknown RPC2 return code 700\n", bad.stderr.decode())
    assert "wrong end magic" in (state / "SrvLog").read_text()  # the reason is in the server's log
    taken = volutil(state, "restore", "-f", staged, "/vicepa", "x", m.group(1), status=1)
    assert re.fullmatch(rf"{BIND}\nVolRestore failed with Unknown RPC2 return code 604\n", taken.stderr.decode())
    out = volutil(state, "purge", m.group(1), "u.jan.restored").stdout.decode()
    assert out == f"Volume {m.group(1)} (u.jan.restored) successfully purged\n"
    volutil(state, "info", "u.jan.restored", status=1)


def test_restore_without_a_file_asserts_and_sleeps_forever(state):
    # §23 row 1: the dump on fd 0 is never read; the client never ends
    _, dump = _dump_of_backup(state)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CODASIM_")}
    p = subprocess.Popen([str(VOLUTIL), "restore", "/vicepa", "u.jan.stdin"], stdin=subprocess.PIPE,
                         stderr=subprocess.PIPE, env={**env, "CODASIM_STATE": str(state)})
    p.stdin.write(dump)
    p.stdin.close()
    with pytest.raises(subprocess.TimeoutExpired):
        p.wait(timeout=3)
    p.kill()
    p.wait()
    err = p.stderr.read()
    assert re.match(rf"{BIND}Assertion failed: rockinfo->fd != 0", err.decode())
    assert "Sleeping forever" in err.decode()
    assert not [v for v in Server(state).volumes() if v.name == "u.jan.stdin"]


def _volume_named(state, name):
    return next(v for v in Server(state).volumes() if v.name == name)


def test_a_pipe_whose_writer_pauses_restores_the_previous_restores_data(state, tmp_path):
    # §23 row 2: the server reads on past the short read into its buffer,
    # which still holds the previous restore: success, stale contents
    _, old = _dump_of_backup(state)
    with Server(state).edit("u.jan") as ed:
        ed.write("/docs/a.txt", "omega\n")  # same size: the dump keeps its layout
    _, new = _dump_of_backup(state)
    assert len(new) == len(old) and new != old
    staged = tmp_path / "old.dump"
    staged.write_bytes(old)
    volutil(state, "restore", "-f", staged, "/vicepa", "u.jan.first")
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CODASIM_")}
    reader = subprocess.Popen([str(VOLUTIL), "restore", "-f", str(fifo), "/vicepa", "u.jan.paused"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              env={**env, "CODASIM_STATE": str(state)})
    with open(fifo, "wb") as w:
        w.write(new[:100])
        w.flush()
        time.sleep(4)  # the writer pauses: the server has read what was there (it starts in < 4 s)
        try:
            w.write(new[100:])
        except BrokenPipeError:
            pass
    out, err = reader.communicate(timeout=60)
    assert reader.returncode == 0, err.decode()
    assert b"VolRestore successful" in out
    paused = Server(state).state(_volume_named(state, "u.jan.paused").id)
    assert paused["/docs/a.txt"].data == b"alpha\n"  # the previous restore's data
    # the same bytes from a regular file restore what was sent
    staged.write_bytes(new)
    volutil(state, "restore", "-f", staged, "/vicepa", "u.jan.second")
    assert Server(state).state(_volume_named(state, "u.jan.second").id)["/docs/a.txt"].data == b"omega\n"


def test_a_dump_above_the_transfer_buffer_fails_on_the_server(state, tmp_path):
    # §23 row 3, with the limit set (off by default)
    _, dump = _dump_of_backup(state)
    staged = tmp_path / "d"
    staged.write_bytes(dump)
    r = volutil(state, "restore", "-f", staged, "/vicepa", "u.jan.big", status=1,
                env={"CODASIM_RESTORE_LIMIT": str(len(dump) - 1)})
    assert re.fullmatch(rf"{BIND}ReadDump: Error RPC2_SEFAIL2 \(F\) in CheckSideEffect\n"
                        r"VolRestore failed with Unknown RPC2 return code 700\n", r.stderr.decode())
    volutil(state, "restore", "-f", staged, "/vicepa", "u.jan.fits", env={"CODASIM_RESTORE_LIMIT": str(len(dump))})
    Server(state).set_restore_limit(len(dump) - 1)  # the same, kept in the server's state
    volutil(state, "restore", "-f", staged, "/vicepa", "u.jan.big", status=1)


def test_pdbtool_looks_names_up_in_the_servers_protection_db(state):
    env = {k: v for k, v in os.environ.items() if not k.startswith("CODASIM_")}
    env["CODASIM_STATE"] = str(state)

    def lookup(name):
        return subprocess.run([str(PDBTOOL), "n", name], capture_output=True, env=env, check=True).stdout.decode()

    assert lookup("System:AnyUser") == "System:AnyUser's id is -101\n"
    assert lookup("jan") == "jan's id is 0\n"
    Server(state).set_pdb({**Server(state).pdb(), "jan": 1001})
    assert lookup("jan") == "jan's id is 1001\n"


def test_state_dir_option_and_missing_state(state, tmp_path):
    rw = rw_id(state)
    p = subprocess.run([str(VOLUTIL), "-S", str(state), "lock", f"{rw:x}"], capture_output=True,
                       env={k: v for k, v in os.environ.items() if k != "CODASIM_STATE"})
    assert p.returncode == 0, p.stderr
    p = subprocess.run([str(VOLUTIL), "lock", f"{rw:x}"], capture_output=True,
                       env={k: v for k, v in os.environ.items() if k != "CODASIM_STATE"})
    assert p.returncode == 1 and b"CODASIM_STATE" in p.stderr


def test_clock_from_environment(state):
    rw = rw_id(state)
    volutil(state, "lock", f"{rw:x}")
    bid = re.search(r"id = (\w+)", volutil(state, "backup", f"{rw:x}", env={"CODASIM_NOW": "1712345678"}).stdout.decode()).group(1)
    assert parse_dump(io.BytesIO(volutil(state, "dump", bid).stdout)).backup_date == 1712345678


@pytest.mark.skipif(shutil.which("faketime") is None, reason="faketime not installed")
def test_clock_follows_libfaketime(state):
    rw = rw_id(state)
    volutil(state, "lock", f"{rw:x}")
    env = dict(os.environ, CODASIM_STATE=str(state), TZ="UTC")
    p = subprocess.run(["faketime", "2024-04-05 06:07:08", str(VOLUTIL), "backup", f"{rw:x}"],
                       capture_output=True, env=env, timeout=60)
    assert p.returncode == 0, p.stderr
    bid = re.search(rb"id = (\w+)", p.stdout).group(1).decode()
    backup_date = parse_dump(io.BytesIO(volutil(state, "dump", bid).stdout)).backup_date
    assert abs(backup_date - 1712297228) < 5
    # a refreshed clone keeps its first time; only the RW's backupDate moves (ref §23 row 5)
    volutil(state, "lock", f"{rw:x}")
    p = subprocess.run(["faketime", "2024-04-06 06:07:08", str(VOLUTIL), "backup", f"{rw:x}"],
                       capture_output=True, env=env, timeout=60)
    assert re.search(rb"id = (\w+)", p.stdout).group(1).decode() == bid  # the same clone
    assert parse_dump(io.BytesIO(volutil(state, "dump", bid).stdout)).backup_date == backup_date
    assert abs(Server(state).volume(rw).backup_date - (1712297228 + 86400)) < 5


def test_told_to_fail(state):
    rw = rw_id(state)
    p = volutil(state, "lock", f"{rw:x}", status=1, env={"CODASIM_FAIL": "lock,dump"})
    assert b"told to fail" in p.stderr


def test_create_rep_and_create(tmp_path):
    state = tmp_path / "fresh"
    out = volutil(state, "create_rep", "/vicepa/", "u.kim", "7f000042", "1000100").stdout.decode()
    assert out == "Volume 01000100 (u.kim) created \n"
    vol = Server(state).volume("u.kim")
    assert (vol.group_id, vol.partition) == (0x7F000042, "/vicepa")
    assert "VolCreate failed" in volutil(state, "create", "/nowhere", "u.x", status=1).stderr.decode()


def test_non_replicated_volume_uses_update_date_and_replica_list(tmp_path):
    state = tmp_path / "nonrep"
    volutil(state, "create", "/vicepb", "u.solo", env={"CODASIM_NOW": str(T0)})
    vol = Server(state).volume("u.solo")
    with Server(state, clock=FakeClock(T0 + 10)).edit("u.solo") as ed:
        ed.write("/f", "x")
    volutil(state, "lock", f"{vol.id:x}")
    bid = re.search(r"id = (\w+)", volutil(state, "backup", f"{vol.id:x}").stdout.decode()).group(1)
    d = parse_dump(io.BytesIO(volutil(state, "dump", bid).stdout))
    assert d.latest == d.oldest == T0 + 10  # updateDate of the clone
    assert (state / "backup" / f"{vol.id:x}.newlist").exists()


@pytest.mark.skipif(not os.path.exists("/usr/bin/python3"), reason="no system python3")
def test_runs_with_a_minimal_environment(state, tmp_path):
    """Amanda starts applications with a bare environment: no PYTHONPATH, a short PATH."""
    rw = rw_id(state)
    p = subprocess.run([str(VOLUTIL), "lock", f"{rw:x}"], capture_output=True, cwd=tmp_path,
                       env={"PATH": "/usr/bin:/bin", "CODASIM_STATE": str(state)}, timeout=60)
    assert p.returncode == 0, p.stderr


def test_a_dump_whose_reader_quits_early_succeeds_and_writes_the_newlist(state):
    """ref §23 row 13: the server counts what it made, not what arrived."""
    rw = rw_id(state)
    with Server(state, clock=FakeClock(T0 + 5)).edit("u.jan") as ed:
        ed.write("/big", os.urandom(1 << 20))
    volutil(state, "lock", f"{rw:x}")
    bid = re.search(r"id = (\w+)", volutil(state, "backup", f"{rw:x}").stdout.decode()).group(1)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CODASIM_")}
    env["CODASIM_STATE"] = str(state)
    p = subprocess.Popen([str(VOLUTIL), "dump", bid], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    p.stdout.read(100)
    p.stdout.close()
    err = p.stderr.read().decode()
    assert p.wait(timeout=60) == 0, err
    nbytes = int(re.search(r"VolDump completed, (\d+) bytes dumped", err).group(1))
    assert nbytes > 1 << 20 and "Traceback" not in err and "Exception" not in err
    assert len(list((state / "backup").glob("*.newlist"))) == 1


def test_every_call_starts_stderr_with_the_binding_line(state):
    """ref §23 row 10, success or not."""
    rw = rw_id(state)
    host = __import__("socket").gethostname()
    for args, status in ((["lock", f"{rw:x}"], 0), (["-h", "localhost", "unlock", f"{rw:x}"], 0),
                         (["info", "7777777"], 1), (["ancient", f"{rw:x}"], 1)):
        err = volutil(state, *args, status=status).stderr.decode()
        expected = "localhost" if "-h" in args else host
        assert err.startswith(f"V_BindToServer: binding to host {expected}\n"), (args, err)


def test_info_takes_names_only_from_the_vldb_and_any_hex_id(state):
    """ref §23 rows 8, 9: EINVAL (22) for a name the VLDB lacks, 603 for a missing id."""
    srv = Server(state, clock=FakeClock(T0))
    rw = rw_id(state)
    assert volutil(state, "info", "u.jan").stdout.decode().startswith(f"Volume header for volume {rw:08x} ")
    srv.create_volume("u.bare", in_vldb=False)  # volutil create_rep without bldvldb
    bare = srv.volume("u.bare").id
    err = volutil(state, "info", "u.bare", status=1).stderr.decode()
    assert err.splitlines()[-1] == "VolInfo failed with Unknown RPC2 return code 22"
    volutil(state, "info", f"{bare:08x}")
    volutil(state, "lock", f"{rw:x}")
    bid = re.search(r"id = (\w+)", volutil(state, "backup", f"{rw:x}").stdout.decode()).group(1)
    volutil(state, "info", "u.jan.backup", status=1)  # a clone: by id only
    volutil(state, "info", bid)
    srv.bldvldb()
    volutil(state, "info", "u.bare")
    volutil(state, "info", "u.jan.backup")
    err = volutil(state, "info", "7777777", status=1).stderr.decode()
    assert err.splitlines()[-1] == "VolInfo failed with Unknown RPC2 return code 603"


def test_a_purged_clone_makes_info_of_the_backup_id_fail_with_603(state):
    rw = rw_id(state)
    volutil(state, "lock", f"{rw:x}")
    bid = re.search(r"id = (\w+)", volutil(state, "backup", f"{rw:x}").stdout.decode()).group(1)
    volutil(state, "purge", bid, "u.jan.backup")
    info = volutil(state, "info", f"{rw:x}").stdout.decode()
    assert f"backupId = {bid}," in info  # the RW still names it
    err = volutil(state, "info", bid, status=1).stderr.decode()
    assert err.splitlines()[-1] == "VolInfo failed with Unknown RPC2 return code 603"
    volutil(state, "lock", f"{rw:x}")
    new = re.search(r"id = (\w+)", volutil(state, "backup", f"{rw:x}").stdout.decode()).group(1)
    assert new != bid
    volutil(state, "info", new)


def test_dumpestimate_with_an_ancient_list_kills_the_server(state):
    """ref §23 row 4: the first estimate after a recorded dump takes the server
    down; every later call fails as with a dead server."""
    rw = rw_id(state)
    volutil(state, "lock", f"{rw:x}")
    bid = re.search(r"id = (\w+)", volutil(state, "backup", f"{rw:x}").stdout.decode()).group(1)
    volutil(state, "dumpestimate", bid)  # no .ancient yet: answered
    volutil(state, "dump", bid)
    volutil(state, "ancient", bid)
    err = volutil(state, "dumpestimate", bid, status=1).stderr.decode()
    assert err.splitlines()[-1] == "VolDumpEstimate failed with RPC2_DEAD (F)"
    for args in (["info", f"{rw:x}"], ["lock", f"{rw:x}"], ["dump", bid]):
        err = volutil(state, *args, status=1).stderr.decode()
        assert "failed with RPC2_DEAD (F)" in err, (args, err)
    Server(state).restart()
    volutil(state, "info", f"{rw:x}")


def test_without_the_servers_secret_volutil_gets_no_token(state, tmp_path):
    """volclient.cc: no readable volutil.tk (and no Coda token): exit 1."""
    rw = rw_id(state)
    token = state / "volutil.tk"
    assert token.exists() and (token.stat().st_mode & 0o777) == 0o600
    nobody = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                             str(VOLUTIL), "info", f"{rw:x}"], capture_output=True,
                            env={"PATH": "/usr/bin:/bin", "CODASIM_STATE": str(state)}, timeout=60)
    assert nobody.returncode == 1, nobody
    assert nobody.stdout == b"Couldn't get a token to authenticate with the server\n"
    assert nobody.stderr.decode().startswith("V_BindToServer: binding to host ")


def test_parallel_calls_share_the_server(state):
    """Amanda runs several dumpers at once: concurrent volutil calls stay consistent."""
    srv = Server(state, clock=FakeClock(T0))
    srv.create_volume("p.proj")
    with srv.edit("p.proj") as ed:
        ed.write("/plan", "x" * 100_000)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CODASIM_")}
    env["CODASIM_STATE"] = str(state)
    clones = []
    for name in ("u.jan", "p.proj"):
        vid = srv.volume(name).id
        srv.lock(vid)
        clones.append(srv.backup(vid))
    procs = [subprocess.Popen([str(VOLUTIL), "dump", f"{bid:x}"], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, env=env) for bid in clones * 3]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0] * 6
    for bid, (out, _err) in zip(clones * 3, outs):
        assert parse_dump(io.BytesIO(out)).volume_id == bid
    assert len(list((state / "backup").glob("*.newlist"))) == 2


def test_getvolumelist_lists_every_volume_as_vlistvolumes_writes_it(state, tmp_path):
    bid, dump = _dump_of_backup(state)
    staged = tmp_path / "d"
    staged.write_bytes(dump)
    created = re.search(r"created (\w+)", volutil(state, "restore", "-f", staged, "/vicepb", "u.jan.r").stdout.decode())
    r = volutil(state, "getvolumelist")
    assert re.fullmatch(rf"{BIND}GetVolumeList finished successfully\n", r.stderr.decode())
    lines = r.stdout.decode().splitlines()
    assert lines[0].startswith("P/vicepa H") and lines[1].startswith("P/vicepb H")
    rw = rw_id(state)
    assert re.fullmatch(rf"Wu\.jan I{rw:x} H1 P/vicepa m0 M0 U[0-9a-f]+ W{rw:x} C[0-9a-f]+ D[0-9a-f]+ "
                        r"B[0-9a-f]+ A0", lines[2])
    assert lines[3].startswith(f"Bu.jan.backup I{int(bid, 16):x} H1 P/vicepa ")
    assert lines[4].startswith(f"Bu.jan.r I{int(created.group(1), 16):x} H1 P/vicepb ")


def test_a_dump_told_to_die_mid_stream(state):
    rw = rw_id(state)
    volutil(state, "lock", f"{rw:x}")
    bid = re.search(r"id = (\w+)", volutil(state, "backup", f"{rw:x}").stdout.decode()).group(1)
    p = volutil(state, "dump", bid, status=1, env={"CODASIM_DIE_AFTER": "u.jan.backup:700"})
    assert len(p.stdout) == 700 and "VolDump failed with RPC2_DEAD (F)" in p.stderr.decode()
    assert "Traceback" not in p.stderr.decode()
    assert not list((state / "backup").glob("*.newlist"))
    volutil(state, "dump", bid, env={"CODASIM_DIE_AFTER": "p.other.backup:700"})  # another volume


def test_info_prints_ids_and_dates_as_vol_info_does(state):
    """ref §23 row 12: ids %08x, dates (YYYY/MM/DD.hh:mm:ss) in local time, no Unix seconds."""
    rw = rw_id(state)
    info = volutil(state, "info", f"{rw:x}", env={"TZ": "UTC"}).stdout.decode()
    assert info.startswith(f"Volume header for volume {rw:08x} (u.jan)\n")
    assert re.search(r"^creationDate = \(2023/11/14\.22:13:20\), copyDate = \(2023/11/14\.22:13:20\)$", info, re.M), info
