"""The DSP's end of a Comms Hub's WAN link (emulator/backoffice/hub_link.py) against the real
hub firmware on a virtual board, in simulated time: 4 minutes off gives the DNO one signed,
schema-valid AD1 (over HTTP) and then the hub's 8F36; 2 minutes off gives no AD1 and one
8F35; the hub's resends stop once acknowledged; a resent or replayed notification raises no
second AD1; garbage, forged and unverifiable frames are counted refusals, never a crash."""

from __future__ import annotations

import asyncio
import base64
import struct

import pytest
from backoffice_helpers import RTDS
from hub_link_rig import HUB, MPAN, T0, HubRig, dsp_for_hub, endpoint_for, zigbee

import gbcs
from emulator.backoffice import commshub_wan as wan
from emulator.backoffice import document, duis

SR = f"{{{duis.SR}}}"
ECS80 = bytes.fromhex((RTDS / "NA_ECS80" / "ECS80_NA_8F36_ALERT_GBCS.HEX").read_text().strip())
METER = bytes.fromhex("00DB1234567890A0")  # the RTDS ESME, in the hub's premises
METER_CODE = bytes.fromhex("83fed3407a939723a5c639b26916d505")  # any 16-byte install code


def dcc_alerts(dno) -> list:
    return [a for a in dno.received if a.kind == "dcc-alert"]


def device_alerts(dno) -> list:
    return [a for a in dno.received if a.kind == "device-alert"]


def check_ad1(answer, schema, trusted) -> None:
    """The AD1 as the DNO got it: schema 5.4, the DSP's XML signature, the event's fields."""
    checked = document.check(answer.xml, schema, trusted, require_signature=True)
    assert checked.certificate is not None  # signed, and by a certificate the DNO trusts
    root = checked.root
    assert root.findtext(f".//{SR}DCCAlertCode") == "AD1"
    event = root.find(f".//{SR}DCCAlert/{SR}PowerOutageEvent")
    assert event.findtext(f"{SR}CommsHubDeviceID") == duis.eui_text(HUB)
    assert event.findtext(f"{SR}StartDateTime") == "2027-01-15T08:00:00.000Z"  # = T0
    assert event.findtext(f"{SR}MPxN") == MPAN


def test_4_minutes_off_gives_one_signed_ad1_over_http_then_the_hubs_8f36(
    tmp_path, schema, trusted, dsp
):
    async def go():
        dsp_, dno = dsp_for_hub(schema, trusted, dsp, http=True)
        endpoint = await endpoint_for(dsp_, dno)
        rig = HubRig(tmp_path / "flash", dsp_, dither=20, pra_dither=5, retry=10)
        try:
            rig.serve()
            await rig.at(T0)
            await rig.mains(False)
            await rig.run_until(T0 + 175, step=25)
            assert dcc_alerts(dno) == []  # nothing before 3 minutes
            await rig.run_until(T0 + 240)
            ad1 = dcc_alerts(dno)
            await rig.mains(True)
            await rig.run_until(T0 + 320, step=2)  # 8 retry periods: resends would show
            counters = await rig.counters()
            await rig.unserve()
        finally:
            rig.close()
            await dsp_.delivery.close()
            await endpoint.stop()
        return dsp_, dno, rig.link, ad1, counters

    dsp_, dno, link, ad1, counters = asyncio.run(go())
    assert len(ad1) == 1 and len(dcc_alerts(dno)) == 1
    check_ad1(ad1[0], schema, trusted)
    record = link.outages[0]
    assert record.start.timestamp() == T0 and not record.late
    assert T0 + 180 <= record.sent_at.timestamp() <= T0 + 200  # 3 minutes + dither ≤ 20 s
    assert record.sent_at <= record.raised_at
    assert dsp_.dcc_alerts[0].code == "AD1" and dsp_.dcc_alerts[0].recipient == dno.eui
    # the restoration: the hub's own 8F36, its word (unsigned), marked as such
    restored = device_alerts(dno)
    assert len(restored) == 1
    assert restored[0].root.findtext(f".//{SR}AlertCode") == "8F36"
    message = gbcs.decode(restored[0].gbcs_payload)
    assert message.originator == HUB and message.signature == b""
    [restoration] = link.restorations
    assert (restoration.source, restoration.verified, restoration.code) == ("hub", False, 0x8F36)
    assert restoration.start.timestamp() == T0 and restoration.end.timestamp() == T0 + 240
    # each notification went once: the acknowledgement stopped the hub's resends
    assert link.frames["OUTAGE"] == 1 and link.frames["RESTORED"] == 1
    assert counters["acked"] == "2" and counters["queued"] == "0"
    assert link.rejected == {} and link.duplicates == 0


