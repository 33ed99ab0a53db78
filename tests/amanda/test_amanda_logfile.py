"""The log tokenizer and grammar: Amanda's quoting rules and the dump-result
lines of every generation (example lines from ref amanda-formats.md §1.6)."""

from __future__ import annotations

import pytest

from coda_restore.amanda.logfile import (
    LogSyntaxError,
    LogType,
    Program,
    Start,
    parse_result,
    parse_start,
    quote,
    read_log,
    tokens,
    ts14,
    unquote,
)


def res(line: str):
    typ, prog, payload = line.split(" ", 2)
    return parse_result(LogType(typ), Program(prog), payload, 1)


# -- quoting (§1.3) ---------------------------------------------------------

def test_a_quoted_token_with_spaces_is_one_token():
    assert tokens('taper clihost "/my documents" 20071109010002 1 0') == [
        "taper", "clihost", '"/my documents"', "20071109010002", "1", "0"]


def test_storage_tokens_and_escaped_quotes_stay_whole():
    assert tokens('"ST:vtapes" "POOL:vtapes" "a \\"b\\" c" x') == ['"ST:vtapes"', '"POOL:vtapes"', '"a \\"b\\" c"', "x"]


def test_unquote_decodes_every_escape_and_drops_inner_quotes():
    assert unquote('"/my documents"') == "/my documents"
    assert unquote('"a\\tb\\nc\\\\d\\"e"') == 'a\tb\nc\\d"e'
    assert unquote('"\\101\\0B"') == "AB"  # octal; a NUL result is dropped
    assert unquote('ab"cd"ef') == "abcdef"  # every unescaped quote goes
    assert unquote('"\\q"') == "q"


def test_quote_is_the_inverse_and_quotes_what_amanda_quotes():
    for s in ("/usr", "C:/", "/my documents", 'a"b', "tab\there", "ünï", ""):
        assert unquote(quote(s)) == s
    assert quote("/usr") == "/usr"
    assert quote("C:/") == '"C:/"'
    assert quote("ünï").startswith('"')  # bytes >= 0x80 force quoting
    assert quote("") == '""'


def test_8_digit_datestamps_are_zero_padded_to_14():
    assert ts14("20100722") == "20100722000000"
    assert ts14("20100722123456") == "20100722123456"


# -- START lines ------------------------------------------------------------

def test_start_taper_of_every_generation():
    old = parse_start(Program.TAPER, "datestamp 20100722 label Conf-009 tape 0", 3)
    assert (old.datestamp, old.label, old.storage, old.pool) == ("20100722", "Conf-009", None, None)
    new = parse_start(Program.TAPER, 'datestamp 20171108153316 "ST:vtapes" "POOL:vtapes" label '
                      "test-ORG-AA-vtapes-001608 tape 1", 3)
    assert (new.label, new.storage, new.pool) == ("test-ORG-AA-vtapes-001608", "vtapes", "vtapes")
    vault = parse_start(Program.TAPER, 'datestamp 20171109071556 "ST:vault" label v-010 tape 2', 3)
    assert (vault.storage, vault.pool) == ("vault", None)


def test_start_of_a_run():
    assert parse_start(Program.AMFLUSH, "date 20100303132501", 1) == Start(
        Program.AMFLUSH, "20100303132501", None, None, None, 1)
    with pytest.raises(LogSyntaxError, match="expected 'date D'"):
        parse_start(Program.DRIVER, "data 2010", 1)


# -- dump-result lines, by generation (§1.6) --------------------------------

def test_242_taper_success_without_datestamp():
    r = res("SUCCESS taper host1 /usr 1 [sec 1.0 kb 100 kps 100.0]")
    assert (r.datestamp, r.level, r.partnum, r.kb) == (None, 1, 1, 100)


def test_24_25_taper_success_with_wr_stats():
    r = res("SUCCESS taper lovelace /home/ada 20100722 3 [sec 0.883 kb 166976 kps 188922.8 "
            "{wr: writers 5219 rdwait 0.001 wrwait 0.710 filemark 0.000}]")
    assert (r.host, r.disk, r.datestamp, r.level, r.kb, r.label) == (
        "lovelace", "/home/ada", "20100722", 3, 166976, None)


def test_25_chunk_chunksuccess_and_spanning_fail():
    c = res("CHUNK taper host1 /big 20070301 2 0 [sec 80.0 kb 900000 kps 11250.0 {wr: x}]")
    assert (c.type, c.partnum, c.totalparts, c.level) == (LogType.CHUNK, 2, -1, 0)
    s = res("CHUNKSUCCESS taper host1 /big 20070301 0 [sec 230.0 kb 2448576 kps 10646.0 {wr: x}]")
    assert (s.partnum, s.level, s.kb) == (-1, 0, 2448576)
    f = res("FAIL taper host1 /big 20070301.2 0 [out of tape]")
    assert (f.datestamp, f.level, f.message) == ("20070301", 0, "[out of tape]")


