"""The tree walk and the sinks, fed literal vnode records (no dump bytes):
names, hard links, orphans, selection, and every way a name could escape."""

from __future__ import annotations

import io
import os
import tarfile

import pytest

from coda_restore.errors import NotRestorable, OutputExists, UnsafeName, UsageError
from coda_restore.voldump import dirpage
from coda_restore.voldump.extract import ExtractOptions, extract_records
from coda_restore.voldump.sinks import DirectorySink, ListSink, TarSink
from coda_restore.voldump.records import DataKind, DumpHeader, IndexHeader, VnodeClass, Vnode
from coda_restore.voldump.tree import Kind, Meta, ProblemKind, build_layout, parse_path, show_path
from trees import on_disk


def dirv(fid, parent, entries, mode=0o755, mtime=1_700_000_100):
    pages = b"".join(dirpage.encode(fid, parent, entries))
    return Vnode(fid[0], fid[1], type=2, mode=mode, mtime=mtime, owner=500, vparent=parent[0], uparent=parent[1],
                 data=DataKind.DIRPAGES, size=len(pages) // 2048, pages=pages)


def filev(fid, data, type_=1, mode=0o644, mtime=1_700_000_200, links=1):
    return Vnode(fid[0], fid[1], type=type_, mode=mode, mtime=mtime, owner=501, link_count=links,
                 length=len(data), data=DataKind.FILEDATA, size=len(data))


class Dump:
    """Records of a full dump and their file data, as the reader hands them out."""

    def __init__(self, dirs, files, level=0):
        self.data = {v.fid: d for v, d in files}
        self.records = [DumpHeader(0x01000005, level=level), IndexHeader(VnodeClass.LARGE, len(dirs), 8), *dirs,
                        IndexHeader(VnodeClass.SMALL, len(files), 8), *(v for v, _ in files)]

    def chunks(self, v):
        d = self.data[v.fid]
        return [d[i : i + 3] for i in range(0, len(d), 3)] or [b""]

    def run(self, sink, **kw):
        return extract_records(self.records, self.chunks, sink, ExtractOptions(**kw), "test.dump")


def sample():
    root = dirv((1, 1), (1, 1), [(b"a.txt", (2, 3)), (b"sub", (3, 2)), (b"link", (6, 5)), (b"hard", (2, 3))])
    sub = dirv((3, 2), (1, 1), [(b"b.txt", (4, 4)), (b"deeper", (5, 6))], mode=0o555)
    deeper = dirv((5, 6), (3, 2), [])
    orphan_dir = dirv((7, 9), (1, 1), [(b"lost.txt", (10, 10))])
    files = [
        (filev((2, 3), b"hello world\n", links=2), b"hello world\n"),
        (filev((4, 4), b"B" * 5000), b"B" * 5000),
        (filev((6, 5), b"a.txt", type_=3, mode=0o777), b"a.txt"),
        (filev((8, 8), b"unnamed"), b"unnamed"),
        (filev((10, 10), b"in orphan dir"), b"in orphan dir"),
    ]
    return Dump([root, sub, deeper, orphan_dir], files)


def test_extract_to_a_directory(tmp_path):
    res = sample().run(DirectorySink(tmp_path / "out"))
    got = on_disk(tmp_path / "out", nlink=True)
    assert got == {
        b"a.txt": ("file", b"hello world\n", 0o644, 1_700_000_200, 2),
        b"hard": ("file", b"hello world\n", 0o644, 1_700_000_200, 2),
        b"link": ("link", b"a.txt"),
        b"sub": ("dir", 0o555, 1_700_000_100),
        b"sub/b.txt": ("file", b"B" * 5000, 0o644, 1_700_000_200, 1),
        b"sub/deeper": ("dir", 0o755, 1_700_000_100),
    }
    assert (res.directories, res.files, res.symlinks, res.hardlinks, res.bytes) == (2, 2, 1, 1, 5012)
    assert res.orphans == 3  # dir 7.9, file 10.10 inside it, unnamed 8.8
    os.chmod(tmp_path / "out" / "sub", 0o755)


def test_orphans_go_to_lost_found_on_request(tmp_path):
    sample().run(DirectorySink(tmp_path / "out"), orphans=True)
    got = on_disk(tmp_path / "out")
    assert got[b"lost+found/00000008.00000008"][1] == b"unnamed"
    assert got[b"lost+found/00000007.00000009/lost.txt"][1] == b"in orphan dir"
    os.chmod(tmp_path / "out" / "sub", 0o755)


def test_selection_extracts_the_subtree_and_its_parents(tmp_path):
    sample().run(DirectorySink(tmp_path / "out"), paths=(parse_path("/sub/b.txt"),))
    assert sorted(on_disk(tmp_path / "out")) == [b"sub", b"sub/b.txt"]
    os.chmod(tmp_path / "out" / "sub", 0o755)


def test_a_path_not_in_the_dump_is_a_usage_error_before_writing(tmp_path):
    with pytest.raises(UsageError, match="no such path"):
        sample().run(DirectorySink(tmp_path / "out"), paths=(parse_path("nope"),))
    assert os.listdir(tmp_path) == []  # not even the target


def test_tar_stream_matches(tmp_path):
    buf = io.BytesIO()
    sample().run(TarSink(buf))
    buf.seek(0)
    with tarfile.open(fileobj=buf) as tar:
        members = {m.name: m for m in tar.getmembers()}
        assert sorted(members) == ["a.txt", "hard", "link", "sub", "sub/b.txt", "sub/deeper"]
        assert tar.extractfile("sub/b.txt").read() == b"B" * 5000
        assert members["hard"].islnk() and members["hard"].linkname == "a.txt"
        assert members["link"].issym() and members["link"].linkname == "a.txt"
        assert members["sub"].mode == 0o555 and members["sub"].uid == 500
        assert members["a.txt"].mtime == 1_700_000_200


@pytest.mark.parametrize("bad", [b"../escape", b"/etc/passwd", b"a/../../b"])
def test_names_that_escape_are_refused_before_anything_is_written(tmp_path, bad):
    root = dirv((1, 1), (1, 1), [(b"ok", (2, 1)), (bad, (4, 1))])
    dump = Dump([root], [(filev((2, 1), b"fine"), b"fine"), (filev((4, 1), b"evil"), b"evil")])
    out = tmp_path / "out"
    with pytest.raises(UnsafeName) as exc:
        dump.run(DirectorySink(out))
    assert exc.value.exit_status == 4
    assert os.listdir(tmp_path) == []


def test_an_existing_symlink_in_the_target_is_never_followed(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    out = tmp_path / "out"
    out.mkdir()
    os.symlink(outside, out / "sub")  # planted where the dump has a directory
    os.symlink(outside / "a.txt", out / "a.txt")  # and where it has a file
    with pytest.raises(OutputExists):
        sample().run(DirectorySink(out))
    assert os.listdir(outside) == []
    # --force replaces the planted symlinks themselves, still writes nothing outside.
    sample().run(DirectorySink(out, force=True))
    assert os.listdir(outside) == []
    assert not os.path.islink(out / "sub") and (out / "sub" / "b.txt").read_bytes() == b"B" * 5000
    os.chmod(out / "sub", 0o755)


def test_existing_files_are_kept_unless_force(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "a.txt").write_bytes(b"mine")
    with pytest.raises(OutputExists, match="a.txt"):
        sample().run(DirectorySink(out))
    assert (out / "a.txt").read_bytes() == b"mine"
    os.chmod(out / "sub", 0o755)


def test_an_incremental_alone_is_refused():
    with pytest.raises(NotRestorable, match="incremental"):
        Dump([], [], level=1).run(TarSink(io.BytesIO()))


def test_layout_problems_are_recorded_not_fatal():
    root = dirv((1, 1), (1, 1), [(b"d1", (3, 2)), (b"d2", (3, 2)), (b"ghost", (9, 9)), (b"\x1b[2J", (2, 1))])
    d = dirv((3, 2), (1, 1), [(b"up", (1, 1))])
    lay = build_layout([(Meta.of(root), dirpage.decode(root.pages)), (Meta.of(d), dirpage.decode(d.pages))])
    kinds = sorted(((p.kind, p.path) for p in lay.problems), key=lambda kp: kp[1])
    assert kinds == [
        (ProblemKind.DIRECTORY_LINK, (b"d1", b"up")),
        (ProblemKind.DIRECTORY_LINK, (b"d2",)),
        (ProblemKind.DANGLING, (b"ghost",)),
    ]
    assert lay.dir_path[(3, 2)] == (b"d1",)
    assert show_path((b"\x1b[2J", b"\xff")) == "\\x1b[2J/\\xff"
    assert Meta.of(filev((2, 1), b"")).kind is Kind.FILE


def test_symlinks_no_system_can_make_are_skipped_with_a_note(tmp_path):
    root = dirv((1, 1), (1, 1), [(b"empty", (2, 1)), (b"nul", (4, 1)), (b"ok", (6, 1))])
    dump = Dump([root], [(filev((2, 1), b"", type_=3), b""), (filev((4, 1), b"a\0b", type_=3), b"a\0b"),
                         (filev((6, 1), b"x", type_=3), b"x")])
    res = dump.run(DirectorySink(tmp_path / "out"))
    assert os.listdir(tmp_path / "out") == ["ok"]
    assert [n for n in res.notes if "cannot be created" in n] == [
        "empty: symlink target b'' cannot be created; skipped",
        "nul: symlink target b'a\\x00b' cannot be created; skipped",
    ]


def test_a_listing_shows_symlinks_with_an_empty_target_as_the_server_keeps_them(tmp_path):
    # ref §23: 10 of 47 listings differed from the real server's for this alone
    root = dirv((1, 1), (1, 1), [(b"empty", (2, 1)), (b"ok", (6, 1))])
    dump = Dump([root], [(filev((2, 1), b"", type_=3), b""), (filev((6, 1), b"x", type_=3), b"x")])
    sink = ListSink()
    res = dump.run(sink)
    assert [(e.path, e.target) for e in sink.entries] == [((b"empty",), b""), ((b"ok",), b"x")]
    assert res.not_created == [] and res.symlinks == 2
    res = dump.run(DirectorySink(tmp_path / "out"))
    assert res.not_created == ["empty"] and os.listdir(tmp_path / "out") == ["ok"]


def test_write_errors_name_the_file_and_leave_no_half_file(tmp_path):
    from coda_restore.errors import TruncatedDump, WriteFailed

    out = tmp_path / "out"
    out.mkdir()
    (out / "sub").write_bytes(b"")  # a file where the dump has a directory
    sink = DirectorySink(out)
    with pytest.raises(OutputExists, match="sub"):
        sample().run(sink)
    sink.close()
    sample().run(DirectorySink(out, force=True))  # force replaces the file by the directory
    assert (out / "sub" / "b.txt").read_bytes() == b"B" * 5000
    os.chmod(out / "sub", 0o755)

    def cut(v):
        yield b"part"
        raise TruncatedDump(99, "file data", 12, 4)

    d = sample()
    d.chunks = cut
    sink = DirectorySink(tmp_path / "cut")
    with pytest.raises(TruncatedDump):
        d.run(sink)
    sink.close()
    assert not (tmp_path / "cut" / "a.txt").exists()
    os.chmod(tmp_path / "cut", 0o755)
    (tmp_path / "plain").write_bytes(b"")  # the target's parent is a file
    sink = DirectorySink(tmp_path / "plain" / "out")
    with pytest.raises(WriteFailed, match="cannot write .*plain/out"):
        sample().run(sink)
    sink.close()
