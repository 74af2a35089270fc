import asyncio

import pytest

from emulator.grid.consent import Consent, ConsentRegister
from emulator.grid.gateway import SrvOutcome, SrvResult, SwitchLabel
from emulator.grid.governance import (
    GovernanceError,
    GuardedGateway,
    LastResortGuard,
    RecordingGateway,
)


class CountingGateway:
    """Answers everything 'executed' at once and counts what reached it."""

    def __init__(self):
        self.calls = []

    def _ok(self, srv, premises, slot):
        self.calls.append((srv, premises))
        return SrvOutcome(
            srv,
            premises,
            slot,
            SrvResult.EXECUTED,
            0.0,
            0.1,
            labels=(SwitchLabel(1, "Electric Vehicle Charger", "hcalcs"),),
        )

    async def read_labels(self, premises):
        return self._ok("7.7", premises, None)

    async def curtail(self, premises, slot, duration_s, level=None):
        return self._ok("7.6", premises, slot)

    async def restore(self, premises, slot):
        return self._ok("7.8", premises, slot)

    async def remove_boost(self, premises, slot):
        return self._ok("7.10", premises, slot)

    async def add_boost(self, premises, slot):
        return self._ok("7.9", premises, slot)

    def on_alert(self, callback):
        pass


def _setup(flex_failed=True):
    consent = ConsentRegister()
    consent.set("IN", Consent.OPTED_IN, 0, 7.4)
    consent.set("NO", Consent.DECLINED, 0, 7.4)
    consent.set("OUT", Consent.OPTED_IN, 0, 7.4)
    consent.withdraw("OUT", 10)
    guard = LastResortGuard("F1", consent, market_flexibility_failed=flex_failed)
    inner = CountingGateway()
    recorder = RecordingGateway(inner)
    return consent, guard, inner, recorder, GuardedGateway(recorder, guard, lambda: 42.0)


def test_no_curtailment_without_a_declared_emergency():
    _, guard, inner, _, gw = _setup()
    out = asyncio.run(gw.curtail("IN", 1, 1800))
    assert not out.ok and out.status == "refused:no declared emergency on this feeder"
    assert inner.calls == [] and len(guard.refusals) == 1
    guard.declare("F1", "forecast over rating", 42.0)
    assert asyncio.run(gw.curtail("IN", 1, 1800)).ok
    assert inner.calls == [("7.6", "IN")]


def test_declined_premises_are_never_addressed_even_in_an_emergency():
    _, guard, inner, recorder, gw = _setup()
    guard.declare("F1", "forecast over rating", 0.0)
    for call in (
        gw.read_labels("NO"),
        gw.curtail("NO", 1, 60),
        gw.restore("NO", 1),
        gw.remove_boost("NO", 1),
        gw.add_boost("NO", 1),
        gw.curtail("NOBODY", 1, 60),
    ):
        assert asyncio.run(call).status.startswith("refused:consent")
    assert inner.calls == [] and recorder.outcomes == []


def test_withdrawn_premises_may_be_restored_but_not_curtailed():
    _, guard, inner, _, gw = _setup()
    guard.declare("F1", "forecast over rating", 0.0)
    assert asyncio.run(gw.curtail("OUT", 1, 60)).status == "refused:consent withdrawn"
    assert asyncio.run(gw.restore("OUT", 1)).ok
    assert asyncio.run(gw.add_boost("OUT", 1)).ok
    assert inner.calls == [("7.8", "OUT"), ("7.9", "OUT")]


def test_an_emergency_needs_failed_flexibility_a_reason_and_the_right_feeder():
    _, guard, *_ = _setup(flex_failed=False)
    with pytest.raises(GovernanceError, match="last resort"):
        guard.declare("F1", "forecast over rating", 0.0)
    _, guard, *_ = _setup()
    with pytest.raises(GovernanceError, match="reason"):
        guard.declare("F1", "  ", 0.0)
    with pytest.raises(GovernanceError, match="covers feeder F1"):
        guard.declare("F2", "forecast over rating", 0.0)
    first = guard.declare("F1", "forecast over rating", 5.0)
    assert guard.declare("F1", "again", 6.0) is first  # one emergency at a time
    guard.end(100.0, "risk passed")
    assert guard.active is None and first.ended_at == 100.0 and first.end_reason == "risk passed"


def test_consent_history_remembers_a_refusal():
    consent = ConsentRegister()
    consent.set("A", Consent.DECLINED, 0)
    consent.set("A", Consent.OPTED_IN, 50)
    assert consent.status("A") is Consent.OPTED_IN
    assert consent.ever_declined() == {"A"}
    assert consent.status("unknown") is Consent.NOT_ASKED
