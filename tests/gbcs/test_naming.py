"""Decoded output names what the spec names: every RTDS message rendered to JSON has each
coded value as {"code", "name"} with a name, every alert code named, every DLMS message's
COSEM objects named, every time in ISO 8601 (UTC, Z), the invoke id split out."""

import json
import re

import pytest
from rtds_vectors import params, read_vector, rtds_files, rtds_keystore

from gbcs import decode, naming, render, verify
from gbcs.alerts import ALERT_CODES

ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d\d)?Z$")
# what a time field may say besides an ISO instant: execution "now" / "never" (all 00 / FF)
# and COSEM wildcard patterns (e.g. every 25 December: "*-12-25T00:00:00")
TIME_WORDS = re.compile(
    r"^(now|never|[\d*]{1,4}-[\d*]{1,2}-[\d*]{1,2}T[\d*]{1,2}:[\d*]{1,2}:[\d*]{1,2})$"
)
# integer fields whose names say time but hold minutes after midnight or a count (ZCL SE)
NOT_INSTANTS = {"debt_recovery_collection_time", "start_time", "calendar_time_reference"}


@pytest.fixture(scope="module")
def keystore():
    return rtds_keystore()


def rendered(path, keystore):
    message = decode(read_vector(path))
    tree = json.loads(render.message_json(message, verify(message, keystore)))
    return message, tree


def walk(value, path=""):
    """(path, key, value) for every field of a JSON tree."""
    if isinstance(value, dict):
        for key, child in value.items():
            yield path, key, child
            yield from walk(child, f"{path}.{key}")
    elif isinstance(value, list):
        for child in value:
            yield from walk(child, f"{path}[]")


@pytest.mark.parametrize("path", params(rtds_files()))
def test_every_coded_value_is_named(path, keystore):
    _, tree = rendered(path, keystore)
    unnamed = [
        f"{where}.{key} = {value['code']}"
        for where, key, value in walk(tree)
        if isinstance(value, dict) and set(value) == {"code", "name"} and value["name"] is None
    ]
    assert unnamed == []


@pytest.mark.parametrize("path", params(rtds_files()))
def test_every_time_is_iso_8601(path, keystore):
    _, tree = rendered(path, keystore)
    for where, key, value in walk(tree):
        assert not (isinstance(value, dict) and "hundredths" in value), f"{where}.{key}"
        if not re.search("time|date", key) or value is None or isinstance(value, bool | dict):
            continue
        if isinstance(value, str) and value and key != "date_time" or key == "date_time":
            if value == "" and where == ".envelope":
                continue  # the DD envelope's empty date-time octet string
            assert ISO.match(value) or TIME_WORDS.match(value), f"{where}.{key} = {value!r}"
        else:
            assert key in NOT_INSTANTS, f"{where}.{key} = {value!r}"


@pytest.mark.parametrize("path", params(rtds_files("*_ALERT*")))
def test_every_alert_code_is_named(path, keystore):
    message, tree = rendered(path, keystore)
    payload = tree["payload"]
    if message.payload_kind == "dlms-notification":
        alert, stamp = payload["alert"]["alert_code"], payload["alert"]["time_stamp"]
    elif message.payload_kind == "gbz-alert":
        alert, stamp = payload["alert_code"], payload["time_stamp"]
    else:
        alert = payload["fields"]["alert_code"]
        stamp = next(v for k, v in payload["fields"].items() if k.endswith("date_time"))
    assert alert["name"] == ALERT_CODES[alert["code"]]
    assert alert["code"] >= 0x8000  # GBCS alert codes are 8xxx
    assert ISO.match(stamp)


DLMS = [p for p in rtds_files() if decode(read_vector(p)).payload_kind.startswith("dlms")]


@pytest.mark.parametrize("path", params(DLMS))
def test_dlms_objects_and_invoke_id_are_named(path, keystore):
    message, tree = rendered(path, keystore)
    payload = tree["payload"]
    for spec in payload.get("specifications") or ():
        assert spec["class_id"]["name"], spec
        assert re.match(r"^\d+-\d+:\d+\.\d+\.\d+\.\d+$", spec["instance_id"]["code"])
        assert spec["instance_id"]["name"], spec
        assert spec["attribute_or_method"]["name"], spec
        if spec["selection"] is not None:  # every RTDS selection is a range of log times
            described = spec["selection"]["range"]
            assert described["restricting_object"]["instance_id"]["name"]
            assert ISO.match(described["from"]) and ISO.match(described["to"])
            assert described["from"] <= described["to"]
    for result in payload.get("results") or ():
        assert result["result"]["name"]
    # GBCS: the invoke id is the low 24 bits of the originator counter (primer 8.1)
    assert payload["invoke"]["invoke_id"] == message.counter & 0xFFFFFF


