"""What gbcs keeps on disk between runs, under $XDG_CACHE_HOME/gbhan (~/.cache/gbhan): the
compiled parsers (gbcs.strict) and parsed keystores (gbcs.keystore).

An entry is marshal'd built-in values behind a mark and the CRC-32 of those bytes, so a
truncated or damaged file reads as missing (and is made again), never as wrong data. A
checksum against accident, not attack: whoever can write the cache can write any checksum
beside it (a SHA-256 here cost ~2.5 ms of each check's start for the parsers' 650 kB, in
CPython's own SHA-256, gbcs.digest). The mark, also in every entry's key, tells these
entries from the SHA-256 ones of gbhan before December 2026: the two never share a name. marshal, not
pickle, so reading an entry runs no code. Entries are written under a per-process name and
renamed into place: a reader never sees half of one. A cache that cannot be read or
written is simply not used. The cache is trusted as the user's home directory is.
"""

from __future__ import annotations

import marshal
import os
from binascii import crc32
from pathlib import Path
from typing import Any

# an entry's format, which its first bytes and its key (so its name: gbcs.strict,
# gbcs.keystore) carry; then the CRC-32 of the marshal'd value, then the value
ENTRY_FORMAT = "gbc1"
_MARK = ENTRY_FORMAT.encode()
_HEAD = len(_MARK) + 4
_READ_FLAGS = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
# the first read's buffer: larger than nearly every file gbcs reads (a GBCS message's hex is
# at most a few kB), small enough not to cost: a fresh process that read each of RTDS's 1,103
# files into a 64 kB buffer spent 10.3 ms on the reads, 5.8 ms with 16 kB
_CHUNK = 1 << 14


def read_bytes(path: str | os.PathLike[str]) -> bytes:
    """A whole file's bytes through os.open and os.read, raising OSError as open() does:
    half the CPU of open(path, "rb").read() for the small files gbcs reads by the
    hundred (a check's messages, a keystore's PEM files, these entries), without the
    buffered file object, its fstat and its terminal check."""
    fd = os.open(path, _READ_FLAGS)
    try:
        chunks = []
        while chunk := os.read(fd, _CHUNK):
            chunks.append(chunk)
    finally:
        os.close(fd)
    return b"".join(chunks)


def cache_dir() -> Path:
    """$XDG_CACHE_HOME/gbhan, else ~/.cache/gbhan."""
    root = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(root) / "gbhan"


def load_entry(path: Path) -> object | None:
    """The value kept at `path`, or None when it is missing, unreadable or not intact."""
    try:
        raw = read_bytes(path)
    except OSError:
        return None
    body = raw[_HEAD:]
    if len(raw) <= _HEAD or raw[:_HEAD] != _head(body):
        return None
    try:
        value: object = marshal.loads(body)
    except (ValueError, EOFError, TypeError):
        return None
    return value


def _head(body: bytes) -> bytes:
    return _MARK + crc32(body).to_bytes(4, "big")


def store_entry(path: Path, value: Any) -> None:
    """Keep `value` (built-in types only) at `path`, atomically; silently not when the cache
    cannot be written."""
    try:
        body = marshal.dumps(value)
    except ValueError:  # not marshallable: a bug in the caller, but the cache is optional
        return
    staging = path.with_name(f".{path.name}.{os.getpid()}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(staging, "xb") as out:
            out.write(_head(body) + body)
        os.replace(staging, path)
    except OSError:
        try:
            staging.unlink()
        except OSError:
            pass
