"""The files the SMKI service serves beside search and retrieve (emulator/smki/bundles.py).

`org-crypto.zip` fetched over HTTP as the DCC's keystore build script fetches it (a HEAD that
must say application/zip with a length, then a GET of exactly that length) and read as it
reads it: every `.pem` in a folder whose path holds `cert`, its key at `/key/…key`, the key
matching the certificate; the bundle holds every named key pair of the DCC Boxed keystore
and is the same bytes each time. `gbhan dsp serve` serves it on its SMKI port.

The Organisation ARL and CRL: named with the service's date, gzipped DER CRLs signed by the
repository's test root; the CRL lists a revoked organisation certificate and no device, the
ARL a revoked CA certificate; `/revocation/` lists both names; anything else 404.
"""

from __future__ import annotations

import base64
import datetime as dt
import gzip
import io
import json
import posixpath
import shutil
import urllib.error
import urllib.request
import zipfile

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from smki_helpers import DCCBOXED, RTDS_KEYS, START

from emulator.smki.bundles import org_crypto_zip, revocation_list
from emulator.smki.population import load_test_pki
from emulator.smki.records import DCA, DEVICE, ORGANISATION, REVOKED
from emulator.smki.service import SmkiService
from emulator.smki.sources import load_keystores
from emulator.smki.store import Repository

AT = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)


def fetch(url: str, method: str = "GET") -> tuple[int, dict, bytes]:
    request = urllib.request.Request(url, method=method, headers={"Accept-Encoding": "identity"})
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:
            return reply.status, dict(reply.headers), reply.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


@pytest.fixture(scope="module")
def revoked_repo(tmp_path_factory):
    """A repository with one organisation certificate, one device certificate and the test
    DCA revoked."""
    repo = Repository(tmp_path_factory.mktemp("bundles") / "repository.db")
    load_keystores(repo, [RTDS_KEYS, DCCBOXED], START)
    load_test_pki(repo, START)
    revoked = {kind: repo.serials(kind=kind)[0] for kind in (ORGANISATION, DEVICE, DCA)}
    repo.set_statuses(list(revoked.values()), REVOKED, int(AT.timestamp()) - 3600)
    yield repo, revoked
    repo.close()


@pytest.fixture(scope="module")
def bundle_service(revoked_repo):
    repo, _revoked = revoked_repo
    running = SmkiService(repo, "127.0.0.1", 0, clock=lambda: AT,
                          org_crypto=org_crypto_zip(DCCBOXED)).start()  # fmt: skip
    yield running
    running.stop()


def test_org_crypto_zip_as_the_keystore_build_script_reads_it(bundle_service):
    url = bundle_service.url + "/assets/crypto/org-crypto.zip"
    status, headers, body = fetch(url, "HEAD")
    assert status == 200 and body == b""
    assert headers["Content-Type"].split(";")[0] == "application/zip"
    length = int(headers["Content-Length"])
    assert length > 0
    status, _headers, body = fetch(url)
    assert status == 200 and len(body) == length
    bundle = zipfile.ZipFile(io.BytesIO(body))
    names = set()
    for entry in bundle.infolist():
        path = entry.filename
        if entry.is_dir() or not path.endswith(".pem") or "cert" not in posixpath.dirname(path):
            continue
        key_path = path.replace("/cert/", "/key/")[: -len(".pem")] + ".key"
        key = serialization.load_pem_private_key(bundle.read(key_path), None)
        point = key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        # the certificate carries the key's public point (DCC Boxed's MDR certificates have
        # a signature algorithm field cryptography refuses to parse, so look in the DER)
        assert point in pem_der(bundle.read(path)), path
        names.add(posixpath.basename(path)[: -len(".pem")])
    keystore = json.loads(DCCBOXED.read_text())
    expected = {e["name"] for usages in keystore.values() for by_serial in usages.values()
                for e in by_serial.values() if e.get("privateKey")}  # fmt: skip
    assert names == expected
    assert {"Z1-supplier-ds", "Z1-networkOperator-ka", "otherUser-ds"} <= names


def pem_der(pem: bytes) -> bytes:
    lines = pem.decode().strip().splitlines()
    assert lines[0] == "-----BEGIN CERTIFICATE-----" and lines[-1] == "-----END CERTIFICATE-----"
    return base64.b64decode("".join(lines[1:-1]))


def test_org_crypto_zip_is_the_same_bytes_each_time(tmp_path):
    copy = tmp_path / "keystore.json"
    shutil.copy(DCCBOXED, copy)
    assert org_crypto_zip(DCCBOXED) == org_crypto_zip(copy)


def test_no_bundle_no_file(service):
    assert fetch(service.url + "/assets/crypto/org-crypto.zip")[0] == 404
    assert fetch(service.url + "/services/certificatesearch")[0] == 405


def read_crl(body: bytes) -> x509.CertificateRevocationList:
    return x509.load_der_x509_crl(gzip.decompress(body))


def test_the_revocation_lists(bundle_service, revoked_repo):
    repo, revoked = revoked_repo
    root = load_test_pki(repo, AT).root_cert
    status, headers, listing = fetch(bundle_service.url + "/revocation/")
    assert status == 200
    names = listing.decode().split()
    assert names == ["SMKIKR_ARL_2026-12-01.crl.gz", "SMKIKR_CRL_2026-12-01.crl.gz"]
    lists = {}
    for name in names:
        status, headers, body = fetch(bundle_service.url + "/revocation/" + name)
        assert status == 200 and headers["Content-Type"] == "application/gzip"
        crl = read_crl(body)
        assert crl.issuer == root.subject and crl.is_signature_valid(root.public_key())
        assert crl.last_update_utc == AT
        lists[name[7:10]] = {format(r.serial_number, "X") for r in crl}
    assert lists["CRL"] == {revoked[ORGANISATION]}  # the device is on neither
    assert lists["ARL"] == {revoked[DCA]}
    assert fetch(bundle_service.url + "/revocation/SMKIKR_CRL_2020-01-01.crl.gz")[0] == 404
    assert fetch(bundle_service.url + "/revocation/" + names[0], "HEAD")[2] == b""


def test_an_empty_crl_is_still_a_signed_list(repo):
    name, body = revocation_list(repo, "CRL", AT)
    assert name == "SMKIKR_CRL_2026-12-01.crl.gz" and len(read_crl(body)) == 0
    with pytest.raises(Exception, match="ARL or CRL"):
        revocation_list(repo, "XRL", AT)
