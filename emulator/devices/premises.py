"""One household: a Comms Hub model, an ESME with five auxiliary load control slots, and the
switches in those slots (Python models or the real firmware on virtual boards).

    keys = PremisesKeys.open(data.rtds_keystore())
    premises = await Premises.start(clock, keys=keys, switch="model")
    execution = await premises.execute(command_bytes)   # as the WAN delivers it to the hub

Each premises forms its own HAN (a GB HAN is one star around its Comms Hub): give it a fresh
`Medium` on the shared clock, or none and it makes one. Many premises share one Clock.
"""

from __future__ import annotations

import asyncio
import copy
import datetime as dt
import hashlib
import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import zigpy.zdo.types as zdo_t

from emulator.clock import Clock
from emulator.han.link import InProcessNode
from emulator.han.medium import LinkQuality, Medium
from emulator.han.security import link_key_from_install_code
from gbcs import decode
from gbcs.errors import GbcsError
from gbcs.security import check_message

from .access import AccessPolicy
from .comms_hub import CommsHub, RoutingError, nwk_of, parse_tunnel_data, tunnel_reply
from .esme import Esme
from .esme.firmware import VERIFIED, supplier_anchor
from .gsme import GasMeter, GasProxy
from .gsme.meter import WAKE_INTERVAL_S
from .han_reads import GPF_ENDPOINT, TYPE_2, HanReads, esme_values, gpf_values
from .hub_function import HubFunction
from .keys import PremisesKeys
from .outcomes import EsmeResult, Outcome, RejectReason, outcome_text
from .paired_device import HARDWARE_MISMATCH, PairedDevice, endpoints
from .switch import Switch
from .switch_board import BoardSwitch
from .switch_model import ModelSwitch
from .switch_zcl import SwitchError
from .type2 import Type2Device
from .type2 import endpoints as type2_endpoints

LOGGER = logging.getLogger(__name__)
PROFILE = Path(__file__).with_name("rtds_household.json")
ESME_EUI = bytes.fromhex("00DB1234567890A0")  # the RTDS ESME
HUB_EUI = bytes.fromhex("00DB1234567890A2")  # the RTDS Comms Hub Function
SLOTS = (1, 2, 3, 4, 5)
HAN_LATENCY_S = 0.005


@dataclass
class Execution:
    """What became of one GBCS command at the premises."""

    use_case: str
    status: Outcome
    response: bytes | None
    alerts: list[bytes]
    switch: dict[int, dict]  # slot -> {"relay": "open"|"closed", "level": 0-100}
    latency_s: float  # on the emulator's clock
    srv: str | None = None
    slot: int | None = None  # the slot an ECS47 names
    response_verified: bool | None = None
    reason: RejectReason | None = None  # why, when rejected
    #: "executed" | "rejected:<reason>", the text the back office and `as_json()` show
    outcome: str = field(init=False)

    def __post_init__(self) -> None:
        self.outcome = outcome_text(self.status, self.reason)

    def as_json(self) -> dict:
        shown = self.switch.get(self.slot) if self.slot is not None else None
        if shown is None and self.switch:
            shown = self.switch[min(self.switch)]
        return {
            "use_case": self.use_case,
            "srv": self.srv,
            "outcome": self.outcome,
            "switch": shown,
            "response": self.response.hex().upper() if self.response else None,
            # true | false: no response (a rejection) is nothing verified
            "response_verified": self.response_verified is True,
            "latency_ms": round(self.latency_s * 1000, 3),
        }


def install_code(eui: bytes) -> bytes:
    """A deterministic 16-byte install code per device (the CCS01 value)."""
    return hashlib.sha256(b"gbhan install code" + bytes(eui)).digest()[:16]


def partner_link_key(esme_eui: bytes, switch_eui: bytes) -> bytes:
    """The APS link key a meter and its switch share (what their Method A join's key
    establishment would agree; test-only and deterministic, like the install codes)."""
    return hashlib.sha256(b"gbhan partner link key" + bytes(esme_eui) + bytes(switch_eui)).digest()[
        :16
    ]


