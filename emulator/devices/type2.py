"""Type 2 devices, an IHD and a CAD: no GBCS target, each shows or passes on what it reads
from the meter over the HAN (esme/han_reads.py): the import register and the credit.

Each joins the Comms Hub's HAN with its own identity (install code, link key), and the meter
answers it only while its device log holds it as a Type 2 device: a Method B join, CS03B
(8.7.2), puts it there and CS04B (8.8.2) takes it off. A Type 2 device makes no key with the
meter (Method B), so its reads are secured by the network key alone. `refresh()` reads both values once; an IHD shows them (`shown`), a CAD keeps
them for a consumer's app (the same here). A read the meter refuses raises
`Type2ReadRefused` and leaves `shown` as it was, counted in `stats`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import zigpy.zcl.foundation as f
import zigpy.zdo.types as zdo_t
from zigpy.zcl.clusters.smartenergy import Metering

from emulator.errors import EmulatorError
from emulator.han import zcl
from emulator.han.link import InProcessNode, RequestError

from .esme.han_reads import CREDIT_REMAINING, CURRENT_SUMMATION_DELIVERED, METERING, PREPAYMENT

#: the ZigBee SE device ids: an In-Home Display; a CAD, here a Physical Device (ours)
ZIGBEE_DEVICE_TYPE = {"ihd": 0x0507, "cad": 0x0509}
KINDS = tuple(ZIGBEE_DEVICE_TYPE)


class Type2ReadRefused(EmulatorError):
    """The meter did not answer a Type 2 device's read (not joined to it, or no answer)."""


def endpoints(kind: str) -> list[zdo_t.SimpleDescriptor]:
    return [
        zdo_t.SimpleDescriptor(
            endpoint=1, profile=0x0109, device_type=ZIGBEE_DEVICE_TYPE[kind], device_version=0,
            input_clusters=[], output_clusters=[METERING, PREPAYMENT],
        )
    ]  # fmt: skip


class Type2Device:
    """An IHD or a CAD on the HAN; `meter_nwk()` finds the meter it reads."""

    def __init__(self, eui: bytes, kind: str, node: InProcessNode,
                 meter_nwk: Callable[[], int | None]) -> None:  # fmt: skip
        if kind not in ZIGBEE_DEVICE_TYPE:
            raise ValueError(f"no Type 2 device {kind!r}: one of {', '.join(KINDS)}")
        self.eui, self.kind, self.node, self.meter_nwk = bytes(eui), kind, node, meter_nwk
        #: what it last read: {"import_wh": ..., "credit": ...}
        self.shown: dict[str, int] = {}
        self.stats: Counter = Counter()

    async def refresh(self) -> dict[str, int]:
        """Read the meter's import register and credit; what it now shows."""
        summation = await self._read(METERING, CURRENT_SUMMATION_DELIVERED)
        remaining = await self._read(PREPAYMENT, CREDIT_REMAINING)
        self.shown = {"import_wh": int(summation), "credit": int(remaining)}
        self.stats["reads"] += 1
        return dict(self.shown)

    async def _read(self, cluster: int, attribute: int) -> Any:
        nwk = self.meter_nwk()
        if nwk is None:
            raise Type2ReadRefused("the meter is not on the HAN")
        request = zcl.read_attributes(self.node.next_tsn(), [attribute])
        try:
            answer = await self.node.request(nwk, 1, cluster, request)
            frame = zcl.parse(Metering, bytes(answer.data.serialize()))
        except (RequestError, zcl.ZclDecodeError) as exc:
            self.stats["refused"] += 1
            raise Type2ReadRefused(f"{self.kind} {self.eui.hex()}: {exc}") from None
        if frame.name != "Read_Attributes_rsp":
            self.stats["refused"] += 1
            status = getattr(frame.command, "status", None)
            raise Type2ReadRefused(f"{self.kind} {self.eui.hex()}: the meter answered "
                                   f"{frame.name} {status!s}")  # fmt: skip
        [record] = frame.command.status_records
        if record.status != f.Status.SUCCESS:
            self.stats["refused"] += 1
            raise Type2ReadRefused(f"{self.kind}: attribute 0x{attribute:04X} {record.status!s}")
        return record.value.value
