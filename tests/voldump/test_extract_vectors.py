"""ls and extract on the ref §20 vectors F1 and F1+I1 (the core's builders)."""

from __future__ import annotations

import json

from voldump_vectors import A_TXT_I, C_TXT, X1, X2, f1, i1

from trees import on_disk


def test_f1_lists_and_extracts_as_section_20_describes(tmp_path, cli):
    (tmp_path / "f1").write_bytes(f1())
    doc = json.loads(cli("ls", tmp_path / "f1", "--json").stdout)
    got = {e["path"]: (e["type"], e["fid"], e.get("target")) for e in doc["entries"]}
    assert got == {
        "a.txt": ("file", "2.3", None),
        "sub": ("directory", "3.2", None),
        "sub/b.txt": ("file", "4.4", None),
        "link": ("symlink", "6.5", "a.txt"),
        "x1": ("file", "12.20", None),
        "x2": ("file", "12.21", None),
    }
    assert doc["orphans"] == 0 and doc["warnings"] == []
    cli("extract", tmp_path / "f1", "--to", tmp_path / "out")
    disk = on_disk(tmp_path / "out")
    assert disk[b"sub/b.txt"][1] == b"B" * 5000 and disk[b"link"] == ("link", b"a.txt")
    assert disk[b"x1"][1] == X1 and disk[b"x2"][1] == X2


def test_f1_plus_i1_is_the_merged_state(tmp_path, cli):
    (tmp_path / "f1").write_bytes(f1())
    (tmp_path / "i1").write_bytes(i1())
    res = cli("extract", tmp_path / "f1", tmp_path / "i1", "--to", tmp_path / "out")
    disk = on_disk(tmp_path / "out")
    assert sorted(disk) == [b"a.txt", b"link", b"newdir", b"newdir/c.txt", b"sub", b"x1", b"x2"]
    assert disk[b"a.txt"][1] == A_TXT_I and disk[b"newdir/c.txt"][1] == C_TXT
    assert disk[b"link"] == ("link", b"sub/b.txt")
    # I1 removes 4.4 but does not rewrite its directory 3.2: the name dangles.
    assert "sub/b.txt (4.4): names a vnode the dump does not hold" in res.stderr
