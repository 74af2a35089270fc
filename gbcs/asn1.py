"""ASN.1 DER payloads: joins, unjoins, firmware, time and credential use cases (primer 8.5).

Two levels. `decode` always yields the generic DER tree: every node is its identifier
(tag class, constructed bit, tag number) with either the primitive value bytes or the child
nodes, which re-encodes byte for byte. Lengths are written in minimal form, as DER
requires, except where the decoded node records a padded form: RTDS's CS02b/CS02g
responses and alerts send `82 00 xx` (BER, not DER), and re-encoding must match. When the
message code (and CRA flag) are known, `interpret` adds named fields for the GBCS use cases
whose ASN.1 layout the sources give (CS02a-g, CS03x, CS04x, CS06, CS07, CS08, CS09, CCS08,
GCS28, GCS59, GCS62); anything it cannot match stays the generic tree alone.

`encode` always builds from the tree, so edit the tree (or build one with the helpers
`integer`, `octet_string`, `null`, `generalized_time`, `sequence`) to change a payload.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol

from construct import Container, ListContainer

from .errors import DecodeError, EncodeError

LAYER = "asn1"
MAX_DEPTH = 32

TAG_CLASSES = ("universal", "application", "context", "private")
UNIVERSAL_NAMES = {
    0x01: "boolean",
    0x02: "integer",
    0x03: "bit_string",
    0x04: "octet_string",
    0x05: "null",
    0x06: "object_identifier",
    0x0A: "enumerated",
    0x0C: "utf8_string",
    0x10: "sequence",
    0x11: "set",
    0x13: "printable_string",
    0x16: "ia5_string",
    0x17: "utc_time",
    0x18: "generalized_time",
}


# --------------------------------------------------------------------------------------
# Generic DER tree
# --------------------------------------------------------------------------------------


def _node(
    tag_class: int,
    constructed: bool,
    number: int,
    value: bytes | None = None,
    children: ListContainer | None = None,
) -> Container:
    name = UNIVERSAL_NAMES.get(number) if tag_class == 0 else None
    return Container(
        tag_class=TAG_CLASSES[tag_class],
        constructed=constructed,
        tag_number=number,
        name=name or f"{TAG_CLASSES[tag_class]}_{number}",
        value=value,
        children=children,
        # None: minimal length form; n: the length was sent in n bytes though fewer would
        # do (RTDS CS02b/CS02g responses and alerts use 82 00 xx); kept to re-encode exactly
        padded_length_bytes=None,
    )


# (tag class, constructed, tag number, name)
_Identifier = tuple[str, bool, int, str]


def _identifier_fields(first: int) -> _Identifier:
    tag_class, number = first >> 6, first & 0x1F
    name = UNIVERSAL_NAMES.get(number) if tag_class == 0 else None
    return (
        TAG_CLASSES[tag_class],
        bool(first & 0x20),
        number,
        name or f"{TAG_CLASSES[tag_class]}_{number}",
    )


# one-byte identifiers (tag numbers below 31), decoded once; None: high tag number form
_IDENTIFIER_BY_BYTE = [
    _identifier_fields(first) if first & 0x1F != 0x1F else None for first in range(256)
]


def _node_template(identifier: _Identifier) -> dict[str, Any]:
    """A node's fields before its value or children are known (the key order of a node)."""
    tag_class, constructed, number, name = identifier
    return {
        "tag_class": tag_class,
        "constructed": constructed,
        "tag_number": number,
        "name": name,
        "value": None,
        "children": None,
        # None: minimal length form; n: the length was sent in n bytes though fewer would
        # do (RTDS CS02b/CS02g responses and alerts use 82 00 xx); kept to re-encode exactly
        "padded_length_bytes": None,
    }


# Nodes are made as Container(template) and then given their value or children: copying a
# ready dict costs half of passing seven keyword arguments, and a certificate has ~50 nodes.
_TEMPLATE_BY_BYTE = [
    _node_template(identifier) if identifier is not None else None
    for identifier in _IDENTIFIER_BY_BYTE
]


