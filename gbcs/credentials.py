"""The security-credential structures of CS02a/b/f/g (Provide Security Credential Details,
Update Security Credentials) read by name from their generic DER trees.

gbcs.asn1 decodes these payloads' inner structures as generic trees (they re-encode byte
for byte from them); this module names their parts for people, the way GBCS's ASN.1
module defines them: trust anchor cell identifiers (role, key usage, cell usage), the
authorising remote party control (replacement mode, sequence numbers), trust anchor
replacements (the new certificate and its target cell), execution outcomes and the remote
party details a device reports. Certificates become their X.509 fields (`certificate`,
supplied by gbcs.naming). Anything that does not have the expected shape stays a tree.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from construct import Container

from .asn1 import REMOTE_PARTY_ROLES, encode_tree
from .errors import GbcsError

CREDENTIALS_REPLACEMENT_MODES = {
    2: "supplier_by_supplier",
    3: "network_operator_by_network_operator",
    4: "acb_by_acb",
    5: "wan_provider_by_wan_provider",
    6: "transcos_by_transcos",
    7: "supplier_by_transcos",
    8: "any_except_abnormal_root_by_recovery",
    9: "any_by_contingency",
    # CS02g (newer GBCS): as RTDS pairs them with message codes 0125 and 0126
    10: "load_controller_by_load_controller",
    11: "load_controller_by_supplier",
}
CELL_USAGES = {0: "management", 1: "prepayment_top_up"}
STATUS_CODES = {
    0: "success",
    5: "bad_certificate",
    10: "no_trust_anchor",
    17: "insufficient_memory",
    25: "trust_anchor_not_found",
    30: "resources_busy",
    127: "other",
}
SEQ_NUMBER_USAGES = {0: "prepayment_top_up"}
APPLY_TIME_BASED_CPV_CHECKS = {0: "apply", 1: "disapply"}
# KeyUsage BIT STRING bits, most significant first (RFC 5280)
KEY_USAGE_BITS = {0: "digital_signature", 4: "key_agreement", 5: "key_cert_sign", 6: "crl_sign"}


class Mismatch(Exception):
    """The tree does not have the shape this reader expects."""


# what a tree of the wrong shape (a tampered message) makes the readers raise
_NOT_THIS_SHAPE = (
    Mismatch,
    GbcsError,
    ValueError,
    TypeError,
    AttributeError,
    KeyError,
    IndexError,
    UnicodeDecodeError,
)


def _coded(code: int, names: dict[int, str]) -> dict[str, Any]:
    return {"code": code, "name": names.get(code)}


def _children(node: Container) -> list[Container]:
    children = node.get("children") if isinstance(node, dict) else None
    if children is None:
        raise Mismatch
    return list(children)


def _integer(node: Container) -> int:
    value = node.get("value")
    if not isinstance(value, bytes | bytearray) or not value:
        raise Mismatch
    return int.from_bytes(value, "big", signed=True)


def _is(node: Container, tag_class: str, number: int) -> bool:
    return bool(node.get("tag_class") == tag_class and node.get("tag_number") == number)


def key_usage(node: Container) -> list[str]:
    value = node.get("value")
    if not _is(node, "universal", 3) or not isinstance(value, bytes | bytearray) or not value:
        raise Mismatch
    bits = int.from_bytes(value[1:], "big") if len(value) > 1 else 0
    width = 8 * (len(value) - 1)
    return [
        name
        for bit, name in KEY_USAGE_BITS.items()
        if bit < width and bits >> (width - 1 - bit) & 1
    ]


def trust_anchor_cell(node: Container) -> dict[str, Any]:
    """TrustAnchorCellIdentifier: remote party role, key usage, cell usage (default
    management)."""
    parts = _children(node)
    if len(parts) not in (2, 3):
        raise Mismatch
    out = {
        "remote_party_role": _coded(_integer(parts[0]), REMOTE_PARTY_ROLES),
        "key_usage": key_usage(parts[1]),
        "cell_usage": _coded(_integer(parts[2]) if len(parts) == 3 else 0, CELL_USAGES),
    }
    return out


def _specialist_seq_numbers(node: Container) -> list[dict[str, Any]]:
    out = []
    for entry in _children(node):
        usage, number = _children(entry)
        out.append(
            {
                "seq_number_usage": _coded(_integer(usage), SEQ_NUMBER_USAGES),
                "seq_number": _integer(number),
            }
        )
    return out


def _seq_number_changes(node: Container) -> list[dict[str, Any]]:
    out = []
    for entry in _children(node):
        parts = _children(entry)
        if len(parts) < 2:
            raise Mismatch
        change: dict[str, Any] = {
            "remote_party_role": _coded(_integer(parts[0]), REMOTE_PARTY_ROLES),
            "floor_seq_number": _integer(parts[1]),
        }
        if len(parts) > 2:
            change["specialist_floor_seq_numbers"] = _specialist_seq_numbers(parts[2])
        out.append(change)
    return out


def authorising_remote_party_control(node: Container) -> dict[str, Any]:
    """AuthorisingRemotePartyControl: the replacement mode, then optional [0] plaintext
    symmetric key, [1] time-based CPV checks, [2] the authorising party's trust anchor cell,
    the authorising party's sequence number ([3] or a plain INTEGER), [4] the new floor
    sequence number, [5] specialist floors, [6] other parties' sequence number changes."""
    parts = _children(node)
    if not parts:
        raise Mismatch
    out: dict[str, Any] = {
        "credentials_replacement_mode": _coded(_integer(parts[0]), CREDENTIALS_REPLACEMENT_MODES)
    }
    readers: dict[int, tuple[str, Callable[[Container], Any]]] = {
        0: ("plaintext_symmetric_key", lambda n: bytes(n.value).hex().upper()),
        1: (
            "apply_time_based_cpv_checks",
            lambda n: _coded(_integer(n), APPLY_TIME_BASED_CPV_CHECKS),
        ),
        2: ("authorising_remote_party_ta_cell_identifier", trust_anchor_cell),
        3: ("authorising_remote_party_seq_number", _integer),
        4: ("new_remote_party_floor_seq_number", _integer),
        5: ("new_remote_party_specialist_floor_seq_numbers", _specialist_seq_numbers),
        6: ("other_remote_party_seq_number_changes", _seq_number_changes),
    }
    for part in parts[1:]:
        if _is(part, "universal", 2):
            out["authorising_remote_party_seq_number"] = _integer(part)
        elif part.get("tag_class") == "context" and part.get("tag_number") in readers:
            key, read = readers[part["tag_number"]]
            out[key] = read(part)
        else:
            raise Mismatch
    return out


