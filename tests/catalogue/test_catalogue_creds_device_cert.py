"""6.15.2 Update Security Credentials (Device) as a DCC Boxed user sends it: the template's
certificate is RTDS's meter's, for a key pair no one holds, so the run keeps the PKCS #10
request the meter's own 6.17 answer carried (CS02c: a new key pair), has the SMKI service
issue the certificate for it (emulator/smki/issuing.py, lodged In Use) and places that one
(catalogue.Carried). The meter takes it and signs with the new key from then on; the user's
DeviceVerifier fetches the device's certificates again at the 6.15.2 answer, so later
answers verify with the new certificate from the SMKI (and not with the old). A certificate
for another key is still refused wrong_public_key. The SMKI refuses requests that are not a
device's own (refusal cases by name). Templates by name, through the DSP `gbhan dsp serve`
runs, over HTTP."""

from __future__ import annotations

import contextlib
import datetime as dt
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from catalogue_helpers import catalogue_session
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from emulator.backoffice import catalogue, nodered, user_values
from emulator.backoffice.assembly import DEFAULT_GBCS_DATE
from emulator.clock import Clock
from emulator.devices.credentials import request_builder
from emulator.smki import Repository, SmkiError, SmkiService
from emulator.smki import client as smki_client
from emulator.smki.records import IN_USE
from emulator.smki.service import DEVICE_CSR_PATH, answer_device_csr
from emulator.smki.testpki import DCA_EUI
from gbcs import decode
from gbcs.asn1 import encode_tree
from gbcs.keystore import Keystore
from gbcs.security import VERIFIED, check_message

ESME = bytes.fromhex("00DB1234567890A0")
BY_NAME = {t.name: t for t in catalogue.load_catalogue()}
ISSUE = "CS02c_6.17_SUCCESS_REQUEST_DUIS.XML"
UPDATE = "CS02d_6.15.2_SUCCESS_REQUEST_DUIS.XML"
PROVIDE = "CS02e_6.24.2_SUCCESS_REQUEST_DUIS.XML"  # 6.24.2: the meter's DS certificate
LATER = "ECS30a_6.8_SUCCESS_REQUEST_DUIS.XML"  # critical: its answer is signed
READ = "ECS17b_4.1.1_SINGLE_SUCCESS_REQUEST_DUIS.XML"  # a read: its answer is MAC'd


def _point(key) -> bytes:
    return key.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)


@contextlib.asynccontextmanager
async def session(state_dir, carried_smki: bool = True):
    """The catalogue's users against an in-process DSP: (runner, served), its Carried asking
    the run's SMKI service (or none)."""
    async with catalogue_session(state_dir, carried_smki) as (runner, served, _users):
        yield runner, served


def run_in_order(tmp_path, names, carried_smki: bool = True):
    """The named templates through one DSP in this order: (results, the meter's In Use DS
    certificates in the SMKI before, and after)."""

    async def go():
        async with session(tmp_path, carried_smki) as (runner, served):
            before = _in_use(served)
            results = await runner.run([BY_NAME[n] for n in names])
            return results, before, _in_use(served)

    return Clock("wall").run(go)


def _in_use(served) -> list[x509.Certificate]:
    return [x509.load_der_x509_certificate(der)
            for found, der in smki_client.in_use_certificates(served.smki_url, ESME)
            if found.usage == "DS"]  # fmt: skip


def test_the_run_sends_6_15_2_right_after_6_17():
    """The run's order puts the two together, and 6.24.2 and the ESME's reads after them."""
    names = [t.name for t in catalogue.run_order(list(BY_NAME.values()))]
    assert names.index(UPDATE) == names.index(ISSUE) + 1
    assert names.index(PROVIDE) > names.index(UPDATE)
    assert names.index(LATER) > names.index(UPDATE)
    assert names.index(READ) > names.index(UPDATE)


def test_the_issued_certificate_is_placed_taken_and_later_answers_verify_with_it(tmp_path):
    names = [ISSUE, UPDATE, PROVIDE, LATER, READ]
    results, before, after = run_in_order(tmp_path, names)
    by_name = {r.file: r for r in results}
    assert [catalogue.expectation(by_name[n]).split(">I0 ")[-1] for n in names] == [
        "success"
    ] * 5, [r.detail for r in results]
    assert all(r.verified for r in results)
    # the request the meter's 6.17 answer carried, and the certificate the SMKI issued for it
    request = x509.load_der_x509_csr(user_values.certification_request(by_name[ISSUE].response))
    provided = decode(by_name[PROVIDE].response)
    certificate = x509.load_der_x509_certificate(encode_tree(provided.payload.tree))
    assert _point(certificate.public_key()) == _point(request.public_key())
    serial = f"{certificate.serial_number:X}"
    assert by_name[UPDATE].detail == (
        f"DeviceCertificate (serial 30398236744D9DA0E57F8D74AE041FCD) -> serial {serial}, "
        "issued by the SMKI for the request in this run's 6.17 answer"
    )
    # lodged In Use, issued by the test PKI's Device CA
    assert certificate not in before and certificate in after
    assert certificate.issuer.rfc4514_string() == "OU=07,CN=gbhan test DCA"
    # the meter now signs with the new key: the old certificates alone do not verify its
    # later answers, the new one from the SMKI does
    assert before and all(_verifies(by_name[ISSUE], c) for c in before)  # the old key's
    for name in (UPDATE, PROVIDE, LATER):
        assert not any(_verifies(by_name[name], c) for c in before)
        assert _verifies(by_name[name], certificate)


