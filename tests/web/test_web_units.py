"""The console's parts on their own: the event hub's numbering, replay and cut-off of a slow
page; the launcher's body fields and its spoilt signature, judged by the DUIS checks; a
premises host's reports of its households as the premises page shows them; the feeder
page's pause, step and run on the simulated clock, and its refusals."""

from __future__ import annotations

import asyncio
import datetime
import json
import threading
import time
from types import SimpleNamespace

import pytest
from web_helpers import TEMPLATE_7_5, TEMPLATE_7_6

from emulator import data
from emulator.backoffice import document, duis, remote_premises, xmlsig
from emulator.backoffice.assembly import make_dsp
from emulator.backoffice.inventory import RTDS_PREMISES
from emulator.backoffice.remote_premises import HostedPremises, PremisesHost
from emulator.backoffice.users import InProcessTransport, make_user
from emulator.clock import Clock
from emulator.devices import ModelSwitch, Premises, PremisesKeys, households
from emulator.web import DspView, RecordingTransport, Verifier, premises_view
from emulator.web.console import note_refusals, page
from emulator.web.events import EventHub
from emulator.web.feeder import ControlError, FeederConsole
from emulator.web.launcher import LaunchError, _apply, fields_of, spoil_signature
from gbcs.keystore import Keystore

RUN_DATE = datetime.datetime(2025, 6, 1, tzinfo=datetime.UTC)  # inside DCC Boxed's certificates


def test_a_subscriber_gets_what_came_after_its_snapshot_then_live_events_once():
    async def run() -> list[int]:
        hub = EventHub()
        for n in range(5):
            hub.publish("duis", {"n": n})
        got: list[int] = []

        async def follow() -> None:
            async for event in hub.subscribe(after=3):
                got.append(event.id)
                if event.id == 7:
                    return

        task = asyncio.create_task(follow())
        await asyncio.sleep(0)
        hub.publish("premises", {"n": 5})
        hub.publish("duis", {"n": 6})
        await asyncio.wait_for(task, 5)
        return got

    assert asyncio.run(run()) == [4, 5, 6, 7]


def test_a_page_that_falls_behind_is_cut_off_and_close_ends_every_stream():
    async def run() -> tuple[int, list[int], int]:
        hub = EventHub(queue_size=3)
        slow = hub.subscribe()
        waiting = asyncio.create_task(slow.__anext__())
        await asyncio.sleep(0)  # subscribed, waiting for its first event
        for n in range(5):  # it never gets to read: its queue overflows at the fourth
            hub.publish("duis", {"n": n})
        with pytest.raises(StopAsyncIteration):
            await waiting
        reader = hub.subscribe(after=0)
        replayed = [(await reader.__anext__()).id for _ in range(5)]
        last = asyncio.create_task(reader.__anext__())
        await asyncio.sleep(0)
        hub.close()
        with pytest.raises(StopAsyncIteration):
            await last
        return hub.dropped_subscribers, replayed, hub.last_id

    dropped, replayed, last_id = asyncio.run(run())
    assert dropped == 1 and replayed == [1, 2, 3, 4, 5] and last_id == 5


def test_a_quiet_stream_beats_and_then_carries_the_next_event():
    async def run() -> list[int | None]:
        hub = EventHub()
        stream = hub.subscribe(heartbeat_s=0.05)
        beats = [await stream.__anext__(), await stream.__anext__()]
        hub.publish("duis", {})
        event = await stream.__anext__()
        await stream.aclose()
        return [None if b is None else b.id for b in beats] + [event.id if event else None]

    assert asyncio.run(run()) == [None, None, 1]


def test_event_wire_format():
    hub = EventHub()
    event = hub.publish("duis", {"code": "I0"})
    assert event.sse() == b'id: 1\nevent: duis\ndata: {"code": "I0"}\n\n'


def test_the_7_6_template_offers_its_switch_index_and_duration():
    root = duis.parse((data.duis_catalogue() / TEMPLATE_7_6).read_bytes())
    body = duis.parse_request(root).body
    fields = {f["label"]: (f["path"], f["value"]) for f in fields_of(body)}
    assert fields == {
        "DeactivateAuxiliaryLoad/DeactivateALCSHCALCS/@index": ("0@index", "3"),
        "DeactivateAuxiliaryLoad/DeactivateALCSHCALCS/Duration": ("0.0", "60"),
    }
    _apply(body, "0.0", "15")
    _apply(body, "0@index", "2")
    assert {f["value"] for f in fields_of(body)} == {"15", "2"}
    for bad in ("1", "0.5", "0@nothing", "x"):
        with pytest.raises(LaunchError):
            _apply(body, bad, "1")


