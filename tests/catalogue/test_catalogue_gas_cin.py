"""9.1 Request Customer Identification Number at the gas meter (GCS36, from the ACB on an Other
User's behalf): update_cin with a CIN the DCC makes, which the meter keeps to show the
consumer. The DSP's command from the template is RTDS's byte for byte (given RTDS's CIN); RTDS's
SUCCESS and ERROR answered byte for byte. DUIS lets only an Other User send 9.1 (the catalogue's
Gas Supplier gets E2). RTDS's files for this use case are in vectors/. Parametrised by RTDS
file name."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from catalogue_helpers import CATALOGUE, read_hex

from emulator.backoffice import duis
from emulator.backoffice import transform as transform_module
from emulator.backoffice.dsp import on_behalf
from emulator.backoffice.eligibility import GS, OU, Eligibility, NotEligible
from emulator.backoffice.transform import AcbContext, TransformError, transform, use_case_for
from emulator.clock import Clock
from emulator.devices.gsme import GasMeter
from emulator.devices.gsme.commands import DEVICE_MANAGEMENT
from gbcs import decode
from gbcs.render import plain
from gbcs.roles import ACB_EUI

VECTORS = Path(__file__).parent / "vectors" / "RTDS-4.5.0"
GSME = bytes.fromhex("00DB1234567890A1")
RTDS_TIME = dt.datetime(2015, 1, 1, tzinfo=dt.UTC)
COMMANDS = sorted(str(p.relative_to(VECTORS)) for p in VECTORS.glob("9.1_GCS36/*_COMMAND_GBCS.HEX"))
SEND = "9.1_GCS36/GCS36_9.1_SUCCESS_COMMAND_GBCS.HEX"


def _request(rtds):
    other = rtds.other_information
    root = duis.parse((CATALOGUE / "GCS36_9.1_SUCCESS_REQUEST_DUIS.XML").read_bytes())
    duis.set_originator(root, bytes(other.supplementary_remote_party),
                        other.supplementary_remote_party_counter)  # fmt: skip
    return duis.parse_request(root)


def test_the_command_from_the_template_is_rtds(monkeypatch):
    """As the DSP sends it: built for the user (its content RTDS's byte for byte, given RTDS's
    CIN and time), then sent by the ACB on its behalf (RTDS's header)."""
    monkeypatch.setattr(transform_module, "new_cin", lambda: "1234")  # RTDS's CIN
    rtds = decode(read_hex(VECTORS / SEND))
    request = _request(rtds)
    direct = transform(request, use_case="GCS36", now=RTDS_TIME)
    end = len(rtds.apdu) - (0 if rtds.signature is None else 1 + len(rtds.signature))
    assert direct.content == rtds.apdu[rtds.content_offset - rtds.apdu_offset : end]
    sent = on_behalf(request, direct, AcbContext(ACB_EUI, rtds.counter), "GCS36")
    assert plain(decode(sent.unsigned_command()).header) == plain(rtds.header)
    assert use_case_for("9.1", "gsme") == "GCS36" and use_case_for("9.1", "esme") == "ECS50"


def test_a_cin_is_four_digits():
    rtds = decode(read_hex(VECTORS / SEND))
    with pytest.raises(TransformError, match="4 digits"):
        transform_module._gas_cin(None, 0, cin=lambda: "12a4")
    assert len(set(transform_module.new_cin() for _ in range(20))) > 1  # the DCC's, random
    assert _request(rtds).service_reference_variant == "9.1"


def test_only_an_other_user_may_send_it():
    Eligibility().check("9.1", OU)
    with pytest.raises(NotEligible):
        Eligibility().check("9.1", GS)


@pytest.mark.parametrize("name", COMMANDS)
def test_rtds_command_is_answered_as_rtds(keys, name):
    meter = GasMeter(GSME, keys, Clock("simulated"), lambda: RTDS_TIME)
    if "_ERROR_" in name:
        meter.commands.faults[DEVICE_MANAGEMENT] = 0
    result = meter.handle(read_hex(VECTORS / name))
    assert result.outcome == "executed", result.outcome
    assert result.response == read_hex(VECTORS / name.replace("_COMMAND_", "_RESPONSE_"))
    kept = meter.commands.state.customer_id_number
    assert kept == (b"" if "_ERROR_" in name else b"1234")
