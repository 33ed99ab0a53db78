"""The tapelist, every generation of its format (ref amanda-formats.md §2.1)."""

from __future__ import annotations

import pytest

from coda_restore.amanda.model import TapelistEntry
from coda_restore.amanda.tapelist import parse_tapelist_line, read_tapelist


def test_every_generation_of_the_line():
    assert parse_tapelist_line("20080111 Conf-001\n") == TapelistEntry("20080111", "Conf-001")
    assert parse_tapelist_line("20090225080737 Conf-001 reuse") == TapelistEntry("20090225080737", "Conf-001")
    assert parse_tapelist_line("20090225080737 Conf-002 no-reuse").reuse is False
    full = parse_tapelist_line("20171108153316 test-ORG-AA-vtapes-001608 reuse BARCODE:AB1234L5 META:M1 "
                               "BLOCKSIZE:32 POOL:vtapes STORAGE:vtapes CONFIG:test #kept for audit")
    assert (full.barcode, full.meta, full.blocksize, full.pool, full.storage, full.config, full.comment) == (
        "AB1234L5", "M1", 32, "vtapes", "vtapes", "test", "kept for audit")
    fresh = parse_tapelist_line("0 DAILY-17 reuse BARCODE:AB1234L5 POOL:daily")
    assert (fresh.datestamp, fresh.storage) == ("0", None)


@pytest.mark.parametrize("line, message", [
    ("Conf-001", "expected 'DATESTAMP LABEL'"),
    ("2008011 Conf-001", "expected a datestamp (0, 8 or 14 digits), got '2008011'"),
    ("20080111 Conf-001 reuse WHAT:x", "unexpected field 'WHAT:x'"),
    ("20080111 Conf-001 BLOCKSIZE:big", "expected a number after BLOCKSIZE:, got 'big'"),
])
def test_malformed_lines(line, message):
    with pytest.raises(ValueError) as err:
        parse_tapelist_line(line)
    assert str(err.value) == message


def test_positions_newest_first_ties_in_file_order_and_bad_lines_warned(tmp_path):
    path = tmp_path / "tapelist"
    path.write_text("20080111 A\n20080112000000 B reuse\ngarbage\n20080111 C\n0 D\n20080111 A\n")
    warnings = []
    entries = read_tapelist(str(path), warnings)
    assert [(e.label, e.position) for e in entries] == [("B", 1), ("A", 2), ("C", 3), ("D", 4)]
    assert [str(w) for w in warnings] == [
        f"{path}:3: malformed tapelist line: expected 'DATESTAMP LABEL'",
        f"{path}:6: label 'A' listed twice; the first entry counts"]


def test_a_missing_tapelist_is_empty_with_a_warning(tmp_path):
    warnings = []
    assert read_tapelist(str(tmp_path / "nope"), warnings) == ()
    assert [w.message for w in warnings] == ["no tapelist: every tape copy counts as gone"]
