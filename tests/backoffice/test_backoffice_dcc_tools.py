"""With the DCC's own DUIS signing tool (@smartdcc/duis-sign-wrap, its jar under Java): a 7.6
from the DNO and from the Supplier, signed by the DCC's tool and POSTed to `gbhan dsp serve`
as the DCC's Node-RED node does (application/xml to /api/v1/serviceT, then the signed
pre-command to serviceS); every answer and the device response validated by the DCC's tool;
the device response's GBCS signature verified with the ESME's certificate fetched from the
same process's SMKI service; then the same after a SIGKILL and restart on the same state,
the certificate byte-identical. And DCC Boxed's third user (00-DB-12-34-56-78-00-04, an Other
User) added with `gbhan dsp users add`: its 7.7 signed by the DCC's tool is carried to the
meter by the ACB, and the answers and the device response validate with the DCC's tool.

Marked `dcc_tools`: run only when GBHAN_DCC_TOOLS names a folder where
`npm install @smartdcc/duis-sign-wrap @smartdcc/duis-parser` was run (then a missing tool or
Java is a failure, not a skip)."""

from __future__ import annotations

import asyncio
import base64
import os
import signal
import subprocess
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from backoffice_helpers import DCCBOXED, DUIS, free_port
from dsp_helpers import GBCS_DATE, RTDS_KEYSTORE
from test_backoffice_dsp_state import ESME, serve

from emulator.backoffice import duis
from emulator.backoffice.keychoice import DeviceTrust
from emulator.smki import client
from gbcs import decode, verify
from gbcs.keystore import Keystore
from gbcs.roles import ACB_EUI
from gbcs.security import check_message
from gbcs.security import sign as gbcs_sign
from tools import cli

pytestmark = pytest.mark.dcc_tools

TEMPLATE_7_6 = DUIS / "ECS47Deactivate_7.6_SUCCESS_REQUEST_DUIS.XML"
TEMPLATE_7_7 = DUIS / "ECS61a_7.7_ALL_OPTIONALS_SUCCESS_REQUEST_DUIS.XML"
OTHER_USER = bytes.fromhex("00DB123456780004")
SIGN_JS = Path(__file__).parent / "dcc" / "duis_sign.js"
USERS = {"dno": bytes.fromhex("90B3D51F30020000"), "supplier": bytes.fromhex("90B3D51F30010000")}


def dcc_tool(mode: str, xml: bytes) -> bytes:
    """The DCC's tool over `xml`: `sign` returns the signed document, `validate` the document
    without its signature; AssertionError with the tool's message when it refuses."""
    folder = os.environ.get("GBHAN_DCC_TOOLS")
    assert folder, "GBHAN_DCC_TOOLS names the folder npm installed @smartdcc/duis-sign-wrap in"
    modules = Path(folder) / "node_modules"
    assert (modules / "@smartdcc" / "duis-sign-wrap").is_dir(), f"no duis-sign-wrap in {modules}"
    done = subprocess.run(["node", str(SIGN_JS), mode], input=xml, capture_output=True,
                          env={**os.environ, "NODE_PATH": str(modules)}, timeout=60)  # fmt: skip
    assert done.returncode == 0, f"DCC tool {mode}: {done.stderr.decode(errors='replace')}"
    return done.stdout


def unsigned(root) -> bytes:
    for signature in root.findall(f"{{{duis.DS}}}Signature"):
        root.remove(signature)
    return duis.to_bytes(root)


async def round_trip(url: str, listen: int, user: str, counter: int) -> tuple[list[bytes], bytes]:
    """The Node-RED node's part, with the DCC's tool signing: (synchronous answers, the device
    response document the user's endpoint received)."""
    received: asyncio.Queue[bytes] = asyncio.Queue()

    async def endpoint(request: web.Request) -> web.Response:
        await received.put(await request.read())
        return web.Response()

    app = web.Application()
    app.router.add_post("/", endpoint)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", listen).start()
    keys = Keystore.open(DCCBOXED, clock=GBCS_DATE)
    gbcs_key = DeviceTrust.rtds().signing_key(keys, USERS[user])
    headers = {"Content-Type": "application/xml"}
    answers = []
    try:
        async with aiohttp.ClientSession() as session:
            root = duis.parse(TEMPLATE_7_6.read_bytes())
            duis.set_originator(root, USERS[user], counter)
            request = dcc_tool("sign", unsigned(root))
            async with session.post(f"{url}/api/v1/serviceT", data=request, headers=headers) as r:
                answers.append(await r.read())
            pre = duis.parse(answers[0]).find(
                f".//{{{duis.SR}}}PreCommand/{{{duis.SR}}}GBCSPayload"
            )
            assert pre is not None, answers[0]
            signed = gbcs_sign(base64.b64decode(pre.text or ""), gbcs_key)
            parsed = duis.parse_request(duis.parse(request))
            variant5 = duis.build_signed_precommand_request(parsed, signed)
            body = dcc_tool("sign", duis.to_bytes(variant5))
            async with session.post(f"{url}/api/v1/serviceS", data=body, headers=headers) as r:
                answers.append(await r.read())
        async with asyncio.timeout(30):
            response = await received.get()
    finally:
        await runner.cleanup()
    return answers, response