def test_a_known_request_reads_as_the_use_case_tables_say():
    path = next(p for p in rtds_files() if p.name == "ECS47Deactivate_7.6_SUCCESS_COMMAND_GBCS.HEX")
    message = decode(read_vector(path))
    tree = render.message_dict(message)
    first, second = tree["payload"]["specifications"]
    assert first["class_id"] == {"code": 1, "name": "Data"}
    assert first["instance_id"] == {
        "code": "0-0:94.44.119.2",
        "name": "controller 3 setting period end",
    }
    assert second["attribute_or_method"] == {"code": 1, "name": "execute"}
    assert tree["message_code"] == {"code": 0x0055, "name": "ECS47"}
    text = render.message_text(message)
    assert (
        "action IC 9 Script table 0-0:10.0.103.255 (auxiliary controller commands) method 1 execute"
        in text
    )


def test_a_boost_log_read_names_its_period():
    """Primer 9.6: ECS61c reads the boost log from 2014-12-25 23:00 to 2015-01-01 00:00."""
    path = next(
        p for p in rtds_files() if p.parent.name == "7.11_ECS61c" and "SUCCESS_COMMAND" in p.name
    )
    spec = render.message_dict(decode(read_vector(path)))["payload"]["specifications"][1]
    assert spec["selection"]["range"]["from"] == "2014-12-25T23:00:00Z"
    assert spec["selection"]["range"]["to"] == "2015-01-01T00:00:00Z"


def test_an_outage_alert_reads_by_name():
    path = next(p for p in rtds_files() if p.name == "ECS80_NA_8F36_ALERT_GBCS.HEX")
    alert = render.message_dict(decode(read_vector(path)))["payload"]["alert"]
    assert alert["alert_code"] == {"code": 0x8F36, "name": ALERT_CODES[0x8F36]}
    assert alert["interruption_time"] == "2014-12-31T23:50:00Z"
    assert alert["restoration_time"] == "2014-12-31T23:59:00Z"


def test_gbz_ids_are_named():
    path = next(
        p for p in rtds_files() if p.parent.name == "7.4_GCS33" and "SUCCESS_RESPONSE" in p.name
    )
    (component,) = render.message_dict(decode(read_vector(path)))["payload"]["components"]
    assert component["cluster_id"] == {"code": 0x0702, "name": "metering"}
    frame = component["body"]["frame"]
    assert frame["command_id"] == {"code": 0x01, "name": "read_attributes_response"}
    first = frame["payload"]["records"][0]
    assert first["attribute_id"] == {"code": 0x0205, "name": "remaining_battery_life_in_days"}
    assert first["status"] == {"code": 0, "name": "success"}


def test_an_activate_image_outcome_is_not_a_read_failure():
    """CS09's last field says whether the image was activated; CS08's response says read."""
    path = next(p for p in rtds_files() if p.parent.name == "NA_CS09")
    fields = render.message_dict(decode(read_vector(path)))["payload"]["fields"]
    assert fields["activate_image"] == {"code": 0, "name": "success"}
    assert naming.coded(1, "activation_failure")["name"] != "read_failure"


def test_an_embedded_certificate_is_read_by_field():
    path = next(
        p
        for p in rtds_files()
        if p.parent.name == "8.7.1_CS03CCritical" and "SUCCESS_COMMAND" in p.name
    )
    fields = render.message_dict(decode(read_vector(path)))["payload"]["fields"]
    certificate = fields["other_device_certificate"]["certificate"]
    assert certificate["device_identity"]["eui"] == fields["other_device_id"]
    assert certificate["key_usage"] == ["key_agreement"]
    assert certificate["validity"] == {
        "not_before": "2015-03-26T00:00:00Z",
        "not_after": "9999-12-31T23:59:59Z",
    }


@pytest.mark.parametrize(
    "raw, text",
    [
        ("07DF0101FF000000008000FF", "2015-01-01T00:00:00Z"),
        ("07DF0101FF0C00001E003CFF", "2015-01-01T13:00:00.30Z"),  # deviation +60: local + 60 = UTC
        ("000000000000000000" + "8000FF", "now"),
        ("FFFFFFFFFFFFFFFFFF" + "8000FF", "never"),
        ("FFFF0C19FF000000008000FF", "*-12-25T00:00:00"),
        ("07DF0D01FF000000008000FF", None),  # month 13: not a date-time
        ("0123ABCD0123ABCD0123ABCD", None),
    ],
)
def test_cosem_date_time_text(raw, text):
    assert naming.cosem_datetime_text(bytes.fromhex(raw)) == text


def test_zcl_utc_times_are_found_by_their_declared_type():
    """Only fields declared UTCTime become times: a schedule entry's start time counts
    minutes after midnight and stays a number."""
    assert ("start_time",) in naming.UTC_PATHS["publish_calendar"]
    assert not any("schedule_entries" in p for p in naming.UTC_PATHS["publish_day_profile"])


