"""Request ids the DSP has accepted, and the pre-commands it has issued and awaits back.

A request id (originator : target : counter) is accepted once: a second request with it is a
replay (E42). The critical round trip reuses the id on purpose: the variant 5 request that
returns a signed pre-command must carry the id of a pre-command the DSP issued and has not
yet seen back; once it comes back the id is spent.

The ledger also hears where each accepted request is on its way (`queued`, `dispatched`,
`responding` with the signed answer about to be delivered, `answered`). This one keeps nothing of that: a DSP in a scenario ends with its process.
`state.PersistentLedger` writes it to SQLite so that `gbhan dsp serve` restarted on the same
state directory refuses replays, finishes what it acknowledged and sends nothing twice.
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
    #: the variant 4 request it came from, when the context has to be rebuilt (after a restart)
    body: bytes | None = None


@dataclass(frozen=True)
class Unfinished:
    """An acknowledged request a restarted DSP still owes an answer: `queued` (its command
    never left), `dispatched` (it left; whether the device executed it is unknown) or
    `responding` (its signed answer, `response`, may or may not have reached the user)."""

    request_id: str
    state: str
    body: bytes
    command: bytes
    response: bytes | None = None


class RequestLedger:
    def __init__(self) -> None:
        self._seen: set[str] = set()
        self._issued: dict[str, Issued] = {}

    def accept(self, request_id: str) -> None:
        """Record a new request (variants 1-4, 8); Replayed if the id was used before."""
        if request_id in self._seen:
            raise Replayed(f"request id {request_id} was used before")
        self._seen.add(request_id)

    def issue(
        self, request_id: str, precommand: bytes, context: Any, body: bytes | None = None
    ) -> None:
        self._issued[request_id] = Issued(precommand, context, body)

    # --- where an accepted request is (kept only by a persistent ledger) ----------------------
    def queued(self, request_id: str, body: bytes | None, command: bytes) -> None:
        """The command for an accepted request is ready and about to be routed."""

    def dispatched(self, request_id: str) -> None:
        """The command is leaving for the premises: it must never be sent again."""

    def responding(self, request_id: str, response: bytes) -> None:
        """The request's final answer, signed, is about to be delivered."""

    def answered(self, request_id: str) -> None:
        """The request's final answer has been handed to delivery."""

    def unfinished(self) -> list[Unfinished]:
        """Requests acknowledged by an earlier run that were never answered."""
        return []

    def acb_counter(self, value: int) -> None:
        """The ACB counter just used (kept so a restart never reuses one)."""

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
