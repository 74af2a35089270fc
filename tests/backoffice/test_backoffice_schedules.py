"""The DSP's own schedules (5.1 Create, 5.2 Read, 5.3 Delete Schedule; emulator/backoffice/
schedules.py), the catalogue's 5.1 template first: the DSP keeps the schedule, answers its id,
reads it back to its owner only and deletes it for real; the scheduled 4.6.1 runs when due on
the DSP's clock (a clock offset moves the DSP a day on in a minute of the emulator's clock)
against the real emulated ESME, and each run reaches the owner as a DSPScheduledMessage with
the ESME's ECS21a response and the schedule's id; deleted, it runs no more. A schedule the DSP
could not send is refused when it is created, with the scheduled SRV's own code."""

from __future__ import annotations

import base64
import datetime as dt

import pytest
from backoffice_helpers import DCCBOXED
from dsp_helpers import GBCS_DATE, build_dsp
from lxml import etree

from emulator import data
from emulator.backoffice import duis
from emulator.backoffice.premises_factory import build_premises
from emulator.backoffice.routing import Router
from emulator.backoffice.schedules import FREQUENCIES, Schedule
from emulator.backoffice.users import InProcessTransport, make_user
from emulator.clock import Clock
from gbcs import decode
from gbcs.keystore import Keystore

SR = duis.SR
CATALOGUE = data.duis_catalogue()
CREATE = (CATALOGUE / "ECS21a_5.1._DCC_SCHEDULED_REQUEST_DUIS.XML").read_bytes()
READ = (CATALOGUE / "5.2_READ_SCHEDULE_REQUEST_DUIS.XML").read_bytes()
DELETE = (CATALOGUE / "5.3_DELETE_SCHEDULE_REQUEST_DUIS.XML").read_bytes()
ESME = bytes.fromhex("00DB1234567890A0")
#: the emulator's clock starts here; the template's schedule runs daily at midnight
START = dt.datetime(2026, 3, 1, 0, 30, tzinfo=dt.UTC)


def edited(document: bytes, **texts: str) -> bytes:
    """The document with the named elements' text replaced (DSPScheduleID="1" ...)."""
    root = duis.parse(document)
    for name, text in texts.items():
        node = root.find(f".//{{{SR}}}{name}")
        if node is None and name == "ScheduleEndDate":  # optional: after the start date
            node = etree.Element(f"{{{SR}}}{name}")
            root.find(f".//{{{SR}}}ScheduleStartDate").addnext(node)
        assert node is not None, name
        node.text = text
    return duis.to_bytes(root)


def by_device(document: bytes, device: str = "00-DB-12-34-56-78-90-A0") -> bytes:
    """A 5.2 / 5.3 naming a device instead of a schedule id."""
    root = duis.parse(document)
    node = root.find(f".//{{{SR}}}DSPScheduleID")
    node.tag, node.text = f"{{{SR}}}DeviceID", device
    return duis.to_bytes(root)


def scheduled(documents: list[bytes]) -> list[etree._Element]:
    """The DSPScheduledMessage responses among documents a user received."""
    roots = [duis.parse(d) for d in documents]
    return [r for r in roots if r.find(f".//{{{SR}}}DSPScheduledMessage") is not None]


def run(schema, trusted, dsp_signer, scenario, *, real_premises: bool = False):
    """`scenario(dsp, users, offset, clock)` against an in-process DSP on a simulated clock
    whose time is the clock's plus `offset[0]` (the DSP clock offset)."""
    clock = Clock("simulated", start_utc=START)
    offset = [dt.timedelta(0)]

    async def main():
        dsp, _double = build_dsp(schema, trusted, dsp_signer, clock=clock)
        dsp.utc_now = lambda: clock.utc_now() + offset[0]
        premises = None
        if real_premises:
            dsp.router = Router(dsp.router.wan)  # the real premises, not the test double
            premises = await build_premises(clock)
            dsp.attach(premises)
        keys = Keystore.open(DCCBOXED, clock=GBCS_DATE)
        transport = InProcessTransport(dsp)
        users = {n: make_user(n, keys, schema, trusted, transport) for n in ("supplier", "dno")}
        try:
            return await scenario(dsp, users, offset, clock)
        finally:
            dsp.stop_schedules()
            if premises is not None:
                await premises.close()

    return clock.run(main)


async def send(user, body: bytes, counter: int):
    (answer,) = await user.submit(user.prepare(body, counter))
    return answer


