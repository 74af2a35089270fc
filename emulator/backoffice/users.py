"""DCC users' side: a DNO and a Supplier back office that build DUIS requests, sign them
(XML signature with their DCC Boxed XML-signing key), run the critical round trip (sign the
returned pre-command with their GBCS key), and receive the DSP's responses and alerts on their
own endpoint, checking each (schema and the DSP's signature) before using it.
"""

from __future__ import annotations

import asyncio
import base64
import logging
from dataclasses import dataclass, field

import aiohttp
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import ec
from lxml import etree

from emulator.clock import loop_seconds
from emulator.errors import EmulatorError
from gbcs.keystore import Keystore
from gbcs.security import sign as gbcs_sign

from . import document, duis, xmlsig
from .eligibility import DuisRole
from .keychoice import DeviceTrust
from .registry import DNO_EUI, SUPPLIER_EUI

log = logging.getLogger(__name__)

XML = "application/xml"
ROLES = {"supplier": (SUPPLIER_EUI, DuisRole.IMPORT_SUPPLIER),
         "dno": (DNO_EUI, DuisRole.ELECTRICITY_DISTRIBUTOR)}  # fmt: skip
DEFAULT_ENDPOINT_PORTS = {"supplier": 8090, "dno": 8091}


class RoundTripFailed(EmulatorError, RuntimeError):
    """The DSP refused a step or its answer could not be trusted."""


@dataclass(frozen=True)
class Answer:
    """One DUIS document the user received, checked: where from, its code, the XML."""

    source: str  # serviceT | serviceS | serviceD | endpoint
    code: str
    request_id: str | None
    kind: duis.DocumentKind
    xml: bytes
    root: etree._Element = field(repr=False, compare=False, hash=False)

    @property
    def gbcs_payload(self) -> bytes | None:
        node = self.root.find(f".//{{{duis.SR}}}GBCSPayload")
        return None if node is None else base64.b64decode(node.text or "")


_ALERT_KINDS = {
    "DeviceAlertMessage": duis.DocumentKind.DEVICE_ALERT,
    "DCCAlertMessage": duis.DocumentKind.DCC_ALERT,
}


def _classify(root: etree._Element) -> duis.DocumentKind:
    body = root.find(f"{{{duis.SR}}}Body")
    tag = etree.QName(body[0]).localname if body is not None and len(body) else ""
    return _ALERT_KINDS.get(tag, duis.DocumentKind.RESPONSE)


class HttpTransport:
    """POSTs requests to a DSP's `/api/v1/<endpoint>`."""

    def __init__(self, base_url: str, timeout_s: float = 30.0):
        self.base_url = base_url.rstrip("/")
        self.timeout_s = timeout_s
        self._session: aiohttp.ClientSession | None = None

    async def post(self, endpoint: str, body: bytes) -> bytes:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession()
        # real seconds, whatever the DSP clock's pace now (the console sends through this)
        timeout = aiohttp.ClientTimeout(total=loop_seconds(self.timeout_s))
        url = f"{self.base_url}/api/v1/{endpoint}"
        async with self._session.post(
            url, data=body, headers={"Content-Type": XML}, timeout=timeout
        ) as reply:
            data = await reply.read()
            if reply.status != 200:
                raise RoundTripFailed(f"{url}: HTTP {reply.status} {data[:200]!r}")
            return data

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()


class InProcessTransport:
    """The same calls straight into a Dsp object (feeder scenarios, benchmarks)."""

    def __init__(self, dsp):
        self.dsp = dsp

    async def post(self, endpoint: str, body: bytes) -> bytes:
        return await self.dsp.handle(endpoint, body)

    async def close(self) -> None:
        return None


