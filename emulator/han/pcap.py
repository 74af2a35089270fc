"""Captures of the emulated HAN: every frame on the air, as Wireshark reads it.

Records are IEEE 802.15.4 MAC frames without FCS (link type 230), written by dpkt's pcap writer.
Timestamps come from the emulator's clock, so a simulated run shows simulated time. The keys
Wireshark needs to decrypt the capture are kept with it (:meth:`HanCapture.tshark_key_options`).
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import BinaryIO

import dpkt

from emulator.clock import Clock

LINKTYPE_IEEE802_15_4_NOFCS = 230


class HanCapture:
    def __init__(self, target: str | Path | BinaryIO | io.BufferedIOBase, clock: Clock) -> None:
        self._owns_file = isinstance(target, str | Path)
        self._file: BinaryIO | io.BufferedIOBase = (
            open(target, "wb") if isinstance(target, str | Path) else target  # noqa: SIM115
        )
        self._writer = dpkt.pcap.Writer(self._file, linktype=LINKTYPE_IEEE802_15_4_NOFCS)
        self._clock = clock
        self.frames_written = 0
        self.keys: dict[str, bytes] = {}

    def add_key(self, label: str, key: bytes) -> None:
        """Remember a key (network key, link keys) so the capture can be decrypted."""
        if bytes(key) not in self.keys.values():
            self.keys[label] = bytes(key)

    def write(self, mac_frame: bytes) -> None:
        self._writer.writepkt(mac_frame, ts=self._clock.epoch_seconds())
        self.frames_written += 1

    def flush(self) -> None:
        self._file.flush()

    def close(self) -> None:
        self.flush()
        if self._owns_file:
            self._file.close()

    def tshark_key_options(self) -> list[str]:
        """``-o`` options giving tshark every key of this capture (byte order 'Normal')."""
        options = []
        for label, key in self.keys.items():
            options += ["-o", f'uat:zigbee_pc_keys:"{key.hex()}","Normal","{label}"']
        return options
