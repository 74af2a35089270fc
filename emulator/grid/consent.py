"""The DNO's consent register (DCUSA DCP 371): participation is voluntary, per premises.

A premises is opted in, declined (never switched, never even addressed), or withdrawn (was in;
no new curtailment, but the DNO may still undo what it did). Premises never asked are
``NOT_ASKED`` and treated like declined.
"""

from __future__ import annotations

import builtins
import enum
from dataclasses import dataclass, field


class Consent(enum.Enum):
    OPTED_IN = "opted-in"
    DECLINED = "declined"
    WITHDRAWN = "withdrawn"
    NOT_ASKED = "not-asked"


@dataclass
class ConsentRecord:
    premises: str
    status: Consent
    declared_charger_kw: float = 0.0  # what the customer told the DNO when consenting
    plcs_level: int | None = None  # a PLCS's configured curtail level (asset record), %
    history: list[tuple[float, Consent]] = field(default_factory=list)


class ConsentRegister:
    """Consent per premises, with its history (who changed what when, in simulated seconds)."""

    def __init__(self) -> None:
        self._records: dict[str, ConsentRecord] = {}

    def set(self, premises: str, status: Consent, at: float = 0.0, charger_kw: float = 0.0,
            plcs_level: int | None = None) -> None:  # fmt: skip
        record = self._records.get(premises)
        if record is None:
            record = self._records[premises] = ConsentRecord(premises, status, charger_kw)
        record.status = status
        if charger_kw:
            record.declared_charger_kw = charger_kw
        if plcs_level is not None:
            record.plcs_level = plcs_level
        record.history.append((at, status))

    def withdraw(self, premises: str, at: float) -> None:
        self.set(premises, Consent.WITHDRAWN, at)

    def status(self, premises: str) -> Consent:
        record = self._records.get(premises)
        return record.status if record else Consent.NOT_ASKED

    def status_at(self, premises: str, at: float) -> Consent:
        """Consent as it stood at simulated second ``at``: what a switching seen then is judged
        against (a withdrawal does not make earlier curtailments unconsented)."""
        record = self._records.get(premises)
        if record is None:
            return Consent.NOT_ASKED
        status = Consent.NOT_ASKED
        for when, value in record.history:
            if when > at:
                break
            status = value
        return status

    def declared_kw(self, premises: str) -> float:
        record = self._records.get(premises)
        return record.declared_charger_kw if record else 0.0

    def plcs_level(self, premises: str) -> int | None:
        """The curtail level the premises' PLCS is configured with (None: not a PLCS)."""
        record = self._records.get(premises)
        return record.plcs_level if record else None

    def opted_in(self) -> list[str]:
        return sorted(p for p, r in self._records.items() if r.status is Consent.OPTED_IN)

    def with_status(self, status: Consent) -> list[str]:
        return sorted(p for p, r in self._records.items() if r.status is status)

    def ever_declined(self) -> builtins.set[str]:  # `set` here is the method
        """Premises that declined at any point (a later opt-in does not erase the refusal)."""
        return {
            p for p, r in self._records.items() if any(s is Consent.DECLINED for _, s in r.history)
        }

    def __len__(self) -> int:
        return len(self._records)
