"""The household's Type 2 devices through DUIS: 8.2 lists its IHD and CAD; the Supplier's 8.7.2
(the catalogue's CS03B template, sent to the ESME for the IHD or the CAD) has the DSP send CS03B,
Method B, and the meter joins it, after which the device reads the meter over the HAN; 8.8.2
(the CS04B template) unjoins it, after which the meter refuses it again. The same templates
to the GSME's partners are the catalogue's own (tests/catalogue)."""

from __future__ import annotations

import pytest
from backoffice_helpers import DCCBOXED
from dsp_helpers import GBCS_DATE, supplier_on_real_premises

from emulator import data
from emulator.backoffice import duis
from emulator.devices.type2 import Type2ReadRefused
from gbcs import decode
from gbcs.security import check_message

CATALOGUE = data.duis_catalogue()
JOIN = CATALOGUE / "CS03B_8.7.2_SUCCESS_REQUEST_DUIS.XML"
UNJOIN = CATALOGUE / "CS04B_8.8.2_SUCCESS_REQUEST_DUIS.XML"
READ_INVENTORY = CATALOGUE / "8.2_READ_INVENTORY_REQUEST_DUIS.XML"
ESME = "00-DB-12-34-56-78-90-A0"
IHD, CAD = "00-DB-12-34-56-78-90-C1", "00-DB-12-34-56-78-90-C2"


@pytest.fixture(scope="module")
def gbcs_keys():
    from gbcs.keystore import Keystore

    return Keystore.open(DCCBOXED, clock=GBCS_DATE)


def _addressed(template, target: str, other: str) -> bytes:
    """The template sent to `target` about `other`."""
    root = duis.parse(template.read_bytes())
    duis.set_target(root, duis.eui_from_text(target))
    root.find(f".//{{{duis.SR}}}OtherDeviceID").text = other
    return duis.to_bytes(root)


def _run(schema, trusted, dsp, gbcs_keys, scenario):
    return supplier_on_real_premises(schema, trusted, dsp, gbcs_keys, scenario)


async def _refused(device) -> bool:
    try:
        await device.refresh()
    except Type2ReadRefused:
        return True
    return False


@pytest.mark.parametrize("other", [IHD, CAD], ids=["ihd", "cad"])
def test_joined_through_duis_it_reads_the_meter_and_unjoined_it_is_refused(
    schema, trusted, dsp, gbcs_keys, other
):
    async def scenario(dsp_, premises, supplier):
        device = premises.type2[duis.eui_from_text(other)]
        before = await _refused(device)
        joined = await supplier.run(supplier.prepare(_addressed(JOIN, ESME, other), 7001), 60)
        shown = await device.refresh()
        left = await supplier.run(supplier.prepare(_addressed(UNJOIN, ESME, other), 7002), 60)
        after = await _refused(device)
        sent = [decode(command).use_case.name for _rid, command in dsp_.sent_to_premises]
        return before, joined, shown, left, after, sent, premises

    before, joined, shown, left, after, sent, premises = _run(
        schema, trusted, dsp, gbcs_keys, scenario
    )
    assert before and after  # refused until joined, and again once unjoined
    assert sent == ["CS03B", "CS04B"]  # Method B both ways, as the device pair decides
    for answers in (joined, left):
        assert [a.code for a in answers] == ["I99", "I0"]
        response = decode(answers[-1].gbcs_payload)
        assert response.cra == "response" and str(response.payload.fields.name) == "success"
        assert response.originator.hex("-").upper() == ESME
        check_message(response, premises.keys.keystore)  # signed by the meter, verifiable
    assert shown["import_wh"] >= 0 and "credit" in shown


def test_read_inventory_lists_the_ihd_and_the_cad(schema, trusted, dsp, gbcs_keys):
    async def scenario(dsp_, premises, supplier):
        return await supplier.run(supplier.prepare(READ_INVENTORY.read_bytes()), 60)

    answers = _run(schema, trusted, dsp, gbcs_keys, scenario)
    root = duis.parse(answers[-1].xml)
    types = {
        device.findtext(f"{{{duis.SR}}}DeviceID"): device.findtext(f"{{{duis.SR}}}DeviceType")
        for device in root.iter(f"{{{duis.SR}}}Device")
    }
    assert types.get(IHD) == "IHD" and types.get(CAD) == "CAD", types
