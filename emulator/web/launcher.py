"""The console's request launcher: a template of the DCC's DUIS catalogue, sent as one of the
DSP's users to a device, with the body's values edited, through the DSP's own HTTP interface
as any DCC user's request (so it is logged, checked and answered like one).

The launcher holds DCC Boxed's users' keys (their XML-signing pairs, and the GBCS signing
pair the emulated devices trust for the critical round trip); a user whose keys the keystore
lacks is listed but cannot send. `tamper="signature"` spoils the request's XML signature
after signing, to see the DSP refuse it (E41).
"""

from __future__ import annotations

import base64
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec
from lxml import etree

from emulator.backoffice import duis, xmlsig
from emulator.backoffice.catalogue import Template, load_catalogue
from emulator.backoffice.dsp import Dsp
from emulator.backoffice.keychoice import DeviceTrust
from emulator.backoffice.users import DuisUser, HttpTransport, RoundTripFailed
from emulator.errors import EmulatorError
from gbcs.errors import GbcsError
from gbcs.keystore import Keystore

TAMPERS = ("none", "signature")
_DS = "http://www.w3.org/2000/09/xmldsig#"


class LaunchError(EmulatorError, ValueError):
    """A launch the console cannot make (unknown template, user, device or field)."""


@dataclass(frozen=True)
class Sender:
    """A user the launcher can sign for."""

    eui: bytes
    name: str
    role: str
    xml_signer: xmlsig.Signer | None
    gbcs_key: ec.EllipticCurvePrivateKey | None

    def as_dict(self) -> dict[str, Any]:
        return {"eui": self.eui.hex("-").upper(), "name": self.name, "role": self.role,
                "can_send": self.xml_signer is not None,
                "can_sign_critical": self.gbcs_key is not None}  # fmt: skip


def _local(node: etree._Element) -> str:
    return etree.QName(node).localname


def fields_of(body: etree._Element) -> list[dict[str, str]]:
    """The values of an SRV body a person edits: each leaf element's text and each
    attribute, addressed by child positions from the body element ("0.1", "0.1@index")."""
    out: list[dict[str, str]] = []

    def walk(node: etree._Element, path: str, label: str) -> None:
        for key, value in sorted((str(k), str(v)) for k, v in node.attrib.items()):
            out.append({"path": f"{path}@{key}", "label": f"{label}/@{key}", "value": value})
        children = [c for c in node if isinstance(c.tag, str)]
        if not children and node.text is not None and node.text.strip():
            out.append({"path": path, "label": label, "value": node.text.strip()})
        for i, child in enumerate(children):
            walk(child, f"{path}.{i}" if path else str(i), f"{label}/{_local(child)}")

    walk(body, "", _local(body))
    return out


def _apply(body: etree._Element, path: str, value: str) -> None:
    where, _, attribute = path.partition("@")
    node = body
    for part in where.split(".") if where else []:
        children = [c for c in node if isinstance(c.tag, str)]
        try:
            node = children[int(part)]
        except (ValueError, IndexError):
            raise LaunchError(f"no field {path!r} in this template") from None
    if attribute:
        if attribute not in node.attrib:
            raise LaunchError(f"no field {path!r} in this template")
        node.set(attribute, value)
    else:
        node.text = value


def spoil_signature(signed: bytes) -> bytes:
    """The document with one bit of its XML SignatureValue flipped."""
    root = duis.parse(signed)
    node = root.find(f".//{{{_DS}}}SignatureValue")
    if node is None or not node.text:
        raise LaunchError("the request has no signature to spoil")
    raw = bytearray(base64.b64decode(node.text))
    raw[-1] ^= 0x01
    node.text = base64.b64encode(bytes(raw)).decode()
    return duis.to_bytes(root)


