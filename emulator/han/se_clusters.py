"""Smart Energy clusters zigpy 2.4 leaves empty: DRLC 0x0701, Tunnelling 0x0704, Key
Establishment 0x0800. Field order and widths from the ZCL/SE specification (primer 2.6, 6.4);
names and values checked against Wireshark's dissectors by tests/han/test_se_clusters.py.

``_skip_registry`` keeps zigpy's global cluster registry untouched: these classes are codecs
for our HAN, not replacements for zigpy's stubs process-wide.

zigpy naming: ``ServerCommandDefs`` are received by the server (client->server frames),
``ClientCommandDefs`` are received by the client (server->client frames).
"""

from __future__ import annotations

from typing import Final

import zigpy.types as t
from zigpy.zcl import Cluster
from zigpy.zcl.foundation import BaseAttributeDefs, BaseCommandDefs, ZCLAttributeDef, ZCLCommandDef


class DeviceClass(t.bitmap16):
    HVAC_Compressor_or_Furnace = 1 << 0
    Strip_Heaters = 1 << 1
    Water_Heater = 1 << 2
    Pool_Pump_Spa = 1 << 3
    Smart_Appliances = 1 << 4
    Irrigation_Pump = 1 << 5
    Managed_CI_Loads = 1 << 6
    Simple_Misc_Loads = 1 << 7
    Exterior_Lighting = 1 << 8
    Interior_Lighting = 1 << 9
    Electric_Vehicle = 1 << 10
    Generation_Systems = 1 << 11


class CriticalityLevel(t.enum8):
    Reserved = 0x00
    Green = 0x01
    Level_1 = 0x02
    Level_2 = 0x03
    Level_3 = 0x04
    Level_4 = 0x05
    Level_5 = 0x06
    Emergency = 0x07
    Planned_Outage = 0x08
    Service_Disconnect = 0x09


class EventControl(t.bitmap8):
    Randomize_Start_Time = 0x01
    Randomize_Duration = 0x02


class CancelControl(t.bitmap8):
    Graceful = 0x01  # end the event at the next randomised time rather than at once


class EventStatus(t.enum8):
    Load_Control_Event_Received = 0x01
    Event_Started = 0x02
    Event_Completed = 0x03
    User_Opted_Out = 0x04
    User_Opted_In = 0x05
    Event_Cancelled = 0x06
    Event_Superseded = 0x07
    Partially_Completed_Opt_Out = 0x08
    Partially_Completed_Opt_In = 0x09
    Completed_No_Participation = 0x0A
    Rejected_Invalid_Cancel_Default = 0xF8
    Rejected_Invalid_Cancel_Effective_Time = 0xF9
    Rejected_Expired = 0xFB
    Rejected_Undefined_Event = 0xFD
    Command_Rejected = 0xFE


class SignatureType(t.enum8):
    No_Signature = 0x00
    ECDSA = 0x01


SIGNATURE_LENGTH = 42
TEMPERATURE_UNUSED = -0x8000  # 0x8000 set point "not used"
OFFSET_UNUSED = 0xFF
PERCENT_UNUSED = -0x80  # int8 0x80
DUTY_CYCLE_UNUSED = 0xFF
START_NOW = 0


#: The Report Event Status signature field is always present (42 bytes, zero when unsigned).
class Signature42(t.FixedList, item_type=t.uint8_t, length=SIGNATURE_LENGTH):
    pass


