"""ls and extract on real dump bytes made by the project's writer: a volume
the test builds comes back out exactly (property test), through the CLI,
to a directory and to tar; a committed hostile dump cannot escape."""

from __future__ import annotations

import io
import os
import subprocess
import tarfile

from hypothesis import HealthCheck, given, settings

from literal_volumes import D, F, L, dump_bytes, expected, volumes
from paths import DATA
from trees import on_disk


def sample() -> D:
    a = F(b"hello world\n")
    return D({
        b"a.txt": a,
        b"sub": D({b"b.txt": F(b"B" * 5000, mode=0o600), b"empty": D(mode=0o700, mtime=1_600_000_000)}),
        b"link": L(b"a.txt"),
        b"hard": a,
        "caf\u00e9".encode(): F(b""),
    })


# -- CLI -------------------------------------------------------------------------


def test_extract_to_a_directory_gives_back_the_volume(tmp_path, cli):
    dump = tmp_path / "full.0"
    dump.write_bytes(dump_bytes(sample()))
    res = cli("extract", dump, "--to", tmp_path / "out")
    assert "extracted 2 directories, 3 files (5012 bytes), 1 symlinks, 1 hard links" in res.stdout
    assert on_disk(tmp_path / "out") == expected(sample())
    assert os.stat(tmp_path / "out" / "a.txt").st_ino == os.stat(tmp_path / "out" / "hard").st_ino


def test_extract_selected_paths_to_tar_on_stdout(tmp_path, cli):
    dump = tmp_path / "full.0"
    dump.write_bytes(dump_bytes(sample()))
    res = cli("extract", dump, "sub/b.txt", "link", "--tar", "-")
    with tarfile.open(fileobj=io.BytesIO(res.stdout_bytes)) as tar:
        assert tar.getnames() == ["sub", "link", "sub/b.txt"]
        assert tar.extractfile("sub/b.txt").read() == b"B" * 5000
        assert tar.getmember("sub/b.txt").mode == 0o600
    assert "extracted" in res.stderr


def test_extract_to_a_tar_file_refuses_to_overwrite(tmp_path, cli):
    dump = tmp_path / "full.0"
    dump.write_bytes(dump_bytes(sample()))
    out = tmp_path / "vol.tar"
    cli("extract", dump, "--tar", out)
    with tarfile.open(out) as tar:
        assert "sub/empty" in tar.getnames()
    cli("extract", dump, "--tar", out, exit_status=2)
    cli("extract", dump, "--tar", out, "--force")
    assert sorted(os.listdir(tmp_path)) == ["full.0", "vol.tar"]


def test_dump_from_stdin_and_explicit_path_option(tmp_path, cli):
    data = dump_bytes(sample())
    cli("extract", "-", "--path", "sub", "--to", tmp_path / "out", input=data)
    assert sorted(on_disk(tmp_path / "out")) == [b"sub", b"sub/b.txt", b"sub/empty"]


def test_ls_lists_what_extract_writes_and_counts_orphans(tmp_path, cli):
    dump = tmp_path / "full.0"
    dump.write_bytes(dump_bytes(sample(), extra_files=[F(b"resurrected")]))
    res = cli("ls", dump)
    lines = res.stdout.splitlines()
    assert [ln.split(maxsplit=5)[5] for ln in lines] == [
        "a.txt", "café", "hard link to a.txt", "link -> a.txt", "sub/", "sub/b.txt", "sub/empty/",
    ]
    assert lines[5].startswith("-rw-------    501       5000 2023-11-14 22:13 sub/b.txt")
    assert "1 orphan vnode(s) are not reachable from the root (--orphans lists them)" in res.stderr
    res = cli("ls", dump, "--orphans", "--json")
    import json

    doc = json.loads(res.stdout)
    paths = {e["path"]: e for e in doc["entries"]}
    assert paths["lost+found/0000000a.00000008"]["size"] == 11
    assert doc["orphans"] == 1 and doc["schema"] == "coda-restore.ls/1"


