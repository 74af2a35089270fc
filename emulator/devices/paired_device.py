"""The GBCS side of a HAN device that is not a meter: an HCALCS's or a PPMID's own GBCS
application (its security credentials, device log and firmware version), reached through
the Comms Hub's tunnel like the ESME.

In GBCS the other device of a join answers the joins and unjoins addressed to it itself:
CS03A2 (Method A, the non-meter side, 8.7.1 from the Supplier or 8.7.2 from the ACB), CS03C
(Method C, a PPMID with a gas meter), CS04AC (unjoin, 8.8.1 / 8.8.2) and CS08 (11.2 read its
firmware version, from the ACB). Checks in the ESME's order (each failure a logged, counted
`rejected:<reason>` and no response): malformed, not-a-command, unknown-target,
unsupported-use-case, unknown-originator, no-mac / bad-mac, unsigned / bad-signature
(critical use cases), role-not-permitted, replay / old-counter. Responses as RTDS's: this
device as originator, the command's counter, an ACB-sent command's remote party echoed;
signed (test-PKI DS key: RTDS holds no device private key) when the command was signed,
else MAC'd (static ECDH: byte for byte as RTDS).

A distributed image (11.4, `receive_image`: the hub passes it over the HAN) is a ZigBee OTA
file with no Supplier signature (the catalogue's PPMID image ends with its Manufacturer
Image); one whose sizes do not hold is a failed transfer, one whose header's hardware
versions leave out the device's (profile `hardware_version`, hex; none: any) a hardware
version mismatch, and either changes nothing; a whole one that fits the device activates at
once and alerts the ACB so (CS09, 8F8B: the version now running and
activation success, signed, RTDS's layout); CS08 then reads that version.

Device log rules (GBCS's are not in our sources, so ours): an HCALCS joins one ESME, as Method
A responder; a PPMID joins an ESME (Method A responder) and a GSME (Method C, which must carry
an X.509 certificate with a P-256 key: else invalid_or_missing_certificate), up to
DEVICE_LOG_CAPACITY entries. Another method or partner type is invalid_join_method_and_role;
the same EUI as another type incompatible_with_existing_entry; re-joining the same device is
success; an HCALCS already joined to another ESME answers device_log_full.
"""

from __future__ import annotations

import datetime as dt
import itertools
import logging
from collections import Counter
from collections.abc import Callable

import zigpy.zdo.types as zdo_t
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from emulator.han.link import InProcessNode
from gbcs import asn1
from gbcs.message import Message, encode_apdu
from gbcs.roles import ACB_EUI, Role
from gbcs.security import mac_apdu, sign

from .access import CounterStore, check_sender
from .comms_hub import TUNNEL_CLUSTER, parse_tunnel_data, tunnel_reply
from .esme.firmware import ImageRefused, OtaImage
from .esme.responses import alert_header, response_header
from .keys import PremisesKeys
from .outcomes import CommandRejected, EsmeResult, RejectReason, answer_command, join_entry

LOGGER = logging.getLogger(__name__)

JOIN_A2, JOIN_C, UNJOIN, READ_FIRMWARE = 0x00AB, 0x00AF, 0x000F, 0x0129
CRITICAL = frozenset({JOIN_A2, JOIN_C, UNJOIN})  # SME.C.C in the use-case tables
#: (message code, the ACB sent it) -> SRV
SRVS = {(JOIN_A2, False): "8.7.1", (JOIN_A2, True): "8.7.2", (JOIN_C, False): "8.7.1",
        (JOIN_C, True): "8.7.2", (UNJOIN, False): "8.8.1", (UNJOIN, True): "8.8.2",
        (READ_FIRMWARE, True): "11.2"}  # fmt: skip
#: who may send each SRV (use-case tables: CS03A2/CS03C/CS04AC S or ACB, CS08 ACB only)
ROLES = {"8.7.1": {Role.SUPPLIER}, "8.7.2": {Role.ACCESS_CONTROL_BROKER},
         "8.8.1": {Role.SUPPLIER}, "8.8.2": {Role.ACCESS_CONTROL_BROKER},
         "11.2": {Role.ACCESS_CONTROL_BROKER}}  # fmt: skip
