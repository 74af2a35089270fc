"""The Comms Hub Function's own GBCS application: the commands addressed to the hub itself,
which it answers without the HAN (the hub is the end of the WAN).

Served: CCS01 (8.11 Add: register a device in the CHF device log with its install code, set
the join timeout, open joining), CCS02 (8.11 Remove: take a device off the log and the HAN),
the device log reads CCS05/CCS04 and CCS06 (8.9: the active devices' entries), the
identity reads ECS26i and ECS26n (6.2.4), and its event and security logs over a period
(ECS35c / ECS35d, 6.13; hub_cosem.json: RTDS's hub's entries, esme/store.py's range
selection), the dual-band hub's sub GHz radio (DBCH01 its channel, 6.31; DBCH02 its channel
log over a period, 6.32; DBCH03 its configuration, 6.30; DBCH04 sets it, 6.28, a value of
another shape type_unmatched; DBCH05 a channel scan, 6.29; hub_cosem.json: RTDS's hub's
values to start) and its security details (CCS07, 8.9: backup_pan of the device log, each
device with the TC link key it joined with, and of the historic log CCS02 fills, 15 at
most; the extended PAN ID the hub's EUI, a ZigBee coordinator's default). A scan request
and a changed configuration make the hub alert the DCC's ACB (DBCH08 8F28, DBCH09 8F2A with
the settings now held, MAC'd, as RTDS's hub does): they come with the command's result
(`EsmeResult.alerts`, which the premises passes on with the execution). CCS03
(8.12.1, restore_pan) takes a replaced hub's extended PAN ID and device log entries (each
device's link key with the old hub), which CCS07 then reports until a device joins this hub
(the DSP does not send CCS03 yet: it keeps no hub's backup). When the hub has passed an
image (11.4) to a PPMID it alerts the ACB how that went (CCS08, `firmware_transfer_alert`:
8F8A success, 8F89 not, with the device, the image's version and the transfer's response
code, signed, RTDS's layout). All come
from the ACB on a user's behalf (the use-case tables' sender), MAC'd; the checks are every
GBCS device's (access.check_sender), each failure a logged, counted rejection and no response.
Responses as RTDS's: the hub as originator, the command's counter and remote party, MAC'd
with static ECDH (so byte for byte RTDS's where the state is RTDS's).

The device log is the hub's (comms_hub.CommsHub.devices: who is on the HAN), then the GSME
its GPF serves (`gsme`: a gas meter talks to its GPF, not over our ZigBee HAN; RTDS's hub
lists its ESME then its GSME), plus the devices registered by CCS01 and not yet joined. Its entries' link statistics (RSSI, LQI, the
counters) are what RTDS's hub reports for its meter; the EUI and the last communication time
are each device's and the hub's clock. Nothing here is in our sources beyond RTDS: the rules
(re-registering a logged device is success, removing an unknown one `object_unavailable`)
are ours.
"""

from __future__ import annotations

import datetime as dt
import itertools
import logging
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from construct import Container, ListContainer  # type: ignore[import-untyped]
from zigpy.types import EUI64

from gbcs import asn1
from gbcs.message import Message, encode_apdu
from gbcs.payload import encode as encode_payload
from gbcs.roles import ACB_EUI, Role
from gbcs.security import mac_apdu

from .access import CounterStore, check_sender
from .comms_hub import CommsHub
from .esme.instructions import (
    NULL,
    InstructionFailed,
    InstructionOutcome,
    InstructionResult,
    datetime_octets,
    item,
)
from .esme.responses import Responder, alert_header
from .esme.store import CosemStore
from .keys import PremisesKeys
from .outcomes import CommandRejected, EsmeResult, RejectReason, answer_command

LOGGER = logging.getLogger(__name__)

