"""One error hierarchy for the codec, so callers catch GbcsError and nothing else.

Every error names the protocol layer it came from and, for decoding, the byte offset in the
whole message where the problem was found.
"""


class GbcsError(Exception):
    """Base of every error the codec raises on bad input or failed checks."""

    def __init__(self, layer: str, message: str, offset: int | None = None):
        self.layer = layer
        self.offset = offset
        self.detail = message
        where = f" at byte {offset} (0x{offset:X})" if offset is not None else ""
        super().__init__(f"{layer}{where}: {message}")


class DecodeError(GbcsError):
    """The bytes do not form a valid message at this layer."""


class EncodeError(GbcsError):
    """A message tree cannot be turned into bytes (missing or out-of-range field)."""


class VerificationError(GbcsError):
    """A signature, MAC or decryption check ran and failed."""


class KeyMissing(GbcsError):
    """A check cannot run because no keystore holds the key it needs (never a pass)."""

    # set by the keystore's lookups: whose key, and which (e.g. "KA public key")
    eui: bytes
    what: str
    cause: str = "no-key"  # or "certificate-expired" / "certificate-not-yet-valid"


class KeystoreError(GbcsError):
    """A keystore file or certificate could not be loaded."""


class InputError(GbcsError):
    """A command-line source is neither a message file, a folder, hex, base64 nor stdin."""
