"""8.1.1 Commission Device: the critical round trip of ECS70 (set clock) through the DSP, and
the inventory's DUIS status moving to Commissioned with DateCommissioned when the device's
response says every instruction succeeded (8.2 then reports it); RTDS's error response (the
time read a hardware fault) leaves the status as it was. Parametrised by RTDS file name."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from backoffice_helpers import DCCBOXED, RTDS, SCHEMA
from dsp_helpers import GBCS_DATE, RTDS_KEYSTORE, build_dsp

from emulator import data
from emulator.backoffice import duis, service
from emulator.backoffice.assembly import make_dsp
from emulator.backoffice.inventory import DeviceFacts, rtds_inventory
from emulator.backoffice.state import DspState
from emulator.backoffice.users import HttpTransport, make_user
from emulator.clock import Clock
from gbcs.keystore import Keystore

SR = duis.SR
ESME = bytes.fromhex("00DB1234567890A0")
FOLDER = RTDS / "8.1.1_ECS70Commission"
WHEN = dt.datetime(2015, 1, 1, 0, 0, 5, tzinfo=dt.UTC)
PENDING = DeviceFacts(manufacturer="AB01", model="010A030B", status="Pending")


def response(kind: str) -> bytes:
    return bytes.fromhex((FOLDER / f"ECS70Commission_8.1.1_{kind}_RESPONSE_GBCS.HEX")
                         .read_text().strip())  # fmt: skip


@pytest.mark.parametrize(("kind", "status", "date"), [("SUCCESS", "Commissioned", "2015-01-01Z"),
                                                      ("ERROR", "Pending", None)])  # fmt: skip
def test_the_device_response_decides_the_status(kind, status, date):
    inventory = rtds_inventory(RTDS)
    recorded = []
    inventory.on_record.append(lambda eui, facts: recorded.append((eui, facts)))
    inventory.record(ESME, PENDING)
    assert inventory.commission(ESME, response(kind), WHEN) == (kind == "SUCCESS")
    facts = inventory.facts(inventory.get(ESME))
    assert (facts.status, facts.date_commissioned) == (status, date)
    assert facts.manufacturer == "AB01"  # what 12.2 said stays
    assert len(recorded) == (2 if kind == "SUCCESS" else 1)  # the state directory hears it


def test_a_response_that_is_no_gbcs_changes_nothing():
    inventory = rtds_inventory(RTDS)
    inventory.record(ESME, PENDING)
    assert not inventory.commission(ESME, b"\xdf\x09", WHEN)
    assert inventory.facts(inventory.get(ESME)).status == "Pending"


def read_inventory(counter: int) -> bytes:
    return (f'<sr:Request xmlns:sr="{SR}" schemaVersion="5.4"><sr:Header>'
            f"<sr:RequestID>90-B3-D5-1F-30-01-00-00:90-B3-D5-1F-30-00-00-02:{counter}"
            "</sr:RequestID><sr:CommandVariant>8</sr:CommandVariant><sr:ServiceReference>8.2"
            "</sr:ServiceReference><sr:ServiceReferenceVariant>8.2</sr:ServiceReferenceVariant>"
            "</sr:Header><sr:Body><sr:ReadInventory><sr:DeviceID>00-DB-12-34-56-78-90-A0"
            "</sr:DeviceID></sr:ReadInventory></sr:Body></sr:Request>").encode()  # fmt: skip


def field(root, name: str) -> str | None:
    return root.findtext(f".//{{{SR}}}DSPInventory/{{{SR}}}Device/{{{SR}}}{name}")


def test_commission_device_round_trip_moves_a_pending_esme_to_commissioned(schema, trusted, dsp):
    """The Supplier sends the catalogue's 8.1.1 over HTTP: I0 with the pre-command, signed
    and returned, I99; the device's response routed back; 8.2 then says Commissioned with
    the DSP's date. The ESME is held Pending first, as the DCC holds a pre-notified one."""
    template = data.duis_catalogue() / "ECS70Commission_8.1.1_SUCCESS_REQUEST_DUIS.XML"

    async def run():
        server, _premises = build_dsp(schema, trusted, dsp)
        server.inventory.record(ESME, PENDING)
        runner = await service.start(server, port=0)
        transport = HttpTransport(f"http://127.0.0.1:{service.bound_port(runner)}")
        keys = Keystore.open(DCCBOXED, clock=GBCS_DATE)
        user = make_user("supplier", keys, schema, trusted, transport)
        try:
            answers = await user.submit(user.prepare(template.read_bytes()))
            await server.drain()
            [after] = await user.submit(user.prepare(read_inventory(2000)))
            return answers, after, server
        finally:
            await transport.close()
            await runner.cleanup()

    answers, after, server = asyncio.run(run())
    assert [a.code for a in answers] == ["I0", "I99"]
    assert server.stats.device_responses == 1
    assert after.code == "I0"
    schema.validate(after.root)
    assert field(after.root, "DeviceStatus") == "Commissioned"
    assert field(after.root, "DateCommissioned") == f"{GBCS_DATE.date().isoformat()}Z"
    assert field(after.root, "DeviceManufacturer") == "AB01"


def test_a_commissioned_preset_device_keeps_its_status_after_a_restart(tmp_path):
    """RTDS's ESME is a preset, not in dsp.db: commissioning stores it with its facts, and a
    DSP made again on that state reports it Commissioned with the same date."""
    folder = tmp_path / "state"
    clock = Clock("wall", start_utc=GBCS_DATE)

    def life(commission: bool) -> DeviceFacts:
        state = DspState.open(folder, [RTDS_KEYSTORE, DCCBOXED], GBCS_DATE)

        async def main():
            made = make_dsp(schema_dir=SCHEMA, dccboxed=DCCBOXED, rtds=RTDS,
                            rtds_keystore=RTDS_KEYSTORE, clock=clock, state=state)  # fmt: skip
            if commission:
                assert made.inventory.commission(ESME, response("SUCCESS"), WHEN)
            return made.inventory.facts(made.inventory.get(ESME))

        try:
            return clock.run(main)
        finally:
            state.close()

    assert life(commission=True).status == "Commissioned"
    facts = life(commission=False)
    assert (facts.status, facts.date_commissioned) == ("Commissioned", "2015-01-01Z")