#: (join method, partner type) each device type accepts
JOINS = {
    "hcalcs": {("method_a_responder", "esme")},
    "ppmid": {("method_a_responder", "esme"), ("method_c", "gsme")},
}
#: device log entries a PPMID holds (our figure, as the ESME's); an HCALCS serves one ESME
DEVICE_LOG_CAPACITY = 8
JOIN_OK, JOIN_BAD_METHOD, JOIN_INCOMPATIBLE, JOIN_LOG_FULL, JOIN_BAD_CERT = 0, 2, 3, 4, 11
UNJOIN_OK, UNJOIN_NOT_IN_LOG = 0, 1
READ_OK, READ_FAILURE = 0, 1
#: ZigBee SE device ids: Load Control Device (HCALCS), In-Premises Display (PPMID)
ZIGBEE_DEVICE_TYPE = {"hcalcs": 0x0504, "ppmid": 0x0502}
#: RTDS's CS08 answer (PPMID ...A4)
RTDS_FIRMWARE_VERSION = "0123ABCD"
FIRMWARE_VERSION_ALERT, ACTIVATED = 0x012B, 0x8F8B  # CS09
ACTIVATION_OK = 0
#: CCS08's transfer response codes (gbcs.asn1.FIRMWARE_TRANSFER_RESPONSES)
TRANSFER_OK, HARDWARE_MISMATCH, TRANSFER_FAILURE = 0, 2, 3
FIRST_ALERT_COUNTER = 5000  # RTDS's PPMID's CS09 carries 5000


def endpoints(device_type: str) -> list[zdo_t.SimpleDescriptor]:
    return [
        zdo_t.SimpleDescriptor(
            endpoint=1, profile=0x0109, device_type=ZIGBEE_DEVICE_TYPE[device_type],
            device_version=0, input_clusters=[], output_clusters=[TUNNEL_CLUSTER],
        )
    ]  # fmt: skip