def _high_tag_number(data: bytes, pos: int, end: int, base: int) -> tuple[int, int]:
    """Tag number in base-128 digits after a xx11111 identifier: (number, next position)."""
    start = pos
    number = 0
    while True:
        if pos >= end:
            raise DecodeError(LAYER, "stream ended inside a tag number", base + pos)
        digit = data[pos]
        if number == 0 and digit == 0x80:
            raise DecodeError(LAYER, "tag number not minimally encoded", base + pos)
        number = number << 7 | digit & 0x7F
        pos += 1
        if not digit & 0x80:
            break
        if number > 0xFFFFFF:
            raise DecodeError(LAYER, "tag number too large", base + pos)
    if number < 0x1F:
        raise DecodeError(LAYER, "tag number not minimally encoded", base + start)
    return number, pos


def _parse_node(
    data: bytes, pos: int, end: int, base: int, depth: int, spans: Spans | None = None
) -> tuple[Container, int]:
    """One TLV at data[pos:end] -> (node, position after it). With `spans` (a Spans), each
    constructed node's place is recorded as spans[id(node)] = (start, end)."""
    if depth > MAX_DEPTH:
        raise DecodeError(LAYER, f"nesting deeper than {MAX_DEPTH}", base + pos)
    if pos >= end:
        raise DecodeError(LAYER, "stream ended before a tag", base + pos)
    start = pos
    first = data[pos]
    identifier = _IDENTIFIER_BY_BYTE[first]
    pos += 1
    if identifier is None:  # high tag number form
        number, pos = _high_tag_number(data, pos, end, base)
        tag_class = TAG_CLASSES[first >> 6]
        identifier = (tag_class, bool(first & 0x20), number, f"{tag_class}_{number}")
    if pos >= end:
        raise DecodeError(LAYER, "stream ended before a length", base + pos)
    length = data[pos]
    pos += 1
    padded = None
    if length & 0x80:
        count = length & 0x7F
        if count == 0:
            raise DecodeError(LAYER, "indefinite length is not DER", base + pos - 1)
        if count > 4:
            raise DecodeError(LAYER, f"length of {count} bytes is too long", base + pos - 1)
        if pos + count > end:
            raise DecodeError(LAYER, "stream ended inside a length", base + pos)
        length = int.from_bytes(data[pos : pos + count], "big")
        if length < 0x80 or data[pos] == 0:
            padded = count
        pos += count
    value_end = pos + length
    if value_end > end:
        raise DecodeError(
            LAYER,
            f"value of {length} bytes overruns its container by {value_end - end}",
            base + pos,
        )
    template = _TEMPLATE_BY_BYTE[first] or _node_template(identifier)
    if not identifier[1]:  # primitive
        node = Container(template)
        node["value"] = data[pos:value_end]
        if padded is not None:
            node["padded_length_bytes"] = padded
        return node, value_end
    children = ListContainer()
    _parse_children(data, pos, value_end, base, depth + 1, spans, children.append)
    node = Container(template)
    node["children"] = children
    if padded is not None:
        node["padded_length_bytes"] = padded
    if spans is not None:
        spans[id(node)] = (start, value_end)
    return node, value_end