class DuisUser:
    """A DCC user (DNO or Supplier): its EUI, XML-signing key and GBCS signing key."""

    def __init__(
        self,
        name: str,
        eui: bytes,
        role: DuisRole,
        xml_signer: xmlsig.Signer,
        gbcs_key: ec.EllipticCurvePrivateKey,
        schema: duis.DuisSchema,
        trusted: xmlsig.TrustedCertificates,
        transport,
    ):
        self.name, self.eui, self.role = name, bytes(eui), role
        self.xml_signer, self.gbcs_key = xml_signer, gbcs_key
        self.schema, self.trusted, self.transport = schema, trusted, transport
        self.received: list[Answer] = []
        self.refused_documents = 0
        self._arrived = asyncio.Condition()

    # --- requests ------------------------------------------------------------------------
    def prepare(self, request_xml: bytes, counter: int | None = None) -> bytes:
        """The request as this user sends it: originator set to its EUI (and the counter, if
        given), any signature replaced by its own."""
        root = duis.parse(request_xml)
        duis.set_originator(root, self.eui, counter)
        return duis.to_bytes(xmlsig.sign(root, self.xml_signer))

    def check(self, data: bytes, source: str) -> Answer:
        """A DSP document checked against the schema and the DSP's signature."""
        try:
            checked = document.check(data, self.schema, self.trusted, require_signature=True)
        except document.Refused as exc:
            raise RoundTripFailed(f"{source}: DSP answer refused: {exc}") from None
        root = checked.root
        rid = root.findtext(f"{{{duis.SR}}}Header/{{{duis.SR}}}RequestID")
        return Answer(source, duis.response_code_of(root) or "", rid, _classify(root), data, root)

    async def submit(self, signed_request: bytes) -> list[Answer]:
        """Runs the synchronous part of the round trip: for a critical request (variant 4)
        transform → sign the pre-command → send as variant 5; else send. Every synchronous
        answer, in order; stops at the first E code."""
        request = duis.parse_request(duis.parse(signed_request))
        answers: list[Answer] = []
        if request.command_variant == 4:
            first = self.check(await self.transport.post("serviceT", signed_request), "serviceT")
            answers.append(first)
            if first.code != "I0":
                return answers
            precommand = first.root.find(f".//{{{duis.SR}}}PreCommand/{{{duis.SR}}}GBCSPayload")
            if precommand is None:
                raise RoundTripFailed("serviceT answered I0 without a PreCommand")
            signed = gbcs_sign(base64.b64decode(precommand.text or ""), self.gbcs_key)
            variant5 = duis.build_signed_precommand_request(request, signed)
            body = duis.to_bytes(xmlsig.sign(variant5, self.xml_signer))
            answers.append(self.check(await self.transport.post("serviceS", body), "serviceS"))
            return answers
        endpoint = "serviceD" if request.command_variant in (2, 6, 8) else "serviceS"
        answers.append(self.check(await self.transport.post(endpoint, signed_request), endpoint))
        return answers

    async def run(self, signed_request: bytes, timeout_s: float = 60.0) -> list[Answer]:
        """`submit`, then wait for the device's response on the endpoint (final answer)."""
        answers = await self.submit(signed_request)
        if answers and answers[-1].code == "I99":
            rid = str(duis.parse_request(duis.parse(signed_request)).request_id)
            answers.append(await self.wait_for(rid, duis.DocumentKind.RESPONSE, timeout_s))
        return answers

    # --- the endpoint ----------------------------------------------------------------------
    async def receive(self, data: bytes) -> bool:
        """One document POSTed to this user's endpoint; False (and counted) if refused."""
        try:
            answer = self.check(data, "endpoint")
        except RoundTripFailed as exc:
            self.refused_documents += 1
            log.warning("%s endpoint refused a document: %s", self.name, exc)
            return False
        async with self._arrived:
            self.received.append(answer)
            self._arrived.notify_all()
        return True

    async def wait_for(
        self, request_id: str | None, kind: duis.DocumentKind | str, timeout_s: float
    ) -> Answer:
        def found():
            return next(
                (a for a in self.received
                 if a.kind == kind and (request_id is None or a.request_id == request_id)),
                None,
            )  # fmt: skip

        async with self._arrived:
            await asyncio.wait_for(self._arrived.wait_for(lambda: found() is not None), timeout_s)
            return found()


class Endpoint:
    """A user's HTTP response endpoint: accepts POSTs of signed DUIS documents."""

    def __init__(self, user: DuisUser):
        self.user = user
        self.runner: web.AppRunner | None = None
        self.url: str | None = None

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        app = web.Application(client_max_size=(1 << 20) + 65536)

        async def post(request: web.Request) -> web.Response:
            ok = await self.user.receive(await request.read())
            return web.Response(status=200 if ok else 400)

        app.router.add_post("/{tail:.*}", post)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, host, port)
        await site.start()
        server = site._server  # aiohttp keeps the asyncio server here
        assert isinstance(server, asyncio.Server)
        bound = server.sockets[0].getsockname()[1]
        self.url = f"http://{host}:{bound}/"
        return self.url

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()


class Deliveries:
    """In-process delivery to several users by EUI (the DSP's `delivery` without HTTP)."""

    def __init__(self, *users: DuisUser):
        self.users = {u.eui: u for u in users}

    async def deliver(self, user, document_: bytes, kind: duis.DocumentKind) -> bool:
        client = self.users.get(bytes(user.eui))
        return False if client is None else await client.receive(document_)


_RTDS_TRUST: list[DeviceTrust] = []


def _default_trust() -> DeviceTrust:
    if not _RTDS_TRUST:
        _RTDS_TRUST.append(DeviceTrust.rtds())
    return _RTDS_TRUST[0]


def make_user(
    name: str,
    keystore: Keystore,
    schema: duis.DuisSchema,
    trusted: xmlsig.TrustedCertificates,
    transport,
    trust: DeviceTrust | None = None,
) -> DuisUser:
    """'supplier' or 'dno' of DCC Boxed, with keys from its keystore (open it with a clock
    inside the GBCS certificates' validity: they expired in January 2026). The GBCS signing
    key is the pair whose certificate the devices trust (`trust`, default the RTDS anchors the
    emulated premises hold), not the keystore's first: DCC Boxed's JSON has two generations."""
    if name not in ROLES:
        raise ValueError(f"user is one of {', '.join(ROLES)}, not {name!r}")
    eui, role = ROLES[name]
    return DuisUser(
        name,
        eui,
        role,
        xmlsig.signer_from_keystore(keystore, eui),
        (trust or _default_trust()).signing_key(keystore, eui),
        schema,
        trusted,
        transport,
    )
