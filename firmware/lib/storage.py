# Power-safe records in flash, written so the flash wears slowly.
#
# Each record has two slot files, "<name>.0" and "<name>.1": magic, payload length, a
# generation counter and the CRC-32 of the rest, then the payload. A save rewrites the slot
# that does not hold the newest intact copy, so a power cut at any instant leaves the other
# slot (the previous generation) whole, on littlefs (a file commits on close) and on
# filesystems that tear files (POSIX after a kill, FAT): the reader takes the intact slot
# with the higher generation. A slot rewrite is one littlefs metadata commit while the
# record stays under the inline limit (512 bytes on the Pico's geometry), about 0.06 erases;
# the old write-tmp-then-rename was three commits (bench/firmware_wear.py measures both
# through the app). The firmware has not shipped, so the old layout is not read.
import binascii
import os
import struct

from micropython import const

_MAGIC = b"GS"
_HEADER = "<2sHII"  # magic, length, generation, CRC-32 of length..payload
_HEADER_LEN = const(12)


class Store:
    def __init__(self, root):
        self.root = root
        makedirs(root)
        self._newest = {}  # name -> (slot, generation) of the newest intact copy

    def path(self, name):
        return self.root + "/" + name

    def save(self, name, payload):
        slot, generation = self._newest.get(name) or self._find(name)[:2]
        slot = 1 - slot if generation else 0
        generation += 1
        head = bytearray(_HEADER_LEN)
        struct.pack_into("<HI", head, 2, len(payload), generation)
        crc = binascii.crc32(payload, binascii.crc32(memoryview(head)[2:8]))
        struct.pack_into(_HEADER, head, 0, _MAGIC, len(payload), generation, crc)
        f = open(self.path("%s.%d" % (name, slot)), "wb")
        try:
            f.write(head)
            f.write(payload)
        finally:
            f.close()
        self._newest[name] = (slot, generation)

    def load(self, name):
        """The payload of the newest intact copy, or None when there is none."""
        slot, generation, payload = self._find(name)
        self._newest[name] = (slot, generation)
        return payload

    def _find(self, name):
        """(slot, generation, payload) of the newest intact slot; (1, 0, None) if none, so
        the first save goes to slot 0."""
        best = (1, 0, None)
        for slot in (0, 1):
            found = _read_slot(self.path("%s.%d" % (name, slot)))
            if found is not None and found[0] > best[1]:
                best = (slot, found[0], found[1])
        return best


def _read_slot(path):
    try:
        f = open(path, "rb")
    except OSError:
        return None
    try:
        head = f.read(_HEADER_LEN)
        if head is None or len(head) != _HEADER_LEN:
            return None
        magic, length, generation, crc = struct.unpack(_HEADER, head)
        if magic != _MAGIC:
            return None
        payload = f.read(length)
        if payload is None or len(payload) != length:
            return None
        if binascii.crc32(payload, binascii.crc32(head[2:8])) != crc:
            return None
        return generation, payload
    finally:
        f.close()


def makedirs(path):
    """Make `path` and its parents (MicroPython's os has no makedirs)."""
    current = "/" if path.startswith("/") else ""
    for part in path.split("/"):
        if not part:
            continue
        current = current + part if current in ("", "/") else current + "/" + part
        try:
            os.stat(current)
        except OSError:
            os.mkdir(current)
