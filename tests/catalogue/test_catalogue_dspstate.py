"""Catalogue templates the DSP refuses for the state a run meets, not for want of a device,
answered the way a DCC Boxed user reaches that state (emulator/backoffice/catalogue.py):
5.2 Read and 5.3 Delete Schedule name schedule 123, which no DSP made; the run sends them
after its own 5.1 with the id that 5.1 was answered with, and the schedule is really read
and really gone afterwards. 8.14.2 is for a Comms Hub not commissioned: the run sends the
Supplier's 8.4 setting the hub InstalledNotCommissioned first, and 8.2 reads each status the
hub returns take it through. 8.4 DeleteDevice and 8.14.3's fault found before installation
are for a device pre-notified, never installed: the run pre-notifies one (12.2) and names
that one. 8.12.1 restores a hub's device log the DSP backed up: the run restores the backup
its own 8.9 (CCS07) had the DSP keep. 8.6 Service Opt In is the meter's Supplier's. The
templates are the catalogue's files, by name; the DSP is the one `gbhan dsp serve` runs,
over HTTP."""

from __future__ import annotations

import contextlib
import dataclasses
import sys
import tempfile
from pathlib import Path

import pytest
from catalogue_helpers import catalogue_session
from lxml import etree

from emulator.backoffice import catalogue, duis, nodered
from emulator.backoffice.eligibility import ED, IS
from emulator.clock import Clock

BY_NAME = {t.name: t for t in catalogue.load_catalogue()}
CREATE = "ECS21a_5.1._DCC_SCHEDULED_REQUEST_DUIS.XML"
READ = "5.2_READ_SCHEDULE_REQUEST_DUIS.XML"
DELETE = "5.3_DELETE_SCHEDULE_REQUEST_DUIS.XML"
SR = duis.SR


@contextlib.asynccontextmanager
async def session(state_dir):
    """The catalogue's users against an in-process DSP: (runner, users)."""
    async with catalogue_session(state_dir) as (runner, _served, users):
        yield runner, users


def _written(xml: bytes) -> Path:
    """`xml` in a file of its own (a template edited as a test needs it)."""
    path = Path(tempfile.mkdtemp(prefix="gbhan-template-")) / "edited.XML"
    path.write_bytes(xml)
    return path


def run_in_order(tmp_path, names: list[str]) -> list[catalogue.Result]:
    """The named templates through one DSP in this order."""
    clock = Clock("wall")

    async def go():
        async with session(tmp_path) as (runner, _users):
            return await runner.run([BY_NAME[n] for n in names])

    return clock.run(go)


def test_the_schedule_templates_run_after_the_rest_in_their_own_order():
    order = [t.name for t in catalogue.run_order(list(BY_NAME.values()))]
    create, read, delete = order.index(CREATE), order.index(READ), order.index(DELETE)
    assert create < read < delete
    ordinary = [i for i, n in enumerate(order) if n.startswith("ECS17a_")]
    assert ordinary and max(ordinary) < create
    assert delete < order.index("11.1_UPDATE_FIRMWARE_REQUEST_DUIS.XML")


def test_without_a_schedule_of_its_own_the_template_goes_as_it_is(tmp_path):
    """No 5.1 answered in this run: nothing to fill in, and schedule 123 is no schedule the
    DSP made (E050201 / E050301), as before."""
    results = run_in_order(tmp_path, [READ, DELETE])
    assert [r.codes for r in results] == [("E050201",), ("E050301",)]
    assert [r.detail for r in results] == ["", ""]


def test_read_and_delete_name_the_schedule_this_runs_5_1_made(tmp_path):
    """5.1 is answered with a schedule id; 5.2 then reads that schedule (its details are the
    5.1's: 4.6.1 to the ESME, daily), 5.3 deletes it, and a read of it afterwards finds none:
    the delete really took it away."""

    async def read(users, made: str, counter: int):
        xml = BY_NAME[READ].path.read_bytes().replace(b">123<", f">{made}<".encode())
        return await users[IS].run(users[IS].prepare(xml, counter), 20.0)

    async def go():
        async with session(tmp_path) as (runner, users):
            results = [await runner.run_one(BY_NAME[CREATE], 0)]
            made = runner.carried.schedule_ids[users[IS].eui]
            before = await read(users, made, 10**15)
            results += [await runner.run_one(BY_NAME[n], i) for i, n in ((2, READ), (3, DELETE))]
            kept = dict(runner.carried.schedule_ids)
            return made, results, before, await read(users, made, 10**15 + 1), kept

    made, results, before, after, kept = Clock("wall").run(go)
    assert made.isdigit() and made != "123"
    assert [r.codes for r in results] == [("I0",), ("I0",), ("I0",)]
    note = f"DSPScheduleID 123 -> {made}, the id this run's 5.1 got"
    assert [r.detail for r in results] == ["", note, note]
    schedules = before[-1].root.findall(f".//{{{SR}}}DSPSchedules")
    assert [s.findtext(f"{{{SR}}}DSPScheduleID") for s in schedules] == [made]
    details = schedules[0].find(f"{{{SR}}}DSPScheduleDetails")
    assert details.findtext(f"{{{SR}}}DSPScheduledServiceReferenceVariant") == "4.6.1"
    assert details.findtext(f"{{{SR}}}ScheduleFrequency") == "Daily"
    assert details.findtext(f"{{{SR}}}DeviceID") == "00-DB-12-34-56-78-90-A0"
    assert [a.code for a in after] == ["E050201"]
    assert kept == {}  # the deleted schedule is not carried into a later template


