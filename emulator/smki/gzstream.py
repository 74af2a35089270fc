"""gzip streams that compress (or decompress) on a second thread and hash what is on disk.

Writing an extract is two jobs: building XML (Python) and deflating it (zlib, which releases
the GIL). Handing 4 MiB chunks to a compressor thread through a short queue runs them side
by side with bounded memory. The SHA-256 of the compressed bytes (what the manifest lists)
is computed on the way, so no file is read twice.
"""

from __future__ import annotations

import hashlib
import queue
import threading
import zlib
from pathlib import Path

from .errors import ExtractError

CHUNK = 4 << 20  # big enough that handing over (and the GIL changing hands) is rare
QUEUE_DEPTH = 3  # chunks in flight: memory stays ~16 MiB whatever the file size
READ_CHUNK = 256 << 10  # compressed bytes per read: about 1.3 MiB of XML once inflated
_GZIP_WBITS = 31  # zlib's gzip container


class GzipSink:
    """A write-only file object; the gzip goes to `path`. Call close() to finish."""

    def __init__(self, path: Path, level: int = 6):
        self.path = Path(path)
        self._file = open(self.path, "wb")  # noqa: SIM115 - closed by the worker thread
        self._compressor = zlib.compressobj(level, zlib.DEFLATED, _GZIP_WBITS)
        self._queue: queue.Queue = queue.Queue(QUEUE_DEPTH)
        self._buffer: list[bytes] = []
        self._buffered = 0
        self._hash = hashlib.sha256()
        self.raw_bytes = 0
        self.gzip_bytes = 0
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._work, name="gzip-sink", daemon=True)
        self._thread.start()

    def write(self, data) -> int:
        if self._error is not None:
            raise ExtractError(f"compressing failed: {self._error}", self.path.name)
        self._buffer.append(bytes(data))
        self._buffered += len(data)
        if self._buffered >= CHUNK:
            self._hand_over()
        return len(data)

    def _hand_over(self) -> None:
        chunk = b"".join(self._buffer)
        self._buffer, self._buffered = [], 0
        self.raw_bytes += len(chunk)
        self._queue.put(chunk)

    def _work(self) -> None:
        try:
            while True:
                chunk = self._queue.get()
                if chunk is None:
                    out = self._compressor.flush()
                else:
                    out = self._compressor.compress(chunk)
                if out:
                    self._hash.update(out)
                    self._file.write(out)
                    self.gzip_bytes += len(out)
                if chunk is None:
                    break
        except BaseException as exc:  # noqa: BLE001 - reported to the writer
            self._error = exc
            while self._queue.get() is not None:  # drain so the writer never blocks
                pass
        finally:
            self._file.close()

    def flush(self) -> None:  # lxml may call it; chunks are handed over by size
        pass

    def close(self) -> str:
        """Finish the file; returns the SHA-256 (hex) of the gzip bytes."""
        if self._buffer:
            self._hand_over()
        self._queue.put(None)
        self._thread.join()
        if self._error is not None:
            raise ExtractError(f"compressing failed: {self._error}", self.path.name)
        return self._hash.hexdigest()


class GzipSource:
    """A read-only file object over a gzip file, decompressed on a second thread.

    `sha256` (hex, of the gzip bytes) is set once the whole file has been read.
    Multi-member gzip files are read through, as any gzip tool would.
    """

    def __init__(self, path: Path):
        self.path = Path(path)
        try:
            self._file = open(self.path, "rb")  # noqa: SIM115 - closed by the worker thread
        except OSError as exc:
            raise ExtractError(f"cannot open: {exc.strerror}", self.path.name) from None
        self._queue: queue.Queue = queue.Queue(QUEUE_DEPTH)
        self._pending = b""
        self._offset = 0
        self._done = False
        self.sha256: str | None = None
        self._error: str | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._work, name="gzip-source", daemon=True)
        self._thread.start()

    def _work(self) -> None:
        digest = hashlib.sha256()
        decompressor = zlib.decompressobj(_GZIP_WBITS)
        try:
            started = False
            while not self._stop.is_set():
                raw = self._file.read(READ_CHUNK)
                if not raw:
                    break
                digest.update(raw)
                data = raw
                while data:
                    out = decompressor.decompress(data)
                    started = True
                    if out:
                        self._queue.put(out)
                    if decompressor.eof:
                        data = decompressor.unused_data
                        decompressor = zlib.decompressobj(_GZIP_WBITS)
                        started = False
                    else:
                        data = b""
            if started and not decompressor.eof:
                raise zlib.error("the file ends before its gzip stream does (truncated)")
            self.sha256 = digest.hexdigest()
        except zlib.error as exc:
            self._error = f"not a valid gzip file: {exc}"
        finally:
            self._file.close()
            self._queue.put(None)

    def read(self, size: int = -1) -> bytes:
        parts = []
        wanted = size if size >= 0 else None
        while wanted is None or wanted > 0:
            if self._offset >= len(self._pending):
                if self._done:
                    break
                chunk = self._queue.get()
                if chunk is None:
                    self._done = True
                    if self._error is not None:
                        raise ExtractError(self._error, self.path.name)
                    break
                self._pending, self._offset = chunk, 0
            end = len(self._pending) if wanted is None else self._offset + wanted
            part = self._pending[self._offset : end]
            self._offset += len(part)
            if wanted is not None:
                wanted -= len(part)
            parts.append(part)
        return b"".join(parts)

    def close(self) -> None:
        """Stop early (on an error elsewhere) without leaving the thread blocked."""
        self._stop.set()
        while not self._done:
            if self._queue.get() is None:
                self._done = True
        self._thread.join()
