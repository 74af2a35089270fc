"""What the catalogue's device tests share: RTDS files, running commands through a fresh RTDS
premises on a simulated clock, re-sending an RTDS command with another counter, and the
catalogue's users against an in-process DSP."""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import re
from pathlib import Path

from emulator import data
from emulator.backoffice import catalogue, duis, xmlsig
from emulator.backoffice.assembly import DEFAULT_GBCS_DATE
from emulator.backoffice.users import Endpoint, HttpTransport
from emulator.clock import Clock
from emulator.devices.premises import Premises
from gbcs import decode
from gbcs.asn1 import encode_tree
from gbcs.keystore import Keystore
from gbcs.message import encode_apdu
from gbcs.security import mac_apdu, sign

RTDS = data.rtds()
CATALOGUE = data.duis_catalogue()
#: a credentials template's certificate elements, in the order GBCS's replacements list them
CERTIFICATES = ("DigitalSigningCertificate", "KeyAgreementCertificate",
                "KeyAgreementTopUpCertificate")  # fmt: skip
#: the time RTDS's date-stamped responses carry
RTDS_TIME = dt.datetime(2015, 1, 1, tzinfo=dt.UTC)


def read_hex(path: Path) -> bytes:
    return bytes.fromhex(path.read_text().strip())


def rtds_success(use_case: str, kind: str = "COMMAND") -> Path:
    """The first SUCCESS file of `kind` in the use case's RTDS folder (SINGLE before TWIN)."""
    return sorted(RTDS.glob(f"*_{use_case}/*_SUCCESS_{kind}_GBCS.HEX"))[0]


def execute(keys, commands: list[bytes], profile: dict | None = None, before=None):
    """The commands, one after another, through one fresh premises: (executions, premises).
    `before(premises)`, a coroutine, runs first (faults, clock)."""
    clock = Clock("simulated")

    async def run():
        premises = await Premises.start(clock, keys=keys, profile=profile)
        premises.esme.set_time(RTDS_TIME)
        if before is not None:
            await before(premises)
        try:
            return [await premises.execute(c) for c in commands], premises
        finally:
            await premises.close()

    return clock.run(run)


def recounted(keys, raw: bytes, counter: int) -> bytes:
    """An RTDS command sent again with another counter: re-signed by its originator where it
    was signed, re-MAC'd (the keystore holds both key pairs)."""
    message = decode(raw)
    header = message.header
    header.transaction_id.counter = counter
    end = len(message.apdu) - (0 if message.signature is None else 1 + len(message.signature))
    content = bytes(message.apdu[message.content_offset - message.apdu_offset : end])
    if message.signature:
        apdu = sign(encode_apdu(header, content, None), keys.signer(bytes(message.originator)))
    else:
        apdu = encode_apdu(header, content, b"")
    return mac_apdu(apdu, keys.keystore)


@contextlib.asynccontextmanager
async def catalogue_session(state_dir: Path, carried_smki: bool = False):
    """The catalogue's users against an in-process DSP (run_catalogue's wiring, without its
    ordering): (runner, served, users), the runner sending templates in the order given, its
    Carried asking the run's SMKI service for a device's certificate when `carried_smki`."""
    keystore = data.dccboxed_keystore()
    keys = Keystore.open(keystore, clock=DEFAULT_GBCS_DATE)
    trusted = xmlsig.TrustedCertificates.from_keystore(Keystore.open(keystore))
    schema = duis.load_schema(str(data.duis_schema()))
    verify = Keystore.open(data.rtds_keystore(), clock=DEFAULT_GBCS_DATE)
    async with catalogue.serve_in_process(state_dir, Clock("wall")) as served:
        transport = HttpTransport(served.url)
        users = catalogue.catalogue_users(keys, schema, trusted, transport)
        endpoints = []
        try:
            for user in catalogue.distinct(users):  # a user ID holds several roles
                endpoint = Endpoint(user)
                served.set_endpoint(user.eui, await endpoint.start("127.0.0.1", 0))
                endpoints.append(endpoint)
            verifier = catalogue.DeviceVerifier(served.smki_url, verify)
            carried = catalogue.Carried(smki_url=served.smki_url if carried_smki else None)
            yield catalogue.Runner(users, verifier, timeout_s=20.0, carried=carried), served, users
        finally:
            await transport.close()
            for endpoint in endpoints:
                await endpoint.stop()


def with_rtds_certificates(template: bytes, fields, strict: bool = False) -> bytes:
    """A credentials template (6.15.1, 6.21, 6.23 …) with the replacement and
    certification-path certificates of RTDS's command (its payload `fields`) in it; `strict`:
    the command replaces every certificate element the template has."""
    certs = [encode_tree(r["children"][0]) for r in fields.replacements["children"]]
    [path] = [encode_tree(c) for c in fields.certification_path_certificates["children"]]
    text = template.decode()
    for name, der in zip(CERTIFICATES, certs, strict=strict):
        text = re.sub(f"(<sr:{name}>)[^<]*(</sr:{name}>)",
                      lambda m, d=der: m.group(1) + base64.b64encode(d).decode() + m.group(2),
                      text)  # fmt: skip
    return re.sub("(<sr:Certificate>)[^<]*(</sr:Certificate>)",
                  lambda m: m.group(1) + base64.b64encode(path).decode() + m.group(2),
                  text).encode()  # fmt: skip
