# The event log: a bounded ring of fixed-size records in one flash file.
#
# Record (96 bytes): sequence u32, time u32 (ZigBee UTC seconds, 2000 epoch), text length u8,
# text (up to 83 bytes, "<kind> <detail>"), CRC-32 u32 over the rest. A record is written in
# place at slot seq % slots, so a power cut tears at most the record being written; its CRC
# then fails and the reader skips it, keeping every older entry readable.
import binascii
import struct

RECORD_SIZE = 96
_HEAD = "<IIB"
_HEAD_LEN = 9
_TEXT_MAX = RECORD_SIZE - _HEAD_LEN - 4


class EventLog:
    slots = 128

    def __init__(self, path, clock, slots=None):
        if slots:
            self.slots = slots
        self.path = path
        self.clock = clock  # callable: ZigBee UTC seconds
        self._record = bytearray(RECORD_SIZE)
        self.next_seq = 1
        self._open()

    def _open(self):
        try:
            self._file = open(self.path, "r+b")
        except OSError:
            f = open(self.path + ".tmp", "wb")
            chunk = b"\xff" * RECORD_SIZE
            for _ in range(self.slots):
                f.write(chunk)
            f.close()
            import os
            os.rename(self.path + ".tmp", self.path)
            self._file = open(self.path, "r+b")
        newest = 0
        for seq, _, _ in self._scan():
            if seq > newest:
                newest = seq
        self.next_seq = newest + 1

    def _scan(self):
        """(seq, time, text) of every intact record, in slot order."""
        f = self._file
        f.seek(0)
        buf = self._record
        for _ in range(self.slots):
            n = f.readinto(buf)
            if not n or n < RECORD_SIZE:
                break
            entry = _decode(buf)
            if entry is not None:
                yield entry

    def append(self, kind, detail=""):
        text = kind if not detail else kind + " " + detail
        raw = text.encode()[:_TEXT_MAX]
        seq = self.next_seq
        self.next_seq = seq + 1
        buf = self._record
        struct.pack_into(_HEAD, buf, 0, seq, self.clock(), len(raw))
        for i in range(_TEXT_MAX):
            buf[_HEAD_LEN + i] = raw[i] if i < len(raw) else 0
        struct.pack_into("<I", buf, RECORD_SIZE - 4,
                         binascii.crc32(memoryview(buf)[:RECORD_SIZE - 4]))
        self._file.seek((seq % self.slots) * RECORD_SIZE)
        self._file.write(buf)
        self._file.flush()
        return seq

    def last(self, count):
        """Yield the newest `count` intact entries, oldest first, one slot read each.

        Entry `seq` lives in slot seq % slots, so no scan or list is needed: a slot whose
        record is torn, or older than expected, is skipped.
        """
        newest = self.next_seq - 1
        seq = max(1, newest - min(count, self.slots) + 1)
        buf = self._record
        while seq <= newest:
            self._file.seek((seq % self.slots) * RECORD_SIZE)
            n = self._file.readinto(buf)
            entry = _decode(buf) if n == RECORD_SIZE else None
            if entry is not None and entry[0] == seq:
                yield entry
            seq += 1

    def close(self):
        self._file.close()


def _decode(buf):
    if buf[0] == 0xFF and buf[1] == 0xFF and buf[2] == 0xFF and buf[3] == 0xFF:
        return None  # never written
    crc = struct.unpack_from("<I", buf, RECORD_SIZE - 4)[0]
    if binascii.crc32(memoryview(buf)[:RECORD_SIZE - 4]) != crc:
        return None
    seq, when, length = struct.unpack_from(_HEAD, buf, 0)
    if length > _TEXT_MAX:
        return None
    try:
        text = bytes(buf[_HEAD_LEN:_HEAD_LEN + length]).decode()
    except UnicodeError:
        return None
    return seq, when, text
