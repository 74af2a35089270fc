"""14.1 Record Network Data (Gas) at the GSME (GCS31, from the ACB on the Gas Transporter's
behalf): start_sampling starts the network data log again (every 6 minutes, 41 samples), which
4.10 (GCS18) reads. The DSP's command from the template is RTDS's byte for byte; RTDS's SUCCESS
and ERROR (sample id 0xFFFF) answered byte for byte; after it 4.10 finds no samples (this
emulator takes none yet: RTDS's GCS18 NOT_FOUND, byte for byte); a sample the meter cannot take
changes nothing. DUIS lets only the Gas Transporter send 14.1 (the catalogue's Gas Supplier gets
E2). RTDS's files for this use case are in vectors/. Parametrised by RTDS file name."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from catalogue_helpers import CATALOGUE, RTDS, read_hex, recounted

from emulator.backoffice import duis
from emulator.backoffice.eligibility import GS, GT, Eligibility, NotEligible
from emulator.backoffice.transform import AcbContext, transform, use_case_for
from emulator.clock import Clock
from emulator.devices.gsme import GasMeter
from emulator.devices.gsme.commands import METERING
from gbcs import decode
from gbcs.message import encode_apdu
from gbcs.payload import encode as encode_payload
from gbcs.roles import ACB_EUI
from gbcs.security import mac_apdu

VECTORS = Path(__file__).parent / "vectors" / "RTDS-4.5.0"
GSME = bytes.fromhex("00DB1234567890A1")
RTDS_TIME = dt.datetime(2015, 1, 1, tzinfo=dt.UTC)
COMMANDS = sorted(
    str(p.relative_to(VECTORS)) for p in VECTORS.glob("14.1_GCS31/*_COMMAND_GBCS.HEX")
)
START = "14.1_GCS31/GCS31_14.1_SUCCESS_COMMAND_GBCS.HEX"
READ = "4.10_GCS18/GCS18_4.10_SUCCESS_COMMAND_GBCS.HEX"


@pytest.fixture
def meter(keys):
    return GasMeter(GSME, keys, Clock("simulated"), lambda: RTDS_TIME)


def test_the_command_from_the_template_is_rtds():
    rtds = decode(read_hex(VECTORS / START))
    other = rtds.other_information
    root = duis.parse((CATALOGUE / "GCS31_14.1_SUCCESS_REQUEST_DUIS.XML").read_bytes())
    duis.set_originator(root, bytes(other.supplementary_remote_party),
                        other.supplementary_remote_party_counter)  # fmt: skip
    ours = transform(duis.parse_request(root), use_case="GCS31",
                     acb=AcbContext(ACB_EUI, rtds.counter), now=RTDS_TIME)  # fmt: skip
    end = len(rtds.apdu) - (0 if rtds.signature is None else 1 + len(rtds.signature))
    content = rtds.apdu[rtds.content_offset - rtds.apdu_offset : end]
    assert ours.via_acb and ours.precommand() == encode_apdu(rtds.header, content, None)
    assert use_case_for("14.1", "gsme") == "GCS31"


def test_only_the_gas_transporter_may_send_it():
    Eligibility().check("14.1", GT)
    with pytest.raises(NotEligible):
        Eligibility().check("14.1", GS)


@pytest.mark.parametrize("name", COMMANDS)
def test_rtds_command_is_answered_as_rtds(meter, name):
    """RTDS's ERROR: the Metering cluster's hardware fails (sample id 0xFFFF, the log kept)."""
    if "_ERROR_" in name:
        meter.commands.faults[METERING] = 0
    before = list(meter.commands.sampled[2].samples)
    result = meter.handle(read_hex(VECTORS / name))
    assert result.outcome == "executed", result.outcome
    assert result.response == read_hex(VECTORS / name.replace("_COMMAND_", "_RESPONSE_"))
    assert (meter.commands.sampled[2].samples == before) == ("_ERROR_" in name)


def test_4_10_then_finds_no_samples(keys, meter):
    assert meter.handle(read_hex(VECTORS / START)).outcome == "executed"
    log = meter.commands.sampled[2]
    assert (log.interval, log.samples) == (360, [])
    assert log.start == 473385600  # now: 2015-01-01
    result = meter.handle(recounted(keys, read_hex(RTDS / READ), 9000))
    frame = decode(result.response).payload.components[0].body.frame
    assert (frame.payload.command, frame.payload.status) == ("default_response", "not_found")


def test_a_sample_the_meter_cannot_take_changes_nothing(keys, meter):
    rtds = decode(read_hex(VECTORS / START))
    frame = rtds.payload.components[0].body.frame
    frame.payload.sample_request_interval = 0
    header = rtds.header
    header.transaction_id.counter = 9001
    command = mac_apdu(encode_apdu(header, encode_payload("gbz", rtds.payload), b""),
                       keys.keystore)  # fmt: skip
    before = list(meter.commands.sampled[2].samples)
    response = decode(meter.handle(command).response)
    assert response.payload.components[0].body.frame.payload.sample_id == 0xFFFF
    assert meter.commands.sampled[2].samples == before
