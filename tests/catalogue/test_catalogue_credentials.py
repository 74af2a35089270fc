"""6.15.1 Update Security Credentials at the ESME (CS02bSupplierBySupplier, CS02bNOByNO,
CS02gLoadControllerBySupplier; emulator/devices/credentials.py): the DSP's pre-command from
each template is RTDS's byte for byte (the template's own certificates swapped for RTDS's,
which were issued ten years earlier); RTDS's commands are answered with RTDS's header and
payload, signed; the meter really replaces its trust anchor cells — afterwards a command
signed with the new Supplier key is carried out and one signed with the old key refused —
and a future-dated replacement takes effect at its time with RTDS's 8F66 (or 8F67) alert."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import re

import pytest
from catalogue_helpers import (
    CATALOGUE,
    CERTIFICATES,
    RTDS,
    execute,
    read_hex,
    recounted,
    with_rtds_certificates,
)

from emulator import data
from emulator.backoffice import duis
from emulator.backoffice.transform import transform
from emulator.clock import Clock
from emulator.devices.keys import LOAD_CONTROLLER_ANCHORS, NETWORK_OPERATOR, SUPPLIER, PremisesKeys
from emulator.devices.premises import Premises
from gbcs import decode
from gbcs.asn1 import encode_tree
from gbcs.errors import GbcsError
from gbcs.keystore import DS, KA, Keystore
from gbcs.message import encode_apdu
from gbcs.render import plain
from gbcs.security import (
    ENCRYPTION_TYPE,
    check_message,
    decrypt_fragment,
    derive_key,
    mac_apdu,
    sign,
    verify_mac,
)

LOAD_CONTROLLER = bytes.fromhex("90B3D51F30010008")
ESME = bytes.fromhex("00DB1234567890A0")
FOLDERS = ("6.15.1_CS02bSupplierBySupplier", "6.15.1_CS02bNOByNO",
           "6.15.1_CS02gLoadControllerBySupplier")  # fmt: skip
#: RTDS's Load Controller ERROR commands are its SUCCESS ones byte for byte but the counter:
#: their failure is a state of RTDS's meter no input asks for, so they are not among these
STATE_NOT_INPUT = {
    "CS02gLoadControllerBySupplier_6.15.1_IMMEDIATE_ERROR_COMMAND_GBCS.HEX",
    "CS02gLoadControllerBySupplier_6.15.1_FUTURE_DATED_ERROR_COMMAND_GBCS.HEX",
}
COMMANDS = sorted(p.relative_to(RTDS).as_posix() for f in FOLDERS
                  for p in (RTDS / f).glob("*_COMMAND_GBCS.HEX")
                  if p.name not in STATE_NOT_INPUT)  # fmt: skip
#: template -> RTDS's pre-command for the same request
PRECOMMANDS = {
    t.name: (RTDS / folder / t.name.replace("_REQUEST_DUIS.XML", "_PRECOMMAND_GBCS.HEX"))
    for folder in FOLDERS
    for t in sorted(CATALOGUE.glob(f"{folder.split('_', 1)[1]}_6.15.1_*_REQUEST_DUIS.XML"))
}
BEFORE_2030 = dt.datetime(2029, 12, 31, 23, 59, tzinfo=dt.UTC)
ZIB_SUPPLIER_DS = bytes.fromhex("43046B4FB7C4F11B")  # the replacing certificate's key id


@pytest.fixture(scope="module")
def keys():
    """RTDS's anchors with RTDS's Load Controller placed, as RTDS's meter holds them."""
    return PremisesKeys.open(anchors=dict(LOAD_CONTROLLER_ANCHORS))


def _request(name: str, precommand: bytes, substitute: bool = True) -> duis.Request:
    rtds = decode(precommand)
    raw = (CATALOGUE / name).read_bytes()
    root = duis.parse(
        with_rtds_certificates(raw, decode(precommand).payload.fields) if substitute else raw
    )
    duis.set_originator(root, bytes(rtds.originator), rtds.counter)
    return duis.parse_request(root)


@pytest.mark.parametrize("name", sorted(PRECOMMANDS))
def test_the_precommand_from_the_template_is_rtds(name):
    precommand = read_hex(PRECOMMANDS[name])
    ours = transform(_request(name, precommand))
    assert ours.use_case.name == name.split("_")[0]
    assert ours.critical and ours.user_signs
    assert ours.precommand() == precommand


