"""Does a response answer its command? The checks a remote party makes before it trusts a
device's answer (GBCS grouping header, primer section 4.2): the same message code (so the
same use case), a command (CRA 1) answered by a response (CRA 2), the command's originator
counter echoed, business originator and target swapped, for DLMS the same invoke id; and
each message on its own passes the strict check, which holds the response to the
protection its use case requires (signed for a critical use case, else MAC'd).
"""

from __future__ import annotations

from .check import check_message_bytes
from .judge import FileResult, Verdict, _message_code_offset
from .keystore import Keystore
from .message import Message
from .record import Record

# the pairing rules (beside gbcs.check.RULES, which each message is held to on its own)
PAIRING_RULES: dict[str, str] = {
    "pairing": "a command (CRA 1) is answered by a response (CRA 2)",
    "use-case": "the response carries the command's message code",
    "counter": "the response echoes the command's originator counter",
    "parties": "the response's originator is the command's target and its target the "
    "command's originator",
    "invoke-id": "a DLMS response carries the request's invoke id",
}
_COUNTER_OFFSET = 3  # in a DF APDU: DF, 09, the CRA flag, then the 8-byte counter
_ORIGINATOR_OFFSET = 12
_TARGET_OFFSET = 21


class MatchResult(Record):
    """The command's and the response's own strict results, and the pairing verdicts
    (offsets in the response)."""

    FIELDS = ("command", "response", "pairing")

    def __init__(
        self, command: FileResult, response: FileResult, pairing: list[Verdict] | None = None
    ) -> None:
        self.command = command
        self.response = response
        self.pairing: list[Verdict] = [] if pairing is None else pairing

    @property
    def failed(self) -> bool:
        return bool(self.pairing) or self.command.failed or self.response.failed

    def failures(self) -> list[str]:
        """Every failure as a line: `command: ...`, `response: ...` or `pairing: ...`."""
        return (
            [f"command: {v}" for v in self.command.verdicts]
            + [f"response: {v}" for v in self.response.verdicts]
            + [f"pairing: {v}" for v in self.pairing]
        )

    def as_dict(self) -> dict[str, object]:
        return {
            "matched": not self.failed,
            "command": self.command.as_dict(),
            "response": self.response.as_dict(),
            "pairing": [v.as_dict() for v in self.pairing],
        }


def match(
    command: bytes,
    response: bytes,
    keystore: Keystore | None = None,
    *,
    allow_unverifiable: bool = False,
    names: tuple[str, str] = ("command", "response"),
) -> MatchResult:
    """Check that `response` answers `command` (both whole messages as bytes). Without a
    keystore, signatures and MACs are unverifiable and fail unless `allow_unverifiable`."""
    first = check_message_bytes(
        names[0], bytes(command), keystore, allow_unverifiable=allow_unverifiable
    )
    second = check_message_bytes(
        names[1], bytes(response), keystore, allow_unverifiable=allow_unverifiable
    )
    result = MatchResult(first, second)
    if first.message is not None and second.message is not None:
        result.pairing = pairing_verdicts(first.message, second.message)
    return result


def pairing_verdicts(command: Message, response: Message) -> list[Verdict]:
    """The pairing rules between two decoded messages; offsets are in the response."""
    found = []
    base = response.apdu_offset
    if command.cra_flag != 1 or response.cra_flag != 2:
        found.append(
            Verdict(
                "pairing",
                f"a {command.cra} answered by a {response.cra}, not a command by a response",
                base + 2,
            )
        )
    if command.message_code != response.message_code:
        found.append(
            Verdict(
                "use-case",
                f"message code 0x{response.message_code:04X} answers 0x{command.message_code:04X}",
                _message_code_offset(response),
            )
        )
    if command.counter != response.counter:
        found.append(
            Verdict(
                "counter",
                f"counter {response.counter} does not echo the command's {command.counter}",
                base + _COUNTER_OFFSET,
            )
        )
    if bytes(response.originator) != bytes(command.target):
        found.append(
            Verdict(
                "parties",
                f"originator {bytes(response.originator).hex().upper()} is not the "
                f"command's target {bytes(command.target).hex().upper()}",
                base + _ORIGINATOR_OFFSET,
            )
        )
    if bytes(response.target) != bytes(command.originator):
        found.append(
            Verdict(
                "parties",
                f"target {bytes(response.target).hex().upper()} is not the command's "
                f"originator {bytes(command.originator).hex().upper()}",
                base + _TARGET_OFFSET,
            )
        )
    asked = _invoke_id(command)
    answered = _invoke_id(response)
    if asked is not None and answered is not None and asked != answered:
        found.append(
            Verdict(
                "invoke-id",
                f"DLMS invoke id {answered:#x} does not answer the request's {asked:#x}",
                response.content_offset + 1,
            )
        )
    return found


def _invoke_id(message: Message) -> int | None:
    if not message.payload_kind.startswith("dlms"):
        return None
    try:
        value = message.payload["long_invoke_id_and_priority"]
    except (KeyError, TypeError):
        return None
    return value if isinstance(value, int) else None
