"""The gas data for a Type 2 device, through DUIS: the Gas Supplier's 8.7.2 (the catalogue's
CS03B template, sent to the GPF for the household's CAD) has the GPF join the CAD by Method
B and back its changed device log up to the DCC (GCS62); the CAD then reads the gas meter's
register and credit from the GPF's mirror over the HAN, while the electricity meter, which has
not joined it, still refuses it; 8.8.2 (the CS04B template to the GPF) unjoins it, and the GPF
refuses it again. A Type 1 device named to the GPF has no join method: the DSP refuses it."""

from __future__ import annotations

from pathlib import Path

from catalogue_helpers import catalogue_session

from emulator import data
from emulator.backoffice import duis
from emulator.backoffice.eligibility import DuisRole
from emulator.clock import Clock
from emulator.devices.han_reads import CREDIT_REMAINING, CURRENT_SUMMATION_DELIVERED
from emulator.devices.type2 import Type2ReadRefused
from gbcs import decode

CATALOGUE = data.duis_catalogue()
JOIN = CATALOGUE / "CS03B_8.7.2_SUCCESS_REQUEST_DUIS.XML"
UNJOIN = CATALOGUE / "CS04B_8.8.2_SUCCESS_REQUEST_DUIS.XML"
GPF = "00-DB-12-34-56-78-90-A3"
CAD = "00-DB-12-34-56-78-90-C2"
HCALCS = "00-DB-12-34-56-78-90-A5"  # a Type 1 device: no Method B join


def _addressed(template: Path, target: str, other: str) -> bytes:
    root = duis.parse(template.read_bytes())
    duis.set_target(root, duis.eui_from_text(target))
    root.find(f".//{{{duis.SR}}}OtherDeviceID").text = other
    return duis.to_bytes(root)


async def _refused(read) -> bool:
    try:
        await read()
    except Type2ReadRefused:
        return True
    return False


def _code(answers) -> tuple[list[str], str | None]:
    """The DUIS codes and, where the device answered, its join/unjoin response code."""
    codes = [a.code for a in answers]
    payload = answers[-1].gbcs_payload if answers and answers[-1].code == "I0" else None
    return codes, None if payload is None else str(decode(payload).payload.fields.name)


def test_joined_to_the_gpf_the_cad_reads_the_gas_meter_and_unjoined_it_is_refused(tmp_path):
    async def go():
        async with catalogue_session(tmp_path / "state") as (_runner, served, users):
            gas_supplier = users[DuisRole.GAS_SUPPLIER]
            premises, dsp = served.premises, served.dsp
            cad = premises.type2[duis.eui_from_text(CAD)]
            gpf = duis.eui_from_text(GPF)
            before = await _refused(cad.refresh_gas)
            joined = await gas_supplier.run(gas_supplier.prepare(_addressed(JOIN, GPF, CAD), 9001))
            backed_up = dict(dsp.gpf_backups[gpf].entries)
            shown = await cad.refresh_gas()
            mirror = dict(premises.gas.mirror)
            electricity_refused = await _refused(cad.refresh)
            left = await gas_supplier.run(gas_supplier.prepare(_addressed(UNJOIN, GPF, CAD), 9002))
            after = await _refused(cad.refresh_gas)
            backed_up_after = dict(dsp.gpf_backups[gpf].entries)
            return (
                before,
                joined,
                backed_up,
                shown,
                mirror,
                electricity_refused,
                left,
                after,
                (backed_up_after),
            )

    before, joined, backed_up, shown, mirror, electricity_refused, left, after, backed_up_after = (
        Clock("wall").run(go)
    )
    assert before and after  # refused until joined, and again once unjoined
    assert _code(joined) == (["I99", "I0"], "success")
    assert _code(left) == (["I99", "I0"], "success")
    cad = duis.eui_from_text(CAD)
    assert cad in backed_up and cad not in backed_up_after  # the DCC's record follows the log
    assert shown["gas_import"] == mirror[(0x0702, CURRENT_SUMMATION_DELIVERED)][1]
    assert shown["gas_credit"] == mirror[(0x0705, CREDIT_REMAINING)][1]
    assert electricity_refused  # joined to the GPF, not to the electricity meter


def test_the_dsp_sends_the_gpf_no_join_for_a_type_1_device(tmp_path):
    async def go():
        async with catalogue_session(tmp_path / "state") as (_runner, served, users):
            gas_supplier = users[DuisRole.GAS_SUPPLIER]
            answers = await gas_supplier.run(
                gas_supplier.prepare(_addressed(JOIN, GPF, HCALCS), 9003)
            )
            return answers, dict(served.premises.gas.device_log)

    answers, log = Clock("wall").run(go)
    assert _code(answers) == (["E11"], None)  # no join method for that pair: not sent
    assert duis.eui_from_text(HCALCS) not in log
