"""The fold into a Catalog, per generation and per tricky case of ref
amanda-formats.md §8, with the reference's example lines (§1.6, §1.7)."""

from __future__ import annotations

from amanda_helpers import catalog_of, one, parts

from coda_restore.amanda.model import ClientResult, DumpStatus, Unavailable
from paths import DATA, EXAMPLE

# §1.7: Amanda's own installcheck/Amanda_Logfile.pl, parts 2/5..5/5 written out.
LOGFILE_PL = """
START taper datestamp 20071109010002 label TESTCONF002 tape 1
PART taper TESTCONF002 1 clihost /usr 20071109010002 1 0 [regular single part PART]
DONE taper clihost /usr 20071109010002 1 0 [regular single part DONE]
PART taper TESTCONF002 2 clihost "/my documents" 20071109010002 1 0 [diskname quoting]
DONE taper clihost "/my documents" 20071109010002 1 0 [diskname quoting]
PART taper TESTCONF002 3 thatbox /var 1 [regular 'old style' PART]
DONE taper thatbox /var 1 [regular 'old style' DONE]
PART taper TESTCONF002 4 clihost /home 20071109010002 1/5 0 [multi-part dump]
PART taper TESTCONF002 5 clihost /home 20071109010002 2/5 0 [multi-part dump]
PART taper TESTCONF002 6 clihost /home 20071109010002 3/5 0 [multi-part dump]
PART taper TESTCONF002 7 clihost /home 20071109010002 4/5 0 [multi-part dump]
PART taper TESTCONF002 8 clihost /home 20071109010002 5/5 0 [multi-part dump]
DONE taper clihost /home 20071109010002 5 0 [multi-part dump]
PART taper TESTCONF002 9 thatbox /u_lose 20071109010002 1/4 2 [multi-part failure]
PART taper TESTCONF002 10 thatbox /u_lose 20071109010002 2/4 2 [multi-part failure]
PARTPARTIAL taper TESTCONF002 11 thatbox /u_lose 20071109010002  3/4 2 [multi-part retry]
START taper datestamp 20071109010002 label TESTCONF003 tape 1
PART taper TESTCONF003 1 thatbox /u_lose 20071109010002 3/4 2 [multi-part failure]
FAIL taper thatbox /u_lose 20071109010002 2 error "Oh no!"
PART taper TESTCONF003 2 thatbox /u_win 20071109010002 1/4 3 [multi-part retry]
PART taper TESTCONF003 3 thatbox /u_win 20071109010002 2/4 3 [multi-part retry]
PARTPARTIAL taper TESTCONF003 4 thatbox /u_win 20071109010002  3/4 3 [multi-part retry]
START taper datestamp 20071109010002 label TESTCONF004 tape 1
PART taper TESTCONF004 1 thatbox /u_win 20071109010002 3/4 3 [multi-part retry]
PART taper TESTCONF004 2 thatbox /u_win 20071109010002 4/4 3 [multi-part retry]
DONE taper thatbox /u_win 20071109010002 4 3 [multi-part retry]
"""
LOGFILE_PL_TAPES = """
20071109010002 TESTCONF004 reuse
20071109010002 TESTCONF003 reuse
20071109010002 TESTCONF002 reuse
"""
TS = "20071109010002"


def test_amanda_logfile_pl_reference(tmp_path):
    cat = catalog_of(tmp_path, {f"log.{TS}.0": LOGFILE_PL}, LOGFILE_PL_TAPES, config="TESTCONF")
    assert cat.warnings == ()
    # Amanda: 17 entries, 12 of them "OK OK"; here: the parts of 6 dumps.
    assert sum(len(c.parts) for d in cat.dumps for c in d.copies) == 17
    ok_parts = [p for d in cat.dumps for c in d.copies if c.available for p in c.parts if p.available]
    assert len(ok_parts) == 12  # Amanda's "ok" filter: /usr, docs, /var, /home x5, /u_win x4
    usr = one(cat, "clihost", "/usr", TS, 0)
    assert usr.available and parts(usr.copies[0]) == [(1, "TESTCONF002", 1, "ok", True)]
    assert usr.copies[0].storage == "TESTCONF"  # no ST: before 3.4: the config name
    docs = one(cat, "clihost", "/my documents", TS, 0)
    assert docs.available and docs.copies[0].parts[0].filenum == 2
    var = one(cat, "thatbox", "/var", TS, 1)  # the <=2.4.2 form: the log's datestamp
    assert var.available and parts(var.copies[0]) == [(1, "TESTCONF002", 3, "ok", True)]
    home = one(cat, "clihost", "/home", TS, 0)
    assert home.available and [p.filenum for p in home.copies[0].restore_parts()] == [4, 5, 6, 7, 8]
    lose = one(cat, "thatbox", "/u_lose", TS, 2)
    c = lose.copies[0]
    assert (lose.available, c.status, c.message, c.unavailable_because) == (
        False, DumpStatus.FAIL, "Oh no!", Unavailable.FAILED)
    assert [p.status.value for p in c.parts] == ["ok", "ok", "partial", "ok"]
    win = one(cat, "thatbox", "/u_win", TS, 3)
    assert win.available and win.copies[0].status is DumpStatus.OK
    assert [(p.label, p.filenum, p.status.value) for p in win.copies[0].parts] == [
        ("TESTCONF003", 2, "ok"), ("TESTCONF003", 3, "ok"), ("TESTCONF003", 4, "partial"),
        ("TESTCONF004", 1, "ok"), ("TESTCONF004", 2, "ok")]
    assert [(p.partnum, p.label, p.filenum) for p in win.copies[0].restore_parts()] == [
        (1, "TESTCONF003", 2), (2, "TESTCONF003", 3), (3, "TESTCONF004", 1), (4, "TESTCONF004", 2)]


