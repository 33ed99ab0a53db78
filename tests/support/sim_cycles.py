"""The simulator's backup cycle as the simulator tests drive it, and ref
§20's F1 volume built on a simulated server."""

from __future__ import annotations

import io

from codasim import Server
from codasim.restore import ParsedDump, parse_dump

T0 = 1_700_000_000  # the fake clock at the start of each simulator test
DAY = 86_400


def cycle(srv: Server, vol, level: int, record: bool = True) -> ParsedDump:
    """What a backup run does: lock, re-clone, dump at ``level``, and mark it ancient."""
    srv.lock(vol.id)
    bid = srv.backup(vol.id)
    buf = io.BytesIO()
    done, nbytes = srv.dump(bid, level, buf)
    assert nbytes == len(buf.getvalue())
    parsed = parse_dump(io.BytesIO(buf.getvalue()))
    assert parsed.level == done
    parsed.raw = buf.getvalue()
    if record:
        srv.ancient(bid)
    return parsed


def make_f1(srv: Server):
    """§20's F1 volume: lists of 8 slots, explicit fids where the vector names them."""
    vol = srv.create_volume("u.test", large_lists=8, small_lists=8, large_step=8, small_step=8)
    with srv.edit("u.test") as ed:
        ed.mkdir("/sub", vnum=3, uniq=2)
        ed.write("/a.txt", "hello world\n", vnum=2, uniq=3)
        ed.write("/sub/b.txt", b"B" * 5000, vnum=4, uniq=4)
        ed.symlink("/link", "a.txt", vnum=6, uniq=5)
        ed.write("/x1", "one", vnum=12, uniq=20)
        ed.write("/x2", "two", vnum=12, uniq=21)
    return vol
