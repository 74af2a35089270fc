"""What the GSME and the GPF share: checking a GBCS command as every device here does
(access.check_sender), answering a GBZ read-attributes command from a ZCL attribute table and
a ZCL cluster command through the device's handler for it, and sealing the response (the
device as originator, the command's counter; signed by the device when the command was
signed, a critical use case, else MAC'd, as RTDS's).
Where GBCS has the response encrypted (`encrypted` message codes: GCS13a's registers, the
sampled data of GCS17 / GCS18 / GCS61) each component's ZCL payload (a read-attributes
response, or a cluster's own response; never a default response) is encrypted for the reader as the ESME's protected reads are
(AES-GCM, key from static ECDH between the device and the reader and the KDF with the
encryption message type and the response's counter).

Attributes are (cluster, attribute id) -> (ZCL data type name, value) as gbcs.zcl holds them;
one the device does not hold is answered `unsupported_attribute`, as ZCL does. A cluster
command's handler returns a ZCL status, answered as a default response, or the cluster's own
response (command id, payload). Any other GBZ command, or another payload, is an unsupported
use case (a logged, counted rejection).
"""

from __future__ import annotations

import datetime as dt
import itertools
import logging
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from construct import Container, ListContainer  # type: ignore[import-untyped]
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from gbcs.keystore import KA, key_id
from gbcs.message import Message, encode_apdu
from gbcs.payload import encode as encode_payload
from gbcs.roles import Role
from gbcs.security import (
    ENCRYPTION_TYPE,
    FRAGMENT_HEADER,
    MAC_LENGTH,
    encrypt_fragment,
    kdf,
    mac_apdu,
    other_info,
    shared_secret,
    sign,
)
from gbcs.zcl import CLUSTER_COMMANDS, GENERAL_COMMANDS

from ..access import CounterStore, check_sender
from ..esme.instructions import cosem_datetime
from ..esme.responses import response_header
from ..keys import PremisesKeys
from ..outcomes import CommandRejected, EsmeResult, RejectReason, answer_command

LOGGER = logging.getLogger(__name__)

Attributes = dict[tuple[int, int], tuple[str, Any]]
#: a cluster command's handler: its payload -> a ZCL status name (a default response), the
#: cluster's own response (command id, payload[, disable default response]) or several of
#: them (a list: one component each, as the Calendar's publish commands answer a get); a
#: component's GBZ from-date-time comes to it as the payload's `from_date_time`
Handler = Callable[[Any], "str | tuple[int, Any] | tuple[int, Any, bool] | list[Any]"]
#: an ASN.1 use case's handler: the command's fields -> the response's DER content
Asn1Handler = Callable[[Any], bytes]
#: one that needs the whole command (who sent it, its counter): CS02b's
Asn1MessageHandler = Callable[[Message], bytes]
READ_ATTRIBUTES, READ_ATTRIBUTES_RESPONSE, DEFAULT_RESPONSE = 0x00, 0x01, 0x0B
FIRST_OWN_COUNTER = 2000  # RTDS's GPF's first supplementary originator counter
NOT_CARRIED_OUT = 0xFF  # the command id of a default response to a command skipped
_OTHER_WAY = {"client_to_server": "server_to_client", "server_to_client": "client_to_server"}