# -- generations ------------------------------------------------------------

def test_24_old_school_log_counts_file_numbers_from_start_taper(tmp_path):
    log = """
    START driver date 20100722
    START taper datestamp 20100722 label Conf-009 tape 0
    SUCCESS dumper lovelace /home/ada 20100722 3 [sec 19.271 kb 166951 kps 8663.1 orig-kb 208420]
    SUCCESS chunker lovelace /home/ada 20100722 3 [sec 19.298 kb 166951 kps 8652.7]
    STATS driver estimate lovelace /home/ada 20100722 3 [sec 30 nkb 208422 ckb 32640 kps 1081]
    SUCCESS taper lovelace /home/ada 20100722 3 [sec 0.883 kb 166976 kps 188922.8 {wr: writers 5219 rdwait 0.001 wrwait 0.710 filemark 0.000}]
    SUCCESS taper lovelace /etc 20100722 1 [sec 0.1 kb 10 kps 100.0 {wr: writers 1 rdwait 0 wrwait 0 filemark 0}]
    INFO taper tape Conf-009 kb 166976 fm 1 [OK]
    """
    cat = catalog_of(tmp_path, {"log.20100722.0": log}, "20100722 Conf-009\n")
    ada = one(cat, "lovelace", "/home/ada", "20100722000000", 3)
    assert ada.available and ada.client is ClientResult.SUCCESS
    assert parts(ada.copies[0]) == [(1, "Conf-009", 1, "ok", True)]
    assert ada.copies[0].write_timestamp == "20100722000000"
    etc = one(cat, "lovelace", "/etc", "20100722000000", 1)
    assert etc.copies[0].parts[0].filenum == 2


def test_242_success_without_datestamp_takes_the_logs(tmp_path):
    log = """
    START taper datestamp 20011112 label DAILY-1 tape 0
    SUCCESS taper host1 /usr 1 [sec 1.0 kb 100 kps 100.0]
    """
    cat = catalog_of(tmp_path, {"log.20011112.0": log}, "20011112 DAILY-1 reuse\n")
    d = one(cat, "host1", "/usr", "20011112000000", 1)
    assert d.available and parts(d.copies[0]) == [(1, "DAILY-1", 1, "ok", True)]


def test_25_chunks_spanning_two_tapes(tmp_path):
    log = """
    START taper datestamp 20070301 label DAILY-05 tape 1
    CHUNK taper host1 /big 20070301 1 0 [sec 100.0 kb 1048576 kps 10485.8 {wr: writers 32768 rdwait 0.1 wrwait 90.0 filemark 1.0}]
    CHUNK taper host1 /big 20070301 2 0 [sec 80.0 kb 900000 kps 11250.0 {wr: x}]
    INFO taper continuing host1:/big.0 on new tape from 1948576kb mark: [writing file: No space left on device]
    START taper datestamp 20070301 label DAILY-06 tape 2
    CHUNK taper host1 /big 20070301 3 0 [sec 50.0 kb 500000 kps 10000.0 {wr: x}]
    CHUNKSUCCESS taper host1 /big 20070301 0 [sec 230.0 kb 2448576 kps 10646.0 {wr: x}]
    """
    tapes = "20070301 DAILY-06 reuse\n20070301 DAILY-05 reuse\n"
    cat = catalog_of(tmp_path, {"log.20070301.0": log}, tapes)
    d = one(cat, "host1", "/big", "20070301000000", 0)
    assert d.available and d.kb == 2448576
    assert parts(d.copies[0]) == [(1, "DAILY-05", 1, "ok", True), (2, "DAILY-05", 2, "ok", True),
                                  (3, "DAILY-06", 1, "ok", True)]


def test_25_chunks_with_one_tape_reused_are_missing_a_part(tmp_path):
    log = """
    START taper datestamp 20070301 label DAILY-05 tape 1
    CHUNK taper host1 /big 20070301 1 0 [sec 100.0 kb 1048576 kps 10485.8 {wr: x}]
    START taper datestamp 20070301 label DAILY-06 tape 2
    CHUNK taper host1 /big 20070301 2 0 [sec 50.0 kb 500000 kps 10000.0 {wr: x}]
    CHUNKSUCCESS taper host1 /big 20070301 0 [sec 230.0 kb 1548576 kps 10646.0 {wr: x}]
    """
    tapes = "20070308 DAILY-06 reuse\n20070301 DAILY-05 reuse\n"
    cat = catalog_of(tmp_path, {"log.20070301.0": log}, tapes)
    d = one(cat, "host1", "/big", "20070301000000", 0)
    assert not d.available and d.unavailable_because is Unavailable.MISSING_PART
    assert d.copies[0].message == "Missing part"
    assert parts(d.copies[0]) == [(1, "DAILY-05", 1, "ok", True), (2, "DAILY-06", 1, "ok", False)]
    assert d.copies[0].parts[1].unavailable_because is Unavailable.TAPE_REUSED


