"""Vtape slot directories as Amanda 3.5's vfs device writes them (ref
amanda-formats.md §4.2-§4.3: a 32 KiB label file, then one file per part,
each a 32 KiB header and the data), holding real Coda dumps from the test
vectors: what scan reads, and what amrestore reads in the run tests."""

from __future__ import annotations

from pathlib import Path

from voldump_vectors import f1, i1

HOST, DISK = "localhost", "/coda/u.jan"
BLOCK = 32 * 1024


def header(kind: str, datestamp: str, level: int, part: int | None, stored: int | None = None) -> bytes:
    part_field = f" part {part}/-1 " if part is not None else " "
    text = f"AMANDA: {kind} {datestamp} {HOST} {DISK} {part_field} lev {level} comp N program APPLICATION\n"
    text += "APPLICATION=amcoda\n"
    if stored is not None:
        text += f"NATIVE-CRC=00000000:{stored}\nSERVER-CRC=00000000:{stored}\n"
    text += "To restore, position tape at start of file and run:\n\tdd if=<tape> bs=32k skip=1 | amcoda restore\n\f\n"
    return text.encode().ljust(BLOCK, b"\0")


def slot(root: Path, n: int, label: str, written: str, files: list[tuple[str, int, bytes, int, int | None]]) -> Path:
    """A slot directory: its label, then (datestamp, level, data, part, stored size) per file."""
    d = root / f"slot{n}"
    d.mkdir(parents=True)
    (d / f"00000.{label}").write_bytes(f"AMANDA: TAPESTART DATE {written} TAPE {label}\n\f\n".encode().ljust(BLOCK, b"\0"))
    for i, (stamp, level, data, part, stored) in enumerate(files, 1):
        (d / f"{i:05d}.{HOST}._coda_u.jan.{level}").write_bytes(header("SPLIT_FILE", stamp, level, part, stored) + data)
    return d


FULL, INCR = f1(), i1(oldest=5, latest=9)
