"""Holding-disk dumps from their 32 KiB headers (ref amanda-formats.md §4)."""

from __future__ import annotations

import os

from coda_restore.amanda.catalog import build_catalog
from coda_restore.amanda.header import HEADER_BYTES, parse_header
from coda_restore.amanda.holding import scan_holding
from coda_restore.amanda.model import DumpStatus

FIRST = ("AMANDA: FILE 20171108153316 localhost.localdomain /bootAMGTAR lev 1 comp .gz program APPLICATION\n"
         "APPLICATION=amgtar\n{cont}ORIGSIZE=64\n{partial}NATIVE-CRC=48ced934:65536\n"
         "DLE=<<ENDDLE\n<dle>\n  <program>APPLICATION</program>\n</dle>\nENDDLE\n"
         "To restore, position tape at start of file and run:\n"
         "\tdd if=<tape> bs=32k skip=1 | /usr/bin/gzip -dc | amgtar restore [./file-to-restore]+\n\f\n")
CONT = "AMANDA: CONT_FILE 20171108153316 localhost.localdomain /bootAMGTAR lev 1 comp .gz program APPLICATION\n{cont}\f\n"


def _write(path, header: str, data: bytes = b"x" * 2048):
    block = header.encode().ljust(HEADER_BYTES, b"\0")
    path.write_bytes(block + data)


def test_parse_header_of_a_3x_holding_file():
    h = parse_header(FIRST.format(cont="", partial="").encode().ljust(HEADER_BYTES, b"\0"))
    assert (h.type, h.datestamp, h.host, h.disk, h.level, h.program, h.application, h.compression, h.orig_kb,
            h.partial) == ("FILE", "20171108153316", "localhost.localdomain", "/bootAMGTAR", 1, "APPLICATION",
                           "amgtar", ".gz", 64, False)


def test_quoted_disk_in_header():
    h = parse_header(b'AMANDA: FILE 20260302005959 localhost "coda:root" lev 0 comp N program APPLICATION\n')
    assert (h.disk, h.compression) == ("coda:root", None)


def test_chunks_partial_tmp_and_busy_directories(tmp_path):
    hd1, hd2 = tmp_path / "hd1", tmp_path / "hd2"
    run1, run2 = hd1 / "20171108153316", hd2 / "20171108153316"
    run1.mkdir(parents=True)
    run2.mkdir(parents=True)
    second = run2 / "localhost.localdomain._bootAMGTAR.1.1"  # a chunk on another holding disk
    _write(run1 / "localhost.localdomain._bootAMGTAR.1", FIRST.format(cont=f"CONT_FILENAME={second}\n", partial=""))
    _write(second, CONT.format(cont=""))
    _write(run1 / "localhost.localdomain._other.0.tmp", FIRST.format(cont="", partial=""))  # being written
    salvaged = FIRST.format(cont="", partial="PARTIAL=YES\n").replace("/bootAMGTAR lev 1", "/salvaged lev 0")
    _write(run1 / "localhost.localdomain._salvaged.0", salvaged)
    (run1 / "lost+found").mkdir()
    busy = hd1 / "20171109000000"
    busy.mkdir()
    (busy / "pid").write_text(str(os.getpid()))
    _write(busy / "localhost.localdomain._busy.0", FIRST.format(cont="", partial=""))
    warnings = []
    found = scan_holding([str(hd1), str(hd2)], warnings)
    assert warnings == []
    got = {(h.header.disk, h.copy.status, h.copy.chunks, h.copy.kb) for h in found}
    assert got == {
        ("/bootAMGTAR", DumpStatus.OK, (str(run1 / "localhost.localdomain._bootAMGTAR.1"), str(second)), 4),
        ("/salvaged", DumpStatus.PARTIAL, (str(run1 / "localhost.localdomain._salvaged.0"),), 2),
    }


def test_a_missing_next_chunk_makes_the_copy_partial(tmp_path):
    run = tmp_path / "hd" / "20171108153316"
    run.mkdir(parents=True)
    _write(run / "h._d.1", FIRST.format(cont=f"CONT_FILENAME={run}/h._d.1.1\n", partial=""))
    warnings = []
    [h] = scan_holding([str(tmp_path / "hd")], warnings)
    assert h.copy.status is DumpStatus.PARTIAL and not h.copy.available
    assert [str(w) for w in warnings] == [f"{run}/h._d.1: next chunk {run}/h._d.1.1: No such file or directory"]


def test_holding_copy_joins_the_dump_from_the_logs(tmp_path):
    logdir = tmp_path / "log"
    logdir.mkdir()
    (logdir / "log.20171108153316.0").write_text(
        "START driver date 20171108153316\n"
        "SUCCESS dumper localhost.localdomain /bootAMGTAR 20171108153316 1 48ced934:65536 48ced934:65536 "
        "[sec 0.748 kb 64 kps 85.5 orig-kb 64]\n")
    run = tmp_path / "hd" / "20171108153316"
    run.mkdir(parents=True)
    _write(run / "localhost.localdomain._bootAMGTAR.1", FIRST.format(cont="", partial=""))
    cat = build_catalog(logdir, None, [tmp_path / "hd"])
    [d] = cat.dumps
    assert d.available and d.recorded and [c.kind for c in d.copies] == ["holding"]