def _parse_children(
    data: bytes,
    pos: int,
    end: int,
    base: int,
    depth: int,
    spans: Spans | None,
    append: Callable[[Container], None],
) -> None:
    """The TLVs in data[pos:end], nested `depth` deep, each passed to `append`. A child with
    a low tag number and a minimal length that fits (most nodes) is read here, a constructed
    one by one call here for its own children; anything else, or anything wrong, takes
    _parse_node, which fails as it always has."""
    while pos < end:
        if pos + 1 < end and depth <= MAX_DEPTH:
            template = _TEMPLATE_BY_BYTE[data[pos]]
            length = data[pos + 1]
            if template is not None:
                value_start = pos + 2
                if length & 0x80:  # 81 nn (nn >= 80) or 82 nn nn (nn nn >= 0100): minimal
                    count = length & 0x7F
                    value_start += count
                    if count == 1 and value_start <= end and data[pos + 2] >= 0x80:
                        length = data[pos + 2]
                    elif count == 2 and value_start <= end and data[pos + 2]:
                        length = data[pos + 2] << 8 | data[pos + 3]
                    else:
                        length = end  # not read here: overruns
                value_end = value_start + length
                if value_end <= end:
                    if template["constructed"]:
                        children = ListContainer()
                        _parse_children(
                            data, value_start, value_end, base, depth + 1, spans, children.append
                        )
                        child = Container(template)
                        child["children"] = children
                        if spans is not None:
                            spans[id(child)] = (pos, value_end)
                    else:
                        child = Container(template)
                        child["value"] = data[value_start:value_end]
                    append(child)
                    pos = value_end
                    continue
        child, pos = _parse_node(data, pos, end, base, depth, spans)
        append(child)


_TAG_CLASS_BITS = {name: index << 6 for index, name in enumerate(TAG_CLASSES)}


def _identifier(node: Container) -> bytes:
    """The identifier octets of a node (item access: Container attributes cost ~1 µs)."""
    tag_class = _TAG_CLASS_BITS.get(node["tag_class"])
    if tag_class is None:
        raise EncodeError(LAYER, f"unknown tag class {node['tag_class']!r}")
    number = node["tag_number"]
    if not isinstance(number, int) or number < 0:
        raise EncodeError(LAYER, f"bad tag number {number!r}")
    first = tag_class | (0x20 if node["constructed"] else 0)
    if number < 0x1F:
        return bytes((first | number,))
    digits = [number & 0x7F]
    number >>= 7
    while number:
        digits.append(0x80 | number & 0x7F)
        number >>= 7
    return bytes((first | 0x1F, *reversed(digits)))


def _der_length(n: int, padded: int | None = None) -> bytes:
    if padded:
        if not 1 <= padded <= 4 or n >= 1 << (8 * padded):
            raise EncodeError(LAYER, f"length {n} does not fit {padded} length byte(s)")
        return bytes((0x80 | padded,)) + n.to_bytes(padded, "big")
    if n < 0x80:
        return bytes((n,))
    size = (n.bit_length() + 7) // 8
    return bytes((0x80 | size,)) + n.to_bytes(size, "big")


# identifier octets of the one-byte tags (class, number below 31, constructed), made once
_SHORT_TAGS = {
    (name, number, constructed): bytes((bits | (0x20 if constructed else 0) | number,))
    for name, bits in _TAG_CLASS_BITS.items()
    for number in range(0x1F)
    for constructed in (False, True)
}
_SHORT_LENGTHS = [bytes((n,)) for n in range(0x80)]


def _build_node(node: Container, depth: int = 0) -> bytes:
    if depth > MAX_DEPTH:
        raise EncodeError(LAYER, f"nesting deeper than {MAX_DEPTH}")
    try:
        constructed = node["constructed"]
        if constructed:
            body = b"".join([_build_node(child, depth + 1) for child in node["children"]])
        else:
            value = node["value"]
            body = value if type(value) is bytes else bytes(value)
        head = None
        if type(constructed) is bool:  # decode's shape: a made tag is looked up
            head = _SHORT_TAGS.get((node["tag_class"], node["tag_number"], constructed))
        if head is None:
            head = _identifier(node)
        padded = node.get("padded_length_bytes")
    except (AttributeError, KeyError, TypeError) as exc:
        raise EncodeError(LAYER, f"malformed DER node: {exc}") from None
    size = len(body)
    if padded is None and size < 0x80:
        return head + _SHORT_LENGTHS[size] + body
    return head + _der_length(size, padded) + body


class Spans(dict[int, tuple[int, int]]):
    """Where each constructed node of a decoded tree sits in `content`: id(node) -> (start,
    end). Kept beside the tree (never in it) while `interpret` runs, so Der can take a
    certificate's bytes as they came instead of re-encoding its ~40 nodes."""

    __slots__ = ("content",)

    def __init__(self, content: bytes):
        super().__init__()
        self.content = content


