"""The resume journal: what a run has already done, kept in its workdir.

Only verified work is journalled: an incremental is written to the journal
after it was fully spooled, its sha256 taken and its Coda header read.  A
rerun of the same plan (same ``plan_hash``) takes those images from the spool
after checking the file's size and sha256 again, and fetches only the rest.
A journal of another plan is refused rather than mixed in.  The file is
replaced atomically (write, fsync, rename), so a kill leaves the old or the
new journal, never half of one.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path

from coda_restore.errors import BadJournal, ForeignJournal
from coda_restore.voldump import files

JOURNAL_NAME = "journal.json"
SCHEMA = "coda-restore.journal/1"


@dataclass(frozen=True)
class SpooledImage:
    key: str  # "DATESTAMP/LEVEL"
    path: str
    bytes: int
    sha256: str


def _load(path: Path) -> dict | None:
    """The journal's data, or None when there is none."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as err:
        raise BadJournal(path, getattr(err, "strerror", None) or err) from None
    if not isinstance(data, dict):
        raise BadJournal(path, "not a JSON object")
    return data


def restore_started(workdir: Path, plan_hash: str) -> str | None:
    """The volume an earlier run of this plan was restoring when it stopped."""
    data = _load(workdir / JOURNAL_NAME)
    return data.get("restore_started") if data and data.get("plan_hash") == plan_hash else None


def sha256_of(path: Path, bufsize: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(bufsize):
            digest.update(chunk)
    return digest.hexdigest()


class Journal:
    def __init__(self, workdir: Path, plan_hash: str):
        self.path = workdir / JOURNAL_NAME
        self.plan_hash = plan_hash
        self.spooled: dict[str, SpooledImage] = {}
        self.restore_started: str | None = None  # volume name volutil was creating
        data = _load(self.path)
        if data is not None:
            if data.get("plan_hash") != plan_hash:
                raise ForeignJournal(self.path, data.get("plan_hash", "?")[:12])
            self.spooled = {k: SpooledImage(**v) for k, v in data.get("spooled", {}).items()}
            self.restore_started = data.get("restore_started")

    def verified(self, key: str) -> SpooledImage | None:
        """The journalled image for KEY if its file is still intact."""
        image = self.spooled.get(key)
        if image is None:
            return None
        path = Path(image.path)
        if not path.is_file() or path.stat().st_size != image.bytes or sha256_of(path) != image.sha256:
            return None
        return image

    def record_spooled(self, image: SpooledImage) -> None:
        self.spooled[image.key] = image
        self._save()

    def record_restore_started(self, volume_name: str) -> None:
        self.restore_started = volume_name
        self._save()

    def finish(self) -> None:
        """The run succeeded: remove the spooled images and the journal."""
        for image in self.spooled.values():
            Path(image.path).unlink(missing_ok=True)
        self.path.unlink(missing_ok=True)
        self.spooled = {}

    def _save(self) -> None:
        data = {
            "schema": SCHEMA,
            "plan_hash": self.plan_hash,
            "spooled": {k: asdict(v) for k, v in self.spooled.items()},
            "restore_started": self.restore_started,
        }
        with files.output(self.path, force=True) as f:  # the one atomic writer
            f.write(json.dumps(data, indent=2, sort_keys=True).encode("utf-8"))
