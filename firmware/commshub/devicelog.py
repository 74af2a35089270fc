# The Comms Hub's device log: the allow-list of HAN devices (EUI-64 and install code), kept
# in flash (record "devlog"). CCS01 adds a device, CCS02 removes one; only a device in the
# log may join, and frames from any other EUI-64 are refused. GBCS carries the 16-byte
# install code without its CRC-16/X-25 (the radio wants it with), so the CRC is added here.
from micropython import const
import binascii
import json

CAPACITY = const(12)  # our choice: a meter, a gas meter, IHD, PPMID and a few switches

ADDED = "added"
UPDATED = "updated"
FULL = "full"
BAD_CODE = "bad-install-code"


def crc16_x25(data):
    """CRC-16/X-25 (reflected 0x1021, init and xorout 0xFFFF): the install-code CRC."""
    crc = 0xFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ 0x8408 if crc & 1 else crc >> 1
    return crc ^ 0xFFFF


def with_crc(install_code):
    """16 bytes -> 18 with the CRC appended (LE); 18 bytes are checked; else None."""
    if len(install_code) == 16:
        crc = crc16_x25(install_code)
        return bytes(install_code) + bytes((crc & 0xFF, crc >> 8))
    if len(install_code) == 18:
        crc = crc16_x25(install_code[:16])
        if install_code[16] == crc & 0xFF and install_code[17] == crc >> 8:
            return bytes(install_code)
    return None


class Device:
    def __init__(self, eui, code):
        self.eui = eui  # 8 bytes, MSB first
        self.code = code  # 18 bytes with CRC
        self.nwk = None  # set when it announces itself
        self.tunnel = 0  # open GB-HRGP tunnel id, 0 = none


class DeviceLog:
    def __init__(self, store, log):
        self.store = store
        self.log = log
        self.devices = {}
        raw = store.load("devlog")
        try:
            entries = json.loads(raw) if raw is not None else []
        except ValueError:
            entries = []
        for item in entries if isinstance(entries, list) else []:
            try:
                eui = binascii.unhexlify(item[0])
                code = binascii.unhexlify(item[1])
            except (ValueError, IndexError, TypeError):
                continue
            if len(eui) == 8 and with_crc(code) is not None:
                self.devices[eui] = Device(eui, code)

    def save(self):
        self.store.save("devlog", json.dumps([
            [binascii.hexlify(d.eui).decode(), binascii.hexlify(d.code).decode()]
            for d in self.devices.values()]).encode())

    def add(self, eui, install_code):
        code = with_crc(install_code)
        if code is None:
            return BAD_CODE
        device = self.devices.get(eui)
        if device is None and len(self.devices) >= CAPACITY:
            return FULL
        if device is None:
            self.devices[eui] = Device(eui, code)
        else:
            device.code = code
        self.save()
        self.log.append("devlog", "add %s" % binascii.hexlify(eui).decode())
        return ADDED if device is None else UPDATED

    def remove(self, eui):
        device = self.devices.pop(eui, None)
        if device is not None:
            self.save()
            self.log.append("devlog", "remove %s" % binascii.hexlify(eui).decode())
        return device

    def get(self, eui):
        return self.devices.get(eui)