class PairedDevice:
    """An HCALCS or PPMID as a GBCS target: `handle(command)` checks and answers one command;
    on the HAN, `node` receives it through the hub's tunnel and `on_result` hears the
    outcome (the premises waits on it)."""

    def __init__(
        self, eui: bytes, device_type: str, node: InProcessNode, keys: PremisesKeys, *,
        profile: dict | None = None,
    ) -> None:  # fmt: skip
        if device_type not in JOINS:
            raise ValueError(f"no GBCS model for a {device_type!r}")
        profile = profile or {}
        self.eui, self.device_type, self.node, self.keys = bytes(eui), device_type, node, keys
        self.device_log: dict[bytes, str] = {
            bytes.fromhex(e): kind for e, kind in profile.get("device_log", {}).items()
        }
        #: partner certificates a Method C join delivered (EUI -> DER)
        self.certificates: dict[bytes, bytes] = {}
        self.firmware_version = bytes.fromhex(
            profile.get("firmware_version", RTDS_FIRMWARE_VERSION)
        )
        self.firmware_fault = False  # tests: the version cannot be read (RTDS's CS08 ERROR)
        given = profile.get("hardware_version")
        self.hardware_version = None if given is None else int(given, 16)
        self._alert_counter = itertools.count(int(profile.get("alert_counter",
                                                              FIRST_ALERT_COUNTER)))  # fmt: skip
        self.counters = CounterStore()
        self.stats: Counter = Counter()
        self.on_result: Callable[[EsmeResult], None] | None = None
        self._signing_key = keys.device_signing_key(self.eui)
        node.on_cluster(1, TUNNEL_CLUSTER, self._on_tunnel)

    # --- the HAN side ---------------------------------------------------------------------
    def _on_tunnel(self, packet) -> None:
        gbcs = parse_tunnel_data(bytes(packet.data.serialize()))
        if gbcs is None:
            self.stats["tunnel:ignored"] += 1
            return
        result = self.handle(gbcs)
        if result.response is not None:
            tunnel_reply(self.node, packet, result.response)
        if self.on_result is not None:
            self.on_result(result)

    def receive_image(self, raw: bytes, now: dt.datetime) -> tuple[int, bytes, bytes | None]:
        """An image the hub passed on (11.4): (CCS08's transfer response code, the image's
        version, the CS09 alert the activation raised, or None: nothing changed)."""
        try:
            image = OtaImage.parse(raw, signed=False)
        except ImageRefused as exc:
            LOGGER.info("%s %s: image not taken: %s", self.device_type.upper(), self.eui.hex(),
                        exc)  # fmt: skip
            self.stats["firmware:transfer-failed"] += 1
            return TRANSFER_FAILURE, bytes(4), None
        if not image.fits(self.hardware_version):
            self.stats["firmware:hardware-version-mismatch"] += 1
            return HARDWARE_MISMATCH, image.version, None
        self.firmware_version = image.version
        self.stats["firmware:activated"] += 1
        content = asn1.encode_tree(asn1.sequence(
            asn1.integer(ACTIVATED), asn1.generalized_time(now.strftime("%Y%m%d%H%M%SZ")),
            asn1.octet_string(image.version), asn1.integer(ACTIVATION_OK)))  # fmt: skip
        header = alert_header(self.eui, ACB_EUI, next(self._alert_counter), FIRMWARE_VERSION_ALERT)
        return (
            TRANSFER_OK,
            image.version,
            sign(encode_apdu(header, content, None), self._signing_key),
        )

    # --- acceptance -------------------------------------------------------------------------
    def handle(self, command: bytes) -> EsmeResult:
        """Check and execute one GBCS command; never raises for bad input."""
        return answer_command(
            command, self.eui, who=f"{self.device_type.upper()} {self.eui.hex()}", stats=self.stats,
            logger=LOGGER, check=self._check, execute=self._execute,
            srv_of=lambda message: SRVS.get(
                (message.message_code, bytes(message.originator) == ACB_EUI)),
        )  # fmt: skip

    def _check(self, message: Message, srv: str | None) -> None:
        known = any(code == message.message_code for code, _ in SRVS)
        if not known or message.payload_kind != "asn1":
            raise CommandRejected(RejectReason.UNSUPPORTED_USE_CASE)
        if message.payload.fields is None:  # DER, but not the use case's shape
            raise CommandRejected(RejectReason.MALFORMED)

        def permitted(role: Role) -> bool:
            return srv is not None and role in ROLES[srv]

        check_sender(message, self.keys, self.counters,
                     critical=message.message_code in CRITICAL, permitted=permitted)  # fmt: skip

    # --- execution ----------------------------------------------------------------------------
    def _execute(self, message: Message) -> bytes:
        fields = message.payload.fields
        if message.message_code == READ_FIRMWARE:
            self.stats["firmware:read"] += 1
            if self.firmware_fault:
                tree = asn1.sequence(asn1.octet_string(b"\x00" * 4), asn1.integer(READ_FAILURE))
            else:
                tree = asn1.sequence(asn1.octet_string(self.firmware_version),
                                     asn1.integer(READ_OK))  # fmt: skip
        elif message.message_code == UNJOIN:
            tree = asn1.integer(self._unjoin(bytes(fields.value)))
        else:
            certificate = fields.other_device_certificate
            tree = asn1.integer(self._join(
                str(fields.join_method_and_role_name), bytes(fields.other_device_id),
                str(fields.other_device_type_name),
                None if certificate is None else bytes(certificate),
            ))  # fmt: skip
        return self._seal(message, asn1.encode_tree(tree))

    def _join(self, method: str, other: bytes, kind: str, certificate: bytes | None) -> int:
        """Add `other` to this device's log; the join response code."""
        if (method, kind) not in JOINS[self.device_type] or len(other) != 8:
            result = JOIN_BAD_METHOD
        elif method == "method_c" and not usable_certificate(certificate):
            result = JOIN_BAD_CERT
        else:
            result = join_entry(self.device_log, other, kind, self._capacity(kind))
        if result == JOIN_OK and certificate is not None:
            self.certificates[other] = certificate
        self.stats[f"join:{asn1.JOIN_RESPONSES[result]}"] += 1
        LOGGER.info("%s %s join %s %s (%s): %s", self.device_type.upper(), self.eui.hex(), kind,
                    other.hex(), method, asn1.JOIN_RESPONSES[result])  # fmt: skip
        return result

    def _capacity(self, kind: str) -> int:
        if self.device_type == "hcalcs":  # one meter: any ESME already there fills it
            return len(self.device_log) if any(
                k == "esme" for k in self.device_log.values()) else DEVICE_LOG_CAPACITY  # fmt: skip
        return DEVICE_LOG_CAPACITY

    def _unjoin(self, other: bytes) -> int:
        result = UNJOIN_OK if self.device_log.pop(other, None) is not None else UNJOIN_NOT_IN_LOG
        self.certificates.pop(other, None)
        self.stats[f"unjoin:{asn1.UNJOIN_RESPONSES[result]}"] += 1
        return result

    # --- responses ------------------------------------------------------------------------------
    def _seal(self, message: Message, content: bytes) -> bytes:
        """RTDS's response header (this device to the originator, the command's counter, an
        ACB-sent command's remote party again); signed when the command was, else MAC'd."""
        header = response_header(message, self.eui)
        if message.signature:
            return sign(encode_apdu(header, content, None), self._signing_key)
        return mac_apdu(encode_apdu(header, content, b""), self.keys.keystore)


def usable_certificate(der: bytes | None) -> bool:
    """A Method C partner certificate a device could agree keys with: X.509, P-256 (the
    PPMID's, the GSME's)."""
    if not der:
        return False
    try:
        key = x509.load_der_x509_certificate(der).public_key()
    except ValueError:
        return False
    return isinstance(key, ec.EllipticCurvePublicKey) and key.curve.name == "secp256r1"
