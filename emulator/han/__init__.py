"""emulator.han: the virtual ZigBee Smart Energy HAN (see docs/han.md).

medium (nodes, links, counters, acks), mac/nwk/aps/security (the
layers zigpy does not have), zcl/zdo/se_clusters (frames, with zigpy as the codec), network
(formation, device log, joining), key_establishment (CBKE flow, test-only crypto), link (the
device-link interface, in-process nodes), xbee_standin (firmware boards), commshub_radio (the
hub board's radio), pcap (captures). The layer modules are used as modules (`zcl.parse`,
`security.encrypt`); the names below are what the devices, the rig and the tests build on.
"""

from .commshub_radio import CoordinatorRadio
from .key_establishment import (
    KeyEstablishmentError,
    KeyEstablishmentServer,
    StandInCa,
    establish_link_key,
)
from .link import HanNodeLink, InProcessNode, JoinError, RequestError, make_node_descriptor
from .medium import (
    COORDINATOR_NWK,
    PROFILE_SMART_ENERGY,
    PROFILE_ZDO,
    DeliveryStatus,
    LinkQuality,
    Medium,
    MediumError,
    NodeState,
    packet_to,
)
from .network import CommsHubCoordinator
from .pcap import HanCapture
from .security import SecurityError, link_key_from_install_code
from .xbee_standin import FrameDecoder, XBeeStandIn, encode_frame
from .zcl import ZclDecodeError

__all__ = [
    "COORDINATOR_NWK",
    "PROFILE_SMART_ENERGY",
    "PROFILE_ZDO",
    "CommsHubCoordinator",
    "CoordinatorRadio",
    "DeliveryStatus",
    "FrameDecoder",
    "HanCapture",
    "HanNodeLink",
    "InProcessNode",
    "JoinError",
    "KeyEstablishmentError",
    "KeyEstablishmentServer",
    "LinkQuality",
    "Medium",
    "MediumError",
    "NodeState",
    "RequestError",
    "SecurityError",
    "StandInCa",
    "XBeeStandIn",
    "ZclDecodeError",
    "encode_frame",
    "establish_link_key",
    "link_key_from_install_code",
    "make_node_descriptor",
    "packet_to",
]
