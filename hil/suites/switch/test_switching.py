"""Switching by the meter: On/Off, timed on expiring to the calendar, DRLC curtailment for a
duration, the reset to the calendar (SRV 7.8), levels (PLCS) and the boost button.
Every command that switches is measured (`latency`)."""

from __future__ import annotations

import time

import pytest

from hil.suites.switch import steps
from hil.suites.switch.steps import (
    CANCELLED,
    COMPLETED,
    DRLC,
    LEVEL,
    ON_OFF,
    RECEIVED,
    REJECTED_UNDEFINED_CANCEL,
    STARTED,
    level_is,
    relay_is,
)

pytestmark = pytest.mark.switching

CALENDAR_CLOSED = {"relay": "closed", "level": "100", "source": "calendar"}


def test_on_off_and_toggle_switch_the_relay(dut, han, latency):
    for name, expect in (("off", "open"), ("on", "closed"), ("toggle", "open")):
        switched = latency.command(
            ON_OFF, steps.on_off(name, han.next_tsn()), relay_is(expect, "remote"), name
        )
        assert steps.default_status(switched.answer) == 0, name
        assert dut.state()["relay"] == expect, name
    assert not steps.read_value(han, ON_OFF, 0x0000)  # OnOff attribute: off


def test_timed_on_expires_back_to_the_calendar(dut, han, clock, latency):
    """On With Timed Off: closed for OnTime, then back to what the calendar says (open)."""
    clock.set(clock.now())
    assert steps.write(
        han,
        steps.CONFIG,
        (steps.ATTR_CALENDAR, steps.T_OCTETS, steps.calendar_bytes([(0, False, 0)])),
    ) == [(0, None)]
    assert dut.state() == {"relay": "open", "level": "0", "source": "calendar"}
    switched = latency.command(
        ON_OFF, steps.on_with_timed_off(han.next_tsn(), 50), relay_is("closed", "remote"),
        "On With Timed Off 5 s",
    )  # fmt: skip
    assert steps.default_status(switched.answer) == 0
    clock.advance(3)
    assert dut.state()["source"] == "remote", "the timed on ended before its OnTime"
    clock.advance(3)
    steps.wait_state(
        dut, lambda s: s == {"relay": "open", "level": "0", "source": "calendar"},
        "6 s after a 5 s timed on, the switch should be back on its calendar (open)",
    )  # fmt: skip
    assert any("remote-expired on-off timed-on" in e for e in dut.log(10)), dut.log(10)


def test_drlc_curtailment_lasts_its_duration_then_calendar(dut, han, clock, latency):
    """SRV 7.6: deactivate for a duration (a one-minute Load Control Event)."""
    clock.set(clock.now())
    issuer = steps.next_event_id()
    since = time.monotonic()
    if dut.role == "plcs":
        frame, expect = steps.load_control_event(han.next_tsn(), issuer, 1, duty=40), level_is(40)
    else:
        frame, expect = (
            steps.load_control_event(han.next_tsn(), issuer, 1, adjustment=-100),
            relay_is("open"),
        )
    switched = latency.command(DRLC, frame, expect, "Load Control Event")
    assert steps.default_status(switched.answer) == 0
    steps.wait_statuses(han, since, [(issuer, RECEIVED), (issuer, STARTED)])
    clock.advance(30)
    assert dut.state()["source"] == "remote", "the curtailment ended early"
    clock.advance(31)
    steps.wait_statuses(han, since, [(issuer, COMPLETED)])
    steps.wait_state(dut, lambda s: s == CALENDAR_CLOSED, "after the event's minute")