def decode_tree(content: bytes, base: int = 0, spans: Spans | None = None) -> Container:
    """The generic DER tree of `content`, which must be exactly one TLV (`spans`: see
    _parse_node)."""
    content = bytes(content)
    node, end = _parse_node(content, 0, len(content), base, 0, spans)
    if end != len(content):
        raise DecodeError(LAYER, f"{len(content) - end} unexpected trailing byte(s)", base + end)
    return node


def check_tree(content: bytes, base: int = 0) -> None:
    """Raise what decode_tree(content, base) would raise, without building the tree: a
    DER payload's form proved at a third of the cost, its tree left until something reads
    it (gbcs.payload.Deferred). tests/gbcs/test_asn1.py holds the two to the same verdict
    on every RTDS payload, cut at every length and with a byte replaced at every offset."""
    content = bytes(content)
    end = _skip_tlvs(content, 0, len(content), base, 0, one=True)
    if end != len(content):
        raise DecodeError(LAYER, f"{len(content) - end} unexpected trailing byte(s)", base + end)


# per identifier byte: whether a node with it is constructed (None: not a one-byte tag)
_CONSTRUCTED_BY_BYTE = [None if t is None else t["constructed"] for t in _TEMPLATE_BY_BYTE]


def _skip_tlvs(data: bytes, pos: int, end: int, base: int, depth: int, one: bool = False) -> int:
    """Where the TLVs in data[pos:end] end (`one`: the first TLV only, which must be
    there), each read as _parse_children reads it: the same fast path for a low tag number
    and a minimal length that fits, checking the same things and building nothing; anything
    else goes to _parse_node, which raises as it always has (and builds that node, which
    only an unusual one pays)."""
    while pos < end or one:
        constructed = _CONSTRUCTED_BY_BYTE[data[pos]] if pos + 1 < end else None
        if constructed is not None and depth <= MAX_DEPTH:
            length = data[pos + 1]
            value_start = pos + 2
            if length & 0x80:  # as _parse_children: 81 nn (nn >= 80) or 82 nn nn, minimal
                count = length & 0x7F
                value_start += count
                if count == 1 and value_start <= end and data[pos + 2] >= 0x80:
                    length = data[pos + 2]
                elif count == 2 and value_start <= end and data[pos + 2]:
                    length = data[pos + 2] << 8 | data[pos + 3]
                else:
                    length = end  # not read here: overruns
            value_end = value_start + length
            if value_end <= end:
                if constructed:
                    _skip_tlvs(data, value_start, value_end, base, depth + 1)
                pos = value_end
            else:
                pos = _parse_node(data, pos, end, base, depth)[1]
        else:
            pos = _parse_node(data, pos, end, base, depth)[1]
        if one:
            return pos
    return pos


def encode_tree(node: Container) -> bytes:
    """DER bytes of a generic tree node."""
    return _build_node(node)


# --------------------------------------------------------------------------------------
# Helpers to build trees
# --------------------------------------------------------------------------------------


