"""6.23 Update Security Credentials (CoS) at the ESME (CS02bSupplierByTransCoS,
emulator/devices/credentials.py): the DCC's Transitional Change of Supplier party signs it
(the DSP, as it signs the ACB's), and its command content from each template is RTDS's byte
for byte (RTDS's certificates swapped in); RTDS's commands are answered with RTDS's header
and payload, signed; afterwards the meter takes commands from the incoming Supplier and
refuses the outgoing one; a future-dated change happens at its time with RTDS's 8F66."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from catalogue_helpers import CATALOGUE, RTDS, execute, read_hex, with_rtds_certificates

from emulator.backoffice import duis
from emulator.backoffice.transform import AcbContext, transform
from emulator.clock import Clock
from emulator.devices.keys import SUPPLIER, TRANSITIONAL_COS
from emulator.devices.premises import Premises
from gbcs import decode
from gbcs.asn1 import encode_tree
from gbcs.keystore import DS
from gbcs.message import encode_apdu
from gbcs.render import plain
from gbcs.security import check_message, mac_apdu, sign

FOLDER = RTDS / "6.23_CS02bSupplierByTransCoS"
VARIANTS = ("IMMEDIATE", "FUTURE_DATED", "CANCELLATION")
INCOMING = bytes.fromhex("90B3D51F30030000")  # DCC Boxed's second Supplier, RTDS's too


def _command(variant: str) -> bytes:
    return read_hex(FOLDER / f"CS02bSupplierByTransCoS_6.23_{variant}_SUCCESS_COMMAND_GBCS.HEX")


@pytest.mark.parametrize("variant", VARIANTS)
def test_the_command_from_the_template_is_rtds(variant):
    rtds = decode(_command(variant))
    name = f"CS02bSupplierByTransCoS_6.23_{variant}_SUCCESS_REQUEST_DUIS.XML"
    root = duis.parse(
        with_rtds_certificates((CATALOGUE / name).read_bytes(), rtds.payload.fields, strict=True)
    )
    duis.set_originator(root, SUPPLIER, 1006)
    ours = transform(duis.parse_request(root), acb=AcbContext(bytes(8), rtds.counter))
    assert ours.acb_signs and bytes(ours.header.originator) == TRANSITIONAL_COS
    assert ours.content == encode_tree(rtds.payload.tree)


@pytest.mark.parametrize("variant", VARIANTS)
def test_rtds_command_is_answered_as_rtds(keys, variant):
    [execution], _ = execute(keys, [_command(variant)])
    assert execution.outcome == "executed", execution.outcome
    stem = f"CS02bSupplierByTransCoS_6.23_{variant}_SUCCESS_RESPONSE_GBCS.HEX"
    got, expected = decode(execution.response), decode(read_hex(FOLDER / stem))
    assert plain(got.header) == plain(expected.header)
    assert plain(got.payload) == plain(expected.payload)
    assert check_message(got, keys.keystore).outcome == "verified"


def _signed_by(keys, raw: bytes, originator: bytes, counter: int) -> bytes:
    """An RTDS Supplier command as `originator` sends it, with `counter`."""
    message = decode(raw)
    message.header.originator = originator
    message.header.transaction_id.counter = counter
    end = len(message.apdu) - 1 - len(message.signature)
    content = bytes(message.apdu[message.content_offset - message.apdu_offset : end])
    apdu = sign(encode_apdu(message.header, content, None), keys.signer(originator))
    return mac_apdu(apdu, keys.keystore)


def test_after_the_change_the_incoming_supplier_commands_the_meter(keys):
    firmware = read_hex(RTDS / "11.3_CS06/CS06_11.3_IMMEDIATE_SUCCESS_COMMAND_GBCS.HEX")
    commands = [
        _signed_by(keys, firmware, INCOMING, 10),  # not yet its meter
        _command("IMMEDIATE"),
        _signed_by(keys, firmware, SUPPLIER, 5000),
        _signed_by(keys, firmware, INCOMING, 11),
    ]
    (before, changed, outgoing, incoming), premises = execute(keys, commands)
    assert before.outcome == "rejected:unknown-originator"
    assert changed.outcome == "executed"
    assert outgoing.outcome == "rejected:unknown-originator"
    assert incoming.outcome == "executed"
    assert premises.esme.access.trust.cells[(2, DS, 0)].eui == INCOMING


def test_a_future_dated_change_happens_at_its_time(keys):
    clock = Clock("simulated")

    async def main():
        premises = await Premises.start(clock, keys=keys)
        premises.esme.set_time(dt.datetime(2029, 12, 31, 23, 59, tzinfo=dt.UTC))
        alerts: list[bytes] = []
        premises.on_alert(alerts.append)
        try:
            execution = await premises.execute(_command("FUTURE_DATED"))
            before = premises.esme.access.trust.cells[(2, DS, 0)].eui
            await asyncio.sleep(3 * 86400)
            return execution, before, alerts, premises
        finally:
            await premises.close()

    execution, before, alerts, premises = clock.run(main)
    assert execution.outcome == "executed" and before == SUPPLIER
    expected = decode(read_hex(FOLDER / "CS02bSupplierByTransCoS_6.23_8F66_FUTURE_DATED_SUCCESS_"
                                        "ALERT_GBCS.HEX"))  # fmt: skip
    [alert] = [m for m in map(decode, alerts) if m.message_code == 0x00CB]
    assert plain(alert.payload) == plain(expected.payload)
    assert bytes(alert.target) == TRANSITIONAL_COS
    assert premises.esme.access.trust.cells[(2, DS, 0)].eui == INCOMING
