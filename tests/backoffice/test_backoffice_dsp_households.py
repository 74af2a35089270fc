"""Generated households beside RTDS's: each its own Comms Hub, ESME and switches on a HAN of
its own, in the DSP's process or in the premises host (a process of their own).

In process: 7.7s from the DNO and the Supplier at once, to RTDS's meter and to two generated
meters, several to the same meter: every final answer is I0 and carries its own request's
device response (that meter to that user, that counter; a meter runs its commands in order,
so two at one premises never swap responses), and the MAC verifies with the meter's KA
certificate. As processes: `gbhan dsp serve --households 2` answers a 7.7 to household 2
through the premises host with a response that verifies with the certificate fetched from
its SMKI service, and a SIGKILL of the DSP takes the host with it.

A premises host that dies leaves the DSP up: a command for one of its households is then
answered E21 (no device response), as for a WAN loss, and RTDS's household still answers.

The journal's third crash window: an answer journalled as being delivered when the DSP died
is delivered again by the next run, the very same bytes, never contradicted by an E21.
"""

from __future__ import annotations

import asyncio
import base64
import os
import signal
import time
from pathlib import Path

import pytest
from backoffice_helpers import DCCBOXED, RTDS, SCHEMA, free_port
from dsp_helpers import GBCS_DATE, RTDS_KEYSTORE, build_dsp, signed_as
from test_backoffice_dsp_state import TEMPLATE_7_7, code_of, rid_of, serve

from emulator.backoffice import duis, xmlsig
from emulator.backoffice.assembly import make_dsp
from emulator.backoffice.premises_factory import (
    GeneratedHousehold,
    attach_generated,
    build_generated,
    build_premises,
)
from emulator.backoffice.state import DspState
from emulator.backoffice.users import Endpoint, HttpTransport, make_user
from emulator.clock import Clock
from emulator.smki import client
from gbcs import decode
from gbcs.keystore import Keystore
from gbcs.security import check_message

RTDS_ESME = bytes.fromhex("00DB1234567890A0")


def test_generated_household_euis_are_distinct_and_bounded():
    one, two = GeneratedHousehold(1), GeneratedHousehold(2)
    euis = [d.eui for h in (one, two) for d in h.devices()]
    assert len(set(euis)) == len(euis) == 14
    assert one.esme == bytes.fromhex("00DB1234560001A0")
    assert two.switch(5) == bytes.fromhex("00DB1234560002B5")
    for bad in (0, 0x7001):
        with pytest.raises(ValueError):
            GeneratedHousehold(bad)


def own_answer(document: bytes, request_id: str, keys: Keystore) -> bool:
    """The final answer carries its request's device response, MAC verified."""
    root = duis.parse(document)
    payload = root.find(f".//{{{duis.SR}}}GBCSPayload")
    rid = duis.RequestId.parse(request_id)
    message = decode(base64.b64decode(payload.text))
    return (
        bytes(message.originator) == rid.target
        and bytes(message.target) == rid.originator
        and message.counter == rid.counter
        and check_message(message, keys).outcome == "verified"
    )


def test_concurrent_7_7s_to_several_households_each_get_their_own_response(
    schema, trusted, supplier, dno, dsp
):
    clock = Clock("wall", start_utc=GBCS_DATE)

    async def main():
        dsp_ = make_dsp(schema_dir=SCHEMA, dccboxed=DCCBOXED, rtds=RTDS,
                        rtds_keystore=RTDS_KEYSTORE, clock=clock)  # fmt: skip
        rtds = await build_premises(clock)
        dsp_.attach(rtds)
        built = await build_generated(clock, [1, 2])
        attach_generated(dsp_, built)
        meters = [RTDS_ESME, GeneratedHousehold(1).esme, GeneratedHousehold(2).esme]
        bodies = []
        for i in range(12):
            who, signer = (("90B3D51F30020000", dno), ("90B3D51F30010000", supplier))[i % 2]
            body = signed_as(TEMPLATE_7_7, who, signer, counter=8000 + i)
            root = duis.parse(body)
            node = root.find(f"{{{duis.SR}}}Header/{{{duis.SR}}}RequestID")
            rid = duis.RequestId.parse(node.text)
            node.text = str(duis.RequestId(rid.originator, meters[i % 3], rid.counter))
            bodies.append(signed_as_root(root, signer))
        acks = await asyncio.gather(*(dsp_.handle("serviceS", b) for b in bodies))
        await dsp_.drain()
        for premises in [rtds] + [p for _h, p, _c in built]:
            await premises.close()
        return dsp_, bodies, acks

    dsp_, bodies, acks = clock.run(main)
    assert [code_of(a) for a in acks] == ["I99"] * 12
    answers = {rid_of(d.document): d.document for d in dsp_.delivered}
    assert sorted(answers) == sorted(rid_of(b) for b in bodies)
    assert {code_of(d) for d in answers.values()} == {"I0"}
    assert all(own_answer(document, rid, dsp_.acb_keys) for rid, document in answers.items())


def signed_as_root(root, signer) -> bytes:
    return duis.to_bytes(xmlsig.sign(root, signer))


