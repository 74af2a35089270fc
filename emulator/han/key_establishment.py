"""Key establishment (SE cluster 0x0800) as a documented **test-only stand-in** for CBKE.

The messages, their order, sizes (crypto suite 1) and the generate-time timeouts are the
specification's; so are the KDF (AES-MMO hash of Z with a 32-bit counter, giving MacKey and the
new link key) and the key confirmation MACs (HMAC-MMO over M(U|V) | ID | ID | QE | QE, with
M(U) = 0x02, M(V) = 0x03). What is *not* real: ECQV certificates and ECMQV on sect163k1 —
`cryptography` has neither — so here a "certificate" is a 48-byte record whose public-key field
is a keyed hash by a test CA secret, and the shared secret Z is a keyed hash of both ephemeral
values under that secret. Two parties holding the same CA secret agree on a key; a party with
another CA secret fails key confirmation exactly where real CBKE would (Terminate, Bad Key
Confirm). None of this protects anything; it exists so joins run the GB message flow.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

import zigpy.types as t
import zigpy.util

from emulator.errors import EmulatorError

from . import se_clusters as se
from . import security, zcl
from .link import InProcessNode, RequestError
from .medium import source_nwk

LOGGER = logging.getLogger(__name__)

KE = se.KeyEstablishment
SUITE = se.KeyEstablishmentSuite.CBKE_ECMQV_K163
M_U = 0x02
M_V = 0x03
PROFILE_DATA = bytes(10)


class KeyEstablishmentError(EmulatorError):
    def __init__(self, status: se.KeTerminateStatus, detail: str = "") -> None:
        super().__init__(f"key establishment failed: {status.name} {detail}".strip())
        self.status = status


@dataclass(frozen=True)
class StandInCa:
    """A test certificate authority: a secret shared by every party it certifies."""

    secret: bytes
    issuer: bytes = bytes.fromhex("5445535443413031")  # "TESTCA01"

    def certificate(self, subject: t.EUI64) -> bytes:
        """48 bytes laid out as a suite-1 certificate: key data 22, subject 8, issuer 8, profile 10."""
        subject_be = bytes(reversed(subject.serialize()))
        public = security.hmac_mmo(self.secret, b"cert" + subject_be)
        public += security.hmac_mmo(self.secret, b"cer2" + subject_be)[:6]
        return public + subject_be + self.issuer + PROFILE_DATA

    def check(self, certificate: bytes, subject: t.EUI64) -> se.KeTerminateStatus | None:
        if len(certificate) != 48:
            return se.KeTerminateStatus.Bad_Message
        if certificate[30:38] != self.issuer:
            return se.KeTerminateStatus.Unknown_Issuer
        if certificate != self.certificate(subject):
            return se.KeTerminateStatus.Invalid_Certificate
        return None

    def shared_secret(self, qeu: bytes, qev: bytes) -> bytes:
        return security.hmac_mmo(self.secret, b"Z" + qeu + qev)


def kdf(z: bytes) -> tuple[bytes, bytes]:
    """(MacKey, KeyData): AES-MMO hash of Z with counters 1 and 2 (32-bit big-endian)."""
    mac_key = bytes(zigpy.util.aes_mmo_hash(z + (1).to_bytes(4, "big")))
    key_data = bytes(zigpy.util.aes_mmo_hash(z + (2).to_bytes(4, "big")))
    return mac_key, key_data


def confirm_mac(mac_key: bytes, m: int, id_a: t.EUI64, id_b: t.EUI64, qa: bytes, qb: bytes):
    def be(eui: t.EUI64) -> bytes:
        return bytes(reversed(eui.serialize()))

    return security.hmac_mmo(mac_key, bytes([m]) + be(id_a) + be(id_b) + qa + qb)


@dataclass
class _Session:
    initiator: t.EUI64
    qeu: bytes = b""
    qev: bytes = b""
    mac_key: bytes = b""
    key_data: bytes = b""
    done: bool = False
    ephemeral: bytes = field(default=b"", repr=False)


class KeyEstablishmentServer:
    """The trust centre's side (responder V), installed on the hub's SE endpoint."""

    def __init__(
        self,
        node: InProcessNode,
        ca: StandInCa,
        *,
        endpoint: int = 1,
        compute_s: float = 1.0,
        generate_time_s: int = 10,
    ) -> None:
        self.node = node
        self.ca = ca
        self.compute_s = compute_s
        self.generate_time_s = generate_time_s
        self.sessions: dict[int, _Session] = {}
        self.established: dict[t.EUI64, bytes] = {}
        node.on_cluster(endpoint, KE.cluster_id, self._received)

    def _received(self, packet: t.ZigbeePacket) -> None:
        try:
            frame = zcl.parse(KE, bytes(packet.data.serialize()))
        except zcl.ZclDecodeError:
            self.node.stats["ke_rejected_malformed"] += 1
            return
        self.node.spawn(self._handle(packet, frame))

    async def _terminate(self, packet, tsn: int, status: se.KeTerminateStatus) -> None:
        self.node.stats[f"ke_terminated_{status.name}"] += 1
        self.sessions.pop(source_nwk(packet), None)
        frame = zcl.cluster_command(
            KE,
            "terminate_key_establishment",
            tsn,
            from_server=True,
            want_default_response=False,
            status_code=status,
            wait_time=5,
            key_establishment_suite=SUITE,
        )
        await self.node.reply(packet, frame)

    async def _handle(self, packet: t.ZigbeePacket, frame: zcl.ZclFrame) -> None:
        peer_nwk = source_nwk(packet)
        peer = self.node.medium.node_by_nwk(peer_nwk)
        if peer is None:  # left the network while its frame was on the air
            self.node.stats["ke_rejected_unknown_peer"] += 1
            return
        session = self.sessions.get(peer_nwk)
        args = frame.command
        if frame.name == "initiate_key_establishment_request":
            if args.key_establishment_suite != SUITE:
                await self._terminate(packet, frame.tsn, se.KeTerminateStatus.Unsupported_Suite)
                return
            problem = self.ca.check(bytes(args.identity), peer.ieee)
            if problem is not None:
                await self._terminate(packet, frame.tsn, problem)
                return
            self.sessions[peer_nwk] = _Session(initiator=peer.ieee)
            reply = zcl.cluster_command(
                KE,
                "initiate_key_establishment_response",
                frame.tsn,
                from_server=True,
                want_default_response=False,
                requested_key_establishment_suite=SUITE,
                ephemeral_data_generate_time=self.generate_time_s,
                confirm_key_generate_time=self.generate_time_s,
                identity=se.Suite1Certificate(self.ca.certificate(self.node.ieee)),
            )
            await self.node.reply(packet, reply)
        elif frame.name == "ephemeral_data_request" and session is not None:
            session.qeu = bytes(args.ephemeral_data)
            await self.node.medium.clock.sleep(self.compute_s)  # ephemeral key generation
            session.qev = self.node.medium.rng.randbytes(22)
            z = self.ca.shared_secret(session.qeu, session.qev)
            session.mac_key, session.key_data = kdf(z)
            reply = zcl.cluster_command(
                KE,
                "ephemeral_data_response",
                frame.tsn,
                from_server=True,
                want_default_response=False,
                ephemeral_data=se.Suite1PublicKey(session.qev),
            )
            await self.node.reply(packet, reply)
        elif frame.name == "confirm_key_data_request" and session is not None and session.qev:
            await self.node.medium.clock.sleep(self.compute_s)  # key confirmation
            expected = confirm_mac(
                session.mac_key, M_U, peer.ieee, self.node.ieee, session.qeu, session.qev
            )
            if bytes(args.secure_message_authentication_code) != expected:
                await self._terminate(packet, frame.tsn, se.KeTerminateStatus.Bad_Key_Confirm)
                return
            mac_v = confirm_mac(
                session.mac_key, M_V, self.node.ieee, peer.ieee, session.qev, session.qeu
            )
            reply = zcl.cluster_command(
                KE,
                "confirm_key_data_response",
                frame.tsn,
                from_server=True,
                want_default_response=False,
                secure_message_authentication_code=se.Mac16(mac_v),
            )
            await self.node.reply(packet, reply)
            self.sessions.pop(peer_nwk, None)
            self.node.medium.set_link_key(self.node.ieee, peer.ieee, session.key_data)
            self.established[peer.ieee] = session.key_data
            self.node.stats["ke_established"] += 1
        elif frame.name == "terminate_key_establishment":
            self.sessions.pop(peer_nwk, None)
            self.node.stats["ke_terminated_by_peer"] += 1
        else:
            await self._terminate(packet, frame.tsn, se.KeTerminateStatus.Bad_Message)


async def establish_link_key(
    node: InProcessNode,
    ca: StandInCa,
    trust_centre_nwk: int = 0x0000,
    *,
    endpoint: int = 1,
    compute_s: float = 1.0,
) -> bytes:
    """The joining device's side (initiator U); returns the new link key or raises."""
    medium = node.medium
    tc = medium.node_by_nwk(trust_centre_nwk)
    if tc is None:
        raise KeyEstablishmentError(se.KeTerminateStatus.No_Resources, "no trust centre")

    async def step(name: str, timeout: float, **fields) -> zcl.ZclFrame:
        frame = zcl.cluster_command(KE, name, node.next_tsn(), from_server=False, **fields)
        try:
            packet = await node.request(
                trust_centre_nwk, endpoint, KE.cluster_id, frame, src_ep=endpoint, timeout=timeout
            )
        except RequestError as exc:
            raise KeyEstablishmentError(se.KeTerminateStatus.No_Resources, str(exc)) from exc
        answer = zcl.parse(KE, bytes(packet.data.serialize()))
        if answer.name == "terminate_key_establishment":
            raise KeyEstablishmentError(answer.command.status_code)
        return answer

    initiate = await step(
        "initiate_key_establishment_request",
        5.0,
        key_establishment_suite=SUITE,
        ephemeral_data_generate_time=int(compute_s) + 1,
        confirm_key_generate_time=int(compute_s) + 1,
        identity=se.Suite1Certificate(ca.certificate(node.ieee)),
    )
    problem = ca.check(bytes(initiate.command.identity), tc.ieee)
    if problem is not None:
        raise KeyEstablishmentError(problem, "trust centre certificate")
    await asyncio.sleep(compute_s)
    qeu = medium.rng.randbytes(22)
    ephemeral = await step(
        "ephemeral_data_request",
        initiate.command.ephemeral_data_generate_time + 2.0,
        ephemeral_data=se.Suite1PublicKey(qeu),
    )
    qev = bytes(ephemeral.command.ephemeral_data)
    mac_key, key_data = kdf(ca.shared_secret(qeu, qev))
    await asyncio.sleep(compute_s)
    confirm = await step(
        "confirm_key_data_request",
        initiate.command.confirm_key_generate_time + 2.0,
        secure_message_authentication_code=se.Mac16(
            confirm_mac(mac_key, M_U, node.ieee, tc.ieee, qeu, qev)
        ),
    )
    expected_v = confirm_mac(mac_key, M_V, tc.ieee, node.ieee, qev, qeu)
    if bytes(confirm.command.secure_message_authentication_code) != expected_v:
        raise KeyEstablishmentError(se.KeTerminateStatus.Bad_Key_Confirm, "MACV")
    return key_data
