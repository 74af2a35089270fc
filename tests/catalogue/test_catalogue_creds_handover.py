"""6.21 Request Handover of DCC Controlled Device at the GPF (emulator/devices/gsme/proxy.py,
devices/credentials.py). RTDS's GPF is controlled by the DCC for the role it hands over: its
answers name the ACB's certificates in that role's cells, and the ACB signs the handover as
that role's party. A GPF the DCC controls for a role answers RTDS's command as RTDS's (the
header but its date, the payload byte for byte, signed), holds the new party's certificates
afterwards and takes no second handover from the ACB; a GPF whose cells of that role are a
user's (Supplier cells holding the Gas Supplier's) refuses it, nothing changed. The
household's GPF, as RTDS's, is the DCC's for both roles until 6.21 hands them over."""

from __future__ import annotations

import datetime as dt

import pytest
from catalogue_helpers import RTDS, read_hex, recounted

from emulator.clock import Clock
from emulator.devices.gsme.meter import GasMeter
from emulator.devices.gsme.proxy import GasProxy
from emulator.devices.keys import NETWORK_OPERATOR, SUPPLIER
from emulator.devices.reoriginate import reoriginate
from gbcs import decode
from gbcs.asn1 import encode_tree
from gbcs.keystore import DS, KA
from gbcs.message import encode_apdu
from gbcs.render import plain
from gbcs.roles import ACB_EUI, Role
from gbcs.security import check_message, mac_apdu, sign

GSME, GPF = bytes.fromhex("00DB1234567890A1"), bytes.fromhex("00DB1234567890A3")
GAS_SUPPLIER = bytes.fromhex("90B3D51F30030000")
RTDS_TIME = dt.datetime(2015, 1, 1, tzinfo=dt.UTC)
#: RTDS's handover -> (the role the DCC controls, the new party, its DS key id)
HANDOVERS = {
    "6.21_CS02bNOByNOHandover/CS02bNOByNOHandover_6.21_SUCCESS": (
        "network_operator", NETWORK_OPERATOR, "48CF97FA9F827FB5"),
    "6.21_CS02bSupplierBySupplierHandover/CS02bSupplierBySupplierHandover_6.21_SUCCESS": (
        "supplier", SUPPLIER, "44899792D196F4B8"),
}  # fmt: skip


def _gpf(keys, controlled=()) -> GasProxy:
    gsme = GasMeter(GSME, keys, Clock("simulated"), lambda: RTDS_TIME, supplier=GAS_SUPPLIER)
    return GasProxy(GPF, gsme, keys, lambda: RTDS_TIME, dcc_controlled=controlled)


def _file(stem: str, kind: str) -> bytes:
    return read_hex(RTDS / f"{stem}_{kind}_GBCS.HEX")


def _role(name: str) -> int:
    return int({"supplier": Role.SUPPLIER, "network_operator": Role.NETWORK_OPERATOR}[name])


@pytest.mark.parametrize("stem", sorted(HANDOVERS))
def test_a_dcc_controlled_gpf_answers_rtds_handover_as_rtds(keys, stem):
    controlled, party, ski = HANDOVERS[stem]
    gpf = _gpf(keys, [controlled])
    role = _role(controlled)
    assert gpf.trust.cells[(role, DS, 0)].eui == ACB_EUI  # the DCC's, before
    result = gpf.handle(_file(stem, "COMMAND"))
    assert result.outcome == "executed", result.outcome
    got, want = decode(result.response), decode(_file(stem, "RESPONSE"))
    assert plain(got.header) == plain(want.header)  # the GPF's time is RTDS's here
    assert plain(got.payload) == plain(want.payload)
    assert got.signature and check_message(got, keys.keystore).outcome == "verified"
    # the party's certificates in the role's cells now, the ACB's nowhere in them
    assert gpf.trust.cells[(role, DS, 0)].eui == party
    assert gpf.trust.cells[(role, DS, 0)].ski.hex().upper() == ski
    assert gpf.trust.cells[(role, KA, 0)].eui == party
    assert not gpf.trust.holds(role, ACB_EUI)


@pytest.mark.parametrize("stem", sorted(HANDOVERS))
def test_a_second_handover_from_the_acb_is_refused(keys, stem):
    controlled, party, _ski = HANDOVERS[stem]
    gpf = _gpf(keys, [controlled])
    command = _file(stem, "COMMAND")
    assert gpf.handle(command).outcome == "executed"
    again = gpf.handle(recounted(keys, command, decode(command).counter + 1))
    assert again.outcome == "rejected:role-not-permitted" and again.response is None
    assert gpf.trust.cells[(_role(controlled), DS, 0)].eui == party


def test_a_gpf_its_gas_supplier_controls_refuses_the_supplier_handover(keys):
    """A GPF whose Supplier cells hold the Gas Supplier's certificates (the DCC controls its
    Network Operator's only): the ACB may not replace them."""
    gpf = _gpf(keys, ["network_operator"])
    stem = next(s for s, (role, *_rest) in HANDOVERS.items() if role == "supplier")
    result = gpf.handle(_file(stem, "COMMAND"))
    assert result.outcome == "rejected:role-not-permitted" and result.response is None
    assert gpf.trust.cells[(_role("supplier"), DS, 0)].eui == GAS_SUPPLIER
    assert gpf.stats["rejected:role-not-permitted"] == 1


@pytest.mark.parametrize("controlled", [["network_operator"], ["network_operator", "supplier"]])
def test_the_gpf_other_commands_are_as_before(keys, controlled):
    """A GPF the DCC controls for its Network Operator, or for both roles (the household's),
    still answers its Gas Supplier: RTDS's reliable balance read (4.18, GCS60a), sent as the
    Gas Supplier (the GPF's other commands go by its GSME's anchors)."""
    gpf = _gpf(keys, controlled)
    raw = read_hex(RTDS / "4.18_GCS60a/GCS60a_4.18_SUCCESS_RELIABLE_GPF_COMMAND_GBCS.HEX")
    assert bytes(decode(raw).target) == GPF
    result = gpf.handle(reoriginate(raw, GAS_SUPPLIER, keys.signer(GAS_SUPPLIER), keys.keystore))
    assert result.outcome == "executed", result.outcome


def test_a_future_dated_handover_is_refused(keys):
    """The DCC holds a future-dated 6.21 until it is due: RTDS's handover with an execution
    date-time added (signed by the ACB) is refused at the GPF, nothing replaced."""
    gpf = _gpf(keys, ["network_operator"])
    stem = next(s for s, (role, *_rest) in HANDOVERS.items() if role == "network_operator")
    message = decode(_file(stem, "COMMAND"))
    body = encode_tree(message.payload.tree)[4:] + b"\x18\x0f" + b"20150115000000Z"
    content = b"\x30\x82" + len(body).to_bytes(2, "big") + body
    apdu = sign(encode_apdu(message.header, content, None), keys.signer(ACB_EUI))
    result = gpf.handle(mac_apdu(apdu, keys.keystore))
    assert result.outcome == "rejected:malformed", result.outcome
    assert gpf.trust.cells[(_role("network_operator"), DS, 0)].eui == ACB_EUI
