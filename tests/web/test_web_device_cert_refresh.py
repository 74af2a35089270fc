"""The console's verifier learns a meter's new certificate (#18): after a 6.15.2 success the
meter signs with the key pair it made for 6.17, whose certificate gbhan's SMKI issued; the
console fetches the meter's certificates from the SMKI again and judges each answer with
the ones the meter held when it gave it. Against `gbhan dsp serve` as a user runs it (the
launcher, the real SMKI service over HTTP, the real meter), then the same documents through
a log of this process, where the old answer delivered again after the replacement fails;
and a verifier whose cached certificates fail an answer asks the SMKI again, once."""

from __future__ import annotations

import base64
import re

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from web_helpers import ESME, SUPPLIER, serve, stop

from emulator import data
from emulator.backoffice import duis, user_values, xmlsig
from emulator.backoffice.assembly import DEFAULT_GBCS_DATE
from emulator.smki import Repository, SmkiService
from emulator.smki import client as smki_client
from emulator.smki.records import DEVICE, IN_USE, Record, epoch
from emulator.web.launcher import fields_of
from emulator.web.records import DuisLog, Verifier
from gbcs import decode
from gbcs.keystore import Keystore
from gbcs.message import encode_apdu
from gbcs.security import sign

ISSUE = "CS02c_6.17_SUCCESS_REQUEST_DUIS.XML"
UPDATE = "CS02d_6.15.2_SUCCESS_REQUEST_DUIS.XML"
LATER = "ECS30a_6.8_SUCCESS_REQUEST_DUIS.XML"  # critical: its answer is signed
GBCS_DATE = DEFAULT_GBCS_DATE  # gbhan dsp serve's, the SMKI's issuing time
METER = bytes.fromhex(ESME.replace("-", ""))


def _certificate_field() -> str:
    root = duis.parse((data.duis_catalogue() / UPDATE).read_bytes())
    fields = fields_of(duis.parse_request(root).body)
    [path] = [f["path"] for f in fields if f["label"].endswith("/DeviceCertificate")]
    return path


def _gbcs(details: dict) -> dict:
    [document] = details["documents"]
    [payload] = document["gbcs"]
    return payload


def _signature(payload: dict) -> str:
    return {c["check"]: c["status"] for c in payload["checks"]}["signature"]


@pytest.fixture(scope="module")
def replaced(tmp_path_factory):
    """6.17, the SMKI's certificate for the meter's request placed by 6.15.2, then 6.8, all
    through the console's launcher as the Supplier: the running service, the log entries
    (request ID -> entries), and the SMKI's URL and the issued certificate."""
    served = serve(tmp_path_factory.mktemp("dsp-state"))
    try:
        smki_url = next(m.group(1) for line in served.output
                        if (m := re.search(r"SMKI on (http://[0-9.:]+)/services/", line)))  # fmt: skip
        sent = {}
        status, sent[ISSUE] = served.send("POST", "web/api/send",
                                          {"template": ISSUE, "user": SUPPLIER})  # fmt: skip
        assert status == 200 and sent[ISSUE]["error"] is None, sent
        entries = {ISSUE: served.log_for(sent[ISSUE]["request_id"], "response")}
        answer = next(e for e in entries[ISSUE] if e["direction"] == "response")
        raw = bytes.fromhex(_gbcs(served.get(f"web/api/log/{answer['seq']}"))["hex"])
        request = user_values.certification_request(raw)
        assert request is not None
        serial, der = smki_client.request_device_certificate(smki_url, request)
        fields = {_certificate_field(): base64.b64encode(der).decode()}
        for name, body in ((UPDATE, {"fields": fields}), (LATER, {})):
            status, sent[name] = served.send("POST", "web/api/send",
                                             {"template": name, "user": SUPPLIER} | body)  # fmt: skip
            assert status == 200 and sent[name]["error"] is None, sent[name]
            entries[name] = served.log_for(sent[name]["request_id"], "response")
        yield served, entries, smki_url, der
    finally:
        stop(served)


def _answer(entries: list[dict]) -> dict:
    return next(e for e in entries if e["direction"] == "response")


