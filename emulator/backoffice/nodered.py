"""The DUIS catalogue sent as the DCC's Node-RED nodes send DUIS to DCC Boxed, every request
signed by another program (the DCC's own signing tool, dccboxed-signing-tool) instead of
gbhan's XML signer: a DSP that answers gbhan's own users is shown to answer the DCC's too.

What the nodes do (facts read from dccboxed-nodered-nodes' `dccboxed-send` and
`dccboxed-config`, and @smartdcc/duis-parser's command variant table):

- each request is signed by @smartdcc/duis-sign-wrap, which sets the RequestID's counter to
  the time in ms; only the signed pre-command keeps its counter (`--preserveCounter`);
- it is POSTed with `Content-Type: application/xml` to `/api/v1/serviceT` for command variant
  4, to `serviceD` for 2, 6 and 8, to `serviceS` for 1 and 5 (3 and 7 the node refuses), with
  3 s for the answer, which must be `application/xml` and is validated by the DCC's tool;
- on serviceT's I0, the PreCommand's GBCS payload is signed as the originator of the answer's
  RequestID and sent back as variant 5 with that RequestID and the answer's ServiceReference
  and ServiceReferenceVariant;
- the response endpoint takes `application/xml` POSTs, validates each with the DCC's tool
  and answers 204, or 400 when it does not validate.

A signer is a program: `CommandSigner` runs it once per document (the document on stdin, the
signed one on stdout, `GBHAN_SIGN_KEEP_COUNTER=1` in its environment when the counter must be
kept); `StreamSigner` starts it once and frames documents to it (`sign`, `sign-keep`,
`validate`: the protocol of tests/backoffice/dcc/DuisSignStream.java, which keeps the DCC's
jar loaded so Java starts once per run, not once per signature).
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import datetime as _dt
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import aiohttp
from aiohttp import web
from cryptography.hazmat.primitives import serialization

from emulator import data
from emulator.clock import Clock
from emulator.errors import EmulatorError
from gbcs.keystore import Keystore
from gbcs.security import sign as gbcs_sign

from . import duis, xmlsig
from .assembly import DEFAULT_GBCS_DATE
from .catalogue import (
    CATALOGUE_USERS,
    ERROR,
    PRELUDE_COUNTER,
    TIMEOUT,
    Carried,
    DeviceVerifier,
    Result,
    Template,
    catalogue_users,
    distinct,
    judge,
    run_order,
    serve_in_process,
)
from .eligibility import DuisRole
from .registry import DNO_EUI, SUPPLIER_EUI
from .users import Answer, DuisUser, RoundTripFailed

XML = "application/xml"
#: a per-document signer's environment: 1 when the RequestID's counter must be kept; the
#: user's XML certificate and key (PEM, PKCS#8) files when it is handed them
KEEP_COUNTER_ENV, CERT_ENV, KEY_ENV = (
    "GBHAN_SIGN_KEEP_COUNTER", "GBHAN_SIGN_CERT", "GBHAN_SIGN_KEY")  # fmt: skip
#: the users whose XML-signing keys the DCC's tool holds itself (DCC Boxed's presets); any
#: other user's it is handed
TOOL_HOLDS = (SUPPLIER_EUI, DNO_EUI)
#: the node's `got` timeout for each POST
REQUEST_TIMEOUT_S = 3.0
#: @smartdcc/duis-parser's web service per command variant (the node refuses 3 and 7)
SERVICES = {1: "serviceS", 2: "serviceD", 4: "serviceT", 5: "serviceS", 6: "serviceD",
            8: "serviceD"}  # fmt: skip


#: (certificate file, key file) handed to the signer for a user's signature
Credentials = tuple[Path, Path]


class SignerError(EmulatorError, RuntimeError):
    """The signing program refused a document or stopped (its own message attached)."""


class CommandSigner:
    """Runs `command` once per document: the DUIS document on stdin, the signed one on
    stdout; a non-zero exit is a refusal. It cannot validate."""

    can_validate = False

    def __init__(self, command: Sequence[str]):
        self.command = list(command)

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def sign(self, xml: bytes, keep_counter: bool,
                   credentials: Credentials | None = None) -> bytes:  # fmt: skip
        env = {**os.environ, KEEP_COUNTER_ENV: "1" if keep_counter else "0"}
        if credentials is not None:
            env[CERT_ENV], env[KEY_ENV] = (str(p) for p in credentials)
        process = await asyncio.create_subprocess_exec(
            *self.command, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE, env=env,
        )  # fmt: skip
        out, err = await process.communicate(xml)
        if process.returncode != 0:
            raise SignerError(f"signer exit {process.returncode}: {err.decode(errors='replace')}")
        return out

    async def validate(self, xml: bytes) -> bytes:
        raise SignerError("a per-document signer does not validate")


class StreamSigner:
    """Starts `command` once and sends it one framed document at a time: a line
    `<verb> <length> [<cert> <key>]` and the bytes; it answers `<code> <length>` and the
    signed (or validated) document when code is 0, else its message (`exit`: the program
    ended itself, and is started again for the next document)."""

    can_validate = True

    def __init__(self, command: Sequence[str]):
        self.command = list(command)
        self._process: asyncio.subprocess.Process | None = None
        self._lock = asyncio.Lock()

    async def start(self) -> None:
        self._process = await asyncio.create_subprocess_exec(
            *self.command, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            limit=4 << 20,
        )  # fmt: skip

    async def close(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        if process.stdin is not None:
            process.stdin.close()
        try:
            await asyncio.wait_for(process.wait(), 10)
        except TimeoutError:
            process.kill()
            await process.wait()

    async def _call(self, verb: str, xml: bytes, credentials: Credentials | None = None) -> bytes:
        async with self._lock:
            if self._process is None or self._process.returncode is not None:
                await self.start()  # not started, or ended by the tool on the last document
            process = self._process
            assert process is not None and process.stdin is not None
            assert process.stdout is not None
            try:
                files = "".join(f" {p}" for p in credentials or ())
                process.stdin.write(f"{verb} {len(xml)}{files}\n".encode() + xml)
                await process.stdin.drain()
                head = (await process.stdout.readline()).split()
                if len(head) != 2:
                    raise SignerError(f"signer stopped (exit {await process.wait()})")
                body = await process.stdout.readexactly(int(head[1]))
            except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
                raise SignerError(f"signer stopped: {exc}") from None
            if head[0] == b"exit":  # the tool ended its process itself: started again next time
                head[0] = str(await process.wait()).encode()
        if head[0] != b"0":
            raise SignerError(f"signer {verb} exit {head[0].decode()}: "
                              f"{body.decode(errors='replace')}")  # fmt: skip
        return body

    async def sign(self, xml: bytes, keep_counter: bool,
                   credentials: Credentials | None = None) -> bytes:  # fmt: skip
        return await self._call("sign-keep" if keep_counter else "sign", xml, credentials)

    async def validate(self, xml: bytes) -> bytes:
        return await self._call("validate", xml)


Signer = CommandSigner | StreamSigner


class NodeRedUser:
    """One DUIS user as the Node-RED node sends for it: the XML signed by `signer`, the
    pre-command by the user's GBCS key, answers checked by gbhan (`DuisUser.check`) and, when
    the signer can, validated by it."""

    def __init__(self, user: DuisUser, signer: Signer, session: aiohttp.ClientSession,
                 url: str, credentials: Credentials | None = None):  # fmt: skip
        self.user, self.signer, self.session = user, signer, session
        self.url, self.credentials = url.rstrip("/"), credentials

    async def _post(self, service: str, body: bytes) -> Answer:
        timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S)
        where = f"{self.url}/api/v1/{service}"
        async with self.session.post(where, data=body, headers={"Content-Type": XML},
                                     timeout=timeout) as reply:  # fmt: skip
            answer = await reply.read()
            if reply.status >= 400:
                raise RoundTripFailed(f"{where}: HTTP {reply.status} {answer[:200]!r}")
            if reply.content_type != XML:
                raise RoundTripFailed(f"{where}: answered {reply.content_type}, not {XML}")
        if self.signer.can_validate:
            try:
                await self.signer.validate(answer)
            except SignerError as exc:
                raise RoundTripFailed(f"{service}: the signer refused the answer: {exc}") from None
        return self.user.check(answer, service)

    async def submit(self, template_xml: bytes, counter: int) -> tuple[str, list[Answer]]:
        """The node's synchronous part: (the RequestID as signed, every answer in order)."""
        root = duis.parse(template_xml)
        duis.set_originator(root, self.user.eui, counter)
        xmlsig.remove_signature(root)
        signed = await self.signer.sign(duis.to_bytes(root), False, self.credentials)
        request = duis.parse_request(duis.parse(signed))
        service = SERVICES.get(request.command_variant)
        if service is None:
            raise RoundTripFailed(f"the Node-RED node does not send CV {request.command_variant}")
        first = await self._post(service, signed)
        answers = [first]
        if service != "serviceT" or first.code != "I0":
            return str(request.request_id), answers
        message = first.root.find(f".//{{{duis.SR}}}ResponseMessage")
        payload = first.root.findtext(f".//{{{duis.SR}}}PreCommand/{{{duis.SR}}}GBCSPayload")
        if message is None or payload is None or first.request_id is None:
            raise RoundTripFailed("serviceT answered I0 without a PreCommand")
        # the node signs the pre-command as the answer's originator and sends the answer's
        # RequestID, ServiceReference and ServiceReferenceVariant back
        answered = dataclasses.replace(
            request,
            request_id=duis.RequestId.parse(first.request_id),
            service_reference=message.findtext(f"{{{duis.SR}}}ServiceReference") or "",
            service_reference_variant=message.findtext(f"{{{duis.SR}}}ServiceReferenceVariant")
            or "",
        )
        pre = gbcs_sign(base64.b64decode(payload), self.user.gbcs_key)
        variant5 = duis.to_bytes(duis.build_signed_precommand_request(answered, pre))
        body = await self.signer.sign(variant5, True, self.credentials)
        answers.append(await self._post("serviceS", body))
        return str(request.request_id), answers


