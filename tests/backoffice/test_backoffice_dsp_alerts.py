"""Alerts: a Supplier's HCALCS unjoin (8.8.x) or join makes the DSP alert the premises'
Electricity Distributor with a signed DCCAlertMessage (N65, ALCSHCALCSConfigurationChange),
which does not carry the Supplier's request id; other requests do not; device alerts reach the user the GBCS alert names."""

from __future__ import annotations

import asyncio

import pytest
from backoffice_helpers import DCCBOXED, DUIS, RTDS
from dsp_helpers import GBCS_DATE, build_dsp

from emulator.backoffice import alerts, duis
from emulator.backoffice.eligibility import DuisRole
from emulator.backoffice.inventory import Device
from emulator.backoffice.users import Deliveries, InProcessTransport, make_user
from gbcs.keystore import Keystore

ESME = bytes.fromhex("00DB1234567890A0")


@pytest.fixture(scope="module")
def gbcs_keys():
    return Keystore.open(DCCBOXED, clock=GBCS_DATE)


def with_users(schema, trusted, dsp_signer, gbcs_keys, **kwargs):
    dsp, premises = build_dsp(schema, trusted, dsp_signer, **kwargs)
    transport = InProcessTransport(dsp)
    supplier = make_user("supplier", gbcs_keys, schema, trusted, transport)
    dno = make_user("dno", gbcs_keys, schema, trusted, transport)
    dsp.delivery = Deliveries(supplier, dno)
    return dsp, premises, supplier, dno


@pytest.mark.parametrize(
    "template, alerted",
    [("CS04ACCritical_8.8.1_SUCCESS_REQUEST_DUIS.XML", True),
     ("CS03A1_8.7.1_SUCCESS_REQUEST_DUIS.XML", True),
     ("ECS62Add_7.9_SUCCESS_REQUEST_DUIS.XML", True),
     ("ECS47Deactivate_7.6_SUCCESS_REQUEST_DUIS.XML", False),
     ("CS04B_8.8.2_SUCCESS_REQUEST_DUIS.XML", False),
     ("ECS61a_7.7_ALL_OPTIONALS_SUCCESS_REQUEST_DUIS.XML", False)],
)  # fmt: skip
def test_supplier_changes_to_auxiliary_load_switches_alert_the_dno(
    template, alerted, schema, trusted, dsp, gbcs_keys
):
    async def go():
        dsp_, _, supplier, dno = with_users(schema, trusted, dsp, gbcs_keys)
        answers = await supplier.run(supplier.prepare((DUIS / template).read_bytes()), 5)
        await dsp_.drain()
        return dsp_, answers, dno

    dsp_, answers, dno = asyncio.run(go())
    assert answers[-1].code == "I0"
    dcc_alerts = [a for a in dno.received if a.kind == "dcc-alert"]
    assert len(dcc_alerts) == len(dsp_.dcc_alerts) == (1 if alerted else 0)
    if alerted:
        root = dcc_alerts[0].root  # schema and DSP signature already checked by the client
        assert root.findtext(f".//{{{duis.SR}}}DCCAlertCode") == "N65"
        assert root.findtext(f".//{{{duis.SR}}}ESMEDeviceID") == "00-DB-12-34-56-78-90-A0"
        record = dsp_.dcc_alerts[0]
        assert record.recipient == dno.eui and record.esme == ESME
        # not the Supplier's request id: the DNO never sent that request (the record keeps it)
        assert dcc_alerts[0].request_id is None
        assert root.find(f".//{{{duis.SR}}}RequestID") is None
        assert answers[-1].request_id in record.cause


def test_no_alert_when_the_device_rejects(schema, trusted, dsp, gbcs_keys):
    async def go():
        dsp_, premises, supplier, dno = with_users(schema, trusted, dsp, gbcs_keys)
        premises.TABLE = {}  # this premises answers nothing it knows: rejected, no response
        body = supplier.prepare((DUIS / "CS04ACCritical_8.8.1_SUCCESS_REQUEST_DUIS.XML")
                                .read_bytes())  # fmt: skip
        answers = await supplier.run(body, 5)
        await dsp_.drain()
        return dsp_, answers, dno

    dsp_, answers, dno = asyncio.run(go())
    assert answers[-1].code == "E21" and dsp_.dcc_alerts == [] and dno.received == []


@pytest.mark.parametrize(
    "srv, role, target, other, expected",
    [("8.8.1", DuisRole.IMPORT_SUPPLIER, "esme", "hcalcs", "target"),
     ("8.8.2", DuisRole.IMPORT_SUPPLIER, "hcalcs", "esme", "other"),
     ("8.8.1", DuisRole.ELECTRICITY_DISTRIBUTOR, "esme", "hcalcs", None),
     ("8.8.1", DuisRole.IMPORT_SUPPLIER, "esme", "ppmid", None),
     ("7.10", DuisRole.IMPORT_SUPPLIER, "esme", None, "target"),
     ("7.5", DuisRole.IMPORT_SUPPLIER, "esme", None, None)],
)  # fmt: skip
def test_change_rule(srv, role, target, other, expected):
    t = Device(b"\x01" * 8, target, "p")
    o = Device(b"\x02" * 8, other, "p") if other else None
    found = alerts.changed_esme(srv, role, t, o)
    assert found == {"target": t.eui, "other": o.eui if o else None, None: None}[expected]


def test_device_alert_reaches_the_user_it_names(schema, trusted, dsp, gbcs_keys):
    raw = bytes.fromhex((RTDS / "NA_ECS80/ECS80_NA_8F36_ALERT_GBCS.HEX").read_text().strip())

    async def go():
        dsp_, premises, supplier, dno = with_users(schema, trusted, dsp, gbcs_keys)
        for callback in premises.callbacks:
            callback(raw)
            callback(b"\xde\xad")  # garbage: counted, not delivered, no crash
        await dsp_.drain()
        return dsp_, supplier, dno

    dsp_, supplier, dno = asyncio.run(go())
    assert [a.kind for a in dno.received] == ["device-alert"] and supplier.received == []
    root = dno.received[0].root
    assert root.findtext(f".//{{{duis.SR}}}AlertCode") == "8F36"
    assert dno.received[0].gbcs_payload == raw
    assert dsp_.stats.alerts_delivered == 1 and dsp_.stats.alerts_undeliverable == 1
