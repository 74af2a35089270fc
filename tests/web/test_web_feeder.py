"""The feeder page's data over HTTP against `gbhan emulate --serve` as a process: a run
started paused holds at its first sample, steps one sample at a time, runs at a chosen speed,
and ends with every sample and SRV of summary.json on the page; holding and pacing the
simulated clock leaves the run's results exactly those of a plain `gbhan emulate`."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest
from web_helpers import REPO, emulate_serve, sse_events, stop_emulating

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    """A run started paused, stepped twice, sped up, then run to its end."""
    running = emulate_serve(tmp_path_factory.mktemp("served"), "--paused")
    try:
        seen = {"start": running.until(lambda s: s["control"]["held_at"] == 0, 60)}
        for n in (1, 2):
            status, _ = running.control({"action": "step"})
            assert status == 200
            seen[f"step{n}"] = running.until(lambda s, n=n: s["control"]["held_at"] == n, 60)
        seen["refusals"] = [
            running.control(body)
            for body in ({"action": "rewind"}, {"action": "speed", "speed": -1},
                         {"action": "speed"}, {"action": "speed", "speed": "fast"}, [1])
        ]  # fmt: skip
        assert running.control({"action": "speed", "speed": 0})[0] == 200
        assert running.control({"action": "run"})[0] == 200
        last = running.until(lambda s: s["finished"] is not None, 240)
        events = []
        for event in sse_events(running.web_url + "web/api/events?after=0", 30):
            events.append(event)
            if event[1] == "finished":
                break
        summary = json.loads((running.out / "summary.json").read_text())
        dsp = {
            "log": running.get("web/api/log")["entries"],
            "premises": running.get("web/api/premises")["premises"],
            "pages": {name: running.page(name) for name in ("feeder", "premises", "log",
                                                            "launcher")},
        }  # fmt: skip
        dsp["details"] = {
            e["seq"]: running.get(f"web/api/log/{e['seq']}")
            for e in dsp["log"] if e["srv"] == "7.6"
        }  # fmt: skip
    finally:
        code = stop_emulating(running)
    return Finished(seen, last, events, summary, code, running.out, dsp)


@dataclass
class Finished:
    seen: dict  # snapshots on the way: start, step1, step2; refusals: (status, body)
    last: dict  # the snapshot once finished
    events: list  # the stream from its first event to `finished`
    summary: dict  # summary.json
    code: int  # the process's exit code
    out: Path
    dsp: dict  # the scenario DSP's pages once finished: log, premises, pages, 7.6 details


def test_a_paused_run_holds_at_its_first_sample_and_steps_one_at_a_time(finished_run):
    seen = finished_run.seen
    assert seen["start"]["control"]["state"] == "paused"
    assert len(seen["start"]["points"]) == 1
    assert [len(seen[f"step{n}"]["points"]) for n in (1, 2)] == [2, 3]
    step = seen["start"]["scenario"]["step_s"]
    times = [p[0] for p in seen["step2"]["points"]]
    assert [round(b - a, 3) for a, b in zip(times, times[1:], strict=False)] == [step, step]


def test_bad_controls_are_refused_with_a_reason(finished_run):
    refusals = finished_run.seen["refusals"]
    assert [status for status, _ in refusals] == [400] * 5
    reasons = [body["error"] for _, body in refusals]
    assert "pause, run, step or speed" in reasons[0]
    assert all("speed" in reason for reason in reasons[1:4])
    assert "JSON object" in reasons[4]


def test_the_finished_page_holds_every_sample_and_srv_of_summary_json(finished_run):
    last, summary, code = finished_run.last, finished_run.summary, finished_run.code
    scenario = last["scenario"]
    loads = [p[1] for p in last["points"]]
    assert len(loads) == round(scenario["duration_s"] / scenario["step_s"])
    assert max(loads) == summary["feeder_peak_kw"]
    over = sum(1 for kw in loads if kw > summary["feeder_rating_kw"])
    assert round(over * scenario["step_s"] / 60.0, 1) == summary["minutes_over_rating"]
    srvs = last["srvs"]
    assert len(srvs) == summary["srv_count"] > 0
    assert dict(Counter(s["srv"] for s in srvs)) == summary["srv_by_type"]
    assert sum(1 for s in srvs if not s["ok"]) == summary["srv_failed"]
    answered = [s["response_s"] for s in srvs if s["response_s"] is not None]
    assert max(answered) == summary["srv_response_s_max"]
    assert [s["n"] for s in srvs] == list(range(1, len(srvs) + 1))
    assert last["finished"]["summary"] == summary
    assert last["control"]["state"] == "finished"
    assert code in (0, 1)  # the run's own exit code, after SIGTERM ended the serving


def test_the_page_shows_the_dnos_decisions_and_the_consent_register(finished_run):
    last, summary = finished_run.last, finished_run.summary
    assert any("EMERGENCY declared" in note for note in last["notes"])
    interventions = json.loads((finished_run.out / "interventions.json").read_text())
    assert [(e["start"], e["end"], e["reason"]) for e in last["emergencies"]] == [
        (round(e["start"], 3), None if e["end"] is None else round(e["end"], 3), e["reason"])
        for e in interventions["events"]
    ]
    assert len(last["emergencies"]) == summary["interventions"] > 0
    assert any("SRV 7.6" in note for note in last["notes"])
    register = {row["premises"]: row for row in last["consent"]}
    opted_in = [row for row in register.values() if row["consent"] == "opted-in"]
    assert len(opted_in) == summary["consented_premises"]
    assert (
        sum(1 for r in register.values() if r["consent"] == "declined")
        == (summary["declined_premises"])
    )
    assert {r["switch"] for r in opted_in if r["switch"]} <= {
        "available", "curtailed", "failed", "lost", "withdrawn", "overridden"
    }  # fmt: skip
    customers = {p for p, minutes in summary["curtailment_minutes_by_customer"].items() if minutes}
    assert customers <= {p for p, r in register.items() if r["times_curtailed"] > 0}


def test_the_stream_replays_the_run_in_order(finished_run):
    last, events = finished_run.last, finished_run.events
    ids = [int(i) for i, _kind, _data in events]
    assert ids == sorted(ids) and len(ids) == len(set(ids))
    steps = [data["i"] for _i, kind, data in events if kind == "step"]
    assert steps == list(range(len(last["points"])))
    assert [data["n"] for _i, kind, data in events if kind == "srv"] == [
        s["n"] for s in last["srvs"]
    ]
    kinds = [kind for _i, kind, _data in events]
    assert kinds.index("finished") > max(i for i, k in enumerate(kinds) if k == "step")


def test_holding_and_pacing_the_run_leave_its_results_those_of_a_plain_run(finished_run, tmp_path):
    """`gbhan emulate` without --serve, as the README runs it: the same summary."""
    summary = dict(finished_run.summary)
    plain = subprocess.run(
        [sys.executable, "-m", "tools.cli", "emulate", "--quiet", "--out", str(tmp_path)],
        cwd=REPO, capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    assert "feeder page" not in plain.stdout
    again = json.loads((tmp_path / "summary.json").read_text())
    for both in (summary, again):
        both.pop("wall_seconds")
        both["han"].pop("wall_seconds", None)
    assert again == summary
    assert plain.returncode == finished_run.code


def test_a_taken_port_is_a_usage_error_naming_web_port(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "-m", "tools.cli", "emulate", "--serve", "--web-port", str(port),
             "--out", str(tmp_path)],
            cwd=REPO, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    assert done.returncode == 2
    assert "--web-port" in done.stdout
    assert not (tmp_path / "summary.json").exists()


def test_ctrl_c_in_a_held_run_ends_it_with_130_and_writes_no_summary(tmp_path):
    running = emulate_serve(tmp_path / "out", "--paused")
    try:
        running.until(lambda s: s["control"]["held_at"] == 0, 60)
        running.process.send_signal(signal.SIGINT)
        code = running.process.wait(60)
    finally:
        if running.process.poll() is None:
            stop_emulating(running)
    time.sleep(0.3)  # the reader thread takes the last lines
    assert code == 130
    assert "interrupted: the run did not finish" in "".join(running.output)
    assert "Traceback" not in "".join(running.output)
    assert not (tmp_path / "out" / "summary.json").exists()


def test_the_scenario_dsps_log_holds_each_srv_of_summary_json_with_its_response(finished_run):
    """Every SRV the DNO sent went through the scenario's own DSP, and the DUIS log on the
    same port has each: one request id per SRV of summary.json, by type, answered."""
    log, summary, srvs = finished_run.dsp["log"], finished_run.summary, finished_run.last["srvs"]
    requested: dict[str, set[str]] = {}
    answered: dict[str, set[str]] = {}
    for e in log:
        into = requested if e["direction"] == "request" else answered
        if e["direction"] in ("request", "response"):
            into.setdefault(e["srv"], set()).add(e["request_id"])
    assert {srv: len(ids) for srv, ids in requested.items()} == summary["srv_by_type"]
    failed = Counter(s["srv"] for s in srvs if not s["ok"])
    assert {srv: len(ids) for srv, ids in answered.items()} == {
        srv: n - failed[srv] for srv, n in summary["srv_by_type"].items() if n > failed[srv]
    }
    assert all(answered[srv] <= requested[srv] for srv in answered)
    assert [e["seq"] for e in log] == sorted(e["seq"] for e in log)
    assert {e["user_name"] for e in log} == {"dno"}
    assert all(e["outcome"] != "refused" for e in log)
    # the run's own times: the scenario's start plus simulated time, in order
    start = finished_run.last["scenario"]["start_utc"]
    assert all(e["at"] >= start[:19] for e in log)
    assert [e["at"] for e in log] == sorted(e["at"] for e in log)


def test_a_7_6_in_the_scenario_log_opens_with_every_signature_verified(finished_run):
    """The DNO's 7.6: the variant 4 request and the DSP's pre-command, the variant 5 with the
    DNO's GBCS signature on it, and the ESME's signed response, each verified."""
    details = finished_run.dsp["details"]
    assert details
    by_kind: dict[tuple[str, str], list[dict]] = {}
    for entry in details.values():
        by_kind.setdefault((entry["direction"], entry["endpoint"]), []).append(entry)
    assert set(by_kind) == {("request", "serviceT"), ("request", "serviceS"), ("response", "dno")}
    for entry in details.values():
        for doc in entry["documents"]:
            assert doc["xml_signature"]["status"] == "verified", (entry["seq"], doc["name"])
    for kind, where in ((("request", "serviceS"), "SignedPreCommand"),
                        (("response", "dno"), "ResponseMessage")):  # fmt: skip
        for entry in by_kind[kind]:
            payloads = [g for d in entry["documents"] for g in d["gbcs"] if g["where"] == where]
            assert len(payloads) == 1, entry["seq"]
            checks = {c["check"]: c["status"] for c in payloads[0]["checks"]}
            assert checks["signature"] == "verified", (entry["seq"], payloads[0]["checks"])
            assert payloads[0]["use_case"].startswith("ECS47")


def test_the_scenario_households_are_on_the_premises_page_and_the_nav_names_its_pages(
    finished_run,
):
    premises = finished_run.dsp["premises"]
    summary = finished_run.summary
    with_switch = [p for p in premises if p["live"] and p["live"]["switches"]]
    assert len(premises) == len(with_switch) == summary["han"]["premises_on_han"]
    register = {r["premises"]: r for r in finished_run.last["consent"]}
    for p in with_switch:
        row = register.get(p["name"])
        if row is not None and row["slot"] is not None:
            assert row["slot"] in {s["slot"] for s in p["live"]["switches"]}
    pages = finished_run.dsp["pages"]
    assert pages["launcher"][0] == 404  # the scenario's DSP has no HTTP interface to send to
    for name in ("feeder", "premises", "log"):
        status, html = pages[name]
        nav = html[html.index("<nav") : html.index("</nav>")]
        assert status == 200
        assert [part.split('"')[0] for part in nav.split('href="/')[1:]] == [
            "feeder", "premises", "log"
        ]  # fmt: skip
        assert f'href="/{name}" aria-current="page"' in nav
