"""`gbhan dsp serve --state-dir`: DUIS and SMKI from one process, and what survives a SIGKILL.

As processes: a 7.6 from the DNO answered I0, the device's certificate fetched from the SMKI
service of the same command; the server killed with SIGKILL and started again on the same
state: the certificate is byte-identical, the same request id is refused E42 (never executed
twice), the endpoint given at the first start is still used, and a new 7.6 verifies with the
certificate fetched before the kill.

In process: the request journal's two crash windows. A request acknowledged whose command
never left is routed by the next run; one whose command had left is answered E21 (its
outcome unknown), never sent again; either way exactly one answer reaches the user.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

from backoffice_helpers import DCCBOXED, DUIS, free_port
from dsp_helpers import GBCS_DATE, RTDS_KEYSTORE, build_dsp, signed_as

from emulator.backoffice import duis
from emulator.backoffice.state import DspState
from emulator.backoffice.users import Endpoint, HttpTransport, make_user
from emulator.clock import Clock
from emulator.smki import client
from gbcs import decode, verify
from gbcs.keystore import Keystore

REPO = Path(__file__).resolve().parents[2]
TEMPLATE_7_6 = DUIS / "ECS47Deactivate_7.6_SUCCESS_REQUEST_DUIS.XML"
TEMPLATE_7_7 = DUIS / "ECS61a_7.7_ALL_OPTIONALS_SUCCESS_REQUEST_DUIS.XML"
ESME = bytes.fromhex("00DB1234567890A0")


def serve(
    state: Path, listen: int | None, extra: list[str] | None = None
) -> tuple[subprocess.Popen, str, str]:
    """`gbhan dsp serve` on ephemeral ports, without the console (its port 8080 may be
    another test's); (process, DSP URL, SMKI URL)."""
    command = [sys.executable, "-m", "tools.dsp_cmd", "dsp", "serve", "--port", "0",
               "--smki-port", "0", "--state-dir", str(state), "--latency", "0.01",
               "--no-web"]  # fmt: skip
    if listen is not None:
        command += ["--endpoint", f"dno=http://127.0.0.1:{listen}/"]
    command += extra or []
    server = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)  # fmt: skip
    line = server.stdout.readline()
    assert line.startswith("DSP on http://127.0.0.1:"), line
    dsp_port = line.split(":")[2].split("/")[0]
    smki_url = line.split("SMKI on ")[1].split("/services/")[0]
    return server, f"http://127.0.0.1:{dsp_port}", smki_url


def run_as_dno(url: str, listen: int, counter: int, schema, trusted) -> list:
    """7.6 from the DNO over HTTP, the endpoint on `listen`; every answer."""
    keys = Keystore.open(DCCBOXED, clock=GBCS_DATE)

    async def main():
        transport = HttpTransport(url)
        user = make_user("dno", keys, schema, trusted, transport)
        endpoint = Endpoint(user)
        await endpoint.start("127.0.0.1", listen)
        try:
            return await user.run(user.prepare(TEMPLATE_7_6.read_bytes(), counter), 20)
        finally:
            await transport.close()
            await endpoint.stop()

    return asyncio.run(main())


def test_serve_survives_sigkill_with_the_same_state(tmp_path, schema, trusted):
    state, listen = tmp_path / "state", free_port()
    server, url, smki = serve(state, listen)
    try:
        first = run_as_dno(url, listen, 5000, schema, trusted)
        before = client.in_use_certificates(smki, ESME)
    finally:
        os.kill(server.pid, signal.SIGKILL)
        server.wait(10)
    assert [a.code for a in first] == ["I0", "I99", "I0"]
    keys = Keystore(check_validity=False)
    for found, der in before:
        keys.add_pem(client.pem(der), found.serial)
    assert verify(decode(first[-1].gbcs_payload), keys).outcome == "verified"

    server, url, smki = serve(state, None)  # no --endpoint: the stored one is used
    try:
        replay = run_as_dno(url, listen, 5000, schema, trusted)
        again = run_as_dno(url, listen, 5001, schema, trusted)
        after = client.in_use_certificates(smki, ESME)
    finally:
        os.kill(server.pid, signal.SIGKILL)
        server.wait(10)
    assert [a.code for a in replay] == ["E42"]
    assert sorted(d for _f, d in after) == sorted(d for _f, d in before)
    assert [a.code for a in again] == ["I0", "I99", "I0"]
    assert verify(decode(again[-1].gbcs_payload), keys).outcome == "verified"


class HangingPremises:
    """A premises that takes every command and never answers (the process dies first)."""

    def __init__(self, device_ids):
        self.device_ids = list(device_ids)
        self.received: list[bytes] = []

    def on_alert(self, callback) -> None:
        pass

    async def execute(self, command: bytes):
        self.received.append(command)
        await asyncio.Event().wait()


