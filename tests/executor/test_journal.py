import pytest

from coda_restore.errors import BadJournal, ForeignJournal
from coda_restore.executor.journal import Journal, SpooledImage, sha256_of


def _spool(tmp_path, name, data):
    p = tmp_path / name
    p.write_bytes(data)
    return SpooledImage(key=name, path=str(p), bytes=len(data), sha256=sha256_of(p))


def test_a_rerun_of_the_same_plan_finds_verified_images(tmp_path):
    j = Journal(tmp_path, "a" * 64)
    j.record_spooled(_spool(tmp_path, "img1", b"x" * 100))
    again = Journal(tmp_path, "a" * 64)
    assert again.verified("img1").bytes == 100
    assert again.verified("img2") is None


def test_a_damaged_spool_file_is_not_trusted(tmp_path):
    j = Journal(tmp_path, "a" * 64)
    image = _spool(tmp_path, "img1", b"x" * 100)
    j.record_spooled(image)
    (tmp_path / "img1").write_bytes(b"y" * 100)  # same size, other bytes
    assert Journal(tmp_path, "a" * 64).verified("img1") is None


def test_a_journal_of_another_plan_is_refused(tmp_path):
    Journal(tmp_path, "a" * 64).record_restore_started("u.jan.restored")
    with pytest.raises(ForeignJournal, match="another plan"):
        Journal(tmp_path, "b" * 64)


def test_a_corrupt_journal_is_one_clear_error_not_a_traceback(tmp_path):
    from coda_restore.executor.journal import restore_started

    (tmp_path / "journal.json").write_bytes(b'{"plan_hash": "ab", "spool')  # cut by a full disk, say
    with pytest.raises(BadJournal, match="journal.json cannot be read"):
        Journal(tmp_path, "ab")
    with pytest.raises(BadJournal):
        restore_started(tmp_path, "ab")


def test_the_volume_a_stopped_restore_was_making_is_known_to_a_rerun_of_the_same_plan(tmp_path):
    from coda_restore.executor.journal import restore_started

    Journal(tmp_path, "ab").record_restore_started("u.jan.20260513")
    assert restore_started(tmp_path, "ab") == "u.jan.20260513"
    assert restore_started(tmp_path, "another plan") is None
    assert restore_started(tmp_path / "none", "ab") is None
