"""The conformance rules and their verdicts: what a check holds a decoded message and its
security report to (`RULES`, each failure a `Verdict` at its byte offset), and where it
finds the messages. gbcs.check runs the whole check (the security checks in process, or
in workers); here is what decodes and judges without running a security check, so that a
two-process check's first process, which leaves those to the process it forks
(gbcs.verifier), never loads cryptography.
"""

from __future__ import annotations

import base64
import binascii
import collections
import datetime as _dt
import os
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from .diskcache import read_bytes
from .errors import GbcsError, InputError
from .framing import DD_HEADER_FIELDS
from .message import Message, decode, encode
from .outcomes import (
    EXPIRED,
    FAILED,
    FRAGMENT_HEADER,
    NOT_YET_VALID,
    UNVERIFIABLE,
    VERIFIED,
    CheckResult,
    SecurityInputs,
    SecurityReport,
    no_protection,
    report_from_values,
)
from .payload import DLMS_KINDS, GBZ_KINDS, encrypted_fragments
from .primitives import encode_length, noncanonical_reads
from .record import FrozenRecord, Record

if TYPE_CHECKING:
    from .verifier import Verifier

# rule -> what it holds a message to (the names verdicts, --json and docs/gbcs.md use)
RULES: dict[str, str] = {
    "decode": "every layer decodes (the layer and offset where it does not)",
    "trailing-bytes": "nothing follows the last field of a layer",
    "re-encode": "the decoded tree re-encodes to the same bytes",
    "header": "header fields hold their defined values (empty DD header fields, security "
    "header 11 00000000, CRA flag 1-3, a signature field inside a MAC'd APDU, a COSEM "
    "date-time whose fields are in range and whose date exists)",
    "unknown-message-code": "the message code is one GBCS defines",
    "direction": "the CRA flag is one the use case allows (command/response or alert), and "
    "the payload's direction matches it",
    "payload-kind": "the payload's type is the one the message code carries",
    "critical-unsigned": "a critical use case's command, response or alert is signed",
    "invoke-id": "a DLMS payload's long invoke id carries the low 24 bits of the grouping "
    "header's originator counter",
    "unprotected": "a message other than a pre-command carries a signature or a MAC",
    "signature-invalid": "the signature verifies with the originator's DS key",
    "mac-invalid": "the MAC verifies with the parties' KA keys",
    "decryption-invalid": "every encrypted part decrypts under the parties' KA keys",
    "signature-unverifiable": "the originator's DS key is held (relaxed by allow_unverifiable)",
    "mac-unverifiable": "the KA keys the MAC needs are held (relaxed by allow_unverifiable)",
    "decryption-unverifiable": "the KA keys the encrypted parts need are held (relaxed by "
    "allow_unverifiable)",
    "certificate-expired": "the certificate a check needs has not expired at the clock",
    "certificate-not-yet-valid": "the certificate a check needs is valid at the clock",
    "unreadable": "the input is a message (hex, base64 or binary)",
}
# the only rules `allow_unverifiable` relaxes: a key or certificate not held at all
UNVERIFIABLE_RULES = frozenset(
    ("signature-unverifiable", "mac-unverifiable", "decryption-unverifiable")
)

CRA_NAMES = {1: "command", 2: "response", 3: "alert"}
# DLMS payloads name their direction: a request is a command, a response answers one, a
# data-notification is an alert
DLMS_DIRECTION = {
    "dlms-access-request": 1,
    "dlms-access-response": 2,
    "dlms-notification": 3,
}
# payload families by use-case name, where a family of use cases is one device's language
# (ESME: DLMS COSEM; GSME and PPMID: ZigBee GBZ): the fallback for a registry entry that
# declares no payload layer
_FAMILY_BY_PREFIX = (("ECS", "dlms"), ("DBCH", "dlms"), ("GCS", "gbz"), ("PCS", "gbz"))


class Verdict(FrozenRecord):
    """One rule a message failed: the rule's name, what was found, and where."""

    FIELDS = ("rule", "detail", "offset")
    rule: str
    detail: str
    offset: int | None

    def __init__(self, rule: str, detail: str, offset: int | None = None) -> None:
        vars(self).update(rule=rule, detail=detail, offset=offset)

    @property
    def unverifiable(self) -> bool:
        """True for the rules `allow_unverifiable` relaxes (a key not held at all)."""
        return self.rule in UNVERIFIABLE_RULES

    def __str__(self) -> str:
        where = f" at byte {self.offset} (0x{self.offset:X})" if self.offset is not None else ""
        return f"{self.rule}{where}: {self.detail}"

    def as_dict(self) -> dict[str, object]:
        return {"rule": self.rule, "offset": self.offset, "detail": self.detail}


