"""Files the SMKI service hands out besides search and retrieve: the organisation key bundle
DCC Boxed publishes, and the SMKI repository's revocation lists.

`org-crypto.zip` is what DCC Boxed serves at `/assets/crypto/org-crypto.zip` and what the
DCC's keystore build script (SmartDCCInnovation/dccboxed-keystore, `npm run build:db`)
downloads: each organisation key pair as `org-crypto/cert/<name>.pem` (the certificate) and
`org-crypto/key/<name>.key` (its private key, PKCS#8 PEM), the script pairing them by
swapping `/cert/` for `/key/` and `.pem` for `.key`. gbhan builds it from the keystore JSON
the DSP signs with, so the pairs are those DCC Boxed's users already hold; entry times are
fixed, so the same keystore gives the same bytes.

The revocation lists are the SMKI repository interface's (SEC Appendix O 2.3.3 (c) and (d)
as MP147 amends it): "the latest Organisation ARL" and "the latest Organisation CRL", each
"a file with extension 'gz'". MP147 fixes no more of the name, so gbhan names them as the
repository's extracts are named: `SMKIKR_ARL_YYYY-MM-DD.crl.gz` and
`SMKIKR_CRL_YYYY-MM-DD.crl.gz`, a gzipped DER X.509 v2 CRL dated the service's day. The ARL
lists the revoked CA certificates (root, OCA, DCA), the CRL the revoked organisation
certificates; devices are never on either. Both are signed by the repository's test root,
which is the issuer they name: the DCC's own Z1 CA keys are not public.
"""

from __future__ import annotations

import datetime as dt
import gzip
import io
import json
import zipfile
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

from .errors import SmkiError
from .population import load_test_pki
from .records import DCA, OCA, ORGANISATION, REVOKED, ROOT
from .store import Repository

ORG_CRYPTO_PATH = "/assets/crypto/org-crypto.zip"
REVOCATION_PREFIX = "/revocation/"
ARL, CRL = "ARL", "CRL"
#: what each list holds
LIST_KINDS = {ARL: (ROOT, OCA, DCA), CRL: (ORGANISATION,)}
_ZIP_TIME = (2020, 1, 1, 0, 0, 0)
_USAGE_SHORT = {"digitalSignature": "ds", "keyAgreement": "ka"}


def org_crypto_zip(keystore_json: Path) -> bytes:
    """The organisation key bundle of a DCC Boxed keystore JSON (every entry with both a
    certificate and a private key; unnamed ones named `<eui>-<ds|ka>-<serial>`)."""
    try:
        entries = json.loads(Path(keystore_json).read_text())
    except (OSError, ValueError) as exc:
        raise SmkiError(f"{keystore_json}: not a keystore JSON: {exc}") from None
    files: dict[str, bytes] = {}
    for eui, usages in sorted(entries.items()):
        for usage, by_serial in sorted(usages.items()):
            for serial, entry in sorted(by_serial.items()):
                certificate, key = entry.get("certificate"), entry.get("privateKey")
                if not certificate or not key:
                    continue
                name = entry.get("name") or f"{eui}-{_USAGE_SHORT.get(usage, usage)}-{serial}"
                if "/" in name or name.startswith("."):
                    raise SmkiError(f"keystore entry name {name!r} is not a file name")
                files[f"org-crypto/cert/{name}.pem"] = certificate.encode()
                files[f"org-crypto/key/{name}.key"] = key.encode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as bundle:
        for folder in ("org-crypto/", "org-crypto/cert/", "org-crypto/key/"):
            bundle.writestr(zipfile.ZipInfo(folder, _ZIP_TIME), b"")
        for path in sorted(files):
            info = zipfile.ZipInfo(path, _ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            bundle.writestr(info, files[path])
    return buffer.getvalue()


def list_name(which: str, at: dt.datetime) -> str:
    if which not in LIST_KINDS:
        raise SmkiError(f"a revocation list is {ARL} or {CRL}, not {which!r}")
    return f"SMKIKR_{which}_{at.astimezone(dt.UTC):%Y-%m-%d}.crl.gz"


def revocation_list(repo: Repository, which: str, at: dt.datetime) -> tuple[str, bytes]:
    """(file name, gzipped DER CRL) of the ARL or CRL as the repository holds it at `at`."""
    name = list_name(which, at)
    pki = load_test_pki(repo, at)
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(pki.root_cert.subject)
        .last_update(at.replace(microsecond=0))
        .next_update((at + dt.timedelta(days=1)).replace(microsecond=0))
    )
    for kind in LIST_KINDS[which]:
        for serial in repo.serials(kind=kind, status=REVOKED):
            record = repo.get(serial)
            if record is None:
                continue
            when = dt.datetime.fromtimestamp(record.changed_at, dt.UTC)
            builder = builder.add_revoked_certificate(
                x509.RevokedCertificateBuilder()
                .serial_number(record.serial)
                .revocation_date(min(when, at))
                .build()
            )
    crl = builder.sign(pki.root_key, hashes.SHA256())
    return name, gzip.compress(crl.public_bytes(serialization.Encoding.DER), mtime=0)