def test_35_real_lab_log_with_storage_pool_and_crcs(tmp_path):
    log = """
    INFO amdump amdump pid 8161
    START planner date 20260818123612
    START driver date 20260818123612
    SUCCESS dumper localhost u.jan 20260818123612 0 6f7806ac:307200 6f7806ac:307200 [sec 0.085 kb 300 kps 3505.5 orig-kb 300]
    SUCCESS chunker localhost u.jan 20260818123612 0 6f7806ac:307200 [sec 1.046642 kb 300 kps 286.630959]
    START taper datestamp 20260818123612 "ST:lab" "POOL:labpool" label lab-02 tape 2
    PART taper "ST:lab" "POOL:labpool" lab-02 3 localhost u.jan 20260818123612 1/-1 0 [sec 0.000468 bytes 131072 kps 273504.273504 orig-kb 300]
    PART taper "ST:lab" "POOL:labpool" lab-02 4 localhost u.jan 20260818123612 2/-1 0 [sec 0.000222 bytes 131072 kps 576576.576577 orig-kb 300]
    PART taper "ST:lab" "POOL:labpool" lab-02 5 localhost u.jan 20260818123612 3/-1 0 [sec 0.000166 bytes 45056 kps 265060.240964 orig-kb 300]
    DONE taper "ST:lab" "POOL:labpool" localhost u.jan 20260818123612 3 0 6f7806ac:307200 6f7806ac:307200 6f7806ac:307200 [sec 0.100000 bytes 307200 kps 3000.000000 orig-kb 300]
    FAIL planner localhost p.proj 20260818123612 0 "[no size line match in /usr/bin/tar output]"
    FINISH driver date 20260818123612 time 4.997
    """
    tapes = "20260818123612 lab-02 reuse BLOCKSIZE:32 POOL:labpool STORAGE:lab CONFIG:lab\n"
    cat = catalog_of(tmp_path, {"log.20260818123612.0": log}, tapes)
    d = one(cat, "localhost", "u.jan", "20260818123612", 0)
    c = d.copies[0]
    assert (d.available, d.recorded, c.storage, c.pool, c.kb) == (True, True, "lab", "labpool", 300)
    assert [(p.partnum, p.filenum, p.kb) for p in c.parts] == [(1, 3, 128), (2, 4, 128), (3, 5, 44)]
    assert str(c.origin).endswith("log.20260818123612.0:10") and str(d.origin).endswith(":4")
    failed = one(cat, "localhost", "p.proj", "20260818123612", 0)  # amadmin find: FAILED (planner)
    assert (failed.available, failed.recorded, failed.client, failed.unavailable_because) == (
        False, False, ClientResult.FAIL, Unavailable.DUMP_FAILED)
    assert failed.client_message == "planner: [no size line match in /usr/bin/tar output]"


# -- §8 tricky cases --------------------------------------------------------

def test_8_1_dumped_to_holding_then_flushed_by_a_later_run(tmp_path):
    dump_log = """
    START driver date 20100303133320
    ERROR taper no-tape error [Virtual-tape directory /A/p/vtapes does not exist.]
    SUCCESS dumper euclid /A/p/etc 20100303133320 0 [sec 0.040 kb 100 kps 2491.0 orig-kb 100]
    SUCCESS chunker euclid /A/p/etc 20100303133320 0 [sec 0.064 kb 100 kps 2044.3]
    FINISH driver date 20100303133320 time 1.0
    """
    flush_log = """
    START amflush date 20100303140000
    START taper datestamp 20100303140000 label TESTCONF02 tape 1
    PART taper TESTCONF02 1 euclid /A/p/etc 20100303133320 1/-1 0 [sec 0.493936 kb 100 kps 169009.900121 orig-kb 100]
    DONE taper euclid /A/p/etc 20100303133320 1 0 [sec 0.493936 kb 100 kps 169009.900121 orig-kb 100]
    """
    # Before the flush: recorded, on no media: a broken link for Coda,
    # unless the holding disk (not read here, and said so) still has it.
    only_dump = catalog_of(tmp_path / "a", {"log.20100303133320.0": dump_log}, "")
    d = one(only_dump, "euclid", "/A/p/etc", "20100303133320", 0)
    assert (d.available, d.recorded, d.unavailable_because) == (False, True, Unavailable.HOLDING_NOT_SEARCHED)
    empty = tmp_path / "hold"
    empty.mkdir()
    looked = one(catalog_of(tmp_path / "c", {"log.20100303133320.0": dump_log}, "", holding=[empty]),
                 "euclid", "/A/p/etc", "20100303133320", 0)
    assert looked.unavailable_because is Unavailable.NOT_WRITTEN
    both = catalog_of(tmp_path / "b", {"log.20100303133320.0": dump_log, "log.20100303140000.0": flush_log},
                      "20100303140000 TESTCONF02 reuse\n")
    d = one(both, "euclid", "/A/p/etc", "20100303133320", 0)
    assert d.available and d.copies[0].write_timestamp == "20100303140000"
    assert len(both.dumps) == 1


def test_8_2_several_dumps_of_one_dle_in_one_log(tmp_path):
    log = """
    START taper datestamp 20080311140000 label Conf-003 tape 1
    PART taper Conf-003 12 otherbox /usr/bin 20080311132233 1/1 0 [sec 0.002733 kb 240 kps 136425.648022]
    DONE taper otherbox /usr/bin 20080311132233 1 0 [sec 0.002733 kb 240 kps 136425.648022]
    PART taper Conf-003 13 otherbox /usr/bin 20080311131133 1/1 0 [sec 0.002733 kb 240 kps 136425.648022]
    DONE taper otherbox /usr/bin 20080311131133 1 0 [sec 0.002733 kb 240 kps 136425.648022]
    """
    cat = catalog_of(tmp_path, {"log.20080311140000.0": log}, "20080311140000 Conf-003 reuse\n")
    assert [(d.datestamp, d.copies[0].parts[0].filenum, d.available) for d in cat.dumps] == [
        ("20080311131133", 13, True), ("20080311132233", 12, True)]


