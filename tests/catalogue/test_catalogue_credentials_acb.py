"""8.5 Service Opt-out at the ESME (CS02bACBByACB, MAC'd by the ACB, not signed;
emulator/devices/credentials.py): the DSP's command content from the template is RTDS's byte
for byte (RTDS's certificates swapped in); RTDS's command is answered with RTDS's header and
payload, signed as RTDS's; the meter checks every command's MAC with the key agreement key
in its own ACB cell, so after the replacement a command the DCC's old ACB key MACs is
refused (bad-mac) and one MAC'd with the new key is carried out."""

from __future__ import annotations

import base64
import re

from catalogue_helpers import CATALOGUE, RTDS, execute, read_hex

from emulator import data
from emulator.backoffice import duis
from emulator.backoffice.transform import AcbContext, transform
from emulator.devices.keys import SUPPLIER
from gbcs import decode
from gbcs.asn1 import encode_tree
from gbcs.keystore import KA, Keystore
from gbcs.message import encode_apdu
from gbcs.render import plain
from gbcs.roles import ACB_EUI
from gbcs.security import check_message, compute_mac, derive_key, sign, wrap_with_mac

FOLDER = RTDS / "8.5_CS02bACBByACB"
COMMAND = FOLDER / "CS02bACBByACB_8.5_SUCCESS_COMMAND_GBCS.HEX"
TEMPLATE = CATALOGUE / "CS02bACBByACB_8.5_SUCCESS_REQUEST_DUIS.XML"
ESME = bytes.fromhex("00DB1234567890A0")
NEW_ACB_KA = "efdced0585248d21"  # DCC Boxed's second-generation ACB key agreement key


def test_the_command_from_the_template_is_rtds():
    rtds = decode(read_hex(COMMAND))
    fields = rtds.payload.fields
    [new] = [encode_tree(r["children"][0]) for r in fields.replacements["children"]]
    [path] = [encode_tree(c) for c in fields.certification_path_certificates["children"]]
    text = re.sub("(<sr:KeyAgreementCertificate>)[^<]*(</sr:KeyAgreementCertificate>)",
                  lambda m: m.group(1) + base64.b64encode(new).decode() + m.group(2),
                  TEMPLATE.read_text())  # fmt: skip
    text = re.sub("(<sr:Certificate>)[^<]*(</sr:Certificate>)",
                  lambda m: m.group(1) + base64.b64encode(path).decode() + m.group(2), text)  # fmt: skip
    root = duis.parse(text.encode())
    ours = transform(duis.parse_request(root), acb=AcbContext(ACB_EUI, rtds.counter))
    assert ours.via_acb and not ours.critical
    assert ours.content == encode_tree(rtds.payload.tree)


def test_rtds_command_is_answered_as_rtds(keys):
    [execution], _ = execute(keys, [read_hex(COMMAND)])
    assert execution.outcome == "executed", execution.outcome
    got = decode(execution.response)
    expected = decode(read_hex(FOLDER / "CS02bACBByACB_8.5_SUCCESS_RESPONSE_GBCS.HEX"))
    assert plain(got.header) == plain(expected.header)
    assert plain(got.payload) == plain(expected.payload)
    assert got.signature and check_message(got, keys.keystore).outcome == "verified"


def _firmware(keys, counter: int, acb_key) -> bytes:
    """RTDS's 11.3, signed by the Supplier, MAC'd with `acb_key` (an ACB KA private key)."""
    message = decode(read_hex(RTDS / "11.3_CS06/CS06_11.3_IMMEDIATE_SUCCESS_COMMAND_GBCS.HEX"))
    message.header.transaction_id.counter = counter
    end = len(message.apdu) - 1 - len(message.signature)
    content = bytes(message.apdu[message.content_offset - message.apdu_offset : end])
    apdu = sign(encode_apdu(message.header, content, None), keys.signer(SUPPLIER))
    [esme_ka] = keys.keystore.entries(ESME, KA)
    # the ACB's key with the meter's; the KDF names the command's originator, the Supplier
    key = derive_key(acb_key, esme_ka.public_key, SUPPLIER, 1, counter, ESME)
    return wrap_with_mac(apdu, compute_mac(apdu, key, SUPPLIER))


def test_after_opt_out_the_old_acb_key_no_longer_opens_a_command(keys):
    boxed = Keystore.open(data.dccboxed_keystore(), check_validity=False)
    [new_key] = [k for e, k in boxed.key_pairs(ACB_EUI, KA) if e.key_id[1:9].hex() == NEW_ACB_KA]
    [(_entry, old_key)] = keys.keystore.key_pairs(ACB_EUI, KA)
    commands = [
        _firmware(keys, 900, new_key),  # before: not the meter's ACB key yet
        read_hex(COMMAND),  # the ACB's counter 1300
        _firmware(keys, 1001, old_key),
        _firmware(keys, 1002, new_key),
    ]
    (early, replaced, old, new), premises = execute(keys, commands)
    assert early.outcome == "rejected:bad-mac"
    assert replaced.outcome == "executed"
    assert old.outcome == "rejected:bad-mac"
    assert new.outcome == "executed", new.outcome
    assert premises.esme.access.trust.cells[(4, KA, 0)].key_id[1:9].hex() == NEW_ACB_KA
