"""6.24.1 Retrieve Device Security Credentials at the ESME (CS02a, CS02f, sent by the ACB;
emulator/devices/credentials.py): the DSP's command content from each template is RTDS's
byte for byte; RTDS's commands are answered with RTDS's payload (the counters RTDS's meter
had last seen from the Network Operator and Load Controller aside: ours has seen none), MAC'd
for the ACB; and the read shows what 6.15.1 changed — the new certificate's key id and the
counter floor it set."""

from __future__ import annotations

import pytest
from catalogue_helpers import CATALOGUE, RTDS, execute, read_hex

from emulator.backoffice import duis
from emulator.backoffice.transform import AcbContext, transform
from emulator.devices.keys import LOAD_CONTROLLER_ANCHORS, SUPPLIER, PremisesKeys
from gbcs import decode
from gbcs.asn1 import encode_tree
from gbcs.render import plain
from gbcs.roles import ACB_EUI
from gbcs.security import check_message

LOAD_CONTROLLER = bytes.fromhex("90B3D51F30010008")
#: template -> RTDS's command for the same request
TEMPLATES = {
    "CS02aMAC_6.24.1_SUCCESS_REQUEST_DUIS.XML": "6.24.1_CS02aMAC/CS02aMAC_6.24.1_SUCCESS",
    "CS02fMAC_6.24.1_SUCCESS_REQUEST_DUIS.XML": "6.24.1_CS02fMAC/CS02fMAC_6.24.1_SUCCESS",
}
#: RTDS's commands to the ESME (CS02aMAC's ERROR case asks the GSME)
COMMANDS = ("6.24.1_CS02aMAC/CS02aMAC_6.24.1_SUCCESS", "6.24.1_CS02fMAC/CS02fMAC_6.24.1_SUCCESS",
            "6.24.1_CS02fMAC/CS02fMAC_6.24.1_ERROR")  # fmt: skip


@pytest.fixture(scope="module")
def keys():
    """RTDS's anchors with RTDS's Load Controller placed, as RTDS's meter holds them."""
    return PremisesKeys.open(anchors=dict(LOAD_CONTROLLER_ANCHORS))


def _command(stem: str) -> bytes:
    return read_hex(RTDS / f"{stem}_COMMAND_GBCS.HEX")


@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_the_command_from_the_template_is_rtds(name):
    rtds = decode(_command(TEMPLATES[name]))
    root = duis.parse((CATALOGUE / name).read_bytes())
    duis.set_originator(root, SUPPLIER, 1000)
    ours = transform(duis.parse_request(root), acb=_acb(rtds))
    assert ours.use_case.name == rtds.use_case.name and ours.via_acb and not ours.critical
    assert ours.content == encode_tree(rtds.payload.tree)
    assert bytes(ours.header.originator) == ACB_EUI


def _acb(rtds) -> AcbContext:
    return AcbContext(ACB_EUI, rtds.counter)


def _seq_numbers(payload: dict) -> list:
    """The current sequence numbers a CS02a / CS02f response reports, taken out."""
    out = []
    for entry in payload["tree"]["children"]:
        parts = entry["children"]
        if len(parts) > 2:
            out.append(parts.pop(2)["value"])
    return out


@pytest.mark.parametrize("stem", COMMANDS)
def test_rtds_command_is_answered_as_rtds(keys, stem):
    [execution], _ = execute(keys, [_command(stem)])
    assert execution.outcome == "executed", execution.outcome
    got, expected = decode(execution.response), decode(read_hex(RTDS / f"{stem}_RESPONSE_GBCS.HEX"))
    assert plain(got.header) == plain(expected.header)
    ours, theirs = plain(got.payload), plain(expected.payload)
    assert set(_seq_numbers(ours)) <= {"00"}  # our meter has accepted no command yet
    _seq_numbers(theirs)  # RTDS's meter had seen counter 1 from the NO and the LC
    assert ours["tree"] == theirs["tree"]
    assert check_message(got, keys.keystore).outcome == "verified"


def test_the_read_shows_a_replacement(keys):
    """After RTDS's Network Operator by Network Operator (counter 1200, floor 0) the NO's
    cells hold the new certificates (RTDS's response names their key ids) and its counter
    is the floor."""
    replace = read_hex(RTDS / "6.15.1_CS02bNOByNO/CS02bNOByNO_6.15.1_SUCCESS_COMMAND_GBCS.HEX")
    (replaced, read), _ = execute(keys, [replace, _command(COMMANDS[0])])
    assert replaced.outcome == "executed" and read.outcome == "executed"
    [_supplier, operator] = decode(read.response).payload.tree["children"]
    role, status, counter, cells = operator["children"]
    assert (bytes(role.value), bytes(status.value), bytes(counter.value)) == (b"\x03", b"\x00",
                                                                              b"\x00")  # fmt: skip
    key_ids = [bytes(c["children"][-1].value).hex().upper() for c in cells["children"]]
    assert key_ids == ["4238D306B6F725A2", "483E0AD640C236C5"]  # RTDS's replacing ids
