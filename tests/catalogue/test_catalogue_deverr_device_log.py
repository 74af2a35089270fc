"""8.8.2 Unjoin at the GSME (CS04B) on a GSME as it starts: the meter's device log holds what
RTDS's GSME lists in its CS07 response (emulator/devices/gsme/device_log.json), so
RTDS's and the catalogue's CS04B, which unjoin 01-02-03-04-05-06-07-08, find that device.
RTDS's SUCCESS command is answered as RTDS's (MAC'd, byte for byte), 8.9 then no longer lists
the device, and the same unjoin again is RTDS's ERROR answer, not_in_device_log; the security
log (6.13 CS10b) holds the unjoin succeeded (8F4B), then failed (8F4A). Parametrised by RTDS
file name."""

from __future__ import annotations

import pytest
from catalogue_helpers import RTDS, RTDS_TIME, read_hex, recounted, rtds_success

from emulator.clock import Clock
from emulator.devices.gsme import GasMeter, GasProxy
from gbcs import decode
from gbcs.primitives import datetime_to_seconds2000
from gbcs.render import plain

UNJOINED = bytes.fromhex("0102030405060708")
FOLDER = "8.8.2_CS04B"
CS07 = RTDS / "8.9_CS07" / "CS07_8.9_SUCCESS_COMMAND_GBCS.HEX"
GSME, GPF = bytes.fromhex("00DB1234567890A1"), bytes.fromhex("00DB1234567890A3")


@pytest.fixture
def meter(keys):
    """RTDS's GSME (trusting RTDS's Supplier) with its GPF, as a premises makes them."""
    gsme = GasMeter(GSME, keys, Clock("simulated"), lambda: RTDS_TIME)
    GasProxy(GPF, gsme, keys, lambda: RTDS_TIME)
    return gsme


def _answer(meter, command: bytes) -> bytes:
    result = meter.handle(command)
    assert result.outcome == "executed", result.outcome
    return result.response


def _listed(response: bytes) -> dict[bytes, str]:
    fields = decode(response).payload.fields
    return {bytes(e.device_id): str(e.device_type_name) for e in fields.device_log_entries}


def test_the_gsme_lists_rtds_devices_and_its_gpf(meter):
    listed = _listed(_answer(meter, read_hex(CS07)))
    rtds = _listed(read_hex(RTDS / "8.9_CS07" / "CS07_8.9_SUCCESS_RESPONSE_GBCS.HEX"))
    assert listed == {**rtds, GPF: "gpf"}
    assert listed[UNJOINED] == "gpf"


@pytest.mark.parametrize("name", ["CS04B_8.8.2_SUCCESS_COMMAND_GBCS.HEX"])
def test_rtds_unjoin_is_answered_as_rtds_and_read_back(keys, meter, name):
    command = read_hex(RTDS / FOLDER / name)
    unjoin = _answer(meter, command)
    assert unjoin == read_hex(RTDS / FOLDER / name.replace("_COMMAND_", "_RESPONSE_"))
    after = _listed(_answer(meter, recounted(keys, read_hex(CS07), 9000)))
    assert UNJOINED not in after and GPF in after
    repeat = decode(_answer(meter, recounted(keys, command, 9001)))
    error = decode(read_hex(RTDS / FOLDER / "CS04B_8.8.2_ERROR_RESPONSE_GBCS.HEX"))
    assert plain(repeat.payload) == plain(error.payload)
    assert str(repeat.payload.fields.name) == "not_in_device_log"
    security = decode(_answer(meter, recounted(keys, read_hex(rtds_success("CS10b")), 9002)))
    events = security.payload.components[0].body.frame.payload.events
    at = datetime_to_seconds2000(RTDS_TIME)
    assert [(int(e.event_id), int(e.event_time)) for e in events][-2:] == [
        (0x8F4B, at), (0x8F4A, at)]  # fmt: skip