def test_8_3_failed_attempt_then_successful_retry(tmp_path):
    log = """
    START driver date 20090326001503
    START taper datestamp 20090326001503 label Daily-36 tape 1
    FAIL dumper jamon.slikon.local /var 20090326001503 0 [/bin/tar exited with status 2: see /var/log/amanda/client/Daily/amgtar.20090326133640000.debug]
      blah blah blah
    PARTIAL chunker jamon.slikon.local /var 20090326001503 0 [sec 64.950 kb 268358 kps 4132.2]
    SUCCESS dumper jamon.slikon.local /var 20090326001503 0 [sec 53.356 kb 268357 kps 5029.5 orig-kb 2985670]
    SUCCESS chunker jamon.slikon.local /var 20090326001503 0 [sec 58.396 kb 268357 kps 4596.0]
    PART taper Daily-36 1 jamon.slikon.local /var 20090326001503 1/1 0 [sec 15.589804 kb 268356 kps 17213.595632]
    DONE taper jamon.slikon.local /var 20090326001503 1 0 [sec 15.589804 kb 268356 kps 17213.595632]
    """
    cat = catalog_of(tmp_path, {"log.20090326001503.0": log}, "20090326001503 Daily-36 reuse\n")
    d = one(cat, "jamon.slikon.local", "/var", "20090326001503", 0)
    assert (d.available, d.client, d.recorded) == (True, ClientResult.SUCCESS, True)


def test_8_4_double_failure_then_partial_data_taped(tmp_path):
    log = """
    START taper datestamp 20090326001503 label Daily-13 tape 1
    PARTIAL chunker ns-new.slikon.local /opt/var 20090326001503 0 [sec 123.421 kb 54930 kps 445.3]
    PART taper Daily-13 1 ns-new.slikon.local /opt/var 20090326001503 1/1 0 [sec 3.555085 kb 54929 kps 15451.027696]
    PARTIAL taper ns-new.slikon.local /opt/var 20090326001503 1 0 [sec 3.555085 kb 54929 kps 15451.027696]
    """
    cat = catalog_of(tmp_path, {"log.20090326001503.0": log}, "20090326001503 Daily-13 reuse\n")
    d = one(cat, "ns-new.slikon.local", "/opt/var", "20090326001503", 0)
    assert (d.available, d.unavailable_because, d.copies[0].status, d.client, d.recorded) == (
        False, Unavailable.PARTIAL, DumpStatus.PARTIAL, ClientResult.PARTIAL, False)


def test_8_5_end_of_media_with_no_more_volumes(tmp_path):
    log = """
    START taper datestamp 20080414144444 label Conf-004 tape 1
    PARTPARTIAL taper Conf-004 1 otherbox /lib 20080414144444 1/1 1 [sec 0.000707 kb 32 kps 45261.669024] ""
    INFO taper Will request retry of failed split part.
    START taper datestamp 20080414144444 label Conf-005 tape 2
    PARTPARTIAL taper Conf-005 1 otherbox /lib 20080414144444 1/1 1 [sec 0.000540 kb 32 kps 59259.259259] ""
    WARNING driver Out of tapes; going into degraded mode.
    PARTIAL taper otherbox /lib 20080414144444 1 1 [sec 0.000540 kb 32 kps 59259.259259] "full-up"
    FAIL taper otherbox /boot 20080414144444 0 error "no-space"
    """
    tapes = "20080414144444 Conf-005 reuse\n20080414144444 Conf-004 reuse\n"
    cat = catalog_of(tmp_path, {"log.20080414144444.0": log}, tapes)
    lib = one(cat, "otherbox", "/lib", "20080414144444", 1)
    assert (lib.available, lib.unavailable_because, lib.copies[0].message) == (False, Unavailable.PARTIAL, "full-up")
    assert parts(lib.copies[0]) == [(1, "Conf-004", 1, "partial", False), (1, "Conf-005", 1, "partial", False)]
    boot = one(cat, "otherbox", "/boot", "20080414144444", 0)
    assert (boot.available, boot.unavailable_because, boot.copies[0].message, boot.copies[0].parts) == (
        False, Unavailable.FAILED, "no-space", ())


def test_8_6_partpartial_then_retry_on_the_next_volume(tmp_path):
    log = """
    START taper datestamp 20100303153307 label Conf-001 tape 1
    PART taper Conf-001 1 euclid /A/b/server-src 20100303153307 1/-1 0 [sec 0.020357 kb 5120 kps 251515.911452 orig-kb 21830]
    PART taper Conf-001 2 euclid /A/b/server-src 20100303153307 2/-1 0 [sec 0.022239 kb 5120 kps 230222.763006 orig-kb 21830]
    PART taper Conf-001 3 euclid /A/b/server-src 20100303153307 3/-1 0 [sec 0.019910 kb 5120 kps 257153.694334 orig-kb 21830]
    PARTPARTIAL taper Conf-001 4 euclid /A/b/server-src 20100303153307 4/-1 0 [sec 0.017390 kb 4960 kps 285216.405648 orig-kb 21830] "No space left on device"
    INFO taper Will request retry of failed split part.
    INFO taper tape Conf-001 kb 15360 fm 4 [OK]
    START taper datestamp 20100303153307 label Conf-002 tape 2
    PART taper Conf-002 1 euclid /A/b/server-src 20100303153307 4/-1 0 [sec 0.022851 kb 5120 kps 224055.372485 orig-kb 21830]
    PART taper Conf-002 2 euclid /A/b/server-src 20100303153307 5/-1 0 [sec 0.004047 kb 1350 kps 333557.846590 orig-kb 21830]
    DONE taper euclid /A/b/server-src 20100303153307 5 0 [sec 0.089405 kb 21830 kps 244169.966680 orig-kb 21830]
    """
    tapes = "20100303153307 Conf-002 reuse\n20100303153307 Conf-001 reuse\n"
    cat = catalog_of(tmp_path, {"log.20100303153307.0": log}, tapes)
    d = one(cat, "euclid", "/A/b/server-src", "20100303153307", 0)
    assert d.available
    assert [(p.partnum, p.label, p.filenum) for p in d.copies[0].restore_parts()] == [
        (1, "Conf-001", 1), (2, "Conf-001", 2), (3, "Conf-001", 3), (4, "Conf-002", 1), (5, "Conf-002", 2)]