def slot_eui(esme_eui: bytes, slot: int, profile: dict) -> bytes:
    """The switch EUI the profile gives a slot (`switch_euis`, else the HCALCS identifier it
    names), else one derived from the meter's."""
    given = profile.get("switch_euis", {}).get(str(slot))
    if given:
        return bytes.fromhex(given)
    named = bytes.fromhex(profile["identifiers"].get(str(slot), "00" * 8))
    if len(named) == 8 and any(named) and named != b"\xff" * 8:
        return named
    return esme_eui[:6] + bytes((0xF0, slot))


def _ieee(eui: bytes) -> str:
    return ":".join(f"{b:02x}" for b in eui)


def esme_endpoints() -> list[zdo_t.SimpleDescriptor]:
    return [
        zdo_t.SimpleDescriptor(
            endpoint=1,
            profile=0x0109,
            device_type=0x0501,  # SE metering device
            device_version=0,
            input_clusters=[0x0701],
            output_clusters=[0x0006, 0x0008, 0x0704, 0xFC00],
        )
    ]


class Premises:
    """Comms Hub + ESME + switches; `execute()` runs a GBCS command end to end."""

    def __init__(self, clock: Clock, medium: Medium, keys: PremisesKeys) -> None:
        self.clock, self.medium, self.keys = clock, medium, keys
        self.hub: CommsHub
        self.hub_function: HubFunction  # the hub's own GBCS (hub_function.py)
        self.gas: GasProxy | None = None  # the GPF and its GSME, where the profile has them
        self.esme: Esme
        self.switches: dict[int, Switch] = {}
        #: the HAN's other GBCS targets (the profile's `gbcs_devices`: an HCALCS, a PPMID)
        self.gbcs_devices: dict[bytes, PairedDevice] = {}
        #: the Type 2 devices (the profile's `type2_devices`: an IHD, a CAD) reading the meter
        self.type2: dict[bytes, Type2Device] = {}
        self.verify_responses = True
        self._results: asyncio.Queue[EsmeResult] = asyncio.Queue()
        #: the meter's starting data (reset_meter's default: a premises stays its household)
        self.profile: dict = {}
        self._alert_sinks: list[Callable[[bytes], None]] = []

    @classmethod
    async def start(
        cls,
        clock: Clock,
        medium: Medium | None = None,
        *,
        keys: PremisesKeys,
        switch: str = "model",
        slots: Iterable[int] = SLOTS,
        plcs_slots: Iterable[int] = (),
        secmp0046_hcalcs: bool = True,
        secmp0046_boost: bool = False,
        plcs_curtail_level: int = 0,
        plcs_curtail_levels: dict[int, int] | None = None,
        profile: dict | None = None,
        esme_eui: bytes = ESME_EUI,
        hub_eui: bytes = HUB_EUI,
        zcl_timeout_s: float | None = None,
        state_dir: Path | None = None,
        board_slots: Iterable[int] = (),
        command_route: str = "drlc",
    ) -> Premises:
        """Form the HAN, join the ESME and one switch per slot (`switch`: model | board; with
        `switch="model"`, `board_slots` are still the firmware). Boards work on either clock:
        on a simulated one they follow its time (switch_board.py).
        A PLCS slot's 7.6 level is commissioning configuration: `plcs_curtail_levels[slot]`,
        else `plcs_curtail_level`. `command_route` (drlc | onoff | both): the ZCL the meter
        uses for 7.5/7.6/7.8 (docs/devices.md)."""
        if switch not in ("model", "board"):
            raise ValueError(f"switch must be 'model' or 'board', not {switch!r}")
        slots, plcs_slots = list(slots), list(plcs_slots)
        boards = set(slots) | set(plcs_slots) if switch == "board" else set(board_slots)
        if not 0 <= plcs_curtail_level <= 100:
            raise ValueError("plcs_curtail_level is a percentage 0-100")
        profile = profile or json.loads(PROFILE.read_text())
        if medium is None:
            medium = Medium(clock, seed=1, default_link=LinkQuality(latency_s=HAN_LATENCY_S))
        self = cls(clock, medium, keys)
        self.profile = copy.deepcopy(profile)
        self.hub = CommsHub(hub_eui, medium)
        self.hub.form()
        esme_node = InProcessNode(
            _ieee(esme_eui),
            link_key_from_install_code(install_code(esme_eui)),
            medium,
            esme_endpoints(),
        )
        self.esme = Esme(
            esme_eui,
            esme_node,
            keys,
            clock,
            profile=profile,
            policy=AccessPolicy(secmp0046_hcalcs, secmp0046_boost),
            plcs_curtail_level=plcs_curtail_level,
            zcl_timeout_s=zcl_timeout_s or (2.0 if boards else 5.0),
            command_route=command_route,
        )
        self.esme.alert_sink = self._raise_alert
        # the hub's own GBCS (8.11, 8.9) on the meter's clock, which the hub keeps in step
        self.hub_function = HubFunction(self.hub, keys, lambda: self.esme.utc_now())
        esme_node.on_cluster(1, 0x0704, lambda packet: self._on_tunnel(esme_node, packet))
        for cluster in (0x0701, 0x0006, 0x0008):  # DRLC reports, attribute reports
            esme_node.on_cluster(1, cluster, self._on_switch_report)
        await self.hub.add_device(esme_node, "ESME", install_code(esme_eui))
        plcs = set(plcs_slots)
        for slot in sorted(set(slots) | plcs):
            eui = slot_eui(esme_eui, slot, profile)
            role = "plcs" if slot in plcs else "hcalcs"
            key = link_key_from_install_code(install_code(eui))
            if slot not in boards:
                unit: Switch = ModelSwitch(slot, role, _ieee(eui), key, medium, clock)
            else:
                where = None if state_dir is None else Path(state_dir) / f"slot{slot}"
                unit = BoardSwitch(
                    slot,
                    role,
                    _ieee(eui),
                    key,
                    medium,
                    _ieee(esme_eui),
                    state_dir=where,
                    clock=clock,
                )
            self.switches[slot] = unit
            await self.hub.add_device(unit.node, role.upper(), install_code(eui))
            # the meter's commands go APS-secured with their own link key (switches refuse
            # anything that could change them without it)
            medium.set_link_key(esme_node.ieee, unit.node.ieee, partner_link_key(esme_eui, eui))
            if isinstance(unit, ModelSwitch):
                unit.commission(nwk_of(esme_node))
            level = (plcs_curtail_levels or {}).get(slot)
            self.esme.attach_slot(slot, nwk_of(unit.node), role, eui, curtail_level=level)
        for text, spec in profile.get("gbcs_devices", {}).items():
            await self._add_gbcs_device(bytes.fromhex(text), spec)
        HanReads(esme_node, 1, self._ieee_of, who="ESME",  # what Type 2 devices read
                 joined=lambda eui: self.esme.log.entries.get(eui) == TYPE_2,
                 values=lambda cluster: esme_values(self.esme.store, cluster),
                 stats=lambda: self.esme.stats)  # fmt: skip
        for text, kind in profile.get("type2_devices", {}).items():
            await self._add_type2_device(bytes.fromhex(text), kind)
        gas = profile.get("gas")
        if gas is not None:  # the GSME and its proxy on the hub (gsme/: not on the HAN yet)
            gsme = GasMeter(
                bytes.fromhex(gas["gsme"]),
                keys,
                clock,
                lambda: self.esme.utc_now(),
                wake_interval_s=float(gas.get("wake_interval_s", WAKE_INTERVAL_S)),
                supplier=bytes.fromhex(gas["supplier"]) if "supplier" in gas else None,
            )
            gsme.alert_sink = self._raise_alert  # its future-dated tariffs' 8F66s, as the ESME's
            self.gas = GasProxy(bytes.fromhex(gas["gpf"]), gsme, keys, lambda: self.esme.utc_now(),
                                dcc_controlled=gas.get("dcc_controlled", ()))  # fmt: skip
            self.gas.alert_sink = self._raise_alert  # its device log backups (GCS62)
            gpf = self.gas
            HanReads(self.hub.coordinator, GPF_ENDPOINT, self._ieee_of, who="GPF",
                     joined=lambda eui: gpf.device_log.get(eui) == TYPE_2,
                     values=lambda cluster: gpf_values(gpf.mirror, cluster),
                     stats=lambda: gpf.stats)  # fmt: skip
            self.hub_function.gsme = gsme.eui  # in the hub's device log, after the ESME
        await self.poll_switches()
        return self

    async def poll_switches(self) -> dict[int, bool]:
        """The meter reads every slot's output once (after joining, a switch shows its
        fail-safe state until its meter is heard); slot -> answered."""
        answered = {}
        for slot, link in self.esme.slots.items():
            try:
                await self.esme.read_output(link)
                answered[slot] = True
            except SwitchError:
                answered[slot] = False
        return answered

    def reset_meter(self, profile: dict | None = None) -> None:
        """A fresh meter on the same HAN and switches: counters, labels and calendars as
        new, from `profile` or the household's own data (tests replay every RTDS command
        through one set of boards)."""
        old = self.esme
        old.cancel_timers()  # the old meter's pending activations and periods die with it
        self.esme = Esme(
            old.eui,
            old.node,
            self.keys,
            self.clock,
            profile=copy.deepcopy(profile or self.profile),
            policy=old.policy,
            plcs_curtail_level=old.plcs_curtail_level,
            zcl_timeout_s=old.zcl_timeout_s,
            command_route=old.command_route,
        )
        self.esme.alert_sink = self._raise_alert
        for slot, link in old.slots.items():  # the same switches, joined to the new meter
            self.esme.attach_slot(slot, link.nwk, link.role, link.eui, link.curtail_level)

    # --- what other parts use -------------------------------------------------------------
    @property
    def device_ids(self) -> dict[str, str]:
        """EUI-64 (hex) -> device type, for the Comms Hub Function and every device in its
        device log."""
        gas = (
            {}
            if self.gas is None
            else {self.gas.eui.hex().upper(): "GPF", self.gas.gsme.eui.hex().upper(): "GSME"}
        )
        return {self.hub.eui.hex().upper(): "CHF", **gas, **self.hub.device_ids}

    @property
    def unqueued_ids(self) -> list[bytes]:
        """The devices whose commands `execute` answers without the HAN's results queue (the
        hub's own function, the GPF, the GSME through the GPF's queue): a router need not
        hold them behind a HAN command (routing.AtOnce)."""
        gas = [] if self.gas is None else [self.gas.eui, self.gas.gsme.eui]
        return [bytes(self.hub.eui), *(bytes(e) for e in gas)]

    def tamper(self) -> list[int]:
        """Someone tampers with the meter: its alerts to the Supplier go to the on_alert
        callbacks (Esme.tamper); the alert codes sent."""
        return self.esme.tamper()

    def on_alert(self, callback: Callable[[bytes], None]) -> None:
        """Call `callback(gbcs_alert_bytes)` for every unsolicited alert a device raises."""
        self._alert_sinks.append(callback)

    def switch(self, slot: int) -> Switch:
        """The switch in `slot` (KeyError for an empty slot)."""
        return self.switches[slot]

    def curtail_level(self, slot: int) -> int:
        """The level the meter's 7.6 asks of a PLCS in `slot`, % (commissioning configuration)."""
        return self.esme.slots[slot].curtail_level

    def set_meter_time(self, when: dt.datetime) -> None:
        """Set the meter's clock (commands dated for RTDS's time)."""
        self.esme.set_time(when)

    async def switch_states(self) -> dict[int, dict]:
        return {slot: (await unit.state()).as_dict() for slot, unit in self.switches.items()}

    async def execute(self, command: bytes) -> Execution:
        """Deliver a GBCS command to the hub as the WAN would and follow it to the response."""
        start = self.clock.now()
        command = bytes(command)
        try:
            target = decode(command).target
        except GbcsError:
            return await self._rejected("unknown", None, RejectReason.MALFORMED, start)
        gas = self.gas
        if gas is not None and bytes(target) in (gas.eui, gas.gsme.eui):
            if bytes(target) == gas.eui:
                result = gas.handle(command)
            else:
                result = await gas.for_gsme(command)  # held until the GSME wakes
            return await self._done(result.use_case, result.srv, result.status, result.reason,
                                    result.response, start)  # fmt: skip
        if bytes(target) == self.hub.eui:  # the hub's own: answered at the hub, no HAN hop
            result = self.hub_function.handle(command)
            execution = await self._done(result.use_case, result.srv, result.status,
                                         result.reason, result.response, start)  # fmt: skip
            execution.alerts = list(result.alerts)  # its alerts to the DCC (DBCH08, DBCH09)
            return execution
        try:
            record = self.hub.route(target)
        except RoutingError as exc:
            return await self._rejected("unknown", None, exc.reason, start)
        if bytes(target) != self.esme.eui and bytes(target) not in self.gbcs_devices:
            return await self._rejected("unknown", None, RejectReason.UNSUPPORTED_TARGET, start)
        await self.hub.send_to(record, command)
        result = await self._results.get()
        response = None
        if result.response is not None:
            try:
                response = await self.hub.receive_from(record, timeout=30.0)
            except RoutingError as exc:
                LOGGER.warning("%s: no response through the tunnel (%s)", result.use_case, exc)
                return await self._rejected(
                    result.use_case, result.srv, RejectReason.NO_RESPONSE, start, result.slot
                )
        execution = await self._done(
            result.use_case, result.srv, result.status, result.reason, response, start, result.slot
        )
        execution.alerts = list(result.alerts)
        return execution

    async def distribute_firmware(self, image: bytes, devices: Iterable[bytes]) -> dict[bytes, str]:
        """11.1 / 11.4's image as the WAN hands it to this premises' Comms Hub, for the
        `devices` named: the hub passes it to each over the HAN and the device checks it and
        alerts its receipt (through on_alert). Device EUI -> "verified" | "verification-failed"
        (the meter), "activated" | "transfer-failed" (a PPMID), "unsupported" (a device here
        gbhan takes no image for) or "not-here"."""
        outcomes: dict[bytes, str] = {}
        for eui in map(bytes, devices):
            if eui == self.esme.eui:
                self.hub.stats["firmware:to-device"] += 1
                await self.clock.sleep(HAN_LATENCY_S)  # the hub's transfer over the HAN
                code = self.esme.firmware.receive(image, supplier_anchor(self.esme.access.trust))
                outcomes[eui] = "verified" if code == VERIFIED else "verification-failed"
            elif eui in self.gbcs_devices and self.gbcs_devices[eui].device_type == "ppmid":
                outcomes[eui] = await self._image_to_ppmid(self.gbcs_devices[eui], image)
            elif eui.hex().upper() in self.device_ids:
                outcomes[eui] = "unsupported"
            else:
                outcomes[eui] = "not-here"
        return outcomes

    async def _image_to_ppmid(self, device: PairedDevice, image: bytes) -> str:
        """The hub passes the image to a PPMID, which activates it (CS09); the hub alerts
        the ACB how the transfer went (CCS08), then the PPMID's alert follows."""
        self.hub.stats["firmware:to-device"] += 1
        await self.clock.sleep(HAN_LATENCY_S)
        now = self.esme.utc_now()
        code, version, activated = device.receive_image(image, now)
        self._raise_alert(self.hub_function.firmware_transfer_alert(device.eui, version, code))
        if activated is None:
            return "hardware-version-mismatch" if code == HARDWARE_MISMATCH else "transfer-failed"
        self._raise_alert(activated)
        return "activated"

    async def close(self) -> None:
        for unit in self.switches.values():
            await unit.close()

    # --- internals ----------------------------------------------------------------------
    def _ieee_of(self, nwk: int) -> bytes | None:
        """The EUI of the node at `nwk` on the HAN (None: no such node)."""
        node = self.medium.node_by_nwk(nwk)
        return None if node is None else bytes.fromhex(str(node.ieee).replace(":", ""))

    async def _add_type2_device(self, eui: bytes, kind: str) -> None:
        """An IHD or a CAD on the HAN (CCS01 and its join), reading the meter once the meter
        has joined it (CS03B)."""
        node = InProcessNode(_ieee(eui), link_key_from_install_code(install_code(eui)),
                             self.medium, type2_endpoints(kind))  # fmt: skip
        device = Type2Device(eui, kind, node, lambda: self.esme.node.nwk,
                             lambda: None if self.gas is None else self.hub.coordinator.nwk)  # fmt: skip
        await self.hub.add_device(node, "TYPE_2", install_code(eui))
        self.type2[eui] = device

    async def _add_gbcs_device(self, eui: bytes, spec: dict) -> None:
        """An HCALCS or PPMID that answers GBCS itself (joins, CS08): on the HAN, in the
        hub's device log, its outcomes reported like the meter's."""
        kind = spec["type"]
        node = InProcessNode(_ieee(eui), link_key_from_install_code(install_code(eui)),
                             self.medium, endpoints(kind))  # fmt: skip
        device = PairedDevice(eui, kind, node, self.keys, profile=spec)
        device.on_result = self._results.put_nowait
        await self.hub.add_device(node, kind.upper(), install_code(eui))
        self.gbcs_devices[eui] = device

    async def _rejected(
        self, use_case: str, srv: str | None, reason: RejectReason, start: float,
        slot: int | None = None,
    ) -> Execution:  # fmt: skip
        return await self._done(use_case, srv, Outcome.REJECTED, reason, None, start, slot)

    async def _done(
        self, use_case: str, srv: str | None, status: Outcome, reason: RejectReason | None,
        response: bytes | None, start: float, slot: int | None = None,
    ) -> Execution:  # fmt: skip
        verified = None
        if response is not None and self.verify_responses:
            verified = self.verify(response)
        return Execution(
            use_case=use_case,
            status=status,
            reason=reason,
            response=response,
            alerts=[],
            switch=await self.switch_states(),
            latency_s=self.clock.now() - start,
            srv=srv,
            slot=slot,
            response_verified=verified,
        )

    def verify(self, response: bytes) -> bool:
        """The back office's check: the device's signature or the MAC verifies — with the
        premises' keys, or with a remote party's pair a device placed as its anchor since
        (6.15.1, 6.23, 8.5: the device MACs with the key in that party's cell)."""
        try:
            message = decode(response)
            if check_message(message, self.keys.keystore).outcome == "verified":
                return True
            view = self.keys.placed_view(bytes(message.originator), bytes(message.target))
            return view is not None and check_message(decode(response), view).outcome == "verified"
        except GbcsError:
            return False

    def _on_tunnel(self, node: InProcessNode, packet) -> None:
        gbcs = parse_tunnel_data(bytes(packet.data.serialize()))
        if gbcs is None:
            self.esme.stats["tunnel:ignored"] += 1
            return
        node.spawn(self._run(node, packet, gbcs))

    async def _run(self, node: InProcessNode, packet, gbcs: bytes) -> None:
        result = await self.esme.handle(gbcs)
        self._results.put_nowait(result)
        if result.response is not None:
            tunnel_reply(node, packet, result.response)
        for alert in result.alerts:
            for sink in self._alert_sinks:
                sink(alert)

    def _raise_alert(self, alert: bytes) -> None:
        """An alert a device raises on its own (a future-dated activation, the GPF's device
        log backup): to every on_alert callback."""
        for sink in self._alert_sinks:
            sink(alert)

    def _on_switch_report(self, packet) -> None:
        self.esme.stats[f"from-switch:0x{packet.cluster_id:04X}"] += 1
