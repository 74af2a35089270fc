"""Frames the meter sends the switch (built with zigpy, as a meter would) and the steps the
conformance tests share. Every frame goes through the HAN (`han` fixture) unless a test is
about the radio UART itself."""

from __future__ import annotations

import json
import struct
import time
from pathlib import Path

import zigpy.types as t
from zigpy.zcl import foundation as f
from zigpy.zcl.clusters.general import Basic, LevelControl, OnOff

from emulator.han import se_clusters as se
from emulator.han import zcl
from hil.dut import DEFAULT_LABEL, RIG_ESME

ON_OFF, LEVEL, DRLC, CONFIG, BASIC = 0x0006, 0x0008, 0x0701, 0xFC00, 0x0000
ATTR_LABEL, ATTR_BOOST_ASSOCIATED, ATTR_BOOST_MINUTES, ATTR_CALENDAR = 0, 1, 2, 3
ATTR_LOG_SEQUENCE = 5
T_BOOL, T_UINT16, T_OCTETS, T_STRING = 0x10, 0x21, 0x41, 0x42
DEVICE_CLASS_EV = 0x0400  # electric vehicle (bit 10)
VECTORS = Path(__file__).resolve().parent / "vectors"

# DRLC Report Event Status codes (SE 1.4, D.2.3.3.1)
RECEIVED, STARTED, COMPLETED, OPT_OUT, CANCELLED, SUPERSEDED = 0x01, 0x02, 0x03, 0x04, 0x06, 0x07
REJECTED_UNDEFINED_CANCEL = 0xFD

_event_ids = iter(range(0x4000_0000, 0x7FFF_FFFF))


def next_event_id() -> int:
    """Issuer event ids unique within a run (the switch ignores repeats of an id it holds)."""
    return next(_event_ids)


REJECT_LOG_S = 60  # the switch writes at most one log entry about rejections a minute


def logged_refusals(dut, after_seq: int, reason: str) -> int:
    """How many `reason` refusals the log accounts for after entry `after_seq`, once the
    minute in which the board holds them back has passed: each "reject <reason> ..." entry
    is one, a "reject-summary n=.. <reason>=N ..." entry is N (it may also count refusals
    from before `after_seq` that fell in the same minute). A virtual board skips the minute
    (`advance`); a physical one is waited for."""
    reply = dut.console.command(f"advance {REJECT_LOG_S * 1000}")
    if not reply.startswith("ok advance"):
        time.sleep(REJECT_LOG_S + 1)
    count = 0
    for entry in dut.log(60):
        words = entry.split()
        if int(words[1]) <= after_seq or len(words) < 5:
            continue
        if words[3] == "reject" and words[4] == reason:
            count += 1
        elif words[3] == "reject-summary":
            for word in words[4:]:
                if word.startswith(reason + "="):
                    count += int(word.split("=")[1])
    return count


def malformed_vectors() -> list[dict]:
    return json.loads((VECTORS / "malformed.json").read_text())["vectors"]


# -- frames -------------------------------------------------------------------------------------


def on_off(name: str, tsn: int) -> bytes:
    return zcl.cluster_command(OnOff, name, tsn, from_server=False)


def on_with_timed_off(tsn: int, on_time_tenths: int) -> bytes:
    return zcl.cluster_command(
        OnOff, "on_with_timed_off", tsn, from_server=False,
        on_off_control=0, on_time=on_time_tenths, off_wait_time=0,
    )  # fmt: skip


def pct_to_zcl(pct: int) -> int:
    """0-100 % to the air's 0-254 (the switch's own rounding, docs/firmware.md)."""
    return (pct * 254 + 50) // 100


def move_to_level(tsn: int, pct: int, with_on_off: bool, transition: int = 0) -> bytes:
    name = "move_to_level_with_on_off" if with_on_off else "move_to_level"
    return zcl.cluster_command(
        LevelControl, name, tsn, from_server=False,
        level=pct_to_zcl(pct), transition_time=transition,
    )  # fmt: skip


def load_control_event(
    tsn: int,
    issuer: int,
    minutes: int,
    *,
    adjustment: int = -128,
    duty: int = 0xFF,
    start: int = 0,
) -> bytes:
    """A Load Control Event for EV chargers; -128 / 0xFF mark adjustment / duty unused."""
    return zcl.cluster_command(
        se.DemandResponseLoadControl, "load_control_event", tsn, from_server=True,
        issuer_event_id=issuer, device_class=DEVICE_CLASS_EV, utility_enrollment_group=0,
        start_time=start, duration_in_minutes=minutes, criticality_level=7,
        cooling_temperature_offset=0xFF, heating_temperature_offset=0xFF,
        cooling_temperature_set_point=-32768, heating_temperature_set_point=-32768,
        average_load_adjustment_percentage=adjustment, duty_cycle=duty, event_control=0,
    )  # fmt: skip


def cancel_event(tsn: int, issuer: int) -> bytes:
    return zcl.cluster_command(
        se.DemandResponseLoadControl, "cancel_load_control_event", tsn, from_server=True,
        issuer_event_id=issuer, device_class=DEVICE_CLASS_EV, utility_enrollment_group=0,
        cancel_control=0, effective_time=0,
    )  # fmt: skip


def cancel_all(tsn: int) -> bytes:
    return zcl.cluster_command(
        se.DemandResponseLoadControl, "cancel_all_load_control_events", tsn,
        from_server=True, cancel_control=0,
    )  # fmt: skip


def read_attributes(tsn: int, *attribute_ids: int) -> bytes:
    return zcl.general_command(
        f.GeneralCommand.Read_Attributes, tsn, from_server=False,
        attribute_ids=[t.uint16_t(a) for a in attribute_ids],
    )  # fmt: skip


