"""codasim: a Coda file server simulated for tests (test equipment, never product code).

It follows ref/coda-dump-format.md §12 (incremental dumps) and §17 (restore
acceptance) to the letter: replicated volumes with group and replica ids,
backup clones, vnodes with uniquifiers, StoreIds and version vectors, real
directory pages, the .newlist/.ancient lists with per-vnode levels,
incrementals by the IsModified rule with D_RMVNODE records, and the silent
full-dump fallback.

Use it from Python::

    from codasim import Server, FakeClock
    srv = Server(tmp_path / "server", clock=FakeClock(1_700_000_000))
    vol = srv.create_volume("u.jan")
    with srv.edit("u.jan") as ed:
        ed.mkdir("/sub"); ed.write("/sub/a.txt", "hello\\n"); ed.symlink("/l", "sub/a.txt")
    srv.lock(vol.id); bid = srv.backup(vol.id)
    level, n = srv.dump(bid, 1, open("dump", "wb"))     # level 0: no ancient list yet
    srv.ancient(bid)
    srv.state_at("u.jan", when)                          # path -> Node, from the timeline

or as ``testbed/codasim/volutil`` with ``CODASIM_STATE=DIR`` (see volutil_cli).
Not simulated: negative ("full directories") dump levels, RO clones
(``volutil clone``), more than one server of a replication group.
"""

from .clock import FakeClock, system_clock
from .errors import BadDumpStream, NoVolume, ServerError, WouldBlock
from .server import Server
from .tree import Node, State, diff, orphans, reachable, volume_state

VOLUTIL = __import__("pathlib").Path(__file__).with_name("volutil")

__all__ = ["Server", "FakeClock", "system_clock", "ServerError", "NoVolume", "WouldBlock",
           "BadDumpStream", "Node", "State", "diff", "orphans", "reachable", "volume_state",
           "VOLUTIL"]
PDBTOOL = VOLUTIL.with_name("pdbtool")
