"""--config NAME asks Amanda itself (amgetconf) where the records are: on the
real lab it must give exactly what the explicit paths give."""

from __future__ import annotations

import json

import pytest

from coda_restore.amanda.config import AmandaConfig


@pytest.mark.lab
def test_config_sources_are_amgetconfs_answers(amanda_lab):
    logdir, tapelist, holding = AmandaConfig(amanda_lab.config).sources()
    assert (logdir, tapelist, holding) == (str(amanda_lab.logdir), str(amanda_lab.tapelist),
                                           tuple(str(h) for h in amanda_lab.holding))


@pytest.mark.lab
def test_volumes_by_config_equals_volumes_by_paths(amanda_lab, cli):
    by_config = json.loads(cli("volumes", "--config", amanda_lab.config, "--json").stdout)
    explicit = ["--logdir", amanda_lab.logdir, "--tapelist", amanda_lab.tapelist]
    for h in amanda_lab.holding:
        explicit += ["--holding", h]
    by_paths = json.loads(cli("volumes", *explicit, "--json").stdout)
    assert by_config == by_paths
    assert {v["disk"] for v in by_config["volumes"]} == {d.disk for d in amanda_lab.dles}
