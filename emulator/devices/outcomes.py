"""What became of a GBCS command at a device, as types: executed or rejected, and why.

The text forms ("executed", "rejected:<reason>") are what the back office, `gbhan emulate
command`'s JSON lines and the devices' `stats` counters show; the enums are `StrEnum`s, so
each member is that text and compares equal to it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from emulator.errors import EmulatorError

__all__ = ["CommandRejected", "EsmeResult", "Outcome", "RejectReason", "outcome_text"]


class Outcome(StrEnum):
    EXECUTED = "executed"
    REJECTED = "rejected"


class RejectReason(StrEnum):
    """Why a command was refused, in the order a device checks (docs/devices.md), then what
    the premises refuses before any device sees a command."""

    MALFORMED = "malformed"
    NOT_A_COMMAND = "not-a-command"
    UNKNOWN_TARGET = "unknown-target"
    UNSUPPORTED_USE_CASE = "unsupported-use-case"
    UNKNOWN_ORIGINATOR = "unknown-originator"
    NO_MAC = "no-mac"
    BAD_MAC = "bad-mac"
    UNSIGNED = "unsigned"
    BAD_SIGNATURE = "bad-signature"
    ROLE_NOT_PERMITTED = "role-not-permitted"
    REPLAY = "replay"
    OLD_COUNTER = "old-counter"
    NO_SWITCH = "no-switch"  # an ECS47 for an empty slot
    # the premises and its Comms Hub
    UNSUPPORTED_TARGET = "unsupported-target"  # in the hub's log, but no GBCS model
    NO_RESPONSE = "no-response"  # the device answered nothing through the tunnel
    TUNNEL_NO_ACK = "tunnel-no_ack"  # the hub's Transfer Data was not delivered (medium's
    TUNNEL_NOT_JOINED = "tunnel-not_joined"  # DeliveryStatus after "tunnel-")
    TUNNEL_NO_ROUTE = "tunnel-no_route"
    TUNNEL_NO_LINK_KEY = "tunnel-no_link_key"


def outcome_text(status: Outcome, reason: RejectReason | None) -> str:
    """The text of an outcome: "executed", or "rejected:<reason>"."""
    if status is Outcome.EXECUTED:
        return str(status)
    return f"{status}:{reason}"


class CommandRejected(EmulatorError):
    """A device refuses a command (nothing executed, no response): `reason` says why."""

    def __init__(self, reason: RejectReason) -> None:
        super().__init__(str(reason))
        self.reason = reason


@dataclass
class EsmeResult:
    """What a GBCS device (the ESME, or an HCALCS's / PPMID's own GBCS application) made of
    one command; `outcome` is its text form."""

    use_case: str
    srv: str | None
    status: Outcome
    response: bytes | None = None
    alerts: list[bytes] = field(default_factory=list)
    slot: int | None = None
    reason: RejectReason | None = None
    outcome: str = field(init=False)

    def __post_init__(self) -> None:
        self.outcome = outcome_text(self.status, self.reason)