def test_2_minutes_off_gives_no_ad1_and_one_8f35(tmp_path, schema, trusted, dsp):
    async def go():
        dsp_, dno = dsp_for_hub(schema, trusted, dsp, http=False)
        rig = HubRig(tmp_path / "flash", dsp_, pra_dither=5, retry=10)
        try:
            rig.serve()
            await rig.at(T0)
            await rig.mains(False)
            await rig.run_until(T0 + 120, step=10)
            await rig.mains(True)
            await rig.run_until(T0 + 200, step=2)
            await rig.unserve()
        finally:
            rig.close()
        return dsp_, dno, rig.link

    dsp_, dno, link = asyncio.run(go())
    assert dcc_alerts(dno) == [] and dsp_.dcc_alerts == [] and link.outages == []
    [alert] = device_alerts(dno)
    assert alert.root.findtext(f".//{SR}AlertCode") == "8F35"
    assert gbcs.decode(alert.gbcs_payload).originator == HUB
    assert link.frames["RESTORED"] == 1 and link.frames.get("OUTAGE", 0) == 0
    assert [(r.code, r.end.timestamp()) for r in link.restorations] == [(0x8F35, T0 + 120)]


def test_a_resent_or_replayed_notification_raises_no_second_ad1(tmp_path, schema, trusted, dsp):
    """The DSP is away while the hub resends (same seq); then the resends arrive together, and
    later someone replays the notification (same seq, then a new seq for the same outage)."""

    async def go():
        dsp_, dno = dsp_for_hub(schema, trusted, dsp, http=False)
        rig = HubRig(tmp_path / "flash", dsp_, dither=0, retry=10)
        try:
            await rig.at(T0)
            await rig.mains(False)
            await rig.run_until(T0 + 175, step=25)
            await rig.run_until(T0 + 205)  # sent at 180, resent at 190 and 200: unheard
            rig.serve()
            await asyncio.sleep(0.3)
            await rig.run_until(T0 + 240, step=2)
            sent_by_hub = rig.link.frames["OUTAGE"]
            seq = rig.link.outages[0].seq
            replay = wan.encode(
                wan.FrameType.OUTAGE, seq, wan.outage_payload(HUB, zigbee(T0), zigbee(T0 + 180))
            )
            await rig.link.receive(replay)
            same_outage = wan.outage_payload(HUB, zigbee(T0), zigbee(T0 + 181))
            await rig.link.receive(wan.encode(wan.FrameType.OUTAGE, seq + 100, same_outage))
            await rig.unserve()
        finally:
            rig.close()
        return dsp_, dno, rig.link, sent_by_hub

    dsp_, dno, link, sent_by_hub = asyncio.run(go())
    assert sent_by_hub == 3  # the first try and two resends, one seq
    assert len(dcc_alerts(dno)) == 1 and len(dsp_.dcc_alerts) == 1 and len(link.outages) == 1
    assert link.duplicates == 4  # two resends, the replay, the same outage under a new seq


def test_the_meters_signed_ecs80_through_the_hubs_tunnel_reaches_the_dno_verified(
    tmp_path, schema, trusted, dsp
):
    async def go():
        dsp_, dno = dsp_for_hub(schema, trusted, dsp, http=False)
        rig = HubRig(tmp_path / "flash", dsp_)
        try:
            rig.serve()
            await rig.tunnel_up(METER, METER_CODE, ECS80)
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 5
            while not device_alerts(dno) and loop.time() < deadline:
                await asyncio.sleep(0.05)
            await rig.unserve()
        finally:
            rig.close()
        return dno, rig.link

    dno, link = asyncio.run(go())
    [alert] = device_alerts(dno)
    assert alert.gbcs_payload == ECS80 and alert.root.findtext(f".//{SR}AlertCode") == "8F36"
    [record] = link.restorations
    assert (record.source, record.verified, record.originator) == ("device", True, METER)
    assert link.frames["GBCS_UP"] == 1 and link.frames["DEVICE_EVENT"] == 1
    assert link.rejected == {}


# --- the link on any stream: garbage, forged and device alerts (no board needed) ----------


def restored_frame(seq: int, code: int = 0x8F36) -> bytes:
    """A forged RESTORED frame: the meter's signed ECS80 passed off as the hub's own."""
    return wan.encode(
        wan.FrameType.RESTORED,
        seq,
        HUB + struct.pack(">HII", code, zigbee(T0), zigbee(T0 + 240)) + ECS80,
    )