class FileResult(Record):
    """What happened to one message: its verdicts, and those relaxed (`allowed`)."""

    FIELDS = (
        "name",
        "decoded",
        "reencoded",
        "message",
        "security",
        "verdicts",
        "allowed",
        "kind",
        "message_code",
        "use_case",
        "kept_tally",
    )
    HIDDEN = frozenset(("kept_tally",))

    def __init__(
        self,
        name: str,
        decoded: bool = False,
        reencoded: bool = False,
        message: Message | None = None,
        security: SecurityReport | None = None,
        verdicts: list[Verdict] | None = None,
        allowed: list[Verdict] | None = None,  # relaxed by allow_unverifiable
        kind: str = "",
        # kept from `message`, which a sweep drops (and a worker process never sends back)
        message_code: int | None = None,
        use_case: str | None = None,
        # what `tally` counts, when `security` did not travel (a worker process's result)
        kept_tally: tuple[int, int, int, int] | None = None,
    ) -> None:
        self.name = name
        self.decoded = decoded
        self.reencoded = reencoded
        self.message = message
        self.security = security
        self.verdicts: list[Verdict] = [] if verdicts is None else verdicts
        self.allowed: list[Verdict] = [] if allowed is None else allowed
        self.kind = kind
        self.message_code = message_code
        self.use_case = use_case
        self.kept_tally = kept_tally

    def __reduce__(self) -> tuple[object, ...]:
        """Pickled as its `values()`: without the decoded tree or the security report."""
        return (result_from_values, self.values())

    def values(self) -> tuple[object, ...]:
        """What travels back from a worker process, as built-in values that marshal
        carries (so a check need not import pickle: gbcs.forked.frame): the verdicts,
        the names and the tally, without the decoded tree or the security report.
        `result_from_values` makes the result again."""
        return (
            self.name,
            self.decoded,
            self.reencoded,
            [(v.rule, v.detail, v.offset) for v in self.verdicts],
            [(v.rule, v.detail, v.offset) for v in self.allowed],
            self.kind,
            self.message_code,
            self.use_case,
            self.tally(),
        )

    def tally(self) -> tuple[int, int, int, int]:
        """(signatures, MACs, encrypted parts verified; checks that could not run for want
        of a key, not for a certificate's dates), as Totals counts them."""
        if self.kept_tally is not None:
            return self.kept_tally
        signatures = macs = decrypted = missing = 0
        for check in self.security.checks if self.security is not None else ():
            if check.status == VERIFIED:
                name = check.check
                if name.startswith("signature"):
                    signatures += 1
                elif name.startswith("mac"):
                    macs += 1
                elif name.startswith("decrypt"):
                    decrypted += 1
            elif check.status == UNVERIFIABLE and check.cause not in (EXPIRED, NOT_YET_VALID):
                missing += 1
        return signatures, macs, decrypted, missing

    @property
    def failures(self) -> list[str]:
        return [str(v) for v in self.verdicts]

    @property
    def failed(self) -> bool:
        return bool(self.verdicts)

    def count(self, check: str, status: str) -> int:
        if self.security is None:
            return 0
        return sum(
            1 for c in self.security.checks if c.status == status and c.check.startswith(check)
        )

    def count_missing_keys(self) -> int:
        """Checks that could not run for want of a key (not for a certificate's dates)."""
        return self.tally()[3]

    def as_dict(self) -> dict[str, object]:
        code = self.message_code
        return {
            "source": self.name,
            "passed": not self.failed,
            "shape": self.kind or None,
            "message_code": None if code is None else f"0x{code:04X}",
            "use_case": self.use_case,
            "verdicts": [v.as_dict() for v in self.verdicts],
            "allowed_unverifiable": [v.as_dict() for v in self.allowed],
        }


def result_from_values(
    name: str,
    decoded: bool,
    reencoded: bool,
    verdicts: list[tuple[str, str, int | None]],
    allowed: list[tuple[str, str, int | None]],
    kind: str,
    message_code: int | None,
    use_case: str | None,
    tally: tuple[int, int, int, int],
) -> FileResult:
    return FileResult(
        name,
        decoded,
        reencoded,
        verdicts=[Verdict(*v) for v in verdicts],
        allowed=[Verdict(*v) for v in allowed],
        kind=kind,
        message_code=message_code,
        use_case=use_case,
        kept_tally=tally,
    )


