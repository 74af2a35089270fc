"""The simulated WAN on the emulator clock (simulated time: waits cost nothing) and the
end-to-end response times kept against the 30 s target."""

from __future__ import annotations

import pytest
from backoffice_helpers import DCCBOXED, DUIS
from dsp_helpers import GBCS_DATE, build_dsp

from emulator.backoffice.users import Deliveries, InProcessTransport, make_user
from emulator.backoffice.wan import Wan
from emulator.clock import Clock
from gbcs.keystore import Keystore

TEMPLATES = ["ECS47Deactivate_7.6_SUCCESS_REQUEST_DUIS.XML",
             "ECS61a_7.7_ALL_OPTIONALS_SUCCESS_REQUEST_DUIS.XML"]  # fmt: skip


@pytest.fixture(scope="module")
def gbcs_keys():
    return Keystore.open(DCCBOXED, clock=GBCS_DATE)


def simulate(schema, trusted, dsp_signer, gbcs_keys, template, **wan):
    clock = Clock("simulated", start_utc=GBCS_DATE)

    async def go():
        dsp, _ = build_dsp(schema, trusted, dsp_signer, wan=Wan(clock, **wan), clock=clock)
        supplier = make_user("supplier", gbcs_keys, schema, trusted, InProcessTransport(dsp))
        dsp.delivery = Deliveries(supplier)
        answers = await supplier.run(supplier.prepare((DUIS / template).read_bytes()), 600)
        await dsp.drain()
        return dsp, answers

    return clock.run(go)


@pytest.mark.parametrize("template", TEMPLATES)
def test_latency_adds_up_on_the_simulated_clock(template, schema, trusted, dsp, gbcs_keys):
    dsp_, answers = simulate(schema, trusted, dsp, gbcs_keys, template, latency_s=3.0)
    assert answers[-1].code == "I0"
    (record,) = dsp_.times.completed()
    assert record.seconds == pytest.approx(6.0, abs=0.01)  # 3 s out, 3 s back
    assert record.sent - record.started == pytest.approx(0.0, abs=0.01)
    assert dsp_.times.late() == [] and dsp_.times.report()[record.srv]["count"] == 1


def test_over_30_seconds_is_reported_late(schema, trusted, dsp, gbcs_keys):
    dsp_, answers = simulate(schema, trusted, dsp, gbcs_keys, TEMPLATES[0], latency_s=16.0,
                             timeout_s=60.0)  # fmt: skip
    assert answers[-1].code == "I0"
    assert [r.srv for r in dsp_.times.late()] == ["7.6"]
    assert dsp_.times.report()["7.6"]["late"] == 1


def test_lost_command_answers_e21_after_the_timeout(schema, trusted, dsp, gbcs_keys):
    dsp_, answers = simulate(schema, trusted, dsp, gbcs_keys, TEMPLATES[1], latency_s=1.0,
                             loss=1.0, timeout_s=20.0)  # fmt: skip
    assert [a.code for a in answers] == ["I99", "E21"]
    (record,) = dsp_.times.completed()
    assert record.seconds == pytest.approx(20.0, abs=0.01)
    assert dsp_.router.wan.stats.lost_out == 1 and dsp_.stats.no_response == 1


def test_loss_rate_is_repeatable_with_a_seed():
    import asyncio

    class Echo:
        async def execute(self, command):
            return command

    def lost(seed):
        clock = Clock("simulated")
        wan = Wan(clock, latency_s=0.1, loss=0.3, timeout_s=1.0, seed=seed)

        async def go():
            return [await wan.exchange(Echo(), b"x") for _ in range(200)]

        results = clock.run(go)
        return sum(r is None for r in results), wan.stats

    first, stats = lost(7)
    again, _ = lost(7)
    assert first == again and stats.lost_out + stats.lost_back == first
    assert 0.3 * 200 * 0.7 < first < 0.6 * 200  # P(lost) = 1 - 0.7² = 0.51
    with pytest.raises(ValueError):
        Wan(Clock("simulated"), loss=1.5)
    assert asyncio  # the simulated loop is asyncio's
