"""12.2 Device Pre-Notification over real HTTP: the DSP records the device the template names
(DUIS status Pending, the body's manufacturer, model and versions), 8.2 then reports it; a
device already held as the same type is answered I0 unchanged, as another type refused E5."""

from __future__ import annotations

import asyncio
import sqlite3

from backoffice_helpers import DCCBOXED, RTDS, SCHEMA
from dsp_helpers import GBCS_DATE, RTDS_KEYSTORE, build_dsp

from emulator.backoffice import duis, service, xmlsig
from emulator.backoffice.assembly import make_dsp
from emulator.backoffice.inventory import DeviceFacts
from emulator.backoffice.state import DspState
from emulator.backoffice.users import HttpTransport, make_user
from emulator.clock import Clock
from gbcs.keystore import Keystore

SR = duis.SR
DSP_EUI = "90-B3-D5-1F-30-00-00-02"
NEW_EUI = "00-DB-12-34-56-78-90-F1"


def pre_notify(eui: str, device_type: str, counter: int) -> bytes:
    """A 12.2 request shaped as the DUIS catalogue's template (the user signs it on sending)."""
    return (f'<sr:Request xmlns:sr="{SR}" schemaVersion="5.4"><sr:Header>'
            f"<sr:RequestID>90-B3-D5-1F-30-01-00-00:{DSP_EUI}:{counter}</sr:RequestID>"
            "<sr:CommandVariant>8</sr:CommandVariant><sr:ServiceReference>12.2"
            "</sr:ServiceReference><sr:ServiceReferenceVariant>12.2</sr:ServiceReferenceVariant>"
            f"</sr:Header><sr:Body><sr:DevicePrenotification><sr:DeviceID>{eui}</sr:DeviceID>"
            "<sr:DeviceManufacturer>AB01</sr:DeviceManufacturer>"
            "<sr:DeviceModel>010A030B</sr:DeviceModel>"
            f"<sr:DeviceType>{device_type}</sr:DeviceType>"
            "<sr:SMETSCHTSVersion>SMETS V1.58</sr:SMETSCHTSVersion>"
            "<sr:FirmwareVersion>0002012F</sr:FirmwareVersion>"
            "</sr:DevicePrenotification></sr:Body></sr:Request>").encode()  # fmt: skip


def read_inventory(eui: str, counter: int) -> bytes:
    return (f'<sr:Request xmlns:sr="{SR}" schemaVersion="5.4"><sr:Header>'
            f"<sr:RequestID>90-B3-D5-1F-30-01-00-00:{DSP_EUI}:{counter}</sr:RequestID>"
            "<sr:CommandVariant>8</sr:CommandVariant><sr:ServiceReference>8.2"
            "</sr:ServiceReference><sr:ServiceReferenceVariant>8.2</sr:ServiceReferenceVariant>"
            f"</sr:Header><sr:Body><sr:ReadInventory><sr:DeviceID>{eui}</sr:DeviceID>"
            "</sr:ReadInventory></sr:Body></sr:Request>").encode()  # fmt: skip


def exchange(schema, trusted, dsp_signer, *requests):
    async def run():
        dsp, _ = build_dsp(schema, trusted, dsp_signer)
        runner = await service.start(dsp, port=0)
        transport = HttpTransport(f"http://127.0.0.1:{service.bound_port(runner)}")
        keys = Keystore.open(DCCBOXED, clock=GBCS_DATE)
        user = make_user("supplier", keys, schema, trusted, transport)
        try:
            return [(await user.submit(user.prepare(r)))[0] for r in requests]
        finally:
            await transport.close()
            await runner.cleanup()

    return asyncio.run(run())


def field(root, name: str) -> str | None:
    return root.findtext(f".//{{{SR}}}DSPInventory/{{{SR}}}Device/{{{SR}}}{name}")


def test_pre_notified_device_is_pending_in_read_inventory(schema, trusted, dsp):
    before, notified, after = exchange(schema, trusted, dsp, read_inventory(NEW_EUI, 1),
                                       pre_notify(NEW_EUI, "ESME", 2), read_inventory(NEW_EUI, 3))  # fmt: skip
    assert before.code == "E19"  # unknown until pre-notified
    assert (notified.source, notified.code) == ("serviceD", "I0")
    schema.validate(notified.root)
    assert after.code == "I0"
    schema.validate(after.root)
    assert field(after.root, "DeviceID") == NEW_EUI
    assert field(after.root, "DeviceType") == "ESME"
    assert field(after.root, "DeviceStatus") == "Pending"
    assert (field(after.root, "DeviceManufacturer"), field(after.root, "DeviceModel")) == (
        "AB01", "010A030B")  # fmt: skip
    assert field(after.root, "SMETSCHTSVersion") == "SMETS V1.58"
    assert field(after.root, "DeviceFirmwareVersion") == "0002012F"