def test_every_answer_verifies_with_the_certificate_the_meter_held_then(replaced):
    """The console fetched the meter's certificates when the fixture opened the 6.17 answer,
    before the SMKI issued the new one; opened after the 6.15.2, out of order, the 6.8 and
    6.15.2 answers verify with the new certificate (fetched again), the 6.17 answer still
    with the old one."""
    served, entries, _smki, _der = replaced
    update = _gbcs(served.get(f"web/api/log/{_answer(entries[UPDATE])['seq']}"))
    assert "CS02d" in (update["use_case"] or "")
    for name in (LATER, ISSUE, UPDATE):
        payload = _gbcs(served.get(f"web/api/log/{_answer(entries[name])['seq']}"))
        assert payload["originator"] == ESME
        assert _signature(payload) == "verified", (name, payload["checks"])


def _verifier(smki_url: str, asked: list[bytes] | None = None) -> Verifier:
    """The console's verifier as make_console builds it, fetching from `smki_url` over HTTP
    (each device asked for kept in `asked`)."""

    def users() -> Keystore:
        keys = Keystore.open(data.rtds_keystore(), clock=GBCS_DATE)
        return keys.load(data.dccboxed_keystore())

    def fetch(eui: bytes) -> list[bytes]:
        if asked is not None:
            asked.append(eui)
        return [der for _found, der in smki_client.in_use_certificates(smki_url, eui)]

    return Verifier(users(), fetch, users=users)


def _log(verifier: Verifier) -> DuisLog:
    schema = duis.load_schema(str(data.duis_schema()))
    trusted = xmlsig.TrustedCertificates.from_keystore(Keystore.open(data.dccboxed_keystore()))
    return DuisLog(schema, trusted, verifier, lambda _eui: "")


def _documents(served, entries: list[dict]) -> list[tuple[dict, bytes]]:
    """(summary, XML) of each entry, as the console shows it."""
    return [(e, served.get(f"web/api/log/{e['seq']}")["documents"][0]["xml"].encode())
            for e in entries]  # fmt: skip


def _replay(log: DuisLog, served, entries: dict) -> dict[str, int]:
    """Each exchange's requests and answer into `log`, in order: name -> the answer's seq."""
    seqs = {}
    supplier = bytes.fromhex(SUPPLIER.replace("-", ""))
    for name in (ISSUE, UPDATE, LATER):
        for entry, xml in _documents(served, sorted(entries[name], key=lambda e: e["seq"])):
            if entry["direction"] == "request":
                log.request(entry["endpoint"], xml, None, None)
            else:
                seqs[name] = log.delivered(supplier, duis.DocumentKind.RESPONSE, xml).seq
    return seqs


def test_the_old_key_answer_delivered_after_the_replacement_fails(replaced):
    """The same documents through a log of this process: each verifies where it was given;
    the 6.17 answer — signed with the old key — delivered again after the 6.15.2 does not,
    though the SMKI still lists the old certificate In Use."""
    served, entries, smki_url, der = replaced
    listed = [d for _f, d in smki_client.in_use_certificates(smki_url, METER)]
    assert der in listed and len(listed) >= 2
    log = _log(_verifier(smki_url))
    seqs = _replay(log, served, entries)
    for name, seq in seqs.items():
        assert _signature(_gbcs(log.details(seq))) == "verified", name
    _entry, old_answer = _documents(served, [_answer(entries[ISSUE])])[0]
    again = log.delivered(bytes.fromhex(SUPPLIER.replace("-", "")), duis.DocumentKind.RESPONSE,
                          old_answer).seq  # fmt: skip
    assert _signature(_gbcs(log.details(again))) == "failed"


def test_without_the_6_15_2_the_old_certificate_still_counts(replaced):
    """A log that never saw the 6.15.2 has no replacement to go by: both of the SMKI's
    certificates count, so the old answer still verifies (what the 6.15.2 success changes)."""
    served, entries, smki_url, _der = replaced
    log = _log(_verifier(smki_url))
    supplier = bytes.fromhex(SUPPLIER.replace("-", ""))
    [(_e, later)] = _documents(served, [_answer(entries[LATER])])
    [(_e, old)] = _documents(served, [_answer(entries[ISSUE])])
    seqs = [log.delivered(supplier, duis.DocumentKind.RESPONSE, x).seq for x in (later, old)]
    assert [_signature(_gbcs(log.details(s))) for s in seqs] == ["verified", "verified"]