_TYPES = {T_BOOL: t.Bool, T_UINT16: t.uint16_t, T_OCTETS: t.LVBytes, T_STRING: t.CharacterString}


def write_attributes(tsn: int, *records: tuple[int, int, object]) -> bytes:
    return zcl.general_command(
        f.GeneralCommand.Write_Attributes, tsn, from_server=False, want_default_response=True,
        attributes=[
            f.Attribute(attrid=attr,
                        value=f.TypeValue(type=t.uint8_t(kind), value=_TYPES[kind](value)))
            for attr, kind, value in records
        ],
    )  # fmt: skip


def calendar_bytes(entries: list[tuple[int, bool, int]]) -> bytes:
    """Config attribute 0x0003: minute of day u16 LE, relay u8, level u8 per entry."""
    return b"".join(struct.pack("<HBB", m, 1 if closed else 0, lvl) for m, closed, lvl in entries)


# -- answers ------------------------------------------------------------------------------------


def parse(data: bytes, cluster: int = ON_OFF):
    classes = {DRLC: se.DemandResponseLoadControl, LEVEL: LevelControl, BASIC: Basic}
    return zcl.parse(classes.get(cluster, OnOff), data)


def default_status(answer) -> int:
    frame = parse(answer.data, answer.cluster)
    assert frame.name == "Default_Response", f"expected a Default Response, got {frame.name}"
    return int(frame.command.status)


def read_value(han, cluster: int, attr: int):
    answer = han.request(cluster, read_attributes(han.next_tsn(), attr))
    record = parse(answer.data, cluster).command.status_records[0]
    assert record.status == f.Status.SUCCESS, f"read {cluster:04x}/{attr:04x}: {record.status!r}"
    return record.value.value


def write(han, cluster: int, *records) -> list[tuple[int, int | None]]:
    """Write attributes; [(status, attrid)] of the answer ([(0, None)] when all succeeded)."""
    answer = han.request(cluster, write_attributes(han.next_tsn(), *records))
    frame = parse(answer.data, cluster)
    assert frame.name == "Write_Attributes_rsp", f"expected Write Attributes Response: {frame}"
    return [(int(r.status), getattr(r, "attrid", None)) for r in frame.command.status_records]


def drlc_statuses(han, since: float) -> list[tuple[int, int]]:
    """(issuer event id, status) of each Report Event Status the switch sent since `since`."""
    out = []
    for item in han.received_since(since, DRLC):
        frame = parse(item.data, DRLC)
        if frame.name == "report_event_status":
            out.append((int(frame.command.issuer_event_id), int(frame.command.event_status)))
    return out


def wait_statuses(han, since: float, wanted: list[tuple[int, int]], timeout: float = 5.0):
    """Until every (event, status) in `wanted` has been reported; returns all reported."""
    deadline = time.monotonic() + timeout
    while True:
        got = drlc_statuses(han, since)
        if all(w in got for w in wanted):
            return got
        if time.monotonic() > deadline:
            raise AssertionError(f"DRLC statuses {wanted} expected, the switch reported {got}")
        time.sleep(0.01)


def confirm(han, timeout: float = 5.0) -> None:
    """Any good frame from the meter ends the fail-safe state: read the On/Off attribute."""
    han.request(ON_OFF, read_attributes(han.next_tsn(), 0x0000), timeout=timeout)


def opened_by_off(dut, level_before: int = 100) -> dict[str, str]:
    """The state after an On/Off Off: an hcalcs shows 0 %, a plcs keeps its level setting
    behind the open relay (On brings it back)."""
    level = level_before if dut.role == "plcs" else 0
    return {"relay": "open", "level": str(level), "source": "remote"}


def relay_is(state: str, source: str | None = None):
    return lambda c: c.relay == state and (source is None or c.source == source)


def level_is(pct: int):
    return lambda c: c.level == pct


def wait_state(dut, predicate, what: str, timeout: float = 3.0) -> dict[str, str]:
    """Poll the console until the state satisfies `predicate` (the tick runs every 100 ms)."""
    deadline = time.monotonic() + timeout
    while True:
        state = dut.state()
        if predicate(state):
            return state
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: the switch shows {state}")
        time.sleep(0.02)


def back_to_calendar(dut, han) -> None:
    """Clear any remote command: a one-minute DRLC event, started then cancelled (the only
    HAN route that hands the output back to the calendar at once)."""
    issuer = next_event_id()
    han.request(DRLC, load_control_event(han.next_tsn(), issuer, 1, duty=0))
    han.request(DRLC, cancel_event(han.next_tsn(), issuer))


def fresh(dut, han) -> None:
    """A known starting point for a test: commissioned to the rig's meter, the standard
    label, no calendar (closed, 100 %), boost allowed for 1 minute, no DRLC events, and the
    output on its calendar."""
    for line, expect in (
        (f"commission {RIG_ESME}", f"ok commission {RIG_ESME}"),
        (f"label {DEFAULT_LABEL}", f"ok label {DEFAULT_LABEL}"),
        ("calendar none", "ok calendar 0"),
    ):
        reply = dut.console.command(line)
        assert reply == expect, f"setup: '{line}' answered {reply!r}"
    assert write(
        han, CONFIG, (ATTR_BOOST_ASSOCIATED, T_BOOL, True), (ATTR_BOOST_MINUTES, T_UINT16, 1)
    ) == [(0, None)]
    han.request(DRLC, cancel_all(han.next_tsn()))
    back_to_calendar(dut, han)
    state = dut.state()
    assert state == {"relay": "closed", "level": "100", "source": "calendar"}, (
        f"setup: expected the calendar's closed/100, the switch shows {state}"
    )