def test_the_table_says_what_the_run_filled_in():
    result = catalogue.Result(READ, "5.2", "IS", catalogue.ANSWERED, ("I0",),
                              detail="DSPScheduleID 123 -> 7, the id this run's 5.1 got")  # fmt: skip
    row = next(line for line in catalogue.table([result]).splitlines() if READ in line)
    assert row.endswith(f"{READ}  (DSPScheduleID 123 -> 7, the id this run's 5.1 got)")


@pytest.mark.parametrize("srv", ["5.2", "5.3"])
def test_each_user_names_its_own_schedule(srv):
    """Only the owner sees a schedule: the id carried is the one the same user's 5.1 got."""
    carried = catalogue.Carried({b"\x01" * 8: "41"})
    template = BY_NAME[READ if srv == "5.2" else DELETE]
    xml = template.path.read_bytes()
    assert carried.fill(template, xml, b"\x02" * 8) == (xml, "")
    filled, note = carried.fill(template, xml, b"\x01" * 8)
    named = duis.parse(filled).findtext(f".//{{{SR}}}DSPScheduleID")
    assert (named, note) == ("41", "DSPScheduleID 123 -> 41, the id this run's 5.1 got")


NO_WAN = "8.14.2_COMMUNICATIONS_HUB_STATUS_UPDATE_INSTALL_NO_SM_WAN_REQUEST_DUIS.XML"
FAULT = "8.14.3_COMMUNICATIONS_HUB_STATUS_UPDATE_FAULT_RETURN_REQUEST_DUIS.XML"
NO_FAULT = "8.14.4_COMMUNICATIONS_HUB_STATUS_UPDATE_NO_FAULT_RETURN_REQUEST_DUIS.XML"
INVENTORY = "8.2_READ_INVENTORY_REQUEST_DUIS.XML"  # reads RTDS's CHF, ...90A2
HUB_COMMAND = "CCS06_8.9_SUCCESS_REQUEST_DUIS.XML"  # a command to that hub


def test_the_hub_returns_run_last_in_their_order():
    """The hub every device template goes through is taken out of service last of all."""
    order = [t.name for t in catalogue.run_order(list(BY_NAME.values()))]
    assert order[-3:] == [NO_WAN, FAULT, NO_FAULT]
    assert order.index("CCS02_8.11_SUCCESS_REQUEST_DUIS.XML") < order.index(NO_WAN)


def test_the_prelude_is_an_8_4_of_the_hub_the_template_names():
    what, xml = catalogue.Carried.prelude(BY_NAME[NO_WAN])
    assert what == "8.4 UpdateDeviceStatusCH InstalledNotCommissioned"
    request = duis.parse_request(duis.parse(xml))
    assert (request.service_reference, request.service_reference_variant) == ("8.4", "8.4")
    assert request.command_variant == 8
    assert [(etree.QName(c).localname, c.text) for c in request.body] == [
        ("DeviceID", "00-DB-12-34-56-78-90-A2"),
        ("UpdateDeviceStatusCH", "InstalledNotCommissioned"),
    ]
    assert catalogue.Carried.prelude(BY_NAME[NO_FAULT]) is None