class NodeRedEndpoint:
    """The node's response endpoint: `application/xml` only, validated by the DCC's tool
    when the signer can, then by gbhan (`DuisUser.receive`); 204, or 400 when refused."""

    def __init__(self, user: DuisUser, signer: Signer):
        self.user, self.signer = user, signer
        self.runner: web.AppRunner | None = None
        self.refused = 0

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        async def post(request: web.Request) -> web.Response:
            body = await request.read()
            ok = request.content_type == XML
            if ok and self.signer.can_validate:
                try:
                    await self.signer.validate(body)
                except SignerError:
                    ok = False
            ok = ok and await self.user.receive(body)
            self.refused += not ok
            return web.Response(status=204 if ok else 400)

        app = web.Application(client_max_size=(1 << 20) + 65536)
        app.router.add_post("/{tail:.*}", post)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, host, port)
        await site.start()
        server = site._server  # aiohttp keeps the asyncio server here
        assert isinstance(server, asyncio.Server)
        return f"http://{host}:{server.sockets[0].getsockname()[1]}/"

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()


async def run_one(
    sender: NodeRedUser, verifier: DeviceVerifier, template: Template, counter: int,
    timeout_s: float, carried: Carried | None = None,
) -> Result:  # fmt: skip
    """One template as the node sends it, to the same Result the catalogue's runner gives
    (with what the run's earlier answers gave filled in, as that runner does: `Carried`)."""
    result = Result(template.name, template.srv, template.role.value, ERROR)
    carried = carried if carried is not None else Carried()
    started = time.perf_counter()
    try:
        prelude = carried.prelude(template)
        if prelude is not None:
            _rid, before = await sender.submit(prelude[1], counter + PRELUDE_COUNTER)
            carried.prelude_answered(template, sender.user.eui, before)
            result.detail = f"after {prelude[0]}: {'>'.join(a.code for a in before)}"
        xml, filled = carried.fill(template, template.path.read_bytes(), sender.user.eui)
        result.detail = "; ".join(d for d in (result.detail, filled) if d)
        request_id, answers = await sender.submit(xml, counter)
        if answers[-1].code == "I99":
            kind = duis.DocumentKind.RESPONSE
            answers.append(await sender.user.wait_for(request_id, kind, timeout_s))
        carried.note(template, sender.user.eui, answers)
    except TimeoutError:
        result.outcome, result.detail = TIMEOUT, "no device response in time"
        result.latency_s = time.perf_counter() - started
        return result
    except (RoundTripFailed, SignerError, duis.DuisError, OSError, aiohttp.ClientError) as exc:
        result.detail = f"{type(exc).__name__}: {exc}"
        return result
    result.latency_s = time.perf_counter() - started
    return judge(result, answers, verifier)


