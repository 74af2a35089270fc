"""`gbhan dsp submit` against a DSP served over HTTP in a background thread (with the RTDS
premises double): originator replaced by the user's EUI, re-signed, the whole round trip run,
each DUIS answer printed, the device's last; and both commands as real processes."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from backoffice_helpers import DUIS, free_port
from dsp_helpers import build_dsp

from emulator.backoffice import service
from tools import dsp_cmd

REPO = Path(__file__).resolve().parents[2]
TEMPLATE_7_6 = "ECS47Deactivate_7.6_SUCCESS_REQUEST_DUIS.XML"


@pytest.fixture
def served(schema, trusted, dsp):
    """A DSP on an ephemeral port whose users' endpoints are free local ports."""
    ports = {"supplier": free_port(), "dno": free_port()}
    ready, stop, holder = threading.Event(), None, {}

    def run():
        async def main():
            nonlocal stop
            stop = asyncio.Event()
            dsp_, premises = build_dsp(schema, trusted, dsp, delivery=service.HttpDelivery())
            for user in dsp_.users:
                dsp_.users.set_endpoint(user.eui, f"http://127.0.0.1:{ports[user.name]}/")
            runner = await service.start(dsp_, port=0)
            holder.update(url=f"http://127.0.0.1:{service.bound_port(runner)}", dsp=dsp_,
                          premises=premises, loop=asyncio.get_running_loop())  # fmt: skip
            ready.set()
            await stop.wait()
            await dsp_.delivery.close()
            await runner.cleanup()

        asyncio.run(main())

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert ready.wait(30)
    yield holder, ports
    holder["loop"].call_soon_threadsafe(stop.set)
    thread.join(10)


@pytest.mark.parametrize(
    "template, who, codes",
    [("ECS47Deactivate_7.6_SUCCESS_REQUEST_DUIS.XML", "dno", ["I0", "I99", "I0"]),
     ("ECS61a_7.7_ALL_OPTIONALS_SUCCESS_REQUEST_DUIS.XML", "supplier", ["I99", "I0"]),
     ("ECS47Activate_7.5_SUCCESS_REQUEST_DUIS.XML", "dno", ["E2"])],
)  # fmt: skip
def test_submit_prints_every_answer_final_last(template, who, codes, served, capsys):
    holder, ports = served
    status = dsp_cmd.main(["dsp", "submit", str(DUIS / template), "--as", who,
                           "--url", holder["url"], "--listen", str(ports[who]),
                           "--timeout", "10"])  # fmt: skip
    out = capsys.readouterr().out
    printed = [line.split(": ")[1].split()[0] for line in out.splitlines() if line.startswith("==")]
    assert printed == codes
    assert status == (0 if codes[-1] == "I0" else 1)
    eui = {"dno": "90-B3-D5-1F-30-02-00-00", "supplier": "90-B3-D5-1F-30-01-00-00"}[who]
    assert f"<sr:RequestID>{eui}:" in out
    assert len(holder["premises"].received) == (1 if codes[-1] == "I0" else 0)


def test_serve_and_submit_as_processes_with_the_real_premises(capsys, tmp_path):
    """`gbhan dsp serve` in its own process (real premises on the wall clock), then
    `gbhan dsp submit` of a 7.6 as the DNO: the switch's meter answers I0."""
    listen = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "tools.dsp_cmd", "dsp", "serve", "--port", "0",
         "--smki-port", "0", "--state-dir", str(tmp_path / "state"), "--no-web",
         "--latency", "0.01", "--endpoint", f"dno=http://127.0.0.1:{listen}/"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        line = server.stdout.readline()
        assert line.startswith("DSP on http://127.0.0.1:"), line
        port = int(line.split(":")[2].split("/")[0])  # port 0: the one the OS gave the DSP
        status = dsp_cmd.main(["dsp", "submit", str(DUIS / TEMPLATE_7_6), "--as", "dno",
                               "--url", f"http://127.0.0.1:{port}", "--listen", str(listen),
                               "--timeout", "20"])  # fmt: skip
    finally:
        server.terminate()
        server.wait(10)
    out = capsys.readouterr().out
    assert [x.split(": ")[1].split()[0] for x in out.splitlines() if x.startswith("==")] == [
        "I0", "I99", "I0"]  # fmt: skip
    assert status == 0