class GbzAnswerer:
    """The GBCS application of one gas device `eui`: `handle(command)` checks and answers.
    `srvs` maps the message codes it serves to their SRVs, `roles` each SRV to who may send
    it; `date_stamped` names the codes whose responses carry the device's time; `anchors`
    the device's trust anchors (default the premises'); `commands` the cluster commands it
    carries out, by (cluster id, command name: the codec's, which tells the direction); `asn1_commands` the ASN.1 use cases it carries
    out, by message code (`asn1_messages` those given the whole command, their responses
    date-stamped where `date_stamped` names them); `critical` the codes that must be
    signed."""

    def __init__(
        self, eui: bytes, keys: PremisesKeys, now: Callable[[], dt.datetime], *,
        attributes: Attributes, srvs: dict[int, str], roles: Mapping[str, Iterable[Role]],
        date_stamped: Iterable[int] = (), anchors: Mapping[bytes, Role] | None = None,
        encrypted: Iterable[int] = (), commands: Mapping[tuple[int, str], Handler] | None = None,
        critical: Iterable[int] = (), asn1_commands: Mapping[int, Asn1Handler] | None = None,
        on_executed: Callable[[Message, Any], None] | None = None,
        own_counter: Iterable[int] = (),
        clear_clusters: Mapping[int, Iterable[int]] | None = None,
        loud: Iterable[int] = (),
        quiet_reads: Iterable[int] = (),
        asn1_messages: Mapping[int, Asn1MessageHandler] | None = None,
    ) -> None:  # fmt: skip
        self.eui, self.keys, self.now = bytes(eui), keys, now
        self.anchors = anchors
        self.encrypted = frozenset(encrypted)
        self.attributes = attributes
        self.srvs, self.roles = srvs, {k: frozenset(v) for k, v in roles.items()}
        self.date_stamped = frozenset(date_stamped)
        self.commands = dict(commands or {})
        self.asn1_commands = dict(asn1_commands or {})
        self.asn1_messages = dict(asn1_messages or {})
        self.critical = frozenset(critical)
        #: told of each cluster command carried out successfully (the meter's future-dated
        #: tariff commands schedule their alerts)
        self.on_executed = on_executed
        #: the codes whose responses carry this device's own counter as the supplementary
        #: originator counter, the one their encryption uses (the GPF's GCS16b, as RTDS's)
        self.own_counter = frozenset(own_counter)
        self._counter = itertools.count(FIRST_OWN_COUNTER)
        #: an encrypted use case's reads of these clusters go clear (GCS14's price, as RTDS's)
        self.clear_clusters = {code: frozenset(c) for code, c in (clear_clusters or {}).items()}
        #: encrypted read responses that leave the default response enabled (GCS14's)
        self.loud = frozenset(loud)
        #: clear read responses that disable the default response (GCS21f's, as RTDS's)
        self.quiet_reads = frozenset(quiet_reads)
        #: attributes whose hardware fails (tests: RTDS's ERROR responses): read as
        #: hardware_failure, and the rest of the message is not carried out
        self.attribute_faults: set[tuple[int, int]] = set()
        self._signing_key = keys.device_signing_key(self.eui)
        self.counters = CounterStore()
        self.stats: Counter = Counter()

    def handle(self, command: bytes) -> EsmeResult:
        """Check and answer one command; never raises for bad input."""
        return answer_command(
            command, self.eui, who=self.eui.hex(), stats=self.stats, logger=LOGGER, check=self._check,
            srv_of=lambda message: self.srvs.get(message.message_code), execute=self._answer,
        )  # fmt: skip

    def _check(self, message: Message, srv: str | None) -> None:
        if srv is None or not self._served(message):
            raise CommandRejected(RejectReason.UNSUPPORTED_USE_CASE)
        check_sender(message, self.keys, self.counters, anchors=self.anchors,
                     critical=message.message_code in self.critical,
                     permitted=lambda role: role in self.roles.get(srv, ()))  # fmt: skip

    def _served(self, message: Message) -> bool:
        if message.payload_kind == "asn1":
            code = message.message_code
            return (code in self.asn1_commands or code in self.asn1_messages) and (
                message.payload.fields is not None
            )
        return message.payload_kind == "gbz" and self._all_served(message.payload)

    def _answer(self, message: Message) -> bytes:
        if message.message_code in self.asn1_messages:
            content = self.asn1_messages[message.message_code](message)
            stamp = message.message_code in self.date_stamped
            date = cosem_datetime(self.now()) if stamp else None
            return self._seal(message, response_header(message, self.eui, date), content)
        if message.payload_kind == "asn1":
            content = self.asn1_commands[message.message_code](message.payload.fields)
            return self._seal(message, response_header(message, self.eui), content)
        own = next(self._counter) if message.message_code in self.own_counter else None
        key = self._key(message, own) if message.message_code in self.encrypted else None
        components, failed = [], False
        count = len(message.payload.components)
        for i, component in enumerate(message.payload.components):
            last = i == count - 1
            if component.body.frame.frame_control.frame_type == "cluster_specific":
                answers = self._command(component, last, skip=failed, key=key)
                failed = failed or _failed(answers[0])
                if not failed and self.on_executed is not None:
                    self.on_executed(message, component)
            elif failed:  # a read after a failure: not carried out either
                answers = self._command(component, last, skip=True)
            else:
                clear = int(component.cluster_id) in self.clear_clusters.get(
                    message.message_code, ()
                )
                quiet = message.message_code not in self.loud
                answers = [self._component(component, last, key=None if clear else key,
                                           quiet=quiet,
                                           quiet_clear=message.message_code in self.quiet_reads)]  # fmt: skip
                failed = _read_failed(answers[0])
            components.extend(answers)
        sealed = [c for c in components if c.control.encrypted]
        for number, component in enumerate(sealed):  # as RTDS's: 0, 1, ... in the message
            component.body.encrypted_frame.frame_counter = number
        payload = Container(profile=message.payload.profile, component_count=len(components),
                            components=ListContainer(components))  # fmt: skip
        stamped = message.message_code in self.date_stamped
        header = response_header(message, self.eui, cosem_datetime(self.now()) if stamped else None)
        if own is not None:
            header.other_information.supplementary_originator_counter = own
        return self._seal(message, header, encode_payload("gbz", payload))

    def _seal(self, message: Message, header: Any, content: bytes) -> bytes:
        """Signed by this device when the command was signed (critical), else MAC'd."""
        if message.signature:
            return sign(encode_apdu(header, content, None), self._signing_key)
        return mac_apdu(encode_apdu(header, content, b""), self.keys.keystore)

    def _key(self, message: Message, own: int | None = None) -> bytes:
        """The response's encryption key for its reader (the remote party a command names
        on its behalf, else the originator); refused when the keystore agrees none."""
        other = message.header.other_information
        reader = bytes(other.supplementary_remote_party or message.originator)
        counter = message.counter if own is None else own
        if other.certificate:  # an unknown remote party: the key its certificate carries
            z = self._remote_party_secret(bytes(other.certificate), reader)
            return kdf(z, other_info(self.eui, ENCRYPTION_TYPE, counter, reader))
        pairings, _missing = self.keys.keystore.ka_pairings(self.eui, reader)
        if not pairings:
            raise CommandRejected(RejectReason.UNSUPPORTED_USE_CASE)
        private, _own, peer = pairings[0]
        z = shared_secret(private, peer.public_key)
        return kdf(z, other_info(self.eui, ENCRYPTION_TYPE, counter, reader))

    def _remote_party_secret(self, certificate: bytes, reader: bytes) -> bytes:
        """Static ECDH between this device's KA key and the P-256 key of the remote party's
        certificate: with this device's private key where held, else (emulated devices hold
        none) with the party's private key for that very certificate; refused when neither is
        held or the certificate is unusable."""
        try:
            peer = x509.load_der_x509_certificate(certificate).public_key()
        except ValueError:
            raise CommandRejected(RejectReason.UNSUPPORTED_USE_CASE) from None
        if not isinstance(peer, ec.EllipticCurvePublicKey) or peer.curve.name != "secp256r1":
            raise CommandRejected(RejectReason.UNSUPPORTED_USE_CASE)
        keystore = self.keys.keystore
        for _entry, private in keystore.key_pairs(self.eui, KA):
            return shared_secret(private, peer)
        own = keystore.entries(self.eui, KA)
        for entry, private in keystore.key_pairs(reader, KA):
            if entry.key_id == key_id(peer) and own:
                return shared_secret(private, own[0].public_key)
        raise CommandRejected(RejectReason.UNSUPPORTED_USE_CASE)

    def _component(self, component: Any, last: bool, key: bytes | None = None,
                   quiet: bool = True, quiet_clear: bool = False) -> Any:  # fmt: skip
        cluster = int(component.cluster_id)
        frame = component.body.frame
        records = []
        for attribute in frame.payload.attribute_ids:
            held = self.attributes.get((cluster, int(attribute)))
            if (cluster, int(attribute)) in self.attribute_faults:
                records.append(Container(attribute_id=int(attribute), status="hardware_failure",
                                         data_type=None, value=None))  # fmt: skip
            elif held is None:
                records.append(Container(attribute_id=int(attribute),
                                         status="unsupported_attribute"))  # fmt: skip
            else:
                records.append(Container(attribute_id=int(attribute), status="success",
                                         data_type=held[0], value=held[1]))  # fmt: skip
        if key is not None:
            return self._sealed(cluster, frame.sequence, records, last, key, quiet)
        return Container(
            control=Container(last_component=last, encrypted=False, from_date_time=False,
                              reserved=0),
            cluster_id=cluster,
            body=Container(from_date_time=None, encrypted_frame=None, frame=Container(
                frame_control=Container(frame_type="profile_wide", manufacturer_specific=False,
                                        direction="server_to_client",
                                        disable_default_response=quiet_clear, reserved=0),
                manufacturer_code=None, sequence=frame.sequence,
                command_id=READ_ATTRIBUTES_RESPONSE,
                payload=Container(command="read_attributes_response",
                                  records=ListContainer(records)))),
        )  # fmt: skip

    def _command(self, component: Any, last: bool, skip: bool = False,
                 key: bytes | None = None) -> list[Any]:  # fmt: skip
        """A cluster command carried out by its handler: a default response with the status
        it returns (profile-wide, the other way), or the cluster's own response. After a
        command of the same message failed (`skip`) it is not carried out: a failure default
        response for command 0xFF, as RTDS's GSME answers the debt after a failed one."""
        frame = component.body.frame
        cluster, command_id = int(component.cluster_id), int(frame.command_id)
        if skip:
            answer: Any = "failure"
            command_id = NOT_CARRIED_OUT
        else:
            payload = frame.payload
            if component.control.from_date_time:  # GBZ's from-date-time, for the handler
                payload = Container(payload, from_date_time=int(component.body.from_date_time))
            answer = self.commands[(cluster, str(frame.payload.command))](payload)
        answers = answer if isinstance(answer, list) else [answer]
        return [self._response(component, one, command_id, last and n == len(answers) - 1, key)
                for n, one in enumerate(answers)]  # fmt: skip

    def _response(self, component: Any, answer: Any, command_id: int, last: bool,
                  key: bytes | None) -> Any:  # fmt: skip
        """One response component to a cluster command: a default response for a status, the
        cluster's own response otherwise (encrypted for the reader with `key`)."""
        frame = component.body.frame
        back = _OTHER_WAY[str(frame.frame_control.direction)]
        quiet = False
        if isinstance(answer, str):
            kind, response_id = "profile_wide", DEFAULT_RESPONSE
            payload = Container(command="default_response", command_id=command_id, status=answer)
        else:
            kind, (response_id, payload, *flag) = "cluster_specific", answer
            quiet = bool(flag and flag[0])
            if key is not None:
                table = CLUSTER_COMMANDS[str(component.cluster_id)][back == "server_to_client"]
                return self._encrypted(int(component.cluster_id), Container(
                    frame_type=kind, manufacturer_specific=False, direction=back,
                    disable_default_response=quiet, reserved=0), frame.sequence, response_id,
                    table[response_id].build(payload), last, key)  # fmt: skip
        return Container(
            control=Container(last_component=last, encrypted=False, from_date_time=False,
                              reserved=0),
            cluster_id=component.cluster_id,
            body=Container(from_date_time=None, encrypted_frame=None, frame=Container(
                frame_control=Container(frame_type=kind, manufacturer_specific=False,
                                        direction=back, disable_default_response=quiet,
                                        reserved=0),
                manufacturer_code=None, sequence=frame.sequence, command_id=response_id,
                payload=payload)),
        )  # fmt: skip

    def _all_served(self, payload: Any) -> bool:
        """Every component a clear ZCL read-attributes command, or a cluster command this
        device carries out."""
        try:
            return all(
                not c.control.encrypted and c.body.frame is not None
                and not c.body.frame.frame_control.manufacturer_specific
                and (
                    (c.body.frame.frame_control.frame_type == "profile_wide"
                     and int(c.body.frame.command_id) == READ_ATTRIBUTES)
                    or (c.body.frame.frame_control.frame_type == "cluster_specific"
                        and (int(c.cluster_id), str(c.body.frame.payload.command))
                        in self.commands)
                )
                for c in payload.components
            )  # fmt: skip
        except AttributeError:
            return False

    def _sealed(self, cluster: int, sequence: int, records: list, last: bool,
                key: bytes, quiet: bool = True) -> Any:  # fmt: skip
        """An encrypted read-attributes-response component, as RTDS's GSME sends GCS13a's."""
        plaintext = GENERAL_COMMANDS[READ_ATTRIBUTES_RESPONSE].build(
            Container(command="read_attributes_response", records=ListContainer(records))
        )
        control = Container(frame_type="profile_wide", manufacturer_specific=False,
                            direction="server_to_client", disable_default_response=quiet,
                            reserved=0)  # fmt: skip
        return self._encrypted(cluster, control, sequence, READ_ATTRIBUTES_RESPONSE, plaintext,
                               last, key)  # fmt: skip

    def _encrypted(self, cluster: int, frame_control: Any, sequence: int, command_id: int,
                   plaintext: bytes, last: bool, key: bytes) -> Any:  # fmt: skip
        """A component whose ZCL payload `plaintext` is encrypted for the reader."""
        fragment = encrypt_fragment(plaintext, key, self.eui)
        ciphertext, tag = fragment[len(FRAGMENT_HEADER) : -MAC_LENGTH], fragment[-MAC_LENGTH:]
        return Container(
            control=Container(last_component=last, encrypted=True, from_date_time=False,
                              reserved=0),
            cluster_id=cluster,
            body=Container(from_date_time=None, frame=None, encrypted_frame=Container(
                additional_header_control=0, frame_counter=0, frame_control=frame_control,
                manufacturer_code=None, sequence=sequence, command_id=command_id,
                ciphered_length=len(fragment), security_header=FRAGMENT_HEADER,
                ciphertext=ciphertext, tag=tag)),
        )  # fmt: skip


def _read_failed(component: Any) -> bool:
    """A clear read-attributes response with an attribute whose hardware failed."""
    frame = component.body.frame
    return frame is not None and any(
        r.status == "hardware_failure" for r in frame.payload.get("records", ())
    )


def _failed(component: Any) -> bool:
    """A default response with a status other than success: the rest of the message is not
    carried out. A read that found nothing (not_found) is no failure: the rest goes on, as
    RTDS's GCS21b NOT_FOUND; an encrypted response never is one."""
    if component.body.frame is None:
        return False
    payload = component.body.frame.payload
    return payload.command == "default_response" and payload.status not in ("success", "not_found")