@pytest.mark.parametrize("name", sorted(PRECOMMANDS))
def test_the_template_own_certificates_are_sent(name):
    """Unchanged, the template's 2025 certificates are what the command carries."""
    ours = decode(transform(_request(name, read_hex(PRECOMMANDS[name]), False)).precommand())
    sent = [encode_tree(r["children"][0]) for r in ours.payload.fields.replacements["children"]]
    text = (CATALOGUE / name).read_text()
    expected = [base64.b64decode(m) for n in CERTIFICATES
                for m in re.findall(f"<sr:{n}>([^<]*)</sr:{n}>", text)]  # fmt: skip
    assert sent == expected


@pytest.mark.parametrize("name", COMMANDS)
def test_rtds_command_is_answered_as_rtds(keys, name):
    [execution], _ = execute(keys, [read_hex(RTDS / name)])
    assert execution.outcome == "executed", execution.reason
    expected = decode(read_hex(RTDS / name.replace("_COMMAND_", "_RESPONSE_")))
    got = decode(execution.response)
    assert plain(got.header) == plain(expected.header)
    assert plain(got.payload) == plain(expected.payload)
    assert check_message(got, keys.keystore).outcome == "verified"


def _supplier_command(name: str) -> str:
    return f"6.15.1_CS02bSupplierBySupplier/CS02bSupplierBySupplier_6.15.1_{name}_GBCS.HEX"


def _resigned(keys, raw: bytes, counter: int, signer) -> bytes:
    """An RTDS Supplier command again with `counter`, signed by `signer`, MAC'd by the ACB."""
    message = decode(raw)
    message.header.transaction_id.counter = counter
    end = len(message.apdu) - 1 - len(message.signature)
    content = bytes(message.apdu[message.content_offset - message.apdu_offset : end])
    return mac_apdu(sign(encode_apdu(message.header, content, None), signer), keys.keystore)


def test_after_replacement_the_new_key_verifies_and_the_old_is_refused(keys):
    """RTDS's immediate Supplier by Supplier puts DCC Boxed's second-generation Supplier
    certificates in the meter; then an 11.3 signed with that key is carried out, and the same
    command signed with the first-generation key (which verified before) is refused."""
    boxed = Keystore.open(data.dccboxed_keystore(), check_validity=False)
    [new_key] = [k for e, k in boxed.key_pairs(SUPPLIER, DS) if e.key_id[1:9].hex()
                 == "fa6fbffa1c9a4e42"]  # fmt: skip
    old_key = keys.signer(SUPPLIER)
    firmware = read_hex(RTDS / "11.3_CS06/CS06_11.3_IMMEDIATE_SUCCESS_COMMAND_GBCS.HEX")
    commands = [
        _resigned(keys, firmware, 900, old_key),  # before: the old key is the anchor
        read_hex(RTDS / _supplier_command("IMMEDIATE_SUCCESS_COMMAND")),  # counter 1000
        _resigned(keys, firmware, 1001, old_key),
        _resigned(keys, firmware, 1002, new_key),
    ]
    (before, replaced, old, new), premises = execute(keys, commands)
    assert before.outcome == "executed" and replaced.outcome == "executed"
    assert old.outcome == "rejected:bad-signature"
    assert new.outcome == "executed", new.reason
    trust = premises.esme.access.trust
    assert trust.cells[(2, DS, 0)].ski == ZIB_SUPPLIER_DS
    assert premises.esme.stats["credentials:replaced"] == 3


def run_until_2030(keys, commands: list[bytes]):
    """The commands at the last minute of 2029, then the meter's clock past 2030-01-15:
    (executions, the alerts raised, the premises)."""
    clock = Clock("simulated")

    async def main():
        premises = await Premises.start(clock, keys=keys)
        premises.esme.set_time(BEFORE_2030)
        alerts: list[bytes] = []
        premises.on_alert(alerts.append)
        try:
            executions = [await premises.execute(c) for c in commands]
            await asyncio.sleep(15 * 86400)
            return executions, alerts, premises
        finally:
            await premises.close()

    return clock.run(main)


ALERTS = {  # the future-dated command -> RTDS's alert when it runs
    _supplier_command("FUTURE_DATED_SUCCESS_COMMAND"): _supplier_command(
        "8F66_FUTURE_DATED_SUCCESS_ALERT"),
    _supplier_command("FUTURE_DATED_ERROR_COMMAND"): _supplier_command(
        "8F67_FUTURE_DATED_ERROR_ALERT"),
    "6.15.1_CS02gLoadControllerBySupplier/CS02gLoadControllerBySupplier_6.15.1_"
    "FUTURE_DATED_SUCCESS_COMMAND_GBCS.HEX": "6.15.1_CS02gLoadControllerBySupplier/"
    "CS02gLoadControllerBySupplier_6.15.1_8F66_FUTURE_DATED_SUCCESS_ALERT_GBCS.HEX",
}  # fmt: skip


