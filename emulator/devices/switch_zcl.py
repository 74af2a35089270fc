"""The ZCL the meter speaks to an HCALCS / PLCS, shared by the ESME and the switch model.

The switch side is the firmware's HAN application (docs/firmware.md): On/Off and Level
Control servers, the DRLC client and the gbhan configuration cluster 0xFC00. Frames are built
and parsed with zigpy (through emulator.han.zcl), never by hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import zigpy.types as t
from zigpy.zcl import foundation as f
from zigpy.zcl.clusters.general import LevelControl, OnOff

from emulator.errors import EmulatorError
from emulator.han import se_clusters as se
from emulator.han import zcl

ENDPOINT = 1
CONFIG_CLUSTER = 0xFC00
ATTR_LABEL = 0x0000
ATTR_BOOST_ASSOCIATED = 0x0001
ATTR_BOOST_MINUTES = 0x0002
ATTR_CALENDAR = 0x0003
ATTR_FIRMWARE_VERSION = 0x0004

ON_OFF_ATTR = 0x0000
CURRENT_LEVEL_ATTR = 0x0000
#: DRLC device classes the switch serves: electric vehicle (bit 10) | simple misc loads (7)
DEVICE_CLASS = 0x0400 | 0x0080
DUTY_CYCLE_UNUSED = 0xFF
ADJUSTMENT_UNUSED = -128

T_BOOL = 0x10
T_UINT16 = 0x21
T_OCTET_STRING = 0x41
T_CHAR_STRING = 0x42


class SwitchError(EmulatorError):
    """The switch did not do or confirm what the meter asked (no answer, or a bad status)."""


@dataclass(frozen=True)
class SwitchState:
    relay: str  # "open" | "closed"
    level: int  # 0-100 %

    def as_dict(self) -> dict:
        return {"relay": self.relay, "level": self.level}


def load_control_event(
    tsn: int, event_id: int, duration_minutes: int, level: int, start_time: int = 0
) -> bytes:
    """A DRLC Load Control Event holding the load at `level` % (duty cycle) for a duration."""
    return zcl.cluster_command(
        se.DemandResponseLoadControl,
        "load_control_event",
        tsn,
        from_server=True,
        issuer_event_id=event_id,
        device_class=DEVICE_CLASS,
        utility_enrollment_group=0,
        start_time=start_time,
        duration_in_minutes=duration_minutes,
        criticality_level=se.CriticalityLevel(1),
        cooling_temperature_offset=0xFF,
        heating_temperature_offset=0xFF,
        cooling_temperature_set_point=-0x8000,
        heating_temperature_set_point=-0x8000,
        average_load_adjustment_percentage=ADJUSTMENT_UNUSED,
        duty_cycle=level,
        event_control=se.EventControl(0),
    )


def on_off(tsn: int, on: bool) -> bytes:
    """On/Off cluster On or Off (the `onoff` command route)."""
    return zcl.cluster_command(OnOff, "on" if on else "off", tsn, from_server=False)


def move_to_level_with_on_off(tsn: int, level: int) -> bytes:
    """Level Control Move to Level with On/Off to `level` % at once (a PLCS on the `onoff`
    route: 0 % also opens it)."""
    return zcl.cluster_command(
        LevelControl,
        "move_to_level_with_on_off",
        tsn,
        from_server=False,
        level=round(level * 254 / 100),
        transition_time=0,
    )


def cancel_all(tsn: int) -> bytes:
    return zcl.cluster_command(
        se.DemandResponseLoadControl,
        "cancel_all_load_control_events",
        tsn,
        from_server=True,
        cancel_control=se.CancelControl(0),
    )


read_attributes = zcl.read_attributes  # the switch's reads are plain ZCL ones


def write_attribute(tsn: int, attribute_id: int, type_id: int, value) -> bytes:
    python_type = f.DataType.from_type_id(f.DataTypeId(type_id)).python_type
    record = f.Attribute(attribute_id, f.TypeValue(t.uint8_t(type_id), python_type(value)))
    return zcl.general_command(
        f.GeneralCommand.Write_Attributes, tsn, from_server=False, attributes=[record]
    )


def default_response_status(data: bytes) -> f.Status:
    """The status of a Default Response; SwitchError for anything else."""
    frame = _parse(OnOff, data)
    if frame.name != "Default_Response":
        raise SwitchError(f"expected a Default Response, got {frame.name}")
    return f.Status(frame.command.status)


def read_values(data: bytes) -> dict[int, Any]:
    """attribute id -> value from a Read Attributes Response (failed records left out)."""
    frame = _parse(OnOff, data)
    if frame.name != "Read_Attributes_rsp":
        raise SwitchError(f"expected a Read Attributes Response, got {frame.name}")
    out = {}
    for record in frame.command.status_records:
        if record.status == f.Status.SUCCESS:
            out[int(record.attrid)] = record.value.value
    return out


def write_ok(data: bytes) -> bool:
    frame = _parse(OnOff, data)
    if frame.name != "Write_Attributes_rsp":
        raise SwitchError(f"expected a Write Attributes Response, got {frame.name}")
    return all(r.status == f.Status.SUCCESS for r in frame.command.status_records)


def _parse(cluster, data: bytes) -> zcl.ZclFrame:
    try:
        return zcl.parse(cluster, data)
    except zcl.ZclDecodeError as exc:
        raise SwitchError(f"malformed answer: {exc}") from None
