"""Load and faults on `gbhan dsp serve` over real HTTP: C concurrent clients send N signed
DUIS requests (7.7, the DNO or the Supplier reading the switches: schema + XML signature
checked, transformed, MAC'd, routed to the real emulated premises, the meter's response
delivered signed to the user's endpoint), then the same with the DSP SIGKILLed and restarted
on the same state directory K times in the middle.

Printed per run: acknowledgements/s and ack latency p50/p99 over HTTP, end-to-end SRVs/s
(final answers delivered), and the counts that must be 0: lost (acknowledged, never
answered), duplicated (answered more than once), unanswered (no acknowledgement nor a clear
refusal). A request whose connection broke in a kill is sent again, byte-identical; the DSP
answers it I99 if it never journalled it, or E42 if it did (then its answer comes from the
journal: it counts as acknowledged). Reference measured in the same run: one schema + XML
signature check of a request in this process (the least every request costs the DSP).

What bounds the figures (profiled with py-spy and cProfile): end-to-end SRVs/s is the one
emulated premises', not the DSP's. Its ESME runs one command at a time and a 7.7 takes about
four HAN hops of the devices' 5 ms air time (premises_factory.build_premises han_latency_s),
so about 45 SRVs/s however fast the DSP is; at 0 ms the same process answers ~170 SRVs/s, its
time then mostly the device models (zigpy frames, the meter's DLMS encode). The acks share
two cores with this script's 20 clients and the device work.

    .venv/bin/python bench/dsp_load.py [--requests 5000] [--clients 20] [--kills 2]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import aiohttp  # noqa: E402
from aiohttp import web  # noqa: E402

from emulator import data  # noqa: E402
from emulator.backoffice import document, duis, xmlsig  # noqa: E402
from emulator.backoffice.users import make_user  # noqa: E402
from gbcs.keystore import Keystore  # noqa: E402

DUIS = data.duis()
DCCBOXED = data.dccboxed_keystore()
GBCS_DATE = dt.datetime(2025, 6, 1, tzinfo=dt.UTC)
TEMPLATE = DUIS / "ECS61a_7.7_ALL_OPTIONALS_SUCCESS_REQUEST_DUIS.XML"
_CODE = re.compile(rb"<(?:\w+:)?ResponseCode>([^<]+)<")
_RID = re.compile(rb"<(?:\w+:)?RequestID>([^<]+)<")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


@dataclass
class Tally:
    acked: dict[str, float] = field(default_factory=dict)  # request id -> ack latency s
    journalled: set[str] = field(default_factory=set)  # E42 on a resend after a broken link
    refused: dict[str, str] = field(default_factory=dict)  # request id -> E code
    answers: dict[str, list[str]] = field(default_factory=dict)  # request id -> final codes
    resent: int = 0
    first_ack: float | None = None
    last_ack: float = 0.0
    last_answer: float = 0.0


def signed_requests(count: int) -> list[tuple[str, bytes]]:
    """(request id, signed body): half the DNO's, half the Supplier's, counters unique."""
    keys = Keystore.open(DCCBOXED, clock=GBCS_DATE)
    trusted = xmlsig.TrustedCertificates.from_keystore(keys)
    schema = duis.load_schema(str(data.duis_schema()))
    users = [make_user(n, keys, schema, trusted, None) for n in ("dno", "supplier")]
    template = TEMPLATE.read_bytes()
    base = int(time.time() * 1000) * 10  # fresh counters for every bench run
    out = []
    for i in range(count):
        body = users[i % 2].prepare(template, base + i)
        out.append((_RID.search(body).group(1).decode(), body))
    return out


def check_s(body: bytes, rounds: int = 100) -> float:
    """One schema + XML signature check (document.check), the least each request costs."""
    keys = Keystore.open(DCCBOXED)
    trusted = xmlsig.TrustedCertificates.from_keystore(keys)
    schema = duis.load_schema(str(data.duis_schema()))
    document.check(body, schema, trusted)
    t0 = time.perf_counter()
    for _ in range(rounds):
        document.check(body, schema, trusted)
    return (time.perf_counter() - t0) / rounds


class Server:
    """`gbhan dsp serve` as a process on fixed ports, restartable on the same state."""

    def __init__(self, state: Path, endpoint: str):
        self.state, self.endpoint = state, endpoint
        self.port, self.smki_port = free_port(), free_port()
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        command = [sys.executable, "-m", "tools.dsp_cmd", "dsp", "serve",
                   "--port", str(self.port), "--smki-port", str(self.smki_port),
                   "--state-dir", str(self.state), "--latency", "0",
                   "--endpoint", f"supplier={self.endpoint}",
                   "--endpoint", f"dno={self.endpoint}"]  # fmt: skip
        self.process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE,
                                        stderr=open(os.environ.get("DSP_LOAD_LOG", os.devnull), "a"), text=True)  # fmt: skip
        line = self.process.stdout.readline() if self.process.stdout else ""
        if not line.startswith("DSP on"):
            raise SystemExit(f"dsp serve did not start: {line!r}")

    def kill(self) -> None:
        if self.process is not None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(10)
            self.process = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/v1/serviceS"


async def run(requests, clients: int, kills: int, label: str) -> Tally:
    tally = Tally()
    done_answers = asyncio.Event()

    async def receive(request: web.Request) -> web.Response:
        body = await request.read()
        if b"ResponseMessage" in body or b"Response>" in body:
            rid, code = _RID.search(body), _CODE.search(body)
            if rid and code:
                key = rid.group(1).decode()
                tally.answers.setdefault(key, []).append(code.group(1).decode())
                tally.last_answer = time.perf_counter()
                if len(tally.answers) >= len(requests):
                    done_answers.set()
        return web.Response(status=200)

    app = web.Application(client_max_size=2 << 20)
    app.router.add_post("/", receive)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    listen = free_port()
    await web.TCPSite(runner, "127.0.0.1", listen).start()

    with tempfile.TemporaryDirectory(prefix="gbhan-dsp-load-") as folder:
        server = Server(Path(folder) / "state", f"http://127.0.0.1:{listen}/")
        await asyncio.to_thread(server.start)
        queue: asyncio.Queue = asyncio.Queue()
        for item in requests:
            queue.put_nowait(item)
        sent = 0
        kill_points = [len(requests) * (k + 1) // (kills + 1) for k in range(kills)]
        restarting = asyncio.Lock()

        async def client(session: aiohttp.ClientSession) -> None:
            nonlocal sent
            while not queue.empty():
                rid, body = queue.get_nowait()
                resend = False
                deadline = time.perf_counter() + 120
                while True:
                    async with restarting:
                        pass  # wait while the server is being restarted
                    t0 = time.perf_counter()
                    try:
                        async with session.post(
                            server.url, data=body, headers={"Content-Type": "application/xml"}
                        ) as reply:
                            answer = await reply.read()
                    except (TimeoutError, aiohttp.ClientError, OSError):
                        if time.perf_counter() > deadline:
                            break  # unanswered
                        resend = True
                        tally.resent += 1
                        await asyncio.sleep(0.1)
                        continue
                    now = time.perf_counter()
                    match = _CODE.search(answer)
                    code = match.group(1).decode() if match else f"HTTP {reply.status}"
                    if code == "I99":
                        tally.acked[rid] = now - t0
                        tally.first_ack = tally.first_ack or t0
                        tally.last_ack = now
                    elif code == "E42" and resend:
                        tally.journalled.add(rid)
                    else:
                        tally.refused[rid] = code
                    break
                sent += 1

        async def killer() -> None:
            for point in kill_points:
                while sent < point:
                    await asyncio.sleep(0.01)
                async with restarting:
                    await asyncio.to_thread(server.kill)
                    await asyncio.to_thread(server.start)

        timeout = aiohttp.ClientTimeout(total=30)
        connector = aiohttp.TCPConnector(limit=clients)
        started = time.perf_counter()
        async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
            await asyncio.gather(killer(), *(client(session) for _ in range(clients)))
        expected = len(tally.acked) + len(tally.journalled)
        try:
            async with asyncio.timeout(600):
                while len(tally.answers) < expected:
                    await asyncio.sleep(0.2)
            await asyncio.sleep(2)  # late duplicates, if any, would arrive now
        except TimeoutError:
            pass
        await asyncio.to_thread(server.kill)
    await runner.cleanup()
    report(label, requests, tally, started)
    return tally


def report(label: str, requests, tally: Tally, started: float) -> None:
    owed = set(tally.acked) | tally.journalled
    lost = sorted(owed - set(tally.answers))
    duplicated = [rid for rid, codes in tally.answers.items() if len(codes) > 1]
    unanswered = len(requests) - len(tally.acked) - len(tally.journalled) - len(tally.refused)
    ack_span = (tally.last_ack - (tally.first_ack or started)) or float("nan")
    e2e_span = (tally.last_answer - started) or float("nan")
    latencies = list(tally.acked.values())
    codes: dict[str, int] = {}
    for answer in tally.answers.values():
        codes[answer[0]] = codes.get(answer[0], 0) + 1
    print(f"== {label}")
    print(f"  requests {len(requests)}, acknowledged I99 {len(tally.acked)}, journalled "
          f"(E42 on a resend) {len(tally.journalled)}, refused {len(tally.refused)} "
          f"{sorted(set(tally.refused.values()))}, resent after a broken link {tally.resent}")  # fmt: skip
    print(f"  acks: {len(tally.acked) / ack_span:,.0f}/s; ack latency p50 "
          f"{1000 * percentile(latencies, 0.5):.1f} ms, p99 {1000 * percentile(latencies, 0.99):.1f} ms, "
          f"mean {1000 * statistics.fmean(latencies) if latencies else float('nan'):.1f} ms")  # fmt: skip
    print(f"  end to end: {len(tally.answers) / e2e_span:,.1f} SRVs/s answered "
          f"({len(tally.answers)} final answers in {e2e_span:.1f} s); final codes {codes}")  # fmt: skip
    print(f"  lost {len(lost)}, duplicated {len(duplicated)}, unanswered {unanswered}")
    if lost:
        print(f"  lost, first few: {lost[:5]}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--kills", type=int, default=2)
    args = parser.parse_args()
    t0 = time.perf_counter()
    requests = signed_requests(args.requests)
    print(f"signed {len(requests)} requests in {time.perf_counter() - t0:.1f} s")
    reference = check_s(requests[0][1])
    print(f"reference: one schema + XML signature check {1000 * reference:.2f} ms "
          f"(one core's ceiling {1 / reference:,.0f} requests/s)")  # fmt: skip
    steady = asyncio.run(run(requests, args.clients, 0, "steady"))
    span = steady.last_ack - (steady.first_ack or 0)
    if steady.acked and span > 0:
        print(f"  ratio: acks/s over HTTP to one core's check ceiling "
              f"{len(steady.acked) / span * reference:.2f}")  # fmt: skip
    fresh = signed_requests(args.requests)  # new counters: the first run's are spent
    faults = asyncio.run(run(fresh, args.clients, args.kills, f"{args.kills} SIGKILLs + restarts"))
    bad = [
        t
        for t in (steady, faults)
        if (set(t.acked) | t.journalled) - set(t.answers)
        or any(len(c) > 1 for c in t.answers.values())
    ]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
