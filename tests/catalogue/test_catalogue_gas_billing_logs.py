"""The gas meter's change of mode / tariff billing data log and its top-up log: 4.4.2 (GCS15b)
reads the snapshots a change of mode or tariff took (one get per offset for a mask of causes,
prepayment then metering, encrypted for the reader), 4.4.5 (GCS15e) the top-ups from the
period's start, the most recent first (clear). The DSP's commands from the templates are RTDS's
byte for byte (4.4.5's "no end" 3000-12-31 as the largest UTC time); RTDS's SUCCESS, ERROR and
NOT_FOUND answered byte for byte; a UTRN 2.2 credits is the first top-up 4.4.5 reads next.
RTDS's files for these use cases are in vectors/ (data/rtds does not hold them). Parametrised
by RTDS file name."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from catalogue_helpers import CATALOGUE, read_hex, recounted

from emulator.backoffice import duis
from emulator.backoffice.transform import device_use_case, transform, use_case_for
from emulator.clock import Clock
from emulator.devices import utrn
from emulator.devices.gsme import GasMeter
from emulator.devices.gsme.commands import METERING, PREPAYMENT
from gbcs import decode
from gbcs.message import encode_apdu
from gbcs.security import mac_apdu

VECTORS = Path(__file__).parent / "vectors" / "RTDS-4.5.0"
GSME = bytes.fromhex("00DB1234567890A1")
SUPPLIER = bytes.fromhex("90B3D51F30010000")
RTDS_TIME = dt.datetime(2015, 1, 1, tzinfo=dt.UTC)
FOLDERS = {"GCS15b": "4.4.2_GCS15b", "GCS15e": "4.4.5_GCS15e"}
COMMANDS = sorted(str(p.relative_to(VECTORS)) for folder in FOLDERS.values()
                  for p in VECTORS.glob(f"{folder}/*_COMMAND_GBCS.HEX"))  # fmt: skip
#: RTDS's ERROR cases: the cluster whose hardware fails, after how many of its commands
FAULTS = {"GCS15b": {METERING: 1}, "GCS15e": {PREPAYMENT: 0}}
TOP_UP_LOG = "4.4.5_GCS15e/GCS15e_4.4.5_SUCCESS_COMMAND_GBCS.HEX"


@pytest.fixture
def meter(keys):
    return GasMeter(GSME, keys, Clock("simulated"), lambda: RTDS_TIME)


@pytest.mark.parametrize("use_case", sorted(FOLDERS))
def test_the_command_from_the_template_is_rtds(use_case):
    srv = FOLDERS[use_case].split("_")[0]
    rtds = decode(
        read_hex(VECTORS / FOLDERS[use_case] / f"{use_case}_{srv}_SUCCESS_COMMAND_GBCS.HEX")
    )
    root = duis.parse((CATALOGUE / f"{use_case}_{srv}_SUCCESS_REQUEST_DUIS.XML").read_bytes())
    duis.set_originator(root, bytes(rtds.originator), rtds.counter)
    ours = transform(duis.parse_request(root), use_case=use_case, now=RTDS_TIME)
    end = len(rtds.apdu) - (0 if rtds.signature is None else 1 + len(rtds.signature))
    content = rtds.apdu[rtds.content_offset - rtds.apdu_offset : end]
    assert ours.precommand() == encode_apdu(rtds.header, content, None)
    assert use_case_for(srv, "gsme") == use_case


@pytest.mark.parametrize("name", COMMANDS)
def test_rtds_command_is_answered_as_rtds(meter, name):
    """RTDS's GCS15b ERROR: the Metering cluster fails at its second snapshot, the rest not
    carried out; GCS15e's: the Prepayment cluster at once; its NOT_FOUND: a start after the
    last top-up."""
    if "_ERROR_" in name:
        meter.commands.faults.update(FAULTS[name.split("/")[0].split("_")[1]])
    result = meter.handle(read_hex(VECTORS / name))
    assert result.outcome == "executed", result.outcome
    assert result.response == read_hex(VECTORS / name.replace("_COMMAND_", "_RESPONSE_"))


def _top_ups(response: bytes) -> list[tuple[bytes, int]]:
    payload = decode(response).payload.components[0].body.frame.payload
    return [(bytes(t.top_up_code), int(t.top_up_amount)) for t in payload.top_ups]


def _top_up(keys, code: str, counter: int) -> bytes:
    root = duis.parse((CATALOGUE / "CS01b_2.2_SUCCESS_REQUEST_DUIS.XML").read_bytes())
    root.find(f".//{{{duis.SR}}}UTRN").text = code
    duis.set_originator(root, SUPPLIER, counter)
    request = duis.parse_request(root)
    ours = transform(request, use_case=device_use_case("2.2", "gsme"), now=RTDS_TIME)
    return mac_apdu(ours.unsigned_command(), keys.keystore)


def test_a_top_up_credited_is_the_first_the_log_shows(keys, meter):
    before = _top_ups(meter.handle(read_hex(VECTORS / TOP_UP_LOG)).response)
    code = utrn.mint(keys.keystore, SUPPLIER, GSME, 7 << 32, 20)  # £20
    assert meter.handle(_top_up(keys, code, 7 << 32)).outcome == "executed"
    after = _top_ups(
        meter.handle(recounted(keys, read_hex(VECTORS / TOP_UP_LOG), 8 << 32)).response
    )
    assert after == [(code.encode(), 2000000), *before[:4]]  # five records, the newest first


def test_a_refused_top_up_is_not_logged(keys, meter):
    code = utrn.mint(keys.keystore, SUPPLIER, bytes.fromhex("00DB1234567890A0"), 7 << 32, 20)
    assert meter.handle(_top_up(keys, code, 7 << 32)).outcome == "executed"
    assert len(meter.commands.top_ups) == 5  # RTDS's five only
