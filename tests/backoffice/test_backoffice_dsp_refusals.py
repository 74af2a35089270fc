"""Requests the DSP must refuse with the DUIS code, answering with its signed, schema-valid
response and sending nothing to the premises. In-process (`Dsp.handle`); the HTTP layer is
the same call (test_backoffice_dsp_http). Cases are data, parametrised by name."""

from __future__ import annotations

import asyncio
import base64

import pytest
from backoffice_helpers import DCCBOXED, DUIS, NETWORK_OPERATOR, SUPPLIER
from dsp_helpers import GBCS_DATE, build_dsp, signed_as
from lxml import etree

from emulator import data
from emulator.backoffice import document, duis, xmlsig
from emulator.backoffice.eligibility import BASE_ELIGIBILITY, Eligibility
from gbcs.keystore import Keystore
from gbcs.security import sign as gbcs_sign

T = {name.split("_")[0] + "_" + name.split("_")[1]: DUIS / name for name in
     [p.name for p in DUIS.glob("*_REQUEST_DUIS.XML")]}  # fmt: skip
OTHER_USER = "00DB123456780004"  # in the DCC Boxed keystore with an XML key, not registered


@pytest.fixture(scope="module")
def gbcs_keys():
    return Keystore.open(DCCBOXED, clock=GBCS_DATE)


@pytest.fixture(scope="module")
def other_user(keystore):
    return xmlsig.signer_from_keystore(keystore, OTHER_USER)


def answer_code(answer: bytes, schema, trusted) -> str:
    checked = document.check(answer, schema, trusted, require_signature=True)
    return duis.response_code_of(checked.root)


def run(schema, trusted, dsp_signer, steps, **kwargs):
    """Send (endpoint, body) steps to one fresh DSP; the codes, and what reached premises."""

    async def go():
        dsp, premises = build_dsp(schema, trusted, dsp_signer, **kwargs)
        codes = [answer_code(await dsp.handle(ep, body), schema, trusted) for ep, body in steps]
        await dsp.drain()
        return codes, premises.received, dsp

    return asyncio.run(go())


def tampered(body: bytes) -> bytes:
    return body.replace(b"<sr:Duration>60</sr:Duration>", b"<sr:Duration>6000</sr:Duration>")


def without_signature(body: bytes) -> bytes:
    return duis.to_bytes(xmlsig.remove_signature(duis.parse(body)))


XXE = (b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
       b'<sr:Request xmlns:sr="http://www.dccinterface.co.uk/ServiceUserGateway">&x;'
       b"</sr:Request>")  # fmt: skip
LAUGHS = (b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa">'
          b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;">]>'
          b'<sr:Request xmlns:sr="http://www.dccinterface.co.uk/ServiceUserGateway">&c;'
          b"</sr:Request>")  # fmt: skip


def schema_invalid(signer) -> bytes:
    root = duis.parse(T["ECS47Deactivate_7.6"].read_bytes())
    duis.set_originator(root, bytes.fromhex(SUPPLIER))
    root.find(f".//{{{duis.SR}}}Duration").text = "minus one"
    return duis.to_bytes(xmlsig.sign(root, signer))


def unknown_device(signer) -> bytes:
    root = duis.parse(T["ECS61a_7.7"].read_bytes())
    node = root.find(f"{{{duis.SR}}}Header/{{{duis.SR}}}RequestID")
    node.text = "90-B3-D5-1F-30-01-00-00:00-DB-12-34-56-78-FF-FF:1002"
    return duis.to_bytes(xmlsig.sign(root, signer))


#: 8.12.2 Restore GPF Device Log: DUIS defines it, gbhan's DSP does not serve it (it holds no
#: replaced GPF's device log to restore)
UNSERVED = data.duis_catalogue() / "GCS59_8.12.2_SUCCESS_REQUEST_DUIS.XML"  # (monkeypatched)

