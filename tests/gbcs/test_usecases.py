"""The use-case registry against the RTDS folders and the DUIS mapping table."""

import json

import pytest
from rtds_vectors import SHARED, params, read_vector, rtds_files

from gbcs import decode
from gbcs.roles import Role
from gbcs.usecases import USE_CASES, by_name, lookup

MAPPING = json.loads((SHARED / "duis" / "gbcs-mapping-table.json").read_text())


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
