"""The catalog index (amanda/catalog_index.py): one volume read through it
is the catalog read from the logs, dump for dump and warning for warning,
however the logs changed since it was last brought up to date; an index
that is damaged or another's is rebuilt, never trusted."""

from __future__ import annotations

import os
import shutil
import sqlite3

import pytest
from amanda_helpers import write_records
from test_amanda_catalog import LOGFILE_PL, LOGFILE_PL_TAPES

from coda_restore.amanda.catalog import build_catalog
from coda_restore.amanda.catalog_index import APPLICATION_ID, IndexUse, default_path
from coda_restore.amanda.sources import load_catalog, load_volume
from paths import DATA, EXAMPLE


def _same_both_ways(logdir, tapelist, use: IndexUse, holding=()) -> int:
    """Every volume read with the index equals the same read without; the
    number of volumes compared."""
    everything = build_catalog(logdir, tapelist, holding)
    volumes = sorted({d.disk for d in everything.dumps})
    for disk in volumes:
        plain = load_catalog(logdir=logdir, tapelist=tapelist, holding=holding, volume=disk)
        indexed = load_catalog(logdir=logdir, tapelist=tapelist, holding=holding, volume=disk, index=use)
        assert indexed == plain, disk
    return len(volumes)


@pytest.mark.parametrize("root", [EXAMPLE, DATA / "amanda" / "broken", DATA / "amanda" / "twohosts"],
                         ids=lambda p: p.name)
def test_every_volume_of_the_sample_records_reads_the_same(root, tmp_path):
    use = IndexUse(tmp_path / "index.sqlite")
    holding = [root / "holding"] if (root / "holding").is_dir() else []
    assert _same_both_ways(root / "log", root / "tapelist", use, holding) > 1
    assert _same_both_ways(root / "log", root / "tapelist", use, holding) > 1  # warm
    assert use.notes == []


NIGHT = """\
START planner date {ts}
START driver date {ts}
START taper datestamp {ts} label {label} tape 1
SUCCESS dumper clihost /usr {ts} {level} [sec 1 kb 100 kps 10.0 orig-kb 100]
SUCCESS chunker clihost /usr {ts} {level} [sec 1 kb 100 kps 10.0]
PART taper {label} 1 clihost /usr {ts} 1/1 {level} [sec 1 kb 100 kps 10.0]
DONE taper clihost /usr {ts} 1 {level} [sec 1 kb 100 kps 10.0]
SUCCESS dumper clihost "/my documents" {ts} {level} [sec 1 kb 100 kps 10.0 orig-kb 100]
PART taper {label} 2 clihost "/my documents" {ts} 1/1 {level} [sec 1 kb 100 kps 10.0]
DONE taper clihost "/my documents" {ts} 1 {level} [sec 1 kb 100 kps 10.0]
FAIL taper clihost /var {ts} {level} error "/usr was slow: nothing of /var written"
PART taper {label} 3 clihost /usr {ts} 1/1 notanumber [a malformed line about /usr ]
"""


def _night(n: int, label: str) -> tuple[str, str]:
    ts = f"202601{n + 1:02d}010000"
    return f"log.{ts}.0", NIGHT.format(ts=ts, label=label, level=0 if n % 3 == 0 else 1)


def test_it_follows_the_logs_as_they_change(tmp_path):
    logs = dict(_night(n, f"T{n % 3}") for n in range(4))
    logs[f"log.{'20071109010002'}.0"] = LOGFILE_PL
    # A START taper stamped otherwise after a volume's last line: Amanda's
    # warning about it comes only for the volumes named after it.
    logs["log.20260102010000.0"] += ("START taper datestamp 20991231000000 label T7 tape 2\n"
                                     "DONE taper clihost /var 20260102010000 1 0 [sec 1 kb 1 kps 1.0]\n")
    tapes = "".join(f"202601{n + 1:02d}010000 T{n % 3} reuse\n" for n in (3, 2, 1)) + LOGFILE_PL_TAPES
    logdir, tapelist = write_records(tmp_path / "records", logs, tapes)
    use = IndexUse(tmp_path / "index.sqlite")
    _same_both_ways(logdir, tapelist, use)
    # A night is written, and its tape reused: a new log, an edited tapelist.
    name, text = _night(4, "T1")
    (logdir / name).write_text(text)
    tapelist.write_text("20260105010000 T1 reuse\n" + tapelist.read_text().replace("T1", "T9"))
    _same_both_ways(logdir, tapelist, use)
    # A log grows while Amanda writes it (a cut last line first, then whole).
    grown = logdir / name
    with grown.open("a") as f:
        f.write("FAIL taper clihost /srv 20260105010000 0 error cut")
    _same_both_ways(logdir, tapelist, use)
    with grown.open("a") as f:
        f.write(" short\n")
    _same_both_ways(logdir, tapelist, use)
    # amtrmlog: one log moved to oldlog/, one deleted.
    os.rename(logdir / "log.20260101010000.0", logdir / "oldlog" / "log.20260101010000.0")
    (logdir / "log.20260102010000.0").unlink()
    _same_both_ways(logdir, tapelist, use)
    # The same size, the same mtime, other bytes: the hash of what was indexed tells.
    victim = logdir / "log.20260103010000.0"
    st = victim.stat()
    victim.write_text(victim.read_text().replace("/usr", "/opt"))
    os.utime(victim, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert victim.stat().st_size == st.st_size
    assert load_volume("/opt", logdir=logdir, tapelist=tapelist, index=use)[0].dumps
    _same_both_ways(logdir, tapelist, use)
    assert use.notes == []


def test_holding_files_are_read_fresh(tmp_path):
    """Holding files are no part of the index: they came or went, it shows."""
    root = tmp_path / "copy"
    shutil.copytree(EXAMPLE, root)
    use = IndexUse(tmp_path / "index.sqlite")
    _same_both_ways(root / "log", root / "tapelist", use, [root / "holding"])
    for f in (root / "holding").rglob("*.u.ann.*"):
        f.unlink()
    _same_both_ways(root / "log", root / "tapelist", use, [root / "holding"])


def _indexed(tmp_path, path) -> IndexUse:
    use = IndexUse(path)
    plain = load_volume("u.ann", logdir=EXAMPLE / "log", tapelist=EXAMPLE / "tapelist")
    assert load_volume("u.ann", logdir=EXAMPLE / "log", tapelist=EXAMPLE / "tapelist", index=use) == plain
    return use


@pytest.mark.parametrize("spoil", ["garbage", "empty-table", "other-app", "other-schema", "truncated"])
def test_a_damaged_or_foreign_index_is_rebuilt_with_a_note(tmp_path, spoil):
    path = tmp_path / "index.sqlite"
    assert _indexed(tmp_path, path).notes == []
    if spoil == "garbage":
        for suffix in ("-wal", "-shm"):
            (tmp_path / f"index.sqlite{suffix}").unlink(missing_ok=True)
        path.write_bytes(b"not a database at all " * 300)
    elif spoil == "truncated":
        db = sqlite3.connect(path)
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        db.close()
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2] + b"\xff" * 4096)
    else:
        db = sqlite3.connect(path)
        if spoil == "empty-table":
            db.execute("DROP TABLE lines")
        elif spoil == "other-app":
            db.execute("PRAGMA application_id=7")
        else:
            db.execute("PRAGMA user_version=99")
        db.commit()
        db.close()
    use = _indexed(tmp_path, path)
    if spoil == "empty-table":  # a sound file, another's layout: sqlite says so when read
        assert use.notes and "rebuilt from the logs" in use.notes[0]
    else:
        assert len(use.notes) == 1 and "rebuilt from the logs" in use.notes[0], use.notes
    assert _indexed(tmp_path, path).notes == []  # sound again
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA application_id").fetchone() == (APPLICATION_ID,)