def test_a_spoilt_signature_is_refused_by_the_duis_checks():
    keys = Keystore.open(data.dccboxed_keystore())
    signer = xmlsig.signer_from_keystore(keys, bytes.fromhex("90B3D51F30020000"))
    root = duis.parse((data.duis_catalogue() / TEMPLATE_7_6).read_bytes())
    duis.set_originator(root, bytes.fromhex("90B3D51F30020000"), 5)
    signed = duis.to_bytes(xmlsig.sign(root, signer))
    schema = duis.load_schema(str(data.duis_schema()))
    trusted = xmlsig.TrustedCertificates.from_keystore(keys)
    assert document.check(signed, schema, trusted).signed
    with pytest.raises(document.Refused) as refused:
        document.check(spoil_signature(signed), schema, trusted)
    assert refused.value.code.value == "E41"


HOSTED_VIEW = {
    "hub": "00DB1234560001A2", "meter": "00DB1234560001A0", "boost_available": True,
    "meter_device_log": {"00DB1234560001B3": "hcalcs"},
    "registers": [{"name": "meter balance (credit)", "obis": "0000130A00FF", "attribute": 2,
                   "value": 1000}],
    "switches": [{"slot": 3, "eui": "00DB1234560001B3", "role": "hcalcs", "relay": "open",
                  "level": 0, "label": "EV", "meter_label": "EV", "boost_associated": False}],
}  # fmt: skip


def test_a_premises_hosts_reports_reach_the_households_view_and_the_page():
    """State frames from the host's stdout (a real StreamReader) become the household's view,
    each change heard by the console; frames for no household or not an object are ignored."""

    async def run() -> tuple[list[dict], dict | None, list[bytes]]:
        reader = asyncio.StreamReader()
        written: list[bytes] = []
        process = SimpleNamespace(stdout=reader, stdin=SimpleNamespace(write=written.append))
        host = PremisesHost(process)  # type: ignore[arg-type]
        household = HostedPremises(host, 1, {"00DB1234560001A2": "CHF"})
        host.households[1] = household
        heard: list[dict] = []
        assert written == []  # nobody watches yet: the host is not asked to report
        household.on_view(lambda port: heard.append(json.loads(json.dumps(port.view))))
        household.on_view(lambda port: None)
        first = {**HOSTED_VIEW, "switches": [{**HOSTED_VIEW["switches"][0], "relay": "closed"}]}
        for message in ({"state": first, "household": 1}, {"state": [1], "household": 1},
                        {"state": HOSTED_VIEW, "household": 9},
                        {"state": HOSTED_VIEW, "household": 1}):  # fmt: skip
            reader.feed_data(remote_premises.frame(message))
        reader.feed_eof()
        await host._read()
        return heard, household.view, written

    heard, view, written = asyncio.run(run())
    assert written == [remote_premises.frame({"watch": True})]  # asked once
    assert [h["switches"][0]["relay"] for h in heard] == ["closed", "open"]
    assert view == HOSTED_VIEW
    port = SimpleNamespace(view=view, device_ids={"00DB1234560001A2": "CHF"})
    shown = premises_view.hosted_state(port, {})  # type: ignore[arg-type]
    assert shown is not None and shown["hosted"] is True
    assert shown["hub"] == {"eui": "00-DB-12-34-56-00-01-A2", "device_log": [
        {"eui": "00-DB-12-34-56-00-01-A2", "type": "CHF"}],
        "mains": {"on": True, "since": None, "alert": None}}  # fmt: skip
    assert shown["switches"][0]["eui"] == "00-DB-12-34-56-00-01-B3"
    assert shown["switches"][0]["relay"] == "open"
    assert shown["meter"]["registers"] == HOSTED_VIEW["registers"]
    assert premises_view.hosted_state(SimpleNamespace(view=None), {}) is None  # type: ignore[arg-type]


def test_a_hosts_execution_keeps_the_switch_states_it_reports():
    execution = remote_premises.RemoteExecution.from_json({
        "use_case": "ECS47", "outcome": "executed", "response": "00",
        "switch": {"3": {"relay": "open", "level": 0}}, "latency_s": 0.1,
    })  # fmt: skip
    assert execution.switch == {3: {"relay": "open", "level": 0}}
    bare = remote_premises.RemoteExecution.from_json({"use_case": "x", "outcome": "executed"})
    assert bare.switch == {} and bare.response is None


