"""The simulator's ``pdbtool`` (the protection DB tool of a Coda SCM), the
one lookup a restore needs: ``pdbtool n NAME`` prints ``NAME's id is ID``,
with id 0 for a name the DB does not hold (pdbtool.cc's tool_lookup).

The DB is the server's (``Server.pdb()``): ``CODASIM_STATE/pdb.json``, or a
fresh server's default when there is none.
"""

from __future__ import annotations

import os
import sys

from .server import Server


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    state = os.environ.get("CODASIM_STATE")
    if not state:
        sys.stderr.write("codasim pdbtool: set CODASIM_STATE to the server's state directory\n")
        return 1
    if len(args) != 2 or args[0] != "n":
        print("Usage: n name\nname\t\tname of user/group")
        return 0
    pdb = Server(state).pdb()
    print(f"{args[1]}'s id is {pdb.get(args[1], 0)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
