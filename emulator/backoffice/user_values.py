"""What a DUIS user puts into a catalogue template as its own before sending it, where the
template carries its author's: the DCC's templates come from RTDS, whose one Supplier
(90B3D51F30010000) made their UTRNs and whose test time (2014-12-31) they name as now.

- 2.2 Top Up Device: a UTRN is the Supplier's own token (GBCS 14: its MAC is keyed by the
  Supplier's prepayment key and the meter's key, and names both), so the template's is
  authentic only from RTDS's Supplier to RTDS's meter. The user sending it mints its own
  UTRN with the same value and counter (devices/utrn.py) for the meter the request names;
  a meter that trusts that user as its Supplier then credits it, as RTDS's did.
- 6.11 Synchronise Clock and 8.1.1 Commission Device: CurrentDateTime is the time the user
  asks the device to take, the start of the validity interval the DSP builds (GBCS's GCS28
  and ECS70: a device takes the time only within it); the user puts in its own now (UTC,
  whole seconds), keeping the template's TolerancePeriod.
- 6.15.2 Update Security Credentials (Device): DeviceCertificate is RTDS's meter's, for a key
  pair no one else holds; a user places the certificate the SMKI issued for the request the
  device's own 6.17 answer carried (CS02c: the device made a new key pair), so the device
  takes it as its own (`certification_request`, `put_device_certificate`; the runner's
  Carried keeps the certificate between the two).

The users' prepayment keys are the RTDS and DCC Boxed keystores' (the Gas Supplier's,
90B3D51F30030000's, is RTDS's "pp-ka" pair). A template whose values are already the
user's goes as it is.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
from collections.abc import Callable

from cryptography import x509

from emulator import data
from emulator.devices import utrn
from gbcs import decode
from gbcs.errors import GbcsError
from gbcs.keystore import Keystore

from . import duis
from .assembly import DEFAULT_GBCS_DATE

#: SRVs whose templates carry a value of their author's that the sender replaces
TOP_UP, CLOCK_SYNC = ("2.2",), ("6.11", "8.1.1")
SRVS = TOP_UP + CLOCK_SYNC


@functools.cache
def users_keys() -> Keystore:
    """Every remote party's key pairs the catalogue's users hold (RTDS's and DCC Boxed's),
    judged at the date the catalogue's users' certificates hold (DEFAULT_GBCS_DATE)."""
    return Keystore.open(data.rtds_keystore(), data.dccboxed_keystore(), clock=DEFAULT_GBCS_DATE)


def reissued_utrn(text: str, keystore: Keystore, supplier: bytes, meter: bytes) -> str:
    """The UTRN `supplier` mints for `meter` with `text`'s value and counter (its 10 counter
    bits read from the start, as a meter that has accepted none reads them); ValueError for
    text that is no UTRN."""
    if len(text) != 20 or not text.isdigit() or utrn.check_digit(text[:19]) != text[19]:
        raise ValueError(f"not a UTRN: {text!r}")
    high = (int(text[:19]) - utrn.PTUT_BASE) >> 32
    value_class, amount = (high >> 13) & 0x3, high & 0x1FFF
    if high < 0 or high >> 25 or value_class not in utrn.CREDIT_UNITS:
        raise ValueError(f"UTRN {text} holds no PTUT GBCS defines")
    counter = utrn.UtrnCounters().counter((high >> 15) & 0x3FF)
    return utrn.mint(keystore, supplier, meter, counter, amount, value_class)


def fill(srv: str, xml: bytes, user: bytes, target: bytes,
         now: Callable[[], dt.datetime] | None = None,
         keystore: Keystore | None = None) -> tuple[bytes, str]:  # fmt: skip
    """The template as `user` sends it to `target`, and a note of what was changed ("":
    nothing). `now`: the user's clock (default the wall clock)."""
    root = duis.parse(xml)
    if srv in TOP_UP:
        node = root.find(f".//{{{duis.SR}}}UTRN")
        if node is None:
            return xml, ""
        named = (node.text or "").strip()
        try:
            own = reissued_utrn(named, keystore or users_keys(), bytes(user), bytes(target))
        except ValueError:
            return xml, ""  # no UTRN to reissue: the meter's to refuse
        what = "UTRN"
    elif srv in CLOCK_SYNC:
        node = root.find(f".//{{{duis.SR}}}CurrentDateTime")
        if node is None:
            return xml, ""
        named = (node.text or "").strip()
        at = (now or (lambda: dt.datetime.now(dt.UTC)))().astimezone(dt.UTC)
        own = at.strftime("%Y-%m-%dT%H:%M:%S.00Z")
        what = "CurrentDateTime"
    else:
        return xml, ""
    if own == named:
        return xml, ""
    node.text = own
    return duis.to_bytes(root), f"{what} {named} -> {own}, the sender's own"


#: the SRV whose answer carries a device's certificate signing request (CS02c), and the one
#: that places the certificate issued for it (CS02d)
ISSUE_CREDENTIALS, UPDATE_DEVICE_CERTIFICATE = "6.17", "6.15.2"


def certification_request(response: bytes) -> bytes | None:
    """The PKCS #10 request (DER) a device's CS02c response carries; None for any other
    response, or one that does not decode."""
    try:
        fields = decode(response).payload.fields
    except (GbcsError, AttributeError):
        return None
    value = fields.get("value") if fields.get("choice") == "certification_request" else None
    return bytes(value) if isinstance(value, bytes | bytearray) else None


def put_device_certificate(xml: bytes, der: bytes, serial: str, why: str) -> tuple[bytes, str]:
    """A 6.15.2 template with `der` (serial `serial`) as its DeviceCertificate, and a note
    saying so (`why`: where it came from); as it is when it already names that one."""
    root = duis.parse(xml)
    node = root.find(f".//{{{duis.SR}}}DeviceCertificate")
    if node is None:
        return xml, ""
    own = base64.b64encode(der).decode("ascii")
    named = "".join((node.text or "").split())
    if named == own:
        return xml, ""
    try:
        was = f"serial {x509.load_der_x509_certificate(base64.b64decode(named)).serial_number:X}"
    except ValueError:
        was = "unreadable"
    node.text = own
    return duis.to_bytes(root), f"DeviceCertificate ({was}) -> serial {serial}, {why}"


__all__ = [
    "ISSUE_CREDENTIALS",
    "SRVS",
    "UPDATE_DEVICE_CERTIFICATE",
    "certification_request",
    "fill",
    "put_device_certificate",
    "reissued_utrn",
    "users_keys",
]
