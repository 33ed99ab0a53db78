"""The ``coda-restore`` console script: answers ``--version`` and help with
the standard library alone, and hands everything else to ``cli.main``.

Importing the CLI costs typer, rich and the command modules (about 0.3 s
for ``--help``), more than the answer itself.  ``--version`` is printed
here.  Help is typer's own text, kept after the first time it is printed:
a file in the user's cache directory named by a digest of everything that
shapes it (the package's and typer's and rich's files, the terminal's
size, colour and encoding settings).  Any change of those names another
file, so a kept text is never stale; without a writable cache directory
help simply comes from typer each time.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import sys
from pathlib import Path

from coda_restore import __version__

# What rich, typer and click read to decide width, colour and layout.
_ENV_SHAPING_HELP = (
    "COLUMNS", "LINES", "JUPYTER_COLUMNS", "JUPYTER_LINES", "TERMINAL_WIDTH", "TERM", "COLORTERM", "NO_COLOR",
    "FORCE_COLOR", "PY_COLORS", "GITHUB_ACTIONS", "TTY_COMPATIBLE", "TTY_INTERACTIVE",
    "DATABRICKS_RUNTIME_VERSION", "TYPER_USE_RICH", "_TYPER_FORCE_DISABLE_TERMINAL",
    "PYTHONIOENCODING", "PYTHONUTF8", "LANG", "LC_ALL", "LC_CTYPE",
)
_COMPLETE_VAR = "_CODA_RESTORE_COMPLETE"  # set by shell completion: typer answers, not help
_HELP = ("--help", "-h")
_KEEP_AT_MOST = 64


def _command_names() -> list[str]:
    here = Path(__file__).parent / "cli"
    return [p.name[: -len("_cmd.py")] for p in here.glob("*_cmd.py")]


def is_help(argv: list[str]) -> bool:
    """``--help`` alone, or ``COMMAND --help``: the requests answered from a kept text."""
    return (len(argv) == 1 and argv[0] in _HELP) or (
        len(argv) == 2 and argv[1] in _HELP and argv[0] in _command_names())


def _files_shaping_help() -> list[Path]:
    files = sorted(Path(__file__).parent.rglob("*.py"))
    for package in ("typer", "rich"):
        spec = importlib.util.find_spec(package)  # finds the package without importing it
        if spec is not None and spec.origin:
            files.append(Path(spec.origin))
    return files


def _terminal(fd: int) -> tuple[bool, tuple[int, int] | None]:
    try:
        return os.isatty(fd), tuple(os.get_terminal_size(fd))
    except OSError:
        return False, None


def help_key(argv: list[str]) -> str:
    """The digest naming the kept help text for this request here and now."""
    parts = [repr(argv), sys.version, sys.executable, str(getattr(sys.stdout, "encoding", None)),
             *(repr(_terminal(fd)) for fd in (0, 1, 2)),
             *(f"{name}={os.environ.get(name)}" for name in _ENV_SHAPING_HELP)]
    for path in _files_shaping_help():
        st = path.stat()
        parts.append(f"{path}:{st.st_size}:{st.st_mtime_ns}")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:32]


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "coda-restore" / "help"


def _write_stdout(data: bytes) -> int:
    """The exit status: 1 with the message cli.main gives when stdout fails."""
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(1, view):]
    except OSError as err:
        from coda_restore.errors import FAILURE, WriteFailed

        print(f"coda-restore: error: {WriteFailed('standard output', err.strerror or err)}", file=sys.stderr)
        return FAILURE
    return 0


def _keep(path: Path, data: bytes) -> None:
    """Write the text beside its final name, then rename: a reader sees all or nothing."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}")
        tmp.write_bytes(data)
        os.replace(tmp, path)
        kept = sorted(path.parent.iterdir(), key=lambda p: p.stat().st_mtime_ns)
        for old in kept[:-_KEEP_AT_MOST]:  # texts of old versions and sizes
            old.unlink(missing_ok=True)
    except OSError:
        pass  # no writable cache: help just comes from typer next time too


def main() -> None:
    argv = sys.argv[1:]
    if _COMPLETE_VAR not in os.environ:
        if argv == ["--version"]:
            sys.exit(_write_stdout(f"coda-restore {__version__}\n".encode()))
        if is_help(argv):
            kept = cache_dir() / help_key(argv)
            try:
                data = kept.read_bytes()
            except OSError:
                data = None
            if data is not None:
                sys.exit(_write_stdout(data))
            from coda_restore import cli

            shown: list[bytes] = []
            try:
                cli.main(record=shown.append)
            except SystemExit as done:
                if done.code in (0, None):
                    _keep(kept, b"".join(shown))
                raise
    from coda_restore import cli

    cli.main()
