"""Device identities kept in a state directory: the ESME signs 7.6's response (from the Supplier
and from the DNO, over real HTTP to the real premises) with a key whose certificate the SMKI
service serves; a client that fetches that certificate over HTTP verifies the response with
gbcs.verify and with `gbhan gbcs verify`. After a restart on the same repository the
certificate is byte-identical and the old one still verifies the new responses."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from backoffice_helpers import DCCBOXED, DUIS
from dsp_helpers import GBCS_DATE, RTDS_KEYSTORE, build_dsp

from emulator.backoffice import service
from emulator.backoffice.premises_factory import build_premises
from emulator.backoffice.routing import Router
from emulator.backoffice.users import Endpoint, HttpTransport, make_user
from emulator.clock import Clock
from emulator.smki import client
from emulator.smki.identities import DeviceIdentities
from emulator.smki.records import IN_USE, NOT_IN_USE
from emulator.smki.service import SmkiService
from emulator.smki.sources import load_keystores
from emulator.smki.store import Repository
from gbcs import decode, verify
from gbcs.keystore import Keystore
from tools import cli

ESME = bytes.fromhex("00DB1234567890A0")
TEMPLATE_7_6 = DUIS / "ECS47Deactivate_7.6_SUCCESS_REQUEST_DUIS.XML"


def lodged_repository(path: Path) -> Repository:
    repo = Repository(path)
    if repo.count() == 0:
        load_keystores(repo, [RTDS_KEYSTORE, DCCBOXED], GBCS_DATE)
    return repo


def run_7_6(tmp_path: Path, schema, trusted, dsp_signer, counter: int):
    """One DSP life on the repository in tmp_path: the SMKI service and the DSP on ephemeral
    ports, 7.6 from the Supplier and then the DNO. Returns (responses, certificates the SMKI
    service gave for the ESME, the ESME's DS certificate as identities hold it)."""
    repo = lodged_repository(tmp_path / "smki.db")
    identities = DeviceIdentities(repo, GBCS_DATE)
    smki = SmkiService(repo, "127.0.0.1", 0).start()
    clock = Clock("wall", start_utc=GBCS_DATE)
    gbcs_keys = Keystore.open(DCCBOXED, clock=GBCS_DATE)

    async def main():
        dsp, _double = build_dsp(schema, trusted, dsp_signer, clock=clock,
                                 delivery=service.HttpDelivery())  # fmt: skip
        dsp.router = Router(dsp.router.wan)
        premises = await build_premises(clock, identities=identities)
        dsp.attach(premises)
        runner = await service.start(dsp, port=0)
        transport = HttpTransport(f"http://127.0.0.1:{service.bound_port(runner)}")
        users = [make_user(n, gbcs_keys, schema, trusted, transport) for n in ("supplier", "dno")]
        endpoints = [Endpoint(u) for u in users]
        for user, endpoint in zip(users, endpoints, strict=True):
            dsp.users.set_endpoint(user.eui, await endpoint.start())
        try:
            responses = []
            for user in users:
                answers = await user.run(user.prepare(TEMPLATE_7_6.read_bytes(), counter), 20)
                assert answers[-1].code == "I0", [a.code for a in answers]
                responses.append(answers[-1].gbcs_payload)
            await dsp.drain()
            fetched = await asyncio.to_thread(client.in_use_certificates, smki.url, ESME)
            return responses, fetched
        finally:
            await transport.close()
            await dsp.delivery.close()
            for endpoint in endpoints:
                await endpoint.stop()
            await runner.cleanup()
            await premises.close()

    try:
        responses, fetched = clock.run(main)
        held = identities.certificate(ESME, "DS")
        statuses = {r.serial: r.status for r in repo.search(ESME, device=True)}
    finally:
        smki.stop()
        repo.close()
    return responses, fetched, held, statuses


def keystore_of(fetched) -> Keystore:
    keys = Keystore(check_validity=False)
    for found, der in fetched:
        keys.add_pem(client.pem(der), f"SMKI {found.serial}")
    return keys


#: where the two lives kept their state (for the command-line test)
STATE: dict[str, Path] = {}


@pytest.fixture(scope="module")
def two_lives(tmp_path_factory, schema, trusted, dsp):
    state = STATE["folder"] = tmp_path_factory.mktemp("state")
    first = run_7_6(state, schema, trusted, dsp, counter=1000)
    second = run_7_6(state, schema, trusted, dsp, counter=2000)
    return first, second


def test_device_responses_verify_with_the_certificate_from_the_smki_service(two_lives):
    (responses, fetched, held, statuses), _ = two_lives
    ds = [der for found, der in fetched if found.usage == "DS"]
    assert ds == [held]  # one in-use DS certificate: the one the ESME signs with
    keys = keystore_of(fetched)
    for raw in responses:  # the Supplier's and the DNO's 7.6
        message = decode(raw)
        assert message.cra == "response" and message.signature is not None
        assert verify(message, keys).outcome == "verified"
    # RTDS's own certificate for the ESME is retired, not served as in use
    assert sorted(statuses.values()).count(IN_USE) == len(fetched)
    assert NOT_IN_USE in statuses.values()


def test_the_rtds_keystore_alone_does_not_verify_them(two_lives):
    (responses, _fetched, _held, _statuses), _ = two_lives
    rtds = Keystore.open(RTDS_KEYSTORE, check_validity=False)
    assert verify(responses[0], rtds).outcome != "verified"


def test_a_restart_keeps_the_certificate_byte_identical(two_lives):
    (_r1, fetched1, held1, _s1), (responses2, fetched2, held2, _s2) = two_lives
    assert held2 == held1
    assert sorted(der for _f, der in fetched2) == sorted(der for _f, der in fetched1)
    keys = keystore_of(fetched1)  # what a client fetched before the restart
    assert all(verify(raw, keys).outcome == "verified" for raw in responses2)


def test_gbhan_gbcs_verify_with_the_fetched_certificates(two_lives, tmp_path, capsys):
    (responses, fetched, _held, _statuses), _ = two_lives
    folder = tmp_path / "keystore"
    client.write_pem_folder(fetched, folder, ESME)
    message = tmp_path / "response.hex"
    message.write_text(responses[1].hex())
    assert cli.main(["gbcs", "verify", str(message), "--keystore", str(folder)]) == 0
    assert "outcome: verified" in capsys.readouterr().out
    tampered = bytearray(responses[1])
    tampered[-5] ^= 1
    message.write_text(tampered.hex())
    assert cli.main(["gbcs", "verify", str(message), "--keystore", str(folder)]) == 1


def test_gbhan_smki_fetch_then_gbcs_verify(two_lives, tmp_path, capsys):
    """The command line only: `gbhan smki fetch` from a service over the state's repository,
    then `gbhan gbcs verify --keystore` on the folder it wrote."""
    (responses, _fetched, _held, _statuses), _ = two_lives
    repo = Repository(STATE["folder"] / "smki.db")
    smki = SmkiService(repo, "127.0.0.1", 0).start()
    try:
        fetched = cli.main(["smki", "fetch", "00-DB-12-34-56-78-90-A0", "--url", smki.url,
                            "--out", str(tmp_path / "keys")])  # fmt: skip
        missing = cli.main(["smki", "fetch", "01-02-03-04-05-06-07-08", "--url", smki.url,
                            "--out", str(tmp_path / "none")])  # fmt: skip
    finally:
        smki.stop()
        repo.close()
    assert fetched == 0 and missing == 1
    message = tmp_path / "response.hex"
    message.write_text(responses[0].hex())
    capsys.readouterr()
    assert cli.main(["gbcs", "verify", str(message), "--keystore", str(tmp_path / "keys")]) == 0
    assert "outcome: verified" in capsys.readouterr().out