class Totals(Record):
    """What a sweep found, counted: the line `gbhan gbcs check` ends with."""

    FIELDS = (
        "files",
        "decoded",
        "reencoded",
        "signatures",
        "macs",
        "decrypted",
        "unverifiable",
        "failed",
        "rules",
    )

    def __init__(
        self,
        files: int = 0,
        decoded: int = 0,
        reencoded: int = 0,
        signatures: int = 0,
        macs: int = 0,
        decrypted: int = 0,
        unverifiable: int = 0,
        failed: int = 0,
        rules: dict[str, int] | None = None,
    ) -> None:
        self.files = files
        self.decoded = decoded
        self.reencoded = reencoded
        self.signatures = signatures
        self.macs = macs
        self.decrypted = decrypted
        self.unverifiable = unverifiable
        self.failed = failed
        self.rules: dict[str, int] = {} if rules is None else rules

    def add(self, result: FileResult) -> None:
        self.files += 1
        self.decoded += result.decoded
        self.reencoded += result.reencoded
        signatures, macs, decrypted, missing = result.tally()
        self.signatures += signatures
        self.macs += macs
        self.decrypted += decrypted
        self.unverifiable += missing
        self.failed += result.failed
        for verdict in result.verdicts:
            self.rules[verdict.rule] = self.rules.get(verdict.rule, 0) + 1

    def line(self) -> str:
        return (
            f"checked {self.files} files: {self.decoded} decoded, {self.reencoded} re-encoded "
            f"identical, {self.signatures} signatures verified, {self.macs} MACs verified, "
            f"{self.decrypted} decrypted, {self.unverifiable} unverifiable (no key), "
            f"{self.failed} failed"
        )

    def as_dict(self) -> dict[str, object]:
        out: dict[str, object] = dict(self.__dict__)
        out["rules"] = dict(sorted(self.rules.items()))
        return out


def read_hex_file(path: Path) -> bytes:
    """RTDS files are one line of hex; tolerate white space and a trailing newline."""
    text = "".join(path.read_text(encoding="ascii", errors="replace").split())
    try:
        return bytes.fromhex(text)
    except ValueError as exc:
        raise GbcsError("file", f"not hexadecimal: {exc}") from None


# --- where messages come from -----------------------------------------------------------------
# the first bytes of a GBCS message: General-Ciphering, General-Signing, a GBT block
MESSAGE_TAGS = (0xDD, 0xDF, 0xE0)
_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")


class Source(FrozenRecord):
    """One message to check and where it came from (`data` None: `error` says why, or
    `path` is the file to read it from when it is checked)."""

    FIELDS = ("name", "data", "error", "path")
    name: str
    data: bytes | None
    error: str
    path: str | None

    def __init__(
        self, name: str, data: bytes | None, error: str = "", path: str | None = None
    ) -> None:
        vars(self).update(name=name, data=data, error=error, path=path)

    def read(self) -> Source:
        """This source with its file read (itself when already read or unreadable)."""
        if self.data is not None or self.path is None:
            return self
        return _file_source(self.name, self.path)


def parse_message_text(text: str) -> bytes | None:
    """A message written as hex (any length, white space ignored) or base64 (standard or
    URL-safe, padded or not, as DUIS carries GBCS payloads); None if it is neither.

    Hex and base64 share an alphabet, so hex wins when its bytes start like a message, then
    base64 when its bytes do, then hex whatever it holds."""
    try:  # the usual case: hex pairs (white space between them), starting like a message
        as_bytes = bytes.fromhex(text)
    except ValueError:
        pass
    else:
        if as_bytes[:1] and as_bytes[0] in MESSAGE_TAGS:
            return as_bytes
    compact = "".join(text.split())
    if not compact:
        return None
    as_hex = None
    if len(compact) % 2 == 0 and set(compact) <= _HEX_DIGITS:
        as_hex = bytes.fromhex(compact)
        if as_hex[0] in MESSAGE_TAGS:
            return as_hex
    as_base64 = None
    padded = compact + "=" * (-len(compact) % 4)
    for alphabet in (None, b"-_"):
        try:
            as_base64 = base64.b64decode(padded, altchars=alphabet, validate=True)
        except (binascii.Error, ValueError):
            continue
        break
    if as_base64 and as_base64[0] in MESSAGE_TAGS:
        return as_base64
    # hex that is no message still goes to the decoder, which says where it goes wrong; base64
    # that is none is more likely a word (or a mistyped file name) than a message
    return as_hex


def read_message_file(path: Path | str) -> bytes:
    """A file holding one message as hex, base64 or raw bytes; InputError if unreadable."""
    try:
        raw = read_bytes(path)
    except OSError as exc:
        raise InputError("input", f"{path}: {exc.strerror or exc}") from None
    return _message_from_bytes(raw)


def _message_from_bytes(raw: bytes) -> bytes:
    if raw[:1] and raw[0] in MESSAGE_TAGS:
        return raw  # binary, as captured
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError:
        return raw
    data = parse_message_text(text)
    if data is None:
        raise InputError("input", "neither hex nor base64 nor a binary message")
    return data


