"""The installed entry point run in a child, as an operator runs it (the
hostile-surroundings tests: a full stdout, limits, no root's DAC power)."""

from __future__ import annotations

import resource
import subprocess
import sys

from paths import REPO


def coda_restore(*args, stdout=subprocess.PIPE, limit_fsize: int | None = None, no_dac: bool = False):
    """Run the installed program; ``no_dac`` drops root's power to read what
    its permissions forbid (as an unprivileged operator would see it)."""
    argv = [sys.executable, "-m", "coda_restore", *map(str, args)]
    if no_dac:
        argv = ["setpriv", "--bounding-set=-dac_override,-dac_read_search", *argv]
    pre = (lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (limit_fsize, limit_fsize))) if limit_fsize else None
    return subprocess.run(argv, stdout=stdout, stderr=subprocess.PIPE, text=True, timeout=60, cwd=REPO,
                          preexec_fn=pre)
