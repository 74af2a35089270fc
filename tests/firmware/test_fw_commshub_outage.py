"""The Comms Hub's outage rules on the virtual board, in simulated time: no outage
notification under 3 minutes, the notification after 3 minutes plus dither, 8F35/8F36 on
restoration (decoded with gbcs), flapping mains, a holdup that dies first, and power cuts
while a notification is on its way."""

from __future__ import annotations

import datetime as dt

import pytest
from commshub_helpers import HUB_RADIO, T0, Hub, of_kind, unique, zigbee

import gbcs
from emulator import data
from emulator.backoffice import commshub_wan as wan
from emulator.backoffice.duis import load_schema
from gbcs.alerts import interpret_dlms

OUTAGE, RESTORED = wan.FrameType.OUTAGE, wan.FrameType.RESTORED
SCHEMA = str(data.duis_schema())


@pytest.fixture
def make_hub(tmp_path):
    hubs = []

    def _make(**settings) -> Hub:
        hub = Hub(tmp_path / f"flash{len(hubs)}", **settings)
        hubs.append(hub)
        return hub

    yield _make
    for hub in hubs:
        hub.close()


def cosem(unix: int) -> bytes:
    t = dt.datetime.fromtimestamp(unix, dt.UTC)
    return bytes([t.year >> 8, t.year & 0xFF, t.month, t.day, 0xFF, t.hour, t.minute,
                  t.second, 0, 0x80, 0, 0xFF])


def check_restoration(frame: wan.Frame, code: int, start: int, end: int) -> None:
    """The hub's own PRA: fields, and its ECS80-shaped GBCS decoded by gbcs."""
    note = wan.parse_restored(frame.payload)
    assert (note.hub, note.code, note.start, note.end) == (
        HUB_RADIO, code, zigbee(start), zigbee(end))
    message = gbcs.decode(note.gbcs)
    assert message.use_case.name == "ECS80"
    assert message.originator == HUB_RADIO and message.counter == frame.seq
    assert message.signature == b""  # unsigned: the hub's word, not a device signature
    fields = interpret_dlms(message.message_code, message.payload.notification.value)
    assert fields.alert_code == code
    assert fields.interruption_time == cosem(start)
    assert fields.restoration_time == cosem(end)


def test_outage_of_2_minutes_sends_no_outage_notification_and_one_8f35(make_hub):
    hub = make_hub(pra_dither=5)
    hub.at(T0)
    hub.mains(False)
    frames = hub.run_until(T0 + 120, step=5)
    hub.mains(True)
    frames += hub.run_until(T0 + 240, step=2)
    assert of_kind(frames, OUTAGE) == []
    restored = hub.expect(RESTORED)
    assert len(restored) == 1
    check_restoration(restored[0], 0x8F35, T0, T0 + 120)
    assert hub.counters()["acked"] == "1" and hub.counters()["queued"] == "0"


def test_outage_of_4_minutes_notifies_after_3_minutes_plus_dither_then_8f36(make_hub):
    hub = make_hub(dither=20, pra_dither=5)
    hub.at(T0)
    hub.mains(False)
    hub.run_until(T0 + 175, step=25)
    assert hub.frames == [] or of_kind(hub.frames, OUTAGE) == []
    for frame in hub.run_until(T0 + 240):
        assert frame.kind != RESTORED
    outage = hub.expect(OUTAGE)
    assert len(outage) == 1
    note = wan.parse_outage(outage[0].payload)
    assert note.hub == HUB_RADIO and note.start == zigbee(T0) and not note.late
    # Sent (by the hub's clock) at 3 minutes plus a dither of 0..20 s.
    assert zigbee(T0 + 180) <= note.sent_at <= zigbee(T0 + 200)
    # The DSP's AD1 from it: a DUIS DCCAlertMessage the schema accepts.
    alert = wan.power_outage_alert(note, "1234567890123", dt.datetime.fromtimestamp(T0 + 200))
    load_schema(SCHEMA).validate(alert)
    assert alert.find(".//{*}StartDateTime").text == "2027-01-15T08:00:00.000Z"
    hub.mains(True)
    hub.run_until(T0 + 260)
    restored = hub.expect(RESTORED)
    assert len(restored) == 1
    check_restoration(restored[0], 0x8F36, T0, T0 + 240)


def test_restored_during_the_dither_still_reports_the_outage_first(make_hub):
    hub = make_hub(dither=60, pra_dither=0)
    hub.at(T0)
    hub.mains(False)
    hub.run_until(T0 + 175, step=25)
    hub.run_until(T0 + 181)
    # queued, or (a dither of 0 or 1 s) already sent, and acked by run_until
    alerts = hub.listing("alerts")
    sent = of_kind(hub.frames, OUTAGE)
    if not sent and not any(a.startswith("alert poa") for a in alerts):
        pytest.fail("the outage notification was neither queued nor sent: " + repr(alerts))
    hub.mains(True)
    frames = hub.run_until(T0 + 300, step=4)
    kinds = [f.kind for f in unique(hub.frames) if f.kind in (OUTAGE, RESTORED)]
    assert kinds == [OUTAGE, RESTORED]
    check_restoration(unique(of_kind(frames + hub.frames, RESTORED))[0], 0x8F36, T0, T0 + 181)


