"""Failures of server calls, named as volutil reports them (``<Call> failed with <text>``)."""

from __future__ import annotations


class ServerError(Exception):
    """A server call failed; ``code`` stands in for the RPC2/volume error text."""

    code = "VFAIL"

    def __init__(self, detail: str):
        super().__init__(detail)
        self.detail = detail

    @property
    def text(self) -> str:
        return f"{self.code} ({self.detail})"


class NoVolume(ServerError):
    """No volume has that id (ref §23 row 9: also the id of a clone not made yet)."""

    code = "VNOVOL"

    @property
    def text(self) -> str:
        return "Unknown RPC2 return code 603"


class BadName(ServerError):
    """``info NAME`` for a name the VLDB does not hold (ref §23 row 8: EINVAL)."""

    @property
    def text(self) -> str:
        return "Unknown RPC2 return code 22"


class ServerDied(ServerError):
    """The file server process is gone (ref §23 row 4): every call after it fails."""

    @property
    def text(self) -> str:
        return "RPC2_DEAD (F)"


class WouldBlock(ServerError):
    code = "EWOULDBLOCK"


class VolumeBusy(ServerError):
    code = "VBUSY"


class BadDumpStream(ServerError):
    """The restore reader refused the stream (ref §17)."""
