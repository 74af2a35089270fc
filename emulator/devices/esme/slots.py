"""The meter's five auxiliary load control switch slots: which switch is in each, commanding
one over ZCL as SRV 7.5 / 7.6 / 7.8 (ECS47) and confirming the state it then reports, and
reading or writing its configuration for the DLMS objects that live in the switch.

Every exchange is APS-secured with the partner link key (switches refuse anything else) and
an answer that is not is refused too. How 7.5/7.6/7.8 go on the HAN is the meter's
`command_route` (docs/devices.md, Assumptions): the DRLC cluster, On/Off (Level Control for a
PLCS), or both.
"""

from __future__ import annotations

import itertools
import logging
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import zigpy.types as t

from emulator.clock import Clock
from emulator.han.link import InProcessNode, RequestError

from .. import switch_zcl as sz
from ..outcomes import CommandRejected, RejectReason
from ..switch_zcl import SwitchError
from .instructions import NULL, InstructionOutcome, InstructionResult

LOGGER = logging.getLogger(__name__)

#: how the meter commands a switch for 7.5/7.6/7.8 (docs/devices.md, Assumptions)
COMMAND_ROUTES = ("drlc", "onoff", "both")


@dataclass
class SlotLink:
    """What the meter knows of the switch in a slot: its NWK address and kind."""

    nwk: int
    role: str  # hcalcs | plcs
    eui: bytes | None = None  # None: an ALCS of the meter's own (always commandable)
    curtail_level: int = 0  # what 7.6 asks of a PLCS, % (configured at commissioning)


