"""Local delivery (DUIS command variants 2, 3, 6, 7): the DSP returns the command, MAC'd by
the ACB as it would leave over the WAN, in the response's `LocalCommand`, for the user to
deliver at the premises; 2 and 6 only that (I0, nothing reaches the premises), 3 and 7 also
send it (I99 with the `LocalCommand`, the very bytes routed, then the device's answer).
Variants 6 and 7 return a pre-command the user signed after a variant 4, as 5 does. Each is a
request like any other: its id is spent (E42 again), and a critical SRV sent unsigned as 2
or 3 is refused E12."""

from __future__ import annotations

import asyncio
import base64

import pytest
from backoffice_helpers import DCCBOXED, DUIS, NETWORK_OPERATOR, SUPPLIER
from dsp_helpers import GBCS_DATE, RTDS_KEYSTORE, build_dsp, signed_as

from emulator.backoffice import document, duis, xmlsig
from gbcs import decode
from gbcs.keystore import Keystore
from gbcs.security import check_message
from gbcs.security import sign as gbcs_sign

T_7_7 = DUIS / "ECS61a_7.7_ALL_OPTIONALS_SUCCESS_REQUEST_DUIS.XML"
T_7_6 = DUIS / "ECS47Deactivate_7.6_SUCCESS_REQUEST_DUIS.XML"
ESME = bytes.fromhex("00DB1234567890A0")


def with_variant(body: bytes, variant: int, signer) -> bytes:
    root = duis.parse(body)
    root.find(f"{{{duis.SR}}}Header/{{{duis.SR}}}CommandVariant").text = str(variant)
    return duis.to_bytes(xmlsig.sign(root, signer))


def answer(data: bytes, schema, trusted) -> tuple[str, bytes | None]:
    """(code, the LocalCommand's GBCS bytes or None), the answer checked as a user does."""
    root = document.check(data, schema, trusted, require_signature=True).root
    local = root.findtext(f".//{{{duis.SR}}}LocalCommand/{{{duis.SR}}}GBCSPayload")
    return duis.response_code_of(root), None if local is None else base64.b64decode(local)


def rtds_keys() -> Keystore:
    return Keystore.open(RTDS_KEYSTORE, check_validity=False)


def run(schema, trusted, dsp_signer, steps):
    async def go():
        dsp, premises = build_dsp(schema, trusted, dsp_signer)
        answers = [answer(await dsp.handle(ep, body), schema, trusted) for ep, body in steps]
        await dsp.drain()
        return answers, premises.received, dsp

    return asyncio.run(go())


@pytest.mark.parametrize(
    "variant, endpoint, code, routed", [(2, "serviceD", "I0", False), (3, "serviceS", "I99", True)]
)
def test_a_non_critical_command_returned_for_local_delivery(
    variant, endpoint, code, routed, schema, trusted, supplier, dsp
):
    body = with_variant(signed_as(T_7_7, SUPPLIER, supplier, counter=9500), variant, supplier)
    answers, received, dsp_ = run(schema, trusted, dsp, [(endpoint, body), (endpoint, body)])
    (first, local), (again, _) = answers
    assert (first, again) == (code, "E42")
    message = decode(local)
    assert bytes(message.target) == ESME and message.use_case.name == "ECS61a"
    assert check_message(message, rtds_keys()).outcome == "verified"  # the ACB's MAC
    assert received == ([local] if routed else [])
    finals = [answer(d.document, schema, trusted)[0] for d in dsp_.delivered]
    assert finals == (["I0"] if routed else [])


@pytest.mark.parametrize(
    "variant, endpoint, code, routed", [(6, "serviceD", "I0", False), (7, "serviceS", "I99", True)]
)
def test_a_signed_precommand_returned_for_local_delivery(
    variant, endpoint, code, routed, schema, trusted, dno, dsp
):
    keys = Keystore.open(DCCBOXED, clock=GBCS_DATE)
    request = signed_as(T_7_6, NETWORK_OPERATOR, dno, counter=9600)

    async def go():
        dsp_, premises = build_dsp(schema, trusted, dsp)
        issued = document.check(await dsp_.handle("serviceT", request), schema, trusted).root
        precommand = base64.b64decode(
            issued.findtext(f".//{{{duis.SR}}}PreCommand/{{{duis.SR}}}GBCSPayload")
        )
        signed = gbcs_sign(precommand, keys.ds_private_key(NETWORK_OPERATOR))
        back = duis.build_signed_precommand_request(duis.parse_request(duis.parse(request)), signed)
        back.find(f"{{{duis.SR}}}Header/{{{duis.SR}}}CommandVariant").text = str(variant)
        body = duis.to_bytes(xmlsig.sign(back, dno))
        answers = [answer(await dsp_.handle(endpoint, body), schema, trusted)]
        answers.append(answer(await dsp_.handle(endpoint, body), schema, trusted))
        await dsp_.drain()
        return signed, answers, premises.received

    signed, ((first, local), (again, _)), received = asyncio.run(go())
    assert first == code and again == "E42"
    message = decode(local)
    assert message.signature and check_message(message, rtds_keys()).outcome == "verified"
    assert signed in local  # the user's signed pre-command, wrapped and MAC'd by the ACB
    assert received == ([local] if routed else [])


def test_a_critical_srv_unsigned_for_local_delivery_is_refused(schema, trusted, dno, dsp):
    body = with_variant(signed_as(T_7_6, NETWORK_OPERATOR, dno, counter=9700), 2, dno)
    answers, received, _dsp = run(schema, trusted, dsp, [("serviceD", body)])
    assert answers == [("E12", None)] and received == []


@pytest.mark.parametrize(
    "variant, endpoint", [(2, "serviceS"), (3, "serviceD"), (1, "serviceD"), (8, "serviceS")]
)
def test_a_variant_on_another_web_service_is_refused(
    variant, endpoint, schema, trusted, supplier, dsp
):
    """DUIS names one web service per command variant (the DCC's duis-parser table too):
    Non-Device for 2, 6 and 8, Send Command for 1, 3, 5 and 7; elsewhere E13, nothing sent."""
    body = with_variant(signed_as(T_7_7, SUPPLIER, supplier, counter=9800), variant, supplier)
    answers, received, _dsp = run(schema, trusted, dsp, [(endpoint, body)])
    assert answers == [("E13", None)] and received == []