def test_the_journal_answers_each_acknowledged_request_once(
    tmp_path, schema, trusted, supplier, dsp
):
    """First life: 7.7 (not critical) acknowledged and left for a premises that never answers;
    a second 7.7 acknowledged whose command is journalled but never routed (as if killed
    between the two). Second life on the same state: the first is answered E21 and not sent
    again, the second is routed and answered I0, and neither id is accepted again."""
    folder = tmp_path / "state"
    left = signed_as(TEMPLATE_7_7, "90B3D51F30010000", supplier, counter=7001)
    queued = signed_as(TEMPLATE_7_7, "90B3D51F30010000", supplier, counter=7002)
    left_id, queued_id = (rid_of(body) for body in (left, queued))

    async def first_life():
        state = DspState.open(folder, [RTDS_KEYSTORE, DCCBOXED], GBCS_DATE)
        dsp_, premises = build_dsp(schema, trusted, dsp, ledger=state.ledger())
        hanging = HangingPremises(premises.device_ids)
        dsp_.router.attach(hanging, dsp_._on_alert)
        answers = [await dsp_.handle("serviceS", left)]
        for _ in range(50):
            if hanging.received:
                break
            await asyncio.sleep(0.01)
        # killed between journalling the second as queued and routing it
        dsp_._dispatch = lambda job, command: None
        answers.append(await dsp_.handle("serviceS", queued))
        state.close()
        return answers, hanging.received

    async def second_life():
        state = DspState.open(folder, [RTDS_KEYSTORE, DCCBOXED], GBCS_DATE)
        dsp_, premises = build_dsp(schema, trusted, dsp, ledger=state.ledger())
        resumed = dsp_.resume()
        await dsp_.drain()
        replays = [await dsp_.handle("serviceS", body) for body in (left, queued)]
        delivered = await dsp_.delivery.wait_for(bytes.fromhex("90B3D51F30010000"), 2)
        state.close()
        return resumed, premises.received, delivered, replays

    first, sent_first = Clock("wall", start_utc=GBCS_DATE).run(first_life)
    assert [code_of(a) for a in first] == ["I99", "I99"] and len(sent_first) == 1
    resumed, sent_second, delivered, replays = Clock("wall", start_utc=GBCS_DATE).run(second_life)
    assert resumed == 2
    assert len(sent_second) == 1  # only the queued one; the one that had left is not resent
    answers = {rid_of(d): code_of(d) for d in delivered}
    assert answers == {left_id: "E21", queued_id: "I0"}
    assert [code_of(r) for r in replays] == ["E42", "E42"]


def code_of(document: bytes) -> str:
    root = duis.parse(document)
    return root.findtext(f".//{{{duis.SR}}}ResponseCode") or ""


def rid_of(document: bytes) -> str:
    root = duis.parse(document)
    return root.findtext(f".//{{{duis.SR}}}RequestID") or ""


class RestartBetween:
    """A transport whose DSP is killed and started again on the same state between the
    transform (serviceT) and the signed pre-command's return (serviceS)."""

    def __init__(self, folder: Path, schema, trusted, dsp_signer):
        self.folder, self.schema, self.trusted, self.signer = folder, schema, trusted, dsp_signer
        self.lives: list = []
        self.start()

    def start(self) -> None:
        state = DspState.open(self.folder, [RTDS_KEYSTORE, DCCBOXED], GBCS_DATE)
        dsp_, premises = build_dsp(self.schema, self.trusted, self.signer, ledger=state.ledger())
        self.lives.append((state, dsp_, premises))

    async def post(self, endpoint: str, body: bytes) -> bytes:
        if endpoint == "serviceS":
            self.lives[-1][0].close()
            self.start()
        return await self.lives[-1][1].handle(endpoint, body)

    async def close(self) -> None:
        self.lives[-1][0].close()


def test_a_restart_between_transform_and_signed_return(tmp_path, schema, trusted, dsp):
    """7.6 as the DNO: serviceT answered by one life, the signed pre-command returned to the
    next; the journalled pre-command is found, the command executed once, answered I0."""
    keys = Keystore.open(DCCBOXED, clock=GBCS_DATE)

    async def main():
        transport = RestartBetween(tmp_path / "state", schema, trusted, dsp)
        user = make_user("dno", keys, schema, trusted, transport)
        answers = await user.submit(user.prepare(TEMPLATE_7_6.read_bytes(), 6000))
        _state, second, premises = transport.lives[-1]
        await second.drain()
        delivered = await second.delivery.wait_for(bytes.fromhex("90B3D51F30020000"), 1)
        again = await user.submit(user.prepare(TEMPLATE_7_6.read_bytes(), 6000))
        await transport.close()
        return answers, delivered, premises.received, transport.lives[0][2].received, again

    answers, delivered, received, received_first, again = Clock("wall", start_utc=GBCS_DATE).run(
        main
    )
    assert [a.code for a in answers] == ["I0", "I99"]
    assert [code_of(d) for d in delivered] == ["I0"]
    assert len(received) == 1 and received_first == []
    assert [a.code for a in again] == ["E42"]


def test_a_kill_between_accepting_and_journalling_leaves_no_debt(tmp_path):
    """A request id seen but killed before its command was journalled was never acknowledged:
    the next run neither owes it an answer nor refuses its resend."""
    state = DspState.open(tmp_path / "state", [RTDS_KEYSTORE, DCCBOXED], GBCS_DATE)
    ledger = state.ledger()
    ledger.accept("90-B3-D5-1F-30-01-00-00:00-DB-12-34-56-78-90-A0:1")
    ledger.accept("90-B3-D5-1F-30-01-00-00:00-DB-12-34-56-78-90-A0:2")
    ledger.queued("90-B3-D5-1F-30-01-00-00:00-DB-12-34-56-78-90-A0:2", b"<x/>", b"\x00")
    state.close()
    state = DspState.open(tmp_path / "state", [RTDS_KEYSTORE, DCCBOXED], GBCS_DATE)
    ledger = state.ledger()
    try:
        assert "90-B3-D5-1F-30-01-00-00:00-DB-12-34-56-78-90-A0:1" not in ledger
        assert "90-B3-D5-1F-30-01-00-00:00-DB-12-34-56-78-90-A0:2" in ledger
        assert [u.request_id for u in ledger.unfinished()] == [
            "90-B3-D5-1F-30-01-00-00:00-DB-12-34-56-78-90-A0:2"
        ]
    finally:
        state.close()
