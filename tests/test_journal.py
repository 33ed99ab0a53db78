import pytest

from coda_restore.executor.journal import ForeignJournal, Journal, SpooledImage, sha256_of


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