def test_8_7_and_8_8_taper_crash_and_interrupted_run(tmp_path):
    log = """
    START driver date 20090326001503
    START taper datestamp 20090326001503 label Daily-1 tape 1
    PART taper Daily-1 1 host /done 20090326001503 1/-1 0 [sec 1 kb 10 kps 10]
    DONE taper host /done 20090326001503 1 0 [sec 1 kb 10 kps 10]
    PART taper Daily-1 2 host /cut 20090326001503 1/-1 1 [sec 1 kb 10 kps 10]
    PART taper Daily-1 3 host /cut 20090326001503 2/-1 1 [sec 1 kb 10 kps 10]
    """
    cat = catalog_of(tmp_path, {"log.20090326001503.0": log}, "20090326001503 Daily-1 reuse\n")
    assert one(cat, "host", "/done", "20090326001503", 0).available
    cut = one(cat, "host", "/cut", "20090326001503", 1)
    assert (cut.available, cut.unavailable_because, len(cut.copies[0].parts)) == (False, Unavailable.UNFINISHED, 2)
    assert cut.copies[0].message == "no DONE, PARTIAL or FAIL line: the run was interrupted"


def test_8_9_removed_volume_leaves_a_missing_part_and_reused_volume_vanishes(tmp_path):
    bigdb = """
    START taper datestamp 20080616166666 label Conf-007 tape 1
    PART taper Conf-007 2 somebox /lib 20080616166666 1/2 1 [sec 0.000370 kb 20 kps 54054.054054 orig-kb 20]
    START taper datestamp 20080616166666 label Conf-008 tape 1
    PART taper Conf-008 1 somebox /lib 20080616166666 2/2 1 [sec 0.000370 kb 20 kps 54054.054054 orig-kb 20]
    DONE taper somebox /lib 20080616166666 1 1 [sec 0.000370 kb 20 kps 54054.054054 orig-kb 20]
    """
    older = """
    START taper datestamp 20080601000000 label Conf-006 tape 1
    PART taper Conf-006 1 somebox /lib 20080601000000 1/1 0 [sec 0.1 kb 20 kps 1]
    DONE taper somebox /lib 20080601000000 1 0 [sec 0.1 kb 20 kps 1]
    """
    tapes = "20080616166666 Conf-007 reuse\n20080616166666 Conf-006 reuse\n"  # Conf-008 removed, 006 reused
    cat = catalog_of(tmp_path, {"log.20080616166666.0": bigdb, "log.20080601000000.0": older}, tapes)
    split = one(cat, "somebox", "/lib", "20080616166666", 1)
    assert (split.available, split.unavailable_because) == (False, Unavailable.MISSING_PART)
    assert [p.unavailable_because for p in split.copies[0].parts] == [None, Unavailable.TAPE_UNKNOWN]
    gone = one(cat, "somebox", "/lib", "20080601000000", 0)
    assert (gone.available, gone.unavailable_because, gone.copies[0].status) == (
        False, Unavailable.TAPE_REUSED, DumpStatus.OK)


def test_8_10_direct_to_tape(tmp_path):
    log = """
    START taper datestamp 20080515155555 label Conf-006 tape 1
    SUCCESS dumper otherbox /direct 20080515155555 0 [sec 0.001 kb 190 kps 10352.0 orig-kb 350]
    PART taper Conf-006 14 otherbox /direct 20080515155555 1/1 0 [sec 0.001 kb 190 kps 10352.0]
    DONE taper otherbox /direct 20080515155555 1 0 [sec 0.001 kb 190 kps 10352.0 orig-kb 350]
    """
    cat = catalog_of(tmp_path, {"log.20080515155555.0": log}, "20080515155555 Conf-006 reuse\n")
    d = one(cat, "otherbox", "/direct", "20080515155555", 0)
    assert (d.available, d.client, d.copies[0].parts[0].filenum) == (True, ClientResult.SUCCESS, 14)