class DemandResponseLoadControl(Cluster):
    cluster_id: Final = 0x0701
    name: Final = "Demand Response and Load Control"
    ep_attribute: Final = "smartenergy_drlc"
    _skip_registry = True

    class AttributeDefs(BaseAttributeDefs):
        # client attributes (the load control device's)
        utility_enrollment_group: Final = ZCLAttributeDef(id=0x0000, type=t.uint8_t, access="rw")
        start_randomization_minutes: Final = ZCLAttributeDef(id=0x0001, type=t.uint8_t, access="rw")
        duration_randomization_minutes: Final = ZCLAttributeDef(
            id=0x0002, type=t.uint8_t, access="rw"
        )
        device_class_value: Final = ZCLAttributeDef(id=0x0003, type=DeviceClass, access="rw")

    class ClientCommandDefs(BaseCommandDefs):
        """Sent by the DRLC server (the meter/ESI) to the load control device."""

        load_control_event: Final = ZCLCommandDef(
            id=0x00,
            schema={
                "issuer_event_id": t.uint32_t,
                "device_class": DeviceClass,
                "utility_enrollment_group": t.uint8_t,
                "start_time": t.UTCTime,
                "duration_in_minutes": t.uint16_t,
                "criticality_level": CriticalityLevel,
                "cooling_temperature_offset": t.uint8_t,
                "heating_temperature_offset": t.uint8_t,
                "cooling_temperature_set_point": t.int16s,
                "heating_temperature_set_point": t.int16s,
                "average_load_adjustment_percentage": t.int8s,
                "duty_cycle": t.uint8_t,
                "event_control": EventControl,
            },
        )
        cancel_load_control_event: Final = ZCLCommandDef(
            id=0x01,
            schema={
                "issuer_event_id": t.uint32_t,
                "device_class": DeviceClass,
                "utility_enrollment_group": t.uint8_t,
                "cancel_control": CancelControl,
                "effective_time": t.UTCTime,
            },
        )
        cancel_all_load_control_events: Final = ZCLCommandDef(
            id=0x02,
            schema={"cancel_control": CancelControl},
        )

    class ServerCommandDefs(BaseCommandDefs):
        """Sent by the load control device (DRLC client) to the meter."""

        report_event_status: Final = ZCLCommandDef(
            id=0x00,
            schema={
                "issuer_event_id": t.uint32_t,
                "event_status": EventStatus,
                "event_status_time": t.UTCTime,
                "criticality_level_applied": CriticalityLevel,
                "cooling_temperature_set_point_applied": t.int16s,
                "heating_temperature_set_point_applied": t.int16s,
                "average_load_adjustment_percentage_applied": t.int8s,
                "duty_cycle_applied": t.uint8_t,
                "event_control": EventControl,
                "signature_type": SignatureType,
                "signature": Signature42,
            },
        )
        get_scheduled_events: Final = ZCLCommandDef(
            id=0x01,
            schema={
                "start_time": t.UTCTime,
                "number_of_events": t.uint8_t,
                "issuer_event_id?": t.uint32_t,
            },
        )


class TunnelProtocol(t.enum8):
    DLMS_COSEM = 0x00
    IEC_61107 = 0x01
    ANSI_C12 = 0x02
    M_Bus = 0x03
    SML = 0x04
    ClimateTalk = 0x05
    GB_HRGP = 0x06
    IPv6 = 0x07
    IPv4 = 0x08
    Manufacturer_Defined = 0xC8


class TunnelStatus(t.enum8):
    Success = 0x00
    Busy = 0x01
    No_More_Tunnel_Ids = 0x02
    Protocol_Not_Supported = 0x03
    Flow_Control_Not_Supported = 0x04


class TransferDataStatus(t.enum8):
    No_Such_Tunnel = 0x00
    Wrong_Device = 0x01
    Data_Overflow = 0x02


class TunnelProtocolRecord(t.Struct):
    manufacturer_code: t.uint16_t
    protocol_id: TunnelProtocol


class Tunneling(Cluster):
    """SE Tunnelling; GB carries GBCS between Comms Hub and HAN devices with protocol GB-HRGP."""

    cluster_id: Final = 0x0704
    name: Final = "Tunneling"
    ep_attribute: Final = "smartenergy_tunneling"
    _skip_registry = True

    class AttributeDefs(BaseAttributeDefs):
        close_tunnel_timeout: Final = ZCLAttributeDef(id=0x0000, type=t.uint16_t, access="r")

    class ServerCommandDefs(BaseCommandDefs):
        """Client -> server."""

        request_tunnel: Final = ZCLCommandDef(
            id=0x00,
            schema={
                "protocol_id": TunnelProtocol,
                "manufacturer_code": t.uint16_t,
                "flow_control_support": t.Bool,
                "maximum_incoming_transfer_size": t.uint16_t,
            },
        )
        close_tunnel: Final = ZCLCommandDef(
            id=0x01,
            schema={"tunnel_id": t.uint16_t},
        )
        transfer_data: Final = ZCLCommandDef(
            id=0x02,
            schema={"tunnel_id": t.uint16_t, "data": t.Bytes},
        )
        transfer_data_error: Final = ZCLCommandDef(
            id=0x03,
            schema={"tunnel_id": t.uint16_t, "transfer_data_status": TransferDataStatus},
        )
        ack_transfer_data: Final = ZCLCommandDef(
            id=0x04,
            schema={"tunnel_id": t.uint16_t, "number_of_bytes_left": t.uint16_t},
        )
        ready_data: Final = ZCLCommandDef(
            id=0x05,
            schema={"tunnel_id": t.uint16_t, "number_of_octets_left": t.uint16_t},
        )
        get_supported_tunnel_protocols: Final = ZCLCommandDef(
            id=0x06,
            schema={"protocol_offset": t.uint8_t},
        )

    class ClientCommandDefs(BaseCommandDefs):
        """Server -> client."""

        request_tunnel_response: Final = ZCLCommandDef(
            id=0x00,
            schema={
                "tunnel_id": t.uint16_t,
                "tunnel_status": TunnelStatus,
                "maximum_incoming_transfer_size": t.uint16_t,
            },
        )
        transfer_data: Final = ZCLCommandDef(
            id=0x01,
            schema={"tunnel_id": t.uint16_t, "data": t.Bytes},
        )
        transfer_data_error: Final = ZCLCommandDef(
            id=0x02,
            schema={"tunnel_id": t.uint16_t, "transfer_data_status": TransferDataStatus},
        )
        ack_transfer_data: Final = ZCLCommandDef(
            id=0x03,
            schema={"tunnel_id": t.uint16_t, "number_of_bytes_left": t.uint16_t},
        )
        ready_data: Final = ZCLCommandDef(
            id=0x04,
            schema={"tunnel_id": t.uint16_t, "number_of_octets_left": t.uint16_t},
        )
        supported_tunnel_protocols_response: Final = ZCLCommandDef(
            id=0x05,
            schema={
                "protocol_list_complete": t.Bool,
                "protocol_count": t.uint8_t,
                "protocol_list": t.List[TunnelProtocolRecord],
            },
        )
        tunnel_closure_notification: Final = ZCLCommandDef(
            id=0x06,
            schema={"tunnel_id": t.uint16_t},
        )


