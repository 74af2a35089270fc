"""One SMKI repository record, and the text forms the web service and extracts use for it."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from .errors import SmkiError

# Certificate status codes of the SMKI repository interface.
PENDING, IN_USE, NOT_IN_USE, EXPIRED, REVOKED = "P", "I", "N", "E", "R"
STATUSES = (PENDING, IN_USE, NOT_IN_USE, EXPIRED, REVOKED)
USAGES = ("DS", "KA")

# What a certificate certifies. Devices are named by SubjectAltName, everything else by
# SubjectName (the organisation's EUI); a synchronised copy only knows that split.
DEVICE, ORGANISATION, ROOT, OCA, DCA = "device", "organisation", "root", "oca", "dca"
KINDS = (DEVICE, ORGANISATION, ROOT, OCA, DCA)

_EUI_TEXT = re.compile(r"^[0-9A-Fa-f]{2}(-[0-9A-Fa-f]{2}){7}$")


def eui_text(eui: bytes) -> str:
    """`00-DB-12-34-56-78-90-A0`: the form the web service uses for names."""
    return eui.hex("-").upper()


def parse_eui_text(text: str) -> bytes:
    """8 bytes from `a1-a2-…-a8` (either case); SmkiError when it is not that form."""
    text = (text or "").strip()
    if len(text) == 23 and text[2::3] == "-------":  # the common case, without a regex
        try:
            return bytes.fromhex(text.replace("-", ""))
        except ValueError:
            pass
    if not _EUI_TEXT.match(text):
        raise SmkiError(f"not an EUI-64 in the form 00-DB-12-34-56-78-90-A0: {text!r}")
    return bytes.fromhex(text.replace("-", ""))


def serial_text(serial: int) -> str:
    """Upper-case hexadecimal, no leading zeros, as the web service shows serials."""
    return format(serial, "X")


def parse_serial_text(text: str) -> int:
    text = (text or "").strip()
    if not text or len(text) > 40 or not re.fullmatch(r"[0-9A-Fa-f]+", text):
        raise SmkiError(f"not a certificate serial in hexadecimal: {text!r}")
    return int(text, 16)


def epoch(when: dt.datetime) -> int:
    if when.tzinfo is None:
        raise SmkiError(f"times must be timezone-aware: {when!r}")
    return int(when.timestamp())


def from_epoch(seconds: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds, dt.UTC)


def iso(seconds: int) -> str:
    return from_epoch(seconds).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(text: str) -> int:
    try:
        value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (ValueError, AttributeError):
        raise SmkiError(f"not an ISO 8601 time: {text!r}") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return int(value.timestamp())


@dataclass(frozen=True)
class Record:
    """A certificate as the repository holds it.

    `view()` is the part every client sees (web service and extracts); `party` and
    `network_party` (whose premises a device is on) and the dates stay in the repository.
    """

    serial: int
    kind: str
    eui: bytes
    role: int | None
    usage: str
    status: str
    manufacturing: bool
    body: bytes
    party: bytes | None = None
    network_party: bytes | None = None
    issued_at: int = 0
    changed_at: int = 0

    @property
    def by_subject_alt_name(self) -> bool:
        return self.kind == DEVICE

    def view(self) -> tuple:
        """(serial, device?, EUI, status, usage, role, manufacturing, DER body)."""
        return (
            self.serial,
            self.by_subject_alt_name,
            self.eui,
            self.status,
            self.usage,
            self.role,
            self.manufacturing,
            self.body,
        )