def test_8_11_vault_copy_is_a_second_instance(tmp_path):
    log = """
    START taper datestamp 20171109071556 "ST:vtapes" "POOL:vtapes" label vt-001 tape 1
    PART taper "ST:vtapes" "POOL:vtapes" vt-001 1 localhost.localdomain /bootAMGTAR 20171109071556 1/-1 1 [sec 0.03 bytes 65536 kps 1958.6 orig-kb 64]
    DONE taper "ST:vtapes" "POOL:vtapes" localhost.localdomain /bootAMGTAR 20171109071556 1 1 48ced934:65536 48ced934:65536 48ced934:65536 [sec 0.1 bytes 65536 kps 640.0 orig-kb 64]
    START taper datestamp 20171109071556 "ST:vault" "POOL:vault" label test-ORG-2-AA-vtapes2-010 tape 2
    PART taper "ST:vault" "POOL:vault" test-ORG-2-AA-vtapes2-010 1 localhost.localdomain /bootAMGTAR 20171108171820 1/-1 1 [sec 0.001910 bytes 65536 kps 33507.853403 orig-kb 0]
    DONE taper "ST:vault" "POOL:vault" localhost.localdomain /bootAMGTAR 20171108171820 1 1 48ced934:65536 48ced934:65536 48ced934:65536 [sec 1.000000 bytes 65536 kps 64.000000 orig-kb 0]
    PART taper "ST:vault" "POOL:vault" test-ORG-2-AA-vtapes2-010 2 localhost.localdomain /bootAMGTAR 20171109071556 1/-1 1 [sec 0.001910 bytes 65536 kps 33507.853403 orig-kb 0]
    DONE taper "ST:vault" "POOL:vault" localhost.localdomain /bootAMGTAR 20171109071556 1 1 48ced934:65536 48ced934:65536 48ced934:65536 [sec 1.000000 bytes 65536 kps 64.000000 orig-kb 0]
    """
    tapes = ("20171109071556 test-ORG-2-AA-vtapes2-010 reuse POOL:vault STORAGE:vault CONFIG:test\n"
             "20171109071556 vt-001 reuse POOL:vtapes STORAGE:vtapes CONFIG:test\n")
    cat = catalog_of(tmp_path, {"log.20171109071556.0": log}, tapes)
    d = one(cat, "localhost.localdomain", "/bootAMGTAR", "20171109071556", 1)
    assert [(c.storage, c.pool, c.parts[0].label, c.available) for c in d.copies] == [
        ("vtapes", "vtapes", "vt-001", True), ("vault", "vault", "test-ORG-2-AA-vtapes2-010", True)]
    old = one(cat, "localhost.localdomain", "/bootAMGTAR", "20171108171820", 1)
    assert [(c.storage, c.available) for c in old.copies] == [("vault", True)]


def test_8_12_8_digit_runs_twice_a_day(tmp_path):
    run0 = """
    START driver date 20080111
    START taper datestamp 20080111 label Conf-001 tape 1
    SUCCESS taper host /usr 20080111 1 [sec 1 kb 1 kps 1 {wr: x}]
    """
    run1 = """
    START driver date 20080111
    START taper datestamp 20080111 label Conf-002 tape 1
    WARNING driver WARNING: This is not the first amdump run today. Enable the usetimestamps option in the configuration file if you want to run amdump more than once per calendar day.
    SUCCESS taper host /usr 20080111 1 [sec 1 kb 1 kps 1 {wr: x}]
    """
    tapes = "20080111 Conf-002\n20080111 Conf-001\n"
    cat = catalog_of(tmp_path, {"log.20080111.0": run0, "log.20080111.1": run1}, tapes)
    d = one(cat, "host", "/usr", "20080111000000", 1)  # the two collide, as in Amanda
    assert [(c.parts[0].label, c.available) for c in d.copies] == [("Conf-001", True), ("Conf-002", True)]


def test_8_14_planner_skip_is_no_dump(tmp_path):
    log = """
    START planner date 20090326001503
    SUCCESS planner ns-new.slikon.local /boot 20090326001503 1 "[skipped: skip-incr]"
    """
    assert catalog_of(tmp_path, {"log.20090326001503.0": log}, "").dumps == ()


def test_8_15_strange_dumper_takes_the_runs_datestamp(tmp_path):
    log = """
    START driver date 20090401001503
    STRANGE dumper bsdfw.slikon.local / 0 [sec 1775.514 kb 2317814 kps 1305.4 orig-kb 5401240]
      | tar: ./x: file changed as we read it
    SUCCESS chunker bsdfw.slikon.local / 20090401001503 0 [sec 1775.6 kb 2317814 kps 1305.4]
    """
    cat = catalog_of(tmp_path, {"log.20090401001503.0": log}, "")
    d = one(cat, "bsdfw.slikon.local", "/", "20090401001503", 0)
    assert (d.client, d.recorded, d.kb) == (ClientResult.SUCCESS, True, 2317814)
    assert len(cat.dumps) == 1


def test_8_17_multi_taper_interleaving_attributes_by_label(tmp_path):
    log = """
    START taper datestamp 20100908110856 label DIRO-TEST-002 tape 1
    START taper datestamp 20100908110856 label DIRO-TEST-003 tape 1
    PART taper DIRO-TEST-002 1 localhost.localdomain /bootAMGTAR 20100720114523 1/-1 1 [sec 0.054244 kb 10240 kps 188775.695778 orig-kb 44610]
    PART taper DIRO-TEST-003 1 localhost.localdomain /bootAMGTAR 20100720114534 1/-1 1 [sec 0.065777 kb 10240 kps 155678.153115 orig-kb 44610]
    PART taper DIRO-TEST-002 2 localhost.localdomain /bootAMGTAR 20100720114523 2/-1 1 [sec 0.054244 kb 10240 kps 188775.695778 orig-kb 44610]
    DONE taper localhost.localdomain /bootAMGTAR 20100720114523 2 1 [sec 0.471276 kb 20480 kps 44610.000000 orig-kb 44610]
    DONE taper localhost.localdomain /bootAMGTAR 20100720114534 1 1 [sec 0.471276 kb 10240 kps 44610.000000 orig-kb 44610]
    """
    tapes = "20100908110856 DIRO-TEST-003 reuse\n20100908110856 DIRO-TEST-002 reuse\n"
    cat = catalog_of(tmp_path, {"log.20100908110856.0": log}, tapes)
    a = one(cat, "localhost.localdomain", "/bootAMGTAR", "20100720114523", 1)
    b = one(cat, "localhost.localdomain", "/bootAMGTAR", "20100720114534", 1)
    assert [(p.label, p.filenum) for p in a.copies[0].parts] == [("DIRO-TEST-002", 1), ("DIRO-TEST-002", 2)]
    assert [(p.label, p.filenum) for p in b.copies[0].parts] == [("DIRO-TEST-003", 1)]
    assert a.available and b.available


