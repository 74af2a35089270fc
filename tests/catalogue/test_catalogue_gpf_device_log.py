"""The GPF's own device log (emulator/devices/gsme/proxy.py): it starts as RTDS's GPF lists it
in its GCS62 backup alert and backs up to the DCC (GCS62, MAC'd to the ACB) whenever it
changes; 8.12.2's GCS59 from the ACB restores a replaced GPF's backup into it, each entry
answered with a join response code. RTDS's files are the reference: RTDS's GCS59 command
answered as RTDS's response, and the backup alert RTDS's byte for byte at RTDS's counter."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from catalogue_helpers import RTDS, read_hex, recounted

from emulator.clock import Clock
from emulator.devices.gsme.meter import GasMeter
from emulator.devices.gsme.proxy import GPF_DEVICE_LOG, GasProxy
from emulator.devices.reoriginate import reoriginate
from gbcs import asn1, decode
from gbcs.message import encode_apdu
from gbcs.render import plain
from gbcs.roles import ACB_EUI
from gbcs.security import check_message, mac_apdu

GSME, GPF = bytes.fromhex("00DB1234567890A1"), bytes.fromhex("00DB1234567890A3")
GAS_SUPPLIER = bytes.fromhex("90B3D51F30030000")
RTDS_TIME = dt.datetime(2015, 1, 1, tzinfo=dt.UTC)
RESTORE = RTDS / "8.12.2_GCS59" / "GCS59_8.12.2_SUCCESS_COMMAND_GBCS.HEX"
RESTORED = RTDS / "8.12.2_GCS59" / "GCS59_8.12.2_SUCCESS_RESPONSE_GBCS.HEX"
BACKUP = RTDS / "NA_GCS62" / "GCS62_NA_8071_ALERT_GBCS.HEX"
PPMID, TYPE_2, ESME_TYPE = 5, 6, 1
SUCCESS, BAD_METHOD, INCOMPATIBLE, LOG_FULL = 0, 2, 3, 4


def _gpf(keys) -> tuple[GasProxy, list[bytes]]:
    """A GPF at RTDS's time, and the alerts it sends."""
    gsme = GasMeter(GSME, keys, Clock("simulated"), lambda: RTDS_TIME, supplier=GAS_SUPPLIER)
    gpf = GasProxy(GPF, gsme, keys, lambda: RTDS_TIME)
    sent: list[bytes] = []
    gpf.alert_sink = sent.append
    return gpf, sent


def _restore(keys, entries: list[tuple[bytes, int]], counter: int) -> bytes:
    """RTDS's GCS59 with other entries (and counter), MAC'd again by the ACB."""
    rtds = decode(read_hex(RESTORE))
    header = rtds.header
    header.transaction_id.counter = counter
    content = asn1.encode_tree(asn1.sequence(asn1.sequence(
        *(asn1.sequence(asn1.octet_string(eui), asn1.integer(kind)) for eui, kind in entries))))  # fmt: skip
    return mac_apdu(encode_apdu(header, content, b""), keys.keystore)


def _outcomes(response: bytes) -> list[tuple[bytes, int, int]]:
    fields = decode(response).payload.fields
    return [(bytes(o.device_log_entry.device_id), int(o.device_log_entry.device_type),
             int(o.join_response_code)) for o in fields.restore_outcomes]  # fmt: skip


def test_the_log_starts_as_rtds_gpf_backs_it_up():
    rtds = decode(read_hex(BACKUP)).payload.fields
    listed = {bytes(e.device_id).hex().upper(): str(e.device_type_name)
              for e in rtds.device_log_entries}  # fmt: skip
    assert json.loads(GPF_DEVICE_LOG.read_text())["entries"] == listed


def test_the_backup_alert_is_rtds_byte_for_byte(keys):
    """At RTDS's time and with RTDS's alert counter, the backup of the log the GPF starts with
    is RTDS's GCS62 alert, MAC and all."""
    gpf, sent = _gpf(keys)
    gpf.back_up()
    [alert] = sent
    assert check_message(decode(alert), keys.keystore).outcome == "verified"
    assert bytes(decode(alert).target) == ACB_EUI
    rtds = read_hex(BACKUP)
    assert recounted(keys, alert, decode(rtds).counter) == rtds


def test_rtds_restore_is_answered_as_rtds_and_the_changed_log_backed_up(keys):
    gpf, sent = _gpf(keys)
    result = gpf.handle(read_hex(RESTORE))
    assert result.outcome == "executed", result.outcome
    got, want = decode(result.response), decode(read_hex(RESTORED))
    assert plain(got.header) == plain(want.header)
    assert plain(got.payload) == plain(want.payload)
    assert check_message(got, keys.keystore).outcome == "verified"  # MAC'd to the ACB
    for eui, kind, _code in _outcomes(read_hex(RESTORED)):
        assert gpf.device_log[eui] == {PPMID: "ppmid", TYPE_2: "type_2"}[kind]
    [alert] = sent  # the log changed: backed up, the restored devices in it
    backed_up = decode(alert).payload.fields.device_log_entries
    assert {bytes(e.device_id) for e in backed_up} == set(gpf.device_log)
    assert len(backed_up) == 8


def test_an_unchanged_log_is_not_backed_up_again(keys):
    gpf, sent = _gpf(keys)
    first = gpf.handle(read_hex(RESTORE))
    again = gpf.handle(recounted(keys, read_hex(RESTORE), decode(read_hex(RESTORE)).counter + 1))
    assert first.outcome == again.outcome == "executed"
    assert [code for *_e, code in _outcomes(again.response)] == [SUCCESS, SUCCESS]
    assert len(sent) == 1


@pytest.mark.parametrize("entries,codes", [
    # a device the log holds as another type: incompatible, the log unchanged
    ([(bytes.fromhex("00DB123456789099"), TYPE_2)], [INCOMPATIBLE]),
    # a type no GPF log holds (an ESME): refused as a join it cannot make
    ([(bytes.fromhex("00DB1234567890EE"), ESME_TYPE)], [BAD_METHOD]),
    # two new devices with room for two (8 in all), a third finds the log full
    ([(bytes.fromhex(f"00DB1234567890E{n}"), PPMID) for n in range(3)],
     [SUCCESS, SUCCESS, LOG_FULL]),
])  # fmt: skip
def test_each_entry_gets_its_join_response_code(keys, entries, codes):
    gpf, sent = _gpf(keys)
    before = dict(gpf.device_log)
    result = gpf.handle(_restore(keys, entries, 2000))
    assert result.outcome == "executed", result.outcome
    assert [code for *_e, code in _outcomes(result.response)] == codes
    added = {eui for (eui, _k), code in zip(entries, codes, strict=True) if code == SUCCESS}
    assert set(gpf.device_log) == set(before) | added
    assert len(sent) == (1 if added else 0)


def test_a_restore_not_from_the_acb_is_refused(keys):
    """Only the DCC restores a GPF's log: the same command from the Gas Supplier is refused,
    nothing changed, nothing backed up."""
    gpf, sent = _gpf(keys)
    before = dict(gpf.device_log)
    raw = _restore(keys, [(bytes.fromhex("00DB1234567890E0"), PPMID)], 2001)
    result = gpf.handle(reoriginate(raw, GAS_SUPPLIER, keys.signer(GAS_SUPPLIER), keys.keystore))
    assert result.outcome.startswith("rejected"), result.outcome
    assert gpf.device_log == before and sent == []
