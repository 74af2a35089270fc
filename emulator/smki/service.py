"""The SMKI repository web service, as DCC Boxed serves it (port 8083), so its clients work.

- `POST /services/certificatesearch` with `<CertificateSearchRequest>` holding
  `<CertificateSubjectAltName>` (a device EUI) or `<CertificateSubjectName>` (an
  organisation EUI) -> `<CertificateSearchResponse>` with one `<Result>` per certificate.
- `POST /services/retrievecertificate` with `<CertificateDataRequest><CertificateSerial>`
  -> `<CertificateDataResponse>` with a `<CertificateResponse>` including the body.
- `POST /services/devicecsr` (gbhan's, in place of the SMKI portal's Device CSR page) with
  `<DeviceCSRRequest><CertificateSigningRequest>` (a device's PKCS #10 request, base64 DER,
  as its 6.17 answer carries it) -> `<DeviceCSRResponse>` with the `<CertificateResponse>`
  of the certificate issued and lodged In Use (issuing.py); 401 for a request it refuses.

Status: a certificate lodged as in use, pending or expired is shown as its validity at the
service's clock makes it (`clock`, pinned with `--at`), so a repository lodged long ago
answers as the real one would today; a status set on purpose (revoked, not in use) stays.

Files (bundles.py), by GET or HEAD: `/assets/crypto/org-crypto.zip`, the organisation key
bundle DCC Boxed publishes (when the service is given one), and under `/revocation/` the
latest Organisation ARL and CRL (`/revocation/` lists their names, which carry the
service's date).

HTTP 402 when nothing matches, 401 for an invalid request (DCC Boxed's codes, which its
clients test for); `application/xml` both ways. Requests are parsed by the hardened parser
(no DTD, no entities, no network, bounded size). A query string (DCC Boxed's `apikey`) is
accepted and ignored.
"""

from __future__ import annotations

import base64
import datetime as dt
import os
import threading
import time
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from cryptography import x509
from lxml import etree

from ..xml_safety import XmlRejected, parse_document
from .bundles import ARL, CRL, ORG_CRYPTO_PATH, REVOCATION_PREFIX, list_name, revocation_list
from .errors import SmkiError
from .issuing import issue_for_request
from .records import (
    EXPIRED,
    IN_USE,
    PENDING,
    Record,
    parse_eui_text,
    parse_serial_text,
    serial_text,
)
from .store import Repository
from .xmlrecords import SUBJECT_ALT_NAME, SUBJECT_NAME, response_element, result_element

SEARCH_PATH = "/services/certificatesearch"
RETRIEVE_PATH = "/services/retrievecertificate"
DEVICE_CSR_PATH = "/services/devicecsr"
MAX_REQUEST_BYTES = 64 * 1024
XML_TYPES = ("application/xml", "text/xml")
DEFAULT_PORT = 8083


class InvalidRequest(SmkiError):
    """A request the service answers with 401."""


def audit_reference() -> str:
    """`<unix time>-<random>`, the shape of DCC Boxed's AuditReference."""
    return f"{int(time.time())}-{os.urandom(5).hex()[:9]}"


def _envelope(tag: str, code: int, message: str):
    root = etree.Element(tag)
    etree.SubElement(root, "ResponseCode").text = str(code)
    etree.SubElement(root, "ResponseMessage").text = message
    etree.SubElement(root, "AuditReference").text = audit_reference()
    return root


def _serialise(root) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


#: statuses that follow the certificate's validity; R and N are set on purpose and stay
_BY_VALIDITY = (PENDING, IN_USE, EXPIRED)
_validity: dict[bytes, tuple[dt.datetime, dt.datetime] | None] = {}


def status_at(record: Record, at: dt.datetime | None) -> str:
    """The record's status as the service shows it at `at` (None: as lodged)."""
    if at is None or record.status not in _BY_VALIDITY:
        return record.status
    if record.body in _validity:
        window = _validity[record.body]
    else:
        try:
            certificate = x509.load_der_x509_certificate(record.body)
            window = (certificate.not_valid_before_utc, certificate.not_valid_after_utc)
        except ValueError:  # DCC Boxed's MDR certificates: cryptography refuses them
            window = None
        if len(_validity) > 100_000:
            _validity.clear()
        _validity[record.body] = window
    if window is None:
        return record.status
    start, end = window
    return PENDING if at < start else EXPIRED if at > end else IN_USE