def test_8_18_mixed_style_st_only_on_done(tmp_path):
    log = """
    START taper datestamp 20090225080737 label Conf-001 tape 1
    PART taper Conf-001 1 localhost.localdomain /boot1 20090225080737 1/1 0 [sec 0.250557 kb 12 kps 156611.070535]
    DONE taper "ST:TESTCONF" localhost.localdomain /boot1 20090225080737 1 0 [sec 0.250557 kb 12 kps 156611.070535]
    """
    cat = catalog_of(tmp_path, {"log.20090225080737.0": log}, "20090225080737 Conf-001 reuse\n")
    d = one(cat, "localhost.localdomain", "/boot1", "20090225080737", 0)
    assert d.available and d.copies[0].storage == "TESTCONF"


def test_log_in_oldlog_is_read_for_gone_dumps_but_never_available(tmp_path):
    log = """
    START taper datestamp 20080601000000 label Conf-006 tape 1
    PART taper Conf-006 1 somebox /lib 20080601000000 1/1 0 [sec 0.1 kb 20 kps 1]
    DONE taper somebox /lib 20080601000000 1 0 [sec 0.1 kb 20 kps 1]
    """
    cat = catalog_of(tmp_path, {"oldlog/log.20080601000000.0": log}, "20080601000000 Conf-006 reuse\n")
    d = one(cat, "somebox", "/lib", "20080601000000", 0)
    assert (d.available, d.unavailable_because) == (False, Unavailable.LOG_NOT_SEARCHED)


def test_log_stamped_with_another_datestamp_stops_counting(tmp_path):
    log = """
    START taper datestamp 20080602000000 label Conf-006 tape 1
    PART taper Conf-006 1 somebox /lib 20080601000000 1/1 0 [sec 0.1 kb 20 kps 1]
    DONE taper somebox /lib 20080601000000 1 0 [sec 0.1 kb 20 kps 1]
    """
    cat = catalog_of(tmp_path, {"log.20080601000000.0": log},
                     "20080602000000 Conf-006 reuse\n20080601000000 Conf-005 reuse\n")
    assert [str(w) for w in cat.warnings] == [
        f"{tmp_path}/log/log.20080601000000.0:1: log file stamped 20080602000000, expecting 20080601000000: "
        "Amanda reads no further tape records in it"]
    assert not one(cat, "somebox", "/lib", "20080601000000", 0).available


def test_amfetchdump_one_line_log_is_harmless(tmp_path):
    cat = catalog_of(tmp_path, {"log.20260310120000.0": "INFO amfetchdump fetchdump pid 4242\n"},
                     "20260310120000 DAILY-01 reuse\n")
    assert (cat.dumps, cat.warnings) == ((), ())


def test_reading_one_volume_gives_the_same_dumps_as_reading_everything(tmp_path):
    from amanda_helpers import write_records

    from coda_restore.amanda.catalog import build_catalog

    logdir, tl = write_records(tmp_path, {f"log.{TS}.0": LOGFILE_PL}, LOGFILE_PL_TAPES)
    full = build_catalog(logdir, tl)
    for host, disk in full.volumes():
        alone = build_catalog(logdir, tl, volume=disk)
        assert alone.dumps == full.dumps_of(host, disk), disk
        assert [str(c.origin) for d in alone.dumps for c in d.copies] == [
            str(c.origin) for d in full.dumps_of(host, disk) for c in d.copies]


def test_24_partial_taper_counts_a_file_and_is_partial(tmp_path):
    log = """
    START taper datestamp 20050301 label DAILY-1 tape 0
    SUCCESS taper host /a 20050301 0 [sec 1 kb 10 kps 10 {wr: x}]
    PARTIAL chunker host /b 20050301 1 [sec 1 kb 5 kps 5]
    PARTIAL taper host /b 20050301 1 [sec 1 kb 5 kps 5 {wr: x}]
    SUCCESS taper host /c 20050301 0 [sec 1 kb 10 kps 10 {wr: x}]
    """
    cat = catalog_of(tmp_path, {"log.20050301.0": log}, "20050301 DAILY-1\n")
    b = one(cat, "host", "/b", "20050301000000", 1)
    assert (b.available, b.unavailable_because, parts(b.copies[0])) == (
        False, Unavailable.PARTIAL, [(1, "DAILY-1", 2, "ok", True)])
    assert one(cat, "host", "/c", "20050301000000", 0).copies[0].parts[0].filenum == 3


def test_8_20_holding_and_tape_copies_at_the_same_time(tmp_path):
    from test_amanda_holding import FIRST, _write

    log = """
    START taper datestamp 20171108153316 "ST:vtapes" "POOL:vtapes" label vt-001 tape 1
    PART taper "ST:vtapes" "POOL:vtapes" vt-001 1 localhost.localdomain /bootAMGTAR 20171108153316 1/-1 1 [sec 0.03 bytes 65536 kps 1958.6 orig-kb 64]
    DONE taper "ST:vtapes" "POOL:vtapes" localhost.localdomain /bootAMGTAR 20171108153316 1 1 [sec 0.1 bytes 65536 kps 640.0 orig-kb 64]
    """
    run = tmp_path / "hd" / "20171108153316"
    run.mkdir(parents=True)
    _write(run / "localhost.localdomain._bootAMGTAR.1", FIRST.format(cont="", partial=""))
    cat = catalog_of(tmp_path, {"log.20171108153316.0": log}, "20171108153316 vt-001 reuse\n",
                     holding=[tmp_path / "hd"])
    d = one(cat, "localhost.localdomain", "/bootAMGTAR", "20171108153316", 1)
    assert [(c.kind, c.available) for c in d.copies] == [("tape", True), ("holding", True)]