def _is_path(source: str) -> Path | None:
    """The path a source names, if it exists (a long hex string is not a file name)."""
    if len(source) > 4096 or "\n" in source:
        return None
    path = Path(source)
    try:
        return path if path.exists() else None
    except OSError:  # e.g. ENAMETOOLONG: a name no file can have
        return None


def resolve_sources(sources: Sequence[str]) -> list[tuple[str, str | Path | bytes]]:
    """Each command-line source as (kind, value): ("dir"|"file", Path), ("text", bytes) for
    hex or base64, ("stdin", "-"). InputError names the first that is none of these."""
    resolved: list[tuple[str, str | Path | bytes]] = []
    for number, source in enumerate(sources, 1):
        if source == "-":
            resolved.append(("stdin", "-"))
            continue
        path = _is_path(source)
        if path is not None:
            resolved.append(("dir" if path.is_dir() else "file", path))
            continue
        data = parse_message_text(source)
        if data is None:
            shown = source if len(source) <= 60 else source[:57] + "..."
            raise InputError(
                "input",
                f"source {number} ({shown!r}) is neither a file, a folder, hex, base64 nor -",
            )
        resolved.append(("text", data))
    return resolved


def iter_sources(
    sources: Sequence[str], stdin: BinaryIO | None = None, *, read: bool = True
) -> Iterator[Source]:
    """Every message the sources hold, in order, each named for where it came from: a
    folder's *.hex files (relative to it), a file (as given), `hex#N` / `arg#N` for the
    Nth argument, `-` or `-:LINE` for standard input (one message a line, or one binary).

    `read=False`: files are named, not read (`Source.read` reads one), so that a check in
    several processes reads each file in the process that checks it."""
    for number, (kind, value) in enumerate(resolve_sources(sources), 1):
        if kind == "dir":
            assert isinstance(value, Path)
            for name, path in _message_files_below(value):
                yield _file_source(name, path) if read else Source(name, None, path=path)
        elif kind == "file":
            assert isinstance(value, Path)
            yield (
                _file_source(str(value), value)
                if read
                else Source(str(value), None, path=str(value))
            )
        elif kind == "text":
            assert isinstance(value, bytes)
            yield Source(f"arg#{number}", value)
        else:
            yield from _stdin_sources(stdin)


def _file_source(name: str, path: Path | str) -> Source:
    try:
        return Source(name, read_message_file(path))
    except InputError as exc:
        return Source(name, None, exc.detail)


def _stdin_sources(stdin: BinaryIO | None) -> Iterator[Source]:
    raw = stdin.read() if stdin is not None else b""
    if raw[:1] and raw[0] in MESSAGE_TAGS:
        yield Source("-", raw)
        return
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError:
        yield Source("-", None, "standard input is neither text nor a binary message")
        return
    lines = [(n, line.strip()) for n, line in enumerate(text.splitlines(), 1) if line.strip()]
    if not lines:
        yield Source("-", None, "standard input is empty")
    for number, line in lines:
        name = "-" if len(lines) == 1 else f"-:{number}"
        data = parse_message_text(line)
        if data is None:
            yield Source(name, None, "neither hex nor base64")
        else:
            yield Source(name, data)


def find_message_files(root: Path) -> list[Path]:
    """Every *.HEX / *.hex file below root (or root itself), in a stable order."""
    if root.is_file():
        return [root]
    return [Path(path) for _, path in _message_files_below(root)]


def _message_files_below(root: Path) -> list[tuple[str, str]]:
    """(name relative to root, path) of every *.hex file below root, in the order of their
    paths' parts (as sorting Paths gives). os.scandir and strings, not Path.rglob: pathlib's
    per-path objects were most of the time a thousand-file folder took to list, and a
    directory entry says whether it is a file without another stat (linked folders are not
    followed, as in rglob; a link to a file counts as the file)."""
    found: list[tuple[tuple[str, ...], str, str]] = []
    # (parts below root, the relative name's prefix, the folder's path)
    pending: list[tuple[tuple[str, ...], str, str]] = [((), "", str(root))]
    while pending:
        parts, prefix, folder = pending.pop()
        try:
            with os.scandir(folder) as listing:
                entries = list(listing)
        except OSError:  # unreadable below the root: skipped, as os.walk and rglob do
            continue
        for entry in entries:
            name = entry.name
            if entry.is_dir(follow_symlinks=False):
                pending.append(((*parts, name), prefix + name + os.sep, entry.path))
            # a .hex suffix as os.path.splitext finds one: not a name of dots and ".hex"
            elif name[-4:].lower() == ".hex" and name[:-4].strip(".") and entry.is_file():
                found.append(((*parts, name), prefix + name, entry.path))
    found.sort(key=lambda item: item[0])
    return [(name, path) for _, name, path in found]


def unreadable(source: Source) -> FileResult:
    """The result of a source that could not be read (`source.error` says why)."""
    return FileResult(source.name, verdicts=[Verdict("unreadable", source.error)])