CASES = {
    # name: (builder(signers) -> steps, expected codes)
    "dno-sends-supplier-only-7.5": (
        lambda s: [("serviceT", signed_as(T["ECS47Activate_7.5"], NETWORK_OPERATOR, s["dno"]))],
        ["E2"],
    ),
    "dno-7.9-with-boost-switch-off": (
        lambda s: [("serviceS", signed_as(T["ECS62Add_7.9"], NETWORK_OPERATOR, s["dno"]))],
        ["E2"],
    ),
    "template-placeholder-signature": (
        lambda s: [("serviceS", T["ECS61a_7.7"].read_bytes())],
        ["E41"],
    ),
    "missing-signature": (
        lambda s: [
            ("serviceS", without_signature(signed_as(T["ECS61a_7.7"], SUPPLIER, s["supplier"])))
        ],
        ["E41"],
    ),
    "tampered-body": (
        lambda s: [
            ("serviceT", tampered(signed_as(T["ECS47Deactivate_7.6"], SUPPLIER, s["supplier"])))
        ],
        ["E41"],
    ),
    "signed-by-another-registered-user": (
        lambda s: [("serviceT", signed_as(T["ECS47Deactivate_7.6"], SUPPLIER, s["dno"]))],
        ["E41"],
    ),
    "unregistered-user": (
        lambda s: [("serviceS", signed_as(T["ECS61a_7.7"], OTHER_USER, s["other"]))],
        ["E1"],
    ),
    "schema-invalid": (lambda s: [("serviceT", schema_invalid(s["supplier"]))], ["E40"]),
    "xxe": (lambda s: [("serviceS", XXE)], ["E40"]),
    "entity-expansion": (lambda s: [("serviceS", LAUGHS)], ["E40"]),
    "not-xml": (lambda s: [("serviceS", b"\x00\xffnot xml")], ["E40"]),
    "unknown-device": (lambda s: [("serviceS", unknown_device(s["supplier"]))], ["E19"]),
    "replayed-request-id": (
        lambda s: [("serviceS", signed_as(T["ECS61a_7.7"], SUPPLIER, s["supplier"]))] * 2,
        ["I99", "E42"],
    ),
    "critical-sent-to-serviceS": (
        lambda s: [("serviceS", signed_as(T["ECS47Deactivate_7.6"], SUPPLIER, s["supplier"]))],
        ["E13"],
    ),
    "non-critical-sent-to-serviceT": (
        lambda s: [("serviceT", signed_as(T["ECS61a_7.7"], SUPPLIER, s["supplier"]))],
        ["E13"],
    ),
    "variant-5-never-issued": (lambda s: [("serviceS", variant5(s, precommand=None))], ["E12"]),
}


def variant5(signers, precommand: bytes | None, counter: int = 1001) -> bytes:
    """A variant 5 7.6 from the Supplier carrying `precommand` signed by its GBCS key (the
    RTDS pre-command if None)."""
    from backoffice_helpers import RTDS

    if precommand is None:
        path = RTDS / "7.6_ECS47Deactivate/ECS47Deactivate_7.6_SUCCESS_PRECOMMAND_GBCS.HEX"
        precommand = bytes.fromhex(path.read_text().strip())
    request = duis.parse_request(duis.parse(signed_as(T["ECS47Deactivate_7.6"], SUPPLIER,
                                                      signers["supplier"], counter)))  # fmt: skip
    signed = gbcs_sign(precommand, signers["gbcs"].ds_private_key(SUPPLIER))
    root = duis.build_signed_precommand_request(request, signed)
    return duis.to_bytes(xmlsig.sign(root, signers["supplier"]))


@pytest.fixture(scope="module")
def signers(supplier, dno, other_user, gbcs_keys):
    return {"supplier": supplier, "dno": dno, "other": other_user, "gbcs": gbcs_keys}