class KeyEstablishmentSuite(t.bitmap16):
    CBKE_ECMQV_K163 = 0x0001
    CBKE_ECMQV_K283 = 0x0002


class KeTerminateStatus(t.enum8):
    Unknown_Issuer = 0x01
    Bad_Key_Confirm = 0x02
    Bad_Message = 0x03
    No_Resources = 0x04
    Unsupported_Suite = 0x05
    Invalid_Certificate = 0x06


class Suite1Certificate(t.FixedList, item_type=t.uint8_t, length=48):
    """ECQV implicit certificate of crypto suite 1 (sect163k1)."""


class Suite1PublicKey(t.FixedList, item_type=t.uint8_t, length=22):
    pass


class Mac16(t.FixedList, item_type=t.uint8_t, length=16):
    pass


class KeyEstablishment(Cluster):
    """Key Establishment, crypto suite 1 message shapes (CBKE)."""

    cluster_id: Final = 0x0800
    name: Final = "Key Establishment"
    ep_attribute: Final = "smartenergy_key_establishment"
    _skip_registry = True

    class AttributeDefs(BaseAttributeDefs):
        key_establishment_suite: Final = ZCLAttributeDef(
            id=0x0000, type=KeyEstablishmentSuite, access="r"
        )

    class ServerCommandDefs(BaseCommandDefs):
        """Initiator (client) -> responder (server)."""

        initiate_key_establishment_request: Final = ZCLCommandDef(
            id=0x00,
            schema={
                "key_establishment_suite": KeyEstablishmentSuite,
                "ephemeral_data_generate_time": t.uint8_t,
                "confirm_key_generate_time": t.uint8_t,
                "identity": Suite1Certificate,
            },
        )
        ephemeral_data_request: Final = ZCLCommandDef(
            id=0x01,
            schema={"ephemeral_data": Suite1PublicKey},
        )
        confirm_key_data_request: Final = ZCLCommandDef(
            id=0x02,
            schema={"secure_message_authentication_code": Mac16},
        )
        terminate_key_establishment: Final = ZCLCommandDef(
            id=0x03,
            schema={
                "status_code": KeTerminateStatus,
                "wait_time": t.uint8_t,
                "key_establishment_suite": KeyEstablishmentSuite,
            },
        )

    class ClientCommandDefs(BaseCommandDefs):
        """Responder (server) -> initiator (client)."""

        initiate_key_establishment_response: Final = ZCLCommandDef(
            id=0x00,
            schema={
                "requested_key_establishment_suite": KeyEstablishmentSuite,
                "ephemeral_data_generate_time": t.uint8_t,
                "confirm_key_generate_time": t.uint8_t,
                "identity": Suite1Certificate,
            },
        )
        ephemeral_data_response: Final = ZCLCommandDef(
            id=0x01,
            schema={"ephemeral_data": Suite1PublicKey},
        )
        confirm_key_data_response: Final = ZCLCommandDef(
            id=0x02,
            schema={"secure_message_authentication_code": Mac16},
        )
        terminate_key_establishment: Final = ZCLCommandDef(
            id=0x03,
            schema={
                "status_code": KeTerminateStatus,
                "wait_time": t.uint8_t,
                "key_establishment_suite": KeyEstablishmentSuite,
            },
        )


SE_CLUSTERS = {c.cluster_id: c for c in (DemandResponseLoadControl, Tunneling, KeyEstablishment)}
