"""coda-restore verify (VOLUME...|--all): restore drills.  Each chain is
fetched with amfetchdump, merged in one pass and proven (header links, the
validator, the names against Amanda's index) without touching volutil.
Exit 0 when every volume is proven, 10 when only some are, 12 when none is."""

from __future__ import annotations

import json as jsonlib
import secrets
from pathlib import Path
from typing import Annotated, Optional

import typer

from coda_restore.amanda.config import AmandaConfig
from coda_restore.amanda.sources import select_volumes
from coda_restore.chain import ChainMode
from coda_restore.cli.app import Clock, JsonOpt, Records, app, option_groups, print_json
from coda_restore.cli.catalog_source import check_strict, open_catalog
from coda_restore.cli.render import StderrLog, say, stdout_console
from coda_restore.errors import UsageError
from coda_restore.executor.drill import DrillOptions, DrillReport, VolumeProof, drill_volumes, sample
from coda_restore.executor.events import Fanout, JsonLinesLog, NullReporter
from coda_restore.planning.when import parse_when
from coda_restore.voldump.files import check_output, output as atomic_output


@app.command("verify")
@option_groups
def verify_command(
    volumes: Annotated[Optional[list[str]], typer.Argument(help="Volumes (disk names) to drill.")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Drill every volume of the records.")] = False,
    sample_n: Annotated[Optional[int], typer.Option("--sample", min=1, metavar="N", help="Drill a random "
                                                    "N of the selected volumes (with --seed: the same N).")] = None,
    seed: Annotated[Optional[int], typer.Option("--seed", help="Seed of --sample (default: a new one, printed "
                                                "in the report so the drill can be repeated).")] = None,
    date: Annotated[str, typer.Option("--date", "-d", help="The moment whose chains to prove (as for plan; "
                                      "default: now, the newest restore point).")] = "now",
    chain: Annotated[ChainMode, typer.Option("--chain", help="exact (default) or minimal, as for plan; a "
                                             "minimal chain has no header link to prove.")] = ChainMode.EXACT,
    indexdir: Annotated[Optional[Path], typer.Option("--indexdir", metavar="DIR", help="Amanda's index directory (default: "
                                                     "the config's indexdir; with several --config, each copy's own config's).")] = None,
    workdir: Annotated[Path, typer.Option("--workdir", help="The drill spools incrementals under "
                                          "WORKDIR/HOST_VOLUME/drill and removes them.")] = Path("/var/tmp/coda-restore"),
    report: Annotated[Optional[Path], typer.Option("--report", metavar="FILE", help="Also write the JSON report to this file "
                                                   "(replaced if it exists).")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing when every volume is proven "
                                        "(for cron: mail only when a drill fails).")] = False,
    log_json: Annotated[Optional[Path], typer.Option("--log-json", help="Append one JSON event per step "
                                                     "to this file.")] = None,
    stall_timeout: Annotated[float, typer.Option("--stall-timeout", help="Stop an amfetchdump that moves no "
                                                 "bytes for this many seconds (0: never).")] = 600.0,
    *,
    clock: Clock,
    records: Records,
    json: JsonOpt = False,
) -> None:
    """Restore drills: for each volume, fetch its chain for --date with
    amfetchdump, merge it in one pass without touching volutil, and prove
    it: every header link, the validator on every image and on the merged
    volume, and each dump's names against the index file amcoda wrote for
    it (the merged volume must hold every name of the target dump's index).
    Exit 0 when every volume is proven, 10 when only some are, 12 when none is."""
    if bool(volumes) == all_:
        raise UsageError("name the volumes to verify, or give --all (not both)")
    if records.config is None:
        raise UsageError("verify needs --config NAME: amfetchdump reads the tapes through Amanda's config")
    if seed is not None and sample_n is None:
        raise UsageError("--seed goes with --sample N")
    target = parse_when(date, now=clock.moment())
    if report is not None:
        check_output(report, force=True)  # a directory or a missing one: before any log
    catalog = open_catalog(records)
    chosen = select_volumes(catalog, volumes or ())
    if sample_n is not None and seed is None:
        seed = secrets.randbelow(1 << 31)
    picked = sample(chosen, sample_n, seed) if sample_n is not None else chosen
    where = indexdir if indexdir is not None else Path(AmandaConfig(records.first_config).indexdir())
    # several configs: each copy's index file is in its own config's indexdir (unless --indexdir names one)
    dirs = tuple((c, Path(AmandaConfig(c).indexdir())) for c in records.config or ()) \
        if indexdir is None and len(records.config or ()) > 1 else ()
    opts = DrillOptions(where, workdir, stall_timeout or None, dirs)
    reporters = [] if quiet else [StderrLog()]
    if log_json is not None:
        reporters.append(JsonLinesLog(log_json))
    reporter = Fanout(*reporters) if reporters else NullReporter()
    try:
        result = drill_volumes(catalog, picked, target, chain, records.first_config, opts, reporter,
                               selected=len(chosen), sample_n=sample_n, seed=seed)
    finally:
        reporter.close()
    if report is not None:
        with atomic_output(report, True) as f:
            f.write((jsonlib.dumps(result.to_dict(), indent=2) + "\n").encode("utf-8"))
    if json:
        print_json(result.to_dict())
    elif not (quiet and result.exit_status == 0):
        _print_report(result, quiet)
    check_strict(catalog, records)
    if result.exit_status:
        raise typer.Exit(result.exit_status)


def _print_report(result: DrillReport, quiet: bool) -> None:
    out = stdout_console()
    for v in result.volumes:
        if v.proven and not quiet:
            say(out, f"PROVEN {v.host} {v.disk}: {_proven_line(v)}")
        elif not v.proven:
            say(out, f"NOT PROVEN {v.host} {v.disk}: " + "; ".join(v.reasons))
    say(out, result.summary())


def _proven_line(v: VolumeProof) -> str:
    names = sum(i.names.checked for i in v.images if i.names is not None)
    links = (f"{len(v.links)} header link(s) proven" if v.links_prove
             else f"{len(v.links)} link(s) only in time order (minimal chain: no header link proves it)")
    return (f"{v.chosen} by the {v.chain} chain of {len(v.steps)} dump(s); {links}; every image and the "
            f"merged volume valid ({v.merged.vnodes} vnodes); {names} index name(s) checked against "
            f"their images, {v.merged.names.checked} of the target's in the merged volume")
