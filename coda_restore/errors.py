"""Every failure a user can cause, with its message and exit status.

The class docstring is the message template (formatted with the constructor's
arguments, as borg does) and ``exit_status`` is what ``coda-restore`` exits
with.  The library raises these and never calls ``sys.exit``; only
``coda_restore.cli.main`` catches them.  The man page's EXIT STATUS section is
generated from ``EXIT_STATUSES`` below.
"""

from __future__ import annotations

# Documented exit statuses (README, man page, --help).
OK = 0
FAILURE = 1
USAGE = 2
NOT_RESTORABLE = 3
VERIFICATION_FAILED = 4
INTERRUPTED = 5
RESTORE_WRONG = 6
NO_RECORDS = 7
STALE = 8
PREFLIGHT_FAILED = 9
PARTIAL = 10
OVER_BUDGET = 11
NONE_DONE = 12

EXIT_STATUSES = {
    OK: "success; for plan and check: the volume is restorable",
    FAILURE: "failure (a command Amanda or volutil ran failed, I/O error), "
    "or warnings under --strict",
    USAGE: "usage error: bad option, date, volume name, or an output that exists",
    NOT_RESTORABLE: "not restorable: no chain reaches the target",
    VERIFICATION_FAILED: "verification failed: a dump image is invalid, truncated "
    "or does not belong on its base",
    INTERRUPTED: "interrupted by a signal; the run can be resumed",
    RESTORE_WRONG: "restore not verified: the server failed the restore, or the volume "
    "it made differs from what was sent",
    NO_RECORDS: "no Amanda records: the log directory holds no Amanda log",
    STALE: "stale: for check, a volume's newest restore point is older than --max-age",
    PREFLIGHT_FAILED: "a preflight check failed (run and run --dry-run)",
    PARTIAL: "some, not all: of several volumes a bulk plan covers, a bulk run restores, or verify "
    "proves only some (the report says which and why)",
    OVER_BUDGET: "over budget: the bulk plan's spool would exceed --staging-max (the plan is printed, "
    "not written)",
    NONE_DONE: "none: a bulk run restored, or verify proved, none of its volumes (the report says why)",
}


class CodaRestoreError(Exception):
    """Error: {}"""

    exit_status = FAILURE
    traceback = False  # show a traceback only for classes that ask for one

    def __init__(self, *args):
        super().__init__(*args)
        self.args = args

    def message(self) -> str:
        return type(self).__doc__.format(*self.args)

    def __str__(self) -> str:
        return self.message()


class UsageError(CodaRestoreError):
    """{}"""

    exit_status = USAGE


class UnknownVolume(UsageError):
    """unknown volume {!r}{}"""


class AmbiguousVolume(UsageError):
    """volume {!r} is on several hosts ({}); choose one with --host"""


class BadDate(UsageError):
    """cannot read date {!r}: {}"""


class OutputExists(UsageError):
    """{} exists; use --force to overwrite it"""


class BadPlan(UsageError):
    """plan {} cannot be used: {}"""


class ConfigUnreadable(UsageError):
    """Amanda config {!r} cannot be read: {}"""


class NoRecords(CodaRestoreError):
    """no Amanda logs under {} (log.* files); nothing to answer from"""

    exit_status = NO_RECORDS


class NotRestorable(CodaRestoreError):
    """{}"""

    exit_status = NOT_RESTORABLE


class VerificationFailed(CodaRestoreError):
    """{}"""

    exit_status = VERIFICATION_FAILED


class BadDirectory(VerificationFailed):
    """directory {}: {}"""


class UnsafeName(VerificationFailed):
    """{}: name {!r} could escape the extraction directory; nothing was extracted"""


class WriteFailed(CodaRestoreError):
    """cannot write {}: {}"""


class ReadFailed(CodaRestoreError):
    """cannot read {}: {}"""


class Interrupted(CodaRestoreError):
    """interrupted by signal {}"""

    exit_status = INTERRUPTED


class StrictWarnings(CodaRestoreError):
    """{} warning(s) and --strict was given"""


class CommandFailed(CodaRestoreError):
    """{} exited with status {}: {}"""

    def __init__(self, argv, status, stderr_tail=""):
        super().__init__(" ".join(map(str, argv)), status, stderr_tail.strip() or "(no output)")
        self.argv, self.status, self.stderr_tail = list(argv), status, stderr_tail


class VolutilOutputError(CodaRestoreError):
    """volutil {} printed something unexpected: {!r}"""


class DumpFormatError(VerificationFailed):
    """{}: offset {}: {}"""

    def __init__(self, offset, detail, source="dump"):
        super().__init__(source, offset, detail)
        self.source, self.offset, self.detail = source, offset, detail