def test_an_index_of_another_logdir_is_rebuilt(tmp_path):
    path = tmp_path / "index.sqlite"
    load_catalog(volume="u.jan", logdir=DATA / "amanda" / "twohosts" / "log",
                tapelist=DATA / "amanda" / "twohosts" / "tapelist", index=IndexUse(path))
    use = _indexed(tmp_path, path)
    assert len(use.notes) == 1 and "not of" in use.notes[0]


def test_an_index_that_cannot_be_written_is_not_used(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    use = _indexed(tmp_path, blocker / "index.sqlite")  # below a regular file: never a directory
    assert len(use.notes) == 1 and "reading the logs" in use.notes[0]


def test_the_whole_catalog_is_read_from_the_logs(tmp_path):
    """volumes and check read every dump: the index serves one volume."""
    use = IndexUse(tmp_path / "index.sqlite")
    assert load_catalog(logdir=EXAMPLE / "log", tapelist=EXAMPLE / "tapelist", index=use) == \
        load_catalog(logdir=EXAMPLE / "log", tapelist=EXAMPLE / "tapelist")
    assert not (tmp_path / "index.sqlite").exists()


def test_default_place(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    logdir = tmp_path / "log"
    logdir.mkdir()
    beside = default_path(logdir, beside=True)
    assert beside == str(logdir.resolve() / ".coda-restore" / "catalog-index.sqlite")
    cached = default_path(logdir, beside=False)
    assert cached.startswith(str(tmp_path / "cache" / "coda-restore" / "index-")) and cached.endswith(".sqlite")
    assert default_path(tmp_path / "other", beside=False) != cached
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert default_path(logdir, beside=False).startswith(os.path.expanduser("~/.cache/coda-restore/"))


def test_a_directory_in_the_way_is_not_used(tmp_path):
    (tmp_path / "index.sqlite").mkdir()
    use = _indexed(tmp_path, tmp_path / "index.sqlite")
    assert len(use.notes) == 1 and "reading the logs" in use.notes[0]



def test_readers_and_writers_at_once_see_whole_updates(tmp_path):
    """Four readers at once on a new index, while nights are written: each
    read is one whole state of the logs (flock writer lock, WAL snapshot)."""
    import threading

    logs = dict(_night(n, f"T{n % 3}") for n in range(2))
    logdir, tapelist = write_records(tmp_path / "records", logs, "20260102010000 T1 reuse\n20260101010000 T0 reuse\n")
    path = tmp_path / "index.sqlite"
    states = []  # what a read may answer: the catalog after each night
    for n in range(2, 6):
        states.append(load_catalog(logdir=logdir, tapelist=tapelist, volume="/usr"))
        name, text = _night(n, "T2")
        (tmp_path / name).write_text(text)  # written below, one at a time
    answers, errors = [], []

    def read():
        try:
            for _ in range(6):
                use = IndexUse(path)
                answers.append(load_catalog(logdir=logdir, tapelist=tapelist, volume="/usr", index=use))
                errors.extend(use.notes)
        except Exception as err:  # noqa: BLE001 - reported below
            errors.append(repr(err))

    threads = [threading.Thread(target=read) for _ in range(4)]
    for t in threads:
        t.start()
    for n in range(2, 6):
        name, _ = _night(n, "T2")
        os.rename(tmp_path / name, logdir / name)  # a whole log appears at once
        states.append(load_catalog(logdir=logdir, tapelist=tapelist, volume="/usr"))
    for t in threads:
        t.join()
    assert errors == []
    assert answers and all(a in states for a in answers)
