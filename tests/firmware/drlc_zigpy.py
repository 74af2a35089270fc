"""Our zigpy definition of the Smart Energy DRLC cluster (0x0701), which zigpy leaves empty.

Field order and widths: ZigBee SE 1.x, D.2; names as Wireshark's zbee_zcl_se.drlc fields.
The firmware's codec is compared against this on the same frames, and both against tshark.
"""

from __future__ import annotations

from typing import Final

import zigpy.types as t
from zigpy.zcl import Cluster
from zigpy.zcl.foundation import BaseCommandDefs, ZCLCommandDef


class DeviceClass(t.bitmap16):
    SimpleMiscLoads = 1 << 7
    ElectricVehicle = 1 << 10


class Drlc(Cluster):
    cluster_id: Final = 0x0701
    ep_attribute: Final = "gbhan_drlc"
    _skip_registry = True

    class ClientCommandDefs(BaseCommandDefs):  # received by the client (the switch)
        load_control_event: Final = ZCLCommandDef(
            id=0x00,
            schema={
                "issuer_event_id": t.uint32_t,
                "device_class": DeviceClass,
                "utility_enrollment_group": t.uint8_t,
                "start_time": t.uint32_t,
                "duration_in_minutes": t.uint16_t,
                "criticality_level": t.uint8_t,
                "cooling_temperature_offset": t.uint8_t,
                "heating_temperature_offset": t.uint8_t,
                "cooling_temperature_set_point": t.int16s,
                "heating_temperature_set_point": t.int16s,
                "average_load_adjustment_percentage": t.int8s,
                "duty_cycle": t.uint8_t,
                "event_control": t.bitmap8,
            },
        )
        cancel_load_control_event: Final = ZCLCommandDef(
            id=0x01,
            schema={
                "issuer_event_id": t.uint32_t,
                "device_class": DeviceClass,
                "utility_enrollment_group": t.uint8_t,
                "cancel_control": t.bitmap8,
                "effective_time": t.uint32_t,
            },
        )
        cancel_all_load_control_events: Final = ZCLCommandDef(
            id=0x02, schema={"cancel_control": t.bitmap8}
        )

    class ServerCommandDefs(BaseCommandDefs):  # received by the server (the meter)
        report_event_status: Final = ZCLCommandDef(
            id=0x00,
            schema={
                "issuer_event_id": t.uint32_t,
                "event_status": t.uint8_t,
                "event_status_time": t.uint32_t,
                "criticality_level_applied": t.uint8_t,
                "cooling_temperature_set_point_applied": t.uint16_t,
                "heating_temperature_set_point_applied": t.uint16_t,
                "average_load_adjustment_percentage_applied": t.int8s,
                "duty_cycle_applied": t.uint8_t,
                "event_control": t.bitmap8,
                "signature_type": t.uint8_t,
                "signature": t.FixedList[t.uint8_t, 42],
            },
        )
        get_scheduled_events: Final = ZCLCommandDef(
            id=0x01,
            schema={
                "start_time": t.uint32_t,
                "number_of_events": t.uint8_t,
                "issuer_event_id?": t.uint32_t,
            },
        )
