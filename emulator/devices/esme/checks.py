"""Whether the meter accepts a command: which SRV it is, then the checks in order (each
failure a CommandRejected with its reason, and nothing executed).

A command for this device (not-a-command, unknown-target); a use case the meter executes,
with the payload its use case has (unsupported-use-case); then the sender (access.py:
trust anchor, MAC from the ACB's and this device's KA keys, signature by the anchor's DS key
for critical use cases, the anchor's role allowed this SRV under the SECMP0046 switches, the
counter above the last from that originator).
"""

from __future__ import annotations

from typing import Any

from gbcs import obis
from gbcs.message import Message
from gbcs.roles import ACB_EUI, Role

from ..access import AccessPolicy, CounterStore, check_sender
from ..credentials import (
    CREDENTIAL_SRVS,
    MAC_AUTHORISED,
    OWN_CREDENTIALS,
    PROVIDE_CERTIFICATE,
    PROVIDE_DETAILS,
    UPDATE_CREDENTIALS,
    TrustAnchors,
    acb_mac_check,
)
from ..keys import PremisesKeys
from ..outcomes import CommandRejected, RejectReason
from .device_log import JOIN, JOIN_B, UNJOIN, UNJOIN_B
from .firmware import ACTIVATE_FIRMWARE

ECS47, ECS62 = 0x0055, 0x005F
#: ECS47 script selector low byte -> SRV
ECS47_ACTIONS = {0x11: "7.5", 0x12: "7.6", 0x20: "7.8"}
#: message code -> SRV for the use cases this meter executes (ECS47 decides by its payload)
SRV_OF = {
    0x00BB: "7.7",
    0x005E: "7.11",
    0x0053: "6.14.1",
    0x0054: "6.14.2",
    0x011A: "6.14.3",
    0x011C: "7.14",
    0x011D: "7.15",
    0x011E: "7.13",
    0x011F: "7.16",
    0x0059: "11.2",
    0x0062: "6.11",
}  # fmt: skip  (ECS70 serves 8.1.1 too)
#: use cases of an SRV open to both parties that only one party's anchor may send: each
#: configures and reads its own alert behaviours (6.22, 6.2.10: alert_behaviour.py)
OWNERS = {0x00AC: Role.SUPPLIER, 0x00EA: Role.SUPPLIER, 0x00EB: Role.SUPPLIER,
          0x00EC: Role.SUPPLIER, 0x00EE: Role.SUPPLIER, 0x00B0: Role.NETWORK_OPERATOR,
          0x00ED: Role.NETWORK_OPERATOR, 0x00EF: Role.NETWORK_OPERATOR}  # fmt: skip
#: critical in RTDS (signed) though the use-case tables we have do not say: ECS47, ECS46c
SIGNED_IN_RTDS = {ECS47, 0x0054}


def command_srv(message: Message) -> tuple[str | None, int | None]:
    """The SRV a command is (None: not one this meter executes) and, for ECS47, the slot its
    script selector names. CommandRejected(malformed) for an ECS47 without that selector."""
    code = message.message_code
    if code == JOIN:
        return "8.7.1", None
    if code == JOIN_B:  # a Type 2 device joined (8.7.2)
        return "8.7.2", None
    if code == UNJOIN_B:  # ... and unjoined (8.8.2)
        return "8.8.2", None
    if code == UNJOIN:  # the Supplier's own (8.8.1) or the ACB's on a user's behalf (8.8.2)
        return ("8.8.2" if bytes(message.originator) == ACB_EUI else "8.8.1"), None
    if code == ECS47:
        if message.payload_kind != "dlms-access-request":
            raise CommandRejected(RejectReason.MALFORMED)
        selector = _ecs47_selector(message)
        return ECS47_ACTIONS.get(selector & 0xFF), selector >> 8
    if code == ACTIVATE_FIRMWARE:
        return "11.3", None
    if code in UPDATE_CREDENTIALS:
        return CREDENTIAL_SRVS[code], None
    if code in PROVIDE_DETAILS:
        return "6.24.1", None
    if code in OWN_CREDENTIALS:
        return OWN_CREDENTIALS[code], None
    if code == ECS62:  # add or remove by the booleans it sets
        data = message.payload.data
        return ("7.9" if data and data[0].value else "7.10"), None
    return SRV_OF.get(code), None


def _ecs47_selector(message: Message) -> int:
    for spec, value in zip(message.payload.specifications, message.payload.data, strict=True):
        if (
            str(spec.kind) == "action"
            and bytes(spec.instance_id) == obis.AUXILIARY_CONTROLLER_SCRIPTS
        ):
            return int(value.value)
    raise CommandRejected(RejectReason.MALFORMED)


def first_action_selector(specs: list[Any]) -> int:
    """The selector the first action of an ECS47 carries (command_srv found one)."""
    return next(int(value.value) for spec, value in specs if str(spec.kind) == "action")


def placed_anchors(profile: dict[str, Any]) -> dict[bytes, Role]:
    """The parties placed on the meter before the run that no premises-wide anchor names:
    profile `load_controller` (RTDS's meter holds Load Controller 90B3D51F30010008's cells,
    as its CS02f and CS02g responses and its ECS47e successes show); none when absent."""
    eui = profile.get("load_controller")
    return {bytes.fromhex(eui): Role.LOAD_CONTROLLER} if eui else {}


class MeterAccess:
    """The acceptance checks of the meter `eui`: its trust anchor cells (`trust`, first
    those of `keys.anchors` and the parties `placed` on this meter before the run, then what
    Update Security Credentials put there) decide who it takes commands from and verify
    their signatures."""

    def __init__(self, eui: bytes, keys: PremisesKeys, policy: AccessPolicy,
                 placed: dict[bytes, Role] | None = None) -> None:  # fmt: skip
        self.eui, self.keys, self.policy = eui, keys, policy
        self.counters = CounterStore()
        self.trust = TrustAnchors.provisioned(keys.keystore, {**keys.anchors, **(placed or {})})
        self._mac_check = acb_mac_check(self.trust, keys.keystore, keys.remote_parties)

    def check(self, message: Message, srv: str | None) -> str:
        """Accept a command as SRV `srv` (its counter is then the last seen) and return the
        SRV; CommandRejected with the first check that fails."""
        if message.cra != "command":
            raise CommandRejected(RejectReason.NOT_A_COMMAND)
        if bytes(message.target) != self.eui:
            raise CommandRejected(RejectReason.UNKNOWN_TARGET)
        asn1_codes = (JOIN, UNJOIN, JOIN_B, UNJOIN_B, ACTIVATE_FIRMWARE, *UPDATE_CREDENTIALS, *PROVIDE_DETAILS,
                      *OWN_CREDENTIALS)  # fmt: skip
        kind = "asn1" if message.message_code in asn1_codes else "dlms-access-request"
        if srv is None or message.payload_kind != kind:
            raise CommandRejected(RejectReason.UNSUPPORTED_USE_CASE)
        critical = message.message_code not in MAC_AUTHORISED and (
            bool(message.use_case and message.use_case.critical)
            or message.message_code in SIGNED_IN_RTDS
            or message.message_code in UPDATE_CREDENTIALS
            or message.message_code == PROVIDE_CERTIFICATE
        )

        owner = OWNERS.get(message.message_code, None)

        def permitted(role: Role) -> bool:
            return self.policy.permits(srv, role) and owner in (None, role)

        check_sender(message, self.keys, self.counters, critical=critical, permitted=permitted,
                     anchors=self.trust.parties(), anchor_key=self.trust.ds_key,
                     mac_check=self._mac_check)  # fmt: skip
        return srv