def test_create_read_delete(schema, trusted, dsp):
    async def scenario(dsp_, users, offset, clock):
        supplier, dno = users["supplier"], users["dno"]
        created = await send(supplier, CREATE, 1)
        read = await send(supplier, edited(READ, DSPScheduleID="1"), 2)
        by_esme = await send(supplier, by_device(READ), 3)
        theirs = await send(dno, edited(READ, DSPScheduleID="1"), 4)
        deleted = await send(supplier, edited(DELETE, DSPScheduleID="1"), 5)
        after = await send(supplier, edited(READ, DSPScheduleID="1"), 6)
        again = await send(supplier, edited(DELETE, DSPScheduleID="1"), 7)
        return created, read, by_esme, theirs, deleted, after, again

    created, read, by_esme, theirs, deleted, after, again = run(schema, trusted, dsp, scenario)
    assert [a.code for a in (created, read, by_esme, theirs, deleted, after, again)] == [
        "I0", "I0", "I0", "E050201", "I0", "E050201", "E050301"]  # fmt: skip
    for answer in (created, read, deleted, after):
        schema.validate(answer.root)
    assert created.root.findtext(f".//{{{SR}}}ResponseMessage/{{{SR}}}DSPScheduleID") == "1"
    details = read.root.find(f".//{{{SR}}}DSPSchedules/{{{SR}}}DSPScheduleDetails")
    sent = duis.parse(CREATE).find(f".//{{{SR}}}CreateSchedule")
    assert [(etree.QName(e).localname, (e.text or "").strip()) for e in details.iter()][1:] == [
        (etree.QName(e).localname, (e.text or "").strip()) for e in sent.iter()
    ][1:]
    assert etree.tostring(by_esme.root.find(f".//{{{SR}}}DSPSchedulesRead")) == etree.tostring(
        read.root.find(f".//{{{SR}}}DSPSchedulesRead"))  # fmt: skip


def test_the_catalogue_read_and_delete_name_a_schedule_nobody_made(schema, trusted, dsp):
    """The catalogue's 5.2 and 5.3 name schedule 123: refused, not invented."""

    async def scenario(dsp_, users, offset, clock):
        return [await send(users["supplier"], body, n) for n, body in enumerate((READ, DELETE))]

    assert [a.code for a in run(schema, trusted, dsp, scenario)] == ["E050201", "E050301"]


@pytest.mark.parametrize("texts,code", [
    ({"DeviceID": "00-DB-12-34-56-78-90-EE"}, "E19"),  # no such device
    ({"DeviceID": "00-DB-12-34-56-78-90-A2"}, "E11"),  # the Comms Hub keeps no daily reads
    ({"DSPScheduledServiceReferenceVariant": "14.1", "DSPScheduledServiceReference": "14.1"},
     "E2"),  # the Gas Transporter's: none of the Supplier's user ID's roles (IS, ES, OU)
    ({"ScheduleStartDate": "2026-02-01", "ScheduleEndDate": "2026-02-28"}, "E40"),  # over
])  # fmt: skip
def test_a_schedule_that_could_not_run_is_refused(texts, code, schema, trusted, dsp):
    async def scenario(dsp_, users, offset, clock):
        answer = await send(users["supplier"], edited(CREATE, **texts), 1)
        return answer, dict(dsp_.schedules.schedules)

    answer, kept = run(schema, trusted, dsp, scenario)
    assert answer.code == code and kept == {}


