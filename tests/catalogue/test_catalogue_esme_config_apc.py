"""6.14.3 to RTDS's second ESME (00DB1234567890A6, an APC on every slot): the catalogue's
FUTURE_DATED and CANCELLATION APC_OUTPUT templates address it, 8.2 lists it, so the DSP routes
them to it (its own household, Comms Hub and HAN) rather than answering E20. Through the
in-process DSP over HTTP: each answered I0 > I99 > I0 with the A6 meter's own response, signed
by it and verified with its certificate from the SMKI service."""

from __future__ import annotations

import pytest

from emulator.backoffice import catalogue
from emulator.backoffice.premises_factory import build_second_rtds_meter
from emulator.clock import Clock
from gbcs import decode

A6 = bytes.fromhex("00DB1234567890A6")
TEMPLATES = ("ECS46d_6.14.3_FUTURE_DATED_APC_OUTPUT_SUCCESS_REQUEST_DUIS.XML",
             "ECS46d_6.14.3_CANCELLATION_APC_OUTPUT_SUCCESS_REQUEST_DUIS.XML")  # fmt: skip


def test_the_second_meter_is_its_own_household():
    clock = Clock("simulated")

    async def run():
        premises = await build_second_rtds_meter(clock, han_latency_s=0.0)
        try:
            return dict(premises.device_ids), premises.esme.eui, premises.hub.eui
        finally:
            await premises.close()

    devices, esme, hub = clock.run(run)
    assert esme == A6 and hub != bytes.fromhex("00DB1234567890A2")
    assert devices[hub.hex().upper()] == "CHF"
    assert devices[A6.hex().upper()] == "ESME"


@pytest.mark.timeout(120)
def test_the_apc_templates_reach_the_second_meter(tmp_path):
    chosen = [t for t in catalogue.load_catalogue() if t.name in TEMPLATES]
    assert [t.target for t in chosen] == [A6, A6]
    clock = Clock("wall")
    results = clock.run(lambda: catalogue.run_catalogue(chosen, state_dir=tmp_path, clock=clock))
    by_name = {r.file: r for r in results}
    for name in TEMPLATES:
        result = by_name[name]
        assert result.codes == ("I0", "I99", "I0"), (result.codes, result.detail)
        assert result.verified is True
        response = decode(result.response)
        assert bytes(response.originator) == A6
        assert response.signature  # a critical command's response, signed by the meter
        assert response.use_case.name == "ECS46d"
