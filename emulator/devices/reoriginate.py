"""Re-originate a GBCS command as another remote party: same payload, that party as business
originator, signed with its DS key, MAC'd by the ACB as the DCC would.

RTDS predates SECMP0046, so it has no Network Operator SRV 7.5-7.8: this builds them. It
also turns an RTDS join or unjoin into the same command for another device (`edit`, `target`).
"""

from __future__ import annotations

from collections.abc import Callable

from construct import Container  # type: ignore[import-untyped]
from cryptography.hazmat.primitives.asymmetric import ec

from gbcs import decode
from gbcs.keystore import Keystore
from gbcs.message import encode_apdu
from gbcs.payload import encode as encode_payload
from gbcs.security import mac_apdu, sign


def reoriginate(
    command: bytes,
    originator: bytes,
    signer: ec.EllipticCurvePrivateKey | None,
    keystore: Keystore,
    counter: int | None = None,
    *,
    target: bytes | None = None,
    edit: Callable[[Container], None] | None = None,
) -> bytes:
    """The command from `originator` (signed when the original was and `signer` is given);
    `target` readdresses it, `edit(payload)` changes the decoded payload in place."""
    message = decode(command)
    header = Container(message.header)
    header.originator = bytes(originator)
    if target is not None:
        header.target = bytes(target)
    header.transaction_id = Container(
        cra=message.header.transaction_id.cra,
        counter=message.counter if counter is None else counter,
    )
    if edit is not None:
        edit(message.payload)
    content = encode_payload(message.payload_kind, message.payload)
    if message.signature and signer is not None:
        apdu = sign(encode_apdu(header, content, None), signer)
    else:
        apdu = encode_apdu(header, content, b"")
    return mac_apdu(apdu, keystore)
