"""What the meter sends: GBCS responses in RTDS's layout, signed by the meter when the command
was signed (critical) and MAC'd otherwise, and the meter's own signed DLMS alerts.

Signatures use the meter's DS key from the test PKI (RTDS holds no device private key); MACs
come from static ECDH, so a MAC'd response is byte for byte RTDS's.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from construct import Container, ListContainer  # type: ignore[import-untyped]
from cryptography.hazmat.primitives.asymmetric import ec

from gbcs.message import Message, encode_apdu
from gbcs.payload import encode as encode_payload
from gbcs.security import mac_apdu, sign

from ..keys import PremisesKeys
from .instructions import InstructionOutcome, cosem_datetime, datetime_octets, item

#: message codes whose responses carry a date-time: the future-datable ECS46c, ECS46d, CS06,
#: CS02b (Supplier, Network Operator), CS02g (Load Controller by Supplier),
#: ECS28a, ECS01b, and the register reads ECS17b, ECS17e, ECS19 and ECS23 (the time of the
#: reading), as RTDS's do
FUTURE_DATED = {0x0054, 0x011A, 0x0027, 0x002A, 0x002D, 0x0039, 0x0012, 0x0043, 0x00A2,
                0x0102, 0x0103, 0x0126, 0x0107, 0x0104}  # fmt: skip
#: a "with selection" instruction is answered as a plain get / set
RESPONSE_KIND = {"get_with_selection": "get", "set_with_selection": "set"}
FUTURE_DATED_ALERT = 0x00CC  # the DLMS alert's message code
#: and the top-up (CS01a), payment mode (ECS02, ECS03), prepay configuration (ECS08a, ECS08)
FUTURE_DATED |= {0x0007, 0x001A, 0x001B, 0x00DE, 0x001F}
#: and the register reads ECS17a, ECS17c, ECS17d (the time of the reading) and the
#: future-datable tariffs ECS01a, ECS01c, ECS01d, as RTDS's
FUTURE_DATED |= {0x0026, 0x0028, 0x0029, 0x0019, 0x00B7, 0x00C7}
#: and the maximum demand reads ECS18a, ECS18b, as RTDS's
FUTURE_DATED |= {0x002B, 0x002C}


def response_header(message: Message, device: bytes, date_time: Any = None) -> Any:
    """The grouping header of `device`'s response to `message`, as RTDS's devices send it:
    to the command's originator with the command's counter; ACB-sent commands name their
    remote party again (RTDS's 8.8.2 and 7.14 responses). Every emulated device uses it."""
    other = message.header.other_information
    return Container(
        tag=b"\xdf",
        transaction_id=Container(cra="response", counter=message.counter),
        originator=device,
        target=bytes(message.originator),
        date_time=date_time,
        other_information=Container(
            message_code=message.message_code,
            supplementary_remote_party=other.supplementary_remote_party,
            supplementary_remote_party_counter=other.supplementary_remote_party_counter,
            # the device's own counter where its answer to an unknown remote party used one
            # (protected.py writes it on the command's header; no command carries one)
            supplementary_originator_counter=other.get("supplementary_originator_counter"),
            certificate=b"",
        ),
    )


def alert_header(device: bytes, to: bytes, counter: int, message_code: int) -> Any:
    """The grouping header of an alert `device` sends `to` (a remote party, the ACB for the
    DCC's alerts) with its own alert counter: no date, no supplementary fields. Every
    emulated device's alerts use it."""
    return Container(
        tag=b"\xdf",
        transaction_id=Container(cra="alert", counter=counter),
        originator=bytes(device),
        target=bytes(to),
        date_time=None,
        other_information=Container(
            message_code=message_code,
            supplementary_remote_party=None,
            supplementary_remote_party_counter=None,
            supplementary_originator_counter=None,
            certificate=b"",
        ),
    )


class Responder:
    """Builds and seals what the meter `eui` sends; `now` is the meter's clock."""

    def __init__(self, eui: bytes, keys: PremisesKeys, now: Callable[[], dt.datetime]) -> None:
        self.eui, self.keys, self.now = eui, keys, now
        self._signing_key = keys.device_signing_key(eui)
        #: MACs what the meter sends a party with that party's KA cell (credentials.party_mac)
        self.mac: Callable[[bytes], bytes] | None = None

    def signing_key(self) -> ec.EllipticCurvePrivateKey:
        """The DS key this device signs with (6.15.2 may replace it)."""
        return self._signing_key

    def use_signing_key(self, key: ec.EllipticCurvePrivateKey) -> None:
        self._signing_key = key

    def header(self, message: Message) -> Any:
        """The response's grouping header, date-stamped where RTDS's meter stamps it."""
        stamped = message.message_code in FUTURE_DATED
        return response_header(message, self.eui, cosem_datetime(self.now()) if stamped else None)

    def seal(self, message: Message, content: bytes, signed: bool = False) -> bytes:
        """The response to `message` around `content`: signed by this device when the
        command was signed (critical) or `signed` (8.5's, as RTDS's), else MAC'd."""
        header = self.header(message)
        if message.signature or signed:
            return sign(encode_apdu(header, content, None), self._signing_key)
        if self.mac is not None:
            return self.mac(encode_apdu(header, content, b""))
        return mac_apdu(encode_apdu(header, content, b""), self.keys.keystore)

    def access_response(self, message: Message, outcomes: list[InstructionOutcome]) -> bytes:
        """The DLMS access response: a data item and a result per instruction."""
        payload = Container(
            tag=b"\xda",
            long_invoke_id_and_priority=message.payload.long_invoke_id_and_priority,
            date_time=None,
            echoed_specifications_present=0,
            echoed_specifications=None,
            data=ListContainer(data for _kind, _result, data in outcomes),
            results=ListContainer(
                Container(kind=RESPONSE_KIND.get(kind, kind), result=result)
                for kind, result, _data in outcomes
            ),
        )
        return self.seal(message, encode_payload("dlms-access-response", payload))

    def alert(
        self, counter: int, to: bytes, code: int, when: dt.datetime, extra: list[Any],
        message_code: int = FUTURE_DATED_ALERT,
    ) -> bytes:  # fmt: skip
        """A DLMS alert (code, time stamp, then `extra`: 00CC's layout and the auxiliary
        controllers' ECS101/ECS102) from this meter to `to`, signed."""
        payload = Container(
            tag=b"\x0f",
            long_invoke_id_and_priority=0x20000000 | (counter & 0x0FFFFFFF),
            date_time=None,
            notification=item(
                "structure",
                ListContainer(
                    [item("long-unsigned", code), item("octet-string", datetime_octets(when))]
                    + list(extra)
                ),
            ),
        )
        return self.signed_alert(counter, to, message_code,
                                 encode_payload("dlms-notification", payload))  # fmt: skip

    def signed_alert(self, counter: int, to: bytes, message_code: int, content: bytes) -> bytes:
        """An alert from this meter to `to` around `content` (DLMS or ASN.1), signed."""
        header = alert_header(self.eui, to, counter, message_code)
        return sign(encode_apdu(header, content, None), self._signing_key)
