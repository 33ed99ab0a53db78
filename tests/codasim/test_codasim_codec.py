"""The simulator against the project's codec: same bytes as an independent encoder,
valid for the validator, and chains that merge back to the simulator's own state."""

from __future__ import annotations

import io
import random

import pytest

import codasim.dump
from codasim import FakeClock, Server, diff, orphans, reachable, volume_state
from codasim import refwire
from coda_restore.chain import ChainMode
from coda_restore.voldump.merge import merge
from coda_restore.voldump.validate import validate

from sim_cycles import DAY, T0, cycle, make_f1

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def test_writer_and_the_reference_encoder_agree(srv, monkeypatch):
    vol = make_f1(srv)
    full = cycle(srv, vol, 0, record=False)
    monkeypatch.setattr(codasim.dump, "Emitter", refwire.Emitter)
    bid = full.volume_id
    buf = io.BytesIO()
    srv.dump(bid, 0, buf)
    assert buf.getvalue() == full.raw
    monkeypatch.undo()
    srv.ancient(bid)
    with srv.edit("u.test") as ed:
        ed.remove("/sub/b.txt")
        ed.write("/a.txt", "changed")
    inc = cycle(srv, vol, 1, record=False)
    monkeypatch.setattr(codasim.dump, "Emitter", refwire.Emitter)
    buf = io.BytesIO()
    srv.dump(bid, 1, buf)
    assert buf.getvalue() == inc.raw


# -- a season of nights -----------------------------------------------------------

LEVELS = [0, 1, 1, 2, 1, 3, 2, 2, 1, 0, 1, 2, 3, 1]


def mutate(ed, rng: random.Random, night: int) -> None:
    """A night of user activity: creates, writes, deletions, renames, reuse."""
    files = [p for p, n in volume_state(ed.vol).items() if p != "/" and n.kind != "dir"]
    dirs = [p for p, n in volume_state(ed.vol).items() if n.kind == "dir"]
    for k in range(rng.randint(2, 6)):
        op = rng.choice(["new", "new", "write", "delete", "mkdir", "rmtree", "rename", "symlink"])
        base = rng.choice(dirs)
        name = f"{base.rstrip('/')}/n{night}-{k}"
        if op == "new" or (op in ("write", "delete", "rename") and not files):
            ed.write(name, f"night {night} item {k}\n" * rng.randint(1, 50))
        elif op == "write":
            p = rng.choice(files)
            if ed.exists(p) and ed.lookup(p).vtype == 1:
                ed.write(p, f"rewritten on night {night}\n")
        elif op == "delete":
            p = rng.choice(files)
            if ed.exists(p):
                ed.remove(p)
        elif op == "mkdir":
            ed.mkdir(name)
            ed.write(name + "/inside", f"in a dir made on night {night}\n")
        elif op == "rmtree":
            victims = [d for d in dirs if d != "/" and ed.exists(d)]
            if victims:
                ed.rmtree(rng.choice(victims))
        elif op == "rename":
            p = rng.choice(files)
            if ed.exists(p) and not ed.exists(name):
                ed.rename(p, name)
        else:
            ed.symlink(name, f"target-{night}")
        files = [p for p, n in volume_state(ed.vol).items() if p != "/" and n.kind != "dir"]
        dirs = [p for p, n in volume_state(ed.vol).items() if n.kind == "dir"]


def exact_chain(levels: list[int], k: int) -> list[int]:
    start = max(i for i in range(k + 1) if levels[i] == 0)
    return list(range(start, k + 1))


def minimal_chain(levels: list[int], k: int) -> list[int]:
    chain = [k]
    for i in range(k - 1, -1, -1):
        if levels[i] < levels[chain[-1]]:
            chain.append(i)
        if levels[chain[-1]] == 0:
            break
    return chain[::-1]


def merged_state(srv: Server, dumps: list[bytes], mode: ChainMode):
    out = io.BytesIO(dumps[0])
    result = None
    if len(dumps) > 1:
        out = io.BytesIO()
        result = merge(out, [(f"d{i}", io.BytesIO(d)) for i, d in enumerate(dumps)], mode)
    new = srv.restore(io.BytesIO(out.getvalue()), "/vicepb")
    state = volume_state(srv.volume(new))
    srv.purge(new, srv.volume(new).name)
    return state, result


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_chains_merge_back_to_the_simulators_state(tmp_path, seed):
    clock = FakeClock(T0)
    srv = Server(tmp_path / "server", clock=clock)
    vol = srv.create_volume("u.jan")
    rng = random.Random(seed)
    dumps, instants = [], []
    for night, level in enumerate(LEVELS):
        clock.tick(DAY)
        with srv.edit("u.jan") as ed:
            mutate(ed, rng, night)
        clock.tick(60)
        d = cycle(srv, vol, level)
        assert d.level == level
        v = validate(io.BytesIO(d.raw), f"night {night}")
        assert v.valid and not v.warnings, (v.error, v.warnings)
        assert v.restorable == (level == 0)
        dumps.append(d.raw)
        instants.append(clock.now)
    saw_orphans = False
    for k in range(len(LEVELS)):
        expected = srv.state_at("u.jan", instants[k])
        exact, result = merged_state(srv, [dumps[i] for i in exact_chain(LEVELS, k)], ChainMode.EXACT)
        assert exact == expected, diff(expected, exact)
        assert result is None or not result.discrepancies
        chain = minimal_chain(LEVELS, k)
        minimal, mresult = merged_state(srv, [dumps[i] for i in chain], ChainMode.MINIMAL)
        assert reachable(minimal) == expected, diff(expected, reachable(minimal))
        extra = sum(s.written - s.last_incremental_count for s in mresult.sections) if mresult else 0
        assert len(orphans(minimal)) == extra
        if chain == exact_chain(LEVELS, k):
            assert minimal == expected
        saw_orphans |= bool(orphans(minimal))
    assert saw_orphans or seed != 1  # the first season deletes inside skipped dumps
