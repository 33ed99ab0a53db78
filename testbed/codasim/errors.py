"""Failures of server calls, named as volutil reports them (``<Call> failed with <text>``)."""

from __future__ import annotations


class ServerError(Exception):
    """A server call failed; ``code`` stands in for the RPC2/volume error text."""

    code = "VFAIL"
    rpc2: int | None = None  # set: volutil prints "Unknown RPC2 return code N" as the real one (§23 row 11)

    def __init__(self, detail: str):
        super().__init__(detail)
        self.detail = detail

    @property
    def text(self) -> str:
        if self.rpc2 is not None:
            return f"Unknown RPC2 return code {self.rpc2}"
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
    """The restore reader refused the stream (ref §17): VFAIL, 700 on the real server."""

    rpc2 = 700


class VolumeIdInUse(ServerError):
    rpc2 = 604


class TransferFailed(ServerError):
    """A second ReadDump the server could not make (§23 row 3): the client
    reports the side effect, the call fails with 700."""

    rpc2 = 700

