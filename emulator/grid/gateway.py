"""What the DNO monitor needs from the back office: a narrow, async view of the SRVs it sends.

The monitor never builds DUIS or GBCS itself. Behind this protocol sits the real path (DNO
client → DSP → WAN → Comms Hub → ESME → switch, ``dno_client.py``); unit tests put a double
behind it. Every call returns an ``SrvOutcome`` with the end-to-end response time the DNO saw.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

#: SRV numbers the DNO uses (SECMP0046), with what each does.
SRV_ACTIVATE = "7.5"
SRV_CURTAIL = "7.6"
SRV_READ_LABELS = "7.7"
SRV_RESTORE = "7.8"
SRV_ADD_BOOST = "7.9"
SRV_REMOVE_BOOST = "7.10"

#: SRVs that change what a switch does: the consent register and the guard apply to these.
SWITCHING_SRVS = frozenset(
    {SRV_ACTIVATE, SRV_CURTAIL, SRV_RESTORE, SRV_ADD_BOOST, SRV_REMOVE_BOOST}
)


@dataclass(frozen=True)
class SwitchLabel:
    """One auxiliary load control slot as SRV 7.7 reports it."""

    slot: int
    label: str
    kind: str  # "hcalcs" or "plcs"
    closed: bool | None = None
    level: int | None = None  # 0-100 for a PLCS


class SrvResult(enum.StrEnum):
    """What became of one SRV; the text is what the reports show (``SrvOutcome.status``)."""

    EXECUTED = "executed"
    TIMEOUT = "timeout"  # the DNO stopped waiting
    FAILED = "failed"  # the round trip failed (reason: why)
    REJECTED = "rejected"  # a DSP response code or the device's result (reason: which)
    UNDECODABLE = "undecodable"  # the device's GBCS response did not decode (reason: why)
    REFUSED = "refused"  # never left the DNO: the guard's rule (reason)


#: Results whose text always carries a reason after a colon.
_WITH_REASON = frozenset({SrvResult.FAILED, SrvResult.REJECTED, SrvResult.UNDECODABLE,
                          SrvResult.REFUSED})  # fmt: skip

#: DSP response codes that mean the device's answer never came (DUIS response codes).
NO_ANSWER_CODES = frozenset({"E20", "E21"})


@dataclass(frozen=True)
class SrvOutcome:
    """The result of one SRV, end to end (request sent by the DNO → response received)."""

    srv: str
    premises: str
    slot: int | None
    kind: SrvResult
    sent_at: float  # simulated seconds
    response_s: float | None  # None when no response came
    reason: str = ""  # with FAILED, REJECTED, UNDECODABLE, REFUSED
    labels: tuple[SwitchLabel, ...] = ()
    level: int | None = None

    @property
    def ok(self) -> bool:
        return self.kind is SrvResult.EXECUTED

    @property
    def status(self) -> str:
        """The result as text: "executed", "timeout", "rejected:E21", "refused:<rule>" ..."""
        return f"{self.kind}:{self.reason}" if self.kind in _WITH_REASON else str(self.kind)

    @property
    def unanswered(self) -> bool:
        """No device response reached the DNO: it gave up waiting, the round trip failed, or
        the DSP answered E20/E21 (cannot communicate, no device response). Such an SRV did not
        complete end to end, so it cannot have completed within the 30 s target."""
        if self.kind is SrvResult.REFUSED:
            return False  # never left the DNO (the guard)
        return self.response_s is None or (
            self.kind is SrvResult.REJECTED and self.reason in NO_ANSWER_CODES
        )


@dataclass(frozen=True)
class GatewayAlert:
    """A DSP alert addressed to the DNO (e.g. N65 ALCSHCALCSConfigurationChange)."""

    code: str
    premises: str
    slot: int | None
    at: float
    detail: str = ""
    extra: dict = field(default_factory=dict)


#: Alert code the DSP uses when a Supplier unjoins an HCALCS (docs/backoffice.md).
ALERT_ALCS_CONFIGURATION_CHANGE = "N65"


class SrvGateway(Protocol):
    """The DNO's service requests, as the monitor sees them."""

    async def read_labels(self, premises: str) -> SrvOutcome:  # SRV 7.7
        ...

    async def curtail(
        self, premises: str, slot: int, duration_s: int, level: int | None = None
    ) -> SrvOutcome:  # SRV 7.6 (binary), or a PLCS level
        ...

    async def restore(self, premises: str, slot: int) -> SrvOutcome:  # SRV 7.8
        ...

    async def remove_boost(self, premises: str, slot: int) -> SrvOutcome:  # SRV 7.10
        ...

    async def add_boost(self, premises: str, slot: int) -> SrvOutcome:  # SRV 7.9
        ...

    def on_alert(self, callback: Callable[[GatewayAlert], None]) -> None: ...