def _verifies(result: catalogue.Result, certificate: x509.Certificate) -> bool:
    """Whether the signature of `result`'s device response verifies with `certificate`
    alone."""
    keys = Keystore(DEFAULT_GBCS_DATE)
    keys.add_certificate(certificate, "SMKI (test)")
    return check_message(decode(result.response), keys).signature.status == VERIFIED


def test_the_template_as_it_is_is_still_wrong_public_key(tmp_path):
    """Without an SMKI to ask, the template goes as it is: RTDS's certificate, for a key the
    meter did not make, refused; the meter keeps signing with its old key."""
    results, before, after = run_in_order(tmp_path, [ISSUE, UPDATE, PROVIDE], carried_smki=False)
    by_name = {r.file: r for r in results}
    assert catalogue.expectation(by_name[UPDATE]) == "I0>I99>I0 error:wrong_public_key"
    assert by_name[UPDATE].detail == (
        "DeviceCertificate as the template has it: the SMKI issued none (no SMKI service to ask)"
    )
    assert after == before
    assert any(_verifies(by_name[PROVIDE], c) for c in before)


def test_a_certificate_the_smki_issued_for_another_key_is_wrong_public_key(tmp_path):
    """A certificate the SMKI really issued for the meter, but for a key pair the meter did
    not make (a request signed by another key naming the meter): wrong_public_key."""

    def swap(runner, served):
        other = ec.generate_private_key(ec.SECP256R1())
        serial, der = smki_client.request_device_certificate(
            served.smki_url, _request(other, ESME).public_bytes(Encoding.DER)
        )
        key = (catalogue.CATALOGUE_USERS[BY_NAME[UPDATE].role][0], ESME)
        runner.carried.device_certificates[key] = (serial, der)
        return serial

    async def go():
        async with session(tmp_path) as (runner, served):
            first = await runner.run_one(BY_NAME[ISSUE], 0)
            serial = swap(runner, served)
            return [first, await runner.run_one(BY_NAME[UPDATE], 1)], serial

    results, serial = Clock("wall").run(go)
    assert catalogue.expectation(results[1]) == "I0>I99>I0 error:wrong_public_key"
    assert f"-> serial {serial}," in results[1].detail


def test_the_node_red_run_places_the_issued_certificate_too(tmp_path):
    """Sent as the DCC's Node-RED node sends them (a per-document signer program standing in
    for the DCC's tool): the same certificate carried, the same answers, verified."""
    script = Path(__file__).with_name("dspstate_sign_helpers.py")
    signer = nodered.CommandSigner([sys.executable, str(script)])
    clock = Clock("wall")
    names = [ISSUE, UPDATE, LATER]
    results = clock.run(lambda: nodered.run_catalogue_signed(
        [BY_NAME[n] for n in names], signer, state_dir=tmp_path, clock=clock))  # fmt: skip
    by_name = {r.file: r for r in results}
    assert [catalogue.expectation(by_name[n]) for n in names] == ["I0>I99>I0 success"] * 3
    assert all(by_name[n].verified for n in names)
    assert "issued by the SMKI for the request in this run's 6.17 answer" in by_name[UPDATE].detail


# --- the SMKI's issuing, on its own ---------------------------------------------------------

NOW = dt.datetime(2025, 6, 1, tzinfo=dt.UTC)


def _request(key, eui: bytes, *, usages=("DS",), name: bool = True, signer=None):
    """A device's certificate signing request as the meter makes it, or bent as a refusal
    case asks (two usages, no name, signed by another key)."""
    return request_builder(eui, usages, name=name).sign(signer or key, hashes.SHA256())


def _tampered(key) -> bytes:
    """A request whose signature does not cover what it says (its key swapped afterwards)."""
    der = _request(key, ESME).public_bytes(Encoding.DER)
    other = ec.generate_private_key(ec.SECP256R1()).public_key()
    return der.replace(_point(key.public_key()), _point(other))