def test_ls_of_a_path(tmp_path, cli):
    dump = tmp_path / "full.0"
    dump.write_bytes(dump_bytes(sample()))
    res = cli("ls", dump, "sub")
    assert [ln.rsplit(" ", 1)[-1] for ln in res.stdout.splitlines()] == ["sub/", "sub/b.txt", "sub/empty/"]
    res = cli("ls", dump, "nope", exit_status=2)
    assert "nope: no such path" in res.stderr


def test_extract_json_summary(tmp_path, cli):
    import json

    dump = tmp_path / "full.0"
    dump.write_bytes(dump_bytes(sample(), extra_files=[F(b"x")]))
    doc = json.loads(cli("extract", dump, "sub", "--to", tmp_path / "out", "--json").stdout)
    assert doc == {
        "schema": "coda-restore.extract/1", "dumps": [str(dump)], "paths": ["sub"], "target": str(tmp_path / "out"),
        "directories": 2, "files": 1, "symlinks": 0, "hardlinks": 0, "bytes": 5000, "not_created": [], "orphans": 1,
        "warnings": [],
    }
    cli("extract", dump, "--tar", "-", "--json", exit_status=2)


def test_an_incremental_alone_is_not_a_volume(tmp_path, cli):
    dump = tmp_path / "incr.1"
    dump.write_bytes(dump_bytes(sample(), level=1))
    res = cli("ls", dump, exit_status=3)
    assert "is an incremental (level 1)" in res.stderr


def test_arguments_that_are_not_dumps(tmp_path, cli):
    (tmp_path / "notes.txt").write_text("hello")
    res = cli("ls", tmp_path / "notes.txt", exit_status=2)
    assert "not a Coda dump (does not start with the Coda dump magic)" in res.stderr
    res = cli("ls", tmp_path / "missing", exit_status=2)
    assert "no such file" in res.stderr
    cli("extract", tmp_path / "notes.txt", exit_status=2)  # neither --to nor --tar


def test_orphans_are_refused_for_a_volume_with_its_own_lost_found(tmp_path, cli):
    """The codec says what is wrong; the command adds the option it concerns."""
    dump = tmp_path / "full.0"
    dump.write_bytes(dump_bytes(D({b"lost+found": D(), b"a.txt": F(b"a")}), extra_files=[F(b"orphan")]))
    for args in (("ls",), ("extract", "--to", tmp_path / "out")):
        res = cli(*args, dump, "--orphans", exit_status=2)
        assert res.stderr == "coda-restore: error: the volume has its own lost+found; extract without --orphans\n"
    assert not (tmp_path / "out").exists()
    cli("ls", dump)  # without --orphans the volume's own lost+found is just a directory


def test_a_truncated_dump_fails_with_status_4_and_its_offset(tmp_path, cli):
    data = dump_bytes(sample())
    dump = tmp_path / "cut.0"
    dump.write_bytes(data[: len(data) - 300])
    res = cli("extract", dump, "--to", tmp_path / "out", exit_status=4)
    assert "offset" in res.stderr and "truncated" in res.stderr


# -- the committed hostile dump ---------------------------------------------------


def hostile() -> bytes:
    """Root holds ``ok.txt`` and ``../escape``; a subdirectory holds
    ``../../escape2``."""
    return dump_bytes(D({b"ok.txt": F(b"fine\n"), b"../escape": F(b"owned\n"),
                         b"d": D({b"../../escape2": F(b"owned\n")})}))


def test_the_committed_hostile_dump_is_what_the_generator_makes():
    assert (DATA / "escape.dump").read_bytes() == hostile()


def test_a_name_with_dotdot_cannot_escape_and_nothing_is_written(tmp_path, cli):
    work = tmp_path / "work"
    work.mkdir()
    res = cli("extract", DATA / "escape.dump", "--to", work / "out", exit_status=4)
    assert "could escape the extraction directory" in res.stderr and "../escape" in res.stderr
    assert os.listdir(work) == [] and sorted(os.listdir(tmp_path)) == ["work"]
    cli("extract", DATA / "escape.dump", "--tar", work / "x.tar", exit_status=4)
    assert os.listdir(work) == []
    # valid for every command or for none (issue 13): ls and inspect refuse it too
    for command in ("ls", "inspect"):
        res = cli(command, DATA / "escape.dump", exit_status=4)
        assert "../escape" in res.stderr and "could escape" in res.stderr


# -- property: any volume comes back ---------------------------------------------

