"""8.12.2 Restore GPF Device Log at the DSP: the DSP keeps each GPF's device log as its last
GCS62 backup alert (MAC'd to the ACB, checked) reported it, and restores it at the GPF that
replaces it with GCS59 from the ACB (RTDS's GCS59 layout). A backup whose MAC does not verify
is not kept; an unknown OldGPFID is E19, a device that is no GPF E11, a GPF of which no
backup came E5. `gbhan dsp serve`'s DSP starts with RTDS's GPF's backup, and the emulated
GPF's own alerts replace it."""

from __future__ import annotations

import asyncio

import pytest
from backoffice_helpers import DCCBOXED, RTDS
from dsp_helpers import GBCS_DATE, build_dsp, with_real_premises

from emulator import data
from emulator.backoffice import duis
from emulator.backoffice.assembly import make_dsp
from emulator.backoffice.transform import GpfBackup
from emulator.backoffice.users import InProcessTransport, make_user
from emulator.clock import Clock
from gbcs import decode
from gbcs.keystore import Keystore
from gbcs.render import plain

SR = duis.SR
RESTORE = (data.duis_catalogue() / "GCS59_8.12.2_SUCCESS_REQUEST_DUIS.XML").read_bytes()
GPF = bytes.fromhex("00DB1234567890A3")
BACKUP = bytes.fromhex((RTDS / "NA_GCS62" / "GCS62_NA_8071_ALERT_GBCS.HEX").read_text().strip())
RTDS_RESTORE = RTDS / "8.12.2_GCS59" / "GCS59_8.12.2_SUCCESS_COMMAND_GBCS.HEX"
ACB = bytes.fromhex("90B3D51F30000002")


def restore(old: str) -> bytes:
    """The catalogue's 8.12.2 naming `old` as the replaced GPF (sent to RTDS's GPF)."""
    root = duis.parse(RESTORE)
    root.find(f".//{{{SR}}}OldGPFID").text = old
    return duis.to_bytes(root)


def run(schema, trusted, dsp_signer, alerts: list[bytes], *bodies):
    """The alerts reach the DSP from the premises, then each request is sent by the Supplier:
    (each request's first answer, the DSP)."""

    async def main():
        dsp, _premises = build_dsp(schema, trusted, dsp_signer)
        for alert in alerts:
            dsp._on_alert(alert)
        await dsp.drain()
        user = make_user("supplier", Keystore.open(DCCBOXED, clock=GBCS_DATE), schema,
                         trusted, InProcessTransport(dsp))  # fmt: skip
        answers = []
        for counter, body in enumerate(bodies, 7000):
            answers.append((await user.submit(user.prepare(body, counter)))[0])
            await dsp.drain()
        return answers, dsp

    return asyncio.run(main())


def test_a_gpf_backup_is_kept_and_restored_as_rtds_lays_it_out(schema, trusted, dsp):
    answers, dsp_ = run(schema, trusted, dsp, [BACKUP], restore("00-DB-12-34-56-78-90-A3"))
    assert [a.code for a in answers] == ["I99"]
    rtds_log = decode(BACKUP).payload.fields.device_log_entries
    kept = GpfBackup(tuple((bytes(e.device_id), int(e.device_type)) for e in rtds_log))
    assert dsp_.gpf_backups == {GPF: kept}
    assert dsp_.stats.alerts_undeliverable == 0  # kept, not offered to a user
    _rid, sent = dsp_.sent_to_premises[-1]
    command = decode(sent)
    assert command.use_case.name == "GCS59" and bytes(command.target) == GPF
    assert bytes(command.originator) == ACB and command.is_mac_protected
    entries = command.payload.fields.device_log_entries
    assert [(bytes(e.device_id), int(e.device_type)) for e in entries] == list(kept.entries)
    rtds = decode(bytes.fromhex(RTDS_RESTORE.read_text().strip()))
    # RTDS's layout: the same shape, only the entries differ
    assert plain(command.payload.tree)["name"] == plain(rtds.payload.tree)["name"]
    assert command.payload.fields.keys() == rtds.payload.fields.keys()


def test_a_backup_whose_mac_fails_is_not_kept(schema, trusted, dsp):
    tampered = bytearray(BACKUP)
    tampered[-20] ^= 0x01  # in the entries, under the MAC
    answers, dsp_ = run(schema, trusted, dsp, [bytes(tampered)],
                        restore("00-DB-12-34-56-78-90-A3"))  # fmt: skip
    assert dsp_.gpf_backups == {} and dsp_.stats.alerts_undeliverable == 1
    assert [a.code for a in answers] == ["E5"] and dsp_.sent_to_premises == []


@pytest.mark.parametrize("old,code", [
    ("00-DB-12-34-56-78-90-B3", "E19"),  # the catalogue's: a GPF the DSP never knew
    ("00-DB-12-34-56-78-90-A2", "E11"),  # the hub: no GPF
    ("00-DB-12-34-56-78-90-A3", "E5"),  # no backup of it came
])  # fmt: skip
def test_a_restore_the_dsp_cannot_build_is_refused(old, code, schema, trusted, dsp):
    answers, dsp_ = run(schema, trusted, dsp, [], restore(old))
    assert [a.code for a in answers] == [code] and dsp_.sent_to_premises == []


def test_the_dsp_starts_with_rtds_gpf_backup(schema):
    """`make_dsp` (what `gbhan dsp serve` runs) starts with the DCC's record from before the
    run: RTDS's GPF's GCS62 backup, its MAC checked."""
    clock = Clock("wall")

    async def main():
        return make_dsp(schema_dir=data.duis_schema(), dccboxed=DCCBOXED, rtds=RTDS,
                        rtds_keystore=data.rtds_keystore(), clock=clock)  # fmt: skip

    dsp_ = clock.run(main)
    rtds_log = decode(BACKUP).payload.fields.device_log_entries
    assert dsp_.gpf_backups == {
        GPF: GpfBackup(tuple((bytes(e.device_id), int(e.device_type)) for e in rtds_log))
    }


def test_a_changed_gpf_log_reaches_the_dsp_as_its_new_backup(schema, trusted, dsp):
    """With the emulated premises: the GPF's log changes, its GCS62 alert goes through the
    premises to the DSP, which keeps it in place of the one it had."""
    new_ppmid = bytes.fromhex("00DB1234567890E0")

    async def main():
        dsp_, premises = await with_real_premises(schema, trusted, dsp, clock)
        try:
            dsp_.keep_gpf_backup(BACKUP)
            premises.gas.device_log[new_ppmid] = "ppmid"
            premises.gas.back_up()
            await dsp_.drain()
            return dsp_
        finally:
            await premises.close()

    clock = Clock("simulated")
    dsp_ = clock.run(main)
    assert dsp_.gpf_backups[GPF].entries[-1] == (new_ppmid, 5)
    assert len(dsp_.gpf_backups[GPF].entries) == 7
