# The event log: append-only segments in a folder, written in batches, so flash wears slowly.
#
# Why this shape: littlefs is copy-on-write, so rewriting a record in place (the old
# fixed-slot ring) or appending to a big file costs a whole 4 KB erase per write. A file of
# at most `segment` bytes (256: under littlefs's inline limit with the Pico's 256-byte
# program size) lives inside its directory's metadata, where an append is a small commit,
# about 0.3 erases (bench/firmware_wear.py). Entries wait in RAM and go to flash together:
# when the batch is full, `flush_ms` after the first one (the board's tick calls tick()), or
# on flush() (mains lost, a fault, close). A power cut loses at most the entries still in
# RAM; what reached flash stays readable.
#
# Record: text length u8, sequence u32, time u32 (ZigBee UTC seconds), text, CRC-32 u32 of
# the rest. Segments are files named by an increasing number; the oldest goes when there are
# more than `keep`. A reader stops a segment at the first record that fails its CRC (a torn
# tail on a filesystem without atomic commits) and a writer never appends after one: it
# starts a new segment. After boot the sequence jumps past every number that may have been
# used by entries lost from RAM, so numbers never repeat and a gap marks a possible loss;
# each boot's first entry is written at once, so that jump is from this boot's numbers.
import binascii
import os
import struct

from micropython import const

from firmware.lib.storage import makedirs

_HEAD = "<BII"
_HEAD_LEN = const(9)
_OVERHEAD = const(13)  # head + CRC
_TEXT_MAX = const(83)
_SEGMENT = const(256)
_KEEP = const(24)
_FLUSH_MS = const(5000)


