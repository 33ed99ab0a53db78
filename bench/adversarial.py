#!/usr/bin/env python3
"""The long adversarial fuzz (issue 13): hostile dumps and damaged Amanda
records across every command, with a random seed, each command run as a
child with a timeout (so a hang is counted, not waited for).  CI runs the
same judges derandomized and small (tests/adversarial/); this prints the
tallies of a longer campaign:

    cases       inputs tried (each runs 5 commands)
    commands    command runs
    clear       runs that ended with a documented status and at most one
                error line (0 included)
    errors      of those, the non-zero ones (clear errors)
    tracebacks  runs that printed a traceback or "Exception ignored"
    hangs       runs still going after --timeout seconds
    unclear     runs with an undocumented status or several error lines
    wrong       wrong answers: commands disagreeing on a dump (valid for
                some, invalid for others), or RESTORABLE over a damaged log
    written     files written outside a command's target (or into the records)

    PYTHONPATH=testbed python3 -m bench.adversarial                  # 300 dump + 300 record cases
    PYTHONPATH=testbed python3 -m bench.adversarial --cases 40 --seed 7 --in-process

Exits 0 whatever it finds (it is a campaign, not a test); failing cases are
printed with what to rerun.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections import Counter
from pathlib import Path

from adversarial import dumps, records
from voldump_vectors import f1


def _dump_case(rnd: random.Random) -> tuple[str, bytes]:
    data = bytearray(f1())
    if rnd.random() < 0.6:  # directory pages: the one validator's ground
        at, length = dumps.root_pages_at()
        where = f"root pages +{at}"
    else:  # anywhere in the dump
        at, length = 0, len(data)
        where = "anywhere"
    flips = [(at + rnd.randrange(length), rnd.randrange(8)) for _ in range(rnd.randint(1, 4))]
    for pos, bit in flips:
        data[pos] ^= 1 << bit
    if rnd.random() < 0.15:
        cut = rnd.randrange(len(data))
        del data[cut:]
        flips.append((cut, "cut"))
    return f"dump {where} {flips}", bytes(data)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cases", type=int, default=300, help="cases of each kind (dumps, records)")
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--timeout", type=float, default=60.0)
    ap.add_argument("--in-process", action="store_true", help="faster; hangs are then not caught")
    args = ap.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    rnd = random.Random(seed)
    child = not args.in_process
    tally: Counter = Counter()
    bad: list[str] = []
    started = time.monotonic()
    for _ in range(args.cases):
        what, data = _dump_case(rnd)
        v = dumps.judge(data, child=child, timeout=args.timeout)
        tally["cases"] += 1
        tally["commands"] += len(v.statuses)
        tally["tracebacks"] += len(v.tracebacks)
        tally["hangs"] += len(v.hangs)
        tally["unclear"] += len(v.undocumented)
        tally["clear"] += len(v.statuses) - len(v.tracebacks) - len(v.hangs) - len(v.undocumented)
        tally["errors"] += sum(1 for s in v.statuses.values() if s not in (0, -1))
        tally["wrong"] += 0 if v.agree else 1
        tally["written"] += len(v.outside)
        if not v.ok:
            bad.append(f"{what}: {v}")
    for _ in range(args.cases):
        case = (rnd.choice(records.LOGS), rnd.choice(records.OPS), rnd.randrange(400), rnd.randrange(400),
                rnd.randbytes(rnd.randrange(12)))
        v = records.judge(*case, child=child, timeout=args.timeout)
        tally["cases"] += 1
        tally["commands"] += len(v.outcomes)
        for o in v.outcomes:
            tally["tracebacks"] += bool(o.traceback)
            tally["hangs"] += o.hung
            tally["clear"] += o.clear
            tally["unclear"] += not (o.clear or o.traceback or o.hung)
            tally["errors"] += o.clear and o.status != 0
        tally["wrong"] += len(v.wrong)
        tally["written"] += len(v.written)
        if not v.ok:
            bad.append(f"records {case}: {v}")
    for line in bad[:20]:
        print("FAIL", line)
    print(f"seed {seed}, {'in-process' if not child else 'children, timeout ' + str(args.timeout) + ' s'}, "
          f"{time.monotonic() - started:.0f} s")
    for k in ("cases", "commands", "clear", "errors", "tracebacks", "hangs", "unclear", "wrong", "written"):
        print(f"  {k:<11} {tally[k]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
