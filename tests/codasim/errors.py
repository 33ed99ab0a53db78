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
    code = "VNOVOL"


class WouldBlock(ServerError):
    code = "EWOULDBLOCK"


class VolumeBusy(ServerError):
    code = "VBUSY"


class BadDumpStream(ServerError):
    """The restore reader refused the stream (ref §17)."""
