"""amcoda's pure parts: Amanda's argument conventions, properties, and the
parsers for what volutil prints (literal text in the formats of volclient.cc
and vol-info.cc); and the dump stream on a scripted volutil."""

import io
import time

import pytest

from coda_restore.voldump.stream import Tee
from coda_restore import amcoda
from coda_restore.amcoda import backup, request
from coda_restore.amcoda.backup import scan_dump
from coda_restore.amcoda.clone import Clone
from coda_restore.amcoda.request import Command, parse_age, parse_args, settings
from coda_restore.voldump import dirpage
from coda_restore.voldump.records import (DataKind, DumpHeader, IndexHeader, Vnode, VnodeClass,
                                          VolumeDiskData)
from coda_restore.voldump.writer import DumpWriter
from coda_restore.errors import UsageError, VolutilOutputError
from coda_restore import volutil as volutil_mod
from coda_restore.volutil import (AncientStyle, Volutil, VolumeInfo, bytes_dumped, parse_backup,
                                  parse_estimate, parse_info)

# volutil info for a replica, as vol-info.cc's PrintHeader writes it.
RW_INFO = """\
Volume header for volume 1000001 (u.jan.0)
stamp.magic = 78a1b2c4, stamp.version = 1
partition = (/vicepa)
inUse = 1, inService = 1, blessed = 1, needsSalvaged = 0, dontSalvage = 0
type = 0 (read/write), uniquifier = 1029, needsCallback = 0, destroyMe = 0
id = 01000001, parentId = 01000001, cloneId = 00000000, backupId = 01000005, restoredFromId = 00000000
maxquota = 0, minquota = 0, maxfiles = 0, filecount = 12, diskused = 40
creationDate = (2026/01/05.10:00:00), copyDate = (2026/01/05.10:00:00)
backupDate = (2026/01/06.01:00:00), expirationDate = (1970/01/01.00:00:00)
accessDate = (2026/01/06.01:00:00), updateDate = (2026/01/06.00:30:00)
owner = 0, accountNumber = 0
dayUse = 0; week = (0, 0, 0, 0, 0, 0, 0), dayUseDate = (1970/01/01.00:00:00)
replicated groupId = 7f000003
"""


def test_parse_info_reads_ids_type_and_dates_in_local_time():
    info = parse_info(RW_INFO)
    assert info == VolumeInfo(
        id=0x1000001, name="u.jan.0", type=0, parent_id=0x1000001, backup_id=0x1000005,
        group_id=0x7F000003,
        copy_date=time.mktime((2026, 1, 5, 10, 0, 0, 0, 0, -1)),
        backup_date=time.mktime((2026, 1, 6, 1, 0, 0, 0, 0, -1)), file_count=12, disk_used=40)


def test_parse_info_without_group_or_dates():
    text = RW_INFO.replace("replicated groupId = 7f000003\n", "").replace(
        "backupDate = (2026/01/06.01:00:00)", "backupDate = (1970/01/01.00:00:00)")
    info = parse_info(text)
    assert (info.group_id, info.backup_date) == (0, 0.0)


def test_parse_info_rejects_other_text():
    with pytest.raises(VolutilOutputError, match="volutil info printed something unexpected"):
        parse_info("VolInfo failed with RPC2_NOBINDING\n")


def test_parse_estimate_backup_and_byte_count():
    assert parse_estimate("Level0> 9000 800 700 600 500 400 300 200 100 76 <Level9\n") == (
        9000, 800, 700, 600, 500, 400, 300, 200, 100, 76)
    with pytest.raises(VolutilOutputError):
        parse_estimate("Level0> 1 2 3 <Level9\n")
    assert parse_backup("Backup (id = 01000005) of Volume 01000001 created\n") == 0x1000005
    assert bytes_dumped("....\nIncremental VolDump completed, 7630 bytes dumped\n") == 7630
    assert bytes_dumped("") is None


def test_volutil_argv_shapes():
    vu = Volutil(program="/opt/coda/sbin/volutil", server="coda 1")
    assert vu.dump_argv(0x1000005, 0) == ["/opt/coda/sbin/volutil", "-h", "coda 1", "dump",
                                          "01000005"]
    # "-i LEVEL VOLID" with no file: "-i VOLID FILE" would misparse (ref §16)
    assert vu.dump_argv(0x1000005, 2)[3:] == ["dump", "-i", "2", "01000005"]
    rw, clone = parse_info(RW_INFO), parse_info(RW_INFO.replace("1000001 (u.jan.0)",
                                                               "1000005 (u.jan.0.backup)"))
    assert vu.ancient_argv(AncientStyle.BACKUP_ID, clone, rw)[3:] == ["ancient", "01000005"]
    assert vu.ancient_argv(AncientStyle.GROUP_REPLICA, clone, rw)[3:] == [
        "ancient", "7f000003", "01000001"]
    assert Volutil().restore_argv("/vicepa", "u.jan.restored") == [
        "volutil", "restore", "/vicepa", "u.jan.restored"]