CCS01, CCS02, CCS03, CCS05_CCS04, CCS06, CCS07 = 0x0001, 0x0002, 0x0003, 0x0004, 0x010F, 0x00FE
ECS26I, ECS26N = 0x0092, 0x00FA  # 6.2.4 read the hub's identity and type
ECS35C, ECS35D = 0x0093, 0x0094  # 6.13 read the hub's event / security log
#: the dual-band hub's sub GHz radio: read its channel (6.31), channel log (6.32) and
#: configuration (6.30), set the configuration (6.28), request a channel scan (6.29)
DBCH01, DBCH02, DBCH03, DBCH04, DBCH05 = 0x010A, 0x010B, 0x010C, 0x010D, 0x010E
SRV_OF = {CCS01: "8.11", CCS02: "8.11", CCS03: "8.12.1", CCS05_CCS04: "8.9", CCS06: "8.9",
          CCS07: "8.9", ECS26I: "6.2.4", ECS26N: "6.2.4", ECS35C: "6.13", ECS35D: "6.13",
          DBCH01: "6.31", DBCH02: "6.32", DBCH03: "6.30", DBCH04: "6.28",
          DBCH05: "6.29"}  # fmt: skip
#: who may send them: the ACB (use-case tables), on a user's behalf
ROLES = {srv: {Role.ACCESS_CONTROL_BROKER}
         for srv in ("8.11", "8.9", "6.2.4", "6.13", "6.28", "6.29", "6.30", "6.31", "6.32",
                     "8.12.1")}  # fmt: skip
IC_PROFILE = 7
#: the hub's own COSEM attributes (its logs)
HUB_COSEM = Path(__file__).with_name("hub_cosem.json")
IC_DATA = 1
IDENTITY = bytes.fromhex("0000600101FF")  # 0-0:96.1.1.255: the hub's EUI
#: the hub's identity attributes as RTDS's reports them (ECS26n): model and firmware tag
ATTRIBUTES = {bytes.fromhex("0000600104FF"): b"ATGTypeY", bytes.fromhex("0000600106FF"): b"CSW "}
IC_NETWORK_CONTROL = 104
DEVICE_LOG = bytes.fromhex("00001E0300FF")  # 0-0:30.3.0.255 the CHF device log
HISTORIC_DEVICE_LOG = bytes.fromhex("00001E0301FF")  # 0-0:30.3.1.255 the CHF historic log
HISTORIC_ENTRIES = 15  # GBCS: the oldest entry is overwritten past 15
REGISTER, UNREGISTER, BACKUP_PAN, RESTORE_PAN = 1, 2, 4, 5  # their methods
ENABLE_JOINING, JOIN_TIMEOUT, ACTIVE_DEVICES = 2, 3, 4  # its attributes
#: one active_devices entry as RTDS's hub reports its ESME, after the EUI: status bits, RSSI
#: and LQI figures, then (after the last communication date-time) the entry's counters
ENTRY_HEAD = [item("bit-string", Container(bits=8, octets=b"\xc8")), item("integer", -35),
              item("integer", -50), item("integer", -100), item("unsigned", 2),
              item("unsigned", 39), item("unsigned", 247)]  # fmt: skip
ENTRY_TAIL = [item("unsigned", v) for v in (1, 0, 100, 1, 1)]
_UNAVAILABLE = InstructionResult.OBJECT_UNAVAILABLE
SUB_GHZ_SCAN = bytes.fromhex("00005E2C0A01")  # 0-0:94.44.10.1: set to request a scan
SUB_GHZ_CONFIGURATION = bytes.fromhex("00005E2C0A00")  # 0-0:94.44.10.0
#: the hub's own alerts to the DCC (the ACB), MAC'd: a scan request's assessment (DBCH08,
#: 8F28) and a changed configuration (DBCH09, 8F2A, with the settings now held)
DBCH08, DBCH09 = 0x0112, 0x0113
SCAN_ASSESSED, CONFIGURATION_CHANGED = 0x8F28, 0x8F2A
#: a scan request's assessment outcome as RTDS's hub reports it (DBCH08: two octets 00)
SCAN_ASSESSMENT = item("structure", ListContainer([item("octet-string", b"\x00")] * 2))
FIRST_ALERT_COUNTER = 4000  # RTDS's hub's alerts carry 4000
CCS08 = 0x0128  # the firmware transfer alert
TRANSFER_DONE, TRANSFER_FAILED = 0x8F8A, 0x8F89


