"""A client of the SMKI web service (gbhan's or DCC Boxed's): search a device's or an
organisation's certificates, retrieve their bodies, and write them as a PEM keystore folder
that `gbcs.Keystore` and `gbhan gbcs verify --keystore` read.

This is how a DCC user gets a device's certificate to check the device's signature: nothing
is taken from gbhan's own files, only from what the service answers.
"""

from __future__ import annotations

import base64
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from ..xml_safety import XmlRejected, parse_document
from .errors import SmkiError
from .records import IN_USE, eui_text
from .service import DEVICE_CSR_PATH, RETRIEVE_PATH, SEARCH_PATH
from .xmlrecords import SUBJECT_ALT_NAME, SUBJECT_NAME

MAX_ANSWER_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True)
class Found:
    """One search result: serial (hex text as served), status, usage, role (None: device)."""

    serial: str
    status: str
    usage: str
    role: int | None


def _post(url: str, body: bytes, timeout: float) -> tuple[int, bytes]:
    request = urllib.request.Request(
        url, data=body, method="POST", headers={"Content-Type": "application/xml"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            return answer.status, answer.read(MAX_ANSWER_BYTES + 1)
    except urllib.error.HTTPError as error:
        return error.code, error.read(MAX_ANSWER_BYTES + 1)
    except (urllib.error.URLError, OSError) as error:
        raise SmkiError(f"SMKI service {url}: {error}") from None


def search(base_url: str, eui: bytes, *, device: bool, timeout: float = 10) -> list[Found]:
    """Every certificate the service lists for the EUI (empty on its 402, nothing found)."""
    tag = SUBJECT_ALT_NAME if device else SUBJECT_NAME
    body = (
        f"<?xml version='1.0' encoding='UTF-8'?><CertificateSearchRequest><{tag}>"
        f"{eui_text(eui)}</{tag}></CertificateSearchRequest>"
    ).encode()
    status, answer = _post(base_url.rstrip("/") + SEARCH_PATH, body, timeout)
    if status == 402:
        return []
    root = _answer(status, answer, "CertificateSearchResponse")
    found = []
    for result in root.iter("Result"):
        role = result.findtext("CertificateRole")
        found.append(
            Found(
                serial=result.findtext("CertificateSerial") or "",
                status=result.findtext("CertificateStatus") or "",
                usage=result.findtext("CertificateUsage") or "",
                role=int(role) if role else None,
            )
        )
    return found


def retrieve(base_url: str, serial: str, *, timeout: float = 10) -> bytes:
    """The DER body of the certificate with this serial."""
    body = (
        "<?xml version='1.0' encoding='UTF-8'?><CertificateDataRequest>"
        f"<CertificateSerial>{serial}</CertificateSerial></CertificateDataRequest>"
    ).encode()
    status, answer = _post(base_url.rstrip("/") + RETRIEVE_PATH, body, timeout)
    root = _answer(status, answer, "CertificateDataResponse")
    text = root.findtext("CertificateResponse/CertificateBody")
    if not text:
        raise SmkiError(f"SMKI service: no certificate body for serial {serial}")
    try:
        return base64.b64decode(text, validate=True)
    except ValueError:
        raise SmkiError(f"SMKI service: certificate {serial} is not base64") from None


def request_device_certificate(
    base_url: str, request_der: bytes, *, timeout: float = 10
) -> tuple[str, bytes]:
    """(serial, DER) of the certificate the service issues for a device's PKCS #10 request
    (gbhan's service: service.DEVICE_CSR_PATH); SmkiError when it refuses or has no such
    service."""
    text = base64.b64encode(request_der).decode("ascii")
    body = (
        "<?xml version='1.0' encoding='UTF-8'?><DeviceCSRRequest>"
        f"<CertificateSigningRequest>{text}</CertificateSigningRequest></DeviceCSRRequest>"
    ).encode()
    status, answer = _post(base_url.rstrip("/") + DEVICE_CSR_PATH, body, timeout)
    if status == 404:
        raise SmkiError(f"SMKI service {base_url} issues no device certificates")
    root = _answer(status, answer, "DeviceCSRResponse")
    serial = root.findtext("CertificateResponse/CertificateSerial") or ""
    try:
        der = base64.b64decode(root.findtext("CertificateResponse/CertificateBody") or "",
                               validate=True)  # fmt: skip
    except ValueError:
        raise SmkiError("SMKI service: the issued certificate is not base64") from None
    if not der or not serial:
        raise SmkiError("SMKI service: no certificate in its answer")
    return serial, der


def in_use_certificates(
    base_url: str, eui: bytes, *, device: bool = True, timeout: float = 10
) -> list[tuple[Found, bytes]]:
    """(result, DER) of each in-use certificate of the EUI."""
    return [
        (found, retrieve(base_url, found.serial, timeout=timeout))
        for found in search(base_url, eui, device=device, timeout=timeout)
        if found.status == IN_USE
    ]


def write_pem_folder(
    certificates: list[tuple[Found, bytes]], folder: Path, eui: bytes
) -> list[Path]:
    """One PEM file per certificate, named by EUI, usage and serial; the written paths."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for found, der in certificates:
        path = folder / f"{eui.hex().upper()}-{found.usage}-{found.serial}.pem"
        path.write_bytes(pem(der))
        written.append(path)
    return written


def pem(der: bytes) -> bytes:
    """A DER certificate as a PEM block (what `Keystore.add_pem` and PEM folders take)."""
    text = base64.b64encode(der).decode("ascii")
    lines = "\n".join(text[i : i + 64] for i in range(0, len(text), 64))
    return f"-----BEGIN CERTIFICATE-----\n{lines}\n-----END CERTIFICATE-----\n".encode()


def _answer(status: int, answer: bytes, tag: str):
    if len(answer) > MAX_ANSWER_BYTES:
        raise SmkiError(f"SMKI service: answer over {MAX_ANSWER_BYTES} bytes")
    try:
        root = parse_document(answer, what=tag, max_bytes=MAX_ANSWER_BYTES)
    except XmlRejected as exc:
        raise SmkiError(f"SMKI service: unreadable answer (HTTP {status}): {exc}") from None
    if status != 200 or root.tag != tag:
        message = root.findtext("ResponseMessage") or root.tag
        raise SmkiError(f"SMKI service answered HTTP {status}: {message}")
    return root
