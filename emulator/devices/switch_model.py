"""A Python HCALCS / PLCS on the virtual HAN, obeying the same ZCL as the firmware.

It follows docs/firmware.md "The HAN application" and the firmware's precedence
(fail-safe > boost > remote > calendar), on the emulator's clock, so thousands of them can run
in a simulated feeder. Not modelled (the firmware does them): Report Event Status, attribute
reports, Identify, the event log and flash; a rejected frame is counted in `stats`.
"""

from __future__ import annotations

import logging
from collections import Counter

import zigpy.types as t
import zigpy.zdo.types as zdo_t
from zigpy.zcl import foundation as f
from zigpy.zcl.clusters.general import Basic, LevelControl, OnOff

from emulator.clock import Clock
from emulator.han import se_clusters as se
from emulator.han import zcl
from emulator.han.link import InProcessNode
from emulator.han.medium import Medium, source_nwk

from . import switch_zcl as sz
from .switch import Switch
from .switch_zcl import SwitchState

LOGGER = logging.getLogger(__name__)
FIRMWARE_VERSION = "gbhan-switch-model 0.1.0"
DAY_S = 86400


def switch_endpoints(role: str) -> list[zdo_t.SimpleDescriptor]:
    inputs = [0x0000, 0x0003, 0x0006, sz.CONFIG_CLUSTER] + ([0x0008] if role == "plcs" else [])
    return [
        zdo_t.SimpleDescriptor(
            endpoint=sz.ENDPOINT,
            profile=0x0109,
            device_type=0x0505,
            device_version=0,
            input_clusters=inputs,
            output_clusters=[se.DemandResponseLoadControl.cluster_id],
        )
    ]


class SwitchNode(InProcessNode):
    """The HAN application of the model: every frame must come from the commissioned meter."""

    def __init__(self, owner: ModelSwitch, ieee: str, link_key: bytes, medium: Medium) -> None:
        super().__init__(ieee, link_key, medium, switch_endpoints(owner.role))
        self.owner = owner
        for cluster in (0x0000, 0x0003, 0x0006, 0x0008, sz.CONFIG_CLUSTER, 0x0701):
            self.on_cluster(sz.ENDPOINT, cluster, self._frame)

    def _frame(self, packet: t.ZigbeePacket) -> None:
        owner = self.owner
        owner.received += 1
        if owner.faulty:
            owner.rejected["fault"] += 1
            return
        if owner.esme_nwk is None or source_nwk(packet) != owner.esme_nwk:
            owner.rejected["not-commissioned-meter"] += 1
            return
        data = bytes(packet.data.serialize())
        secured = t.TransmitOptions.APS_Encryption in t.TransmitOptions(packet.tx_options)
        if not secured and not _read_only(data):
            # The meter's address is no proof (anyone with the network key can use it);
            # its link key is: whatever could change the switch must come APS-secured.
            owner.rejected["unencrypted"] += 1
            LOGGER.info("%s: unencrypted frame refused: cluster 0x%04X %s", self.ieee,
                        packet.cluster_id, data.hex())  # fmt: skip
            return
        try:
            answer = owner.handle(packet.cluster_id, data, secured=secured)
        except (zcl.ZclDecodeError, ValueError) as exc:
            owner.rejected["malformed"] += 1
            LOGGER.info("%s: malformed frame: %s", self.ieee, exc)
            header = zcl.peek_header(data)
            answer = zcl.default_response(
                header.tsn, header.command_id, f.Status.MALFORMED_COMMAND, from_server=True
            )
        if answer is not None:
            self.spawn(self.reply(packet, answer))


def _read_only(data: bytes) -> bool:
    """A profile-wide read or answer, which changes nothing (docs/firmware.md: the only
    frames a switch takes without APS security)."""
    try:
        header = zcl.peek_header(data)
    except zcl.ZclDecodeError:
        return False
    return not header.cluster_specific and header.command_id in _READ_ONLY


_READ_ONLY = (
    f.GeneralCommand.Read_Attributes,
    f.GeneralCommand.Read_Attributes_rsp,
    f.GeneralCommand.Default_Response,
)