def decode_and_reencode(name: str, data: bytes) -> tuple[FileResult, Message | None]:
    """A message's result so far (decoded, re-encoded or the verdict why not) and its
    decoded tree (None if it does not decode)."""
    result = FileResult(name)
    before = noncanonical_reads()
    try:
        message = decode(data, defer=True)  # the trees a check reads are built when read
    except GbcsError as exc:
        rule = "trailing-bytes" if "trailing" in exc.detail else "decode"
        result.verdicts.append(Verdict(rule, str(exc), exc.offset))
        return result, None
    result.decoded = True
    result.message = message
    result.kind = message.kind
    result.message_code = message.message_code
    result.use_case = None if message.use_case is None else message.use_case.name
    verdict = reencode_verdict(message, data, canonical=noncanonical_reads() == before)
    if verdict is None:
        result.reencoded = True
    else:
        result.verdicts.append(verdict)
    return result, message


def judge(
    result: FileResult,
    message: Message,
    data: bytes,
    report: SecurityReport,
    keep_report: bool,
    allow_unverifiable: bool,
) -> FileResult:
    """`result` with every verdict on the message's form and its security `report` (kept
    on the result if `keep_report`), those allow_unverifiable relaxes set apart."""
    result.security = report if keep_report else None
    found = form_verdicts(message, data) + security_verdicts(message, data, report)
    found += unchecked_encryption(message, report)
    for verdict in found:
        if verdict.unverifiable and allow_unverifiable:
            result.allowed.append(verdict)
        else:
            result.verdicts.append(verdict)
    return result


# Payload kinds that re-encode to their own bytes when decode counted no non-canonical
# form (see gbcs.primitives.note_noncanonical). The DLMS readers count every form their
# writers write otherwise. A DER tree needs no count: it keeps each length form as it came
# (padded_length_bytes) and each value as its bytes, and its reader refuses a tag number
# written in more digits than it needs. GBZ headers are fixed-size fields read whole, and
# the ZCL payloads' Structs are made of fixed-size integers and bytes, counts and lengths
# their items must fill, and choices made again from the same values, but for ZCL's half
# and single precision floats, whose NaNs are counted (zcl.ZclFloat). A kind not listed
# here is always rebuilt.
_CANONICAL_READERS = frozenset((*DLMS_KINDS.values(), "asn1", *GBZ_KINDS))


def reencode_verdict(message: Message, data: bytes, *, canonical: bool) -> Verdict | None:
    """None when `message` (decoded from `data`) re-encodes to `data`, else the re-encode
    verdict at the first differing byte.

    `canonical`: decode counted no non-canonical form. The framing readers count every form
    their writers write otherwise, so then the framing is `data`'s own, and so is a payload
    of the kinds in _CANONICAL_READERS: nothing is rebuilt. Otherwise the whole message is
    rebuilt, to say where it differs. tests/gbcs/test_strict_check.py and the mutation sweep
    hold this to the whole rebuild."""
    if canonical and message.payload_kind in _CANONICAL_READERS:
        return None
    try:
        again = encode(message)
    except GbcsError as exc:
        return Verdict("re-encode", str(exc), exc.offset)
    if again == data:
        return None
    offset = _first_difference(data, again)
    return Verdict("re-encode", "the decoded tree re-encodes differently", offset)


def security_verdicts(message: Message, data: bytes, report: SecurityReport) -> list[Verdict]:
    """The failed and unverifiable security checks as verdicts, each at its offset."""
    found = []
    for check in report.checks:
        if check.status not in (FAILED, UNVERIFIABLE):
            continue
        what = check.check.split("[")[0]
        if what == "signature":
            offset: int | None = len(data) - (12 if message.mac is not None else 0) - 64
        elif what == "mac":
            offset = len(data) - 12
        else:
            offset = _fragment_offset(message, data, check.check)
        found.append(Verdict(_security_rule(what, check), _security_text(check), offset))
    return found


def unchecked_encryption(message: Message, report: SecurityReport) -> list[Verdict]:
    """Encrypted parts the security checks never reached (a payload layout whose fragments
    the codec does not yet collect, such as GCS53's GBZ alert): not checked is not
    verified, so each is unverifiable. Only GBZ payloads hold encrypted components (DLMS
    ones are all collected), and every encrypted part starts with a FRAGMENT_HEADER."""
    if message.payload_kind not in GBZ_KINDS or FRAGMENT_HEADER not in message.apdu:
        return []
    held = _count_encrypted(message.payload)
    missed = held - len(report.decryption)
    if missed <= 0:
        return []
    return [
        Verdict(
            "decryption-unverifiable",
            f"{missed} of {held} encrypted part(s) of this {message.payload_kind} payload "
            "were never decrypted: the codec cannot find them in this layout",
            message.content_offset,
        )
    ]