class AuxiliarySlots:
    """Slot number -> the switch in it, and the ZCL the meter speaks to it through `node`.
    `device_log` is the meter's (device_log.py): a switch not in it is not commanded."""

    def __init__(
        self,
        eui: bytes,
        node: InProcessNode,
        clock: Clock,
        device_log: Mapping[bytes, str],
        stats: Counter,
        *,
        command_route: str,
        plcs_curtail_level: int,
        zcl_timeout_s: float,
    ) -> None:
        if command_route not in COMMAND_ROUTES:
            raise ValueError(f"command_route is one of {COMMAND_ROUTES}, not {command_route!r}")
        self.eui, self.node, self.device_log, self.stats = eui, node, device_log, stats
        self.command_route = command_route
        self.plcs_curtail_level = plcs_curtail_level
        self.zcl_timeout_s = zcl_timeout_s
        self.links: dict[int, SlotLink] = {}
        self._event_ids = itertools.count((clock.zigbee_utc_now() * 8) & 0x7FFFFFFF)

    def attach(
        self, slot: int, nwk: int, role: str, eui: bytes | None = None,
        curtail_level: int | None = None,
    ) -> None:  # fmt: skip
        """Bind a switch to a slot. `curtail_level`: the PLCS's configured 7.6 level."""
        level = self.plcs_curtail_level if curtail_level is None else int(curtail_level)
        if not 0 <= level <= 100:
            raise ValueError("a PLCS curtail level is a percentage 0-100")
        self.links[slot] = SlotLink(nwk, role, None if eui is None else bytes(eui), level)

    def joined(self, slot: int) -> SlotLink | None:
        """The slot's switch if the meter may command it (present and in the device log)."""
        link = self.links.get(slot)
        if link is None or (link.eui is not None and link.eui not in self.device_log):
            return None
        return link

    # --- ECS47 --------------------------------------------------------------------------
    async def ecs47(self, slot: int, specs: list[Any], srv: str) -> list[InstructionOutcome]:
        """7.5 / 7.6 / 7.8 on the slot the script selector names, for the duration the set
        instruction gives: every instruction succeeds, or the first is hardware_fault (the
        switch did not answer or confirm) or object_unavailable (not joined) and the rest
        other_reason. CommandRejected(no-switch) for an empty slot."""
        duration = next((int(item.value) for spec, item in specs if str(spec.kind) == "set"), 0)
        if self.links.get(slot) is None:
            raise CommandRejected(RejectReason.NO_SWITCH)
        first = InstructionResult.SUCCESS
        if self.joined(slot) is None:  # unjoined: the meter no longer talks to that switch
            LOGGER.info("ESME %s: slot %d's switch is not joined", self.eui.hex(), slot)
            self.stats["unjoined-slot"] += 1
            first = InstructionResult.OBJECT_UNAVAILABLE
        else:
            try:
                await self.command_slot(slot, srv, duration)
            except SwitchError as exc:
                LOGGER.info("ESME slot %d: %s", slot, exc)
                self.stats["switch-failures"] += 1
                first = InstructionResult.HARDWARE_FAULT
        rest = first if first is InstructionResult.SUCCESS else InstructionResult.OTHER_REASON
        results: list[InstructionResult] = [first, *[rest] * (len(specs) - 1)]
        return [(str(spec.kind), r, NULL) for (spec, _), r in zip(specs, results, strict=True)]

    async def command_slot(
        self, slot: int, srv: str, duration: int = 0, level: int | None = None
    ) -> None:
        """Command a slot's switch over ZCL as SRV `srv` (7.5 activate, 7.6 deactivate for
        `duration` minutes, 7.8 reset to calendar; `level` % instead of 7.5/7.6's own, as an
        auxiliary controller period asks) and confirm the state it then reports;
        SwitchError when it does not answer or confirm, or is not joined."""
        link = self.joined(slot)
        if link is None:
            raise SwitchError(f"slot {slot}: no joined switch")
        expect: int | None
        if srv == "7.8":
            expect = None
        elif level is None:
            level = 100 if srv == "7.5" else (link.curtail_level if link.role == "plcs" else 0)
            expect = level
        else:
            expect = level
        for cluster, frame in self._route_frames(link, srv, duration, level):
            status = sz.default_response_status(await self.exchange(link, cluster, frame))
            if status != 0:
                raise SwitchError(f"slot {slot}: switch answered status {status!r}")
        relay, reported = await self.read_output(link)
        if expect is None:
            return
        if link.role == "hcalcs" and relay != (expect >= 100):
            raise SwitchError(f"slot {slot}: relay reported {'closed' if relay else 'open'}")
        if link.role == "plcs" and abs(reported - expect) > 1:
            raise SwitchError(f"slot {slot}: level reported {reported} %, wanted {expect} %")

    def _route_frames(
        self, link: SlotLink, srv: str, duration: int, level: int | None
    ) -> list[tuple[int, bytes]]:
        """(cluster, frame) per `command_route`. On/Off carries no duration and has no
        "back to the calendar": on that route 7.8 asks for the state an empty switch
        calendar gives (closed, 100 %). `both` sends On/Off first (it acts at once on any
        switch), then the DRLC frame, which supersedes it with its duration."""
        tsn = self.node.next_tsn
        target = 100 if level is None else level
        frames: list[tuple[int, bytes]] = []
        if self.command_route in ("onoff", "both"):
            if link.role == "plcs":
                frames.append((0x0008, sz.move_to_level_with_on_off(tsn(), target)))
            else:
                frames.append((0x0006, sz.on_off(tsn(), target >= 100)))
        if self.command_route in ("drlc", "both"):
            if srv == "7.8":
                frames.append((0x0701, sz.cancel_all(tsn())))
            else:
                event = sz.load_control_event(tsn(), next(self._event_ids), duration, target)
                frames.append((0x0701, event))
        return frames

    # --- reading and configuring a switch -------------------------------------------------
    async def read_output(self, link: SlotLink) -> tuple[bool, int]:
        """(relay closed?, level %) as the switch reports them; SwitchError."""
        tsn = self.node.next_tsn
        values = sz.read_values(
            await self.exchange(link, 0x0006, sz.read_attributes(tsn(), [sz.ON_OFF_ATTR]))
        )
        if sz.ON_OFF_ATTR not in values:
            raise SwitchError("no OnOff value")
        relay = bool(values[sz.ON_OFF_ATTR])
        level = 100 if relay else 0
        if link.role == "plcs":
            values = sz.read_values(
                await self.exchange(
                    link, 0x0008, sz.read_attributes(tsn(), [sz.CURRENT_LEVEL_ATTR])
                )
            )
            level = round(int(values.get(sz.CURRENT_LEVEL_ATTR, 0)) * 100 / 254)
        return relay, level

    async def read_config(self, link: SlotLink, attribute: int) -> object:
        """One attribute of the switch's configuration cluster; SwitchError when it does not
        answer with it."""
        frame = sz.read_attributes(self.node.next_tsn(), [attribute])
        values = sz.read_values(await self.exchange(link, sz.CONFIG_CLUSTER, frame))
        if attribute not in values:
            raise SwitchError(f"no value of configuration attribute 0x{attribute:04X}")
        return values[attribute]

    async def write_config(
        self, link: SlotLink, attribute: int, type_id: int, value: object
    ) -> None:
        """Write one configuration attribute; SwitchError when the switch does not answer
        or does not take it."""
        frame = sz.write_attribute(self.node.next_tsn(), attribute, type_id, value)
        if not sz.write_ok(await self.exchange(link, sz.CONFIG_CLUSTER, frame)):
            raise SwitchError(f"configuration attribute 0x{attribute:04X} not written")

    async def exchange(self, link: SlotLink, cluster: int, frame: bytes) -> bytes:
        """One request and its answer, both APS-secured; SwitchError otherwise."""
        try:  # APS-secured with the partner link key: switches refuse anything else
            packet = await self.node.request(
                link.nwk, sz.ENDPOINT, cluster, frame, timeout=self.zcl_timeout_s,
                aps_encryption=True,
            )  # fmt: skip
        except RequestError as exc:
            raise SwitchError(str(exc)) from None
        if t.TransmitOptions.APS_Encryption not in t.TransmitOptions(packet.tx_options):
            self.stats["switch-answer-unencrypted"] += 1
            raise SwitchError(f"slot answer from 0x{link.nwk:04X} was not APS-secured")
        return bytes(packet.data.serialize())
