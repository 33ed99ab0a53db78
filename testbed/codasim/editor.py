"""Mutating a RW volume as Coda clients do: create, write, remove, rename, ...

Every call is one update at this replica: a fresh StoreId goes to every vnode
it touches (the parent directories included), their version-vector slot and
the volume's go up by one, and the volume's updateDate moves to now.  New
vnodes take the lowest free vnode number of their class (so a number freed by
a removal is reused with a new uniquifier) and are appended at the tail of
their list; lists grow in steps when a number falls beyond them.
"""

from __future__ import annotations

from collections.abc import Callable

from coda_restore.voldump.dirpage import Directory

from .clock import Clock
from .errors import ServerError
from .model import DEFAULT_ACL, LARGE, SMALL, VV, Vnode, VnodeType, Volume, bit_of, vclass_of, vnum_of


class Editor:
    def __init__(self, vol: Volume, clock: Clock, store_id: Callable[[], tuple[int, int]]):
        self.vol = vol
        self.clock = clock
        self._store_id = store_id

    # -- lookup ------------------------------------------------------------
    def _split(self, path: str) -> list[bytes]:
        parts = [p for p in path.strip("/").split("/") if p]
        return [p.encode() for p in parts]

    def lookup(self, path: str) -> Vnode:
        v = self.vol.vnode(1, 1)
        for name in self._split(path):
            if v.dir is None:
                raise ServerError(f"{path}: not a directory")
            fid = _lookup(v.dir, name)
            if fid is None:
                raise ServerError(f"{path}: no such file or directory")
            v = self.vol.vnode(*fid)
        return v

    def _parent(self, path: str) -> tuple[Vnode, bytes]:
        parts = self._split(path)
        if not parts:
            raise ServerError("the root has no name")
        parent = self.lookup("/" + "/".join(p.decode() for p in parts[:-1]))
        if parent.dir is None:
            raise ServerError(f"{path}: parent is not a directory")
        return parent, parts[-1]

    def exists(self, path: str) -> bool:
        try:
            self.lookup(path)
            return True
        except ServerError:
            return False

    # -- one update ----------------------------------------------------------
    def _touch(self, *vnodes: Vnode, data_changed: tuple[Vnode, ...] = ()) -> None:
        now = self.clock()
        host, uniq = self._store_id()
        ix = self.vol.replica_index
        for v in vnodes:
            v.vv.versions[ix] += 1
            v.vv.store_host, v.vv.store_uniq = host, uniq
            v.mtime = now
        for v in data_changed:
            v.data_version += 1
        self.vol.vv.versions[ix] += 1
        self.vol.update_date = now
        self.vol.access_date = now

    def _alloc(self, vtype: VnodeType, vnum: int | None, uniq: int | None) -> tuple[int, int]:
        vclass = LARGE if vtype == VnodeType.DIRECTORY else SMALL
        idx = self.vol.index(vclass)
        if vnum is None:
            bit = 0
            while idx.slot(bit):
                bit += 1
            vnum = vnum_of(bit, vclass)
        elif vclass_of(vnum) != vclass:
            raise ServerError(f"vnode {vnum} has the wrong parity for a {vtype.name.lower()}")
        if uniq is None:
            uniq = self.vol.uniquifier
        if idx.get(vnum, uniq) is not None:
            raise ServerError(f"fid {vnum}.{uniq} in use")
        self.vol.uniquifier = max(self.vol.uniquifier, uniq + 1)
        step = self.vol.large_step if vclass == LARGE else self.vol.small_step
        while bit_of(vnum) >= idx.nlists:
            idx.nlists += step
        return vnum, uniq

    def _insert(self, v: Vnode) -> None:
        idx = self.vol.index(vclass_of(v.vnum))
        idx.lists.setdefault(bit_of(v.vnum), []).append(v)

    def _drop(self, v: Vnode) -> None:
        idx = self.vol.index(vclass_of(v.vnum))
        slot = idx.lists[bit_of(v.vnum)]
        slot.remove(v)
        if not slot:
            del idx.lists[bit_of(v.vnum)]

    def _new(self, path: str, vtype: VnodeType, mode: int, data: bytes | None,
             vnum: int | None, uniq: int | None, owner: int) -> Vnode:
        parent, name = self._parent(path)
        if _lookup(parent.dir, name) is not None:
            raise ServerError(f"{path}: exists")
        vnum, uniq = self._alloc(vtype, vnum, uniq)
        v = Vnode(vnum, uniq, vtype, mode & 0o7777, link_count=1, data_version=0,
                  vv=VV(), author=owner, owner=owner, vparent=parent.vnum, uparent=parent.uniq)
        if vtype == VnodeType.DIRECTORY:
            v.dir = Directory.new((vnum, uniq), parent.fid)
            v.acl = parent.acl or DEFAULT_ACL
            v.link_count = 2
            v.length = v.dir.npages * 2048
            parent.link_count += 1
        else:
            v.data = data
            v.length = len(data or b"")
        parent.dir.create(name, (vnum, uniq))
        parent.length = parent.dir.npages * 2048
        self._insert(v)
        self._touch(v, parent, data_changed=(v, parent))
        return v

    # -- the operations --------------------------------------------------------
    def mkdir(self, path: str, mode: int = 0o755, *, vnum: int | None = None,
              uniq: int | None = None, owner: int = 0) -> Vnode:
        return self._new(path, VnodeType.DIRECTORY, mode, None, vnum, uniq, owner)

    def create(self, path: str, mode: int = 0o644, *, vnum: int | None = None,
               uniq: int | None = None, owner: int = 0) -> Vnode:
        """A file created and never written: no container yet (dumped as D_BADINODE)."""
        return self._new(path, VnodeType.FILE, mode, None, vnum, uniq, owner)

    def write(self, path: str, data: bytes | str, mode: int | None = None, *,
              vnum: int | None = None, uniq: int | None = None, owner: int = 0) -> Vnode:
        """Create the file with ``data``, or replace the contents of an existing one."""
        raw = data.encode() if isinstance(data, str) else bytes(data)
        if self.exists(path):
            v = self.lookup(path)
            if v.vtype != VnodeType.FILE:
                raise ServerError(f"{path}: not a file")
            v.data = raw
            v.length = len(raw)
            if mode is not None:
                v.mode = mode & 0o7777
            self._touch(v, data_changed=(v,))
            return v
        return self._new(path, VnodeType.FILE, 0o644 if mode is None else mode, raw, vnum, uniq, owner)

    def symlink(self, path: str, target: bytes | str, *, vnum: int | None = None,
                uniq: int | None = None, owner: int = 0) -> Vnode:
        raw = target.encode() if isinstance(target, str) else bytes(target)
        return self._new(path, VnodeType.SYMLINK, 0o777, raw, vnum, uniq, owner)

    def chmod(self, path: str, mode: int) -> None:
        v = self.lookup(path)
        v.mode = mode & 0o7777
        self._touch(v)

    def setacl(self, path: str, entries: list[tuple[str, int]], negative: list[tuple[str, int]] = ()) -> None:
        """Set a directory's ACL (the 'X' text: counts, then ``name<TAB>rights`` lines)."""
        v = self.lookup(path)
        if v.vtype != VnodeType.DIRECTORY:
            raise ServerError(f"{path}: not a directory")
        lines = [f"{name}\t{rights}" for name, rights in [*entries, *negative]]
        v.acl = f"{len(entries)}\n{len(negative)}\n" + "".join(line + "\n" for line in lines)
        self._touch(v)

    def remove(self, path: str) -> None:
        """Unlink a file or symlink, or remove an empty directory."""
        parent, name = self._parent(path)
        v = self.lookup(path)
        if v.dir is not None:
            if [e for e in v.dir.entries() if e.name not in (b".", b"..")]:
                raise ServerError(f"{path}: directory not empty")
            parent.link_count -= 1
        parent.dir.delete(name)
        self._drop(v)
        self._touch(parent, data_changed=(parent,))

    def rmtree(self, path: str) -> None:
        v = self.lookup(path)
        if v.dir is not None:
            for e in v.dir.entries():
                if e.name not in (b".", b".."):
                    self.rmtree(path.rstrip("/") + "/" + e.name.decode())
        self.remove(path)

    def rename(self, src: str, dst: str) -> None:
        """Move ``src`` to ``dst``; an existing file or symlink at ``dst`` is replaced."""
        sparent, sname = self._parent(src)
        v = self.lookup(src)
        dparent, dname = self._parent(dst)
        touched = [v, sparent] if dparent is sparent else [v, sparent, dparent]
        old = _lookup(dparent.dir, dname)
        if old is not None:
            victim = self.vol.vnode(*old)
            if victim.dir is not None:
                raise ServerError(f"{dst}: is a directory")
            dparent.dir.delete(dname)
            self._drop(victim)
        sparent.dir.delete(sname)
        dparent.dir.create(dname, v.fid)
        if v.dir is not None and dparent is not sparent:
            v.dir.delete(b"..")
            v.dir.create(b"..", dparent.fid)
            sparent.link_count -= 1
            dparent.link_count += 1
        v.vparent, v.uparent = dparent.fid
        for d in (sparent, dparent):
            d.length = d.dir.npages * 2048
        self._touch(*touched, data_changed=tuple(t for t in touched if t.dir is not None))

    def recreate(self, path: str, data: bytes | str) -> Vnode:
        """Unlink ``path`` and create a new file there on the freed vnode number
        (a new uniquifier): an editor saving by unlink + create, i.e. vnode reuse."""
        old = self.lookup(path)
        if old.vtype == VnodeType.DIRECTORY:
            raise ServerError(f"{path}: is a directory")
        self.remove(path)
        return self.write(path, data, old.mode, vnum=old.vnum)

    def grow_lists(self, large: int | None = None, small: int | None = None) -> None:
        """Set the list counts (test vectors use small ones, ref §20)."""
        if large is not None:
            self.vol.large.nlists = large
        if small is not None:
            self.vol.small.nlists = small


def _lookup(d: Directory, name: bytes) -> tuple[int, int] | None:
    for e in d.entries():
        if e.name == name:
            return e.fid
    return None
