"""8.12.1 Restore HAN Device Log at the DSP: the DSP keeps each Comms Hub's device log as its
CCS07 backup (8.9 ReadSecurityDetails) reported it, and restores it at the hub that replaces
it with CCS03 from the ACB (the backup's extended PAN ID and each device's link key, in
RTDS's CCS03 layout). The catalogue's 8.12.1 names a hub the DSP never knew (E19); a device
that is no hub E11; a hub of which the DSP holds no backup E5."""

from __future__ import annotations

import asyncio
import base64

import pytest
from backoffice_helpers import DCCBOXED, RTDS
from dsp_helpers import GBCS_DATE, build_dsp, with_real_premises

from emulator import data
from emulator.backoffice import duis
from emulator.backoffice.transform import HubBackup
from emulator.backoffice.users import InProcessTransport, make_user
from emulator.clock import Clock
from gbcs import decode
from gbcs.keystore import Keystore
from gbcs.render import plain

SR = duis.SR
CATALOGUE = data.duis_catalogue()
READ_BACKUP = (CATALOGUE / "CCS07_8.9_SUCCESS_REQUEST_DUIS.XML").read_bytes()
RESTORE = (CATALOGUE / "CCS03_8.12.1_SUCCESS_REQUEST_DUIS.XML").read_bytes()
HUB, NEW_HUB = bytes.fromhex("00DB1234567890A2"), bytes.fromhex("00DB1234567890F2")
RTDS_BACKUP = next((RTDS / "8.9_CCS07").glob("*_SUCCESS_RESPONSE_GBCS.HEX"))
RTDS_RESTORE = next((RTDS / "8.12.1_CCS03").glob("*_SUCCESS_COMMAND_GBCS.HEX"))


def restore(old: str, target: str = "00-DB-12-34-56-78-90-A2") -> bytes:
    root = duis.parse(RESTORE)
    root.find(f".//{{{SR}}}OldCHFID").text = old
    node = root.find(f"{{{SR}}}Header/{{{SR}}}RequestID")
    rid = duis.RequestId.parse(node.text)
    node.text = str(duis.RequestId(rid.originator, duis.eui_from_text(target), rid.counter))
    return duis.to_bytes(root)


def run(schema, trusted, dsp_signer, *bodies):
    """Each request's first answer from one DSP (the RTDS test double at the premises), the
    DSP, and the commands it sent."""

    async def main():
        dsp, _premises = build_dsp(schema, trusted, dsp_signer)
        dsp.inventory.declare(NEW_HUB, "chf")  # the replacement, not (yet) at any premises
        user = make_user("supplier", Keystore.open(DCCBOXED, clock=GBCS_DATE), schema,
                         trusted, InProcessTransport(dsp))  # fmt: skip
        answers = []
        for counter, body in enumerate(bodies, 5000):
            answers.append((await user.submit(user.prepare(body, counter)))[0])
            await dsp.drain()
        return answers, dsp

    return asyncio.run(main())


def test_the_backup_read_is_kept_and_restored_at_a_hub(schema, trusted, dsp):
    """RTDS's hub is the only one whose keys the DSP holds (a command to another could not be
    MAC'd), so its own backup is restored at it: the CCS03 built from what its CCS07 said."""
    answers, dsp_ = run(schema, trusted, dsp, READ_BACKUP, restore("00-DB-12-34-56-78-90-A2"))
    assert [a.code for a in answers] == ["I99", "I99"]
    rtds_log = decode(bytes.fromhex(RTDS_BACKUP.read_text().strip())).payload.data[0]
    pan, entries = bytes(rtds_log.value[1].value), rtds_log.value[2].value
    kept = HubBackup(pan, tuple((bytes(e.value[0].value), bytes(e.value[1].value))
                                for e in entries))  # fmt: skip
    assert dsp_.hub_backups == {HUB: kept}
    _rid, sent = dsp_.sent_to_premises[-1]
    command = decode(sent)
    assert command.use_case.name == "CCS03" and bytes(command.target) == HUB
    assert bytes(command.originator) == bytes.fromhex("90B3D51F30000002")  # the ACB's
    [value] = command.payload.data
    assert bytes(value.value[0].value) == pan
    assert [(bytes(e.value[0].value), bytes(e.value[1].value)) for e in value.value[1].value] \
        == list(kept.entries)  # fmt: skip
    rtds = decode(bytes.fromhex(RTDS_RESTORE.read_text().strip()))
    assert plain(command.payload.specifications) == plain(rtds.payload.specifications)

    def shape(item):
        return [item.type] + [shape(v) for v in item.value] if item.type in (
            "structure", "array") else item.type  # fmt: skip

    assert shape(value) == shape(rtds.payload.data[0])


@pytest.mark.parametrize("old,code", [
    ("00-DB-12-34-56-78-90-95", "E19"),  # the catalogue's: a hub the DSP never knew
    ("00-DB-12-34-56-78-90-A0", "E11"),  # the ESME: no hub
    ("00-DB-12-34-56-78-90-A2", "E5"),  # no backup of it held yet
])  # fmt: skip
def test_a_restore_the_dsp_cannot_build_is_refused(old, code, schema, trusted, dsp):
    answers, dsp_ = run(schema, trusted, dsp, restore(old, "00-DB-12-34-56-78-90-F2"))
    assert [a.code for a in answers] == [code] and dsp_.sent_to_premises == []


def test_the_catalogue_template_names_an_unknown_hub(schema, trusted, dsp):
    answers, _ = run(schema, trusted, dsp, RESTORE)
    assert [a.code for a in answers] == ["E19"]


def test_the_real_hub_takes_the_restore(schema, trusted, dsp):
    """With the emulated premises: the hub's own CCS07 backup (its ESME and the link key it
    joined with, its extended PAN ID) restored at it by 8.12.1 executes; the Supplier gets the
    hub's success response."""

    async def main():
        dsp_, premises = await with_real_premises(schema, trusted, dsp, clock)
        user = make_user("supplier", Keystore.open(DCCBOXED, clock=GBCS_DATE), schema,
                         trusted, InProcessTransport(dsp_))  # fmt: skip
        try:
            for counter, body in enumerate((READ_BACKUP, restore("00-DB-12-34-56-78-90-A2")), 1):
                await user.submit(user.prepare(body, counter))
                await dsp_.drain()
            return dsp_, premises.hub_function
        finally:
            await premises.close()

    clock = Clock("simulated")
    dsp_, hub = clock.run(main)
    backup = dsp_.hub_backups[HUB]
    assert backup.extended_pan == HUB and backup.entries
    assert hub.restored == dict(backup.entries) and hub.extended_pan == HUB
    responses = [duis.parse(d) for d in dsp_.delivery.documents[bytes.fromhex("90B3D51F30010000")]]
    payloads = [r.findtext(f".//{{{SR}}}GBCSPayload") for r in responses]
    last = decode(base64.b64decode(payloads[-1]))
    assert (
        last.use_case.name == "CCS03" and plain(last.payload)["results"][0]["result"] == "success"
    )