class TruncatedDump(DumpFormatError):
    """{}: offset {}: truncated dump: {} needs {} bytes, got {}"""

    def __init__(self, offset, what, expected, got, source="dump"):
        CodaRestoreError.__init__(self, source, offset, what, expected, got)
        self.source, self.offset, self.what, self.expected, self.got = source, offset, what, expected, got
        self.detail = f"truncated dump: {what} needs {expected} bytes, got {got}"


class ChainMismatch(VerificationFailed):
    """{}"""


class WrongBase(ChainMismatch):
    """{} is not with respect to {}: its oldest is {}, the base's latest is {}"""


# -- run (executor/runner.py) --------------------------------------------------------------


class HalfCreated(CodaRestoreError):
    """an earlier run of this plan stopped after volutil restore started (journal {}):
volume {} may be half-created on {}.
Check with: {}
Remove it with: {}
Then the same command resumes (the verified images are kept)."""

    exit_status = RESTORE_WRONG


class VolumeExists(UsageError):
    """volume {} already exists on {}; choose another --name (nothing was restored)"""


class RunLocked(CodaRestoreError):
    """another coda-restore run holds {}"""


class SpoolFailed(CodaRestoreError):
    """cannot write {}: {}"""


class PreflightFailed(CodaRestoreError):
    """preflight failed: {}"""

    exit_status = PREFLIGHT_FAILED


# -- fetching images (executor/fetch.py, executor/amrestore.py) ----------------------------


class WrongImage(VerificationFailed):
    """amfetchdump returned {} but the plan asked for {}"""


class Stalled(CodaRestoreError):
    """{} moved no data for {:g} s (--stall-timeout); stopped it"""


class WrongPart(WrongImage):
    """amrestore returned {} but the plan asked for {}"""


class TapeNotLoaded(CodaRestoreError):
    """tape {} was not loaded into {} within {:g} s (--tape-wait); load it and run again (verified images are kept)"""


class NoDevice(UsageError):
    """the plan reads tape {}, which the scan did not see on any device: load it where the scan can read it, scan again"""


# -- the resume journal (executor/journal.py) ----------------------------------------------


class ForeignJournal(UsageError):
    """{} belongs to another plan ({}); use another --workdir or remove it"""


class BadJournal(UsageError):
    """{} cannot be read ({}); remove it (its spool is then fetched again)"""


# -- the restore on the server and its proof (executor/restore.py) -------------------------


class RestoreFailed(CodaRestoreError):
    """the server did not restore {}: {}
volutil restore had started: volume {} may be half-created on {}.
Check with: {}
Remove it with: {}
The merged image is kept: {}"""

    exit_status = RESTORE_WRONG


class RestoreWrong(CodaRestoreError):
    """volume {} ({}) on {} is WRONG: it is not what was sent:
  {}
Do not use it; remove it with: {}
The merged image is kept: {}"""

    exit_status = RESTORE_WRONG


class NotVerified(CodaRestoreError):
    """volume {} ({}) on {} was restored but could not be dumped back to verify it: {}
Treat it as unverified; remove it with: {}
The merged image is kept: {}"""

    exit_status = RESTORE_WRONG


# -- scan files (scan.py) ------------------------------------------------------------------


class BadScan(UsageError):
    """scan file {}: {}"""


# -- amcoda install (plugin_install.py) ----------------------------------------------------


class PluginUnreachable(CodaRestoreError):
    """Amanda's user {} cannot run amcoda from {}: {}
(install coda-restore into a venv that user can read and execute, e.g. python3 -m venv /opt/coda-restore); nothing was installed"""

    exit_status = PREFLIGHT_FAILED


# --- amcoda, the backup side (reported to Amanda, not as an exit status) ---


class VolumeProblem(CodaRestoreError):
    """{}"""


# -- the codec and the commands that read dumps (voldump, extract, ls, inspect)


class CannotOpen(CodaRestoreError):
    """cannot open {}: {}"""


class InvalidDump(VerificationFailed):
    """{}"""


class NegativeLevel(ChainMismatch):
    """{} is a negative-level dump (level {}): directories deleted since its base would come back; \
use --chain minimal to merge it anyway"""


class OwnLostFound(UsageError):
    """the volume has its own {}"""


class PartlyExtracted(CodaRestoreError):
    """{}
{}"""

    def __init__(self, cause: CodaRestoreError, written: str):
        super().__init__(cause, written)
        self.exit_status = cause.exit_status  # what stopped it decides the status


class IndexUnreadable(VerificationFailed):
    """index of {}: {}"""
