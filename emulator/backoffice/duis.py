"""DUIS XML: hardened parsing, validation against the DUIS 5.4 schema, requests and responses.

Everything that arrives from a user goes through `parse` (no DTD, no entities, no network,
bounded size) and `DuisSchema.validate` before anything reads it; every refusal is a
`DuisError` carrying the DUIS response code the back office answers with.
"""

from __future__ import annotations

import base64
import datetime as _dt
import re
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from pathlib import Path

from lxml import etree

from emulator.errors import EmulatorError

from ..xml_safety import XmlRejected, parse_document
from .response_codes import FailedCheck, ResponseCode

SR = "http://www.dccinterface.co.uk/ServiceUserGateway"
RA = "http://www.dccinterface.co.uk/ResponseAndAlert"
DS = "http://www.w3.org/2000/09/xmldsig#"
NSMAP = {"sr": SR, "ra": RA, "ds": DS}
SCHEMA_VERSION = "5.4"
SCHEMA_FILE = "DUIS Schema V5.4.xsd"


class DocumentKind(StrEnum):
    """What a document the DSP sends a user is (the body element says which)."""

    RESPONSE = "response"  # ResponseMessage: the answer to a request
    DEVICE_ALERT = "device-alert"  # DeviceAlertMessage: a device's GBCS alert
    DCC_ALERT = "dcc-alert"  # DCCAlertMessage: the DSP's own alert


CRITICAL_VARIANTS = frozenset({4, 5, 6, 7})
NON_CRITICAL_VARIANTS = frozenset({1, 2, 3})
NON_DEVICE_VARIANT = 8


class DuisError(EmulatorError, ValueError):
    """A DUIS message refused; `code` is the DUIS response code to answer with."""

    code: ResponseCode = ResponseCode.XML_REFUSED
    kind = FailedCheck.XML

    def __init__(self, message: str, code: ResponseCode | None = None):
        super().__init__(message)
        if code is not None:
            self.code = code


class HostileXml(DuisError):
    """Malformed, oversized, or carrying a DTD / entity: refused before anything reads it."""

    kind = FailedCheck.XML


class SchemaInvalid(DuisError):
    """Well-formed XML that the DUIS schema does not accept."""

    kind = FailedCheck.SCHEMA


class BadRequest(DuisError):
    """Schema-valid, but not usable as a request (wrong root, inconsistent header)."""

    kind = FailedCheck.REQUEST


def _sr(name: str) -> str:
    return f"{{{SR}}}{name}"


class _LocalOnly(etree.Resolver):
    """Serves the schema's imports from its own folder by name and refuses anything else, so
    loading the schema never reaches the network. (libxml2 does not resolve the MMC schema's
    file name with spaces itself, so imports are renamed to plain aliases first.)"""

    def __init__(self, files: dict[str, Path]):
        super().__init__()
        self.files = files

    def resolve(self, system_url, public_id, context):
        name = system_url.rsplit("/", 1)[-1]
        if name in self.files:
            return self.resolve_filename(str(self.files[name]), context)
        raise DuisError(f"schema loader refused to fetch {system_url!r}")


_XS = "http://www.w3.org/2001/XMLSchema"


class DuisSchema:
    """The DUIS schema, loaded once from the DCC's files (trusted, local)."""

    def __init__(self, folder: str | Path):
        folder = Path(folder).resolve()
        files: dict[str, Path] = {}
        parser = etree.XMLParser(no_network=True, load_dtd=False, resolve_entities=True)
        parser.resolvers.add(_LocalOnly(files))
        path = folder / SCHEMA_FILE
        document = etree.fromstring(path.read_bytes(), parser, base_url=str(path)).getroottree()
        for number, node in enumerate(document.getroot().iter(f"{{{_XS}}}import")):
            location = node.get("schemaLocation")
            if location:
                alias = f"gbhan-import-{number}.xsd"
                files[alias] = folder / Path(location).name
                node.set("schemaLocation", alias)
        self._schema = etree.XMLSchema(document)

    def validate(self, root: etree._Element) -> None:
        if not self._schema.validate(root):
            # lxml-stubs lack _ErrorLog.last_error
            error = self._schema.error_log.last_error  # type: ignore[attr-defined]
            raise SchemaInvalid(f"schema: line {error.line}: {error.message}")


@lru_cache(maxsize=4)
def load_schema(folder: str) -> DuisSchema:
    """One compiled schema per folder (compiling takes about a second)."""
    return DuisSchema(folder)