def test_parse_args_as_sendbackup_spells_them():
    req = parse_args(["backup", "--message", "line", "--config", "lab", "--host", "h 1",
                      "--disk", "/coda/u.jan", "--device", "u.jan.0", "--level", "3",
                      "--index", "line", "--record", "--VOLUTIL", "/x/volutil",
                      "--clone_max_age", "90m", "--server=coda"])
    assert req.command is Command.BACKUP
    assert (req.config, req.host, req.disk, req.device) == ("lab", "h 1", "/coda/u.jan", "u.jan.0")
    assert req.levels == (3,) and req.index_line and req.record
    s = settings(req)
    assert s.volutil == Volutil(program="/x/volutil", server="coda",
                                timeout=request.DEFAULT_VOLUTIL_TIMEOUT)
    assert s.volume == "u.jan.0" and s.clone_max_age == 5400


def test_parse_args_multi_estimate_and_command_spelling():
    req = parse_args(["ESTIMATE", "--disk", "/coda/u.jan/", "--level", "0", "--level", "1"])
    assert req.command is Command.ESTIMATE and req.levels == (0, 1) and not req.record
    assert settings(req).volume == "u.jan"
    assert settings(req).clone_max_age == request.DEFAULT_CLONE_MAX_AGE


def test_parse_args_restore_keeps_file_arguments():
    req = parse_args(["restore", "--config", "lab", "--disk", "u.jan", "--level", "0",
                      "--partition", "/vicepb", "."])
    assert req.files == (".",) and settings(req).partition == "/vicepb"


@pytest.mark.parametrize("argv, message", [
    ([], "no command"),
    (["frobnicate"], "unknown command"),
    (["backup", "--level", "10"], "bad level"),
    (["backup", "--level"], "needs a value"),
])
def test_parse_args_refuses(argv, message):
    with pytest.raises(UsageError, match=message):
        parse_args(argv)


def test_properties_are_checked():
    with pytest.raises(UsageError, match="CLONE-MAX-AGE"):
        settings(parse_args(["estimate", "--disk", "v", "--clone-max-age", "soon"]))
    with pytest.raises(UsageError, match="ANCIENT-ID"):
        settings(parse_args(["estimate", "--disk", "v", "--ancient-id", "both"]))
    s = settings(parse_args(["estimate", "--disk", "v", "--ancient-id", "GROUP_REPLICA"]))
    assert s.ancient is AncientStyle.GROUP_REPLICA
    assert [parse_age(t) for t in ("4h", "30 m", "2d", "10")] == [14400, 1800, 172800, 10]


def test_support_lists_the_capabilities_amanda_needs(capsys):
    assert amcoda.main(["support"]) == 0
    lines = dict(line.split(" ", 1) for line in capsys.readouterr().out.splitlines())
    assert lines["MAX-LEVEL"] == "9" and lines["RECORD"] == "YES"
    assert lines["INDEX-LINE"] == "YES" and lines["MULTI-ESTIMATE"] == "YES"
    assert lines["CLIENT-ESTIMATE"] == "YES"


def _dump(level: int = 0) -> bytes:
    """A small dump: / holds docs/ (with a.txt) and b.txt; b.txt is a file of
    the dump, docs/a.txt too."""
    out = io.BytesIO()
    w = DumpWriter(out)
    w.header(DumpHeader(volume_id=0x1000005, parent_id=0x1000001, name=b"u.jan.0.backup\0",
                        level=level, oldest=5, latest=9))
    w.volume(VolumeDiskData(id=0x1000005, name=b"u.jan.0.backup\0", partition=b"/vicepa\0"))
    root = b"".join(dirpage.encode((1, 1), (1, 1), [(b"docs", (3, 2)), (b"b.txt", (2, 3))]))
    docs = b"".join(dirpage.encode((3, 2), (1, 1), [(b"a.txt", (4, 4))]))
    w.index(IndexHeader(VnodeClass.LARGE, 2, 128))
    for (vnum, uniq), pages in (((1, 1), root), ((3, 2), docs)):
        w.vnode(Vnode(vnum, uniq, type=2, data=DataKind.DIRPAGES, size=len(pages) // 2048,
                      pages=pages, acl=b"0\n0\n\0"))
    w.index(IndexHeader(VnodeClass.SMALL, 2, 256))
    w.vnode(Vnode(2, 3, size=5), b"hello")
    w.vnode(Vnode(4, 4, size=3), b"abc")
    w.end()
    return out.getvalue()