class ModelSwitch(Switch):
    """HCALCS (binary relay) or PLCS (0-100 % level) as a Python state machine."""

    kind = "model"

    def __init__(
        self, slot: int, role: str, ieee: str, link_key: bytes, medium: Medium, clock: Clock
    ) -> None:
        super().__init__(slot, role, ieee)
        self.clock = clock
        self._node = SwitchNode(self, ieee, link_key, medium)
        self.esme_nwk: int | None = None
        self.faulty = False
        self.failsafe = True
        self.remote: tuple[bool, int, float] | None = None  # relay, level, until (0 = none)
        self.boost_until = 0.0
        self.boost_allowed = True
        self.boost_minutes = 60
        self.calendar: list[tuple[int, bool, int]] = []
        self.label = ""
        self.events: dict[int, float] = {}  # DRLC issuer id -> end (seconds, clock.now())
        self.rejected: Counter = Counter()
        self.applied = 0
        self.received = 0  # frames handed to the application, refused ones included
        self.commands: Counter = Counter()  # cluster id -> cluster commands acted on

    @property
    def node(self) -> SwitchNode:
        return self._node

    def commission(self, esme_nwk: int) -> None:
        self.esme_nwk = esme_nwk

    # --- output ----------------------------------------------------------------------
    def _normalise(self, relay: bool, level: int) -> tuple[bool, int]:
        if self.role == "hcalcs":
            return relay, 100 if relay else 0
        return relay, level

    def output(self) -> tuple[bool, int, str]:
        now = self.clock.now()
        if self.failsafe:
            return False, 0, "failsafe"
        if self.boost_until and now < self.boost_until:
            return True, 100, "boost"
        if self.remote is not None and (not self.remote[2] or now < self.remote[2]):
            return (*self._normalise(self.remote[0], self.remote[1]), "remote")
        if not self.calendar:
            return True, 100, "calendar"
        minute = int(self.clock.utc_now().timestamp() % DAY_S) // 60
        chosen = self.calendar[-1]
        for entry in self.calendar:
            if entry[0] <= minute:
                chosen = entry
        return (*self._normalise(chosen[1], chosen[2]), "calendar")

    async def state(self) -> SwitchState:
        relay, level, _ = self.output()
        return SwitchState("closed" if relay else "open", level)

    async def press_boost(self) -> str | None:
        if not self.boost_allowed:
            return "no-boost-association"
        if self.failsafe:
            return "failsafe"
        self.boost_until = self.clock.now() + self.boost_minutes * 60
        return None

    async def set_fault(self, faulty: bool) -> None:
        self.faulty = faulty

    async def config(self) -> dict:
        return {"boost_associated": self.boost_allowed, "label": self.label}

    async def set_label(self, text: str) -> None:
        self.label = text

    # --- ZCL ---------------------------------------------------------------------------
    def handle(self, cluster_id: int, data: bytes, secured: bool = True) -> bytes | None:
        """The answer to one frame from the meter (None: no answer); an unsecured read is
        answered but does not prove the meter is there."""
        if secured:
            self.failsafe = False  # the commissioned meter has been heard
        header = zcl.peek_header(data)
        tsn, command_id = header.tsn, header.command_id
        if not header.cluster_specific:
            if command_id == f.GeneralCommand.Read_Attributes:
                return self._read(cluster_id, data, tsn)
            if command_id == f.GeneralCommand.Write_Attributes:
                return self._write(cluster_id, data, tsn)
            return self._status(tsn, command_id, f.Status.UNSUP_GENERAL_COMMAND, header)
        self.commands[cluster_id] += 1
        if cluster_id == OnOff.cluster_id and not header.from_server:
            status = self._on_off(zcl.parse(OnOff, data))
        elif cluster_id == LevelControl.cluster_id and not header.from_server:
            status = (
                self._level(zcl.parse(LevelControl, data))
                if self.role == "plcs"
                else f.Status.UNSUPPORTED_CLUSTER
            )
        elif cluster_id == se.DemandResponseLoadControl.cluster_id and header.from_server:
            status = self._drlc(zcl.parse(se.DemandResponseLoadControl, data))
        else:
            status = f.Status.UNSUP_CLUSTER_COMMAND
        return self._status(tsn, command_id, status, header)

    def _status(self, tsn, command_id, status, header) -> bytes | None:
        if header.disable_default_response and status == f.Status.SUCCESS:
            return None
        return zcl.default_response(tsn, command_id, status, from_server=not header.from_server)

    def _command(self, relay: bool, level: int, until: float) -> None:
        self.remote = (relay, level, until)
        self.boost_until = 0.0
        self.applied += 1

    def _on_off(self, frame: zcl.ZclFrame) -> f.Status:
        relay, level, _ = self.output()
        if frame.name in ("on", "off", "toggle"):
            closed = {"on": True, "off": False, "toggle": not relay}[frame.name]
            if self.role == "plcs" and closed and level == 0:
                level = 100
            self._command(closed, level, 0)
            return f.Status.SUCCESS
        if frame.name == "on_with_timed_off":
            tenths = int(frame.command.on_time)
            until = 0 if tenths in (0, 0xFFFF) else self.clock.now() + (tenths + 9) // 10
            self._command(True, level or 100, until)
            return f.Status.SUCCESS
        return f.Status.UNSUP_CLUSTER_COMMAND

    def _level(self, frame: zcl.ZclFrame) -> f.Status:
        if frame.name not in ("move_to_level", "move_to_level_with_on_off"):
            return f.Status.UNSUP_CLUSTER_COMMAND
        target = round(int(frame.command.level) * 100 / 254)
        relay = self.output()[0] if frame.name == "move_to_level" else target > 0
        self._command(relay, target, 0)
        return f.Status.SUCCESS

    def _drlc(self, frame: zcl.ZclFrame) -> f.Status:
        if frame.name == "load_control_event":
            cmd = frame.command
            if not int(cmd.device_class) & sz.DEVICE_CLASS:
                self.rejected["drlc-device-class"] += 1
                return f.Status.SUCCESS
            duty = int(cmd.duty_cycle)
            adjust = int(cmd.average_load_adjustment_percentage)
            if duty != sz.DUTY_CYCLE_UNUSED:
                level = duty
            elif adjust != sz.ADJUSTMENT_UNUSED:
                level = max(0, min(100, 100 + adjust))
            else:
                level = 0
            if not 0 <= level <= 100:
                return f.Status.INVALID_FIELD
            end = self.clock.now() + int(cmd.duration_in_minutes) * 60
            self.events = {int(cmd.issuer_event_id): end}  # a newer event supersedes
            relay = level > 0 if self.role == "plcs" else level >= 100
            self._command(relay, level, end)
            return f.Status.SUCCESS
        if frame.name == "cancel_load_control_event":
            if self.events.pop(int(frame.command.issuer_event_id), None) is not None:
                self.remote = None
            return f.Status.SUCCESS
        if frame.name == "cancel_all_load_control_events":
            self.events.clear()
            self.remote = None
            self.boost_until = 0.0
            self.applied += 1
            return f.Status.SUCCESS
        return f.Status.UNSUP_CLUSTER_COMMAND

    def _attributes(self, cluster_id: int) -> dict[int, tuple[int, object]]:
        relay, level, _ = self.output()
        if cluster_id == OnOff.cluster_id:
            return {sz.ON_OFF_ATTR: (0x10, t.Bool(relay))}
        if cluster_id == LevelControl.cluster_id and self.role == "plcs":
            return {sz.CURRENT_LEVEL_ATTR: (0x20, t.uint8_t(round(level * 254 / 100)))}
        if cluster_id == Basic.cluster_id:
            return {
                0x0005: (0x42, t.CharacterString("HCALCS" if self.role == "hcalcs" else "PLCS"))
            }
        if cluster_id == sz.CONFIG_CLUSTER:
            return {
                sz.ATTR_LABEL: (sz.T_CHAR_STRING, t.CharacterString(self.label)),
                sz.ATTR_BOOST_ASSOCIATED: (sz.T_BOOL, t.Bool(self.boost_allowed)),
                sz.ATTR_BOOST_MINUTES: (sz.T_UINT16, t.uint16_t(self.boost_minutes)),
                sz.ATTR_FIRMWARE_VERSION: (sz.T_CHAR_STRING, t.CharacterString(FIRMWARE_VERSION)),
            }
        return {}

    def _read(self, cluster_id: int, data: bytes, tsn: int) -> bytes:
        frame = zcl.parse(OnOff, data)
        return zcl.read_attributes_response(
            tsn, list(frame.command.attribute_ids), self._attributes(cluster_id)
        )

    def _write(self, cluster_id: int, data: bytes, tsn: int) -> bytes:
        frame = zcl.parse(OnOff, data)
        status = f.Status.SUCCESS
        updates: dict[str, object] = {}
        if cluster_id != sz.CONFIG_CLUSTER:
            status = f.Status.READ_ONLY
        else:
            for record in frame.command.attributes:
                attr, value = int(record.attrid), record.value.value
                if attr == sz.ATTR_LABEL and len(str(value)) <= 32:
                    updates["label"] = str(value)
                elif attr == sz.ATTR_BOOST_ASSOCIATED:
                    updates["boost_allowed"] = bool(value)
                elif attr == sz.ATTR_BOOST_MINUTES:
                    updates["boost_minutes"] = int(value)
                else:
                    status = f.Status.INVALID_VALUE
        if status == f.Status.SUCCESS:  # all or nothing, as the firmware
            for name, value in updates.items():
                setattr(self, name, value)
            if "boost_allowed" in updates and not updates["boost_allowed"]:
                self.boost_until = 0.0
        records = [f.WriteAttributesStatusRecord(status=status)]
        return zcl.general_command(
            f.GeneralCommand.Write_Attributes_rsp, tsn, from_server=True, status_records=records
        )
