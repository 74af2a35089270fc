"""Captures: a join, a ZDO interview, On/Off and DRLC commands and an APS-secured tunnel, all
written by dpkt as 802.15.4 + NWK (network key) + APS (+ link key) + ZCL/ZDO, and checked with
tshark: zero malformed frames or expert warnings once given the keys, field values as sent."""

from __future__ import annotations

import asyncio

import dpkt
import pytest
import zigpy.zdo.types as zdo_t
from han_helpers import NETWORK_KEY, formed_network, tshark_fields, tshark_problems
from se_capture import GBCS_COMMAND, LCE
from zigpy.zcl import foundation as f
from zigpy.zcl.clusters.general import OnOff

from emulator.clock import Clock
from emulator.han import se_clusters as se
from emulator.han import zcl, zdo
from emulator.han.medium import PROFILE_ZDO, DeliveryStatus, packet_to
from emulator.han.pcap import LINKTYPE_IEEE802_15_4_NOFCS, HanCapture

ON_OFF_ROUNDS = 20


def _write_session(path) -> tuple[list[str], dict]:
    clock = Clock()

    async def main():
        capture = HanCapture(path, clock)
        medium, hub, switch = await formed_network(clock, capture=capture)
        n = int(switch.nwk)
        for request, args in (
            (zdo_t.ZDOCmd.Node_Desc_req, (n,)),
            (zdo_t.ZDOCmd.Active_EP_req, (n,)),
            (zdo_t.ZDOCmd.Simple_Desc_req, (n, 1)),
        ):
            frame = zdo.encode(request, hub.next_tsn(), *args)
            await hub.request(n, 0, request, frame, src_ep=0, profile_id=PROFILE_ZDO)
        for index in range(ON_OFF_ROUNDS):
            name = "off" if index % 2 == 0 else "on"
            frame = zcl.cluster_command(OnOff, name, hub.next_tsn(), from_server=False)
            await hub.request(n, 1, OnOff.cluster_id, frame)
        lce = zcl.cluster_command(
            se.DemandResponseLoadControl,
            "load_control_event",
            hub.next_tsn(),
            from_server=True,
            **LCE,
        )
        await hub.request(n, 1, se.DemandResponseLoadControl.cluster_id, lce)
        tunnel = zcl.cluster_command(
            se.Tunneling,
            "transfer_data",
            hub.next_tsn(),
            from_server=True,
            tunnel_id=3,
            data=GBCS_COMMAND,
        )
        secured = await hub.send(
            packet_to(n, 1, se.Tunneling.cluster_id, tunnel, aps_encryption=True)
        )
        await asyncio.sleep(1)
        capture.close()
        return capture.tshark_key_options(), {
            "secured": secured,
            "frames": capture.frames_written,
            "air": medium.stats["air_frames"],
            "switch_nwk": n,
        }

    return clock.run(main)


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    path = tmp_path_factory.mktemp("capture") / "han.pcap"
    keys, facts = _write_session(path)
    return path, keys, facts


def test_every_air_frame_is_in_the_capture_with_the_right_link_type(session):
    path, _keys, facts = session
    with open(path, "rb") as fh:
        reader = dpkt.pcap.Reader(fh)
        assert reader.datalink() == LINKTYPE_IEEE802_15_4_NOFCS
        records = list(reader)
    assert len(records) == facts["frames"] == facts["air"]
    stamps = [ts for ts, _ in records]
    assert stamps == sorted(stamps) and stamps[-1] > stamps[0]


def test_capture_dissects_without_malformed_frames_or_warnings(tshark, session):
    path, keys, facts = session
    assert facts["secured"] is DeliveryStatus.SUCCESS
    assert tshark_problems(tshark, path, keys) == []
    # Give tshark only the network key: the APS-secured frames must now be flagged.
    network_only = keys[:2]
    assert NETWORK_KEY.hex() in network_only[1]
    assert tshark_problems(tshark, path, network_only) != []


def test_transport_key_decrypts_to_the_network_key(tshark, session):
    path, keys, _facts = session
    rows = tshark_fields(
        tshark,
        path,
        keys,
        ["zbee_aps.cmd.key_type", "zbee_aps.cmd.key", "zbee.sec.key_id"],
        "zbee_aps.cmd.id == 0x05",
    )
    assert len(rows) == 1
    key_type, key, key_id = rows[0]
    assert int(key_type, 0) == 1  # standard network key
    assert bytes.fromhex(key.replace(":", "")) == NETWORK_KEY
    assert int(key_id, 0) == 2  # secured with the key-transport key


def test_nwk_frame_counters_increase_per_source(tshark, session):
    path, keys, facts = session
    rows = tshark_fields(
        tshark, path, keys, ["zbee_nwk.src", "zbee.sec.counter"], "zbee_nwk.security == 1"
    )
    per_source: dict[int, list[int]] = {}
    for src, counter in rows:
        per_source.setdefault(int(src, 0), []).append(int(counter.split(",")[0], 0))
    assert set(per_source) == {0x0000, facts["switch_nwk"]}
    for counters in per_source.values():
        assert counters == sorted(counters) and len(set(counters)) == len(counters)


def test_zdo_interview_and_on_off_commands_are_visible(tshark, session):
    path, keys, facts = session
    zdo_rows = tshark_fields(tshark, path, keys, ["zbee_aps.zdp_cluster"], "zbee_zdp")
    clusters = {int(r[0], 0) for r in zdo_rows}
    assert {0x0013, 0x0002, 0x8002, 0x0005, 0x8005, 0x0004, 0x8004} <= clusters
    on_off = tshark_fields(
        tshark,
        path,
        keys,
        ["zbee_zcl_general.onoff.cmd.srv_rx.id", "zbee_aps.profile"],
        "zbee_zcl_general.onoff.cmd.srv_rx.id",
    )
    assert [int(cmd, 0) for cmd, _ in on_off] == [0x00, 0x01] * (ON_OFF_ROUNDS // 2)
    assert {int(profile, 0) for _, profile in on_off} == {0x0109}
    default_responses = tshark_fields(
        tshark,
        path,
        keys,
        ["zbee_zcl.cmd.id.rsp", "zbee_zcl.attr.status"],
        "zbee_zcl.cmd.id == 0x0b && zbee_aps.cluster == 0x0006",
    )
    assert [int(cmd, 0) for cmd, _ in default_responses] == [0x00, 0x01] * (ON_OFF_ROUNDS // 2)
    assert {int(status, 0) for _, status in default_responses} == {int(f.Status.SUCCESS)}


def test_aps_secured_tunnel_frame_is_decrypted_down_to_gbcs(tshark, session):
    path, keys, _facts = session
    rows = tshark_fields(
        tshark,
        path,
        keys,
        ["zbee_aps.security", "zbee.sec.key_id", "zbee_zcl_se.tun.tunnel_id", "frame.protocols"],
        "zbee_zcl_se.tun.cmd.srv_tx.id == 0x01",
    )
    assert len(rows) == 1
    security, key_id, tunnel_id, protocols = rows[0]
    # NWK layer: network key (1); APS layer: data/link key (0)
    assert security in ("1", "True") and [int(k, 0) for k in key_id.split(",")] == [1, 0]
    assert int(tunnel_id, 0) == 3
    assert protocols.endswith("gbcs_tunnel:gbcs_message:data")
