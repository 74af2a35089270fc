"""ECS70 Set Clock, the critical command behind 6.11 Synchronise Clock and 8.1.1 Commission
Device: the DSP's pre-command from each catalogue template is RTDS's byte for byte; RTDS's
command executed by the emulated meter gets RTDS's response (header and payload; signed by
the meter); a meter whose time lies outside the validity interval the DCC sent refuses the
adjustment (logged, counted) and a preset time that is given sets its clock. Parametrised by
template or RTDS file name."""

from __future__ import annotations

import datetime as dt

import pytest
from catalogue_helpers import CATALOGUE, RTDS, RTDS_TIME, execute, read_hex

from emulator.backoffice import duis
from emulator.backoffice.transform import TransformError, transform
from gbcs import decode
from gbcs.render import plain
from gbcs.security import check_message, mac_apdu, sign

TEMPLATES = ["ECS70_6.11_SUCCESS_REQUEST_DUIS.XML",
             "ECS70Commission_8.1.1_SUCCESS_REQUEST_DUIS.XML"]  # fmt: skip
RTDS_COMMANDS = ["6.11_ECS70/ECS70_6.11_SUCCESS_COMMAND_GBCS.HEX",
                 "8.1.1_ECS70Commission/ECS70Commission_8.1.1_SUCCESS_COMMAND_GBCS.HEX"]  # fmt: skip
FOLDER = {"6.11": "6.11_ECS70", "8.1.1": "8.1.1_ECS70Commission"}
SUPPLIER = bytes.fromhex("90B3D51F30010000")


def request(name: str, fields: dict[str, str] | None = None, counter: int | None = None):
    root = duis.parse((CATALOGUE / name).read_bytes())
    for field, text in (fields or {}).items():
        root.find(f".//{{{duis.SR}}}{field}").text = text
    if counter is not None:
        duis.set_originator(root, SUPPLIER, counter)
    return duis.parse_request(root)


@pytest.mark.parametrize("name", TEMPLATES)
def test_the_precommand_from_the_template_is_rtds(name):
    srv = name.split("_")[1]
    ours = transform(request(name))
    assert ours.critical and ours.user_signs
    assert ours.use_case.name == "ECS70"
    want = next((RTDS / FOLDER[srv]).glob("*_SUCCESS_PRECOMMAND_GBCS.HEX"))
    assert ours.precommand() == read_hex(want)


@pytest.mark.parametrize("value", ["sixty", "-1"])
def test_a_bad_tolerance_is_refused(value):
    with pytest.raises(TransformError, match="TolerancePeriod"):
        transform(request(TEMPLATES[1], {"TolerancePeriod": value}))


@pytest.mark.parametrize("name", RTDS_COMMANDS)
def test_rtds_command_is_answered_with_rtds_response(keys, name):
    [execution], premises = execute(keys, [read_hex(RTDS / name)])
    assert execution.outcome == "executed", execution.outcome
    got = decode(execution.response)
    want = decode(read_hex(RTDS / name.replace("_COMMAND_", "_RESPONSE_")))
    assert plain(got.header) == plain(want.header)
    assert plain(got.payload) == plain(want.payload)
    assert got.signature is not None
    assert check_message(got, keys.keystore).outcome == "verified"


def signed(keys, name: str, fields: dict[str, str], counter: int) -> bytes:
    ours = transform(request(name, fields, counter))
    return mac_apdu(sign(ours.precommand(), keys.signer(SUPPLIER)), keys.keystore)


def results(execution) -> list[str]:
    return [str(r.result) for r in decode(execution.response).payload.results]


def test_a_meter_outside_the_validity_interval_refuses_the_adjustment(keys):
    """The DCC's time an hour ahead of the meter's, with 60 s tolerance: set and preset
    succeed, the adjustment fails (other_reason, counted), and the reads after it show the
    meter's own time, unchanged."""
    later = {"CurrentDateTime": "2015-01-01T01:00:00.00Z"}
    [execution], premises = execute(keys, [signed(keys, TEMPLATES[1], later, 5000)])
    assert execution.outcome == "executed"
    assert results(execution) == ["success", "success", "other_reason", "success", "success"]
    assert bytes(decode(execution.response).payload.data[3].value)[:8] == bytes.fromhex(
        "07DF0101FF000000")  # fmt: skip
    assert premises.esme.stats["clock:adjust-refused"] == 1


def test_a_given_preset_time_sets_the_meters_clock(keys):
    """A preset time inside the window (the templates' is 'not specified') is the time the
    meter reports afterwards."""
    never = bytes.fromhex("FFFFFFFFFFFFFFFFFF8000FF")
    preset = bytes.fromhex("07DF0101FF000005008000FF")  # 2015-01-01T00:00:05
    precommand = transform(request(TEMPLATES[0], {}, 5001)).precommand()
    assert precommand.count(never) == 1
    command = mac_apdu(sign(precommand.replace(never, preset), keys.signer(SUPPLIER)),
                       keys.keystore)  # fmt: skip
    [execution], _ = execute(keys, [command])
    assert results(execution) == ["success"] * 5
    assert bytes(decode(execution.response).payload.data[3].value)[:8] == preset[:8]


def test_the_meter_time_is_unchanged_when_no_preset_is_given(keys):
    [execution], premises = execute(keys, [signed(keys, TEMPLATES[1], {}, 5002)])
    assert results(execution) == ["success"] * 5
    assert dt.timedelta(0) <= premises.esme.utc_now() - RTDS_TIME < dt.timedelta(seconds=5)
