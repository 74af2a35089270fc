"""Request ids the DSP has accepted, and the pre-commands it has issued and awaits back.

A request id (originator : target : counter) is accepted once: a second request with it is a
replay (E42). The critical round trip reuses the id on purpose: the variant 5 request that
returns a signed pre-command must carry the id of a pre-command the DSP issued and has not
yet seen back; once it comes back the id is spent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from emulator.errors import EmulatorError


class Replayed(EmulatorError, ValueError):
    """The request id was used before (E42)."""


class NotIssued(EmulatorError, ValueError):
    """A variant 5 request for which the DSP issued no pre-command (E12)."""


@dataclass
class Issued:
    """A pre-command awaiting its signature: what the DSP issued and what it came from."""

    precommand: bytes
    context: Any


class RequestLedger:
    def __init__(self) -> None:
        self._seen: set[str] = set()
        self._issued: dict[str, Issued] = {}

    def accept(self, request_id: str) -> None:
        """Record a new request (variants 1-4, 8); Replayed if the id was used before."""
        if request_id in self._seen:
            raise Replayed(f"request id {request_id} was used before")
        self._seen.add(request_id)

    def issue(self, request_id: str, precommand: bytes, context: Any) -> None:
        self._issued[request_id] = Issued(precommand, context)

    def redeem(self, request_id: str) -> Issued:
        """The pre-command a variant 5 request answers; spent after this call."""
        issued = self._issued.pop(request_id, None)
        if issued is not None:
            return issued
        if request_id in self._seen:
            raise Replayed(f"the pre-command of {request_id} was already returned")
        raise NotIssued(f"no pre-command was issued for {request_id}")

    def restore(self, request_id: str, issued: Issued) -> None:
        """Put back a pre-command whose signed return was refused (the user may retry)."""
        self._issued[request_id] = issued

    def __contains__(self, request_id: str) -> bool:
        return request_id in self._seen
