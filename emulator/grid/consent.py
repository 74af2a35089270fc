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


@dataclass(frozen=True)
class ConsentTerms:
    """What a customer agreed to when opting in: the longest curtailment per event (None: no
    limit) and hours of the day (UTC, ``[from, to)``, may wrap midnight) never to be curtailed."""

    max_event_s: float | None = None
    excluded_hours: tuple[float, float] | None = None

    def excluded_at(self, hour: float) -> bool:
        if self.excluded_hours is None:
            return False
        start, end = self.excluded_hours
        hour %= 24.0
        return start <= hour < end if start <= end else hour >= start or hour < end

    def hours_until_excluded(self, hour: float) -> float | None:
        """Hours from ``hour`` until the excluded window next begins (0 inside it)."""
        if self.excluded_hours is None:
            return None
        if self.excluded_at(hour):
            return 0.0
        return (self.excluded_hours[0] - hour) % 24.0

    def describe(self) -> str:
        parts = []
        if self.max_event_s is not None:
            parts.append(f"at most {self.max_event_s / 60:.0f} min per event")
        if self.excluded_hours is not None:
            a, b = self.excluded_hours
            parts.append(f"never {_hhmm(a)}-{_hhmm(b)} UTC")
        return ", ".join(parts) or "none"


def _hhmm(hour: float) -> str:
    minutes = int(round(hour * 60)) % 1440
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


@dataclass
class ConsentRecord:
    premises: str
    status: Consent
    declared_charger_kw: float = 0.0  # what the customer told the DNO when consenting
    plcs_level: int | None = None  # a PLCS's configured curtail level (asset record), %
    terms: ConsentTerms = field(default_factory=lambda: ConsentTerms())
    history: list[tuple[float, Consent]] = field(default_factory=list)


class ConsentRegister:
    """Consent per premises, with its history (who changed what when, in simulated seconds)."""

    def __init__(self) -> None:
        self._records: dict[str, ConsentRecord] = {}

    def set(self, premises: str, status: Consent, at: float = 0.0, charger_kw: float = 0.0,
            plcs_level: int | None = None, terms: ConsentTerms | None = None) -> None:  # fmt: skip
        record = self._records.get(premises)
        if record is None:
            record = self._records[premises] = ConsentRecord(premises, status, charger_kw)
        record.status = status
        if charger_kw:
            record.declared_charger_kw = charger_kw
        if plcs_level is not None:
            record.plcs_level = plcs_level
        if terms is not None:
            record.terms = terms
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

    def terms(self, premises: str) -> ConsentTerms:
        """The customer's consent terms (no limits for a premises never asked)."""
        record = self._records.get(premises)
        return record.terms if record else ConsentTerms()

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