def test_reset_to_calendar_cancels_the_curtailment(dut, han, latency):
    """SRV 7.8: the DNO undoes its curtailment; the switch returns to its calendar."""
    since = time.monotonic()
    first, second = steps.next_event_id(), steps.next_event_id()
    shed = level_is(0) if dut.role == "plcs" else relay_is("open")
    latency.command(
        DRLC, steps.load_control_event(han.next_tsn(), first, 30, duty=0), shed, "curtail"
    )
    switched = latency.command(
        DRLC,
        steps.cancel_event(han.next_tsn(), first),
        relay_is("closed", "calendar"),
        "cancel event",
    )
    assert steps.default_status(switched.answer) == 0
    steps.wait_statuses(han, since, [(first, CANCELLED)])
    assert dut.state() == CALENDAR_CLOSED

    latency.command(
        DRLC, steps.load_control_event(han.next_tsn(), second, 30, duty=0), shed, "curtail again"
    )
    latency.command(
        DRLC, steps.cancel_all(han.next_tsn()), relay_is("closed", "calendar"), "cancel all"
    )
    steps.wait_statuses(han, since, [(second, CANCELLED)])

    unknown = steps.next_event_id()
    answer = han.request(DRLC, steps.cancel_event(han.next_tsn(), unknown))
    assert steps.default_status(answer) == 0
    steps.wait_statuses(han, since, [(unknown, REJECTED_UNDEFINED_CANCEL)])
    assert dut.state() == CALENDAR_CLOSED


def test_levels_plcs_proportional_hcalcs_binary(dut, han, latency):
    """PLCS: Level Control and DRLC levels set the output; HCALCS: no Level Control cluster,
    and any DRLC curtailment opens the relay."""
    issuer = steps.next_event_id()
    if dut.role == "plcs":
        latency.command(
            LEVEL, steps.move_to_level(han.next_tsn(), 50, True), level_is(50), "move to 50 %"
        )
        assert steps.read_value(han, LEVEL, 0x0000) == steps.pct_to_zcl(50)
        latency.command(
            LEVEL,
            steps.move_to_level(han.next_tsn(), 0, False),
            level_is(0),
            "move to 0 % without on/off",
        )
        assert dut.state()["relay"] == "closed"
        latency.command(
            LEVEL,
            steps.move_to_level(han.next_tsn(), 0, True),
            relay_is("open"),
            "move to 0 % with on/off",
        )
        latency.command(
            DRLC,
            steps.load_control_event(han.next_tsn(), issuer, 10, adjustment=-40),
            level_is(60),
            "DRLC -40 %",
        )
        assert dut.state() == {"relay": "closed", "level": "60", "source": "remote"}
    else:
        before = dut.state()
        answer = han.request(LEVEL, steps.move_to_level(han.next_tsn(), 50, True))
        assert steps.default_status(answer) == 0xC3  # UNSUPPORTED_CLUSTER
        assert dut.state() == before
        latency.command(
            DRLC,
            steps.load_control_event(han.next_tsn(), issuer, 10, adjustment=-40),
            relay_is("open"),
            "DRLC -40 %",
        )
        assert dut.state() == {"relay": "open", "level": "0", "source": "remote"}


def test_boost_allowed_then_refused(dut, han, clock, latency):
    """The consumer's boost overrides a curtailment for its minutes; after SRV 7.10 removes
    the association, presses are refused and logged."""
    clock.set(clock.now())
    latency.command(ON_OFF, steps.on_off("off", han.next_tsn()), relay_is("open"), "off")
    dut.console.clear_outputs()
    assert dut.boost() == "ok boost"
    assert dut.console.wait_output(relay_is("closed", "boost"))
    clock.advance(61)  # boost minutes were set to 1
    steps.wait_state(
        dut,
        lambda s: s["source"] == "remote" and s["relay"] == "open",
        "after the one-minute boost",
    )
    assert steps.write(han, steps.CONFIG, (steps.ATTR_BOOST_ASSOCIATED, steps.T_BOOL, False)) == [
        (0, None)
    ]
    assert dut.boost() == "refused boost no-boost-association"
    assert dut.state() == steps.opened_by_off(dut)
    assert any("boost-refused no-boost-association" in e for e in dut.log(5))
