"""What the security checks read of a message and what they say, as plain values: no
cryptography and no codec, so that a check's two processes can pass them between them
(gbcs.verifier). The checks themselves are gbcs.security's.

- SecurityInputs: every byte and number the signature, MAC and decryption checks read of
  a decoded message (Message.security_inputs), taken once.
- CheckResult and SecurityReport: each check's outcome, verified / failed / unverifiable
  (a key is missing, named, or its certificate is outside its validity at the keystore's
  clock: `cause` says which) / not-applicable.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from .record import FrozenRecord, Record

VERIFIED = "verified"
FAILED = "failed"
UNVERIFIABLE = "unverifiable"
NOT_APPLICABLE = "not-applicable"

# why a lookup found no usable key: none held, or held but outside its validity at the clock
NO_KEY = "no-key"
EXPIRED = "certificate-expired"
NOT_YET_VALID = "certificate-not-yet-valid"

FRAGMENT_HEADER = bytes.fromhex("3100000000")  # encrypted fragment's security header


class SecurityInputs(NamedTuple):
    """What the security checks read of one message (Message.security_inputs).

    A tuple, not a record: it is made for every message a check decodes and crosses to
    the verifying process as the built-in tuple marshal carries (`tuple(inputs)`).
    `mac_header`: the DD envelope's (security control, invocation counter), None when the
    message has no envelope; `encryption`: the (originator, counter, recipient) its
    fragments' keys are derived for, None when it holds none."""

    apdu: bytes
    signature: bytes | None
    originator: bytes
    target: bytes
    cra_flag: int
    counter: int
    mac: bytes | None
    mac_header: tuple[int, int] | None
    fragments: tuple[bytes, ...] = ()
    encryption: tuple[bytes, int, bytes] | None = None

    @property
    def needs_keys(self) -> bool:
        """Whether any check applies (a signature, a MAC or an encrypted part): if not,
        every check is not-applicable, with no keystore (no_protection)."""
        return bool(self.signature) or self.has_mac or bool(self.fragments)

    @property
    def has_mac(self) -> bool:
        return self.mac_header is not None and self.mac is not None


class CheckResult(FrozenRecord):
    """One check's outcome; `key` names the key used (verified) or missing (unverifiable)."""

    FIELDS = ("check", "status", "reason", "key", "cause")
    check: str
    status: str
    reason: str
    key: str
    cause: str  # unverifiable: why (NO_KEY, EXPIRED or NOT_YET_VALID)

    def __init__(
        self, check: str, status: str, reason: str = "", key: str = "", cause: str = ""
    ) -> None:
        vars(self).update(check=check, status=status, reason=reason, key=key, cause=cause)

    def __str__(self) -> str:
        extra = f": {self.reason}" if self.reason else ""
        return f"{self.check} {self.status}{extra}"

    def as_dict(self) -> dict[str, str]:
        out = {"check": self.check, "status": self.status, "reason": self.reason, "key": self.key}
        if self.cause:
            out["cause"] = self.cause
        return out


class SecurityReport(Record):
    """Every security check for one message."""

    FIELDS = ("signature", "mac", "decryption")

    def __init__(
        self,
        signature: CheckResult,
        mac: CheckResult,
        decryption: list[CheckResult] | None = None,
    ) -> None:
        self.signature = signature
        self.mac = mac
        self.decryption: list[CheckResult] = [] if decryption is None else decryption

    @property
    def checks(self) -> list[CheckResult]:
        return [self.signature, self.mac, *self.decryption]

    @property
    def failed(self) -> bool:
        return any(c.status == FAILED for c in self.checks)

    @property
    def outcome(self) -> str:
        """failed > unverifiable > verified > not-applicable, over all checks."""
        statuses = {c.status for c in self.checks}
        for status in (FAILED, UNVERIFIABLE, VERIFIED):
            if status in statuses:
                return status
        return NOT_APPLICABLE

    def __str__(self) -> str:
        return "; ".join(str(c) for c in self.checks)

    def as_dict(self) -> dict[str, object]:
        return {
            "outcome": self.outcome,
            "signature": self.signature.as_dict(),
            "mac": self.mac.as_dict(),
            "decryption": [c.as_dict() for c in self.decryption],
        }

    def values(self) -> tuple[Any, ...]:
        """Built-in values (for marshal), which report_from_values makes a report again."""
        return tuple(check._values() for check in self.checks)


def report_from_values(values: tuple[Any, ...]) -> SecurityReport:
    signature, mac, *decryption = values
    return SecurityReport(
        CheckResult(*signature), CheckResult(*mac), [CheckResult(*d) for d in decryption]
    )


def no_protection() -> SecurityReport:
    """The report of a message that carries no signature, MAC or encrypted part."""
    return SecurityReport(
        CheckResult("signature", NOT_APPLICABLE), CheckResult("mac", NOT_APPLICABLE)
    )
