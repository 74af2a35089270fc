"""DSP future-dating (emulator/backoffice/future.py) end to end in simulated time, through the
real premises: the catalogue's 4.1.1 DSP future-dated template (ECS17b) is acknowledged I99 at
once, nothing reaches the meter before its ExecutionDateTime, and at that time the meter's
encrypted register read reaches the Supplier, signed by the DSP; a date already past is sent
at once; the device never sees the date (the command is the 4.1.1 one of now)."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from backoffice_helpers import DCCBOXED
from dsp_helpers import GBCS_DATE, build_dsp

from emulator import data
from emulator.backoffice import duis, future
from emulator.backoffice.premises_factory import build_premises
from emulator.backoffice.users import Deliveries, InProcessTransport, make_user
from emulator.backoffice.wan import Wan
from emulator.clock import Clock
from gbcs import decode
from gbcs.keystore import Keystore

TEMPLATE = data.duis_catalogue() / "ECS17b_4.1.1_DSP_FUTURE_DATED_REQUEST_DUIS.XML"
NOW_TEMPLATE = data.duis_catalogue() / "ECS17b_4.1.1_SINGLE_SUCCESS_REQUEST_DUIS.XML"


@pytest.fixture(scope="module")
def gbcs_keys():
    return Keystore.open(DCCBOXED, clock=GBCS_DATE)


def _at(when: dt.datetime) -> bytes:
    root = duis.parse(TEMPLATE.read_bytes())
    root.find(f".//{{{duis.SR}}}ExecutionDateTime").text = when.strftime("%Y-%m-%dT%H:%M:%S.00Z")
    return duis.to_bytes(root)


def run(schema, trusted, dsp, gbcs_keys, request: bytes, peek_after_s: float):
    """Send `request` as the Supplier: (answers with the time each came, what the DSP had sent
    to the premises `peek_after_s` after the acknowledgement)."""
    clock = Clock("simulated", start_utc=GBCS_DATE)

    async def go():
        dsp_, _double = build_dsp(schema, trusted, dsp, wan=Wan(clock, latency_s=0.0),
                                  clock=clock)  # fmt: skip
        dsp_.router = type(dsp_.router)(dsp_.router.wan)  # only the real premises
        premises = await build_premises(clock)
        dsp_.attach(premises)
        supplier = make_user("supplier", gbcs_keys, schema, trusted, InProcessTransport(dsp_))
        dsp_.delivery = Deliveries(supplier)
        signed = supplier.prepare(request)
        answers = [(a, clock.utc_now()) for a in await supplier.submit(signed)]
        await asyncio.sleep(peek_after_s)
        sent_early = list(dsp_.sent_to_premises)
        rid = str(duis.parse_request(duis.parse(signed)).request_id)
        final = await supplier.wait_for(rid, duis.DocumentKind.RESPONSE, 7200)
        answers.append((final, clock.utc_now()))
        await dsp_.drain()
        await premises.close()
        assert dsp_.times.late() == []  # timed from the execution time, not the request
        return answers, sent_early, list(dsp_.sent_to_premises)

    return clock.run(go)


def test_a_read_for_later_is_sent_at_its_time(schema, trusted, dsp, gbcs_keys):
    when = GBCS_DATE + dt.timedelta(hours=1)
    answers, sent_early, sent = run(schema, trusted, dsp, gbcs_keys, _at(when), 3500)
    (ack, acked_at), (final, answered_at) = answers
    assert ack.code == "I99" and acked_at < when
    assert sent_early == []  # held: nothing reached the meter before the hour
    assert final.code == "I0" and answered_at >= when
    response = decode(final.gbcs_payload)
    assert response.message_code == 0x0027 and response.cra == "response"
    assert response.target == bytes.fromhex("90B3D51F30010000")
    # the command the meter got is the 4.1.1 of now: no date in it
    [(_rid, command)] = sent
    assert decode(command).message_code == 0x0027


def test_a_date_already_past_is_sent_at_once(schema, trusted, dsp, gbcs_keys):
    answers, sent_early, _sent = run(schema, trusted, dsp, gbcs_keys, TEMPLATE.read_bytes(), 1)
    (ack, acked_at), (final, answered_at) = answers
    assert [ack.code, final.code] == ["I99", "I0"]
    assert len(sent_early) == 1 and answered_at - acked_at < dt.timedelta(seconds=5)


def test_only_the_dsp_pattern_srvs_are_held_and_the_date_is_dropped():
    held = duis.parse_request(duis.parse(TEMPLATE.read_bytes()))
    assert future.execution_time(held) == dt.datetime(2015, 1, 15, 9, 0, tzinfo=dt.UTC)
    assert future.for_now(held).body.find(future.EXECUTION) is None
    assert held.body.find(future.EXECUTION) is not None  # the signed original is untouched
    now = duis.parse_request(duis.parse(NOW_TEMPLATE.read_bytes()))
    assert future.execution_time(now) is None
    # 1.1.1's ExecutionDateTime is the meter's to keep (device future-dating), not the DSP's
    device_dated = (
        data.duis_catalogue() / "ECS01a_1.1.1_FUTURE_DATED_TOU_BLOCK_SUCCESS_REQUEST_DUIS.XML"
    )
    assert future.execution_time(duis.parse_request(duis.parse(device_dated.read_bytes()))) is None