def parse(data: bytes, *, max_bytes: int = 1 << 20) -> etree._Element:
    """The root of a DUIS document, parsed with every external reach and expansion off."""
    try:
        return parse_document(data, what="DUIS XML", max_bytes=max_bytes)
    except XmlRejected as exc:
        raise HostileXml(str(exc)) from None


_EUI = re.compile(r"^[0-9A-F]{2}(-[0-9A-F]{2}){7}$")


def eui_from_text(text: str) -> bytes:
    if not _EUI.match(text.upper()):
        raise BadRequest(f"{text!r} is not an EUI-64 as 8 hyphenated hex pairs")
    return bytes.fromhex(text.replace("-", ""))


def eui_text(eui: bytes) -> str:
    return bytes(eui).hex("-").upper()


@dataclass(frozen=True)
class RequestId:
    """`originator : target : counter`: who sent it, to which device, and its replay counter."""

    originator: bytes
    target: bytes
    counter: int

    @classmethod
    def parse(cls, text: str) -> RequestId:
        parts = text.strip().split(":")
        if len(parts) != 3 or not parts[2].isdigit():
            raise BadRequest(f"RequestID {text!r} is not originator:target:counter")
        return cls(eui_from_text(parts[0]), eui_from_text(parts[1]), int(parts[2]))

    def __str__(self) -> str:
        return f"{eui_text(self.originator)}:{eui_text(self.target)}:{self.counter}"

    def response_id(self) -> str:
        """The ResponseID the DSP answers with: the request id with the EUIs swapped."""
        return f"{eui_text(self.target)}:{eui_text(self.originator)}:{self.counter}"


@dataclass(frozen=True)
class Request:
    """A parsed DUIS request; `body` is the SRV's own element, `root` the whole document."""

    request_id: RequestId
    command_variant: int
    service_reference: str
    service_reference_variant: str
    body: etree._Element
    root: etree._Element

    @property
    def critical(self) -> bool:
        return self.command_variant in CRITICAL_VARIANTS

    @property
    def signed_precommand(self) -> bytes | None:
        """The GBCS bytes of a variant 5-7 request's `SignedPreCommand`, else None."""
        if self.body.tag != _sr("SignedPreCommand"):
            return None
        return base64.b64decode(self.body.findtext(_sr("GBCSPayload")) or "")


def _text(parent: etree._Element, name: str) -> str:
    node = parent.find(_sr(name))
    if node is None or node.text is None:
        raise BadRequest(f"missing sr:{name}")
    return node.text.strip()


def parse_request(root: etree._Element) -> Request:
    """The header fields and body element of a (schema-valid) DUIS request."""
    if root.tag != _sr("Request"):
        raise BadRequest(f"root is {root.tag}, not sr:Request")
    header = root.find(_sr("Header"))
    body = root.find(_sr("Body"))
    if header is None or body is None or len(body) != 1:
        raise BadRequest("a request has one sr:Header and an sr:Body with one element")
    return Request(
        request_id=RequestId.parse(_text(header, "RequestID")),
        command_variant=int(_text(header, "CommandVariant")),
        service_reference=_text(header, "ServiceReference"),
        service_reference_variant=_text(header, "ServiceReferenceVariant"),
        body=body[0],
        root=root,
    )


def set_originator(root: etree._Element, originator: bytes, counter: int | None = None) -> None:
    """Rewrites the RequestID's originator (a user re-sending a template as itself), and its
    counter when one is given."""
    node = root.find(f"{_sr('Header')}/{_sr('RequestID')}")
    if node is None:
        raise BadRequest("missing sr:Header/sr:RequestID")
    request_id = RequestId.parse(node.text or "")
    counter = request_id.counter if counter is None else counter
    node.text = str(RequestId(originator, request_id.target, counter))


def set_target(root: etree._Element, target: bytes) -> None:
    """Rewrites the RequestID's target (a template sent to another device)."""
    node = root.find(f"{_sr('Header')}/{_sr('RequestID')}")
    if node is None:
        raise BadRequest("missing sr:Header/sr:RequestID")
    request_id = RequestId.parse(node.text or "")
    node.text = str(RequestId(request_id.originator, target, request_id.counter))