@pytest.mark.parametrize("command", sorted(ALERTS))
def test_a_future_dated_replacement_alerts_at_its_time(keys, command):
    """Accepted now and nothing replaced; at its time the cells change (8F66) or not
    (8F67), and the alert is RTDS's, payload for payload, signed by the meter."""
    expected = decode(read_hex(RTDS / ALERTS[command]))
    executions, alerts, premises = run_until_2030(keys, [read_hex(RTDS / command)])
    assert executions[0].outcome == "executed", executions[0].reason
    ours = [m for m in map(decode, alerts) if m.message_code == expected.message_code]
    assert len(ours) == 1
    assert plain(ours[0].payload) == plain(expected.payload)
    assert bytes(ours[0].target) == bytes(expected.target)
    assert check_message(ours[0], keys.keystore).outcome == "verified"
    assert premises.esme.credentials.pending is None


def test_a_cancelled_replacement_never_runs(keys):
    future = read_hex(RTDS / _supplier_command("FUTURE_DATED_SUCCESS_COMMAND"))  # 1001
    cancel = read_hex(RTDS / _supplier_command("CANCELLATION_SUCCESS_COMMAND"))  # 1002
    executions, alerts, premises = run_until_2030(keys, [future, cancel])
    assert [e.outcome for e in executions] == ["executed", "executed"]
    assert [m for m in map(decode, alerts) if m.message_code == 0x00CB] == []
    assert premises.esme.access.trust.cells[(2, DS, 0)].ski != ZIB_SUPPLIER_DS
    assert premises.esme.stats["credentials:cancelled"] == 1


def test_the_network_operator_may_not_replace_the_supplier(keys):
    """A CS02bSupplierBySupplier that the Network Operator signed: the authorising party is
    not the Supplier, so nothing changes and nothing is answered."""
    raw = read_hex(RTDS / _supplier_command("IMMEDIATE_SUCCESS_COMMAND"))
    message = decode(raw)
    message.header.originator = NETWORK_OPERATOR
    end = len(message.apdu) - 1 - len(message.signature)
    content = bytes(message.apdu[message.content_offset - message.apdu_offset : end])
    forged = mac_apdu(sign(encode_apdu(message.header, content, None),
                           keys.signer(NETWORK_OPERATOR)), keys.keystore)  # fmt: skip
    [execution], premises = execute(keys, [forged])
    assert execution.outcome == "rejected:role-not-permitted" and execution.response is None
    assert premises.esme.access.trust.cells[(2, DS, 0)].ski != ZIB_SUPPLIER_DS


def test_after_replacement_responses_are_maced_with_the_new_key_agreement_key(keys):
    """The Supplier's key agreement cell replaced (Z1b's), the meter's MAC'd answer to the
    Supplier's 11.2 opens with that key and no longer with the old one RTDS's keystore has."""
    read = read_hex(RTDS / "11.2_ECS52/ECS52_11.2_SUCCESS_COMMAND_GBCS.HEX")
    commands = [recounted(keys, read, 900),
                read_hex(RTDS / _supplier_command("IMMEDIATE_SUCCESS_COMMAND")),  # 1000
                recounted(keys, read, 1001)]  # fmt: skip
    (before, _replaced, after), _premises = execute(keys, commands)
    assert check_message(decode(before.response), keys.keystore).outcome == "verified"
    answer = decode(after.response)
    assert check_message(answer, keys.keystore).outcome == "failed"
    boxed = Keystore.open(data.dccboxed_keystore(), check_validity=False)
    [new_ka] = [k for e, k in boxed.key_pairs(SUPPLIER, KA) if e.key_id[1:9].hex()
                == "6abb6287973a34f8"]  # fmt: skip
    [esme_ka] = keys.keystore.entries(ESME, KA)
    key = derive_key(new_ka, esme_ka.public_key, ESME, 2, answer.counter, SUPPLIER)
    verify_mac(answer.apdu, answer.mac, key, ESME)