def test_zero_byte_part_at_end_of_medium_is_skipped_silently(tmp_path):
    # Real Amanda 3.5.1 (the lab): EOM after part 4; part 5 is logged with
    # 0 bytes and file number 0, then written again on the next volume.
    st = '"ST:codarestore-lab" "POOL:codarestore-lab"'
    log = f"""
    START taper datestamp 20260302010000 {st} label codarestore-lab-01 tape 1
    PART taper {st} codarestore-lab-01 6 localhost p.proj 20260302010000 4/-1 0 [sec 0.000198 bytes 131072 kps 646464.646465 orig-kb 860]
    PART taper {st} codarestore-lab-01 0 localhost p.proj 20260302010000 5/-1 0 [sec 0.000133 bytes 0 kps 0.000000 orig-kb 860]
    START taper datestamp 20260302010000 {st} label codarestore-lab-02 tape 2
    PART taper {st} codarestore-lab-02 1 localhost p.proj 20260302010000 5/-1 0 [sec 0.000225 bytes 131072 kps 568888.888889 orig-kb 860]
    DONE taper {st} localhost p.proj 20260302010000 5 0 448b8723:880640 448b8723:880640 448b8723:880640 [sec 0.1 bytes 655360 kps 1 orig-kb 860]
    """
    tapes = ("20260302010000 codarestore-lab-02 reuse\n20260302010000 codarestore-lab-01 reuse\n")
    cat = catalog_of(tmp_path, {"log.20260302010000.0": log}, tapes)
    assert cat.warnings == ()
    d = one(cat, "localhost", "p.proj", "20260302010000", 0)
    # parts 1-3 are not in this excerpt: Amanda calls it "Missing part" too
    assert [(p.partnum, p.label, p.filenum) for p in d.copies[0].parts] == [
        (4, "codarestore-lab-01", 6), (5, "codarestore-lab-02", 1)]
    assert d.unavailable_because is Unavailable.MISSING_PART


def test_the_inlined_fast_paths_fold_exactly_as_the_general_parser(tmp_path, monkeypatch):
    """Every log line used in these tests and the lab's example logs, folded
    with and without the fast paths: same dumps, copies, parts and origins."""
    import pathlib

    from coda_restore.amanda import catalog as catalog_mod

    sources = [DATA / "amanda" / name for name in ("broken", "twohosts")]
    example = EXAMPLE
    if (example / "log").is_dir():
        sources.append(example)
    st = '"ST:s" "POOL:p"'
    extra = tmp_path / "extra"
    (extra / "log").mkdir(parents=True)
    (extra / "log" / f"log.{TS}.0").write_text(LOGFILE_PL.lstrip("\n") + "\n".join([
        f"START taper datestamp {TS} {st} label TESTCONF004 tape 2",
        f"SUCCESS dumper h /d {TS} 0 00000000:0 00000000:0 [sec 1 kb 5 kps 1 orig-kb 5]",
        f"SUCCESS chunker h /d {TS} 0 00000000:0 [sec 1 kb 5 kps 1]",
        f"PART taper {st} TESTCONF004 3 h /d {TS} 1/-1 0 [sec 1 bytes 4096 kps 1 orig-kb 5]",
        f"PART taper {st} TESTCONF004 0 h /d {TS} 2/-1 0 [sec 1 bytes 0 kps 1 orig-kb 5]",
        f"PART taper {st} OTHER-TAPE 1 h /d {TS} 2/-1 0 [sec 1 bytes 1024 kps 1 orig-kb 5]",
        f"DONE taper {st} h /d {TS} 2 0 00000000:0 00000000:0 00000000:0 [sec 1 bytes 5120 kps 1 orig-kb 5]",
        f"FAIL dumper h /e {TS} 1 [oops]",
        f"SUCCESS dumper h /e {TS} 1 [sec 1 kb 7 kps 1 orig-kb 7]",
        # the shapes the fast patterns must refuse: a quoted name, level 400+
        f'SUCCESS dumper h "/q r" {TS} 0 [sec 1 kb 3 kps 1 orig-kb 3]',
        f'PART taper {st} TESTCONF004 4 h "/q r" {TS} 1/1 0 [sec 1 kb 3 kps 1 orig-kb 3]',
        f'DONE taper {st} h "/q r" {TS} 1 0 [sec 1 kb 3 kps 1 orig-kb 3]',
        f"SUCCESS dumper h /f {TS} 400 [sec 1 kb 3 kps 1 orig-kb 3]",
        f"PART taper {st} TESTCONF004 5 h /f {TS} 1/1 400 [sec 1 kb 3 kps 1 orig-kb 3]",
        f"DONE taper {st} h /f {TS} 1 400 [sec 1 kb 3 kps 1 orig-kb 3]", ""]))
    (extra / "tapelist").write_text(LOGFILE_PL_TAPES)
    sources.append(extra)

    def fold_all():
        out = []
        for src in sources:
            holding = [src / "holding"] if (src / "holding").is_dir() else []
            cat = catalog_mod.build_catalog(src / "log", src / "tapelist", holding)
            out.append((cat.dumps, [str(d.origin) for d in cat.dumps],
                        [str(c.origin) for d in cat.dumps for c in d.copies if c.kind == "tape"],
                        [str(w) for w in cat.warnings]))
        return out

    fast = fold_all()
    monkeypatch.setattr(catalog_mod._Folder, "fast", False)
    assert fold_all() == fast
    assert sum(len(f[0]) for f in fast) > 20
    dumps, _, _, warned = fast[-1]
    assert [d.available for d in dumps if d.disk == "/q r"] == [True]
    assert sum("level 400 out of range" in w for w in warned) == 3