def test_26_33_part_done_partpartial_and_fail_with_source():
    p = res("PART taper Conf-001 1 euclid /A/b/server-src 20100303153307 1/-1 0 "
            "[sec 0.020357 kb 5120 kps 251515.911452 orig-kb 21830]")
    assert (p.label, p.filenum, p.partnum, p.totalparts, p.level, p.kb) == ("Conf-001", 1, 1, -1, 0, 5120)
    pp = res('PARTPARTIAL taper Conf-001 4 euclid /A/b/server-src 20100303153307 4/-1 0 '
             '[sec 0.017390 kb 4960 kps 285216.405648 orig-kb 21830] "No space left on device"')
    assert (pp.type, pp.partnum, pp.message) == (LogType.PARTPARTIAL, 4, "No space left on device")
    d = res("DONE taper euclid /A/b/server-src 20100303153307 5 0 [sec 0.089405 kb 21830 kps 244169.966680 "
            "orig-kb 21830]")
    assert (d.partnum, d.level, d.kb) == (5, 0, 21830)
    b = res("DONE taper localhost.localdomain /bootAMGTAR 20160411102219 1 1 "
            "[sec 11.000000 bytes 131072 kps 11.636364 orig-kb 128]")
    assert b.kb == 128  # bytes, converted
    f = res('FAIL taper localhost.localdomain /bootAMGTAR1 20160411102219 1 error "Got empty header"')
    assert (f.level, f.message) == (1, "Got empty header")


def test_34_storage_pool_prefixes_and_crcs():
    p = res('PART taper "ST:vtapes" "POOL:vtapes" test-ORG-AA-vtapes-001608 1 localhost.localdomain '
            "/bootAMGTAR 20171108153316 1/-1 1 [sec 0.032676 bytes 65536 kps 1958.624067 orig-kb 64]")
    assert (p.storage, p.pool, p.label, p.filenum, p.level, p.kb) == (
        "vtapes", "vtapes", "test-ORG-AA-vtapes-001608", 1, 1, 64)
    d = res('DONE taper "ST:vtapes" "POOL:vtapes" localhost.localdomain /bootAMGTAR 20171108153316 1 1 '
            "48ced934:65536 48ced934:65536 48ced934:65536 [sec 0.100000 bytes 65536 kps 640.000000 orig-kb 64]")
    assert (d.storage, d.partnum, d.level, d.kb) == ("vtapes", 1, 1, 64)
    v = res('FAIL taper VAULT "ST:vault" "POOL:vault" localhost.localdomain /bootAMGTAR 20171108153316 1 '
            'error "Source Volume \'\' not found"')
    assert (v.storage, v.level, v.message) == ("vault", 1, "Source Volume '' not found")
    s = res("SUCCESS dumper localhost.localdomain /bootAMGTAR 20171108153316 1 48ced934:65536 48ced934:65536 "
            "[sec 0.748 kb 64 kps 85.5 orig-kb 64]")
    assert (s.program, s.level, s.kb) == (Program.DUMPER, 1, 64)


def test_partial_taper_with_and_without_nparts():
    with_n = res("PARTIAL taper ns-new.slikon.local /opt/var 20090326001503 1 0 "
                 "[sec 3.555085 kb 54929 kps 15451.027696]")
    assert (with_n.partnum, with_n.level) == (1, 0)
    without = res('PARTIAL taper otherbox /lib 20080414144444 1 [sec 0.000540 kb 32 kps 59259.259259] "full-up"')
    assert (without.partnum, without.level, without.message) == (1, 1, "full-up")


def test_strange_dumper_has_no_datestamp():
    r = res("STRANGE dumper bsdfw.slikon.local / 0 [sec 1775.514 kb 2317814 kps 1305.4 orig-kb 5401240]")
    assert (r.type, r.datestamp, r.level, r.kb) == (LogType.STRANGE, None, 0, 2317814)


def test_quoted_disk_and_windows_names():
    r = res('FAIL planner 1.2.3.4 "C:/" 20100313212012 0 "[Request to 1.2.3.4 failed: recv error: '
            'Connection reset by peer]"')
    assert (r.host, r.disk, r.message) == ("1.2.3.4", "C:/", "[Request to 1.2.3.4 failed: recv error: "
                                           "Connection reset by peer]")
    q = res('PART taper TESTCONF002 2 clihost "/my documents" 20071109010002 1 0 [diskname quoting]')
    assert q.disk == "/my documents"