def test_flapping_mains_gives_one_8f35_per_interruption_and_no_outage_notification(make_hub):
    hub = make_hub(pra_dither=3, holdup=900)  # the default 600 s would run out (next test)
    hub.at(T0)
    t = T0
    for _ in range(4):  # 2m50s off, 10 s on: 11m20s off in all, never 3 minutes at once
        hub.mains(False)
        hub.run_until(t + 170, step=10)
        hub.mains(True)
        hub.run_until(t + 180, step=2)
        t += 180
    hub.run_until(t + 30)
    assert of_kind(hub.frames, OUTAGE) == []
    restored = hub.expect(RESTORED)
    assert [wan.parse_restored(f.payload).code for f in restored] == [0x8F35] * 4
    for i, frame in enumerate(restored):
        check_restoration(frame, 0x8F35, T0 + 180 * i, T0 + 180 * i + 170)


def test_flapping_drains_a_holdup_that_has_no_time_to_recharge(make_hub):
    hub = make_hub(holdup=100)
    hub.at(T0)
    hub.mains(False)
    hub.run_until(T0 + 60, step=10)
    hub.mains(True)
    hub.run_until(T0 + 70, step=10)  # 10 s of charge back: 50 s left
    assert hub.counters()["charge"] == "50"
    hub.mains(False)
    hub.board.send_console(f"clock {T0 + 130}")  # 60 s more than it has
    hub.board.proc.wait(timeout=5)
    assert not hub.board.alive()


@pytest.mark.parametrize(
    "back_after, codes, late_outage",
    [(150, [0x8F35], False), (300, [0x8F36], True)],
    ids=["restored-at-2m30", "restored-at-5m"],
)
def test_holdup_shorter_than_3_minutes(make_hub, back_after, codes, late_outage):
    """The hub dies after 2 minutes on its holdup, before any outage notification; when the
    power comes back it boots, finds the outage in flash and reports it late."""
    hub = make_hub(holdup=120, pra_dither=0, dither=0)
    hub.at(T0)
    hub.mains(False)
    hub.run_until(T0 + 119, step=7)
    assert hub.board.alive()
    hub.board.send_console(f"clock {T0 + 120}")
    hub.board.proc.wait(timeout=5)
    assert not hub.board.alive()
    assert of_kind(hub.frames, OUTAGE) == []
    hub.board.power_cut()  # tidy the process and the UART FIFOs
    hub.power_on_at(T0 + back_after)
    hub.run_until(T0 + back_after + 5)
    outage = unique(of_kind(hub.frames, OUTAGE))
    assert len(outage) == (1 if late_outage else 0)
    if late_outage:
        note = wan.parse_outage(outage[0].payload)
        assert note.start == zigbee(T0) and note.late
    restored = hub.expect(RESTORED)
    assert [wan.parse_restored(f.payload).code for f in restored] == codes
    check_restoration(restored[0], codes[0], T0, T0 + back_after)
    logs = " ".join(hub.board.log(20))
    assert "power holdup-exhausted" in logs and f"restart-after-outage start={T0}" in logs


def test_power_cut_while_the_outage_notification_is_unacknowledged(make_hub):
    """Sent but not acknowledged when the power goes: after the restart the same
    notification (same seq, same start) goes again, then the restoration alert."""
    hub = make_hub(dither=0, pra_dither=0, retry=10)
    hub.at(T0)
    hub.mains(False)
    hub.run_until(T0 + 175, step=25, ack=False)
    hub.run_until(T0 + 185, ack=False)
    first = hub.expect(OUTAGE)
    assert len(first) == 1
    hub.board.power_cut()
    hub.frames.clear()
    hub.power_on_at(T0 + 250)
    hub.run_until(T0 + 252)
    again = hub.expect(OUTAGE)
    assert [f.seq for f in again] == [first[0].seq]
    assert wan.parse_outage(again[0].payload).start == zigbee(T0)
    restored = unique(of_kind(hub.frames, RESTORED))
    assert len(restored) == 1
    check_restoration(restored[0], 0x8F36, T0, T0 + 250)
    assert restored == hub.expect(RESTORED)
    hub.run_until(T0 + 300)
    assert hub.counters()["queued"] == "0"


@pytest.mark.slow
@pytest.mark.parametrize("cut_after_ms", [0, 1, 3, 10])
def test_power_cut_at_the_instant_of_sending(make_hub, cut_after_ms):
    """A SIGKILL right after the clock step that makes the hub send: whatever reached flash,
    the notification is delivered after the restart (at least once, never lost)."""
    import time

    hub = make_hub(dither=0, pra_dither=0)
    hub.at(T0)
    hub.mains(False)
    hub.run_until(T0 + 179, step=30)
    hub.board.send_console(f"clock {T0 + 180}")
    time.sleep(cut_after_ms / 1000)
    hub.board.power_cut()
    hub.frames.clear()
    hub.power_on_at(T0 + 200)
    hub.run_until(T0 + 205)
    assert [wan.parse_outage(f.payload).start for f in hub.expect(OUTAGE)] == [zigbee(T0)]
    assert [wan.parse_restored(f.payload).code for f in hub.expect(RESTORED)] == [0x8F36]


def test_unacknowledged_notifications_are_retried_then_given_up(make_hub):
    hub = make_hub(pra_dither=0, retry=10, retries=3)
    hub.at(T0)
    hub.mains(False)
    hub.run_until(T0 + 30, step=5)
    hub.mains(True)
    hub.run_until(T0 + 100, step=5, ack=False)
    sends = of_kind(hub.frames, RESTORED)
    assert len(sends) == 4 and len(unique(sends)) == 1  # first try + 3 retries, one seq
    counters = hub.counters()
    assert counters["gave-up"] == "1" and counters["queued"] == "0"