def _row(record, at: dt.datetime | None = None) -> tuple:
    return (
        serial_text(record.serial),
        record.kind,
        record.eui,
        record.role,
        record.usage,
        status_at(record, at),
        record.manufacturing,
        record.body,
    )


def answer_search(
    repo: Repository, body: bytes, at: dt.datetime | None = None
) -> tuple[int, bytes]:
    """(HTTP status, XML) for a certificate search request."""
    try:
        request = _request(body, "CertificateSearchRequest")
        names = {child.tag: (child.text or "") for child in request}
        if (SUBJECT_NAME in names) == (SUBJECT_ALT_NAME in names):
            raise InvalidRequest(f"give exactly one of {SUBJECT_NAME} or {SUBJECT_ALT_NAME}")
        device = SUBJECT_ALT_NAME in names
        eui = parse_eui_text(names[SUBJECT_ALT_NAME if device else SUBJECT_NAME])
    except (XmlRejected, SmkiError) as exc:
        return _invalid("CertificateSearchResponse", exc)
    records = repo.search(eui, device=device)
    if not records:
        root = _envelope("CertificateSearchResponse", 402, "No certificates found")
        return 402, _serialise(root)
    root = _envelope("CertificateSearchResponse", 200, "Success")
    for record in records:
        result_element(root, _row(record, at))
    return 200, _serialise(root)


def answer_retrieve(
    repo: Repository, body: bytes, at: dt.datetime | None = None
) -> tuple[int, bytes]:
    """(HTTP status, XML) for a certificate retrieval request."""
    try:
        request = _request(body, "CertificateDataRequest")
        serial = parse_serial_text(_one_text(request, "CertificateSerial"))
    except (XmlRejected, SmkiError) as exc:
        return _invalid("CertificateDataResponse", exc)
    record = repo.get(serial)
    if record is None:
        root = _envelope("CertificateDataResponse", 402, "No certificate found")
        return 402, _serialise(root)
    root = _envelope("CertificateDataResponse", 200, "Success")
    response_element(_row(record, at), root)
    return 200, _serialise(root)


def answer_device_csr(
    repo: Repository, body: bytes, at: dt.datetime | None = None
) -> tuple[int, bytes]:
    """(HTTP status, XML) for a device's certificate signing request: the certificate issued
    at `at` (None: now), lodged In Use."""
    try:
        text = _one_text(_request(body, "DeviceCSRRequest"), "CertificateSigningRequest")
        try:
            der = base64.b64decode("".join(text.split()), validate=True)
        except ValueError:
            raise InvalidRequest("the CertificateSigningRequest is not base64") from None
        record = issue_for_request(repo, der, at or dt.datetime.now(dt.UTC))
    except (XmlRejected, SmkiError) as exc:
        return _invalid("DeviceCSRResponse", exc)
    root = _envelope("DeviceCSRResponse", 200, "Success")
    response_element(_row(record, at), root)
    return 200, _serialise(root)


def _request(body: bytes, tag: str):
    """The request document, hardened-parsed; InvalidRequest unless its root is `tag`."""
    request = parse_document(body, what=tag, max_bytes=MAX_REQUEST_BYTES)
    if request.tag != tag:
        raise InvalidRequest(f"expected {tag}, got {request.tag}")
    return request


def _one_text(request, tag: str) -> str:
    """The text of the request's one `tag` child; InvalidRequest for none or several."""
    texts = [child.text or "" for child in request if child.tag == tag]
    if len(texts) != 1:
        raise InvalidRequest(f"give exactly one {tag}")
    return texts[0]


def _invalid(tag: str, exc: Exception) -> tuple[int, bytes]:
    return 401, _serialise(_envelope(tag, 401, f"Invalid request: {exc}"))


ROUTES = {SEARCH_PATH: answer_search, RETRIEVE_PATH: answer_retrieve,
          DEVICE_CSR_PATH: answer_device_csr}  # fmt: skip
#: the answer's element of each route, for a request refused before the route reads it
_ANSWER_TAGS = {SEARCH_PATH: "CertificateSearchResponse", RETRIEVE_PATH: "CertificateDataResponse",
                DEVICE_CSR_PATH: "DeviceCSRResponse"}  # fmt: skip


