"""The names a dump holds, as Amanda index lines: what amcoda writes for
each backup (fd 4), and what a restore drill compares with Amanda's index
files and with the merged volume.

``Names`` collects, as records stream past (``validate(on_record=)``), the
directory pages and the file fids of one dump; ``lines()`` then gives "/"
always, every directory reachable from the root ("/a/b/"), and every file
of the dump those directories name.  An incremental holds only the changed
directories, so a change below an unchanged one has no line here (nor in
its index): an incremental's lines are a subset of the merged volume's.
"""

from __future__ import annotations

from coda_restore.voldump import dirpage
from coda_restore.voldump.records import Vnode
from coda_restore.voldump.tree import Layout, Meta, build_layout


class Names:
    """Called with every record of one dump; ``lines()`` once it has ended."""

    def __init__(self):
        self.dirs: list = []
        self.files: set = set()

    def __call__(self, rec) -> None:
        if type(rec) is not Vnode:
            return
        if rec.pages is not None:
            meta = Meta.of(rec)
            if meta is not None:
                self.dirs.append((meta, dirpage.decode(rec.pages, f"vnode {rec.vnum:#x}")))
        else:
            self.files.add(rec.fid)

    def lines(self) -> tuple[bytes, ...]:
        return index_lines(build_layout(self.dirs), self.files)


def index_lines(layout: Layout, files: set) -> tuple[bytes, ...]:
    """Amanda index lines for what a dump holds, sorted (see the module's text)."""
    lines = {b"/"}
    for path in layout.dir_path.values():
        if path:
            lines.add(b"/" + b"/".join(path) + b"/")
    for fid in files:
        for path in layout.file_paths.get(fid, ()):
            lines.add(b"/" + b"/".join(path))
    # a name with a newline cannot be one index line
    return tuple(sorted(line for line in lines if b"\n" not in line))
