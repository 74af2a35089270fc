"""The device log backups a DSP keeps (a Comms Hub's CCS07 answer for 8.12.1, a GPF's GCS62
alert for 8.12.2) live in its state directory: a DSP restarted on it restores a replaced hub's
or GPF's log from what the devices last said, not from nothing (or RTDS's old record); a
stored backup that no longer checks out (its MAC spoilt) is left out, the rest kept."""

from __future__ import annotations

import sqlite3

from backoffice_helpers import DCCBOXED, RTDS, SCHEMA
from dsp_helpers import GBCS_DATE

from emulator.backoffice.assembly import make_dsp
from emulator.backoffice.premises_factory import build_premises
from emulator.backoffice.state import DspState
from emulator.clock import Clock
from emulator.data import rtds_keystore

RTDS_KEYSTORE = rtds_keystore()
HUB, GPF = bytes.fromhex("00DB1234567890A2"), bytes.fromhex("00DB1234567890A3")
CAD = bytes.fromhex("00DB1234567890C2")
CCS07_RESPONSE = RTDS / "8.9_CCS07" / "CCS07_8.9_SUCCESS_RESPONSE_GBCS.HEX"


def _gpf_alert_with_the_cad() -> bytes:
    """The household GPF's GCS62 once it has joined its CAD (MAC'd to the ACB)."""
    clock = Clock("simulated", start_utc=GBCS_DATE)

    async def go():
        premises = await build_premises(clock)
        try:
            premises.gas.device_log[CAD] = "type_2"
            return premises.gas.backup_alert()
        finally:
            await premises.close()

    return clock.run(go)


def _life(folder, work=None):
    """One DSP life on the state in `folder`: (its hub backups, its GPF backups)."""
    state = DspState.open(folder, [RTDS_KEYSTORE, DCCBOXED], GBCS_DATE)
    clock = Clock("wall", start_utc=GBCS_DATE)

    async def main():
        dsp = make_dsp(schema_dir=SCHEMA, dccboxed=DCCBOXED, rtds=RTDS,
                       rtds_keystore=RTDS_KEYSTORE, clock=clock, state=state)  # fmt: skip
        if work is not None:
            work(dsp)
        return dict(dsp.hub_backups), dict(dsp.gpf_backups)

    try:
        return clock.run(main)
    finally:
        state.close()


def test_a_restarted_dsp_restores_from_the_backups_its_devices_last_sent(tmp_path):
    alert = _gpf_alert_with_the_cad()
    response = bytes.fromhex(CCS07_RESPONSE.read_text().strip())

    def back_up(dsp):
        assert dsp.keep_hub_backup(HUB, response) and dsp.keep_gpf_backup(alert)

    first_hubs, first_gpfs = _life(tmp_path / "state", back_up)
    hubs, gpfs = _life(tmp_path / "state")
    assert hubs == first_hubs and HUB in hubs and hubs[HUB].entries
    assert gpfs == first_gpfs
    assert CAD in dict(gpfs[GPF].entries)  # the GPF's own last word, not RTDS's old record
    fresh_hubs, fresh_gpfs = _life(tmp_path / "other")
    assert HUB not in fresh_hubs and CAD not in dict(fresh_gpfs[GPF].entries)


def test_a_stored_backup_spoilt_is_left_out_and_the_rest_kept(tmp_path, caplog):
    alert = _gpf_alert_with_the_cad()
    response = bytes.fromhex(CCS07_RESPONSE.read_text().strip())
    _life(tmp_path / "state", lambda dsp: (dsp.keep_hub_backup(HUB, response),
                                           dsp.keep_gpf_backup(alert)))  # fmt: skip
    db = sqlite3.connect(str(tmp_path / "state" / "dsp.db"))
    with db:
        spoilt = bytearray(alert)
        spoilt[-1] ^= 0x01  # the MAC's last byte
        db.execute("UPDATE backup SET raw = ? WHERE kind = 'gpf'", (bytes(spoilt),))
    db.close()
    hubs, gpfs = _life(tmp_path / "state")
    assert HUB in hubs  # the hub's backup still kept
    assert CAD not in dict(gpfs[GPF].entries)  # RTDS's record, not the spoilt one
    assert "not verified" in caplog.text
