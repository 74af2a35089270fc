"""What a device's response says of its command (catalogue.device_outcome), read with the
codec, held to RTDS: every SUCCESS response reads success, every ERROR response an error (or
a partial one), every NOT_FOUND response not_found, each file by name. The files whose name
and content disagree are listed in AMBIGUOUS with what they read and why."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from construct import Container

from emulator import data
from emulator.backoffice import catalogue
from emulator.backoffice.assembly import DEFAULT_GBCS_DATE
from gbcs import decode
from gbcs.keystore import Keystore
from gbcs.security import check_message

ROOT = Path(__file__).resolve().parents[2]
RESPONSES = {p.name: p for p in sorted(data.rtds().glob("*/*_RESPONSE_GBCS.HEX"))}

#: RTDS files whose name says one thing and whose response another, and what they read
AMBIGUOUS = {
    # future-dated: the response only accepts the command; the error is the later alert's
    # (CS06's 8F67, CS02b's execution alert), not the response's
    "CS06_11.3_FUTURE_DATED_ERROR_RESPONSE_GBCS.HEX": "success",
    "CS02bSupplierBySupplier_6.15.1_FUTURE_DATED_ERROR_RESPONSE_GBCS.HEX": "success",
    "CS02gLoadControllerBySupplier_6.15.1_FUTURE_DATED_ERROR_RESPONSE_GBCS.HEX": "success",
    # the prepayment and price attributes are read; only the calendar's four publishes
    # find nothing (default responses NOT_FOUND): an answer with data, so success
    "GCS21b_4.13_NOT_FOUND_RESPONSE_GBCS.HEX": "success",
}


@pytest.fixture(scope="module")
def keys() -> Keystore:
    return Keystore.open(data.rtds_keystore(), clock=DEFAULT_GBCS_DATE)


def outcome(name: str, keys: Keystore) -> str:
    message = decode(bytes.fromhex(RESPONSES[name].read_text().strip()))
    check_message(message, keys)  # decrypts the parts the user's keys open
    return catalogue.device_outcome(message)


def expected(name: str) -> str:
    if name in AMBIGUOUS:
        return "ambiguous"
    for word in ("NOT_FOUND", "ERROR", "SUCCESS"):
        if f"_{word}_" in name:
            return word
    return "unnamed"


def test_every_response_file_is_named_one_way():
    assert len(RESPONSES) > 400
    assert {expected(n) for n in RESPONSES} == {"NOT_FOUND", "ERROR", "SUCCESS", "ambiguous"}
    assert set(AMBIGUOUS) <= set(RESPONSES)


@pytest.mark.parametrize("name", [n for n in RESPONSES if expected(n) == "SUCCESS"])
def test_a_success_response_reads_success(name, keys):
    assert outcome(name, keys) == catalogue.SUCCESS


@pytest.mark.parametrize("name", [n for n in RESPONSES if expected(n) == "ERROR"])
def test_an_error_response_reads_an_error(name, keys):
    read = outcome(name, keys)
    assert read.startswith(("error:", "partial:")), read
    assert read.split(":", 1)[1]  # the device's error is named


@pytest.mark.parametrize("name", [n for n in RESPONSES if expected(n) == "NOT_FOUND"])
def test_a_not_found_response_reads_not_found(name, keys):
    assert outcome(name, keys) == catalogue.NOT_FOUND


@pytest.mark.parametrize("name", sorted(AMBIGUOUS))
def test_an_ambiguous_file_reads_as_listed(name, keys):
    assert outcome(name, keys) == AMBIGUOUS[name]


@pytest.mark.parametrize(
    ("name", "read"),
    [
        ("CS06_11.3_IMMEDIATE_ERROR_RESPONSE_GBCS.HEX", "error:no_image_held"),
        ("CS02d_6.15.2_ERROR_RESPONSE_GBCS.HEX", "error:invalid_key_usage"),
        ("CS02c_6.17_ERROR_RESPONSE_GBCS.HEX", "error:certification_request_production_failed"),
        ("CS07_8.9_ERROR_RESPONSE_GBCS.HEX", "error:read_failure"),
        ("CS04B_8.8.2_ERROR_RESPONSE_GBCS.HEX", "error:not_in_device_log"),
        ("GCS28_6.11_ERROR_RESPONSE_GBCS.HEX", "error:time_unreliable"),
        ("CS01b_2.2_ERROR_RESPONSE_GBCS.HEX", "error:rejected_invalid_top_up"),
        ("CS11_3.3_ERROR_RESPONSE_GBCS.HEX", "error:no_event_log_cleared"),
        ("GCS38_11.2_ERROR_RESPONSE_GBCS.HEX", "error:hardware_failure"),
        ("ECS01b_1.2.1_IMMEDIATE_ERROR_RESPONSE_GBCS.HEX", "partial:hardware_fault,other_reason"),
        ("CS02aMAC_6.24.1_ERROR_RESPONSE_GBCS.HEX", "partial:status_25"),
        ("CS02bSupplierBySupplier_6.15.1_IMMEDIATE_ERROR_RESPONSE_GBCS.HEX", "partial:status_10"),
        # encrypted throughout: read only once the user's keys decrypt it
        ("GCS13a_4.1.1_ERROR_RESPONSE_GBCS.HEX", "partial:hardware_failure"),
    ],
)
def test_the_device_error_is_named_per_payload_kind(name, read, keys):
    assert outcome(name, keys) == read


def test_an_encrypted_response_without_the_keys_reads_encrypted():
    """Undecrypted, a response whose every component is encrypted says nothing either way."""
    raw = bytes.fromhex(RESPONSES["GCS13a_4.1.1_ERROR_RESPONSE_GBCS.HEX"].read_text().strip())
    assert catalogue.device_outcome(decode(raw)) == catalogue.ENCRYPTED


def test_the_verifier_reads_the_outcome_with_the_signature(keys):
    """The catalogue run's check: verified with the device's key and what the device said."""
    raw = bytes.fromhex(
        RESPONSES["CS06_11.3_IMMEDIATE_ERROR_RESPONSE_GBCS.HEX"].read_text().strip()
    )
    verifier = catalogue.DeviceVerifier(None, keys)
    assert verifier.check(raw) == (True, "error:no_image_held")
    assert verifier.check(b"\xdf\x00") == (False, catalogue.UNKNOWN)


def test_an_unknown_payload_reads_unknown():
    assert catalogue.dlms_outcome(Container(results=[])) == catalogue.UNKNOWN
    assert catalogue.asn1_outcome(Container(kind="response")) == catalogue.UNKNOWN


def answered(srv: str, file: str, device: str, codes=("I0", "I99", "I0")) -> catalogue.Result:
    return catalogue.Result(file, srv, "IS", catalogue.ANSWERED, codes, True, 0.1, "", None,
                            device)  # fmt: skip


def test_the_reports_tell_a_device_error_from_an_answer():
    """The table's device column, --json's `device`, the status list's 'answered, device
    error X' and the ratchet's line all carry what the device said."""
    results = [
        answered("11.3", "CS06_11.3_IMMEDIATE_SUCCESS_REQUEST_DUIS.XML", "error:hash_mismatch"),
        answered("11.3", "CS06_11.3_FUTURE_DATED_SUCCESS_REQUEST_DUIS.XML", "success"),
        answered("7.7", "ECS61a_7.7_SUCCESS_REQUEST_DUIS.XML", "success", ("I99", "I0")),
        answered("8.2", "8.2_READ_INVENTORY_REQUEST_DUIS.XML", "", ("I0",)),
    ]
    table = catalogue.table(results).splitlines()
    assert table[0].split()[:5] == ["SRV", "outcome", "codes", "verified", "device"]
    row = next(line for line in table if "CS06_11.3_IMMEDIATE" in line)
    assert row.split()[4] == "error:hash_mismatch"
    assert "success 2, its own error 1" in table[-2]
    assert results[0].as_dict()["device"] == "error:hash_mismatch"
    markdown = catalogue.status_markdown(results)
    assert "| 11.3 | answered, device error hash_mismatch | 2/2 |" in markdown
    assert "| 7.7 | answered | 1/1 | I99>I0 | success |" in markdown
    assert "| 8.2 | answered | 1/1 | I0 | - |" in markdown
    assert [catalogue.expectation(r) for r in results] == [
        "I0>I99>I0 error:hash_mismatch", "I0>I99>I0 success", "I99>I0 success", "I0",
    ]  # fmt: skip


def test_gbhan_dsp_catalogue_shows_the_device_error(tmp_path):
    """As a user runs it: the GSME refuses a 2.2 whose code is RTDS's ERROR case's (no UTRN:
    its check digit is wrong), though the request is answered I0; the table says so beside
    the I0, --json in `device`. (The catalogue's own GSME templates now succeed but for its
    log reads, which find nothing.)"""
    catalogue_dir = data.duis_catalogue()
    (tmp_path / "ECS52_11.2_SUCCESS_REQUEST_DUIS.XML").write_bytes(
        (catalogue_dir / "ECS52_11.2_SUCCESS_REQUEST_DUIS.XML").read_bytes())  # fmt: skip
    error_command = data.rtds() / "2.2_CS01b" / "CS01b_2.2_ERROR_COMMAND_GBCS.HEX"
    frame = decode(bytes.fromhex(error_command.read_text().strip())).payload.components[0]
    code = bytes(frame.body.frame.payload.top_up_code).decode()
    template = (catalogue_dir / "CS01b_2.2_SUCCESS_REQUEST_DUIS.XML").read_text()
    (tmp_path / "CS01b_2.2_ERROR_REQUEST_DUIS.XML").write_text(
        template.replace("<sr:UTRN>73950067887105178605</sr:UTRN>", f"<sr:UTRN>{code}</sr:UTRN>")
    )
    command = [sys.executable, "-m", "tools.dsp_cmd", "dsp", "catalogue", "--quiet",
               "--catalogue", str(tmp_path)]  # fmt: skip
    table = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert table.returncode == 0, table.stderr
    rows = {line.split()[-1]: line.split() for line in table.stdout.splitlines()[1:3]}
    assert rows["CS01b_2.2_ERROR_REQUEST_DUIS.XML"][2:5] == [
        "I99>I0", "yes", "error:rejected_invalid_top_up"]  # fmt: skip
    assert rows["ECS52_11.2_SUCCESS_REQUEST_DUIS.XML"][2:5] == ["I99>I0", "yes", "success"]
    out = subprocess.run([*command, "--json"], cwd=ROOT, capture_output=True, text=True,
                         timeout=300)  # fmt: skip
    results = {r["file"]: r for r in json.loads(out.stdout)["results"]}
    assert results["CS01b_2.2_ERROR_REQUEST_DUIS.XML"]["device"] == "error:rejected_invalid_top_up"
    assert json.loads(out.stdout)["summary"]["device_error"] == 1