def code_of(document: bytes) -> str:
    return duis.parse(document).findtext(f".//{{{duis.SR}}}ResponseCode") or ""


def life(state: Path, counter: int) -> tuple[dict, list]:
    """One `gbhan dsp serve` life: 7.6 from each user; the ESME's in-use certificates."""
    listens = {user: free_port() for user in USERS}
    server, url, smki = serve(state, None, extra=[
        arg for user, port in listens.items()
        for arg in ("--endpoint", f"{user}=http://127.0.0.1:{port}/")
    ])  # fmt: skip
    try:
        results = {
            user: asyncio.run(round_trip(url, listens[user], user, counter + i))
            for i, user in enumerate(USERS)
        }
        certificates = client.in_use_certificates(smki, ESME)
    finally:
        os.kill(server.pid, signal.SIGKILL)
        server.wait(10)
    return results, certificates


def test_7_6_signed_and_checked_by_the_dcc_tool_across_a_restart(tmp_path):
    state = tmp_path / "state"
    first, certificates = life(state, 8000)
    second, again = life(state, 9000)
    assert sorted(d for _f, d in again) == sorted(d for _f, d in certificates)
    keys = Keystore(check_validity=False)
    for found, der in certificates:
        keys.add_pem(client.pem(der), found.serial)
    for results in (first, second):
        for user, (answers, response) in results.items():
            assert [code_of(a) for a in answers] == ["I0", "I99"], user
            for document in (*answers, response):
                dcc_tool("validate", document)  # the DCC's tool accepts gbhan's signature
            assert code_of(response) == "I0"
            payload = duis.parse(response).findtext(f".//{{{duis.SR}}}GBCSPayload")
            message = decode(base64.b64decode(payload or ""))
            assert message.originator == ESME
            assert verify(message, keys).outcome == "verified", user


async def other_user_7_7(url: str, listen: int, counter: int) -> tuple[bytes, bytes]:
    """The third user's 7.7, signed by the DCC's tool: (the acknowledgement, the response)."""
    received: asyncio.Queue[bytes] = asyncio.Queue()

    async def endpoint(request: web.Request) -> web.Response:
        await received.put(await request.read())
        return web.Response()

    app = web.Application()
    app.router.add_post("/", endpoint)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", listen).start()
    try:
        root = duis.parse(TEMPLATE_7_7.read_bytes())
        duis.set_originator(root, OTHER_USER, counter)
        request = dcc_tool("sign", unsigned(root))
        async with aiohttp.ClientSession() as session:
            async with session.post(f"{url}/api/v1/serviceS", data=request,
                                    headers={"Content-Type": "application/xml"}) as reply:  # fmt: skip
                ack = await reply.read()
        async with asyncio.timeout(30):
            return ack, await received.get()
    finally:
        await runner.cleanup()


def test_the_third_user_signed_by_the_dcc_tool_through_the_acb(tmp_path):
    state, listen = tmp_path / "state", free_port()
    assert cli.main(["dsp", "users", "add", "--eui", "00-DB-12-34-56-78-00-04", "--role", "OU",
                     "--endpoint", f"http://127.0.0.1:{listen}/",
                     "--state-dir", str(state)]) == 0  # fmt: skip
    server, url, _smki = serve(state, None)
    try:
        ack, response = asyncio.run(other_user_7_7(url, listen, 8500))
    finally:
        os.kill(server.pid, signal.SIGKILL)
        server.wait(10)
    assert (code_of(ack), code_of(response)) == ("I99", "I0")
    for document in (ack, response):
        dcc_tool("validate", document)
    payload = duis.parse(response).findtext(f".//{{{duis.SR}}}GBCSPayload")
    message = decode(base64.b64decode(payload or ""))
    assert message.originator == ESME and bytes(message.target) == ACB_EUI
    rtds = Keystore.open(RTDS_KEYSTORE, check_validity=False)
    assert check_message(message, rtds).outcome == "verified"
