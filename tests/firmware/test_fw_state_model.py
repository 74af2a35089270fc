"""The switch state machine (run on the unix port) against a small model of its rules:
fail-safe until confirmed > boost (refused without the association or in fail-safe) >
remote command (expiring back to the calendar) > calendar (daily schedule)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

DAY = 86400
BOOST_S = 3600  # the default boost, 60 minutes


def model(role: str, steps: list) -> list:
    failsafe, remote, boost_until, allowed, calendar = True, None, 0, True, []
    out = []

    def norm(relay: bool, level: int) -> tuple[bool, int]:
        return (relay, 100 if relay else 0) if role == "hcalcs" else (relay, level)

    for step in steps:
        now, action = step[0], step[1]
        if action == "confirm":
            failsafe = False
        elif action == "command":
            relay, level = norm(step[2], step[3])
            remote, boost_until = (relay, level, step[4]), 0
        elif action == "boost":
            if not allowed:
                out.append("no-boost-association")
            elif failsafe:
                out.append("failsafe")
            else:
                boost_until = now + BOOST_S
                out.append(None)
            continue
        elif action == "allow_boost":
            allowed = step[2]
        elif action == "calendar":
            calendar = sorted(step[2])
        elif action == "reset":
            remote, boost_until = None, 0
        if remote is not None and remote[2] and now >= remote[2]:
            remote = None
        if boost_until and now >= boost_until:
            boost_until = 0
        if failsafe:
            out.append([*norm(False, 0), "failsafe"])
        elif boost_until:
            out.append([True, 100, "boost"])
        elif remote is not None:
            out.append([remote[0], remote[1], "remote"])
        elif not calendar:
            out.append([*norm(True, 100), "calendar"])
        else:
            minute = (now % DAY) // 60
            entry = calendar[-1]
            for e in calendar:
                if e[0] <= minute:
                    entry = e
            out.append([*norm(bool(entry[1]), entry[2]), "calendar"])
    return out


def actions(draw_time):
    return st.one_of(
        st.tuples(draw_time, st.just("noop")),
        st.tuples(draw_time, st.just("confirm")),
        st.tuples(draw_time, st.just("boost")),
        st.tuples(draw_time, st.just("reset")),
        st.tuples(draw_time, st.just("allow_boost"), st.booleans()),
        st.tuples(
            draw_time,
            st.just("command"),
            st.booleans(),
            st.integers(0, 100),
            st.one_of(st.just(0), st.integers(1, 4 * 3600)),
        ),
        st.tuples(
            draw_time,
            st.just("calendar"),
            st.lists(
                st.tuples(st.integers(0, 1439), st.integers(0, 1), st.integers(0, 100)),
                max_size=4,
                unique_by=lambda e: e[0],
            ),
        ),
    )


@st.composite
def timelines(draw):
    raw = draw(st.lists(actions(st.integers(0, 2 * 3600)), min_size=1, max_size=25))
    now = 20 * DAY + draw(st.integers(0, DAY))
    steps = [[now, "confirm"]] if draw(st.booleans()) else []  # most rules need the meter
    for item in raw:
        now += item[0]
        step = [now, item[1], *item[2:]]
        if item[1] == "command" and item[4]:
            step[4] = now + item[4]  # an expiry after the command
        if item[1] == "calendar":
            step[2] = [list(e) for e in item[2]]
        steps.append(step)
    return steps


@pytest.mark.slow
@settings(max_examples=150)
@given(role=st.sampled_from(["hcalcs", "plcs"]), steps=timelines())
def test_state_machine_follows_the_rules(port, role, steps):
    assert port.call("scenarios.state_timeline", role, steps) == model(role, steps)
