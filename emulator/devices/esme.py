"""The ESME (electricity meter) model: accepts GBCS commands, drives its five auxiliary load
control slots over ZCL, and answers with signed or MAC'd GBCS responses.

Order of checks for each command (each failure is a logged, counted rejection and nothing is
executed): decodes; is a command for this device; use case supported; originator is one of
the trust anchors; MAC verifies (key from the ACB and this device's KA keys); signature by the
anchor's DS key (critical use cases); the anchor's role is allowed this SRV (SECMP0046
switches); counter above the last from that originator. Then execute, build the response
(RTDS layout), sign it (when the command was signed) or MAC it.

Execution follows the GBCS rule RTDS shows: the first instruction that fails gets its
result (hardware_fault when a switch does not answer or confirm) and every later one
other_reason.

Auxiliary controllers (ECS47a 7.13, ECS47e 7.16): a start and end date-time per controller,
then a script whose selector names direction, controller and level; the meter switches the
controller's output at the start for the period (the switch's own DRLC event runs it out) or
holds the commanded input level. ECS61d/ECS61e read the configuration and a JSON state per
controller. A future-dated calendar activation (ECS46c/d) raises the 8F66 alert (00CC) when it
executes (8F67 if it cannot), signed, to the command's originator, through `alert_sink`.

ECS52 (11.2) reads the meter's firmware version (profile `firmware_version`, RTDS's 0123ABCD).

Joins and unjoins (CS03A1, CS04AC) change the meter's device log. A slot's switch is
commanded only while its EUI is in the device log: after an unjoin, ECS47/ECS62/ECS61a
instructions for that slot answer object_unavailable and nothing is sent to the switch.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import zigpy.types as t
from construct import Container, ListContainer

from emulator.clock import Clock
from emulator.han.link import InProcessNode, RequestError
from gbcs import asn1, decode
from gbcs.dlms import decode_data
from gbcs.errors import GbcsError
from gbcs.message import Message, encode_apdu
from gbcs.payload import encode as encode_payload
from gbcs.roles import ACB_EUI
from gbcs.security import (
    mac_apdu,
    sign,
    verify_data,
)
from gbcs.usecases import lookup

from . import switch_zcl as sz
from .access import AccessPolicy, CounterStore, mac_verifies
from .keys import PremisesKeys
from .switch_zcl import SwitchError

LOGGER = logging.getLogger(__name__)

SUCCESS, HARDWARE_FAULT, OTHER = "success", "hardware_fault", "other_reason"
OBJECT_UNDEFINED, OBJECT_UNAVAILABLE = "object_undefined", "object_unavailable"

# OBIS codes (primer 9.1); n = slot 1..5
LABEL = bytes.fromhex("00005E2C00")  # + (10 + n)
IDENTIFIER = LABEL  # + (20 + n)
CONTROLLER_STATE = LABEL  # + (30 + n): utf8 JSON
PERIOD = bytes.fromhex("00005E2C")  # + (116 + n) + 1/2 (ECS47a) or 3/4 (ECS47e)
APC_LIMIT_SCRIPTS = bytes.fromhex("00000A006BFF")
BOOST_SLOT = bytes.fromhex("00005E2C06")  # + n
BOOST_AVAILABLE = bytes.fromhex("00005E2C07FF")
BOOST_LOG = bytes.fromhex("0000636214FF")
SPECIAL_DAYS = {bytes.fromhex("00000B0003FF"): "active", bytes.fromhex("00010B0003FF"): "passive"}
SCHEDULE = {bytes.fromhex("00000C0002FF"): "active", bytes.fromhex("00010C0002FF"): "passive"}
ACTIVATE_SCHEDULE = bytes.fromhex("00005E2C801A")
ACTIVATE_SPECIAL_DAYS = bytes.fromhex("00005E2C8023")
SCRIPT_TABLE = bytes.fromhex("00000A0067FF")
IC_DATA, IC_PROFILE, IC_SCRIPT, IC_SCHEDULE, IC_SPECIAL_DAYS, IC_DISCONNECT = 1, 7, 9, 10, 11, 70
IC_EXTENDED = 9000
#: ECS52 (11.2): the meter's firmware version, a data object (RTDS's ESME reports 0123ABCD)
FIRMWARE_VERSION = bytes.fromhex("0000000201FF")
RTDS_FIRMWARE_VERSION = "0123ABCD"

#: ECS47 script selector low byte -> SRV
ECS47_ACTIONS = {0x11: "7.5", 0x12: "7.6", 0x20: "7.8"}
#: message code -> SRV for the use cases this meter executes (ECS47 decides by its payload)
SRV_OF = {0x00BB: "7.7", 0x005E: "7.11", 0x0053: "6.14.1", 0x0054: "6.14.2", 0x011A: "6.14.3",
          0x011C: "7.14", 0x011D: "7.15", 0x011E: "7.13", 0x011F: "7.16",
          0x0059: "11.2"}  # fmt: skip
#: ECS47a / ECS47e: the script table they execute and the (start, end) period attributes
PERIOD_USE_CASES = {0x011E: (SCRIPT_TABLE, (1, 2)), 0x011F: (APC_LIMIT_SCRIPTS, (3, 4))}
#: the tables' limit on a controller period (primer 9.3)
MAX_PERIOD = dt.timedelta(hours=24)
OUTPUT, INPUT = 1, 2  # selector direction nibble
FUTURE_DATED_ALERT = 0x00CC  # the alert's message code (DLMS)
ACTIONED, NOT_ACTIONED = 0x8F66, 0x8F67
#: the first alert counter: RTDS's ESME alerts (6.14.2 8F66) carry 2004, 2005
FIRST_ALERT_COUNTER = 2004
JOIN, UNJOIN = 0x000D, 0x000F  # CS03A1 (SRV 8.7.1), CS04AC (8.8.1 Supplier, 8.8.2 via ACB)
#: device types an ESME joins as Method A initiator (GBCS: its HCALCS and PPMID partners)
JOINABLE = frozenset({"hcalcs", "ppmid"})
#: join / unjoin response codes (gbcs.asn1.JOIN_RESPONSES / UNJOIN_RESPONSES)
JOIN_OK, JOIN_BAD_METHOD, JOIN_INCOMPATIBLE, JOIN_LOG_FULL = 0, 2, 3, 4
UNJOIN_OK, UNJOIN_NOT_IN_LOG = 0, 1
#: entries the meter's device log holds (assumption: GBCS's figure is not in our sources)
DEVICE_LOG_CAPACITY = 8
FUTURE_DATED = {0x0054, 0x011A}
SIGNED_IN_RTDS = {0x0055, 0x0054}
RESPONSE_KIND = {"get_with_selection": "get", "set_with_selection": "set"}
#: how the meter commands a switch for 7.5/7.6/7.8 (docs/devices.md, Assumptions)
COMMAND_ROUTES = ("drlc", "onoff", "both")


@dataclass
class EsmeResult:
    use_case: str
    srv: str | None
    outcome: str
    response: bytes | None = None
    alerts: list[bytes] = field(default_factory=list)
    slot: int | None = None


class Rejected(Exception):
    def __init__(self, reason: str, response: bytes | None = None) -> None:
        super().__init__(reason)
        self.reason, self.response = reason, response


class _Failed(Exception):
    def __init__(self, result: str) -> None:
        super().__init__(result)
        self.result = result


@dataclass
class SlotLink:
    """What the meter knows of the switch in a slot: its NWK address and kind."""

    nwk: int
    role: str  # hcalcs | plcs
    eui: bytes | None = None  # None: an ALCS of the meter's own (always commandable)
    curtail_level: int = 0  # what 7.6 asks of a PLCS, % (configured at commissioning)


def _item(kind: str, value=None) -> Container:
    return Container(type=kind, value=value)


NULL = _item("null-data")


def cosem_datetime(when: dt.datetime) -> Container:
    """A COSEM date-time as RTDS responses carry it (day of week, deviation unspecified)."""
    return Container(
        year=when.year,
        month=when.month,
        day=when.day,
        day_of_week=0xFF,
        hour=when.hour,
        minute=when.minute,
        second=when.second,
        hundredths=0,
        deviation=-32768,
        clock_status=0xFF,
    )


class Esme:
    """One meter. `node` is its HAN presence (endpoint 1); slots map to switches."""

    def __init__(
        self,
        eui: bytes,
        node: InProcessNode,
        keys: PremisesKeys,
        clock: Clock,
        *,
        profile: dict,
        policy: AccessPolicy,
        plcs_curtail_level: int = 0,
        zcl_timeout_s: float = 5.0,
        command_route: str = "drlc",
    ) -> None:
        if command_route not in COMMAND_ROUTES:
            raise ValueError(f"command_route is one of {COMMAND_ROUTES}, not {command_route!r}")
        self.eui, self.node, self.keys, self.clock = bytes(eui), node, keys, clock
        self.policy = policy
        self.command_route = command_route
        self.plcs_curtail_level = plcs_curtail_level
        self.zcl_timeout_s = zcl_timeout_s
        self.slots: dict[int, SlotLink] = {}
        self.counters = CounterStore()
        self.stats: Counter = Counter()
        self.object_faults: set[bytes] = set()  # OBIS codes whose storage fails (tests)
        self.labels = {int(k): v for k, v in profile["labels"].items()}
        self.identifiers = {int(k): bytes.fromhex(v) for k, v in profile["identifiers"].items()}
        self.calendars = {
            ("special_days", "active"): decode_data(bytes.fromhex(profile["special_days"])),
            ("schedule", "active"): decode_data(bytes.fromhex(profile["schedule"])),
        }
        self.boost_available = bool(profile.get("boost_available", True))
        self.boost_log = [tuple(e) for e in profile.get("boost_log", [])]
        #: the devices this meter has joined (EUI -> GBCS type name): it talks to no other
        self.device_log: dict[bytes, str] = {
            bytes.fromhex(eui): kind for eui, kind in profile.get("device_log", {}).items()
        }
        #: OBIS -> (due, calendar name, the command, timer), in the order commands set them
        self.pending_activations: dict[bytes, tuple] = {}
        #: controller n -> {"inputState": %, "other-data": ...}: what the meter holds beside
        #: the switch's own output (ECS61e's JSON)
        self.controller_state: dict[int, dict] = {
            int(n): dict(v) for n, v in profile.get("controller_state", {}).items()
        }
        self.periods: dict[tuple[int, int], object] = {}  # (controller, direction) -> timer
        #: where alerts go (the premises delivers them to its on_alert callbacks)
        self.alert_sink: Callable[[bytes], None] | None = None
        first_alert = int(profile.get("alert_counter", FIRST_ALERT_COUNTER))
        self._alert_counter = itertools.count(first_alert)
        self._time_base: tuple[dt.datetime, float] | None = None
        self._event_ids = itertools.count((clock.zigbee_utc_now() * 8) & 0x7FFFFFFF)
        self._signing_key = keys.device_signing_key(self.eui)
        self.firmware_version = bytes.fromhex(profile.get("firmware_version",
                                                          RTDS_FIRMWARE_VERSION))  # fmt: skip

    def cancel_timers(self) -> None:
        """Drop pending calendar activations and controller periods (a meter replaced)."""
        timers = [p[-1] for p in self.pending_activations.values()] + list(self.periods.values())
        for timer in timers:
            timer.cancel()
        self.pending_activations.clear()
        self.periods.clear()

    def set_time(self, when: dt.datetime) -> None:
        """Set the meter's clock (the hub synchronises it; tests pin it to RTDS's times)."""
        self._time_base = (when, self.clock.now())

    def utc_now(self) -> dt.datetime:
        if self._time_base is None:
            return self.clock.utc_now()
        base, at = self._time_base
        return base + dt.timedelta(seconds=self.clock.now() - at)

    def attach_slot(
        self, slot: int, nwk: int, role: str, eui: bytes | None = None,
        curtail_level: int | None = None,
    ) -> None:  # fmt: skip
        """Bind a switch to a slot; with its EUI it is also a joined device (an HCALCS-type
        entry: GBCS has no PLCS type). `curtail_level`: the PLCS's configured 7.6 level."""
        level = self.plcs_curtail_level if curtail_level is None else int(curtail_level)
        if not 0 <= level <= 100:
            raise ValueError("a PLCS curtail level is a percentage 0-100")
        self.slots[slot] = SlotLink(nwk, role, None if eui is None else bytes(eui), level)
        if eui is not None:
            self.device_log[bytes(eui)] = "hcalcs"

    def joined(self, slot: int) -> SlotLink | None:
        """The slot's switch if the meter may command it (present and in the device log)."""
        link = self.slots.get(slot)
        if link is None or (link.eui is not None and link.eui not in self.device_log):
            return None
        return link

    # --- acceptance -------------------------------------------------------------------
    async def handle(self, command: bytes) -> EsmeResult:
        """Check and execute one GBCS command; never raises for bad input."""
        use_case, srv = "unknown", None
        self._slot = None
        try:
            message = decode(command)
            use_case = message.use_case.name if message.use_case else f"0x{message.message_code:04X}"
            srv = self._srv(message)
            self._check(message, srv)
            response = await self._execute(message, srv)
        except GbcsError as exc:
            return self._reject(use_case, srv, "malformed", str(exc))
        except Rejected as exc:
            result = self._reject(use_case, srv, exc.reason, "")
            result.response = exc.response
            result.slot = self._slot
            return result
        self.stats["executed"] += 1
        return EsmeResult(use_case, srv, "executed", response, slot=self._slot)

    def _reject(self, use_case, srv, reason: str, detail: str) -> EsmeResult:
        self.stats[f"rejected:{reason}"] += 1
        LOGGER.info("ESME %s rejected %s (%s): %s %s", self.eui.hex(), use_case, srv, reason, detail)
        return EsmeResult(use_case, srv, f"rejected:{reason}")

    def _srv(self, message: Message) -> str | None:
        code = message.message_code
        if code == JOIN:
            return "8.7.1"
        if code == UNJOIN:  # the Supplier's own (8.8.1) or the ACB's on a user's behalf (8.8.2)
            return "8.8.2" if bytes(message.originator) == ACB_EUI else "8.8.1"
        if code == 0x0055:
            if message.payload_kind != "dlms-access-request":
                raise Rejected("malformed")
            selector = self._ecs47_selector(message)
            self._slot = selector >> 8
            return ECS47_ACTIONS.get(selector & 0xFF)
        if code == 0x005F:  # ECS62: add or remove by the booleans it sets
            data = message.payload.data
            return "7.9" if data and data[0].value else "7.10"
        return SRV_OF.get(code)

    @staticmethod
    def _ecs47_selector(message: Message) -> int:
        for spec, item in zip(message.payload.specifications, message.payload.data, strict=True):
            if str(spec.kind) == "action" and bytes(spec.instance_id) == SCRIPT_TABLE:
                return int(item.value)
        raise Rejected("malformed")

    def _check(self, message: Message, srv: str | None) -> None:
        if message.cra != "command":
            raise Rejected("not-a-command")
        if bytes(message.target) != self.eui:
            raise Rejected("unknown-target")
        kind = "asn1" if message.message_code in (JOIN, UNJOIN) else "dlms-access-request"
        if srv is None or message.payload_kind != kind:
            raise Rejected("unsupported-use-case")
        originator = bytes(message.originator)
        role = self.keys.anchors.get(originator)
        if role is None:
            raise Rejected("unknown-originator")
        if message.mac is None:
            raise Rejected("no-mac")
        if not mac_verifies(message, self.keys.keystore):
            raise Rejected("bad-mac")
        # ECS47 and ECS46c are critical in RTDS though the tables we have do not say (None)
        critical = bool(message.use_case and message.use_case.critical) or (
            message.message_code in SIGNED_IN_RTDS
        )
        if critical or message.signature:
            if not message.signature:
                raise Rejected("unsigned")
            try:
                verify_data(message.signed_data, message.signature, self.keys.anchor_key(originator))
            except GbcsError:
                raise Rejected("bad-signature") from None
        if not self.policy.permits(srv, role):
            raise Rejected("role-not-permitted")
        reason = self.counters.check(originator, message.counter)
        if reason:
            raise Rejected(reason)
        self.counters.accept(originator, message.counter)

    # --- execution --------------------------------------------------------------------
    async def _execute(self, message: Message, srv: str) -> bytes:
        if message.message_code in (JOIN, UNJOIN):
            return self._join_unjoin(message)
        payload = message.payload
        specs = list(zip(payload.specifications, payload.data, strict=True))
        if message.message_code == 0x0055:
            outcomes = await self._ecs47(specs, srv)
        elif message.message_code in PERIOD_USE_CASES:
            outcomes = self._controller_period(message, specs)
        else:
            outcomes = []
            failed = False
            for spec, item in specs:
                kind = str(spec.kind)
                if failed:
                    outcomes.append((kind, OTHER, NULL))
                    continue
                try:
                    data = await self._instruction(message, spec, item)
                    outcomes.append((kind, SUCCESS, data))
                except _Failed as exc:
                    outcomes.append((kind, exc.result, NULL))
                    failed = exc.result == HARDWARE_FAULT
        return self._respond(message, outcomes)

    async def _ecs47(self, specs, srv: str) -> list[tuple[str, str, Container]]:
        selector = next(int(item.value) for spec, item in specs if str(spec.kind) == "action")
        slot = self._slot = selector >> 8
        duration = next(
            (int(item.value) for spec, item in specs if str(spec.kind) == "set"), 0
        )
        if self.slots.get(slot) is None:
            raise Rejected("no-switch")
        if self.joined(slot) is None:  # unjoined: the meter no longer talks to that switch
            LOGGER.info("ESME %s: slot %d's switch is not joined", self.eui.hex(), slot)
            self.stats["unjoined-slot"] += 1
            results = [OBJECT_UNAVAILABLE] + [OTHER] * (len(specs) - 1)
            return [(str(s.kind), r, NULL) for (s, _), r in zip(specs, results, strict=True)]
        try:
            await self.command_slot(slot, srv, duration)
            results = [SUCCESS] * len(specs)
        except SwitchError as exc:
            LOGGER.info("ESME slot %d: %s", slot, exc)
            self.stats["switch-failures"] += 1
            results = [HARDWARE_FAULT] + [OTHER] * (len(specs) - 1)
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
        if srv == "7.8":
            expect = None
        elif level is None:
            level = 100 if srv == "7.5" else (link.curtail_level if link.role == "plcs" else 0)
            expect = level
        else:
            expect = level
        for cluster, frame in self._route_frames(link, srv, duration, level):
            status = sz.default_response_status(await self._exchange(link, cluster, frame))
            if status != 0:
                raise SwitchError(f"slot {slot}: switch answered status {status!r}")
        relay, level = await self.read_output(link)
        if expect is None:
            return
        if link.role == "hcalcs" and relay != (expect >= 100):
            raise SwitchError(f"slot {slot}: relay reported {'closed' if relay else 'open'}")
        if link.role == "plcs" and abs(level - expect) > 1:
            raise SwitchError(f"slot {slot}: level reported {level} %, wanted {expect} %")

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

    async def read_output(self, link: SlotLink) -> tuple[bool, int]:
        tsn = self.node.next_tsn
        values = sz.read_values(
            await self._exchange(link, 0x0006, sz.read_attributes(tsn(), [sz.ON_OFF_ATTR]))
        )
        if sz.ON_OFF_ATTR not in values:
            raise SwitchError("no OnOff value")
        relay = bool(values[sz.ON_OFF_ATTR])
        level = 100 if relay else 0
        if link.role == "plcs":
            values = sz.read_values(
                await self._exchange(
                    link, 0x0008, sz.read_attributes(tsn(), [sz.CURRENT_LEVEL_ATTR])
                )
            )
            level = round(int(values.get(sz.CURRENT_LEVEL_ATTR, 0)) * 100 / 254)
        return relay, level

    async def _exchange(self, link: SlotLink, cluster: int, frame: bytes) -> bytes:
        try:  # APS-secured with the partner link key: switches refuse anything else
            packet = await self.node.request(
                link.nwk, sz.ENDPOINT, cluster, frame, timeout=self.zcl_timeout_s,
                aps_encryption=True,
            )
        except RequestError as exc:
            raise SwitchError(str(exc)) from None
        if t.TransmitOptions.APS_Encryption not in t.TransmitOptions(packet.tx_options):
            self.stats["switch-answer-unencrypted"] += 1
            raise SwitchError(f"slot answer from 0x{link.nwk:04X} was not APS-secured")
        return bytes(packet.data.serialize())

    async def _instruction(self, message: Message, spec, item) -> Container:
        kind, ic, obis = str(spec.kind), int(spec.class_id), bytes(spec.instance_id)
        if obis in self.object_faults:
            raise _Failed(HARDWARE_FAULT)
        last = obis[5]
        if ic == IC_DATA and obis[:5] == LABEL and 11 <= last <= 15:
            return await self._label(kind, last - 10, item)
        if ic == IC_DATA and obis[:5] == IDENTIFIER and 21 <= last <= 25:
            if kind == "get":
                return _item("octet-string", self.identifiers.get(last - 20, b""))
            self.identifiers[last - 20] = bytes(item.value)
            return NULL
        if ic == IC_DATA and obis[:5] == CONTROLLER_STATE and 31 <= last <= 35 and kind == "get":
            return _item("utf8-string", await self._state_json(last - 30))
        if ic == IC_DATA and obis[:5] == BOOST_SLOT and 1 <= last <= 5:
            return await self._boost_association(kind, last, item)
        if ic == IC_DATA and obis == FIRMWARE_VERSION and kind == "get":  # ECS52
            return _item("octet-string", self.firmware_version)
        if ic == IC_DATA and obis == BOOST_AVAILABLE and kind == "get":
            return _item("boolean", 0xFF if self.boost_available else 0)
        if ic == IC_PROFILE and obis == BOOST_LOG and kind == "get_with_selection":
            return self._boost_log(spec.selection)
        if (ic, obis) in ((IC_SPECIAL_DAYS, o) for o in SPECIAL_DAYS) or (ic, obis) in (
            (IC_SCHEDULE, o) for o in SCHEDULE
        ):
            name = "special_days" if ic == IC_SPECIAL_DAYS else "schedule"
            which = (SPECIAL_DAYS if ic == IC_SPECIAL_DAYS else SCHEDULE)[obis]
            if kind == "get":
                return self.calendars.get((name, which), _item("array", ListContainer()))
            self.calendars[(name, which)] = item
            return NULL
        if ic == IC_EXTENDED and obis in (ACTIVATE_SCHEDULE, ACTIVATE_SPECIAL_DAYS) and kind == "set":
            self._activation(obis, bytes(item.value), message)
            return NULL
        if ic == IC_DISCONNECT and obis[0] == 0 and 1 <= obis[1] <= 5 and kind == "get":
            link = self.joined(obis[1])
            if link is None:
                raise _Failed(OBJECT_UNAVAILABLE)
            try:
                relay, _level = await self.read_output(link)
            except SwitchError:
                raise _Failed(HARDWARE_FAULT) from None
            return _item("boolean", 0xFF if relay else 0)
        raise _Failed(OBJECT_UNDEFINED)

    async def _label(self, kind: str, slot: int, item) -> Container:
        if kind == "get":
            return _item("visible-string", self.labels.get(slot, ""))
        text = str(item.value)
        link = self.joined(slot)
        if link is not None:  # the switch shows its label too (Basic location, config 0x0000)
            frame = sz.write_attribute(self.node.next_tsn(), sz.ATTR_LABEL, sz.T_CHAR_STRING, text)
            await self._write(link, frame)
        self.labels[slot] = text
        return NULL

    async def _boost_association(self, kind: str, slot: int, item) -> Container:
        link = self.joined(slot)
        if link is None:
            raise _Failed(OBJECT_UNAVAILABLE)
        tsn = self.node.next_tsn
        if kind == "get":
            try:
                values = sz.read_values(
                    await self._exchange(
                        link,
                        sz.CONFIG_CLUSTER,
                        sz.read_attributes(tsn(), [sz.ATTR_BOOST_ASSOCIATED]),
                    )
                )
            except SwitchError:
                raise _Failed(HARDWARE_FAULT) from None
            if sz.ATTR_BOOST_ASSOCIATED not in values:
                raise _Failed(HARDWARE_FAULT)
            return _item("boolean", 0xFF if values[sz.ATTR_BOOST_ASSOCIATED] else 0)
        frame = sz.write_attribute(tsn(), sz.ATTR_BOOST_ASSOCIATED, sz.T_BOOL, bool(item.value))
        await self._write(link, frame)
        return NULL

    async def set_boost_association(self, slot: int, allowed: bool) -> None:
        """Write a switch's boost association (what ECS62 does for one slot); SwitchError."""
        try:
            await self._boost_association("set", slot, _item("boolean", 0xFF if allowed else 0))
        except _Failed as exc:
            raise SwitchError(f"slot {slot}: {exc.result}") from None

    async def _write(self, link: SlotLink, frame: bytes) -> None:
        try:
            ok = sz.write_ok(await self._exchange(link, sz.CONFIG_CLUSTER, frame))
        except SwitchError:
            raise _Failed(HARDWARE_FAULT) from None
        if not ok:
            raise _Failed(HARDWARE_FAULT)

    def _boost_log(self, selection) -> Container:
        if selection is None or int(selection.selector) != 1:
            raise _Failed(OBJECT_UNAVAILABLE)
        params = selection.parameters.value
        start, end = int(params[1].value), int(params[2].value)
        entries = ListContainer(
            ListContainer([a, b]) for a, b in self.boost_log if start <= a and b <= end
        )
        description = Container(
            type="structure",
            elements=ListContainer(
                [Container(type="double-long-unsigned"), Container(type="double-long-unsigned")]
            ),
        )
        return _item("compact-array", Container(description=description, entries=entries))

    def _activation(self, obis: bytes, when: bytes, message: Message) -> None:
        """Next calendar / special days: all 00 = now, all FF = cancel, else at that time
        (then the 8F66 alert tells the command's originator it happened)."""
        name = "schedule" if obis == ACTIVATE_SCHEDULE else "special_days"
        pending = self.pending_activations.pop(obis, None)
        if pending is not None:
            pending[-1].cancel()
        if not any(when[:8]):
            self._activate(name)
        elif all(b == 0xFF for b in when[:8]):
            return
        else:
            at = _read_datetime(when)
            if at is None:
                raise _Failed(OTHER)
            delay = (at - self.utc_now()).total_seconds()
            timer = self.clock.call_later(delay, self._activations_due)
            self.pending_activations[obis] = (at, name, message, timer)

    def _activate(self, name: str) -> bool:
        passive = self.calendars.get((name, "passive"))
        active_obis = next(o for o, w in _ACTIVE_OBJECTS[name].items() if w == "active")
        if passive is None or active_obis in self.object_faults:
            self.stats[f"activation-failed:{name}"] += 1
            return False
        self.calendars[(name, "active")] = passive
        self.stats[f"activated:{name}"] += 1
        return True

    def _activations_due(self) -> None:
        """Every activation due by now, in the order the commands set them (timers due at
        the same instant fire in no set order)."""
        now = self.utc_now() + dt.timedelta(milliseconds=1)
        for obis, (at, name, message, timer) in list(self.pending_activations.items()):
            if at <= now:
                timer.cancel()
                del self.pending_activations[obis]
                self._activate_future(name, obis, message, at)

    def _activate_future(self, name: str, obis: bytes, message: Message, at: dt.datetime) -> None:
        """A future-dated activation falls due: activate, then alert 8F66 (8F67 if not)."""
        code = ACTIONED if self._activate(name) else NOT_ACTIONED
        LOGGER.info("ESME %s: %s activation at %s: %04X", self.eui.hex(), name, at, code)
        executed = (
            message.message_code.to_bytes(2, "big")
            + int(message.counter).to_bytes(8, "big")
            + IC_EXTENDED.to_bytes(2, "big")
            + obis
            + bytes((6,))  # the activation time attribute that was applied
        )
        self.raise_alert(bytes(message.originator), code, at, [_item("octet-string", executed)])

    def raise_alert(self, to: bytes, code: int, when: dt.datetime, extra: list) -> bytes:
        """A DLMS alert (00CC layout: code, time stamp, then `extra`), signed by this meter,
        handed to `alert_sink`; returns its bytes."""
        counter = next(self._alert_counter)
        header = Container(
            tag=b"\xdf",
            transaction_id=Container(cra="alert", counter=counter),
            originator=self.eui,
            target=bytes(to),
            date_time=None,
            other_information=Container(
                message_code=FUTURE_DATED_ALERT,
                supplementary_remote_party=None,
                supplementary_remote_party_counter=None,
                supplementary_originator_counter=None,
                certificate=b"",
            ),
        )
        payload = Container(
            tag=b"\x0f",
            long_invoke_id_and_priority=0x20000000 | (counter & 0x0FFFFFFF),
            date_time=None,
            notification=_item(
                "structure",
                ListContainer(
                    [_item("long-unsigned", code), _item("octet-string", datetime_octets(when))]
                    + list(extra)
                ),
            ),
        )
        content = encode_payload("dlms-notification", payload)
        alert = sign(encode_apdu(header, content, None), self._signing_key)
        self.stats[f"alert:{code:04X}"] += 1
        if self.alert_sink is None:
            LOGGER.warning("ESME %s: alert %04X raised with nowhere to go", self.eui.hex(), code)
        else:
            self.alert_sink(alert)
        return alert

    # --- auxiliary controller periods (ECS47a, ECS47e) ----------------------------------
    def _controller_period(self, message: Message, specs) -> list[tuple[str, str, Container]]:
        """Store the period, then schedule it; the first failure makes every later
        instruction other_reason (the tables' rule for a bad period)."""
        script, attributes = PERIOD_USE_CASES[message.message_code]
        times: dict[tuple[int, int], dt.datetime] = {}
        outcomes, failed = [], False
        for spec, item in specs:
            kind = str(spec.kind)
            if failed:
                outcomes.append((kind, OTHER, NULL))
                continue
            try:
                self._period_instruction(spec, item, script, attributes, times)
                outcomes.append((kind, SUCCESS, NULL))
            except _Failed as exc:
                outcomes.append((kind, exc.result, NULL))
                failed = True
        return outcomes

    def _period_instruction(self, spec, item, script: bytes, attributes, times) -> None:
        kind, ic, obis = str(spec.kind), int(spec.class_id), bytes(spec.instance_id)
        if obis in self.object_faults:
            raise _Failed(HARDWARE_FAULT)
        if (kind == "set" and ic == IC_DATA and obis[:4] == PERIOD and 117 <= obis[4] <= 121
                and obis[5] in attributes):  # fmt: skip
            when = _read_datetime(bytes(item.value)) if item.type == "octet-string" else None
            if when is None:
                raise _Failed(OTHER)
            times[(obis[4] - 116, attributes.index(obis[5]))] = when
            return
        if kind == "action" and ic == IC_SCRIPT and obis == script:
            self._schedule_period(int(item.value), times)
            return
        raise _Failed(OBJECT_UNDEFINED)

    def _schedule_period(self, selector: int, times) -> None:
        direction, number, level = selector >> 12, (selector >> 8) & 0x0F, selector & 0xFF
        self._slot = number
        start, end = times.get((number, 0)), times.get((number, 1))
        if direction not in (OUTPUT, INPUT) or not 1 <= number <= 5 or level > 100:
            raise _Failed(OTHER)
        if start is None or end is None or not start < end <= start + MAX_PERIOD:
            raise _Failed(OTHER)
        now = self.utc_now()
        if end <= now:  # assumption: a period already over is refused, not run
            raise _Failed(OTHER)
        if direction == OUTPUT and self.joined(number) is None:
            raise _Failed(OBJECT_UNAVAILABLE)
        previous = self.periods.pop((number, direction), None)
        if previous is not None:  # a new period for the controller replaces the old
            previous.cancel()
        delay = max(0.0, (start - now).total_seconds())
        self.periods[(number, direction)] = self.clock.call_later(
            delay, self._start_period, number, direction, level, end
        )
        self.stats["periods-scheduled"] += 1

    def _start_period(self, number: int, direction: int, level: int, end: dt.datetime) -> None:
        remaining = (end - self.utc_now()).total_seconds()
        if direction == INPUT:
            self.controller_state.setdefault(number, {})["inputState"] = level
            self.periods[(number, direction)] = self.clock.call_later(
                remaining, self._end_input, number
            )
            return
        self.periods.pop((number, direction), None)
        minutes = max(1, -int(-remaining // 60))
        self.node.spawn(self._switch_period(number, level, minutes))

    def _end_input(self, number: int) -> None:
        self.periods.pop((number, INPUT), None)
        self.controller_state.setdefault(number, {})["inputState"] = 0

    async def _switch_period(self, number: int, level: int, minutes: int) -> None:
        try:
            await self.command_slot(number, "7.5" if level >= 100 else "7.6", minutes, level)
            self.stats["periods-started"] += 1
        except SwitchError as exc:
            self.stats["period-failures"] += 1
            LOGGER.info("ESME %s controller %d period: %s", self.eui.hex(), number, exc)

    async def _state_json(self, number: int) -> str:
        """ECS61e's state of controller n: {} when none is configured (empty identifier),
        else the output the switch reports, the input level held, and any other data."""
        if not self.identifiers.get(number):
            return "{}"
        held = self.controller_state.get(number, {})
        output = held.get("outputState", 0)
        link = self.joined(number)
        if link is not None:
            try:
                relay, level = await self.read_output(link)
            except SwitchError:
                raise _Failed(HARDWARE_FAULT) from None
            output = level if link.role == "plcs" else (100 if relay else 0)
        state = {"outputState": output, "inputState": held.get("inputState", 0)}
        state.update({k: v for k, v in held.items() if k not in state})
        return json.dumps(state)

    # --- joins and unjoins -------------------------------------------------------------
    def _join_unjoin(self, message: Message) -> bytes:
        fields = message.payload.fields
        if fields is None:  # DER, but not the use case's shape
            raise Rejected("malformed")
        if message.message_code == JOIN:
            code = self._join(
                str(fields.join_method_and_role_name),
                bytes(fields.other_device_id),
                str(fields.other_device_type_name),
            )
        else:
            code = self._unjoin(bytes(fields.value))
        content = asn1.encode_tree(asn1.integer(code))
        return self._seal(message, self._header(message), content)

    def _join(self, method: str, other: bytes, kind: str) -> int:
        """CS03A1: add `other` to the device log; the join response code."""
        if method != "method_a_initiator" or kind not in JOINABLE or len(other) != 8:
            result = JOIN_BAD_METHOD
        elif other in self.device_log:  # re-joining the same device refreshes its entry
            result = JOIN_OK if self.device_log[other] == kind else JOIN_INCOMPATIBLE
        elif len(self.device_log) >= DEVICE_LOG_CAPACITY:
            result = JOIN_LOG_FULL
        else:
            self.device_log[other] = kind
            result = JOIN_OK
        self.stats[f"join:{asn1.JOIN_RESPONSES[result]}"] += 1
        LOGGER.info("ESME %s join %s %s (%s): %s", self.eui.hex(), kind, other.hex(), method,
                    asn1.JOIN_RESPONSES[result])  # fmt: skip
        return result

    def _unjoin(self, other: bytes) -> int:
        """CS04AC: remove `other` from the device log; a slot bound to it is no longer
        commanded (its switch keeps whatever state it is in)."""
        if self.device_log.pop(other, None) is None:
            result = UNJOIN_NOT_IN_LOG
        else:
            result = UNJOIN_OK
            for slot, link in self.slots.items():
                if link.eui == other:
                    LOGGER.info("ESME %s: slot %d's switch unjoined", self.eui.hex(), slot)
        self.stats[f"unjoin:{asn1.UNJOIN_RESPONSES[result]}"] += 1
        return result

    # --- responses --------------------------------------------------------------------
    def _header(self, message: Message) -> Container:
        """The response's grouping header: this meter to the command's originator, the
        command's counter; ACB-sent commands name their remote party again (RTDS's 8.8.2
        and 7.14 responses)."""
        other = message.header.other_information
        return Container(
            tag=b"\xdf",
            transaction_id=Container(cra="response", counter=message.counter),
            originator=self.eui,
            target=bytes(message.originator),
            date_time=cosem_datetime(self.utc_now())
            if message.message_code in FUTURE_DATED
            else None,
            other_information=Container(
                message_code=message.message_code,
                supplementary_remote_party=other.supplementary_remote_party,
                supplementary_remote_party_counter=other.supplementary_remote_party_counter,
                supplementary_originator_counter=None,
                certificate=b"",
            ),
        )

    def _seal(self, message: Message, header: Container, content: bytes) -> bytes:
        """Signed by this device when the command was signed (critical), else MAC'd."""
        if message.signature:
            return sign(encode_apdu(header, content, None), self._signing_key)
        return mac_apdu(encode_apdu(header, content, b""), self.keys.keystore)

    def _respond(self, message: Message, outcomes) -> bytes:
        header = self._header(message)
        payload = Container(
            tag=b"\xda",
            long_invoke_id_and_priority=message.payload.long_invoke_id_and_priority,
            date_time=None,
            echoed_specifications_present=0,
            echoed_specifications=None,
            data=ListContainer(data for _kind, _result, data in outcomes),
            results=ListContainer(
                Container(kind=RESPONSE_KIND.get(kind, kind), result=result)
                for kind, result, _data in outcomes
            ),
        )
        content = encode_payload("dlms-access-response", payload)
        return self._seal(message, header, content)


_ACTIVE_OBJECTS = {"schedule": SCHEDULE, "special_days": SPECIAL_DAYS}


def datetime_octets(when: dt.datetime) -> bytes:
    """A COSEM date-time octet-string as RTDS's alerts carry it (weekday, deviation and
    status unspecified)."""
    return (when.year.to_bytes(2, "big") + bytes((when.month, when.day, 0xFF, when.hour,
            when.minute, when.second, 0)) + b"\x80\x00\xff")  # fmt: skip


def _read_datetime(raw: bytes) -> dt.datetime | None:
    """A 12-byte COSEM date-time as UTC (deviation unspecified in every RTDS one); None when
    it is not a complete date and time."""
    if len(raw) != 12:
        return None
    year = int.from_bytes(raw[0:2], "big")
    try:
        return dt.datetime(year, raw[2], raw[3], raw[5], raw[6], raw[7], tzinfo=dt.UTC)
    except ValueError:
        return None


def srv_use_case_name(code: int) -> str:
    use_case = lookup(code)
    return use_case.name if use_case else f"0x{code:04X}"