def test_runs_when_due_on_the_dsp_clock_against_the_real_esme(schema, trusted, dsp):
    """Daily at midnight from a past start date: the first run is the next midnight. The
    DSP's clock is moved on a day at a time (its offset); within a minute of the emulator's
    clock the scheduler sends the ECS21a and the Supplier receives the ESME's response."""

    async def scenario(dsp_, users, offset, clock):
        supplier = users["supplier"]
        created = await send(supplier, CREATE, 1)
        counts = []
        for _day in range(2):
            offset[0] += dt.timedelta(days=1)
            await clock.sleep(61)
            await dsp_.drain()
            counts.append(len(scheduled(dsp_.delivery.documents.get(supplier.eui, []))))
        await send(supplier, edited(DELETE, DSPScheduleID="1"), 2)
        offset[0] += dt.timedelta(days=1)
        await clock.sleep(61)
        counts.append(len(scheduled(dsp_.delivery.documents.get(supplier.eui, []))))
        return created, counts, scheduled(dsp_.delivery.documents[supplier.eui])

    created, counts, messages = run(schema, trusted, dsp, scenario, real_premises=True)
    assert created.code == "I0"
    assert counts == [1, 2, 2]  # one run a day, none after the delete
    for message in messages:
        schema.validate(message)
        assert duis.response_code_of(message) == "I0"
        assert message.findtext(f".//{{{SR}}}ServiceReferenceVariant") == "4.6.1"
        assert message.findtext(f".//{{{SR}}}DSPScheduledMessage/{{{SR}}}DSPScheduleID") == "1"
        payload = base64.b64decode(message.findtext(f".//{{{SR}}}GBCSPayload"))
        response = decode(payload)
        assert response.use_case.name == "ECS21a" and bytes(response.originator) == ESME
        assert response.cra_flag == 2
    first, second = (decode(base64.b64decode(m.findtext(f".//{{{SR}}}GBCSPayload"))).counter
                     for m in messages)  # fmt: skip
    assert second > first  # each run's command counts above the last


def test_each_frequency_steps_from_the_start():
    node = duis.parse(CREATE).find(f".//{{{SR}}}CreateSchedule")
    runs = {}
    for frequency in FREQUENCIES:
        schedule = Schedule(1, b"", node, frequency, dt.date(2026, 1, 31), None,
                            dt.time(0, tzinfo=dt.UTC), "4.6", "4.6.1", ESME,
                            dt.datetime(2026, 1, 31, tzinfo=dt.UTC))  # fmt: skip
        schedule.advance()
        schedule.advance()
        runs[frequency] = schedule.next_run.date().isoformat()
    assert runs == {"Daily": "2026-02-02", "Weekly": "2026-02-14", "Monthly": "2026-03-31",
                    "Quarterly": "2026-07-31", "Half-Yearly": "2027-01-31",
                    "Yearly": "2028-01-31"}  # fmt: skip


def test_a_run_request_has_the_on_demand_body_of_the_catalogue():
    """A 4.17 schedule's run is the on-demand 4.17 the catalogue's GCS61 template is: the
    period from the offsets, then the reader's KA certificate the schedule names."""
    on_demand = duis.parse((CATALOGUE / "GCS61_4.17_SUCCESS_REQUEST_DUIS.XML").read_bytes())
    wanted = on_demand.find(f"{{{SR}}}Body")[0]
    credential = wanted.findtext(f"{{{SR}}}KAPublicSecurityCredentials")
    node = etree.fromstring(
        f'<sr:CreateSchedule xmlns:sr="{SR}"><sr:ScheduleFrequency>Daily</sr:ScheduleFrequency>'
        "<sr:ScheduleStartDate>2026-03-01</sr:ScheduleStartDate>"
        f"<sr:KAPublicSecurityCredential>{credential}</sr:KAPublicSecurityCredential>"
        "<sr:DSPScheduledServiceReference>4.17</sr:DSPScheduledServiceReference>"
        "<sr:DSPScheduledServiceReferenceVariant>4.17</sr:DSPScheduledServiceReferenceVariant>"
        "<sr:DeviceID>00-DB-12-34-56-78-90-A3</sr:DeviceID><sr:DSPRetrieveDailyConsumptionLog>"
        "<sr:StartDateOffset>-10</sr:StartDateOffset><sr:StartTime>00:00:00.00Z</sr:StartTime>"
        "<sr:EndDateOffset>0</sr:EndDateOffset><sr:EndTime>00:00:00.00Z</sr:EndTime>"
        "</sr:DSPRetrieveDailyConsumptionLog></sr:CreateSchedule>"
    )  # fmt: skip
    schedule = Schedule(1, bytes.fromhex("90B3D51F30030000"), node, "Daily", dt.date(2026, 3, 1),
                        None, dt.time(0, tzinfo=dt.UTC), "4.17", "4.17",
                        bytes.fromhex("00DB1234567890A3"), START)  # fmt: skip
    request = schedule.request(dt.datetime(2014, 12, 20, 0, 0, tzinfo=dt.UTC), 7)
    assert str(request.request_id) == "90-B3-D5-1F-30-03-00-00:00-DB-12-34-56-78-90-A3:7"

    def shape(element):
        return [(etree.QName(e).localname, (e.text or "").strip()) for e in element.iter()]

    assert shape(request.body) == shape(wanted)  # 2014-12-10 .. 2014-12-20, the certificate
