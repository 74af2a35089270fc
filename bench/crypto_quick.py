"""Quick crypto figures: raw `cryptography` P-256 against gbcs.security's wrappers, the
keystore load time, and security checks per second over RTDS (framing only, no payload
decode). Prints; asserts nothing. Run: .venv/bin/python bench/crypto_quick.py
"""

import datetime as dt
import sys
import time
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from emulator import data  # noqa: E402
from gbcs import framing, security  # noqa: E402
from gbcs.keystore import Keystore  # noqa: E402
from gbcs.primitives import parse_layer  # noqa: E402

RTDS = data.rtds()
RTDS_KEYS = data.rtds_keystore()
CLOCK = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)


def rate(label: str, func, seconds: float = 1.0) -> float:
    """Calls per second of func() over about `seconds`."""
    count, start = 0, time.perf_counter()
    while True:
        for _ in range(50):
            func()
        count += 50
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            break
    per_second = count / elapsed
    print(f"{label:<44} {per_second:>10,.0f} /s")
    return per_second


class Framed:
    """The attributes check_message reads, from framing alone (no payload layers needed)."""

    def __init__(self, data: bytes):
        self.envelope = self.mac = None
        apdu = data
        if data[0] == 0xDD:
            self.envelope = parse_layer(framing.GeneralCiphering, data, "general-ciphering")
            information = self.envelope.ciphered_service.information
            apdu, self.mac = information[:-12], information[-12:]
        header = parse_layer(framing.GeneralSigning, apdu, "general-signing")
        self.apdu, self.signature = apdu, header.signature
        self.cra_flag = int(header.transaction_id.cra)
        self.counter = header.transaction_id.counter
        self.originator, self.target = header.originator, header.target
        self.other_information = header.other_information
        self.decrypted = []


def main() -> None:
    data = b"\xdf\x09" + bytes(120)
    private = ec.generate_private_key(ec.SECP256R1())
    public = private.public_key()
    peer = ec.generate_private_key(ec.SECP256R1()).public_key()
    ecdsa = ec.ECDSA(hashes.SHA256())
    der = private.sign(data, ecdsa)
    raw = security.sign_data(data, private)

    print("-- P-256, one core")
    raw_verify = rate("cryptography verify (DER)", lambda: public.verify(der, data, ecdsa))
    ours_verify = rate(
        "security.verify_data (r||s)", lambda: security.verify_data(data, raw, public)
    )
    raw_sign = rate("cryptography sign (DER)", lambda: private.sign(data, ecdsa))
    ours_sign = rate("security.sign_data (r||s)", lambda: security.sign_data(data, private))
    rate("cryptography ECDH exchange", lambda: private.exchange(ec.ECDH(), peer))
    rate("security.shared_secret (cached Z)", lambda: security.shared_secret(private, peer))
    key = security.kdf(bytes(32), bytes(33))
    rate("security.kdf + compute_mac (133-byte APDU)", lambda: security.compute_mac(
        data, security.kdf(bytes(32), bytes(33)), bytes(8)))  # fmt: skip
    fragment = security.encrypt_fragment(bytes(40), key, bytes(8))
    rate("security.decrypt_fragment (40 bytes)", lambda: security.decrypt_fragment(
        fragment, key, bytes(8)))  # fmt: skip
    print(
        f"verify overhead x{raw_verify / ours_verify:.2f}, sign overhead x{raw_sign / ours_sign:.2f}"
    )

    print("-- keystore")
    start = time.perf_counter()
    store = Keystore(CLOCK).load(RTDS_KEYS)
    files = len(list(RTDS_KEYS.iterdir()))
    print(
        f"load rtds/keystore ({files} files, {len(store)} keys)   {time.perf_counter() - start:.3f} s"
    )

    print("-- check_message over RTDS (framing-level view; payload decode not included)")
    messages = [Framed(bytes.fromhex(p.read_text().strip())) for p in sorted(RTDS.rglob("*.HEX"))]
    for message in messages:  # warm the Z cache, as a long-running checker would be
        security.check_message(message, store, fragments=[])
    start = time.perf_counter()
    rounds = 3
    for _ in range(rounds):
        for message in messages:
            security.check_message(message, store, fragments=[])
    elapsed = time.perf_counter() - start
    print(
        f"{'security checks (signature + MAC)':<44} {rounds * len(messages) / elapsed:>10,.0f} msg/s"
    )


if __name__ == "__main__":
    main()
