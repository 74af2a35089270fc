# Power-safe records in flash.
#
# Each record is one file: magic, payload length, CRC-32 of the payload, payload. A save
# writes "<name>.tmp", closes it (littlefs commits on close) and renames it over "<name>";
# rename is atomic on littlefs and POSIX, so a power cut at any instant leaves the old or the
# new record. The CRC lets a reader also reject a torn file on filesystems where rename is not
# atomic (FAT), falling back to a complete ".tmp" left by a cut between close and rename.
import binascii
import os
import struct

_MAGIC = b"GR"
_HEADER = "<2sHI"
_HEADER_LEN = 8


class Store:
    def __init__(self, root):
        self.root = root
        _makedirs(root)

    def path(self, name):
        return self.root + "/" + name

    def save(self, name, payload):
        final = self.path(name)
        tmp = final + ".tmp"
        f = open(tmp, "wb")
        try:
            f.write(struct.pack(_HEADER, _MAGIC, len(payload), binascii.crc32(payload)))
            f.write(payload)
        finally:
            f.close()
        os.rename(tmp, final)

    def load(self, name):
        """The payload of the newest intact copy, or None when there is none."""
        final = self.path(name)
        payload = _read_record(final)
        if payload is None:
            payload = _read_record(final + ".tmp")
        return payload


def _read_record(path):
    try:
        f = open(path, "rb")
    except OSError:
        return None
    try:
        head = f.read(_HEADER_LEN)
        if head is None or len(head) != _HEADER_LEN:
            return None
        magic, length, crc = struct.unpack(_HEADER, head)
        if magic != _MAGIC:
            return None
        payload = f.read(length)
        if payload is None or len(payload) != length or binascii.crc32(payload) != crc:
            return None
        return payload
    finally:
        f.close()


def _makedirs(path):
    current = "/" if path.startswith("/") else ""
    for part in path.split("/"):
        if not part:
            continue
        current = current + part if current in ("", "/") else current + "/" + part
        try:
            os.stat(current)
        except OSError:
            os.mkdir(current)
