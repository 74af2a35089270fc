"""`gbhan dsp serve --start DATE --speed X`: the DSP's clock (and its devices', its premises
host's too) starts at DATE and runs X times as fast, so a request future-dated an hour ahead
is carried out, and answered, a few real seconds later, by the RTDS meter in the DSP's process
and by a generated household's meter in the host's, each at its time on the DSP's clock; the
web console's premises page is given that clock and its speed; a daily schedule at a day a
second reads the meter once a DSP day; and a restart carries the clock on (`--start resume`).
Changing the pace while the DSP runs: tests/web/test_web_dsp_clock.py."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import json
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from backoffice_helpers import free_port

from emulator import data
from emulator.backoffice import duis, xmlsig
from emulator.backoffice.assembly import DEFAULT_GBCS_DATE
from emulator.backoffice.premises_factory import GeneratedHousehold
from emulator.backoffice.users import Endpoint, HttpTransport, make_user
from gbcs import decode
from gbcs.keystore import Keystore

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = data.duis_catalogue() / "ECS17b_4.1.1_DSP_FUTURE_DATED_REQUEST_DUIS.XML"
START = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
SPEED = 600  # an hour in 6 s
RTDS_ESME = "00-DB-12-34-56-78-90-A0"


def _dashed(eui: bytes) -> str:
    return "-".join(f"{b:02X}" for b in eui)


def _request(folder: Path, target: str, when: dt.datetime) -> Path:
    root = duis.parse(TEMPLATE.read_bytes())
    root.find(f".//{{{duis.SR}}}ExecutionDateTime").text = when.strftime("%Y-%m-%dT%H:%M:%S.00Z")
    duis.set_target(root, duis.eui_from_text(target))
    path = folder / f"{target}.xml"
    path.write_bytes(duis.to_bytes(root))
    return path


def _submit(url: str, listen: int, request: Path) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "tools.dsp_cmd", "dsp", "submit", str(request), "--as",
         "supplier", "--url", url, "--listen", str(listen), "--timeout", "120"],
        cwd=REPO, capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    return done.stdout + done.stderr


def _answers(out: str) -> list[tuple[str, dt.datetime | None, bytes | None]]:
    """(code, ResponseDateTime, GBCS payload) of each answer `gbhan dsp submit` printed."""
    found = []
    for part in re.split(r"^== ", out, flags=re.MULTILINE)[1:]:
        code = part.split(": ", 1)[1].split()[0]
        when = re.search(r"<sr:ResponseDateTime>([^<]+)</sr:ResponseDateTime>", part)
        payload = re.search(r"<sr:GBCSPayload>([^<]+)</sr:GBCSPayload>", part)
        found.append((
            code,
            dt.datetime.fromisoformat(when.group(1).replace("Z", "+00:00")) if when else None,
            base64.b64decode(payload.group(1)) if payload else None,
        ))  # fmt: skip
    return found


def test_an_hour_ahead_is_carried_out_in_seconds_by_both_processes_meters(tmp_path):
    listen = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "tools.dsp_cmd", "dsp", "serve", "--port", "0",
         "--smki-port", "0", "--web-port", "0", "--state-dir", str(tmp_path / "state"),
         "--latency", "0.01", "--households", "1", "--start", START.isoformat(),
         "--speed", str(SPEED), "--endpoint", f"supplier=http://127.0.0.1:{listen}/"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        line = server.stdout.readline()
        found = re.match(r"DSP on (http://127\.0\.0\.1:\d+)/.*; clock (\S+) at (\S+)x", line)
        assert found, line
        url, serving_at = found.group(1), dt.datetime.fromisoformat(found.group(2))
        assert float(found.group(3)) == SPEED
        # started up in real time: the clock read about --start when it began to serve
        assert START <= serving_at < START + dt.timedelta(minutes=5)
        console = re.match(r"web console on (http://\S+/)", server.stdout.readline())
        assert console, "no web console line"
        with urllib.request.urlopen(console.group(1) + "web/api/premises", timeout=30) as page:
            shown = json.loads(page.read())["clock"]  # what the premises page runs on
        assert shown["speed"] == SPEED
        assert (
            serving_at
            <= dt.datetime.fromisoformat(shown["utc"])
            < serving_at + dt.timedelta(hours=1)
        )
        # the console's launcher works at this speed: a critical 7.6 round trip is answered
        sent = urllib.request.Request(
            console.group(1) + "web/api/send", method="POST",
            data=json.dumps({"template": "ECS47Deactivate_7.6_SUCCESS_REQUEST_DUIS.XML",
                             "user": "90-B3-D5-1F-30-02-00-00"}).encode(),
            headers={"Content-Type": "application/json"},
        )  # fmt: skip
        with urllib.request.urlopen(sent, timeout=60) as reply:
            launched = json.loads(reply.read())
        assert launched["error"] is None, launched
        assert [a["code"] for a in launched["answers"]] == ["I0", "I99"]
        household = _dashed(GeneratedHousehold(1).esme)
        outs = {}
        for target, hours in ((RTDS_ESME, 1), (household, 2)):
            due = START + dt.timedelta(hours=hours)
            outs[target] = (due, _submit(url, listen, _request(tmp_path, target, due)))
    finally:
        server.terminate()
        server.wait(15)
    for target, (due, out) in outs.items():
        answers = _answers(out)
        assert [code for code, _w, _p in answers] == ["I99", "I0"], (target, out[-3000:])
        (_c, acked, _p), (_c2, answered, payload) = answers
        assert acked < due <= answered < due + dt.timedelta(minutes=10), target
        response = decode(payload)  # the meter's register read, carried out at its time
        assert response.message_code == 0x0027 and response.cra == "response"
        assert response.originator.hex("-").upper() == target


def _serve(state: Path, *extra: str) -> tuple[subprocess.Popen, str]:
    """`gbhan dsp serve` on the state, no console: (the process, its first line)."""
    server = subprocess.Popen(
        [sys.executable, "-m", "tools.dsp_cmd", "dsp", "serve", "--port", "0",
         "--smki-port", "0", "--no-web", "--state-dir", str(state), *extra],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    return server, server.stdout.readline()


def _clock_of(line: str) -> dt.datetime:
    found = re.search(r"; clock (\S+) at ", line)
    assert found, line
    return dt.datetime.fromisoformat(found.group(1))


def test_a_restart_resumes_the_clock_where_a_sigkill_left_it(tmp_path):
    """A paced DSP saves its clock every real second: killed (SIGKILL, no goodbye) after a
    few real seconds at 600x, the next DSP on the state with `--start resume` carries on
    from there, not from --start (nor from now)."""
    state = tmp_path / "state"
    server, line = _serve(state, "--start", START.isoformat(), "--speed", str(SPEED))
    try:
        began = _clock_of(line)
        time.sleep(3.0)  # 30 DSP minutes
    finally:
        server.kill()
        server.wait(15)
    server, line = _serve(state, "--start", "resume", "--speed", str(SPEED))
    try:
        resumed = _clock_of(line)
    finally:
        server.terminate()
        server.wait(15)
    assert began + dt.timedelta(minutes=15) <= resumed < began + dt.timedelta(hours=6)


def test_resume_with_no_clock_saved_is_refused(tmp_path):
    server, line = _serve(tmp_path / "state", "--start", "resume")
    assert server.wait(30) == 2
    assert "no DSP clock saved" in line


def test_a_daily_schedule_runs_once_a_simulated_day_at_a_day_a_second(tmp_path):
    """The catalogue's 5.1 (a daily 4.6.1 read of the ESME's daily read log, the DSP's own
    schedule) at 86,400x: each real second is a DSP day, and the Supplier gets one read a
    day, at each midnight of the DSP's clock, each the meter's signed-off response."""
    template = data.duis_catalogue() / "ECS21a_5.1._DCC_SCHEDULED_REQUEST_DUIS.XML"
    xml = template.read_bytes().replace(b"2015-01-02", b"2026-03-02")  # its first day

    async def go():
        keys = Keystore.open(data.dccboxed_keystore(), clock=DEFAULT_GBCS_DATE)
        trusted = xmlsig.TrustedCertificates.from_keystore(Keystore.open(data.dccboxed_keystore()))
        supplier = make_user("supplier", keys, duis.load_schema(str(data.duis_schema())),
                             trusted, None)  # fmt: skip
        endpoint = Endpoint(supplier)
        url = await endpoint.start("127.0.0.1", 0)
        # the DSP's clock starts a whole day before the schedule's first midnight, so the
        # request has a real second to be in before it (an hour ahead, 42 ms, was too
        # little for a machine loaded by the whole test run)
        server, line = await asyncio.to_thread(
            _serve, tmp_path / "state", "--start", "2026-03-01T00:00:00Z", "--speed", "86400",
            "--latency", "0.01", "--endpoint", f"supplier={url}",
        )  # fmt: skip
        try:
            supplier.transport = HttpTransport(re.match(r"DSP on (http://\S+?)/api", line).group(1))
            created = await supplier.submit(supplier.prepare(xml, 5001))
            for _ in range(600):  # a day and three more: about four real seconds
                if len(supplier.received) >= 3:
                    break
                await asyncio.sleep(0.1)
            return created, list(supplier.received)
        finally:
            server.terminate()
            await asyncio.to_thread(server.wait, 15)
            await endpoint.stop()
            if supplier.transport is not None:
                await supplier.transport.close()

    created, received = asyncio.run(go())
    assert [a.code for a in created] == ["I0"]
    days = [
        dt.datetime.fromisoformat(
            re.search(rb"<sr:ResponseDateTime>([^<]+)<", a.xml).group(1).decode()
        )
        for a in received[:3]
    ]
    midnight = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)
    assert [d.date() for d in days] == [(midnight + dt.timedelta(days=n)).date() for n in range(3)]
    assert all(d - d.replace(hour=0, minute=0, second=0, microsecond=0) < dt.timedelta(minutes=5)
               for d in days)  # fmt: skip
    for answer in received[:3]:
        assert answer.code == "I0"
        assert decode(answer.gbcs_payload).use_case.name == "ECS21a"