def _shape(value: Any) -> Any:
    """A data item's types, nested (a structure's items, an array's element type)."""
    if value.type == "structure":
        return ("structure", [_shape(v) for v in value.value])
    return value.type


def _ieee(eui: bytes) -> Any:
    """The zigpy EUI64 of a big-endian EUI (the device log's key)."""
    return EUI64.convert(eui.hex(":"))


class HubFunction:
    """The CHF `hub.eui` as a GBCS target: `handle(command)` checks and answers one."""

    def __init__(self, hub: CommsHub, keys: PremisesKeys, now: Callable[[], dt.datetime]) -> None:
        self.hub, self.keys, self.now = hub, keys, now
        self.eui = hub.eui
        self.responses = Responder(self.eui, keys, now)
        self.counters = CounterStore()
        self.stats: Counter = Counter()
        #: registered by CCS01, not (yet) on the HAN: EUI -> (install code, device type)
        self.registered: dict[bytes, tuple[bytes, int]] = {}
        self.join_timeout = 0
        self.joining_enabled = False
        self.gsme: bytes | None = None  # the GSME behind the hub's GPF, where there is one
        self.store = CosemStore(self.eui, {}, defaults=HUB_COSEM)
        #: the CHF historic device log: devices CCS02 took off, with the TC link key each had
        self.historic: dict[bytes, bytes] = {}
        self.channel_scans = 0  # DBCH05 requests carried out
        self._alert_counter = itertools.count(FIRST_ALERT_COUNTER)
        self._raised: list[bytes] = []  # alerts the command being answered raised
        #: OBIS codes whose storage fails (tests: RTDS's ERROR cases): any instruction on
        #: such an object fails hardware_fault, the rest of the command other_reason
        self.object_faults: set[bytes] = set()
        #: the network's extended PAN ID (a ZigBee coordinator's own EUI until a CCS03
        #: restores a replaced hub's), and the device log entries a CCS03 restored: each
        #: device with the link key it had with the old hub, until it joins this one
        self.extended_pan = self.eui
        self.restored: dict[bytes, bytes] = {}

    def handle(self, command: bytes) -> EsmeResult:
        """Check and execute one command; never raises for bad input. The alerts it raised
        (to the ACB) come with the result."""
        self._raised = []
        result = answer_command(
            command, self.eui, who=f"CHF {self.eui.hex()}", stats=self.stats, logger=LOGGER,
            srv_of=lambda message: SRV_OF.get(message.message_code), check=self._check,
            execute=lambda message: self.responses.access_response(message, self._run(message)),
        )  # fmt: skip
        result.alerts.extend(self._raised)
        return result

    def _alert(self, message_code: int, code: int, extra: list[Any]) -> None:
        """An alert from the hub to the DCC's ACB (code, time stamp, `extra`), MAC'd."""
        counter = next(self._alert_counter)
        payload = Container(
            tag=b"\x0f", long_invoke_id_and_priority=0x20000000 | (counter & 0x0FFFFFFF),
            date_time=None,
            notification=item("structure", ListContainer([
                item("long-unsigned", code), item("octet-string", datetime_octets(self.now())),
                *extra])),
        )  # fmt: skip
        header = alert_header(self.eui, ACB_EUI, counter, message_code)
        content = encode_payload("dlms-notification", payload)
        self._raised.append(mac_apdu(encode_apdu(header, content, b""), self.keys.keystore))

    def firmware_transfer_alert(self, device: bytes, version: bytes, response_code: int) -> bytes:
        """CCS08 to the ACB: how passing an image to `device` went (gbcs.asn1's
        FIRMWARE_TRANSFER_RESPONSES), signed by the hub, RTDS's layout."""
        code = TRANSFER_DONE if response_code == 0 else TRANSFER_FAILED
        content = asn1.encode_tree(asn1.sequence(
            asn1.integer(code), asn1.generalized_time(self.now().strftime("%Y%m%d%H%M%SZ")),
            asn1.octet_string(bytes(device)), asn1.octet_string(bytes(version)),
            asn1.integer(response_code)))  # fmt: skip
        self.stats[f"alert:{code:04X}"] += 1
        return self.responses.signed_alert(next(self._alert_counter), ACB_EUI, CCS08, content)

    def _check(self, message: Message, srv: str | None) -> None:
        if srv is None or message.payload_kind != "dlms-access-request":
            raise CommandRejected(RejectReason.UNSUPPORTED_USE_CASE)
        check_sender(message, self.keys, self.counters, critical=False,
                     permitted=lambda role: role in ROLES[srv])  # fmt: skip

    def _run(self, message: Message) -> list[InstructionOutcome]:
        """Every instruction in order; after the first that fails, the rest are not carried
        out and answer other_reason (GBCS's rule, as RTDS shows it)."""
        outcomes: list[InstructionOutcome] = []
        for spec, value in zip(message.payload.specifications, message.payload.data,
                               strict=True):  # fmt: skip
            if outcomes and outcomes[-1][1] != InstructionResult.SUCCESS:
                outcomes.append((str(spec.kind), InstructionResult.OTHER_REASON, NULL))
            else:
                outcomes.append(self._instruction(spec, value))
        return outcomes

    def _instruction(self, spec: Any, value: Any) -> InstructionOutcome:
        kind, number = str(spec.kind), int(spec.attribute_or_method)
        ic, code = int(spec.class_id), bytes(spec.instance_id)
        if code in self.object_faults:
            return kind, InstructionResult.HARDWARE_FAULT, NULL
        if ic == IC_DATA and kind == "get" and number == 2 and code == IDENTITY:
            return kind, InstructionResult.SUCCESS, item("octet-string", self.eui)
        if ic == IC_DATA and kind == "get" and number == 2 and code in ATTRIBUTES:
            return kind, InstructionResult.SUCCESS, item("octet-string", ATTRIBUTES[code])
        if ic == IC_DATA and number == 2 and code != IDENTITY and (ic, code, number) in self.store:
            return self._data(kind, code, value)
        if ic == IC_NETWORK_CONTROL and kind == "action" and number == BACKUP_PAN:
            if code == DEVICE_LOG:
                return kind, InstructionResult.SUCCESS, self._backup(self._link_keys())
            if code == HISTORIC_DEVICE_LOG:
                return kind, InstructionResult.SUCCESS, self._backup(self.historic)
        if ic == IC_PROFILE and kind == "get_with_selection" and (ic, code, number) in self.store:
            try:
                return kind, InstructionResult.SUCCESS, self.store.select(ic, code, number,
                                                                         spec.selection)  # fmt: skip
            except ValueError:
                return kind, InstructionResult.OTHER_REASON, NULL
        if ic != IC_NETWORK_CONTROL or code != DEVICE_LOG:
            return kind, InstructionResult.OBJECT_UNDEFINED, NULL
        try:
            if kind == "action" and number == REGISTER:
                self._register(value)
            elif kind == "action" and number == UNREGISTER:
                self._unregister(bytes(value.value))
            elif kind == "set" and number == JOIN_TIMEOUT:
                self.join_timeout = int(value.value)
            elif kind == "set" and number == ENABLE_JOINING:
                self.joining_enabled = bool(value.value)
            elif kind == "action" and number == RESTORE_PAN:
                self._restore(value)
            elif kind == "get" and number == ACTIVE_DEVICES:
                return kind, InstructionResult.SUCCESS, self._active_devices()
            else:
                return kind, InstructionResult.OBJECT_UNDEFINED, NULL
        except InstructionFailed as exc:
            return kind, exc.result, NULL
        except (TypeError, ValueError, AttributeError):
            return kind, InstructionResult.OTHER_REASON, NULL
        return kind, InstructionResult.SUCCESS, NULL

    def _data(self, kind: str, code: bytes, value: Any) -> InstructionOutcome:
        """A Data object the hub holds (its sub GHz settings, channel, scan request): read it,
        or set it to a value of the held type, item for item (else type_unmatched)."""
        held = self.store.get(IC_DATA, code, 2)
        if kind == "get":
            return kind, InstructionResult.SUCCESS, held
        if kind != "set":
            return kind, InstructionResult.OBJECT_UNDEFINED, NULL
        if _shape(value) != _shape(held) or not self.store.set(IC_DATA, code, 2, value):
            return kind, InstructionResult.TYPE_UNMATCHED, NULL
        if code == SUB_GHZ_SCAN:
            self.channel_scans += 1
            self._alert(DBCH08, SCAN_ASSESSED, [SCAN_ASSESSMENT])
        elif code == SUB_GHZ_CONFIGURATION:
            self._alert(DBCH09, CONFIGURATION_CHANGED, [self.store.get(IC_DATA, code, 2)])
        return kind, InstructionResult.SUCCESS, NULL

    def _restore(self, value: Any) -> None:
        """restore_pan (CCS03): a replaced hub's extended PAN ID and device log entries."""
        pan, entries = (v.value for v in value.value)
        restored = {bytes(e.value[0].value): bytes(e.value[1].value) for e in entries}
        if len(bytes(pan)) != 8 or any((len(k), len(v)) != (8, 16) for k, v in restored.items()):
            raise InstructionFailed(InstructionResult.OTHER_REASON)
        self.extended_pan = bytes(pan)
        self.restored = restored

    def _link_keys(self) -> dict[bytes, bytes]:
        """The devices on the CHF device log with the TC link key each joined with (a
        restored entry's until the device joins this hub)."""
        keys = {eui: key for eui, key in self.restored.items() if eui not in self.hub.devices}
        for eui in self.hub.devices:
            entry = self.hub.coordinator.device_log.get(_ieee(eui))
            if entry is not None:
                keys[eui] = entry.link_key
        return keys

    def _backup(self, keys: dict[bytes, bytes]) -> Any:
        """backup_pan: when, the network's extended PAN ID and each device with its link
        key, as RTDS's CCS07."""
        entries = [item("structure", ListContainer([item("octet-string", eui),
                                                    item("octet-string", key)]))
                   for eui, key in keys.items()]  # fmt: skip
        return item("structure", ListContainer([
            item("octet-string", datetime_octets(self.now())),
            item("octet-string", self.extended_pan),
            item("array", ListContainer(entries))]))  # fmt: skip

    def _register(self, value: Any) -> None:
        eui, _key_type, install_code, device_type = (v.value for v in value.value)
        eui = bytes(eui)
        if len(eui) != 8 or len(bytes(install_code)) not in (6, 8, 12, 16):
            raise InstructionFailed(InstructionResult.OTHER_REASON)
        if eui not in self.hub.devices:  # one on the HAN already stays as it is
            self.registered[eui] = (bytes(install_code), int(device_type))

    def _unregister(self, eui: bytes) -> None:
        if eui in self.registered:
            del self.registered[eui]
        elif eui in self.hub.devices:
            key = self._link_keys().get(eui)
            self.hub.remove_device(eui)
            if key is not None:  # kept in the historic log, the oldest dropped past 15
                self.historic.pop(eui, None)
                self.historic[eui] = key
                while len(self.historic) > HISTORIC_ENTRIES:
                    del self.historic[next(iter(self.historic))]
        elif eui == self.gsme:  # off the log (the GPF's queue for it is the premises')
            self.gsme = None
        else:
            raise InstructionFailed(_UNAVAILABLE)

    def _active_devices(self) -> Any:
        when = item("octet-string", datetime_octets(self.now()))
        entries = [
            item("structure", ListContainer(
                [item("octet-string", eui), *ENTRY_HEAD, when, *ENTRY_TAIL]))
            for eui in [*self.hub.devices, *([self.gsme] if self.gsme else [])]
        ]  # fmt: skip
        return item("array", ListContainer(entries))