def _with_status(xml: bytes, status: int) -> bytes:
    """The 6.15.2 answer with its CS02d status changed (signed by a key no one knows: the log
    reads the status, the verifier judges the signature)."""
    root = duis.parse(xml)
    node = root.find(f".//{{{duis.SR}}}GBCSPayload")
    assert node is not None and node.text
    message = decode(base64.b64decode(node.text))
    stranger = ec.generate_private_key(ec.SECP256R1())
    signed = sign(encode_apdu(message.header, bytes([0x02, 0x01, status]), None), stranger)
    node.text = base64.b64encode(signed).decode()
    return duis.to_bytes(root)


def test_a_6_15_2_the_meter_refused_replaces_nothing(replaced):
    """The same 6.15.2 answered wrong_public_key (5): the log keeps going by the old
    certificate, so the old answer delivered after it still verifies."""
    served, entries, smki_url, _der = replaced
    log = _log(_verifier(smki_url))
    supplier = bytes.fromhex(SUPPLIER.replace("-", ""))
    for entry, xml in _documents(served, sorted(entries[UPDATE], key=lambda e: e["seq"])):
        if entry["direction"] == "request":
            log.request(entry["endpoint"], xml, None, None)
        else:
            refused = _with_status(xml, 5)
            assert decode(_payload(refused)).payload.tree["value"] == b"\x05"
            log.delivered(supplier, duis.DocumentKind.RESPONSE, refused)
    [(_e, old)] = _documents(served, [_answer(entries[ISSUE])])
    again = log.delivered(supplier, duis.DocumentKind.RESPONSE, old).seq
    assert _signature(_gbcs(log.details(again))) == "verified"


@pytest.fixture
def own_smki(tmp_path):
    repo = Repository(tmp_path / "smki.db")
    service = SmkiService(repo, "127.0.0.1", 0, clock=lambda: GBCS_DATE).start()
    try:
        yield repo, service
    finally:
        service.stop()
        repo.close()


def _lodge(repo: Repository, der: bytes) -> None:
    certificate = x509.load_der_x509_certificate(der)
    usage = certificate.extensions.get_extension_for_class(x509.KeyUsage).value
    record = Record(
        serial=certificate.serial_number, kind=DEVICE, eui=METER, role=None,
        usage="DS" if usage.digital_signature else "KA", status=IN_USE, manufacturing=False,
        body=der, party=None, network_party=None,
    )  # fmt: skip
    repo.add(record, max(epoch(GBCS_DATE), repo.last_change_at() or 0), source="test")


def _payload(xml: bytes) -> bytes:
    return base64.b64decode(duis.parse(xml).findtext(f".//{{{duis.SR}}}GBCSPayload") or "")


def _tampered(raw: bytes) -> bytes:
    """The answer with the last byte of its signature changed."""
    return raw[:-1] + bytes([raw[-1] ^ 0x01])


def test_an_answer_failing_with_cached_certificates_asks_the_smki_again_once(replaced, own_smki):
    """The verifier fetched the meter's certificates when only the old one was lodged; the
    new one lodged later, an answer signed with the new key fails with the cached one, so it
    asks the SMKI again and verifies; a bad answer asks once more, then no more."""
    served, entries, smki_url, der = replaced
    repo, service = own_smki
    for certificate in smki_client.in_use_certificates(smki_url, METER):
        if certificate[1] != der and certificate[0].usage == "DS":
            _lodge(repo, certificate[1])
    asked: list[bytes] = []
    verifier = _verifier(service.url, asked)
    [(_e, old_answer)] = _documents(served, [_answer(entries[ISSUE])])
    [(_e, later)] = _documents(served, [_answer(entries[LATER])])

    def judge(raw: bytes) -> str:
        return _signature(verifier.judge(raw))

    assert judge(_payload(old_answer)) == "verified"
    assert asked.count(METER) == 1
    _lodge(repo, der)  # issued after the verifier's fetch
    assert judge(_payload(later)) == "verified"
    assert asked.count(METER) == 2
    bad = _tampered(_payload(later))
    assert judge(bad) == "failed"
    assert asked.count(METER) == 3  # the SMKI asked once more: nothing new
    assert judge(bad) == "failed"
    assert asked.count(METER) == 3  # and not again