def test_pre_notifying_twice_changes_nothing(schema, trusted, dsp):
    first, second, after = exchange(schema, trusted, dsp, pre_notify(NEW_EUI, "GSME", 1),
                                    pre_notify(NEW_EUI, "GSME", 2), read_inventory(NEW_EUI, 3))  # fmt: skip
    assert (first.code, second.code, after.code) == ("I0", "I0", "I0")
    assert field(after.root, "DeviceType") == "GSME"


def test_known_device_as_another_type_is_refused(schema, trusted, dsp):
    """The template's own EUI (…90-A0) is RTDS's ESME: as an ESME I0, as a GSME E5, unchanged."""
    same, clash, after = exchange(schema, trusted, dsp, pre_notify("00-DB-12-34-56-78-90-A0", "ESME", 1),
                                  pre_notify("00-DB-12-34-56-78-90-A0", "GSME", 2),
                                  read_inventory("00-DB-12-34-56-78-90-A0", 3))  # fmt: skip
    assert (same.code, clash.code) == ("I0", "E5")
    assert field(after.root, "DeviceType") == "ESME"
    assert field(after.root, "DeviceStatus") == "Commissioned"


def test_device_type_outside_the_schema_is_refused(schema, trusted, dsp):
    refused, after = exchange(schema, trusted, dsp, pre_notify(NEW_EUI, "HHTCAD", 1),
                              read_inventory(NEW_EUI, 2))  # fmt: skip
    assert refused.code == "E40"  # the schema names the DeviceTypes
    assert after.code == "E19"


def test_pre_notified_device_is_found_after_a_restart(tmp_path, supplier):
    """12.2 to a DSP with a state directory, then 8.2 to a new DSP on that state: the device
    is still there, as the type pre-notified, Pending with the facts 12.2 gave, in the
    premises of the Supplier that pre-notified it."""
    folder = tmp_path / "state"
    clock = Clock("wall", start_utc=GBCS_DATE)

    def signed(request: bytes) -> bytes:
        return duis.to_bytes(xmlsig.sign(duis.parse(request), supplier))

    def serve(request: bytes):
        state = DspState.open(folder, [RTDS_KEYSTORE, DCCBOXED], GBCS_DATE)

        async def main():
            dsp = make_dsp(schema_dir=SCHEMA, dccboxed=DCCBOXED, rtds=RTDS,
                           rtds_keystore=RTDS_KEYSTORE, clock=clock, state=state)  # fmt: skip
            return duis.parse(await dsp.handle("serviceD", signed(request)))

        try:
            return clock.run(main)
        finally:
            state.close()

    notified = serve(pre_notify(NEW_EUI, "GSME", 1))
    assert notified.findtext(f".//{{{SR}}}ResponseCode") == "I0"
    after = serve(read_inventory(NEW_EUI, 2))
    assert after.findtext(f".//{{{SR}}}ResponseCode") == "I0"
    assert (field(after, "DeviceID"), field(after, "DeviceType")) == (NEW_EUI, "GSME")
    assert field(after, "DeviceStatus") == "Pending"
    assert (field(after, "DeviceManufacturer"), field(after, "DeviceModel")) == (
        "AB01", "010A030B")  # fmt: skip
    assert field(after, "SMETSCHTSVersion") == "SMETS V1.58"
    assert field(after, "DeviceFirmwareVersion") == "0002012F"
    state = DspState.open(folder, [RTDS_KEYSTORE, DCCBOXED], GBCS_DATE)
    try:
        facts, supplier = state.device_records()[bytes.fromhex(NEW_EUI.replace("-", ""))]
    finally:
        state.close()
    assert supplier == bytes.fromhex("90B3D51F30010000")
    assert facts is not None and facts.status == "Pending"


def test_state_from_before_facts_gains_the_columns(tmp_path):
    """A dsp.db whose device table predates the facts and supplier columns is migrated on
    open: its devices are kept, facts can then be recorded and read back."""
    folder = tmp_path / "state"
    folder.mkdir()
    db = sqlite3.connect(str(folder / "dsp.db"))
    db.execute("CREATE TABLE device (eui TEXT PRIMARY KEY, type TEXT NOT NULL,"
               " premises TEXT NOT NULL, source TEXT NOT NULL)")  # fmt: skip
    db.execute("INSERT INTO device VALUES ('00DB1234567890F1', 'esme', 'p', 'configured')")
    db.commit()
    db.close()
    state = DspState.open(folder, [RTDS_KEYSTORE, DCCBOXED], GBCS_DATE)
    try:
        eui = bytes.fromhex("00DB1234567890F1")
        assert state.device_records() == {eui: (None, None)}
        state.record_facts(eui, DeviceFacts(status="Pending", manufacturer="AB01"))
        facts, _ = state.device_records()[eui]
        assert facts == DeviceFacts(status="Pending", manufacturer="AB01")
    finally:
        state.close()