CREDENTIAL_KEYS = (
    "authorising_remote_party_control",
    "authorising_remote_party_ta_cell_identifier",
    "replacements",
    "certification_path_certificates",
    "execution_outcome",
)
CS02 = [p for p in rtds_files() if p.parent.name.split("_", 1)[1].startswith("CS02")]


@pytest.mark.parametrize("path", params(CS02))
def test_credential_structures_are_named(path):
    """CS02a/b/f/g: no credential structure left as a generic DER tree; every certificate
    in them read by field."""
    message = decode(read_vector(path))
    fields = render.message_dict(message)["payload"]["fields"]
    raw = message.payload.fields
    for key in CREDENTIAL_KEYS:
        if raw is not None and raw.get(key) is not None:
            assert "tag_class" not in json.dumps(fields[key]), key
    for _, key, value in walk(fields):
        if key == "certificate" and isinstance(value, dict):
            assert {"serial", "subject", "issuer", "validity", "key_usage"} <= set(value)
            assert ISO.match(value["validity"]["not_after"])


def test_a_supplier_credential_update_reads_as_gbcs_names_it():
    path = next(
        p
        for p in CS02
        if p.name == "CS02bSupplierBySupplier_6.15.1_IMMEDIATE_SUCCESS_COMMAND_GBCS.HEX"
    )
    fields = render.message_dict(decode(read_vector(path)))["payload"]["fields"]
    control = fields["authorising_remote_party_control"]
    assert control["credentials_replacement_mode"] == {"code": 2, "name": "supplier_by_supplier"}
    assert control["authorising_remote_party_seq_number"] == 1000
    first = fields["replacements"][0]
    assert first["target_trust_anchor_cell"]["remote_party_role"]["name"] == "supplier"
    subject = first["new_certificate"]["certificate"]["subject"]
    assert subject["unique_identifier"] == "90B3D51F30010000"
    assert subject["role"] == {"code": 2, "name": "supplier"}


def test_credential_details_a_device_reports_are_named():
    path = next(p for p in CS02 if p.name == "CS02aMAC_6.24.1_SUCCESS_RESPONSE_GBCS.HEX")
    details = render.message_dict(decode(read_vector(path)))["payload"]["fields"]
    supplier, operator = details["remote_party_details"]
    assert supplier["remote_party_role"]["name"] == "supplier"
    assert supplier["status_code"] == {"code": 0, "name": "success"}
    assert [c["key_usage"] for c in supplier["trust_anchor_cells"]] == [
        ["digital_signature"],
        ["key_agreement"],
        ["key_agreement"],
    ]
    assert supplier["trust_anchor_cells"][2]["cell_usage"]["name"] == "prepayment_top_up"
    assert operator["remote_party_role"]["name"] == "network_operator"


LOG_READS = [
    p
    for p in rtds_files("*SUCCESS_RESPONSE*")
    if decode(read_vector(p)).message_code in naming.EVENT_LOGS | naming.SECOND_COLUMN_TIMES
]


@pytest.mark.parametrize("path", params(LOG_READS))
def test_log_entries_read_with_times_and_event_codes(path, keystore):
    """Event, security and power logs (ECS35x, DBCH02) and the boost log (ECS61c): each
    entry's time in ISO 8601, each event code named as the alert it is."""
    message, tree = rendered(path, keystore)
    logs = [
        v["named_entries"]
        for _, k, v in walk(tree)
        if k == "value" and isinstance(v, dict) and "named_entries" in v
    ]
    assert logs and all(logs)
    for entry in (e for log in logs for e in log):
        assert ISO.match(entry[0])
        if message.message_code in naming.EVENT_LOGS:
            assert entry[1]["name"] == ALERT_CODES[entry[1]["code"]]
        else:
            assert ISO.match(entry[1]) and entry[1] >= entry[0]


def _join_certificate() -> bytes:
    path = next(
        p
        for p in rtds_files()
        if p.parent.name == "8.7.1_CS03CCritical" and "SUCCESS_COMMAND" in p.name
    )
    fields = decode(read_vector(path)).payload.fields
    return bytes(fields["other_device_certificate"])


def test_a_tampered_certificate_is_reported_not_raised():
    """The view of a tampered message still renders: a certificate cryptography refuses is
    no certificate; a field it cannot read is listed as unreadable."""
    der = _join_certificate()
    assert naming.certificate_fields(der)["device_identity"]["eui"] == "00DB123456789098"
    version_3 = der.replace(bytes.fromhex("A003020102"), bytes.fromhex("A003020103"), 1)
    assert naming.certificate_fields(version_3) is None
    unknown_key = der.replace(bytes.fromhex("2A8648CE3D0201"), bytes.fromhex("2A8648CE3D0202"), 1)
    fields = naming.certificate_fields(unknown_key)
    assert "public_key" in fields["unreadable"]
    assert fields["serial"] == naming.certificate_fields(der)["serial"]
