"""Two configs of one site as literal records: ``daily`` (Mon full, Tue and
Thu incrementals of u.jan, Mon full and Tue incremental of u.ann) and
``archive`` (a Wed full of u.jan), for the several-configs tests."""

from __future__ import annotations


def _run(stamp: str, label: str, st: str, dumps: list[tuple[str, int]]) -> str:
    lines = [f"START driver date {stamp}", f'START taper datestamp {stamp} "ST:{st}" "POOL:{st}" label {label} tape 1']
    for n, (disk, level) in enumerate(dumps, 1):
        lines += [
            f"SUCCESS dumper coda1 {disk} {stamp} {level} [sec 0.1 kb 10 kps 1 orig-kb 10]",
            f'PART taper "ST:{st}" "POOL:{st}" {label} {n} coda1 {disk} {stamp} 1/-1 {level} '
            "[sec 0.1 bytes 10240 kps 1 orig-kb 10]",
            f'DONE taper "ST:{st}" "POOL:{st}" coda1 {disk} {stamp} 1 {level} [sec 0.1 bytes 10240 kps 1 orig-kb 10]',
        ]
    return "\n".join(lines + [f"FINISH driver date {stamp} time 1"]) + "\n"


DAILY = {  # Mon full, Tue and Thu incrementals
    "log.20260302010000.0": _run("20260302010000", "daily-01", "daily", [("u.jan", 0), ("u.ann", 0)]),
    "log.20260303010000.0": _run("20260303010000", "daily-02", "daily", [("u.jan", 1), ("u.ann", 1)]),
    "log.20260305010000.0": _run("20260305010000", "daily-03", "daily", [("u.jan", 1)]),
}
DAILY_TAPES = "20260305010000 daily-03 reuse\n20260303010000 daily-02 reuse\n20260302010000 daily-01 reuse\n"
ARCHIVE = {  # Wed: a full of u.jan only
    "log.20260304020000.0": _run("20260304020000", "arch-01", "archive", [("u.jan", 0)]),
}
ARCHIVE_TAPES = "20260304020000 arch-01 reuse\n"


def two_config_args(root) -> list[str]:
    """The shared options naming both configs by explicit paths (written
    under ``root``): ``--config daily --config archive`` with every path
    prefixed, so nothing is asked of amgetconf."""
    from amanda_helpers import write_records

    args = ["--config", "daily", "--config", "archive"]
    for name, logs, tapes in (("daily", DAILY, DAILY_TAPES), ("archive", ARCHIVE, ARCHIVE_TAPES)):
        logdir, tapelist = write_records(root / name, logs, tapes)
        (root / name / "holding").mkdir()
        args += ["--logdir", f"{name}={logdir}", "--tapelist", f"{name}={tapelist}",
                 "--holding", f"{name}={root / name / 'holding'}"]
    return args