class _Handler(BaseHTTPRequestHandler):
    server_version = "gbhan-smki/1"
    protocol_version = "HTTP/1.1"
    timeout = 10
    repo: Repository  # set on the subclass made per service
    clock: Callable[[], dt.datetime] | None = None
    org_crypto: bytes | None = None

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        path = urlsplit(self.path).path.rstrip("/")
        route = ROUTES.get(path)
        if route is None:
            self._send(HTTPStatus.NOT_FOUND, b"")
            return
        length = self.headers.get("Content-Length")
        if length is None or not length.isdigit():
            self._send(HTTPStatus.LENGTH_REQUIRED, b"")
            return
        if int(length) > MAX_REQUEST_BYTES:
            self._send(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, b"")
            self.close_connection = True
            return
        body = self.rfile.read(int(length))
        kind = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if kind not in XML_TYPES:
            invalid = InvalidRequest(f"Content-Type {kind!r} is not XML")
            status, payload = _invalid(_ANSWER_TAGS[path], invalid)
        else:
            clock = type(self).clock
            status, payload = route(self.repo, body, clock() if clock is not None else None)
        self._send(status, payload)

    def do_GET(self) -> None:  # noqa: N802
        self._file(head=False)

    def do_HEAD(self) -> None:  # noqa: N802
        self._file(head=True)

    def _file(self, head: bool) -> None:
        """The bundle and the revocation lists; POST-only paths say so (405)."""
        path = urlsplit(self.path).path
        found: tuple[str, bytes] | None = None
        if path == ORG_CRYPTO_PATH and self.org_crypto is not None:
            found = ("application/zip", self.org_crypto)
        elif path.startswith(REVOCATION_PREFIX):
            clock = type(self).clock
            now = clock() if clock is not None else dt.datetime.now(dt.UTC)
            wanted = path[len(REVOCATION_PREFIX) :]
            if wanted == "":
                names = "".join(f"{list_name(w, now)}\n" for w in (ARL, CRL))
                found = ("text/plain; charset=utf-8", names.encode())
            for which in (ARL, CRL):
                if wanted == list_name(which, now):
                    found = ("application/gzip", revocation_list(self.repo, which, now)[1])
        elif path.rstrip("/") in ROUTES:
            self._send(HTTPStatus.METHOD_NOT_ALLOWED, b"", {"Allow": "POST"})
            return
        if found is None:
            self._send(HTTPStatus.NOT_FOUND, b"")
            return
        kind, payload = found
        self._send(HTTPStatus.OK, payload, content_type=kind, head=head)

    def _send(
        self,
        status: int,
        payload: bytes,
        headers: dict | None = None,
        content_type: str = "application/xml; charset=utf-8",
        head: bool = False,
    ) -> None:
        self.send_response(status)
        if payload:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if not head:
            self.wfile.write(payload)

    def log_message(self, format: str, *args) -> None:  # noqa: A002
        if getattr(self.server, "verbose", False):
            super().log_message(format, *args)


class SmkiService:
    """The web service over a repository; `start()` serves on a thread, `stop()` ends it."""

    def __init__(
        self,
        repo: Repository,
        host: str = "127.0.0.1",
        port: int = DEFAULT_PORT,
        clock: Callable[[], dt.datetime] | None = None,
        org_crypto: bytes | None = None,
    ):
        """`clock` gives the time statuses are judged at (None: as lodged) and the date of
        the revocation lists (None: now); `org_crypto` is the bundle to serve, if any."""
        handler = type(
            "SmkiHandler",
            (_Handler,),
            {
                "repo": repo,
                "clock": staticmethod(clock) if clock else None,
                "org_crypto": org_crypto,
            },
        )
        self.httpd = ThreadingHTTPServer((host, port), handler)
        self.httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return self.httpd.server_address[1]

    @property
    def url(self) -> str:
        host = self.httpd.server_address[0]
        if isinstance(host, bytes):  # typeshed allows it; an AF_INET server has text
            host = host.decode()
        return f"http://{host}:{self.port}"

    def start(self) -> SmkiService:
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self.httpd.serve_forever()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        if self._thread is not None:
            self._thread.join()
