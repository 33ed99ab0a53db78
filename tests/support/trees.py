"""A directory tree as data, to compare what an extraction wrote with what
was meant: relative path (bytes) -> ("dir", mode, mtime),
("file", data, mode, mtime) or ("link", target)."""

from __future__ import annotations

import os
from pathlib import Path


def on_disk(root: Path, *, nlink: bool = False) -> dict:
    """``nlink``: a file's entry ends with its link count (hard links made)."""
    out = {}
    base = os.fsencode(root)
    for dirpath, dirnames, filenames in os.walk(base):
        for n in dirnames + filenames:
            p = os.path.join(dirpath, n)
            rel = os.path.relpath(p, base)
            st = os.lstat(p)
            if os.path.islink(p):
                out[rel] = ("link", os.readlink(p))
            elif os.path.isdir(p):
                out[rel] = ("dir", st.st_mode & 0o7777, int(st.st_mtime))
            else:
                with open(p, "rb") as f:
                    data = f.read()
                out[rel] = ("file", data, st.st_mode & 0o7777, int(st.st_mtime), *((st.st_nlink,) if nlink else ()))
    return out
