"""`gbhan dsp serve --start DATE --speed X`: the DSP's clock (and its devices', its premises
host's too) starts at DATE and runs X times as fast, so a request future-dated an hour ahead
is carried out, and answered, a few real seconds later, by the RTDS meter in the DSP's process
and by a generated household's meter in the host's, each at its time on the DSP's clock; the
web console's premises page is given that clock and its speed."""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from emulator import data
from emulator.backoffice import duis
from emulator.backoffice.premises_factory import GeneratedHousehold
from gbcs import decode

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = data.duis_catalogue() / "ECS17b_4.1.1_DSP_FUTURE_DATED_REQUEST_DUIS.XML"
START = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
SPEED = 600  # an hour in 6 s
RTDS_ESME = "00-DB-12-34-56-78-90-A0"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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
    listen = _free_port()
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


def _serve(state: Path, *clock: str) -> tuple[subprocess.Popen, str]:
    """`gbhan dsp serve` on the state, no console: (the process, its first line)."""
    server = subprocess.Popen(
        [sys.executable, "-m", "tools.dsp_cmd", "dsp", "serve", "--port", "0",
         "--smki-port", "0", "--no-web", "--state-dir", str(state), *clock],
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