class Launcher:
    """Templates, users and the send itself, against the DSP at `duis_url`."""

    def __init__(
        self,
        dsp: Dsp,
        keystore: Keystore,
        duis_url: str,
        catalogue: Path | None = None,
    ) -> None:
        self.dsp, self.keystore, self.duis_url = dsp, keystore, duis_url
        self._templates = {t.name: t for t in load_catalogue(catalogue)}
        self._transport = HttpTransport(duis_url) if duis_url else None
        self._trust = DeviceTrust.rtds()
        self._senders: dict[bytes, Sender] = {}
        self._counter = int(time.time() * 1000) * 1000

    def set_duis_url(self, url: str) -> None:
        self.duis_url = url
        self._transport = HttpTransport(url)

    # --- what can be sent -----------------------------------------------------------------
    def templates(self) -> list[dict[str, Any]]:
        return [self._summary(t) for t in sorted(self._templates.values(), key=_srv_order)]

    @staticmethod
    def _summary(t: Template) -> dict[str, Any]:
        return {"name": t.name, "srv": t.srv, "variant": t.command_variant,
                "role": t.role.value, "target": t.target.hex("-").upper()}  # fmt: skip

    def template(self, name: str) -> dict[str, Any]:
        t = self._get(name)
        root = duis.parse(t.path.read_bytes())
        request = duis.parse_request(root)
        return self._summary(t) | {"fields": fields_of(request.body)}

    def _get(self, name: str) -> Template:
        t = self._templates.get(name)
        if t is None:
            raise LaunchError(f"no template {name!r}")
        return t

    def sender(self, eui: bytes) -> Sender:
        if eui not in self._senders:
            user = self.dsp.users.get(eui)
            if user is None:
                raise LaunchError(f"no user {eui.hex('-').upper()}")
            signer = gbcs_key = None
            try:
                signer = xmlsig.signer_from_keystore(self.keystore, eui)
            except (xmlsig.XmlSignatureError, GbcsError):
                signer = None
            try:
                gbcs_key = self._trust.signing_key(self.keystore, eui)
            except GbcsError:
                try:
                    gbcs_key = self.keystore.ds_private_key(eui)
                except GbcsError:
                    gbcs_key = None
            self._senders[eui] = Sender(eui, user.name, user.role.value, signer, gbcs_key)
        return self._senders[eui]

    def senders(self) -> list[dict[str, Any]]:
        return [self.sender(bytes(u.eui)).as_dict()
                for u in sorted(self.dsp.users, key=lambda u: bytes(u.eui))]  # fmt: skip

    # --- sending ----------------------------------------------------------------------------
    def build(
        self, name: str, user: bytes, target: bytes | None, fields: dict[str, str], tamper: str
    ) -> tuple[bytes, Sender]:
        """The request as `user` sends it: the template with `fields` applied, addressed to
        `target`, a fresh counter, signed (and spoilt when `tamper` says so)."""
        if tamper not in TAMPERS:
            raise LaunchError(f"tamper is one of {', '.join(TAMPERS)}")
        t = self._get(name)
        sender = self.sender(user)
        if sender.xml_signer is None:
            raise LaunchError(f"no XML-signing key for {sender.name} in the keystore")
        root = duis.parse(t.path.read_bytes())
        request = duis.parse_request(root)
        for path, value in fields.items():
            _apply(request.body, path, str(value))
        rid = request.request_id
        self._counter += 1
        node = root.find(f"{{{duis.SR}}}Header/{{{duis.SR}}}RequestID")
        assert node is not None  # parse_request read it
        node.text = str(duis.RequestId(user, target or rid.target, self._counter))
        signed = duis.to_bytes(xmlsig.sign(root, sender.xml_signer))
        if tamper == "signature":
            signed = spoil_signature(signed)
        return signed, sender

    async def send(
        self,
        name: str,
        user: bytes,
        target: bytes | None = None,
        fields: dict[str, str] | None = None,
        tamper: str = "none",
    ) -> dict[str, Any]:
        """Send it (the critical round trip where the template is variant 4) and return the
        request id and the DSP's immediate answers; the device's response arrives later at
        the user's endpoint, and in the log."""
        if self._transport is None:
            raise LaunchError("the launcher does not know the DSP's URL yet")
        body, sender = self.build(name, user, target, fields or {}, tamper)
        request = duis.parse_request(duis.parse(body))
        if request.command_variant == 4 and sender.gbcs_key is None:
            raise LaunchError(f"no GBCS signing key for {sender.name}: it cannot send "
                              "critical commands")  # fmt: skip
        registered = self.dsp.users.get(sender.eui)
        if registered is None or sender.xml_signer is None:  # build() checked both
            raise LaunchError(f"{sender.name} cannot send")
        # a user without a GBCS key sends only non-critical requests, which never use one
        client = DuisUser(
            sender.name, sender.eui, registered.role,
            sender.xml_signer, sender.gbcs_key or ec.generate_private_key(ec.SECP256R1()),
            self.dsp.schema, self.dsp.trusted, self._transport,
        )  # fmt: skip
        try:
            answers = await client.submit(body)
        except (RoundTripFailed, duis.DuisError, OSError) as exc:
            return {"request_id": str(request.request_id), "answers": [],
                    "error": f"{type(exc).__name__}: {exc}"}  # fmt: skip
        return {
            "request_id": str(request.request_id),
            "answers": [{"source": a.source, "code": a.code} for a in answers],
            "error": None,
        }

    async def close(self) -> None:
        if self._transport is not None:
            await self._transport.close()


def _srv_order(t: Template) -> tuple:
    return (tuple(int(p) if p.isdigit() else 0 for p in t.srv.split(".")), t.name)