def _timestamp(when: _dt.datetime) -> str:
    when = when.astimezone(_dt.UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def _sub(parent: etree._Element, name: str, text: str | None = None) -> etree._Element:
    node = etree.SubElement(parent, _sr(name))
    if text is not None:
        node.text = text
    return node


def build_response(
    *,
    code: ResponseCode | str,
    service_reference: str,
    service_reference_variant: str,
    when: _dt.datetime,
    request_id: RequestId | None = None,
    gbcs_payload: bytes | None = None,
    precommand: bytes | None = None,
    gbcs_version: str = "4.0",
) -> etree._Element:
    """An unsigned DUIS response (sign it with xmlsig.sign). ResponseID only on success codes,
    as DCC Boxed does; at most one of a GBCS payload or a pre-command."""
    if gbcs_payload is not None and precommand is not None:
        raise ValueError("a response carries a GBCS payload or a pre-command, not both")
    code = code.value if isinstance(code, ResponseCode) else str(code)
    root = etree.Element(_sr("Response"), nsmap={"sr": SR, "ra": RA})
    root.set("schemaVersion", SCHEMA_VERSION)
    header = _sub(root, "Header")
    if request_id is not None:
        _sub(header, "RequestID", str(request_id))
        if not code.startswith("E"):
            _sub(header, "ResponseID", request_id.response_id())
    _sub(header, "ResponseCode", code)
    _sub(header, "ResponseDateTime", _timestamp(when))
    message = _sub(_sub(root, "Body"), "ResponseMessage")
    _sub(message, "ServiceReference", service_reference)
    _sub(message, "ServiceReferenceVariant", service_reference_variant)
    if gbcs_payload is not None:
        _sub(message, "GBCSPayload", base64.b64encode(gbcs_payload).decode())
    if precommand is not None:
        pre = _sub(message, "PreCommand")
        _sub(pre, "GBCSVersion", gbcs_version)
        _sub(pre, "GBCSPayload", base64.b64encode(precommand).decode())
    return root


def build_signed_precommand_request(request: Request, signed: bytes) -> etree._Element:
    """The variant 5 request that carries the user's signed pre-command back to the DSP."""
    root = etree.Element(_sr("Request"), nsmap={"sr": SR})
    root.set("schemaVersion", SCHEMA_VERSION)
    header = _sub(root, "Header")
    _sub(header, "RequestID", str(request.request_id))
    _sub(header, "CommandVariant", "5")
    _sub(header, "ServiceReference", request.service_reference)
    _sub(header, "ServiceReferenceVariant", request.service_reference_variant)
    body = _sub(_sub(root, "Body"), "SignedPreCommand")
    _sub(body, "GBCSPayload", base64.b64encode(signed).decode())
    return root


# The DCC alert code for ALCSHCALCSConfigurationChange is not in gbhan's sources: gbhan uses
# N65, the highest N-code of the 5.4 schema (the body is one of its newest). A choice,
# documented in docs/backoffice.md; change it here when the real number is known.
ALCS_CONFIGURATION_CHANGE_ALERT = "N65"


def build_dcc_alert(
    *, alert_code: str, body: etree._Element, when: _dt.datetime, request_id: RequestId | None
) -> etree._Element:
    """An unsigned DUIS DCCAlertMessage (a Response document with I0) around one DCCAlert
    body element; `request_id` names the request that caused it, if any."""
    root = etree.Element(_sr("Response"), nsmap={"sr": SR, "ra": RA})
    root.set("schemaVersion", SCHEMA_VERSION)
    header = _sub(root, "Header")
    if request_id is not None:
        _sub(header, "RequestID", str(request_id))
    _sub(header, "ResponseCode", ResponseCode.SUCCESS.value)
    _sub(header, "ResponseDateTime", _timestamp(when))
    message = _sub(_sub(root, "Body"), "DCCAlertMessage")
    _sub(message, "DCCAlertCode", alert_code)
    _sub(message, "DCCAlert").append(body)
    return root


def alcs_configuration_change(esme: bytes) -> etree._Element:
    """The DCCAlert body telling the Electricity Distributor that a meter's auxiliary load
    switches changed (e.g. a Supplier unjoined an HCALCS)."""
    body = etree.Element(_sr("ALCSHCALCSConfigurationChange"), nsmap={"sr": SR})
    _sub(body, "ESMEDeviceID", eui_text(esme))
    return body


def response_code_of(root: etree._Element) -> str | None:
    """A response's ResponseCode text (None for a request)."""
    node = root.find(f"{_sr('Header')}/{_sr('ResponseCode')}")
    return None if node is None or node.text is None else node.text.strip()


def to_bytes(root: etree._Element) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")
