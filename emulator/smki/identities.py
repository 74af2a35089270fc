"""Device identities that outlive a process: certificates issued once by the repository's test
Device CA, lodged in the repository the SMKI service serves, and found again after a restart.

A device's private key is derived from the test PKI's secret seed (`TestPki.device_key`), and
the seed is kept in the repository database with the CA keys, so the state directory holding
the database holds every device's key pair. Certificates are signed with a random ECDSA nonce,
so they are stored, not re-issued: a restart serves and uses the byte-identical certificate.

When a device is given a gbhan identity, the certificates other sources lodged for the same
EUI and usage (RTDS's device certificates, whose private keys nobody has) are set to "not in
use", so a client that searches the repository for the in-use certificate finds the one the
device signs with.
"""

from __future__ import annotations

import datetime as dt
import threading

from cryptography.hazmat.primitives.asymmetric import ec

from .errors import SmkiError
from .population import load_test_pki
from .records import DEVICE, IN_USE, NOT_IN_USE, Record, epoch
from .sources import TEST_NETWORK_OPERATOR, TEST_SUPPLIER
from .store import Repository
from .testpki import TestPki

#: device certificates start here, so meters whose clocks sit at RTDS's dates accept them
DEVICE_CERT_START = dt.datetime(2014, 1, 1, tzinfo=dt.UTC)
_META = "identity.{eui}.{usage}"


class DeviceIdentities:
    """Key pairs and certificates of emulated devices, kept in an SMKI repository."""

    def __init__(self, repo: Repository, now: dt.datetime) -> None:
        self.repo = repo
        self.now = now
        self.pki: TestPki = load_test_pki(repo, now)
        self._lock = threading.Lock()

    def private_key(self, eui: bytes, usage: str) -> ec.EllipticCurvePrivateKey:
        """The device's private key (derived from the stored seed, never written out)."""
        return self.pki.device_key(_eui(eui), usage)

    def certificate(self, eui: bytes, usage: str) -> bytes:
        """The DER certificate of the device's key for `usage` (DS or KA): the stored one,
        or issued and lodged now (and the EUI's other in-use certificates of that usage
        retired)."""
        eui = _eui(eui)
        key = _META.format(eui=eui.hex().upper(), usage=usage)
        with self._lock:
            held = self.repo.get_meta(key)
            if held is not None:
                record = self.repo.get(str(held))
                if record is None:
                    raise SmkiError(f"identity {key} names serial {held}, which is not lodged")
                return record.body
            return self._issue(eui, usage, key)

    def serial(self, eui: bytes, usage: str) -> int:
        """The serial of the device's certificate for `usage` (issued if need be)."""
        self.certificate(eui, usage)
        held = self.repo.get_meta(_META.format(eui=_eui(eui).hex().upper(), usage=usage))
        return int(str(held), 16)

    def _issue(self, eui: bytes, usage: str, key: str) -> bytes:
        serial, der = self.pki.issue_device(eui, usage, DEVICE_CERT_START)
        at = max(epoch(self.now), self.repo.last_change_at() or 0)
        retired = [
            r.serial
            for r in self.repo.search(eui, device=True)
            if r.usage == usage and r.status == IN_USE
        ]
        self.repo.add(
            Record(
                serial=serial,
                kind=DEVICE,
                eui=eui,
                role=None,
                usage=usage,
                status=IN_USE,
                manufacturing=False,
                body=der,
                party=TEST_SUPPLIER,
                network_party=TEST_NETWORK_OPERATOR,
                issued_at=epoch(DEVICE_CERT_START),
            ),
            at,
            source="gbhan-identity",
        )
        if retired:
            self.repo.set_statuses(retired, NOT_IN_USE, at)
        self.repo.set_meta(key, format(serial, "X"))
        return der


def _eui(eui: bytes | str) -> bytes:
    value = bytes.fromhex(eui.replace("-", "")) if isinstance(eui, str) else bytes(eui)
    if len(value) != 8:
        raise SmkiError(f"an EUI-64 is 8 bytes, not {len(value)}")
    return value