def test_the_hub_is_installed_without_wan_then_withdrawn(tmp_path):
    """8.14.2 after the Supplier's 8.4 (the hub InstalledNotCommissioned); 8.14.3's fault
    found before installation does not fit an installed hub, so it returns a hub the run
    pre-notified (Withdrawn) and the run's is unchanged; 8.14.4 withdraws the run's. 8.2
    reads each status, and a command to the withdrawn hub is E5."""

    async def status(users, counter: int) -> str | None:
        user = users[IS]
        answers = await user.run(user.prepare(BY_NAME[INVENTORY].path.read_bytes(), counter))
        found = answers[-1].root.find(f".//{{{SR}}}Device")
        assert found.findtext(f"{{{SR}}}DeviceID") == "00-DB-12-34-56-78-90-A2"
        return found.findtext(f"{{{SR}}}DeviceStatus")

    async def go():
        async with session(tmp_path) as (runner, users):
            seen = [await status(users, 10**15)]
            results = []
            for i, name in enumerate((NO_WAN, FAULT, NO_FAULT)):
                results.append(await runner.run_one(BY_NAME[name], i))
                seen.append(await status(users, 10**15 + 1 + i))
            results.append(await runner.run_one(BY_NAME[HUB_COMMAND], 9))
            returned = await inventory_status(users[IS], catalogue.HUB_TO_RETURN, 10**15 + 9)
            return results, seen, returned

    results, seen, returned = Clock("wall").run(go)
    assert seen == ["Commissioned", "InstalledNotCommissioned", "InstalledNotCommissioned",
                    "Withdrawn"]  # fmt: skip
    assert [r.codes for r in results] == [("I0",), ("I0",), ("I0",), ("E5",)]
    assert results[0].detail == "after 8.4 UpdateDeviceStatusCH InstalledNotCommissioned: I0"
    assert results[1].detail == (
        f"after 12.2 DevicePrenotification {catalogue.HUB_TO_RETURN}: I0; DeviceID "
        f"00-DB-12-34-56-78-90-A2 -> {catalogue.HUB_TO_RETURN}, the device it pre-notified"
    )
    assert returned == ("I0", "Withdrawn")
    assert [r.detail for r in results[2:]] == ["", ""]


def test_the_fault_return_prelude_pre_notifies_a_hub_only_for_a_fault_before_installation():
    what, xml = catalogue.Carried.prelude(BY_NAME[FAULT])
    assert what == f"12.2 DevicePrenotification {catalogue.HUB_TO_RETURN}"
    request = duis.parse_request(duis.parse(xml))
    assert request.service_reference_variant == "12.2"
    assert request.body.findtext(f"{{{SR}}}DeviceType") == "CHF"
    post = BY_NAME[FAULT].path.read_bytes().replace(b"prior to installation", b"post installation")
    assert (
        catalogue.PRELUDES["8.14.3"][1](dataclasses.replace(BY_NAME[FAULT], path=_written(post)))
        is None
    )


def test_the_node_red_run_fills_in_and_sends_the_prelude_too(tmp_path):
    """The same templates sent as the DCC's Node-RED node sends them, each document signed by
    a per-document signer program (a stand-in for the DCC's tool: gbhan's signer as a
    script): the schedule id carried, the 12.2 before 8.4 and the 8.4 before 8.14.2, the same
    codes and notes."""
    names = [CREATE, READ, DELETE, UPDATE, NO_WAN, NO_FAULT]
    script = Path(__file__).with_name("dspstate_sign_helpers.py")
    signer = nodered.CommandSigner([sys.executable, str(script)])
    clock = Clock("wall")
    results = clock.run(lambda: nodered.run_catalogue_signed(
        [BY_NAME[n] for n in names], signer, state_dir=tmp_path, clock=clock))  # fmt: skip
    by_name = {r.file: r for r in results}
    assert [by_name[n].codes for n in names] == [("I0",)] * 6, [r.detail for r in results]
    made = by_name[READ].detail.split(" -> ")[1].split(",")[0]
    assert made.isdigit()
    assert by_name[DELETE].detail == f"DSPScheduleID 123 -> {made}, the id this run's 5.1 got"
    assert by_name[NO_WAN].detail == "after 8.4 UpdateDeviceStatusCH InstalledNotCommissioned: I0"
    assert by_name[UPDATE].detail.endswith(f"-> {catalogue.TO_DELETE}, the device it pre-notified")


OPT_IN = "8.6_SERVICE_OPTIN_REQUEST_DUIS.XML"


@pytest.mark.parametrize("role,code", [(IS, "I0"), (ED, "E2")])
def test_service_opt_in_is_the_suppliers(tmp_path, role, code):
    """8.6 Service Opt In: duis-parser's matrix names no user role for it; gbhan lets the
    meter's Supplier send it (as 8.5's Service Opt Out) and answers the DSP Broker's
    credentials; the network operator is refused E2."""

    async def go():
        async with session(tmp_path) as (_runner, users):
            user = users[role]
            return await user.run(user.prepare(BY_NAME[OPT_IN].path.read_bytes(), 10**15))

    answers = Clock("wall").run(go)
    assert [(a.source, a.code) for a in answers] == [("serviceD", code)]
    found = answers[-1].root.find(f".//{{{SR}}}DSPOptIn")
    assert (found is not None) is (code == "I0")