def test_after_replacement_reads_are_encrypted_for_the_new_key_agreement_key(keys):
    """The Supplier's key agreement cell replaced (Z1b's), the meter encrypts the Supplier's
    4.1.1 read (ECS17b) for that key: it opens with Z1b's private key, not with the old one
    RTDS's keystore has, which opened the same read before."""
    read = read_hex(RTDS / "4.1.1_ECS17b/ECS17b_4.1.1_SINGLE_SUCCESS_COMMAND_GBCS.HEX")
    commands = [recounted(keys, read, 900),
                read_hex(RTDS / _supplier_command("IMMEDIATE_SUCCESS_COMMAND")),  # 1000
                recounted(keys, read, 1001)]  # fmt: skip
    (before, _replaced, after), _premises = execute(keys, commands)
    boxed = Keystore.open(data.dccboxed_keystore(), check_validity=False)
    [new_ka] = [k for e, k in boxed.key_pairs(SUPPLIER, KA) if e.key_id[1:9].hex()
                == "6abb6287973a34f8"]  # fmt: skip
    old_ka = keys.keystore.ka_pairings(ESME, SUPPLIER)[0][0][0]  # the pair RTDS's reads use
    [esme_ka] = keys.keystore.entries(ESME, KA)

    def opened(response: bytes, private) -> bool:
        message = decode(response)
        fragment = bytes(message.payload.data[0].value[1].value)
        key = derive_key(private, esme_ka.public_key, ESME, ENCRYPTION_TYPE, message.counter,
                         SUPPLIER)  # fmt: skip
        try:
            decrypt_fragment(fragment, key, ESME)
        except GbcsError:
            return False
        return True

    assert before.outcome == after.outcome == "executed"
    assert opened(before.response, old_ka) and not opened(before.response, new_ka)
    assert opened(after.response, new_ka) and not opened(after.response, old_ka)


def _reshaped(keys, edit, counter: int) -> bytes:
    """RTDS's immediate Supplier by Supplier with its replacements edited by `edit(items)`
    (the DER tree's list), again signed by the Supplier and MAC'd by the ACB."""
    message = decode(read_hex(RTDS / _supplier_command("IMMEDIATE_SUCCESS_COMMAND")))
    tree = message.payload.tree
    edit(tree["children"][1]["children"])
    message.header.transaction_id.counter = counter
    apdu = sign(encode_apdu(message.header, encode_tree(tree), None), keys.signer(SUPPLIER))
    return mac_apdu(apdu, keys.keystore)


def _statuses(execution) -> list[int]:
    outcome = decode(execution.response).payload.tree["children"][1]["children"][3]
    return [bytes(item["children"][1].value)[0] for item in outcome["children"]]


def test_a_certificate_of_the_wrong_key_usage_is_refused_for_its_cell(keys):
    """The DS and KA certificates swapped: neither may go in the other's cell (5, bad
    certificate), the top-up one still does; the cells the others name are unchanged."""

    def swap(items):
        first, second = items[0]["children"], items[1]["children"]
        first[0], second[0] = second[0], first[0]

    [execution], premises = execute(keys, [_reshaped(keys, swap, 1000)])
    assert execution.outcome == "executed"
    assert _statuses(execution) == [5, 5, 0]
    assert premises.esme.access.trust.cells[(2, DS, 0)].ski != ZIB_SUPPLIER_DS


def test_a_replacement_for_another_party_cell_is_refused_whole(keys):
    """A Supplier by Supplier naming the Network Operator's cell: malformed, counted, no
    answer, nothing replaced."""

    def other_role(items):
        items[0]["children"][1]["children"][0]["value"] = b"\x03"

    [execution], premises = execute(keys, [_reshaped(keys, other_role, 1000)])
    assert execution.outcome == "rejected:malformed" and execution.response is None
    assert premises.esme.stats["rejected:malformed"] == 1
    assert premises.esme.stats["credentials:replaced"] == 0


def test_a_certificate_no_remote_party_holds_is_refused_for_its_cell(keys):
    """The CA certificate of the path in the top-up cell's place: bad certificate (5) there,
    the other two replaced."""

    message = decode(read_hex(RTDS / _supplier_command("IMMEDIATE_SUCCESS_COMMAND")))
    [ca] = message.payload.tree["children"][2]["children"]

    def ca_in_top_up(items):
        items[2]["children"][0] = ca

    [execution], premises = execute(keys, [_reshaped(keys, ca_in_top_up, 1000)])
    assert _statuses(execution) == [0, 0, 5]
    assert premises.esme.access.trust.cells[(2, DS, 0)].ski == ZIB_SUPPLIER_DS