def _count_encrypted(value: object) -> int:
    """Encrypted GBZ components anywhere in a decoded payload (an `encrypted_frame`)."""
    if isinstance(value, dict):
        own = 1 if value.get("encrypted_frame") is not None else 0
        return own + sum(_count_encrypted(v) for v in value.values() if isinstance(v, dict | list))
    if isinstance(value, list):
        return sum(_count_encrypted(v) for v in value)
    return 0


def _fragment_offset(message: Message, data: bytes, name: str) -> int | None:
    """Where the encrypted fragment `decryption[N]` starts in the message."""
    try:
        number = int(name[name.index("[") + 1 : name.index("]")])
        fragment = encrypted_fragments(message.payload_kind, message.payload)[number]
    except (ValueError, IndexError, GbcsError):
        return None
    at = data.find(bytes(fragment))
    return None if at < 0 else at


def _security_rule(what: str, check: CheckResult) -> str:
    if check.status == FAILED:
        return f"{what}-invalid"
    if check.cause in (EXPIRED, NOT_YET_VALID):
        return check.cause
    return f"{what}-unverifiable"


def _security_text(check: CheckResult) -> str:
    reason = check.reason or check.status
    return f"{check.check}: {reason}"


def form_verdicts(message: Message, data: bytes) -> list[Verdict]:
    """Every rule on a message's form: header values, message code, direction, payload
    kind, and the protection its use case requires."""
    found = _header_verdicts(message, data)
    cra = message.cra_flag
    use_case = message.use_case
    code_at = _message_code_offset(message)
    if use_case is None:
        found.append(
            Verdict(
                "unknown-message-code",
                f"message code 0x{message.message_code:04X} is not a GBCS use case",
                code_at,
            )
        )
    else:
        allowed = _allowed_cra(use_case)
        if allowed is not None and cra in CRA_NAMES and cra not in allowed:
            names = " or ".join(CRA_NAMES[c] for c in sorted(allowed))
            found.append(
                Verdict(
                    "direction",
                    f"{use_case.name} (0x{use_case.code:04X}) is a {names}, "
                    f"but the CRA flag says {CRA_NAMES[cra]}",
                    message.apdu_offset + 2,
                )
            )
        expected = _payload_mismatch(use_case, message.payload_kind)
        if expected is not None:
            found.append(
                Verdict(
                    "payload-kind",
                    f"{use_case.name} (0x{use_case.code:04X}) carries a {expected.upper()} "
                    f"payload, not {message.payload_kind}",
                    message.content_offset,
                )
            )
        if use_case.critical and not message.signature and message.kind != "precommand":
            found.append(
                Verdict(
                    "critical-unsigned",
                    f"{use_case.name} is a critical use case and this {message.cra} "
                    "carries no signature",
                    _signature_field_offset(message),
                )
            )
    direction = DLMS_DIRECTION.get(message.payload_kind)
    if direction is not None:
        found.extend(_invoke_id_verdicts(message))
    if direction is not None and cra in CRA_NAMES and direction != cra:
        found.append(
            Verdict(
                "direction",
                f"a {message.payload_kind} payload under a CRA flag of {CRA_NAMES[cra]} "
                f"(it belongs in a {CRA_NAMES[direction]})",
                message.content_offset,
            )
        )
    if message.kind == "unsigned" or (message.kind == "precommand" and cra != 1):
        found.append(
            Verdict(
                "unprotected",
                f"a {message.cra} with neither a signature nor a MAC",
                _signature_field_offset(message),
            )
        )
    return found


def _invoke_id_verdicts(message: Message) -> list[Verdict]:
    """A DLMS APDU's long-invoke-id-and-priority: a priority byte, then the low 24 bits of
    the originator counter (primer 5.5 and 8.1; every DLMS payload of RTDS), so that a
    response's invoke id and its counter answer the same command."""
    invoke = message.invoke_id
    if invoke is None:
        return []
    expected = message.counter & 0xFFFFFF
    if invoke & 0xFFFFFF == expected:
        return []
    return [
        Verdict(
            "invoke-id",
            f"the DLMS invoke id is 0x{invoke & 0xFFFFFF:06X}, not the low 24 bits of the "
            f"originator counter {message.counter} (0x{expected:06X})",
            message.content_offset + 2,  # after the tag and the priority byte
        )
    ]