RESTORE = "CCS03_8.12.1_SUCCESS_REQUEST_DUIS.XML"  # OldCHFID ...95, a hub no DSP here knew
BACKUP = "CCS07_8.9_SUCCESS_REQUEST_DUIS.XML"  # the hub's device log read: the DSP keeps it


def test_the_restore_runs_after_the_backup_it_restores():
    order = [t.name for t in catalogue.run_order(list(BY_NAME.values()))]
    assert order.index(BACKUP) < order.index(RESTORE)


def test_the_restore_names_the_hub_the_users_backup_was_of(tmp_path):
    """Without a backup of its own the template goes as it is (E19: no hub ...95); after the
    user's 8.9 CCS07 the DSP restores that backup (CCS03 from the ACB) and the hub answers."""
    results = run_in_order(tmp_path, [RESTORE, BACKUP, RESTORE])
    assert [r.codes for r in results] == [("E19",), ("I99", "I0"), ("I99", "I0")]
    assert results[0].detail == ""
    assert results[2].detail == ("OldCHFID 00-DB-12-34-56-78-90-95 -> 00-DB-12-34-56-78-90-A2, "
                                 "the hub whose device log its 8.9 had the DSP back up")  # fmt: skip
    assert results[2].device == catalogue.SUCCESS and results[2].verified


UPDATE = "8.4_UPDATE_INVENTORY_REQUEST_DUIS.XML"  # DeleteDevice of the ESME ...90A0


async def inventory_status(user, device: str, counter: int) -> tuple[str, str | None]:
    """8.2 Read Inventory by DeviceID: its code, and the device's DeviceStatus when I0."""
    xml = BY_NAME[INVENTORY].path.read_bytes().replace(b"00-DB-12-34-56-78-90-A2", device.encode())
    answers = await user.run(user.prepare(xml, counter))
    found = answers[-1].root.find(f".//{{{SR}}}Device")
    return answers[-1].code, None if found is None else found.findtext(f"{{{SR}}}DeviceStatus")


def test_the_prelude_pre_notifies_a_device_only_before_a_delete():
    what, xml = catalogue.Carried.prelude(BY_NAME[UPDATE])
    assert what == f"12.2 DevicePrenotification {catalogue.TO_DELETE}"
    request = duis.parse_request(duis.parse(xml))
    assert (request.service_reference, request.service_reference_variant) == ("12.2", "12.2")
    assert [(etree.QName(c).localname, c.text) for c in request.body] == [
        ("DeviceID", catalogue.TO_DELETE),
        ("DeviceManufacturer", "gbhan"),
        ("DeviceModel", "emulated"),
        ("DeviceType", "ESME"),
    ]
    status_update = BY_NAME[NO_WAN]  # the 8.14.2 prelude is an 8.4 too, but no delete
    assert catalogue.PRELUDES["8.4"][1](status_update) is None


def test_delete_takes_the_device_this_run_pre_notified(tmp_path):
    """The 12.2 before 8.4 makes the device Pending (8.2 says so); 8.4 then deletes that
    device, named in place of the template's ESME (detail), and 8.2 no longer finds it (E19);
    the ESME the template named stays Commissioned."""

    async def go():
        async with session(tmp_path) as (runner, users):
            user = users[IS]
            what, xml = catalogue.Carried.prelude(BY_NAME[UPDATE])
            await user.run(user.prepare(xml, 10**15))  # as the runner does before 8.4 ...
            pending = await inventory_status(user, catalogue.TO_DELETE, 10**15 + 1)
            result = await runner.run_one(BY_NAME[UPDATE], 0)  # ... which does it again
            gone = await inventory_status(user, catalogue.TO_DELETE, 10**15 + 2)
            esme = await inventory_status(user, "00-DB-12-34-56-78-90-A0", 10**15 + 3)
            return pending, result, gone, esme

    pending, result, gone, esme = Clock("wall").run(go)
    assert pending == ("I0", "Pending")
    assert result.codes == ("I0",)
    assert result.detail == (
        f"after 12.2 DevicePrenotification {catalogue.TO_DELETE}: I0; DeviceID "
        f"00-DB-12-34-56-78-90-A0 -> {catalogue.TO_DELETE}, the device it pre-notified"
    )
    assert gone == ("E19", None)
    assert esme == ("I0", "Commissioned")