def test_scan_dump_reads_level_and_index_paths_from_the_directory_pages():
    seen = scan_dump(io.BytesIO(_dump(3)))
    assert seen.problem is None and seen.header.level == 3
    assert seen.index == (b"/", b"/b.txt", b"/docs/", b"/docs/a.txt")


def test_tee_copies_every_byte_while_the_reader_parses(tmp_path):
    data = _dump()
    out = tmp_path / "out"
    with open(out, "wb") as f:
        tee = Tee(io.BufferedReader(io.BytesIO(data)), f.write)
        assert scan_dump(tee).problem is None
        while tee.read(request.CHUNK):
            pass
    assert out.read_bytes() == data and tee.size == len(data)


@pytest.mark.parametrize("cut", [1, 40, 300])
def test_scan_dump_names_a_truncated_stream(cut):
    seen = scan_dump(io.BytesIO(_dump()[:-cut]), "u.jan.1")
    assert seen.problem and "u.jan.1" in seen.problem and "offset" in seen.problem


def test_volutil_property_is_a_command_prefix_never_a_shell_string():
    req = parse_args(["backup", "--disk", "v", "--volutil", "sudo", "--volutil", "-n",
                      "--volutil", "/usr/sbin/volutil", "--server", "coda 1"])
    vu = settings(req).volutil
    assert vu == Volutil(program="/usr/sbin/volutil", prefix=("sudo", "-n"), server="coda 1",
                         timeout=request.DEFAULT_VOLUTIL_TIMEOUT)
    assert vu.dump_argv(0x1000005, 1) == ["sudo", "-n", "/usr/sbin/volutil", "-h", "coda 1", "dump",
                                          "-i", "1", "01000005"]


def test_estimate_property():
    assert settings(parse_args(["estimate", "--disk", "v"])).estimate is request.Estimate.COUNT
    s = settings(parse_args(["estimate", "--disk", "v", "--estimate", "DumpEstimate"]))
    assert s.estimate is request.Estimate.DUMPESTIMATE
    with pytest.raises(UsageError, match="ESTIMATE"):
        settings(parse_args(["estimate", "--disk", "v", "--estimate", "server"]))


# What a real volutil prints when it fails (ref §23 rows 8-11; volclient.cc; sudo -n).
BIND = "V_BindToServer: binding to host coda1\n"


def test_one_line_drops_the_binding_line_and_joins_the_rest():
    assert volutil_mod.one_line(BIND + "VolInfo failed with Unknown RPC2 return code 603\n") == (
        "VolInfo failed with Unknown RPC2 return code 603")
    assert volutil_mod.one_line(BIND + "\nVolDump failed with RPC2_DEAD (F)\n", "more\n") == (
        "VolDump failed with RPC2_DEAD (F); more")
    assert volutil_mod.one_line(BIND) == BIND.strip()  # nothing else said: keep what there is


@pytest.mark.parametrize("said, kind", [
    ("VolInfo failed with Unknown RPC2 return code 603", "no_such_volume"),
    ("VolInfo failed with Unknown RPC2 return code 22", "not_in_vldb"),
    ("Couldn't get a token to authenticate with the server", "refused"),
    ("sudo: a password is required", "refused"),
    ("sudo: a terminal is required to read the password", "refused"),
    ("VolLock failed with RPC2_DEAD (F)", "server_gone"),
    ("VolInfo failed with RPC2_NOBINDING (F)", "server_gone"),
])
def test_failures_are_told_apart(said, kind):
    exc = volutil_mod.CommandFailed(["volutil", "info", "x"], 1, said)
    kinds = [k for k in ("no_such_volume", "not_in_vldb", "refused", "server_gone")
             if getattr(volutil_mod, k)(exc)]
    assert kinds == [kind]


def test_volutil_timeout_has_a_default_and_refuses_nonsense():
    """issue 13 items 7 and 9: no traceback for 'abc', no negative limit,
    and a hung volutil never hangs selfcheck or estimate."""
    def timeout(*more, command="estimate"):
        return settings(parse_args([command, "--disk", "v", *more])).volutil.timeout
    assert timeout() == request.DEFAULT_VOLUTIL_TIMEOUT
    assert timeout("--volutil-timeout", "90") == 90 and timeout("--volutil-timeout", "2m") == 120
    assert timeout(command="selfcheck") == request.SELFCHECK_TIMEOUT
    assert timeout("--volutil-timeout", "5", command="selfcheck") == 5
    for bad in ("abc", "-5", "0"):
        with pytest.raises(UsageError, match="VOLUTIL-TIMEOUT"):
            timeout("--volutil-timeout", bad)


