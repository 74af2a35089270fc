"""Type 2 devices, an IHD and a CAD: no GBCS target, each shows or passes on what it reads
over the HAN (han_reads.py): from the electricity meter, its import register and credit; from
the GPF on the Comms Hub, the gas meter's as the GPF last had them from it.

Each joins the Comms Hub's HAN with its own identity (install code, link key), and the meter
(or the GPF) answers it only while its device log holds it as a Type 2 device: a Method B
join, CS03B (8.7.2), puts it there and CS04B (8.8.2) takes it off. A Type 2 device makes no
key with them (Method B), so its reads are secured by the network key alone. `refresh()` reads
the meter's two values once, `refresh_gas()` the GPF's; an IHD shows them (`shown`), a CAD
keeps them for a consumer's app (the same here). A read refused raises `Type2ReadRefused`
and leaves `shown` as it was, counted in `stats`.
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

from .han_reads import (
    CREDIT_REMAINING,
    CURRENT_SUMMATION_DELIVERED,
    GPF_ENDPOINT,
    METERING,
    PREPAYMENT,
)

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
    """An IHD or a CAD on the HAN; `meter_nwk()` finds the meter it reads, `gpf_nwk()` the
    Comms Hub whose GPF it reads (None: no gas)."""

    def __init__(self, eui: bytes, kind: str, node: InProcessNode,
                 meter_nwk: Callable[[], int | None],
                 gpf_nwk: Callable[[], int | None] = lambda: None) -> None:  # fmt: skip
        if kind not in ZIGBEE_DEVICE_TYPE:
            raise ValueError(f"no Type 2 device {kind!r}: one of {', '.join(KINDS)}")
        self.eui, self.kind, self.node = bytes(eui), kind, node
        self.meter_nwk, self.gpf_nwk = meter_nwk, gpf_nwk
        #: what it last read: {"import_wh": ..., "credit": ...} (and "gas_import",
        #: "gas_credit" once it has read the GPF)
        self.shown: dict[str, int] = {}
        self.stats: Counter = Counter()

    async def refresh(self) -> dict[str, int]:
        """Read the meter's import register and credit; what it now shows."""
        nwk = self.meter_nwk()
        summation = await self._read(nwk, 1, METERING, CURRENT_SUMMATION_DELIVERED, "meter")
        remaining = await self._read(nwk, 1, PREPAYMENT, CREDIT_REMAINING, "meter")
        self.shown |= {"import_wh": int(summation), "credit": int(remaining)}
        self.stats["reads"] += 1
        return dict(self.shown)

    async def refresh_gas(self) -> dict[str, int]:
        """Read the gas meter's import register and credit from the GPF; what it now shows."""
        nwk = self.gpf_nwk()
        summation = await self._read(nwk, GPF_ENDPOINT, METERING, CURRENT_SUMMATION_DELIVERED,
                                     "GPF")  # fmt: skip
        remaining = await self._read(nwk, GPF_ENDPOINT, PREPAYMENT, CREDIT_REMAINING, "GPF")
        self.shown |= {"gas_import": int(summation), "gas_credit": int(remaining)}
        self.stats["gas-reads"] += 1
        return dict(self.shown)

    async def _read(self, nwk: int | None, endpoint: int, cluster: int, attribute: int,
                    who: str) -> Any:  # fmt: skip
        if nwk is None:
            raise Type2ReadRefused(f"no {who} on the HAN")
        request = zcl.read_attributes(self.node.next_tsn(), [attribute])
        try:
            answer = await self.node.request(nwk, endpoint, cluster, request)
            frame = zcl.parse(Metering, bytes(answer.data.serialize()))
        except (RequestError, zcl.ZclDecodeError) as exc:
            self.stats["refused"] += 1
            raise Type2ReadRefused(f"{self.kind} {self.eui.hex()}: {exc}") from None
        if frame.name != "Read_Attributes_rsp":
            self.stats["refused"] += 1
            status = getattr(frame.command, "status", None)
            raise Type2ReadRefused(f"{self.kind} {self.eui.hex()}: the {who} answered "
                                   f"{frame.name} {status!s}")  # fmt: skip
        [record] = frame.command.status_records
        if record.status != f.Status.SUCCESS:
            self.stats["refused"] += 1
            raise Type2ReadRefused(f"{self.kind}: attribute 0x{attribute:04X} {record.status!s}")
        return record.value.value
