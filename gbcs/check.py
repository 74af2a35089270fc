"""The conformance sweep: decode, re-encode and run every security check on a tree of
GBCS messages stored as hex files (RTDS layout), counting what passed, what failed and what
could not be checked for want of a key.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from .errors import GbcsError
from .keystore import Keystore
from .message import Message, decode, encode
from .security import FAILED, UNVERIFIABLE, VERIFIED, SecurityReport, check_message


@dataclass
class FileResult:
    """What happened to one message file."""

    name: str
    decoded: bool = False
    reencoded: bool = False
    message: Message | None = None
    security: SecurityReport | None = None
    failures: list[str] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return bool(self.failures)

    def count(self, check: str, status: str) -> int:
        if self.security is None:
            return 0
        return sum(
            1 for c in self.security.checks if c.status == status and c.check.startswith(check)
        )


@dataclass
class Totals:
    files: int = 0
    decoded: int = 0
    reencoded: int = 0
    signatures: int = 0
    macs: int = 0
    decrypted: int = 0
    unverifiable: int = 0
    failed: int = 0

    def add(self, result: FileResult) -> None:
        self.files += 1
        self.decoded += result.decoded
        self.reencoded += result.reencoded
        self.signatures += result.count("signature", VERIFIED)
        self.macs += result.count("mac", VERIFIED)
        self.decrypted += result.count("decrypt", VERIFIED)
        self.unverifiable += result.count("", UNVERIFIABLE)
        self.failed += result.failed

    def line(self) -> str:
        return (
            f"checked {self.files} files: {self.decoded} decoded, {self.reencoded} re-encoded "
            f"identical, {self.signatures} signatures verified, {self.macs} MACs verified, "
            f"{self.decrypted} decrypted, {self.unverifiable} unverifiable (no key), "
            f"{self.failed} failed"
        )

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


def read_hex_file(path: Path) -> bytes:
    """RTDS files are one line of hex; tolerate white space and a trailing newline."""
    text = "".join(path.read_text(encoding="ascii", errors="replace").split())
    try:
        return bytes.fromhex(text)
    except ValueError as exc:
        raise GbcsError("file", f"not hexadecimal: {exc}") from None


def find_message_files(root: Path) -> list[Path]:
    """Every *.HEX / *.hex file below root (or root itself), in a stable order."""
    if root.is_file():
        return [root]
    return sorted(p for p in root.rglob("*") if p.suffix.lower() == ".hex" and p.is_file())


def check_message_bytes(name: str, data: bytes, keystore: Keystore | None) -> FileResult:
    """Decode, re-encode and (with a keystore) verify one message."""
    result = FileResult(name)
    try:
        message = decode(data)
    except GbcsError as exc:
        result.failures.append(f"decode failed: {exc}")
        return result
    result.decoded = True
    result.message = message
    try:
        again = encode(message)
    except GbcsError as exc:
        result.failures.append(f"re-encode failed: {exc}")
        again = None
    if again is not None:
        if again == data:
            result.reencoded = True
        else:
            result.failures.append(f"re-encode differs at byte {_first_difference(data, again)}")
    if keystore is not None:
        report = check_message(message, keystore)
        result.security = report
        for check in report.checks:
            if check.status == FAILED:
                result.failures.append(f"{check.check} failed: {check.reason}")
    return result


def check_files(
    paths: Iterable[Path],
    keystore: Keystore | None,
    root: Path | None = None,
    progress: Callable[[int, FileResult], None] | None = None,
) -> tuple[list[FileResult], Totals]:
    results: list[FileResult] = []
    totals = Totals()
    for index, path in enumerate(paths):
        name = str(path.relative_to(root)) if root is not None and root.is_dir() else str(path)
        try:
            data = read_hex_file(path)
        except (GbcsError, OSError) as exc:
            result = FileResult(name, failures=[f"unreadable: {exc}"])
        else:
            result = check_message_bytes(name, data, keystore)
        result.message = None  # do not hold every decoded tree of a large sweep
        results.append(result)
        totals.add(result)
        if progress is not None:
            progress(index, result)
    return results, totals


def _first_difference(a: bytes, b: bytes) -> int:
    for i, (x, y) in enumerate(zip(a, b, strict=False)):
        if x != y:
            return i
    return min(len(a), len(b))