def certificates(node: Container, read: Callable[[bytes], Any]) -> list[Any]:
    """A SEQUENCE OF Certificate, each read from its DER bytes by `read`."""
    return [read(encode_tree(child)) for child in _children(node)]


def replacements(node: Container, read: Callable[[bytes], Any]) -> list[dict[str, Any]]:
    """SEQUENCE OF TrustAnchorReplacement: the new certificate and the cell it goes in."""
    out = []
    for entry in _children(node):
        certificate, cell = _children(entry)
        out.append(
            {
                "new_certificate": read(encode_tree(certificate)),
                "target_trust_anchor_cell": trust_anchor_cell(cell),
            }
        )
    return out


def execution_outcome(node: Container) -> dict[str, Any]:
    """The outcome a device reports once credentials are replaced (response or alert)."""
    parts = _children(node)
    if len(parts) < 2:
        raise Mismatch
    out: dict[str, Any] = {
        "authorising_remote_party_seq_number": _integer(parts[0]),
        "credentials_replacement_mode": _coded(_integer(parts[1]), CREDENTIALS_REPLACEMENT_MODES),
    }
    for part in parts[2:]:
        if _is(part, "universal", 16):
            items = _children(part)
            if items and len(_children(items[0])) >= 6:
                out["replacement_outcomes"] = [_replacement_outcome(i) for i in items]
            else:
                out["remote_party_seq_number_changes"] = _seq_number_changes(part)
        elif _is(part, "universal", 24):
            out["validity_interval_end"] = bytes(part.value).decode("ascii", "replace")
    return out


def _replacement_outcome(node: Container) -> dict[str, Any]:
    cell, status, *ids = _children(node)
    names = (
        "existing_subject_unique_id",
        "existing_subject_key_id",
        "replacing_subject_unique_id",
        "replacing_subject_key_id",
    )
    out: dict[str, Any] = {
        "affected_trust_anchor_cell": trust_anchor_cell(cell),
        "status_code": _coded(_integer(status), STATUS_CODES),
    }
    for name, part in zip(names, ids, strict=False):
        out[name] = bytes(part.get("value") or b"").hex().upper()
    return out


def remote_party_details(nodes: Sequence[Container]) -> list[dict[str, Any]]:
    """CS02a/CS02f response: for each requested role, the device's details of its trust
    anchor cells (role, status, current sequence number, cell contents)."""
    out = []
    for entry in nodes:
        parts = _children(entry)
        if len(parts) < 2:
            raise Mismatch
        detail: dict[str, Any] = {
            "remote_party_role": _coded(_integer(parts[0]), REMOTE_PARTY_ROLES),
            "status_code": _coded(_integer(parts[1]), STATUS_CODES),
        }
        if len(parts) > 2:
            detail["current_seq_number"] = _integer(parts[2])
        if len(parts) > 3:
            detail["trust_anchor_cells"] = [_cell_contents(c) for c in _children(parts[3])]
        out.append(detail)
    return out


def _cell_contents(node: Container) -> dict[str, Any]:
    parts = _children(node)
    out: dict[str, Any] = {"key_usage": key_usage(parts[0])}
    rest = parts[1:]
    if rest and _is(rest[0], "universal", 2):
        out["cell_usage"] = _coded(_integer(rest[0]), CELL_USAGES)
        rest = rest[1:]
    else:
        out["cell_usage"] = _coded(0, CELL_USAGES)
    for name, part in zip(("subject_unique_id", "subject_key_identifier"), rest, strict=False):
        out[name] = bytes(part.get("value") or b"").hex().upper()
    return out


def name_fields(fields: Container, read_certificate: Callable[[bytes], Any]) -> dict[str, Any]:
    """Named forms of the credential structures among an ASN.1 payload's fields (the keys
    gbcs.asn1 gives them); a structure of unexpected shape is left out (its tree remains)."""
    readers: dict[str, Callable[[Any], Any]] = {
        "authorising_remote_party_control": authorising_remote_party_control,
        "authorising_remote_party_ta_cell_identifier": trust_anchor_cell,
        "replacements": lambda n: replacements(n, read_certificate),
        "certification_path_certificates": lambda n: certificates(n, read_certificate),
        "execution_outcome": execution_outcome,
    }
    out: dict[str, Any] = {}
    for key, read in readers.items():
        node = fields.get(key)
        if node is None:
            continue
        try:
            out[key] = read(node)
        except _NOT_THIS_SHAPE:
            continue
    if fields.get("use_case") == "provide_security_credential_details" and isinstance(
        fields.get("value"), list
    ):
        try:
            out["remote_party_details"] = remote_party_details(fields["value"])
        except _NOT_THIS_SHAPE:
            pass
    return out
