"""The SMKI repository web service's record elements, shared by the service and extracts.

Element names and order follow DCC Boxed's certificate search service:
`<Result>` (search): CertificateSerial, CertificateSubjectName | CertificateSubjectAltName,
CertificateStatus, CertificateRole (organisation certificates only), CertificateUsage,
ManufacturingFlag. `<CertificateResponse>` (retrieval, and every extract record): the name,
CertificateSerial, CertificateStatus, CertificateBody (base64 DER), CertificateRole,
CertificateUsage, ManufacturingFlag.

Rows are tuples in the store's VIEW_COLUMNS order:
(serial text, kind, EUI bytes, role, usage, status, manufacturing, DER body).
"""

from __future__ import annotations

import base64
import binascii

from lxml import etree

from .errors import SmkiError
from .records import DEVICE, ORGANISATION, STATUSES, USAGES, parse_eui_text

SUBJECT_NAME = "CertificateSubjectName"
SUBJECT_ALT_NAME = "CertificateSubjectAltName"
_SubElement = etree.SubElement


def _name_tag(kind: str) -> str:
    return SUBJECT_ALT_NAME if kind == DEVICE else SUBJECT_NAME


def result_element(parent, row) -> None:
    """Append a search `<Result>` for this row."""
    serial, kind, eui, role, usage, status, manufacturing, _body = row
    result = _SubElement(parent, "Result")
    _SubElement(result, "CertificateSerial").text = serial
    _SubElement(result, _name_tag(kind)).text = eui.hex("-").upper()
    _SubElement(result, "CertificateStatus").text = status
    if role is not None:
        _SubElement(result, "CertificateRole").text = str(role)
    _SubElement(result, "CertificateUsage").text = usage
    _SubElement(result, "ManufacturingFlag").text = "true" if manufacturing else "false"


def response_element(row, parent=None):
    """A `<CertificateResponse>` for this row (appended to parent when given)."""
    serial, kind, eui, role, usage, status, manufacturing, body = row
    if parent is None:
        response = etree.Element("CertificateResponse")
    else:
        response = _SubElement(parent, "CertificateResponse")
    _SubElement(response, _name_tag(kind)).text = eui.hex("-").upper()
    _SubElement(response, "CertificateSerial").text = serial
    _SubElement(response, "CertificateStatus").text = status
    _SubElement(response, "CertificateBody").text = base64.b64encode(body).decode("ascii")
    if role is not None:
        _SubElement(response, "CertificateRole").text = str(role)
    _SubElement(response, "CertificateUsage").text = usage
    _SubElement(response, "ManufacturingFlag").text = "true" if manufacturing else "false"
    return response


class ResponseWriter:
    """Writes `<CertificateResponse>` elements into an `etree.xmlfile` quickly.

    One element tree per shape (device, organisation with a role, without) is built once
    and only its texts change per record: about 4x faster than building elements anew,
    which matters at a million records.
    """

    def __init__(self, xf):
        self.xf = xf
        self._shapes: dict[tuple[bool, bool], tuple] = {}

    def _shape(self, device: bool, has_role: bool):
        shape = self._shapes.get((device, has_role))
        if shape is None:
            root = etree.Element("CertificateResponse")
            tags = [SUBJECT_ALT_NAME if device else SUBJECT_NAME, "CertificateSerial"]
            tags += ["CertificateStatus", "CertificateBody"]
            tags += ["CertificateRole"] if has_role else []
            tags += ["CertificateUsage", "ManufacturingFlag"]
            children = {tag: _SubElement(root, tag) for tag in tags}
            shape = (root, children)
            self._shapes[(device, has_role)] = shape
        return shape

    def write(self, row) -> None:
        serial, kind, eui, role, usage, status, manufacturing, body = row
        root, children = self._shape(kind == DEVICE, role is not None)
        children[SUBJECT_ALT_NAME if kind == DEVICE else SUBJECT_NAME].text = eui.hex("-").upper()
        children["CertificateSerial"].text = serial
        children["CertificateStatus"].text = status
        children["CertificateBody"].text = base64.b64encode(body).decode("ascii")
        if role is not None:
            children["CertificateRole"].text = str(role)
        children["CertificateUsage"].text = usage
        children["ManufacturingFlag"].text = "true" if manufacturing else "false"
        self.xf.write(root)


_HEX_DIGITS = frozenset("0123456789ABCDEFabcdef")
_FLAGS = {"true": True, "false": False}


def _base64(text: str) -> bytes:
    try:
        return binascii.a2b_base64(text, strict_mode=True)
    except binascii.Error:  # pretty-printed XML may wrap the body: drop the whitespace
        return binascii.a2b_base64("".join(text.split()), strict_mode=True)


def parse_response_element(element) -> tuple:
    """A row from a `<CertificateResponse>`; SmkiError naming the first bad field.

    Runs once per record of a restore (a million times for a national extract), hence
    plain comparisons rather than regular expressions.
    """
    fields = {}
    for child in element:
        fields[child.tag] = (child.text or "").strip()
    device = SUBJECT_ALT_NAME in fields
    if device == (SUBJECT_NAME in fields):
        raise SmkiError("a record needs exactly one of CertificateSubjectName/SubjectAltName")
    eui = parse_eui_text(fields[SUBJECT_ALT_NAME if device else SUBJECT_NAME])
    serial = fields.get("CertificateSerial", "")
    if not 0 < len(serial) <= 40 or not _HEX_DIGITS.issuperset(serial):
        raise SmkiError(f"CertificateSerial {serial!r} is not hexadecimal")
    status = fields.get("CertificateStatus")
    if status not in STATUSES:
        raise SmkiError(f"serial {serial}: CertificateStatus {status!r} is not one of P I N E R")
    usage = fields.get("CertificateUsage")
    if usage not in USAGES:
        raise SmkiError(f"serial {serial}: CertificateUsage {usage!r} is not DS or KA")
    role_text = fields.get("CertificateRole")
    role = None
    if role_text is not None:
        if device:
            raise SmkiError(f"serial {serial}: a device certificate carries no CertificateRole")
        if not role_text.isdigit():
            raise SmkiError(f"serial {serial}: CertificateRole {role_text!r} is not a number")
        role = int(role_text)
    manufacturing = _FLAGS.get(fields.get("ManufacturingFlag") or "")
    if manufacturing is None:
        raise SmkiError(
            f"serial {serial}: ManufacturingFlag {fields.get('ManufacturingFlag')!r} "
            "is not true or false"
        )
    try:
        body = _base64(fields.get("CertificateBody", ""))
    except (binascii.Error, ValueError):
        raise SmkiError(f"serial {serial}: CertificateBody is not base64") from None
    if not body:
        raise SmkiError(f"serial {serial}: CertificateBody is missing")
    return (
        serial.upper(),
        DEVICE if device else ORGANISATION,
        eui,
        role,
        usage,
        status,
        manufacturing,
        body,
    )