def test_planner_skip_is_not_a_dump():
    assert res('SUCCESS planner ns-new.slikon.local /boot 20090326001503 1 "[skipped: skip-incr]"') is None


def test_double_space_before_the_part_number():
    r = res("PARTPARTIAL taper TESTCONF002 11 thatbox /u_lose 20071109010002  3/4 2 [multi-part retry]")
    assert (r.partnum, r.totalparts, r.level) == (3, 4, 2)


@pytest.mark.parametrize("line, message", [
    ("PART taper lab-01 one localhost u.jan 20260302005959 1/-1 0 [sec 1 kb 1 kps 1]",
     "expected a file number, got 'one'"),
    ("DONE taper localhost u.jan 2026030 1 0 [sec 1 kb 1 kps 1]", "expected a datestamp, got '2026030'"),
    ("SUCCESS dumper localhost", "expected host, disk and level"),
    ("SUCCESS dumper localhost u.jan 20260302005959 x [sec 1 kb 1 kps 1]", "expected a level, got 'x'"),
    ("SUCCESS dumper localhost u.jan 20260302005959 400 [sec 1 kb 1 kps 1]", "level 400 out of range 0..399"),
])
def test_malformed_lines_name_what_is_wrong(line, message):
    with pytest.raises(LogSyntaxError) as err:
        res(line)
    assert str(err.value) == message


def test_read_log_skips_cont_info_and_comment_lines(tmp_path):
    log = tmp_path / "log.20090326001503.0"
    log.write_text(
        "START driver date 20090326001503\n"
        "FAIL dumper jamon.slikon.local /var 20090326001503 0 [/bin/tar exited with status 2]\n"
        "  blah blah blah\n"
        "  SUCCESS dumper not a record 1 2 3\n"
        "INFO taper Will request retry of failed split part.\n"
        "\n"
        "# a comment in a test catalog\n"
        "FINISH driver date 20090326001503 time 3.0\n")
    warnings = []
    entries = list(read_log(str(log), warnings))
    assert [type(e).__name__ for e in entries] == ["Start", "Result", "Finish"]
    assert entries[1].message == "[/bin/tar exited with status 2]" and entries[1].line == 2
    assert warnings == []


@pytest.mark.parametrize("line", [
    'PART taper "ST:vtapes" "POOL:vtapes" test-ORG-AA-vtapes-001608 1 localhost.localdomain /bootAMGTAR '
    "20171108153316 1/-1 1 [sec 0.032676 bytes 65536 kps 1958.624067 orig-kb 64]",
    "PART taper Conf-001 1 euclid /A/b/server-src 20100303153307 1/-1 0 [sec 0.020357 kb 5120 kps 251515.9]",
    "PART taper Conf-007 2 somebox /lib 20080616166666 1/2 1 [sec 0.000370 kb 20 kps 54054.054054 orig-kb 20]",
    'DONE taper "ST:vtapes" "POOL:vtapes" localhost.localdomain /bootAMGTAR 20171108153316 1 1 48ced934:65536 '
    "48ced934:65536 48ced934:65536 [sec 0.100000 bytes 65536 kps 640.000000 orig-kb 64]",
    'DONE taper "ST:TESTCONF" localhost.localdomain /boot1 20090225080737 1 0 [sec 0.250557 kb 12 kps 156611.07]',
    "DONE taper euclid /A/b/server-src 20100303153307 5 0 [sec 0.089405 kb 21830 kps 244169.966680]",
    "SUCCESS dumper localhost.localdomain /bootAMGTAR 20171108153316 1 48ced934:65536 48ced934:65536 "
    "[sec 0.748 kb 64 kps 85.5 orig-kb 64]",
    "SUCCESS chunker localhost.localdomain /bootAMGTAR 20171108153316 1 48ced934:65536 [sec 0.100523 kb 64 kps 636.6]",
    "SUCCESS dumper lovelace /home/ada 20100722 3 [sec 19.271 kb 166951 kps 8663.1 orig-kb 208420]",
])
def test_the_fast_path_reads_a_line_as_the_full_parser_does(line):
    from coda_restore.amanda.logfile import match_done, match_part, match_success, parse_line

    typ, prog, payload = line.split(" ", 2)
    match = {"PART": match_part, "DONE": match_done, "SUCCESS": match_success}[typ]
    assert match(payload) is not None  # parse_line takes the fast path for it
    fast = parse_line(line + "\n", 7, "log", [])
    assert fast == parse_result(LogType(typ), Program(prog), payload, 7)