def integer(value: int) -> Container:
    """INTEGER node, minimal two's complement (alert 0x8F8A is 02 03 00 8F 8A)."""
    size = max(1, (value + (value < 0)).bit_length() // 8 + 1)
    return _node(0, False, 0x02, value=value.to_bytes(size, "big", signed=True))


def octet_string(value: bytes) -> Container:
    return _node(0, False, 0x04, value=bytes(value))


def null() -> Container:
    return _node(0, False, 0x05, value=b"")


def generalized_time(text: str) -> Container:
    """GeneralizedTime node from 'YYYYMMDDhhmmssZ' (the form GBCS uses)."""
    return _node(0, False, 0x18, value=text.encode("ascii"))


def sequence(*children: Container) -> Container:
    return _node(0, True, 0x10, children=ListContainer(children))


# --------------------------------------------------------------------------------------
# Named interpretations for the GBCS ASN.1 use cases
# --------------------------------------------------------------------------------------


class _Mismatch(Exception):
    """The tree does not have the shape a use-case schema expects."""


class Schema(Protocol):
    """A use-case schema: `read` gives a node's value (or raises _Mismatch), and an
    enumeration's `names` name the values it reads."""

    @property
    def names(self) -> Mapping[int, str] | None: ...

    def read(self, node: Container, spans: Spans | None = None) -> Any: ...


def _universal(node: Container, number: int, constructed: bool = False) -> None:
    # the schema readers use item access: a Container attribute is a Python-level call
    if node["tag_class"] != "universal" or node["tag_number"] != number:
        raise _Mismatch(f"expected {UNIVERSAL_NAMES[number]}, found {node['name']}")
    if node["constructed"] != constructed:
        raise _Mismatch(f"{node['name']} has the wrong constructed bit")


class Integer:
    def __init__(self, names: Mapping[int, str] | None = None):
        self.names = names

    def read(self, node: Container, spans: Spans | None = None) -> int:
        _universal(node, 0x02)
        if not node["value"]:
            raise _Mismatch("empty INTEGER")
        return int.from_bytes(node["value"], "big", signed=True)


class Enumerated(Integer):
    def read(self, node: Container, spans: Spans | None = None) -> int:
        _universal(node, 0x0A)
        if not node["value"]:
            raise _Mismatch("empty ENUMERATED")
        return int.from_bytes(node["value"], "big", signed=True)


class OctetString:
    names = None

    def read(self, node: Container, spans: Spans | None = None) -> bytes:
        _universal(node, 0x04)
        return bytes(node["value"])


class BitString:
    names = None

    def read(self, node: Container, spans: Spans | None = None) -> Container:
        _universal(node, 0x03)
        if not node["value"] or node["value"][0] > 7:
            raise _Mismatch("BIT STRING without a valid unused-bits count")
        return Container(unused_bits=node["value"][0], bits=bytes(node["value"][1:]))


class Null:
    names = None

    def read(self, node: Container, spans: Spans | None = None) -> None:
        _universal(node, 0x05)
        if node["value"]:
            raise _Mismatch("NULL with content")
        return None


class Time:
    names = None

    def read(self, node: Container, spans: Spans | None = None) -> str:
        _universal(node, 0x18)
        try:
            return bytes(node["value"]).decode("ascii")
        except UnicodeDecodeError:
            raise _Mismatch("GeneralizedTime is not ASCII") from None


class Der:
    """Any element, kept as its DER bytes (certificates, certification requests).

    The bytes are the node's span in the payload when decode_tree recorded it (`spans`),
    else its re-encoding, which is the same bytes: re-encoding a certificate cost half
    of interpreting a payload."""

    names = None

    def read(self, node: Container, spans: Spans | None = None) -> bytes:
        _universal(node, 0x10, constructed=True)
        if spans is not None:
            span = spans.get(id(node))
            if span is not None:
                return spans.content[span[0] : span[1]]
        return encode_tree(node)


class Tree:
    """Any element whose inner layout the sources do not give: the generic node."""

    names = None

    def read(self, node: Container, spans: Spans | None = None) -> Container:
        return node


class Seq:
    """SEQUENCE of named fields; a field is (name, schema) or (name, schema, 'optional')."""

    names = None

    def __init__(self, *fields: tuple[str, Schema] | tuple[str, Schema, str]):
        self.fields = fields

    def read(self, node: Container, spans: Spans | None = None) -> Container:
        _universal(node, 0x10, constructed=True)
        children = node["children"]
        out = Container()
        index = 0
        for field in self.fields:
            name, schema = field[0], field[1]
            optional = len(field) > 2
            if index >= len(children):
                if optional:
                    out[name] = None
                    continue
                raise _Mismatch(f"missing {name}")
            try:
                out[name] = schema.read(children[index], spans)
            except _Mismatch:
                if not optional:
                    raise
                out[name] = None
                continue
            if schema.names is not None:
                out[f"{name}_name"] = schema.names.get(out[name], "unknown")
            index += 1
        if index != len(children):
            raise _Mismatch(f"{len(children) - index} extra element(s)")
        return out


class SeqOf:
    names = None

    def __init__(self, item: Schema):
        self.item = item

    def read(self, node: Container, spans: Spans | None = None) -> ListContainer:
        _universal(node, 0x10, constructed=True)
        return ListContainer(self.item.read(child, spans) for child in node["children"])


class Choice:
    """The first alternative that matches; the result names which one."""

    names = None

    def __init__(self, **alternatives: Schema):
        self.alternatives = alternatives

    def read(self, node: Container, spans: Spans | None = None) -> Container:
        for name, schema in self.alternatives.items():
            try:
                value = schema.read(node, spans)
            except _Mismatch:
                continue
            result = Container(choice=name, value=value)
            if schema.names is not None:
                result["name"] = schema.names.get(value, "unknown")
            return result
        raise _Mismatch("no alternative matches")


REMOTE_PARTY_ROLES = {
    0: "root",
    1: "recovery",
    2: "supplier",
    3: "network_operator",
    4: "access_control_broker",
    5: "transitional_change_of_supplier",
    6: "wan_provider",
    7: "issuing_authority",
    8: "load_controller",
    127: "other",
}
JOIN_METHODS = {
    0: "method_a_initiator",
    1: "method_a_responder",
    2: "method_b",
    3: "method_c",
}
DEVICE_TYPES = {
    0: "gsme",
    1: "esme",
    2: "chf",
    3: "gpf",
    4: "hcalcs",
    5: "ppmid",
    6: "type_2",
}
JOIN_RESPONSES = {
    0: "success",
    1: "invalid_message_code_for_join_method_and_role",
    2: "invalid_join_method_and_role",
    3: "incompatible_with_existing_entry",
    4: "device_log_full",
    5: "write_failure",
    6: "key_agreement_no_resources",
    7: "key_agreement_unknown_issuer",
    8: "key_agreement_unsupported_suite",
    9: "key_agreement_bad_message",
    10: "key_agreement_bad_key_confirm",
    11: "invalid_or_missing_certificate",
    12: "no_partner_link_key_received",
    13: "no_cbke_response",
}
UNJOIN_RESPONSES = {0: "success", 1: "not_in_device_log", 2: "other_failure"}
READ_RESPONSES = {0: "success", 1: "read_failure"}
# CS08 alert / CS09: whether the PPMID or HCALCS activated the image, not a read outcome
ACTIVATE_IMAGE_RESPONSES = {0: "success", 1: "activation_failure"}
FIRMWARE_TRANSFER_RESPONSES = {
    0: "success",
    1: "image_discarded",
    2: "hardware_version_mismatch",
    3: "file_transfer_failure",
}
ACTIVATE_FIRMWARE_RESPONSES = {
    0: "success",
    1: "no_image_held",
    2: "hash_mismatch",
    3: "activation_failure",
}
DEVICE_TIME_STATUS = {0: "reliable", 1: "invalid", 2: "unreliable"}
CERTIFICATE_UPDATE_RESPONSES = {
    0: "success",
    1: "invalid_certificate",
    2: "wrong_device_identity",
    3: "invalid_key_usage",
    4: "no_corresponding_key_pair_generated",
    5: "wrong_public_key",
    6: "certificate_storage_failed",
    7: "private_key_change_failed",
}
ISSUE_CREDENTIALS_RESPONSES = {
    1: "invalid_key_usage",
    2: "key_pair_generation_failed",
    3: "certification_request_production_failed",
}
PROVIDE_CERTIFICATE_RESPONSES = {
    1: "invalid_key_usage",
    2: "no_certificate_held",
    3: "certificate_retrieval_failure",
}

_DEVICE_LOG_ENTRY = Seq(("device_id", OctetString()), ("device_type", Integer(DEVICE_TYPES)))
_ALERT_HEAD = (("alert_code", Integer()), ("execution_date_time", Time()))
_ACTIVATE_OUTCOME = Seq(
    ("response_code", Integer(ACTIVATE_FIRMWARE_RESPONSES)),
    ("firmware_version", OctetString()),
)
_FIRMWARE_VERSION_ALERT = Seq(
    *_ALERT_HEAD,
    ("firmware_version", OctetString()),
    ("activate_image", Integer(ACTIVATE_IMAGE_RESPONSES)),
)

_JOIN = (
    "join",
    Seq(
        ("join_method_and_role", Integer(JOIN_METHODS)),
        ("other_device_id", OctetString()),
        ("other_device_type", Integer(DEVICE_TYPES)),
        ("other_device_certificate", Der(), "optional"),
    ),
    Integer(JOIN_RESPONSES),
    None,
)
_UNJOIN = ("unjoin", OctetString(), Integer(UNJOIN_RESPONSES), None)
_UPDATE_CREDENTIALS = (
    "update_security_credentials",
    Seq(
        ("authorising_remote_party_control", Tree()),
        ("replacements", Tree()),
        ("certification_path_certificates", Tree()),
        ("execution_date_time", Time(), "optional"),
    ),
    Seq(("command_accepted", Null()), ("execution_outcome", Tree(), "optional")),
    Seq(*_ALERT_HEAD, ("execution_outcome", Tree())),
)
_PROVIDE_CREDENTIAL_DETAILS = (
    "provide_security_credential_details",
    Seq(
        ("authorising_remote_party_ta_cell_identifier", Tree()),
        ("remote_party_roles_credentials_required", SeqOf(Integer(REMOTE_PARTY_ROLES))),
    ),
    SeqOf(Tree()),
    None,
)

# message code -> (name, command schema, response schema, alert schema)
USE_CASES: dict[int, tuple[str, Schema | None, Schema | None, Schema | None]] = {
    0x0008: _PROVIDE_CREDENTIAL_DETAILS,  # CS02a
    0x011B: _PROVIDE_CREDENTIAL_DETAILS,  # CS02f (same command shape in RTDS)
    0x000A: (  # CS02c
        "issue_security_credentials",
        Seq(("key_usage", BitString())),
        Choice(
            certification_request=Der(),
            response_code=Integer(ISSUE_CREDENTIALS_RESPONSES),
        ),
        None,
    ),
    0x000B: (  # CS02d
        "update_device_certificate",
        Der(),
        Integer(CERTIFICATE_UPDATE_RESPONSES),
        None,
    ),
    0x000C: (  # CS02e
        "provide_device_certificate",
        Seq(("key_usage", BitString())),
        Choice(certificate=Der(), response_code=Integer(PROVIDE_CERTIFICATE_RESPONSES)),
        None,
    ),
    0x000D: _JOIN,  # CS03A1
    0x00AB: _JOIN,  # CS03A2
    0x000E: _JOIN,  # CS03B
    0x00AF: _JOIN,  # CS03C
    0x000F: _UNJOIN,  # CS04AC
    0x0010: _UNJOIN,  # CS04B
    0x0012: (  # CS06
        "activate_firmware",
        Seq(
            ("manufacturer_image_hash", OctetString()),
            ("originator_counter", Integer()),
            ("execution_date_time", Time(), "optional"),
        ),
        Choice(command_accepted=Null(), execution_outcome=_ACTIVATE_OUTCOME),
        None,
    ),
    0x00CA: (  # CS06 future-dated execution alert
        "activate_firmware_alert",
        None,
        None,
        Seq(
            *_ALERT_HEAD,
            ("originator_counter", Integer()),
            ("execution_outcome", _ACTIVATE_OUTCOME),
        ),
    ),
    0x0013: (  # CS07
        "read_device_join_details",
        Null(),
        Seq(
            ("response_code", Integer(READ_RESPONSES)),
            ("device_log_entries", SeqOf(_DEVICE_LOG_ENTRY), "optional"),
        ),
        None,
    ),
    0x007F: (  # GCS28
        "set_time",
        Seq(("validity_interval_start", Time()), ("validity_interval_end", Time())),
        Seq(("device_time", Time()), ("device_time_status", Integer(DEVICE_TIME_STATUS))),
        None,
    ),
    0x008C: (  # GCS59
        "gpf_device_log_restore",
        Seq(("device_log_entries", SeqOf(_DEVICE_LOG_ENTRY))),
        Seq(
            (
                "restore_outcomes",
                SeqOf(
                    Seq(
                        ("device_log_entry", _DEVICE_LOG_ENTRY),
                        ("join_response_code", Integer(JOIN_RESPONSES)),
                    )
                ),
            ),
        ),
        None,
    ),
    0x00B2: (  # GCS62
        "gpf_device_log_backup_alert",
        None,
        None,
        Seq(
            ("alert_code", Integer()),
            ("backup_date_time", Time()),
            ("device_log_entries", SeqOf(_DEVICE_LOG_ENTRY)),
        ),
    ),
    0x00CB: _UPDATE_CREDENTIALS,  # CS02b alert
    0x0124: _UPDATE_CREDENTIALS,  # CS02g alert
    0x0125: _UPDATE_CREDENTIALS,  # CS02g by Load Controller
    0x0126: _UPDATE_CREDENTIALS,  # CS02g by Supplier
    0x0128: (  # CCS08
        "firmware_transfer_alert",
        None,
        None,
        Seq(
            *_ALERT_HEAD,
            ("entity_id", OctetString()),
            ("firmware_version", OctetString()),
            ("response_code", Integer(FIRMWARE_TRANSFER_RESPONSES)),
        ),
    ),
    0x0129: (  # CS08
        "read_ppmid_hcalcs_firmware_version",
        Null(),
        Seq(("firmware_version", OctetString()), ("response_code", Integer(READ_RESPONSES))),
        _FIRMWARE_VERSION_ALERT,
    ),
    0x012B: ("firmware_version_alert", None, None, _FIRMWARE_VERSION_ALERT),  # CS09
}
for _code in range(0x0100, 0x010A):  # CS02b variants
    USE_CASES[_code] = _UPDATE_CREDENTIALS

_CRA_NAMES = {1: "command", 2: "response", 3: "alert"}


def interpret(
    tree: Container, message_code: int, cra: int, spans: Spans | None = None
) -> Container | None:
    """Named fields for a GBCS ASN.1 use case, or None if the code is not one or the tree
    does not have the declared shape (the generic tree still describes the payload).
    `spans` (filled by decode_tree) locates constructed nodes in the payload."""
    entry = USE_CASES.get(message_code)
    if entry is None or cra not in _CRA_NAMES:
        return None
    name, *schemas = entry
    schema = schemas[cra - 1]
    if schema is None:
        return None
    try:
        fields = schema.read(tree, spans)
    except _Mismatch:
        return None
    if not isinstance(fields, Container):
        fields = Container(value=fields)
        if schema.names is not None:
            fields["name"] = schema.names.get(fields["value"], "unknown")
    fields["use_case"] = name
    fields["kind"] = _CRA_NAMES[cra]
    return fields


# --------------------------------------------------------------------------------------
# Public API (called by gbcs.payload)
# --------------------------------------------------------------------------------------


def decode(
    content: bytes, base: int = 0, message_code: int | None = None, cra: int | None = None
) -> Container:
    """Decode a DER payload: `tree` always, `fields` when the use case is known."""
    content = bytes(content)
    spans = Spans(content)
    tree = decode_tree(content, base, spans)
    fields = None
    if message_code is not None and cra is not None:
        fields = interpret(tree, message_code, int(cra), spans)
    return Container(tree=tree, fields=fields)


def encode(value: Container) -> bytes:
    """DER bytes of a decoded payload (built from its tree)."""
    tree = value.get("tree") if isinstance(value, dict) else None
    if tree is None:
        raise EncodeError(LAYER, "an ASN.1 payload needs a 'tree'")
    return encode_tree(tree)