def test_selfcheck_and_estimate_say_a_bad_timeout_in_one_line(capsys):
    assert amcoda.main(["selfcheck", "--disk", "v", "--volutil-timeout", "abc"]) == 1
    out = capsys.readouterr()
    assert out.out == "ERROR amcoda: bad VOLUTIL-TIMEOUT 'abc': want e.g. 4h, 90m, 3600\n"
    assert amcoda.main(["estimate", "--disk", "v", "--volutil-timeout", "-5"]) == 1
    assert capsys.readouterr().err.startswith("ERROR amcoda: bad VOLUTIL-TIMEOUT '-5'")


def _held_back(tmp_path, sizes):
    """Write chunks of the given sizes through a HeldBack into a file; what
    reached the file before release, and the writer."""
    path = tmp_path / "fd1"
    with open(path, "wb") as f:
        out = backup.HeldBack(f.fileno())
        data = b"".join(bytes([i % 251]) * n for i, n in enumerate(sizes))
        for i, n in enumerate(sizes):
            out.write(memoryview(bytes([i % 251]) * n))
        f.flush()
        before = path.read_bytes()
        out.release()
    return before, path.read_bytes(), data


def test_a_short_dump_reaches_amanda_only_once_proven_good(tmp_path):
    """issue 13 item 2: a failure told right after the first bytes deadlocked
    Amanda 3.5; a dump under START_BYTES is held whole, so a bad one is
    dropped before a byte is sent."""
    before, after, data = _held_back(tmp_path, [20_000] * 50)  # 1 MB
    assert before == b""
    assert after == data


def test_a_long_dump_sends_all_but_the_held_tail_and_at_least_a_mib_before_it_can_fail(tmp_path):
    before, after, data = _held_back(tmp_path, [64 * 1024] * 80)  # 5 MiB
    assert after == data
    assert data.startswith(before)
    held = len(data) - len(before)
    assert backup.HOLD_BYTES <= held < backup.HOLD_BYTES + 64 * 1024
    assert len(before) >= backup.START_BYTES - backup.HOLD_BYTES


def test_a_dump_just_over_the_start_sends_no_less_than_the_start_minus_the_hold(tmp_path):
    before, after, data = _held_back(tmp_path, [backup.START_BYTES - 10, 20])
    assert after == data
    assert before == b"" or len(before) >= backup.START_BYTES - backup.HOLD_BYTES


def _clone_of_dump() -> Clone:
    """The clone and replica ``_dump`` is of."""
    rw = VolumeInfo(id=0x1000001, name="u.jan.0", type=0, parent_id=0x1000001, backup_id=0x1000005,
                    group_id=0, copy_date=0.0, backup_date=0.0)
    clone = VolumeInfo(id=0x1000005, name="u.jan.0.backup", type=2, parent_id=0x1000001, backup_id=0,
                       group_id=0, copy_date=0.0, backup_date=0.0)
    return Clone(rw, clone)


def _fake_dump(tmp_path, said: int, noise: int) -> list[str]:
    """A volutil dump: the dump on stdout, ``noise`` bytes of stderr, then its byte count."""
    image = tmp_path / "image"
    image.write_bytes(_dump())
    script = tmp_path / "volutil"
    script.write_text("#!/bin/sh\n"
                      f"cat '{image}'\n"
                      f"head -c {noise} /dev/zero | tr '\\0' x >&2\n"
                      f"echo >&2; echo 'VolDump completed, {said} bytes dumped' >&2\n")
    script.chmod(0o755)
    return [str(script)]


@pytest.mark.parametrize("noise", [10, 100_000])
def test_the_dump_stream_keeps_volutils_byte_count_after_a_long_stderr(tmp_path, noise):
    """proc.Child keeps only a tail of stderr: volutil's byte count is its last line."""
    size = len(_dump())
    dumped = backup.stream(_fake_dump(tmp_path, size, noise), backup.HeldBack(None))
    assert (dumped.status, dumped.size, dumped.seen.problem) == (0, size, None)
    assert dumped.problems(_clone_of_dump()) == []
    wrong = backup.stream(_fake_dump(tmp_path, size + 1, noise), backup.HeldBack(None))
    assert wrong.problems(_clone_of_dump()) == [f"volutil said {size + 1} bytes dumped but {size} arrived"]


def test_a_volutil_that_cannot_start_is_a_failed_dump_not_a_traceback(tmp_path):
    plain = tmp_path / "volutil"
    plain.write_text("not a program\n")  # exists, not executable
    for argv, said in (([str(tmp_path / "missing")], "command not found"), ([str(plain)], "Permission denied")):
        dumped = backup.stream(argv, backup.HeldBack(None))
        assert (dumped.status, dumped.size, dumped.seen.problem) == (127, 0, "volutil did not start")
        assert said in dumped.stderr
        assert dumped.problems(_clone_of_dump())[0].startswith(f"{argv[0]} exited with status 127: ")
