"""files.output: a device or a FIFO is written in place, never replaced by a
regular file (as root, replacing /dev/null with a file breaks the machine)."""

import os
import stat
import threading

import pytest

from coda_restore.errors import CannotOpen, OutputExists
from coda_restore.voldump.files import output


@pytest.mark.parametrize("force", [False, True])
def test_a_character_device_stays_a_device(tmp_path, force):
    null = tmp_path / "null"
    os.mknod(null, stat.S_IFCHR | 0o666, os.makedev(1, 3))  # a private /dev/null
    with output(null, force=force) as out:
        out.write(b"x" * 100000)
    assert stat.S_ISCHR(os.stat(null).st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["null"]  # no temporary file left


def test_a_fifo_is_written_into(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got = bytearray()
    reader = threading.Thread(target=lambda: got.extend(open(fifo, "rb").read()))
    reader.start()
    with output(fifo) as out:
        out.write(b"dump bytes")
    reader.join(10)
    assert bytes(got) == b"dump bytes" and stat.S_ISFIFO(os.stat(fifo).st_mode)


def test_a_regular_file_is_still_refused_without_force(tmp_path):
    f = tmp_path / "merged"
    f.write_bytes(b"keep me")
    with pytest.raises(OutputExists):
        with output(f) as out:
            out.write(b"new")
    assert f.read_bytes() == b"keep me"


def test_a_directory_is_refused(tmp_path):
    with pytest.raises(CannotOpen, match="is a directory"):
        with output(tmp_path, force=True):
            pass
