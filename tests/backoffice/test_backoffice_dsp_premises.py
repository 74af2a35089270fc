"""End to end through the HAN issue's real premises (emulator.devices: Comms Hub, ESME,
HCALCS models) in simulated time: the DNO's 7.6 curtails the switch the request names, and
the DNO gets the ESME's response, signed by the DSP, on its endpoint."""

from __future__ import annotations

import pytest
from backoffice_helpers import DCCBOXED, DUIS
from dsp_helpers import GBCS_DATE, build_dsp

from emulator.backoffice.premises_factory import build_premises
from emulator.backoffice.users import Deliveries, InProcessTransport, make_user
from emulator.backoffice.wan import Wan
from emulator.clock import Clock
from gbcs import decode
from gbcs.keystore import Keystore

TEMPLATE = DUIS / "ECS47Deactivate_7.6_SUCCESS_REQUEST_DUIS.XML"  # index 3, 60 s


@pytest.fixture(scope="module")
def gbcs_keys():
    return Keystore.open(DCCBOXED, clock=GBCS_DATE)


def test_dno_curtails_an_hcalcs_end_to_end(schema, trusted, dsp, gbcs_keys):
    clock = Clock("simulated", start_utc=GBCS_DATE)

    async def go():
        dsp_, double = build_dsp(schema, trusted, dsp, wan=Wan(clock, latency_s=1.0),
                                 clock=clock)  # fmt: skip
        dsp_.router = type(dsp_.router)(dsp_.router.wan)  # only the real premises
        premises = await build_premises(clock)
        dsp_.attach(premises)
        dno = make_user("dno", gbcs_keys, schema, trusted, InProcessTransport(dsp_))
        dsp_.delivery = Deliveries(dno)
        before = await premises.switch_states()
        answers = await dno.run(dno.prepare(TEMPLATE.read_bytes()), 120)
        await dsp_.drain()
        after = await premises.switch_states()
        await premises.close()
        return dsp_, answers, before, after

    dsp_, answers, before, after = clock.run(go)
    assert [a.code for a in answers] == ["I0", "I99", "I0"]
    response = decode(answers[-1].gbcs_payload)
    assert response.cra == "response" and response.target == bytes.fromhex("90B3D51F30020000")
    assert before[3]["relay"] != "open" or before[3] != after[3]
    assert after[3]["relay"] == "open"
    assert {s: after[s] for s in after if s != 3} == {s: before[s] for s in before if s != 3}
    (record,) = dsp_.times.completed()
    assert record.seconds < 30 and dsp_.times.late() == []


@pytest.mark.parametrize("han_latency_s", [0.0, 0.005, 0.05])
def test_han_latency_sets_the_premises_air_time(schema, trusted, dsp, gbcs_keys, han_latency_s):
    """The same 7.6 executes at any HAN latency; its simulated duration grows with it (the
    premises' ceiling on end-to-end SRVs/s, bench/dsp_load.py)."""
    clock = Clock("simulated", start_utc=GBCS_DATE)

    async def go():
        dsp_, _ = build_dsp(schema, trusted, dsp, wan=Wan(clock, latency_s=0.0), clock=clock)
        dsp_.router = type(dsp_.router)(dsp_.router.wan)
        premises = await build_premises(clock, han_latency_s=han_latency_s)
        dsp_.attach(premises)
        dno = make_user("dno", gbcs_keys, schema, trusted, InProcessTransport(dsp_))
        dsp_.delivery = Deliveries(dno)
        answers = await dno.run(dno.prepare(TEMPLATE.read_bytes()), 120)
        await dsp_.drain()
        after = await premises.switch_states()
        await premises.close()
        return dsp_, premises, answers, after

    dsp_, premises, answers, after = clock.run(go)
    assert premises.medium.default_link.latency_s == han_latency_s
    assert [a.code for a in answers] == ["I0", "I99", "I0"] and after[3]["relay"] == "open"
    (record,) = dsp_.times.completed()
    hops = record.seconds / han_latency_s if han_latency_s else 0.0
    # no air time: only the medium's in-order gaps (IN_ORDER_GAP_S a frame) are left
    assert record.seconds < 1e-3 if han_latency_s == 0 else 2 <= hops < 40


def test_a_negative_han_latency_is_refused():
    with pytest.raises(ValueError, match="negative"):
        Clock("simulated", start_utc=GBCS_DATE).run(
            lambda: build_premises(Clock("simulated", start_utc=GBCS_DATE), han_latency_s=-0.001)
        )