class EventLog:
    def __init__(self, folder, clock, ticks=None, segment=_SEGMENT, keep=_KEEP,
                 flush_ms=_FLUSH_MS):
        """`clock()` gives the entry's time; `ticks` (an object with ticks_ms/ticks_diff, the
        board clock) enables batching: without it every entry goes to flash at once."""
        self.folder = folder
        self.clock = clock
        self.ticks = ticks
        self.segment = segment
        self.keep = keep
        self.flush_ms = flush_ms
        self._pending = bytearray(segment)
        self._pending_len = 0
        self._pending_since = 0
        # One read buffer for the log's life: reads then allocate nothing that could
        # fragment a small heap (a `log` command on a long-running board).
        self._buf = bytearray(segment)
        self.flushes = 0
        try:
            os.stat(folder)
            existed = True
        except OSError:
            existed = False
            makedirs(folder)
        newest = 0
        names = [int(n) for n in os.listdir(folder) if n.isdigit()]
        names.sort()
        self._seg = names[-1] if names else 0
        self._first = names[0] if names else 0  # the oldest segment on flash
        buf = self._buf
        for seq, _, _ in self._read_all():
            newest = seq
        # a torn tail makes the newest segment count as full: the next write starts another
        n = self._load(self._seg, buf) if names else -1
        self._seg_used = n if n >= 0 and _intact_end(buf, n) == n else segment
        # Entries that were in RAM at a power cut may have used these numbers.
        self.next_seq = newest + 1 + (segment // (_OVERHEAD + 1) if existed else 0)

    # -- writing -----------------------------------------------------------------------------
    def append(self, kind, detail=""):
        text = kind if not detail else kind + " " + detail
        raw = text.encode()[:_TEXT_MAX]
        size = _OVERHEAD + len(raw)
        if self._pending_len + size > self.segment:
            self.flush()
        seq = self.next_seq
        self.next_seq = seq + 1
        buf = self._pending
        at = self._pending_len
        struct.pack_into(_HEAD, buf, at, len(raw), seq, self.clock())
        buf[at + _HEAD_LEN:at + _HEAD_LEN + len(raw)] = raw
        end = at + size - 4
        struct.pack_into("<I", buf, end, binascii.crc32(memoryview(buf)[at:end]))
        if at == 0 and self.ticks is not None:
            self._pending_since = self.ticks.ticks_ms()
        self._pending_len = at + size
        if self.ticks is None or not self.flushes:
            # This boot's first entry goes to flash at once: the next boot's jump then starts
            # past it, not from an older base a quick second cut would leave (numbers the
            # console had shown, reused). One small write a boot.
            self.flush()
        return seq

    def tick(self):
        """Flush a batch that has waited `flush_ms`; the board calls this from its tick."""
        if self._pending_len and self.ticks is not None and self.ticks.ticks_diff(
                self.ticks.ticks_ms(), self._pending_since) >= self.flush_ms:
            self.flush()

    def flush(self):
        n = self._pending_len
        if not n:
            return
        if self._seg_used + n > self.segment:
            self._seg += 1
            self._seg_used = 0
            while self._first <= self._seg - self.keep:
                try:
                    os.remove("%s/%d" % (self.folder, self._first))
                except OSError:
                    pass
                self._first += 1
        f = open("%s/%d" % (self.folder, self._seg), "ab")
        try:
            f.write(memoryview(self._pending)[:n])
        finally:
            f.close()
        self._seg_used += n
        self._pending_len = 0
        self.flushes += 1

    def close(self):
        self.flush()

    # -- reading -----------------------------------------------------------------------------
    def last(self, count):
        """Yield the newest `count` intact entries, oldest first: one pass counts, the next
        yields, so no list of entries is kept in RAM. The caller may append between entries
        (the console yields between lines), and an append may flush the batch: entries then
        move from RAM to flash behind the walk. So the walk yields by sequence number (they
        only grow) and, after any flush, starts again from the oldest segment, yielding only
        what is newer than what it has yielded. (Flash and RAM have a loop each, not one
        shared generator: a new name costs a qstr, and the pool is at its step; the switch's
        label test runs out of heap with one.)"""
        total = 0
        for _ in self._read_all():
            total += 1
        for _ in _records(memoryview(self._pending), self._pending_len):
            total += 1
        skip = total - count
        newest = -1
        flushes = -1
        while flushes != self.flushes:
            flushes = self.flushes
            for entry in self._read_all():
                if entry[0] > newest:
                    newest = entry[0]
                    if skip > 0:
                        skip -= 1
                        continue
                    yield entry
                    if flushes != self.flushes:
                        break
            else:
                for entry in _records(memoryview(self._pending), self._pending_len):
                    if entry[0] > newest:
                        newest = entry[0]
                        if skip > 0:
                            skip -= 1
                            continue
                        yield entry
                        if flushes != self.flushes:
                            break

    def _read_all(self):
        buf = self._buf
        for number in range(self._first, self._seg + 1):
            n = self._load(number, buf)
            for entry in _records(buf, n):
                yield entry

    def _load(self, number, buf):
        try:
            f = open("%s/%d" % (self.folder, number), "rb")
        except OSError:
            return 0
        try:
            n = f.readinto(buf)
        finally:
            f.close()
        return n or 0




def _records(buf, n):
    """(seq, time, text) of each intact record in buf[:n], up to the first torn one."""
    at = 0
    while at + _OVERHEAD <= n:
        length = buf[at]
        end = at + _HEAD_LEN + length
        if length > _TEXT_MAX or end + 4 > n:
            return
        crc = struct.unpack_from("<I", buf, end)[0]
        if binascii.crc32(memoryview(buf)[at:end]) != crc:
            return
        _, seq, when = struct.unpack_from(_HEAD, buf, at)
        try:
            text = bytes(buf[at + _HEAD_LEN:end]).decode()
        except UnicodeError:
            return
        at = end + 4
        yield seq, when, text


def _intact_end(buf, n):
    """Where the whole records at the start of buf[:n] end."""
    at = 0
    while at + _OVERHEAD <= n:
        end = at + _HEAD_LEN + buf[at]
        if buf[at] > _TEXT_MAX or end + 4 > n:
            break
        if binascii.crc32(memoryview(buf)[at:end]) != struct.unpack_from("<I", buf, end)[0]:
            break
        at = end + 4
    return at
