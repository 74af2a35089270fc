"""The key establishment stand-in: the CBKE message flow over the HAN, a new APS link key that
Wireshark then uses, and the Terminate paths (wrong CA, unknown issuer)."""

from __future__ import annotations

import asyncio

import pytest
from han_helpers import formed_network, tshark_fields, tshark_problems
from se_capture import GBCS_COMMAND

from emulator.clock import Clock
from emulator.han import se_clusters as se
from emulator.han import zcl
from emulator.han.key_establishment import (
    KeyEstablishmentError,
    KeyEstablishmentServer,
    StandInCa,
    establish_link_key,
)
from emulator.han.medium import DeliveryStatus, packet_to
from emulator.han.pcap import HanCapture

CA = StandInCa(secret=bytes.fromhex("000102030405060708090a0b0c0d0e0f"))


def test_cert_layout_and_checks():
    from zigpy.types import EUI64

    subject = EUI64.convert("00:0d:6f:00:00:00:00:a5")
    cert = CA.certificate(subject)
    assert len(cert) == 48 and cert[22:30] == bytes.fromhex("000d6f00000000a5")
    assert CA.check(cert, subject) is None
    other = EUI64.convert("00:0d:6f:00:00:00:00:a6")
    assert CA.check(cert, other) == se.KeTerminateStatus.Invalid_Certificate
    foreign = StandInCa(secret=bytes(16), issuer=b"OTHERCA1").certificate(subject)
    assert CA.check(foreign, subject) == se.KeTerminateStatus.Unknown_Issuer


@pytest.fixture(scope="module")
def ke_run(tmp_path_factory):
    pcap = tmp_path_factory.mktemp("ke") / "ke.pcap"
    clock = Clock()

    async def main():
        capture = HanCapture(pcap, clock)
        medium, hub, switch = await formed_network(clock, capture=capture)
        server = KeyEstablishmentServer(hub, CA, compute_s=1.5)
        install_key = medium.link_key(hub.ieee, switch.ieee)
        start = clock.now()
        new_key = await establish_link_key(switch, CA, compute_s=1.5)
        elapsed = clock.now() - start
        await asyncio.sleep(0.5)
        frame = zcl.cluster_command(
            se.Tunneling,
            "transfer_data",
            hub.next_tsn(),
            from_server=True,
            tunnel_id=1,
            data=GBCS_COMMAND,
        )
        status = await hub.send(packet_to(int(switch.nwk), 1, 0x0704, frame, aps_encryption=True))
        await asyncio.sleep(0.5)
        capture.close()
        return {
            "install_key": install_key,
            "new_key": new_key,
            "medium_key": medium.link_key(hub.ieee, switch.ieee),
            "server": dict(server.established),
            "elapsed": elapsed,
            "status": status,
            "keys": capture.tshark_key_options(),
            "switch_ieee": switch.ieee,
        }

    return pcap, clock.run(main)


def test_exchange_installs_a_new_link_key_on_both_sides(ke_run):
    _pcap, run = ke_run
    assert run["new_key"] == run["medium_key"] == run["server"][run["switch_ieee"]]
    assert run["new_key"] != run["install_key"] and len(run["new_key"]) == 16
    assert run["status"] is DeliveryStatus.SUCCESS
    # two compute steps on each side (ephemeral, confirm): 4 x 1.5 s plus air time
    assert 6.0 <= run["elapsed"] < 6.5


def test_capture_shows_the_ke_flow_and_decrypts_with_the_new_key(tshark, ke_run):
    pcap, run = ke_run
    assert run["new_key"].hex() in " ".join(run["keys"])
    assert tshark_problems(tshark, pcap, run["keys"]) == []
    rows = tshark_fields(
        tshark,
        pcap,
        run["keys"],
        ["zbee_zcl_se.ke.cmd.srv_rx.id", "zbee_zcl_se.ke.cmd.srv_tx.id"],
        "zbee_zcl_se.ke.cmd.srv_rx.id || zbee_zcl_se.ke.cmd.srv_tx.id",
    )
    flow = [("rx", int(a, 0)) if a else ("tx", int(b, 0)) for a, b in rows]
    assert flow == [("rx", 0), ("tx", 0), ("rx", 1), ("tx", 1), ("rx", 2), ("tx", 2)]
    tunnel = tshark_fields(
        tshark,
        pcap,
        run["keys"],
        ["zbee_zcl_se.tun.tunnel_id"],
        "zbee_zcl_se.tun.cmd.srv_tx.id == 0x01",
    )
    assert len(tunnel) == 1 and int(tunnel[0][0], 0) == 1
    # Without the new key, the APS-secured tunnel frame cannot be read.
    assert tshark_problems(tshark, pcap, _pairs_without(run["keys"], run["new_key"])) != []


def _pairs_without(options: list[str], key: bytes) -> list[str]:
    out = []
    for flag, value in zip(options[::2], options[1::2], strict=True):
        if key.hex() not in value:
            out += [flag, value]
    return out


@pytest.mark.parametrize(
    ("device_ca", "expected"),
    [
        (StandInCa(secret=bytes(16)), se.KeTerminateStatus.Invalid_Certificate),
        (StandInCa(secret=bytes(16), issuer=b"OTHERCA1"), se.KeTerminateStatus.Unknown_Issuer),
    ],
)
def test_foreign_certificates_are_terminated(device_ca, expected):
    clock = Clock()

    async def main():
        medium, hub, switch = await formed_network(clock)
        KeyEstablishmentServer(hub, CA)
        install_key = medium.link_key(hub.ieee, switch.ieee)
        with pytest.raises(KeyEstablishmentError) as info:
            await establish_link_key(switch, device_ca)
        return info.value.status, install_key, medium.link_key(hub.ieee, switch.ieee), hub

    status, before, after, hub = clock.run(main)
    assert status == expected
    assert before == after  # the install-code key stays in place
    assert hub.stats[f"ke_terminated_{expected.name}"] == 1


def test_wrong_shared_secret_fails_key_confirmation():
    """Same issuer and a certificate the TC accepts, but a different secret: Bad Key Confirm."""
    clock = Clock()

    class Impostor(StandInCa):
        def shared_secret(self, qeu, qev):
            return bytes(16)

    async def main():
        medium, hub, switch = await formed_network(clock)
        KeyEstablishmentServer(hub, CA)
        with pytest.raises(KeyEstablishmentError) as info:
            await establish_link_key(switch, Impostor(secret=CA.secret))
        return info.value.status

    assert clock.run(main) == se.KeTerminateStatus.Bad_Key_Confirm
