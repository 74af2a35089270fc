"""Build a capture holding every SE command we define, sent over the emulated HAN."""

from __future__ import annotations

import asyncio
from pathlib import Path

from han_helpers import formed_network

from emulator import data
from emulator.clock import Clock
from emulator.han import se_clusters as se
from emulator.han import zcl
from emulator.han.medium import packet_to
from emulator.han.pcap import HanCapture

DRLC = se.DemandResponseLoadControl
TUN = se.Tunneling
KE = se.KeyEstablishment

LCE = dict(
    issuer_event_id=0x01020304,
    device_class=se.DeviceClass.Electric_Vehicle | se.DeviceClass.Simple_Misc_Loads,
    utility_enrollment_group=3,
    start_time=se.START_NOW,
    duration_in_minutes=30,
    criticality_level=se.CriticalityLevel.Emergency,
    cooling_temperature_offset=se.OFFSET_UNUSED,
    heating_temperature_offset=se.OFFSET_UNUSED,
    cooling_temperature_set_point=se.TEMPERATURE_UNUSED,
    heating_temperature_set_point=-250,
    average_load_adjustment_percentage=-50,
    duty_cycle=40,
    event_control=se.EventControl.Randomize_Duration,
)
REPORT = dict(
    issuer_event_id=0x01020304,
    event_status=se.EventStatus.Event_Started,
    event_status_time=820454400,
    criticality_level_applied=se.CriticalityLevel.Emergency,
    cooling_temperature_set_point_applied=se.TEMPERATURE_UNUSED,
    heating_temperature_set_point_applied=-250,
    average_load_adjustment_percentage_applied=-50,
    duty_cycle_applied=40,
    event_control=se.EventControl(0),
    signature_type=se.SignatureType.No_Signature,
    signature=se.Signature42([0] * se.SIGNATURE_LENGTH),
)
RTDS_76 = data.rtds() / "7.6_ECS47Deactivate"


def rtds_gbcs(kind: str) -> bytes:
    """A real GBCS message (SRV 7.6) to carry in the tunnel, so tshark's GBCS dissector runs."""
    return bytes.fromhex((RTDS_76 / f"ECS47Deactivate_7.6_SUCCESS_{kind}_GBCS.HEX").read_text())


GBCS_COMMAND = rtds_gbcs("COMMAND")
GBCS_RESPONSE = rtds_gbcs("RESPONSE")
CERT = bytes(range(1, 49))
EPHEMERAL = bytes(range(0x40, 0x40 + 22))
MAC_U = bytes(range(0xA0, 0xB0))

#: (sender, cluster, command name, from_server, fields)
FRAMES = [
    ("hub", DRLC, "load_control_event", True, LCE),
    (
        "hub",
        DRLC,
        "cancel_load_control_event",
        True,
        dict(
            issuer_event_id=0x01020304,
            device_class=se.DeviceClass.Electric_Vehicle,
            utility_enrollment_group=3,
            cancel_control=se.CancelControl.Graceful,
            effective_time=0,
        ),
    ),
    ("hub", DRLC, "cancel_all_load_control_events", True, dict(cancel_control=0)),
    ("switch", DRLC, "get_scheduled_events", False, dict(start_time=0, number_of_events=0)),
    ("switch", DRLC, "report_event_status", False, REPORT),
    (
        "switch",
        TUN,
        "request_tunnel",
        False,
        dict(
            protocol_id=se.TunnelProtocol.GB_HRGP,
            manufacturer_code=0xFFFF,
            flow_control_support=False,
            maximum_incoming_transfer_size=1500,
        ),
    ),
    (
        "hub",
        TUN,
        "request_tunnel_response",
        True,
        dict(
            tunnel_id=7, tunnel_status=se.TunnelStatus.Success, maximum_incoming_transfer_size=1500
        ),
    ),
    ("switch", TUN, "transfer_data", False, dict(tunnel_id=7, data=GBCS_RESPONSE)),
    ("hub", TUN, "transfer_data", True, dict(tunnel_id=7, data=GBCS_COMMAND)),
    ("switch", TUN, "get_supported_tunnel_protocols", False, dict(protocol_offset=0)),
    (
        "hub",
        TUN,
        "supported_tunnel_protocols_response",
        True,
        dict(
            protocol_list_complete=True,
            protocol_count=1,
            protocol_list=[
                se.TunnelProtocolRecord(
                    manufacturer_code=0xFFFF, protocol_id=se.TunnelProtocol.GB_HRGP
                )
            ],
        ),
    ),
    ("hub", TUN, "tunnel_closure_notification", True, dict(tunnel_id=7)),
    (
        "switch",
        KE,
        "initiate_key_establishment_request",
        False,
        dict(
            key_establishment_suite=se.KeyEstablishmentSuite.CBKE_ECMQV_K163,
            ephemeral_data_generate_time=10,
            confirm_key_generate_time=12,
            identity=se.Suite1Certificate(CERT),
        ),
    ),
    (
        "hub",
        KE,
        "initiate_key_establishment_response",
        True,
        dict(
            requested_key_establishment_suite=se.KeyEstablishmentSuite.CBKE_ECMQV_K163,
            ephemeral_data_generate_time=10,
            confirm_key_generate_time=12,
            identity=se.Suite1Certificate(CERT),
        ),
    ),
    (
        "switch",
        KE,
        "ephemeral_data_request",
        False,
        dict(ephemeral_data=se.Suite1PublicKey(EPHEMERAL)),
    ),
    (
        "hub",
        KE,
        "ephemeral_data_response",
        True,
        dict(ephemeral_data=se.Suite1PublicKey(EPHEMERAL)),
    ),
    (
        "switch",
        KE,
        "confirm_key_data_request",
        False,
        dict(secure_message_authentication_code=se.Mac16(MAC_U)),
    ),
    (
        "hub",
        KE,
        "terminate_key_establishment",
        True,
        dict(
            status_code=se.KeTerminateStatus.Bad_Key_Confirm,
            wait_time=5,
            key_establishment_suite=se.KeyEstablishmentSuite.CBKE_ECMQV_K163,
        ),
    ),
]


def write_se_capture(path: Path) -> list[str]:
    """Send every frame of FRAMES over the HAN into ``path``; returns tshark's key options."""
    clock = Clock()

    async def main():
        capture = HanCapture(path, clock)
        medium, hub, switch = await formed_network(clock, capture=capture)
        nodes = {"hub": hub, "switch": switch}
        for sender_name, cluster, name, from_server, fields in FRAMES:
            sender = nodes[sender_name]
            peer = switch if sender is hub else hub
            frame = zcl.cluster_command(
                cluster, name, sender.next_tsn(), from_server=from_server, **fields
            )
            await sender.send(packet_to(int(peer.nwk), 1, cluster.cluster_id, frame))
            await asyncio.sleep(0.2)
        capture.close()
        return capture.tshark_key_options()

    return clock.run(main)
