"""The catalog index never changes an answer: for random sequences of
nights written (some interrupted, then grown), tapes reused, tapelist
edits, logs trimmed (amtrmlog: moved to oldlog/ or deleted), logs damaged
and holding files flushed, ``volumes``, ``history``, ``plan`` and ``check``
print byte for byte the same (stdout, stderr, exit status) with the index,
kept from step to step, as with --no-index."""

from __future__ import annotations

import tempfile
from pathlib import Path

from cli_runner import run_cli
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

DLES = (("h1", "u.a"), ("h2", "u.b"), ("h1", "p.c"), ("h2", "u.a"))
TAPES = ("T1", "T2", "T3")
BLOCK = 32 * 1024

# (kind, arguments): what Amanda, amtrmlog or an operator does next.
night = st.tuples(st.just("night"), st.sampled_from(TAPES),
                  st.lists(st.tuples(st.integers(0, 2), st.sampled_from(["tape", "tape", "fail", "hold", "none"])),
                           min_size=len(DLES), max_size=len(DLES)),
                  st.booleans())  # interrupted: its last lines come with a later "grow"
step = st.one_of(night, night, st.tuples(st.just("grow")), st.tuples(st.just("flush")),
                 st.tuples(st.just("drop-tape"), st.sampled_from(TAPES)),
                 st.tuples(st.just("trim"), st.booleans()), st.tuples(st.just("damage")))


class Site:
    """A logdir, tapelist and holding disk that the steps change."""

    def __init__(self, root: Path):
        self.root = root
        self.logdir, self.holding, self.tapelist = root / "log", root / "holding", root / "tapelist"
        (self.logdir / "oldlog").mkdir(parents=True)
        self.holding.mkdir()
        self.tapes: dict[str, str] = {}
        self.nights = 0
        self.withheld: tuple[Path, str] | None = None
        self._write_tapelist()

    def _write_tapelist(self) -> None:
        rows = sorted(self.tapes.items(), key=lambda kv: kv[1], reverse=True)
        self.tapelist.write_text("".join(f"{ts} {label} reuse\n" for label, ts in rows))

    def apply(self, op: tuple) -> None:
        getattr(self, op[0].replace("-", "_"))(*op[1:])

    def night(self, label: str, dles: list[tuple[int, str]], interrupted: bool) -> None:
        self.grow()
        self.nights += 1
        ts = f"202601{self.nights:02d}010000"
        lines = [f"START planner date {ts}", f"START driver date {ts}", f"START taper datestamp {ts} label {label} tape 1"]
        filenum = 0
        for (host, disk), (level, fate) in zip(DLES, dles):
            stats = "[sec 1 kb 100 kps 10.0]"
            lines += [f"SUCCESS dumper {host} {disk} {ts} {level} [sec 1 kb 100 kps 10.0 orig-kb 100]",
                      f"SUCCESS chunker {host} {disk} {ts} {level} {stats}"]
            if fate == "tape":
                filenum += 1
                lines += [f"PART taper {label} {filenum} {host} {disk} {ts} 1/1 {level} {stats}",
                          f"DONE taper {host} {disk} {ts} 1 {level} {stats}"]
            elif fate == "fail":
                lines.append(f'FAIL taper {host} {disk} {ts} {level} error "no space left on {label}"')
            elif fate == "hold":
                d = self.holding / ts
                d.mkdir(exist_ok=True)
                head = f"AMANDA: FILE {ts} {host} {disk} lev {level} comp N program APPLICATION\n\f\n"
                (d / f"{host}.{disk}.{level}").write_bytes(head.encode().ljust(BLOCK, b"\0") + b"x" * 2048)
        lines.append(f"FINISH driver date {ts} time 1")
        text = "\n".join(lines) + "\n"
        log = self.logdir / f"log.{ts}.0"
        cut = text.rfind("\nSUCCESS chunker") + 1 if interrupted else len(text)
        log.write_text(text[:cut])
        if cut < len(text):
            self.withheld = (log, text[cut:])
        self.tapes[label] = ts
        self._write_tapelist()

    def grow(self) -> None:
        """The interrupted night's log gets its last lines."""
        if self.withheld is not None:
            log, rest = self.withheld
            self.withheld = None
            if log.exists():
                with log.open("a") as f:
                    f.write(rest)

    def flush(self) -> None:
        for f in self.holding.rglob("*.*.*"):
            f.unlink()

    def drop_tape(self, label: str) -> None:
        self.tapes.pop(label, None)
        self._write_tapelist()

    def trim(self, keep_in_oldlog: bool) -> None:
        logs = sorted(self.logdir.glob("log.*"))
        if logs:
            if keep_in_oldlog:
                logs[0].rename(self.logdir / "oldlog" / logs[0].name)
            else:
                logs[0].unlink()

    def damage(self) -> None:
        logs = sorted(self.logdir.glob("log.*"))
        if logs:
            with logs[-1].open("ab") as f:
                f.write(b"DONE taper h1 u.a \x00\x01 garbage\n")

    def commands(self) -> list[list]:
        src = ["--logdir", self.logdir, "--tapelist", self.tapelist, "--holding", self.holding]
        day = f"2026-01-{max(self.nights, 1):02d}"
        now = ["--now", f"2026-01-{self.nights + 1:02d}"]
        argvs = [["volumes", "--json", *src], ["check", "--json", *src, *now]]
        for host, disk in DLES:
            argvs += [["history", disk, "--host", host, "--json", *src],
                      ["plan", disk, "--host", host, "--date", day, *now, "--json", *src]]
        argvs.append(["history", "u.a", "--json", *src])  # on two hosts: the same error either way
        return argvs


def _answer(argv: list) -> tuple[int, str, str]:
    r = run_cli(*argv, exit_status=None)
    return r.exit_code, r.stdout, r.stderr


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(step, min_size=1, max_size=7))
def test_every_answer_is_the_same_with_the_index_kept_between_steps(steps):
    with tempfile.TemporaryDirectory(prefix="index-equivalence-") as tmp:
        site = Site(Path(tmp) / "site")
        index = ["--index", Path(tmp) / "catalog-index.sqlite"]
        for op in [("night", "T1", [(0, "tape")] * len(DLES), False), *steps]:
            site.apply(op)
            for argv in site.commands():
                assert _answer([*argv, *index]) == _answer([*argv, "--no-index"]), (op, argv)