def test_the_feeder_pause_holds_simulated_time_until_stepped_or_run_from_another_thread():
    """On the emulator's own simulated loop: a paused run stays at its sample, simulated
    time standing still (a ticker's timers do not fire) however long it is held in real
    time; Step lets exactly one sample through; Run lets the rest go."""
    console = FeederConsole({"step_s": 30.0}, paused=True)
    clock = Clock()
    pressed: dict[str, float] = {}

    def held_at(n: int) -> None:
        deadline = time.monotonic() + 20
        while console.control()["held_at"] != n:
            assert time.monotonic() < deadline, f"never held at {n}"
            time.sleep(0.01)

    def press() -> None:
        held_at(0)
        time.sleep(0.3)  # real time passes; simulated time must not
        pressed["sim_at_step"] = clock.now()
        console.act("step")
        held_at(1)
        pressed["sim_at_run"] = clock.now()
        console.act("run")

    async def main() -> tuple[list[float], int]:
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(1.0)
                ticks += 1

        task = asyncio.create_task(ticker())
        samples = []
        for i in range(4):
            samples.append(clock.now())
            console._pace(i)
            await asyncio.sleep(30.0)
        task.cancel()
        return samples, ticks

    presser = threading.Thread(target=press)
    presser.start()
    started = time.monotonic()
    samples, ticks = clock.run(main)
    presser.join(5)
    assert samples == [0.0, 30.0, 60.0, 90.0]
    assert pressed == {"sim_at_step": 0.0, "sim_at_run": 30.0}
    assert time.monotonic() - started >= 0.3
    assert ticks in (119, 120)  # 120 s of simulated time, not a tick more while held
    assert console.control()["state"] == "running"


@pytest.mark.parametrize(
    "action, speed, message",
    [("rewind", None, "pause, run, step or speed"), ("speed", None, "0 or more"),
     ("speed", -1.0, "0 or more"), ("speed", float("inf"), "0 or more")],
)  # fmt: skip
def test_the_feeder_refuses_a_bad_control(action, speed, message):
    console = FeederConsole({"step_s": 30.0})
    with pytest.raises(ControlError, match=message):
        console.act(action, speed)
    assert console.control() == {"state": "running", "speed": 0.0, "held_at": None, "version": 0}
    with pytest.raises(ControlError):
        FeederConsole({"step_s": 30.0}, speed=-1)


def test_a_snapshot_never_shows_the_run_held_at_a_sample_whose_point_has_not_landed():
    """The run's thread sets the sample it is held at at once, while the sample's point
    reaches the console's loop later (posted): a snapshot between the two said "held at
    sample 1" beside one point (a clean-clone CI run saw it). It now shows the control
    state as published on the console's loop, after the points posted before it."""
    console = FeederConsole({"step_s": 30.0}, paused=True)
    console._loop = asyncio.new_event_loop()  # the console's loop, not yet run
    try:

        async def run_side(i: int) -> None:  # what the engine's step hook posts and sets
            console._post(console._stepped, [i, 30.0 * i, 1.0, 2.0])
            console._pace(i)

        def consistent() -> bool:
            shown = console.snapshot()
            held = shown["control"]["held_at"]
            return held is None or len(shown["points"]) >= held + 1

        for i in range(3):
            asyncio.run(run_side(i))
            assert console.control()["held_at"] == i  # the run's own state: at once
            assert consistent()  # before the console's loop has taken the point in
            console._loop.run_until_complete(asyncio.sleep(0))
            assert consistent()
            assert console.snapshot()["control"]["held_at"] == i
            assert len(console.snapshot()["points"]) == i + 1
            console.act("step")
            assert console.snapshot()["control"]["held_at"] is None  # a press: shown at once
    finally:
        console._loop.close()


def test_a_paced_run_takes_at_least_its_simulated_time_over_its_speed():
    """60x: four 30 s samples are held apart by 0.5 s of real time each (a lower bound only:
    a busy machine may be slower, never faster); simulated time is as unpaced."""
    console = FeederConsole({"step_s": 30.0}, speed=60.0)
    clock = Clock()

    async def main() -> list[float]:
        samples = []
        for i in range(4):
            samples.append(clock.now())
            console._pace(i)
            await asyncio.sleep(30.0)
        return samples

    started = time.monotonic()
    assert clock.run(main) == [0.0, 30.0, 60.0, 90.0]
    assert time.monotonic() - started >= 3 * 30.0 / 60.0


@pytest.mark.parametrize(
    "name, nav",
    [("premises", ["premises", "log", "launcher"]), ("log", ["premises", "log", "launcher"]),
     ("feeder", ["feeder"]), ("feeder", ["feeder", "premises", "log"]),
     ("premises", ["feeder", "premises", "log"]), ("log", ["feeder", "premises", "log"])],
)  # fmt: skip
def test_a_pages_nav_names_the_pages_its_server_serves_this_one_current(name, nav):
    """`gbhan dsp serve` serves Premises, DUIS log, Launcher; `gbhan emulate --serve` Feeder,
    Premises, DUIS log (its DSP has no HTTP interface for the launcher)."""
    html = page(name, nav).text or ""
    block = html[html.index('<nav aria-label="Pages">') : html.index("</nav>")]
    links = [part.split('"')[0] for part in block.split('href="/')[1:]]
    assert links == nav
    assert block.count('aria-current="page"') == 1
    assert f'href="/{name}" aria-current="page"' in block
    assert html.count("<nav") == 1 and "<script" in html  # the rest of the page is kept