@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(volumes)
def test_extract_of_any_volume_is_that_volume(tmp_path_factory, cli, root):
    tmp = tmp_path_factory.mktemp("vol")
    (tmp / "full.0").write_bytes(dump_bytes(root))
    cli("extract", tmp / "full.0", "--to", tmp / "out")
    try:
        assert on_disk(tmp / "out") == expected(root)
    finally:
        for dirpath, _, _ in os.walk(tmp / "out"):
            os.chmod(dirpath, 0o755)
    # The tar stream holds the same volume.
    with tarfile.open(fileobj=io.BytesIO(cli("extract", tmp / "full.0", "--tar", "-").stdout_bytes)) as tar:
        got = {}
        for m in tar.getmembers():
            name = m.name.encode("utf-8", "surrogateescape")
            if m.isdir():
                got[name] = ("dir", m.mode, m.mtime)
            elif m.issym():
                got[name] = ("link", m.linkname.encode("utf-8", "surrogateescape"))
            else:
                got[name] = ("file", tar.extractfile(m).read(), m.mode, m.mtime)
    assert got == expected(root)


def test_a_dump_from_a_pipe_path(tmp_path, cli):
    # <(amfetchdump ...) gives a path to a pipe: it must not be peeked at.
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    import threading

    data = dump_bytes(sample())
    writer = threading.Thread(target=lambda: fifo.write_bytes(data))
    writer.start()
    res = cli("ls", fifo, "sub")
    writer.join()
    assert [ln.rsplit(" ", 1)[-1] for ln in res.stdout.splitlines()] == ["sub/", "sub/b.txt", "sub/empty/"]


def test_a_tar_that_cannot_be_written_is_named(tmp_path, cli):
    dump = tmp_path / "full.0"
    dump.write_bytes(dump_bytes(sample()))
    res = cli("extract", dump, "--tar", tmp_path / "no" / "such" / "dir.tar", exit_status=1)
    assert "coda-restore: error:" in res.stderr and "dir.tar" in res.stderr


def test_a_very_deep_volume(tmp_path, cli):
    # Deeper than Python's recursion limit, and longer than PATH_MAX as one path.
    leaf = D({b"f": F(b"deep")})
    root = leaf
    for i in range(1200):
        root = D({b"d%d" % (i % 7): root})
    (tmp_path / "deep.0").write_bytes(dump_bytes(root))
    res = cli("extract", tmp_path / "deep.0", "--tar", "-")
    with tarfile.open(fileobj=io.BytesIO(res.stdout_bytes)) as tar:
        names = tar.getnames()
    assert len(names) == 1201 and names[-1].endswith("/f")  # 1199 wrappers + leaf + f
    cli("extract", tmp_path / "deep.0", "--to", tmp_path / "out")
    fd = os.open(tmp_path / "out", os.O_RDONLY)
    try:
        for name in names[-1].split("/")[:-1]:
            nfd = os.open(name, os.O_RDONLY, dir_fd=fd)
            os.close(fd)
            fd = nfd
        assert os.read(os.open("f", os.O_RDONLY, dir_fd=fd), 10) == b"deep"
    finally:
        os.close(fd)
        # pytest's own cleanup (shutil.rmtree) recurses once per level.
        subprocess.run(["rm", "-rf", "--", str(tmp_path / "out")], check=True)


def test_ls_lists_an_empty_target_symlink_and_extract_says_it_did_not_create_it(tmp_path, cli):
    import voldump_vectors as V

    large, small = V.f1_parts()
    small[2] = V.file(6, 5, b"", type=V.VnodeType.SYMLINK, mode=0o777)  # "link" -> ""
    dump = tmp_path / "full.0"
    dump.write_bytes(V.build(V.header(), V.volume(), large, small))
    listed = cli("ls", dump).stdout
    assert any(line.endswith(" link -> ") and line.startswith("lrwxrwxrwx") for line in listed.splitlines())
    r = cli("extract", dump, "--to", tmp_path / "out")
    assert "not created (1, no file system can hold them; see the warnings): link" in r.stdout
    assert "link: symlink target b'' cannot be created; skipped" in r.stderr
    assert not (tmp_path / "out" / "link").exists()
