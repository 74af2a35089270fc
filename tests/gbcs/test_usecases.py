"""The use-case registry against the RTDS folders and the DUIS mapping table."""

import json
from pathlib import Path

import pytest
from rtds_vectors import params, read_vector, rtds_files

from emulator import data
from gbcs import decode
from gbcs.roles import Role
from gbcs.usecases import (
    ALERT,
    DIRECTION_CRA_FLAGS,
    HAN,
    PAYLOAD_KINDS,
    USE_CASES,
    by_name,
    lookup,
)

MAPPING = json.loads(data.gbcs_mapping_table().read_text())


def test_every_rtds_message_code_is_declared():
    codes = {decode(read_vector(p)).message_code for p in rtds_files()}
    missing = sorted(f"0x{c:04X}" for c in codes if lookup(c) is None)
    assert missing == []


def test_declarations_are_consistent():
    for code, use_case in USE_CASES.items():
        assert use_case.code == code
        assert use_case.name and use_case.title
        assert use_case.encoding in (None, "asn1")


@pytest.mark.parametrize(
    "name, code, srvs",
    [
        ("ECS47", 0x0055, ("7.5", "7.6", "7.8")),
        ("ECS61a", 0x00BB, ("7.7",)),
        ("ECS62", 0x005F, ("7.9", "7.10")),
        ("ECS61c", 0x005E, ("7.11",)),
        ("ECS47a", 0x011E, ("7.13",)),
        ("ECS47e", 0x011F, ("7.16",)),
        ("ECS80", 0x0067, ()),
    ],
)
def test_auxiliary_load_use_cases(name, code, srvs):
    """The use cases the DNO curtailment depends on (mission table, primer section 9)."""
    use_case = by_name(name)
    assert use_case.code == code
    assert set(use_case.srvs) == set(srvs)


def test_criticality_of_the_curtailment_commands():
    assert by_name("ECS47").critical is True
    assert by_name("ECS61a").critical is False
    assert by_name("ECS47e").senders == (Role.LOAD_CONTROLLER,)


@pytest.mark.parametrize(
    "row",
    [r for r in MAPPING if r["Code"] and r["Message Type"] in ("SME.C.C", "SME.C.NC")],
    ids=lambda r: r["Code"] + "/" + r["Use Case Name"][:30],
)
def test_message_types_agree_with_the_mapping_table(row):
    """Where both know a use case, the registry's message type is the mapping table's (a
    name may also cover an alert code of its own, e.g. CS06's future-dated alert)."""
    declared = [u.message_type for u in USE_CASES.values() if u.name == row["Code"]]
    if declared:
        assert row["Message Type"] in declared


@pytest.mark.parametrize("path", params(rtds_files("*_COMMAND_GBCS")))
def test_signed_commands_are_critical_or_acb_originated(path):
    """A command signed by its originator is a critical use case (or the ACB signing for a
    user, primer 10.3 step 4); an unsigned one is not declared critical."""
    message = decode(read_vector(path))
    if message.use_case is None or message.use_case.critical is None:
        return
    if message.signature:
        assert message.use_case.critical or message.originator == bytes.fromhex("90B3D51F30000002")
    else:
        assert not message.use_case.critical


MESSAGE_CODES = [
    line.split("\t")
    for line in (Path(__file__).parent / "vectors" / "message_codes.tsv").read_text().splitlines()
    if line and not line.startswith("#")
]


@pytest.mark.parametrize("code, name", MESSAGE_CODES, ids=[c for c, _ in MESSAGE_CODES])
def test_every_gbcs_message_code_is_declared(code, name):
    """The registry is the whole message-code table, not just the codes RTDS exercises."""
    use_case = lookup(int(code, 16))
    assert use_case is not None
    if name != "-":
        assert use_case.name.startswith(name)


@pytest.mark.parametrize(
    "code",
    sorted(
        {r["Code"] for r in MAPPING if r["Code"]}
        - {"CS05a", "CS05b", "CS05c"}  # firmware distribution: a DCC service, no message code
        - {"ECS25r"}  # declared per role: ECS25r1 (Supplier), ECS25r2 (Network Operator)
    ),
)
def test_every_use_case_of_the_mapping_table_has_a_code(code):
    assert by_name(code).name == code


def test_every_entry_has_direction_criticality_and_payload():
    for use_case in USE_CASES.values():
        assert use_case.direction in DIRECTION_CRA_FLAGS
        assert use_case.payload in PAYLOAD_KINDS
        if use_case.direction != HAN:  # HAN-only and variant use cases may leave it open
            assert use_case.critical is not None or use_case.message_type in (
                None,
                "See GBCS",
                "Variant Command & Response",
            )
    assert sum(u.critical is None for u in USE_CASES.values()) <= 25


@pytest.mark.parametrize("path", params(rtds_files()))
def test_rtds_message_matches_its_use_case(path):
    """Each RTDS message's CRA flag and payload layer are the ones its code declares, and a
    critical alert or command (not a pre-command) is signed."""
    message = decode(read_vector(path))
    use_case = message.use_case
    assert use_case is not None, f"unknown use case 0x{message.message_code:04X}"
    assert message.cra_flag in use_case.cra_flags
    assert use_case.accepts(message.payload_kind), (use_case.payload, message.payload_kind)
    if use_case.critical and message.cra_flag == 3:
        assert message.signature


def test_names_and_directions_of_codes_without_vectors():
    assert lookup(0x008B).name == "GCS53" and lookup(0x008B).direction == ALERT
    assert lookup(0x008B).payload == "gbz" and lookup(0x008B).critical is True
    assert lookup(0x0113).name == "DBCH09"  # the alert DBCH04's change raises
    assert lookup(0x0116).direction == HAN and lookup(0x0116).payload == "zse"
    assert lookup(0x0119).name == "HECS01" and not lookup(0x0119).accepts("dlms-access-request")
    assert lookup(0x1000).accepts("gbz-alert") and lookup(0x1000).accepts("dlms-notification")
    assert not lookup(0x0055).accepts("gbz")