def children_of(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def test_serve_runs_households_in_the_premises_host(tmp_path, schema, trusted):
    """7.7 as the DNO to household 2 over HTTP, answered through the premises host; the
    response verifies with the meter's KA certificate from the SMKI service; SIGKILL of the
    DSP ends the host too."""
    listen = free_port()
    server, url, smki = serve(tmp_path / "state", listen, ["--households", "2"])
    meter = GeneratedHousehold(2).esme
    keys = Keystore.open(DCCBOXED, clock=GBCS_DATE)

    async def main():
        transport = HttpTransport(url)
        user = make_user("dno", keys, schema, trusted, transport)
        endpoint = Endpoint(user)
        await endpoint.start("127.0.0.1", listen)
        try:
            root = duis.parse(TEMPLATE_7_7.read_bytes())
            node = root.find(f"{{{duis.SR}}}Header/{{{duis.SR}}}RequestID")
            rid = duis.RequestId.parse(node.text)
            node.text = str(duis.RequestId(rid.originator, meter, rid.counter))
            return await user.run(user.prepare(duis.to_bytes(root), 9100), 30)
        finally:
            await transport.close()
            await endpoint.stop()

    try:
        hosts = children_of(server.pid)
        answers = asyncio.run(main())
        fetched = client.in_use_certificates(smki, meter)
    finally:
        os.kill(server.pid, signal.SIGKILL)
        server.wait(10)
    assert len(hosts) == 1
    assert [a.code for a in answers] == ["I99", "I0"]
    verifying = Keystore.open(RTDS_KEYSTORE, check_validity=False)
    for found, der in fetched:
        verifying.add_pem(client.pem(der), found.serial)
    assert {f.usage for f, _der in fetched} >= {"KA", "DS"}
    assert own_answer(answers[-1].xml, answers[-1].request_id, verifying)
    for _ in range(100):  # the host sees its stdin close and leaves
        if not Path(f"/proc/{hosts[0]}").exists() or _zombie(hosts[0]):
            break
        time.sleep(0.1)
    assert not Path(f"/proc/{hosts[0]}").exists() or _zombie(hosts[0])


def addressed_7_7(meter: bytes, counter: int, user) -> bytes:
    root = duis.parse(TEMPLATE_7_7.read_bytes())
    node = root.find(f"{{{duis.SR}}}Header/{{{duis.SR}}}RequestID")
    rid = duis.RequestId.parse(node.text)
    node.text = str(duis.RequestId(rid.originator, meter, rid.counter))
    return user.prepare(duis.to_bytes(root), counter)


def test_a_dead_premises_host_gives_e21_and_the_dsp_carries_on(tmp_path, schema, trusted):
    listen = free_port()
    server, url, _smki = serve(tmp_path / "state", listen, ["--households", "1"])
    keys = Keystore.open(DCCBOXED, clock=GBCS_DATE)

    async def main():
        transport = HttpTransport(url)
        user = make_user("dno", keys, schema, trusted, transport)
        endpoint = Endpoint(user)
        await endpoint.start("127.0.0.1", listen)
        try:
            lost = await user.run(addressed_7_7(GeneratedHousehold(1).esme, 9200, user), 60)
            rtds = await user.run(addressed_7_7(RTDS_ESME, 9201, user), 30)
            return lost, rtds
        finally:
            await transport.close()
            await endpoint.stop()

    try:
        [host] = children_of(server.pid)
        os.kill(host, signal.SIGKILL)
        lost, rtds = asyncio.run(main())
        alive = server.poll() is None
    finally:
        os.kill(server.pid, signal.SIGKILL)
        server.wait(10)
    assert [a.code for a in lost] == ["I99", "E21"]
    assert [a.code for a in rtds] == ["I99", "I0"] and alive


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


class StopsAfterHandingOver:
    """A delivery that takes the document and never returns (the DSP is killed while the
    user's endpoint is answering)."""

    def __init__(self):
        self.documents: list[bytes] = []

    async def deliver(self, user, document: bytes, kind) -> bool:
        self.documents.append(document)
        await asyncio.Event().wait()
        return True


def test_an_answer_being_delivered_at_a_kill_is_delivered_again_unchanged(
    tmp_path, schema, trusted, supplier, dsp
):
    folder = tmp_path / "state"
    body = signed_as(TEMPLATE_7_7, "90B3D51F30010000", supplier, counter=7101)

    async def first_life():
        state = DspState.open(folder, [RTDS_KEYSTORE, DCCBOXED], GBCS_DATE)
        delivery = StopsAfterHandingOver()
        dsp_, _premises = build_dsp(schema, trusted, dsp, ledger=state.ledger(),
                                    delivery=delivery)  # fmt: skip
        ack = await dsp_.handle("serviceS", body)
        for _ in range(100):
            if delivery.documents:
                break
            await asyncio.sleep(0.01)
        state.close()
        return ack, delivery.documents

    async def second_life():
        state = DspState.open(folder, [RTDS_KEYSTORE, DCCBOXED], GBCS_DATE)
        dsp_, premises = build_dsp(schema, trusted, dsp, ledger=state.ledger())
        resumed = dsp_.resume()
        await dsp_.drain()
        replay = await dsp_.handle("serviceS", body)
        state.close()
        return resumed, premises.received, dsp_.delivery.documents, replay

    ack, handed = Clock("wall", start_utc=GBCS_DATE).run(first_life)
    assert code_of(ack) == "I99" and [code_of(d) for d in handed] == ["I0"]
    resumed, sent, delivered, replay = Clock("wall", start_utc=GBCS_DATE).run(second_life)
    assert resumed == 1 and sent == []  # not executed again
    assert delivered == {bytes.fromhex("90B3D51F30010000"): handed}  # the same bytes
    assert code_of(replay) == "E42"
    state = DspState.open(folder, [RTDS_KEYSTORE, DCCBOXED], GBCS_DATE)
    try:
        assert state.ledger().unfinished() == []
    finally:
        state.close()