def write_credentials(user: DuisUser, folder: Path) -> Credentials:
    """The user's XML-signing certificate and key (PEM, the key PKCS#8 as the DCC's tool reads
    a key file) in `folder`, the key readable by this user only."""
    stem = folder / user.eui.hex().upper()
    certificate, key = stem.with_suffix(".pem"), stem.with_suffix(".key")
    certificate.write_bytes(user.xml_signer.certificate.public_bytes(serialization.Encoding.PEM))
    key.touch(mode=0o600)
    key.write_bytes(user.xml_signer.private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))  # fmt: skip
    return certificate, key


async def run_catalogue_signed(
    templates: list[Template],
    signer: Signer,
    *,
    url: str | None = None,
    smki_url: str | None = None,
    state_dir: Path | None = None,
    clock: Clock | None = None,
    keystore_path: Path | None = None,
    gbcs_date: _dt.datetime = DEFAULT_GBCS_DATE,
    timeout_s: float = 20.0,
    progress: Callable[[int, int, Result], None] | None = None,
) -> list[Result]:
    """`catalogue.run_catalogue`, each template signed by `signer` and sent as the Node-RED
    node sends it; the users' endpoints answer as the node's does. The DCC's tool signs as
    the Supplier and the DNO with DCC Boxed's keys it holds; the Gas Supplier's XML key and
    certificate (the ones the catalogue registers: DCC Boxed's own, Z1-supplier2, expired in
    December 2025) are handed to it as files (`TOOL_HOLDS`)."""
    keystore_path = keystore_path or data.dccboxed_keystore()
    keys = Keystore.open(keystore_path, clock=gbcs_date)
    trusted = xmlsig.TrustedCertificates.from_keystore(Keystore.open(keystore_path))
    schema = duis.load_schema(str(data.duis_schema()))
    verify_keys = Keystore.open(data.rtds_keystore(), clock=gbcs_date)

    async def against(target: str, smki: str | None, set_endpoint) -> list[Result]:
        users = catalogue_users(keys, schema, trusted, transport=None)
        endpoints: list[NodeRedEndpoint] = []
        files = Path(tempfile.mkdtemp(prefix="gbhan-signer-"))
        await signer.start()
        try:
            async with aiohttp.ClientSession() as session:
                senders: dict[DuisRole, NodeRedUser] = {}
                for user in distinct(users):  # one endpoint per user ID, for all its roles
                    endpoint = NodeRedEndpoint(user, signer)
                    port = 0 if set_endpoint is not None else CATALOGUE_USERS[user.role][2]
                    where = await endpoint.start("127.0.0.1", port)
                    endpoints.append(endpoint)
                    if set_endpoint is not None:
                        set_endpoint(user.eui, where)
                    handed = None if user.eui in TOOL_HOLDS else write_credentials(user, files)
                    node_user = NodeRedUser(user, signer, session, target, handed)
                    senders.update({role: node_user for role, u in users.items() if u is user})
                verifier = DeviceVerifier(smki, verify_keys)
                listed = run_order(templates)
                results = []
                base = int(time.time() * 1000)
                carried = Carried(smki_url=smki)
                for index, template in enumerate(listed):
                    sender = senders.get(template.role)
                    if sender is None:
                        result = Result(template.name, template.srv, template.role.value, ERROR,
                                        detail=f"no user for role {template.role.value}")  # fmt: skip
                    else:
                        result = await run_one(sender, verifier, template, base + index,
                                               timeout_s, carried)  # fmt: skip
                    results.append(result)
                    if progress is not None:
                        progress(index + 1, len(listed), result)
                return results
        finally:
            for endpoint in endpoints:
                await endpoint.stop()
            await signer.close()
            shutil.rmtree(files, ignore_errors=True)

    if url is not None:
        return await against(url, smki_url, None)
    if state_dir is None:
        raise SignerError("an in-process DSP needs a state directory")
    async with serve_in_process(state_dir, clock or Clock("wall"), keystore_path,
                                gbcs_date) as served:  # fmt: skip
        return await against(served.url, served.smki_url, served.set_endpoint)
