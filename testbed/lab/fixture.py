"""The ``amanda_lab`` fixture: the standard lab, built once per test session.

It FAILS (never skips) when root, Amanda or libfaketime is missing: CI runs as
root with Amanda installed by tests/setup-and-run, and a skipped lab test
there would hide a broken catalog.

Building takes about a minute.  To iterate faster, set
``CODARESTORE_LAB_REUSE=1``: a lab already built from the same description
(``/var/tmp/codarestore-lab/lab.json``) is used as it is.  Sessions running
at the same time on one machine take turns through a lock file next to the
lab, so one never wipes the lab under another.
"""

from __future__ import annotations

import os
import sys

import pytest

from . import builder, scenario

REUSE_ENV = "CODARESTORE_LAB_REUSE"


@pytest.fixture(scope="session")
def amanda_lab():
    """The built standard lab (``testbed/lab/scenario.py``): paths, the steps'
    snapshots, and ``lab.amanda(...)`` to run Amanda as backup under its clock."""
    try:
        builder.check_can_build()
    except builder.LabError as err:
        pytest.fail(f"cannot build the Amanda lab: {err}", pytrace=False)
    with builder.session_lock(scenario.SPEC) as share:
        try:
            lab = builder.load_or_build(
                scenario.SPEC,
                reuse=os.environ.get(REUSE_ENV, "") not in ("", "0"),
                progress=lambda msg: print(f"amanda lab: {msg}", file=sys.stderr),
            )
        except builder.LabError as err:
            pytest.fail(f"cannot build the Amanda lab: {err}", pytrace=False)
        share()
        yield lab
