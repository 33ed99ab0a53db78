"""amcoda's pure parts: Amanda's argument conventions, properties, and the
parsers for what volutil prints (literal text in the formats of volclient.cc
and vol-info.cc)."""

import time

import pytest

from coda_restore import amcoda
from coda_restore.amcoda import Command, StreamCheck, parse_age, parse_args, settings
from coda_restore.errors import UsageError, VolutilOutputError
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
        backup_date=time.mktime((2026, 1, 6, 1, 0, 0, 0, 0, -1)))


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
    assert s.volutil == Volutil(program="/x/volutil", server="coda")
    assert s.volume == "u.jan.0" and s.clone_max_age == 5400


def test_parse_args_multi_estimate_and_command_spelling():
    req = parse_args(["ESTIMATE", "--disk", "/coda/u.jan/", "--level", "0", "--level", "1"])
    assert req.command is Command.ESTIMATE and req.levels == (0, 1) and not req.record
    assert settings(req).volume == "u.jan"
    assert settings(req).clone_max_age == amcoda.DEFAULT_CLONE_MAX_AGE


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


def _header(level: int, name: bytes = b"u.jan.0.backup") -> bytes:
    body = (b"v" + (0x1000005).to_bytes(4, "big") + b"p" + (0x1000001).to_bytes(4, "big")
            + b"n" + (len(name) + 1).to_bytes(4, "big") + name + b"\0"
            + b"b" + (1_767_000_000).to_bytes(4, "big") + b"i" + level.to_bytes(4, "big")
            + b"I" + (5).to_bytes(4, "big") + (9).to_bytes(4, "big"))
    return b"\x01\xb3\xa1\x13\x22" + (2).to_bytes(4, "big") + body + b"\x09"


def test_stream_check_reads_the_level_across_chunks_and_needs_the_end():
    stream = _header(3) + b"x" * 5000 + b"\x08\x3a\x21\x4b\x6e"
    check = StreamCheck()
    for i in range(0, len(stream), 7):
        check.feed(stream[i:i + 7])
    assert check.header_level() == 3 and check.problems() == [] and check.size == len(stream)
    cut = StreamCheck()
    cut.feed(stream[:-1])
    assert cut.problems() == ["the stream does not end with the dump end magic (truncated?)"]