def _header_verdicts(message: Message, data: bytes) -> list[Verdict]:
    found = []
    envelope = message.envelope
    if envelope is not None:
        pos = 1
        for name in DD_HEADER_FIELDS:
            value = bytes(envelope[name])
            if value:
                found.append(
                    Verdict(
                        "header",
                        f"DD {name.replace('_', ' ')} must be empty in GBCS, holds "
                        f"{len(value)} byte(s)",
                        pos,
                    )
                )
            pos += len(encode_length(len(value))) + len(value)
        service = envelope["ciphered_service"]
        if service["security_control"] != 0x11 or service["invocation_counter"] != 0:
            found.append(
                Verdict(
                    "header",
                    f"security header {service['security_control']:02X} "
                    f"{service['invocation_counter']:08X} is not 11 00000000",
                    message.apdu_offset - 5,
                )
            )
        if message.signature is None:
            found.append(
                Verdict(
                    "header",
                    "a MAC'd APDU carries a signature field (00 or 40 + r || s)",
                    message.apdu_offset + len(message.apdu),
                )
            )
    found.extend(_date_time_verdicts(message))
    if message.cra_flag not in CRA_NAMES:
        found.append(
            Verdict(
                "header",
                f"CRA flag {message.cra_flag} is not 1 (command), 2 (response) or 3 (alert)",
                message.apdu_offset + 2,
            )
        )
    return found


# COSEM date-time fields (DLMS Blue Book 4.1.6.1): (name, offset in the 12 bytes, allowed
# values besides "not specified"); month FD/FE are daylight saving's end and start, day
# FD/FE the second last and last day of the month
_DATE_TIME_FIELDS = (
    ("month", 2, frozenset(range(1, 13)) | {0xFD, 0xFE, 0xFF}),
    ("day", 3, frozenset(range(1, 32)) | {0xFD, 0xFE, 0xFF}),
    ("day_of_week", 4, frozenset(range(1, 8)) | {0xFF}),
    ("hour", 5, frozenset(range(24)) | {0xFF}),
    ("minute", 6, frozenset(range(60)) | {0xFF}),
    ("second", 7, frozenset(range(60)) | {0xFF}),
    ("hundredths", 8, frozenset(range(100)) | {0xFF}),
)
_DEVIATION_UNSPECIFIED = -0x8000
_DATE_TIME_AT = 1 + 10 + 9 + 9 + 1  # in the DF APDU: after the 0C length byte


def _date_time_verdicts(message: Message) -> list[Verdict]:
    """The grouping header's date-time, when present, holds a COSEM date-time."""
    value = message.header["date_time"]
    if value is None:
        return []
    base = message.apdu_offset + _DATE_TIME_AT
    found = []
    for name, at, allowed in _DATE_TIME_FIELDS:
        if value[name] not in allowed:
            found.append(
                Verdict("header", f"date-time {name} {value[name]} is out of range", base + at)
            )
    deviation = value["deviation"]
    if deviation != _DEVIATION_UNSPECIFIED and not -720 <= deviation <= 720:
        found.append(
            Verdict(
                "header",
                f"date-time deviation {deviation} minutes is outside -720..720",
                base + 9,
            )
        )
    year, month, day = value["year"], value["month"], value["day"]
    if not found and year != 0xFFFF and month <= 12 and day <= 31:
        try:
            _dt.date(year, month, day)
        except ValueError:
            found.append(
                Verdict("header", f"date-time {year}-{month:02}-{day:02} is no date", base)
            )
    return found


def _message_code_offset(message: Message) -> int:
    """Where the message code sits: after DF, the transaction id, both system titles, the
    date-time and the other information's length byte."""
    date_time = 1 if message.header["date_time"] is None else 13
    return message.apdu_offset + 1 + 10 + 9 + 9 + date_time + 1


def _signature_field_offset(message: Message) -> int:
    sig_field = 0 if message.signature is None else 1 + len(message.signature)
    return message.apdu_offset + len(message.apdu) - sig_field


def _allowed_cra(use_case: object) -> frozenset[int] | None:
    """The CRA flags a use case allows: the registry's `cra_flags` (from its direction)
    where it declares one, else its message type (SME.A.*: alerts, SME.C.*: commands and
    their responses)."""
    try:
        flags = getattr(use_case, "cra_flags", None)
    except KeyError:  # an entry with no direction declared
        flags = None
    if flags:
        return frozenset(int(flag) for flag in flags)
    message_type = getattr(use_case, "message_type", None) or ""
    if message_type.startswith("SME.A."):
        return frozenset((3,))
    if message_type.startswith("SME.C."):
        return frozenset((1, 2))
    return None


def _family(kind: str) -> str | None:
    text = kind.lower()
    if "dlms" in text:
        return "dlms"
    if "gbz" in text or "zigbee" in text:
        return "gbz"
    if "asn1" in text or "asn.1" in text or "der" in text:
        return "asn1"
    return None