@pytest.mark.parametrize("case", sorted(CASES))
def test_refused_with_the_duis_code_and_nothing_sent(case, signers, schema, trusted, dsp):
    build, expected = CASES[case]
    codes, received, dsp_ = run(schema, trusted, dsp, build(signers))
    assert codes == expected
    accepted = expected.count("I99")
    assert len(received) == accepted and len(dsp_.sent_to_premises) == accepted
    assert sum(dsp_.stats.refused.values()) == len(expected) - accepted


def test_an_srv_gbhan_does_not_serve_is_not_a_role_refusal(
    signers, schema, trusted, dsp, monkeypatch
):
    """Every SRV variant DUIS 5.4 lists is served (test_backoffice_eligibility), so a DSP
    that serves one fewer stands for one on a later schema: E43, not the role refusal E2."""
    monkeypatch.delitem(BASE_ELIGIBILITY, "8.12.2")
    codes, received, dsp_ = run(schema, trusted, dsp,
                                [("serviceS", signed_as(UNSERVED, SUPPLIER, s["supplier"]))
                                 for s in [signers]])  # fmt: skip
    assert codes == ["E43"] and received == [] and dsp_.sent_to_premises == []


def test_dno_7_9_is_accepted_with_the_boost_switch_on(signers, schema, trusted, dsp):
    steps = [("serviceS", signed_as(T["ECS62Add_7.9"], NETWORK_OPERATOR, signers["dno"]))]
    codes, received, _ = run(schema, trusted, dsp, steps,
                             eligibility=Eligibility(secmp0046_boost=True))  # fmt: skip
    assert codes == ["I99"] and len(received) == 1


@pytest.mark.parametrize(
    "alteration, expected",
    [("none", ["I0", "I99", "E42"]), ("other-selector", ["I0", "E41"]),
     ("signed-by-dno-key", ["I0", "E41"])],
)  # fmt: skip
def test_signed_precommand_checks(alteration, expected, signers, schema, trusted, dsp):
    async def go():
        dsp_, premises = build_dsp(schema, trusted, dsp)
        body = signed_as(T["ECS47Deactivate_7.6"], SUPPLIER, signers["supplier"])
        first = await dsp_.handle("serviceT", body)
        codes = [answer_code(first, schema, trusted)]
        node = duis.parse(first).find(f".//{{{duis.SR}}}PreCommand/{{{duis.SR}}}GBCSPayload")
        precommand = base64.b64decode(node.text)
        key = signers["gbcs"].ds_private_key(SUPPLIER)
        if alteration == "other-selector":
            precommand = precommand[:-1] + bytes([precommand[-1] ^ 0x01])
        if alteration == "signed-by-dno-key":
            key = signers["gbcs"].ds_private_key(NETWORK_OPERATOR)
        request = duis.parse_request(duis.parse(body))
        root = duis.build_signed_precommand_request(request, gbcs_sign(precommand, key))
        second = duis.to_bytes(xmlsig.sign(root, signers["supplier"]))
        for _ in range(len(expected) - 1):
            codes.append(answer_code(await dsp_.handle("serviceS", second), schema, trusted))
        await dsp_.drain()
        return codes, premises.received

    codes, received = asyncio.run(go())
    assert codes == expected
    assert len(received) == expected.count("I99")


def test_error_answer_names_the_request_when_readable(signers, schema, trusted, dsp):
    body = signed_as(T["ECS47Activate_7.5"], NETWORK_OPERATOR, signers["dno"])

    async def answer():
        fresh, _ = build_dsp(schema, trusted, dsp)
        return await fresh.handle("serviceT", body)

    root = duis.parse(asyncio.run(answer()))
    header = root.find(f"{{{duis.SR}}}Header")
    assert header.findtext(f"{{{duis.SR}}}RequestID").startswith("90-B3-D5-1F-30-02-00-00:")
    assert header.find(f"{{{duis.SR}}}ResponseID") is None  # none on errors, as DCC Boxed
    assert root.findtext(f".//{{{duis.SR}}}ServiceReferenceVariant") == "7.5"
    assert etree.QName(root[-1]).localname == "Signature"
