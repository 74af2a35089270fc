"""What became of a GBCS command at a device, as types: executed or rejected, and why.

The text forms ("executed", "rejected:<reason>") are what the back office, `gbhan emulate
command`'s JSON lines and the devices' `stats` counters show; the enums are `StrEnum`s, so
each member is that text and compares equal to it.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

from emulator.errors import EmulatorError
from gbcs import decode
from gbcs.errors import GbcsError
from gbcs.message import Message

__all__ = [
    "CommandRejected",
    "EsmeResult",
    "Outcome",
    "RejectReason",
    "answer_command",
    "join_entry",
    "outcome_text",
]

#: the join response codes every device log answers with (gbcs.asn1.JOIN_RESPONSES)
JOIN_OK, JOIN_INCOMPATIBLE, JOIN_LOG_FULL = 0, 3, 4


def join_entry(log: dict[bytes, str], other: bytes, kind: str, capacity: int) -> int:
    """The rule every GBCS device log joins an entry by, once the join itself is one the
    device takes: the same device again refreshes its entry (another type is incompatible),
    a new one needs room below `capacity`; the join response code."""
    if other in log:
        return JOIN_OK if log[other] == kind else JOIN_INCOMPATIBLE
    if len(log) >= capacity:
        return JOIN_LOG_FULL
    log[other] = kind
    return JOIN_OK


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


def answer_command(
    command: bytes,
    eui: bytes,
    *,
    who: str,
    stats: Counter,
    logger: logging.Logger,
    srv_of: Callable[[Message], str | None],
    check: Callable[[Message, str | None], None],
    execute: Callable[[Message], bytes],
) -> EsmeResult:
    """One command through a GBCS device's application (the scaffolding the CHF, the gas
    devices and the HCALCS/PPMID share): decode, name its SRV (`srv_of`), refuse what is not
    a command or not for `eui`, `check` the rest (raising CommandRejected), `execute` it to
    the response. Never raises for bad input: a refusal is counted in `stats`, logged as
    `who`'s, and has no response (GBCS devices stay silent)."""
    use_case, srv = "unknown", None
    try:
        message = decode(command)
        use_case = message.use_case.name if message.use_case else f"0x{message.message_code:04X}"
        srv = srv_of(message)
        if message.cra != "command":
            raise CommandRejected(RejectReason.NOT_A_COMMAND)
        if bytes(message.target) != eui:
            raise CommandRejected(RejectReason.UNKNOWN_TARGET)
        check(message, srv)
        response = execute(message)
    except GbcsError as exc:
        reason, detail = RejectReason.MALFORMED, str(exc)
    except CommandRejected as exc:
        reason, detail = exc.reason, ""
    else:
        stats[outcome_text(Outcome.EXECUTED, None)] += 1
        return EsmeResult(use_case, srv, Outcome.EXECUTED, response)
    stats[outcome_text(Outcome.REJECTED, reason)] += 1
    logger.info("%s rejected %s (%s): %s %s", who, use_case, srv, reason, detail)
    return EsmeResult(use_case, srv, Outcome.REJECTED, reason=reason)