def test_a_recorded_in_process_request_carries_the_dsps_answer_and_refusal_rule():
    """The transport a scenario's DNO reaches its DSP through records what the HTTP
    middleware records for `gbhan dsp serve`: the request, the answer, the DSP's own rule."""
    clock = Clock()
    seen: list[tuple[str, bytes, bytes, str | None]] = []

    async def main() -> None:
        dsp = make_dsp(schema_dir=data.duis_schema(), dccboxed=data.dccboxed_keystore(),
                       rtds=None, rtds_keystore=data.rtds_keystore(), clock=clock)  # fmt: skip
        note_refusals(dsp)
        keys = Keystore.open(data.dccboxed_keystore(), clock=RUN_DATE)
        transport = RecordingTransport(InProcessTransport(dsp), lambda *got: seen.append(got))
        dno = make_user("dno", keys, dsp.schema, dsp.trusted, transport)
        template = (data.duis_catalogue() / TEMPLATE_7_5).read_bytes()
        await transport.post("serviceT", dno.prepare(template, 7))
        await transport.post("serviceS", spoil_signature(dno.prepare(template, 8)))

    clock.run(main)
    assert [endpoint for endpoint, *_ in seen] == ["serviceT", "serviceS"]
    codes = [duis.response_code_of(duis.parse(answer)) for _e, _b, answer, _r in seen]
    assert codes == ["E2", "E41"]
    assert seen[0][3] == "role ED may not send SRV 7.5"
    assert seen[1][3] and seen[1][3].startswith("signature")


def test_a_scenario_view_reads_its_household_on_the_runs_loop_and_publishes_only_changes():
    """`DspView` over a real DSP and the RTDS household in process, on the simulated loop: a
    sample reads the household only after a document was delivered (or `refresh_s` passed),
    a premises is published only when what it shows changed, and after the last sample each
    delivered document reads it at once (no later sample will)."""
    clock = Clock()
    hub = EventHub()
    view = DspView(hub, lambda handler, data: handler(data), refresh_s=3600.0, min_gap_s=0.0)

    def relays() -> list[str]:
        return [e.data["live"]["switches"][0]["relay"] for e in hub.since(0)
                if e.kind == "premises"]  # fmt: skip

    async def main() -> list[list[str]]:
        dsp = make_dsp(schema_dir=data.duis_schema(), dccboxed=data.dccboxed_keystore(),
                       rtds=None, rtds_keystore=data.rtds_keystore(), clock=clock)  # fmt: skip
        premises = await Premises.start(clock, keys=PremisesKeys.open(), switch="model",
                                        **households.default().premises_kwargs())  # fmt: skip
        view.attach(dsp, live={RTDS_PREMISES: premises}, users=(), verifier=Verifier(Keystore()))
        user = next(iter(dsp.users))
        unit = premises.switches[min(premises.switches)]
        assert isinstance(unit, ModelSwitch)
        seen = []

        async def sample(*, delivered: bool = False, last: bool = False) -> None:
            if delivered:
                view._delivered(user, b"<not-duis/>", "response")
            view.step(last=last)
            await asyncio.sleep(0.01)  # the read's task runs on this loop
            seen.append(relays())

        await sample()  # the first sample reads: never read before
        unit.failsafe = not unit.failsafe  # the switch's output changes
        await sample()  # nothing delivered, refresh_s not passed: not read
        await sample(delivered=True)  # read: the change published
        await sample(delivered=True)  # read again, nothing changed: nothing published
        await sample(last=True)  # the last sample reads
        unit.failsafe = not unit.failsafe
        view._delivered(user, b"<not-duis/>", "response")  # a settling SRV's response
        await asyncio.sleep(0.01)
        seen.append(relays())
        await premises.close()
        return seen

    seen = clock.run(main)
    first = seen[0][0]
    other = "open" if first == "closed" else "closed"
    assert seen == [[first], [first], [first, other], [first, other], [first, other],
                    [first, other, first]]  # fmt: skip
    assert view.log is not None and len(view.log.entries) == 3  # each delivery logged
    assert {e.data["name"] for e in hub.since(0) if e.kind == "premises"} == {RTDS_PREMISES}
    view.close()