REFUSED = {
    "not-a-request": (lambda key: b"\x30\x03\x02\x01\x00", "not a PKCS #10 request"),
    "signed-by-another-key": (_tampered, "not signed by the key it names"),
    "two-usages": (
        lambda key: _request(key, ESME, usages=("DS", "KA")).public_bytes(Encoding.DER),
        "one usage, DS or KA",
    ),
    "no-device-named": (
        lambda key: _request(key, ESME, name=False).public_bytes(Encoding.DER),
        "names no device",
    ),
}


@pytest.fixture
def smki(tmp_path):
    repo = Repository(tmp_path / "smki.db")
    service = SmkiService(repo, "127.0.0.1", 0, clock=lambda: NOW).start()
    try:
        yield repo, service
    finally:
        service.stop()
        repo.close()


@pytest.mark.parametrize("usage", ["DS", "KA"])
def test_the_smki_issues_the_device_certificate_and_lodges_it_in_use(smki, usage):
    repo, service = smki
    key = ec.generate_private_key(ec.SECP256R1())
    der = _request(key, ESME, usages=(usage,)).public_bytes(Encoding.DER)
    serial, body = smki_client.request_device_certificate(service.url, der)
    certificate = x509.load_der_x509_certificate(body)
    assert _point(certificate.public_key()) == _point(key.public_key())
    assert certificate.not_valid_before_utc == NOW
    [name] = certificate.extensions.get_extension_for_class(
        x509.SubjectAlternativeName
    ).value.get_values_for_type(x509.OtherName)
    assert name.value.endswith(b"\x04\x08" + ESME)
    usage_ext = certificate.extensions.get_extension_for_class(x509.KeyUsage).value
    assert (usage_ext.digital_signature, usage_ext.key_agreement) == (usage == "DS", usage == "KA")
    found = smki_client.in_use_certificates(service.url, ESME)
    assert [(f.serial, f.status, f.usage, d) for f, d in found] == [(serial, IN_USE, usage, body)]
    # issued by the repository's Device CA, whose certificate the SMKI serves too
    [(_dca, dca_der)] = smki_client.in_use_certificates(service.url, DCA_EUI, device=False)
    dca = x509.load_der_x509_certificate(dca_der)
    certificate.verify_directly_issued_by(dca)


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_the_smki_refuses_a_request_that_is_not_a_device_own(smki, case):
    repo, service = smki
    make, why = REFUSED[case]
    with pytest.raises(SmkiError, match=why):
        smki_client.request_device_certificate(
            service.url, make(ec.generate_private_key(ec.SECP256R1()))
        )
    assert repo.search(ESME, device=True) == []


def test_the_smki_refuses_a_request_that_is_not_base64(smki):
    repo, _service = smki
    body = (b"<?xml version='1.0'?><DeviceCSRRequest><CertificateSigningRequest>***"
            b"</CertificateSigningRequest></DeviceCSRRequest>")  # fmt: skip
    status, answer = answer_device_csr(repo, body, NOW)
    assert status == 401 and b"not base64" in answer
    assert repo.search(ESME, device=True) == []


@pytest.mark.parametrize(
    ("method", "kind", "status", "tag"),
    [("POST", "text/plain", 401, b"<DeviceCSRResponse>"), ("GET", None, 405, b"")],
)
def test_the_csr_service_is_an_xml_post(smki, method, kind, status, tag):
    """Over HTTP: a body that is not XML is refused in the service's own answer; a GET is told
    to POST."""
    _repo, service = smki
    headers = {} if kind is None else {"Content-Type": kind}
    body = None if method == "GET" else b"<DeviceCSRRequest/>"
    request = urllib.request.Request(service.url + DEVICE_CSR_PATH, data=body, method=method,
                                     headers=headers)  # fmt: skip
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert refused.value.code == status
    assert tag in refused.value.read()
    if method == "GET":
        assert refused.value.headers["Allow"] == "POST"


def test_the_cli_table_says_which_certificate_it_placed():
    """`gbhan dsp catalogue --only` the two templates, as a user runs it: both success, and
    the table names the certificate taken out and the one the SMKI issued."""
    root = Path(__file__).resolve().parents[2]
    run = subprocess.run(
        [sys.executable, "-m", "tools.dsp_cmd", "dsp", "catalogue", "--only", "CS02c_6.17",
         "--only", "CS02d_6.15.2", "--quiet"],
        cwd=root, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    [line] = [row for row in run.stdout.splitlines() if row.startswith("6.15.2")]
    assert line.split()[1:5] == ["answered", "I0>I99>I0", "yes", "success"]
    assert "(DeviceCertificate (serial 30398236744D9DA0E57F8D74AE041FCD) -> serial " in line
    assert line.endswith(", issued by the SMKI for the request in this run's 6.17 answer)")