async def link_over_tcp(dsp_, frames: list[bytes], expected: int):
    """Serve the link on a real TCP connection; send `frames`; read `expected` ACKs back."""
    from emulator.backoffice.hub_link import HubLink

    link = HubLink(dsp_, HUB)
    server = await asyncio.start_server(link.serve_stream, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    decoder, acks = wan.Decoder(), []
    for data in frames:
        writer.write(data)
    await writer.drain()
    while len(acks) < expected:
        acks += decoder.feed(await asyncio.wait_for(reader.read(4096), 5))
    writer.close()
    server.close()
    await server.wait_closed()
    return link, acks


@pytest.mark.parametrize("tamper", [False, True], ids=["meter-ecs80", "tampered-ecs80"])
def test_garbage_forgeries_and_the_meters_ecs80_over_a_tcp_stream(tamper, schema, trusted, dsp):
    ecs80 = bytearray(ECS80)
    if tamper:
        ecs80[-10] ^= 0x01  # in the signature: the meter never said this
    frames = [
        b"\x00noise GW\xff\xff",  # noise, then a magic with an impossible length
        wan.encode(wan.FrameType.OUTAGE, 7, bytes(5))[:-1] + b"\x00",  # bad CRC: skipped
        wan.encode(0x7E, 1, b"?"),  # unknown type
        wan.encode(wan.FrameType.OUTAGE, 2, bytes(5)),  # too short
        wan.encode(wan.FrameType.OUTAGE, 3, wan.outage_payload(bytes(8), 5, 6)),  # not our hub
        restored_frame(4),  # signed, the meter's: not the hub's own alert
        wan.encode(wan.FrameType.GBCS_UP, 5, METER + bytes(ecs80)),
        wan.encode(wan.FrameType.GBCS_UP, 6, METER + bytes(ecs80)),  # the same alert again
        wan.encode(wan.FrameType.ACK, 9, b"\x00"),  # never answered
    ]

    async def go():
        dsp_, dno = dsp_for_hub(schema, trusted, dsp, http=False)
        link, acks = await link_over_tcp(dsp_, frames, 6)
        return dno, link, acks

    dno, link, acks = asyncio.run(go())
    status = {f.seq: f.payload[0] for f in acks}
    assert status == {1: wan.AckStatus.UNKNOWN_TYPE, 2: wan.AckStatus.LAYOUT,
                      3: wan.AckStatus.LAYOUT, 4: wan.AckStatus.LAYOUT,
                      5: wan.AckStatus.LAYOUT if tamper else wan.AckStatus.OK,
                      6: wan.AckStatus.LAYOUT if tamper else wan.AckStatus.OK}  # fmt: skip
    assert link.garbage >= len(b"\x00noise ") + 1 and link.decoder.skipped["bad-crc"] >= 1
    expected = {"unknown-type": 1, "layout": 1, "wrong-hub": 1, "gbcs": 1}
    if tamper:
        expected["device-signature"] = 2
    assert dict(link.rejected) == expected
    assert link.outages == []
    if tamper:
        assert device_alerts(dno) == [] and link.restorations == []
    else:
        [alert] = device_alerts(dno)  # once: the second copy is a duplicate
        assert base64.b64decode(alert.root.findtext(f".//{SR}GBCSPayload")) == ECS80
        assert alert.root.findtext(f".//{SR}AlertCode") == "8F36"
        [record] = link.restorations
        assert (record.source, record.verified, record.originator) == ("device", True, METER)
        assert link.duplicates == 1


def test_an_outage_from_a_hub_whose_premises_has_no_mpxn_is_refused(schema, trusted, dsp):
    async def go():
        dsp_, dno = dsp_for_hub(schema, trusted, dsp, http=False)
        name = dsp_.inventory.get(HUB).premises
        record = dsp_.inventory.premises[name]
        dsp_.inventory.premises[name] = type(record)(
            record.name, record.supplier, record.electricity_distributor
        )
        frame = wan.encode(
            wan.FrameType.OUTAGE, 4000, wan.outage_payload(HUB, zigbee(T0), zigbee(T0 + 180))
        )
        link, acks = await link_over_tcp(dsp_, [frame], 1)
        return dno, link, acks

    dno, link, acks = asyncio.run(go())
    assert [a.payload for a in acks] == [bytes([wan.AckStatus.LAYOUT])]
    assert link.rejected == {"no-mpxn": 1} and dcc_alerts(dno) == []
