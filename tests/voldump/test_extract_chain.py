"""extract and ls of a chain FULL INCR...: the merged state, straight from
the inputs.  Incrementals are made as the server makes them (ref §12.4):
changed and new vnodes, then a D_RMVNODE per vnode gone since the last
recorded dump, slot by slot."""

from __future__ import annotations

import io
import json
import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from coda_restore.voldump import dirpage
from coda_restore.voldump.records import DataKind, DumpHeader, IndexHeader, RemovedVnode, VnodeClass, Vnode, VolumeDiskData
from coda_restore.voldump.writer import DumpWriter
from literal_volumes import D, F, L, expected, names, volumes
from trees import on_disk


class Volume:
    """A volume the test edits in place; fids follow the objects."""

    def __init__(self, root: D):
        self.root = root
        self.fids = {id(root): (1, 1)}
        self.keep = [root]  # ids stay unique while the objects live
        self.next = {"dir": 3, "file": 2, "uniq": 2}

    def fid(self, obj):
        if id(obj) not in self.fids:
            kind = "dir" if isinstance(obj, D) else "file"
            self.fids[id(obj)] = (self.next[kind], self.next["uniq"])
            self.next[kind] += 2
            self.next["uniq"] += 1
            self.keep.append(obj)
        return self.fids[id(obj)]

    def snapshot(self) -> dict:
        """fid -> (Vnode, file data or None): what a dump of now holds."""
        snap, queue = {}, [(self.root, (1, 1))]
        while queue:
            d, parent = queue.pop(0)
            me = self.fid(d)
            pages = b"".join(dirpage.encode(me, parent, [(n, self.fid(c)) for n, c in d.children.items()]))
            snap[me] = (Vnode(me[0], me[1], type=2, mode=d.mode, mtime=d.mtime, owner=d.owner, vparent=parent[0],
                              uparent=parent[1], length=len(pages), acl=b"0\n0\n\0", data=DataKind.DIRPAGES,
                              size=len(pages) // 2048, pages=pages), None)
            for c in d.children.values():
                if isinstance(c, D):
                    queue.append((c, me))
                else:
                    f = self.fid(c)
                    data = c.data if isinstance(c, F) else c.target
                    snap[f] = (Vnode(f[0], f[1], type=1 if isinstance(c, F) else 3, mode=getattr(c, "mode", 0o777),
                                     mtime=c.mtime, owner=getattr(c, "owner", 0), length=len(data), size=len(data),
                                     vparent=me[0], uparent=me[1]), data)
        return snap


def write_dump(cur: dict, level: int, oldest: int, latest: int, changed_since: dict | None = None,
               removed_since: dict | None = None) -> bytes:
    """A full dump of ``cur`` (level 0), or an incremental holding what
    differs from ``changed_since`` and removals since ``removed_since``."""
    out = io.BytesIO()
    w = DumpWriter(out)
    w.write(DumpHeader(0x01000005, 0x01000002, b"u.test.backup\0", 1_700_000_000 + latest, level, oldest, latest))
    w.write(VolumeDiskData(id=0x01000005, name=b"u.test.backup\0", partition=b"/vicepa\0"))
    for vclass, odd in ((VnodeClass.LARGE, 1), (VnodeClass.SMALL, 0)):
        mine = {f: r for f, r in cur.items() if f[0] & 1 == odd}
        gone = {f for f in (removed_since or {}) if f[0] & 1 == odd and f not in cur}
        # Server lists only grow (they start at 128/256, ref §22.5): keep 64 unless more are needed.
        nlists = max([(f[0] - 1) >> 1 for f in (*mine, *gone)] + [63]) + 1
        w.write(IndexHeader(vclass, len(mine), nlists))
        for slot in range(nlists):
            for f in sorted(f for f in mine if (f[0] - 1) >> 1 == slot):
                if level and changed_since is not None and changed_since.get(f) == mine[f]:
                    continue
                v, data = mine[f]
                w.vnode(v, data)
            for f in sorted(f for f in gone if (f[0] - 1) >> 1 == slot):
                w.write(RemovedVnode(*f))
    w.end()
    return out.getvalue()


def all_dirs(d: D, out=None):
    out = [] if out is None else out
    out.append(d)
    for n in sorted(d.children):
        if isinstance(d.children[n], D):
            all_dirs(d.children[n], out)
    return out


def apply(root: D, op) -> None:
    """One edit: add a file, a directory or a symlink, change a file, or
    delete a name (a whole subtree when it is a directory)."""
    what, pick, name, data = op
    dirs = all_dirs(root)
    d = dirs[pick % len(dirs)]
    if what in ("add", "mkdir", "symlink"):
        if name not in d.children:
            d.children[name] = {"add": lambda: F(data, mtime=1_800_000_000), "mkdir": lambda: D(mtime=1_800_000_000),
                                "symlink": lambda: L(data.replace(b"\0", b"") or b"t")}[what]()
    elif d.children:
        key = sorted(d.children)[pick % len(d.children)]
        if what == "delete":
            del d.children[key]
        elif isinstance(d.children[key], F):
            d.children[key].data = data
            d.children[key].mtime += 1


def chain_files(tmp, vol: Volume, steps) -> list:
    """Dump the volume, edit it, dump a level-1..N incremental after each
    step: the exact chain of every recorded dump."""
    prev = vol.snapshot()
    paths = [tmp / "c.0"]
    paths[0].write_bytes(write_dump(prev, 0, 5, 5))
    for i, ops in enumerate(steps, 1):
        for op in ops:
            apply(vol.root, op)
        cur = vol.snapshot()
        p = tmp / f"c.{i}"
        p.write_bytes(write_dump(cur, i, 5 + i - 1, 5 + i, changed_since=prev, removed_since=prev))
        paths.append(p)
        prev = cur
    return paths


def test_extract_of_a_chain_is_the_last_state(tmp_path, cli):
    a, b = F(b"one\n"), F(b"gone soon\n")
    vol = Volume(D({b"a.txt": a, b"b.txt": b, b"sub": D({b"c.txt": F(b"c")})}))
    # dirs are [root, sub]; a delete takes sorted(children)[pick % n].
    steps = [[("delete", 1, b"", b""), ("add", 1, b"new.txt", b"new\n")],  # b.txt; sub/new.txt
             [("add", 0, b"later", b"x" * 3000), ("delete", 2, b"", b"")]]  # later; sub (a.txt, later, sub)
    files = chain_files(tmp_path, vol, steps)
    want = expected(vol.root)
    res = cli("extract", *files, "--to", tmp_path / "out")
    assert on_disk(tmp_path / "out") == want
    assert "orphan" not in res.stdout
    res = cli("ls", *files, "--json")
    assert {e["path"] for e in json.loads(res.stdout)["entries"]} == {p.decode() for p in want}


def test_a_chain_with_a_wrong_link_is_refused_before_writing(tmp_path, cli):
    vol = Volume(D({b"a.txt": F(b"1")}))
    files = chain_files(tmp_path, vol, [[("add", 0, b"x", b"x")], [("add", 0, b"y", b"y")]])
    res = cli("extract", files[0], files[2], "--to", tmp_path / "out", exit_status=4)
    assert "oldest" in res.stderr
    assert not (tmp_path / "out").exists()


def test_minimal_chain_leaves_the_skipped_deletion_as_an_orphan(tmp_path, cli):
    a = F(b"v1\n")
    vol = Volume(D({b"a.txt": a, b"b.txt": F(b"deleted in I1\n")}))
    full = vol.snapshot()
    (tmp_path / "f.0").write_bytes(write_dump(full, 0, 5, 5))
    del vol.root.children[b"b.txt"]
    i1 = vol.snapshot()
    (tmp_path / "i.1").write_bytes(write_dump(i1, 1, 5, 6, changed_since=full, removed_since=full))
    a.data, a.mtime = b"v2\n", a.mtime + 1
    i2 = vol.snapshot()
    # A second level 1: everything changed since the full, removals since I1 only.
    (tmp_path / "j.1").write_bytes(write_dump(i2, 1, 6, 7, changed_since=full, removed_since=i1))
    exact = [tmp_path / "f.0", tmp_path / "i.1", tmp_path / "j.1"]
    minimal = [tmp_path / "f.0", tmp_path / "j.1"]
    res = cli("extract", *exact, "--to", tmp_path / "exact")
    assert on_disk(tmp_path / "exact") == expected(vol.root) and "orphan" not in res.stdout
    cli("extract", *minimal, "--to", tmp_path / "refused", exit_status=4)  # strict link check
    res = cli("extract", *minimal, "--chain", "minimal", "--to", tmp_path / "minimal")
    assert on_disk(tmp_path / "minimal") == expected(vol.root)  # the visible tree is right...
    assert "1 orphan vnode(s) are not reachable from the root" in res.stdout  # ...but b.txt came back
    res = cli("ls", *minimal, "--chain", "minimal", "--orphans")
    assert "lost+found/00000004.00000003" in res.stdout


ops = st.tuples(st.sampled_from(["add", "mkdir", "symlink", "delete", "change"]), st.integers(0, 1000), names,
                st.binary(max_size=500))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(volumes, st.lists(st.lists(ops, max_size=6), min_size=1, max_size=3))
def test_extract_of_any_exact_chain_is_the_final_volume(tmp_path_factory, cli, root, steps):
    tmp = tmp_path_factory.mktemp("chain")
    vol = Volume(root)
    files = chain_files(tmp, vol, steps)
    cli("extract", *files, "--to", tmp / "out")
    try:
        assert on_disk(tmp / "out") == expected(vol.root)
    finally:
        for dirpath, _, _ in os.walk(tmp / "out"):
            os.chmod(dirpath, 0o755)


def test_a_refused_chain_stops_the_merge_without_hanging(tmp_path, cli):
    # The merge thread is blocked writing megabytes into the pipe when the
    # reader refuses the unsafe name: it must end, and nothing is written.
    vol = Volume(D({b"big": F(b"x" * 3_000_000), b"../escape": F(b"owned")}))
    files = chain_files(tmp_path, vol, [[("add", 0, b"more", b"y" * 100_000)]])
    res = cli("extract", *files, "--to", tmp_path / "out", exit_status=4)
    assert "could escape" in res.stderr
    assert sorted(os.listdir(tmp_path)) == ["c.0", "c.1"]