def _payload_mismatch(use_case: object, kind: str) -> str | None:
    """The payload layer a use case carries when `kind` is not it, else None: the
    registry's `payload` and `accepts` where it declares them, its declared ASN.1
    encoding, else its device family's language."""
    declared = getattr(use_case, "payload", None)
    accepts = getattr(use_case, "accepts", None)
    if isinstance(declared, str) and declared and callable(accepts):
        try:
            return None if accepts(kind) else declared
        except KeyError:  # a payload layer the registry does not list
            pass
    expected = None
    if getattr(use_case, "encoding", None) == "asn1":
        expected = "asn1"
    else:
        name = str(getattr(use_case, "name", ""))
        for prefix, family in _FAMILY_BY_PREFIX:
            if re.match(prefix + r"\d", name):
                expected = family
    if expected is None or _family(kind) == expected:
        return None
    return expected


# messages whose security inputs go to the verifying process in one frame: a few hundred
# microseconds of its work, so it starts soon and this process seldom waits for the last
_VERIFY_BATCH = 16


def check_with_verifier(
    sources: Iterable[Source],
    verifier: Verifier,
    progress: Callable[[int, FileResult], None] | None = None,
    *,
    allow_unverifiable: bool = False,
) -> Totals:
    """gbcs.check.check_sources with `verifier` (gbcs.verifier): every message decoded and
    judged here, its signature, MAC and encrypted parts checked there; the same output,
    order and totals as one process gives. The verifier is stopped at the end."""
    return tally(_verified_results(sources, verifier, allow_unverifiable), progress)


def tally(
    results: Iterable[FileResult], progress: Callable[[int, FileResult], None] | None
) -> Totals:
    """Each result counted and given to `progress`, in order, its decoded tree dropped
    afterwards (so a large sweep holds no trees)."""
    totals = Totals()
    for index, result in enumerate(results):
        totals.add(result)
        if progress is not None:
            progress(index, result)
        result.message = None
    return totals


def _verified_results(
    sources: Iterable[Source], verifier: Verifier, allow: bool
) -> Iterator[FileResult]:
    """Each result in order: decoded and judged here, with each protected message's
    security checked by `verifier` (its report back in the order sent). A message waits,
    decoded, for its report and for every result before its own."""
    # [result, message, data, report]: message None once judged, report None until back
    waiting: collections.deque[list[Any]] = collections.deque()
    owed: collections.deque[list[Any]] = collections.deque()  # those sent, in order
    batch: list[tuple[Any, ...]] = []
    try:
        for source in sources:
            entry, inputs = _decoded_entry(source.read(), allow)
            waiting.append(entry)
            reports = []
            if inputs is not None:
                batch.append(tuple(inputs))
                owed.append(entry)
                if len(batch) >= _VERIFY_BATCH:
                    verifier.send(batch)
                    batch = []
                    reports = verifier.reports()
            # nothing is given before the verifier has its keystore open (its failure to
            # open one ends the check before any output, as it does in one process)
            if verifier.opened:
                yield from _judged(waiting, owed, reports, allow)
        if batch:
            verifier.send(batch)
        verifier.close_jobs()
        verifier.wait_opened()
        while waiting:
            reports = verifier.wait_reports()
            if owed and not reports:  # a bug: every message sent is reported on, in order
                raise GbcsError("check", "a message's report never came back: check with jobs=1")
            yield from _judged(waiting, owed, reports, allow)
    finally:
        verifier.stop()


def _decoded_entry(source: Source, allow: bool) -> tuple[list[Any], SecurityInputs | None]:
    """A source's entry in the waiting line, [result, message, data, report], and the
    security inputs to send for it; None, with the result complete (message None), when
    nothing is to be verified: unreadable, not decoded, or carrying no protection."""
    if source.data is None:
        return [unreadable(source), None, None, None], None
    result, message = decode_and_reencode(source.name, source.data)
    if message is None:
        return [result, None, None, None], None
    inputs = message.security_inputs()
    if inputs.needs_keys:
        return [result, message, source.data, None], inputs
    judge(result, message, source.data, no_protection(), True, allow)
    result.message = None  # complete: no tree held while it waits behind messages owed
    return [result, None, None, None], None


def _judged(
    waiting: collections.deque[list[Any]],
    owed: collections.deque[list[Any]],
    reports: list[Any],
    allow: bool,
) -> Iterator[FileResult]:
    """The results at the head of `waiting` that are complete, each message judged with its
    report, `reports` going to the messages `owed` one in the order they were sent."""
    for values in reports:
        owed.popleft()[3] = report_from_values(values)
    while waiting and (waiting[0][1] is None or waiting[0][3] is not None):
        result, message, data, report = waiting.popleft()
        if message is not None:
            judge(result, message, data, report, True, allow)
        yield result  # its tree dropped once given on (tally)


def _first_difference(a: bytes, b: bytes) -> int:
    for i, (x, y) in enumerate(zip(a, b, strict=False)):
        if x != y:
            return i
    return min(len(a), len(b))
