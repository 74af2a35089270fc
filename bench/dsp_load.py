"""Load and faults on `gbhan dsp serve` over real HTTP: C concurrent clients send N signed
DUIS requests (7.7, the DNO or the Supplier reading the switches: schema + XML signature
checked, transformed, MAC'd, routed to the real emulated premises, the meter's response
delivered signed to the user's endpoint), then the same with the DSP SIGKILLed and restarted
on the same state directory K times in the middle.

Printed per run: acknowledgements/s and ack latency p50/p99 over HTTP, end-to-end SRVs/s
(final answers delivered), and the counts that must be 0: lost (acknowledged, never
answered), duplicated (answered twice, differently), unanswered (no acknowledgement nor a
clear refusal), mismatched (answered with another request's device response); and apart, how
many got the same signed answer again after a kill (the DSP journals each answer before it
POSTs it and re-sends it after a restart unless it noted the POST done). A request whose connection broke in a kill is sent again, byte-identical; the DSP
answers it I99 if it never journalled it, or E42 if it did (then its answer comes from the
journal: it counts as acknowledged). Reference measured in the same run: one schema + XML
signature check of a request in this process (the least every request costs the DSP).

Where the SRVs go: RTDS's household and `--households` generated ones (gbhan dsp serve
--households: each its own Comms Hub, ESME and switches on a HAN of its own), the requests
spread over their meters in turn. A meter executes its commands one at a time, in order,
and a 7.7 takes a dozen HAN frames (the tunnel both ways, a read of each of the five
switches and its answer) of `--han-latency` air time each (5 ms, the devices' default), so
one household answers ~45 SRVs/s however fast the DSP is; households work in parallel, in a
process of their own (the DSP's premises host), so end-to-end SRVs/s grows with them until
the CPU is the bound. Every
final answer is also checked to be its own request's: the device response's counter and
recipient must be the request's (a mix-up would count as "mismatched").

    .venv/bin/python bench/dsp_load.py [--requests 5000] [--clients 20] [--kills 2]
        [--households 15] [--han-latency 0.005]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
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
from emulator.backoffice.premises_factory import GeneratedHousehold  # noqa: E402
from emulator.backoffice.users import make_user  # noqa: E402
from gbcs import decode  # noqa: E402
from gbcs.errors import GbcsError  # noqa: E402
from gbcs.keystore import Keystore  # noqa: E402

DUIS = data.duis()
DCCBOXED = data.dccboxed_keystore()
GBCS_DATE = dt.datetime(2025, 6, 1, tzinfo=dt.UTC)
TEMPLATE = DUIS / "ECS61a_7.7_ALL_OPTIONALS_SUCCESS_REQUEST_DUIS.XML"
_CODE = re.compile(rb"<(?:\w+:)?ResponseCode>([^<]+)<")
_RID = re.compile(rb"<(?:\w+:)?RequestID>([^<]+)<")
_PAYLOAD = re.compile(rb"<(?:\w+:)?GBCSPayload>([^<]+)<")
RTDS_ESME = bytes.fromhex("00DB1234567890A0")
IN_PROCESS = False  # --households-in-process


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
    payloads: dict[str, bytes] = field(default_factory=dict)  # request id -> GBCS response
    documents: dict[str, set[bytes]] = field(default_factory=dict)  # request id -> answers
    resent: int = 0
    cpu: tuple[float, float, float] = (0.0, 0.0, 0.0)  # DSP, premises host, this bench (s)
    first_ack: float | None = None
    last_ack: float = 0.0
    last_answer: float = 0.0


def meters(households: int) -> list[bytes]:
    return [RTDS_ESME] + [GeneratedHousehold(n).esme for n in range(1, households + 1)]


def signed_requests(count: int, targets: list[bytes]) -> list[tuple[str, bytes]]:
    """(request id, signed body): half the DNO's, half the Supplier's, to each meter in
    turn, counters unique."""
    keys = Keystore.open(DCCBOXED, clock=GBCS_DATE)
    trusted = xmlsig.TrustedCertificates.from_keystore(keys)
    schema = duis.load_schema(str(data.duis_schema()))
    users = [make_user(n, keys, schema, trusted, None) for n in ("dno", "supplier")]
    template = TEMPLATE.read_bytes()
    base = int(time.time() * 1000) * 10  # fresh counters for every bench run
    out = []
    for i in range(count):
        body = users[i % 2].prepare(addressed(template, targets[(i // 2) % len(targets)]), base + i)
        out.append((_RID.search(body).group(1).decode(), body))
    return out


def addressed(template: bytes, target: bytes) -> bytes:
    """The template with its RequestID's target replaced."""
    root = duis.parse(template)
    node = root.find(f"{{{duis.SR}}}Header/{{{duis.SR}}}RequestID")
    rid = duis.RequestId.parse(node.text or "")
    node.text = str(duis.RequestId(rid.originator, target, rid.counter))
    return duis.to_bytes(root)


def duplicates(tally: Tally) -> list[str]:
    """Requests answered twice differently (a request executed twice, or an answer then
    contradicted). The same signed document delivered again, because the DSP was killed
    between the user's receipt and its journal's note of it, is not one: it is counted apart
    ("delivered again"), as a DUIS user recognises it by its RequestID and identical bytes."""
    return [rid for rid, documents in tally.documents.items() if len(documents) > 1]


def mismatched(tally: Tally) -> list[str]:
    """Answers whose device response is not their own request's: the GBCS response must be
    the meter's (the request's target) to the requester, with the request's counter."""
    wrong = []
    for rid, payload in tally.payloads.items():
        originator, target, counter = rid.split(":")
        try:
            message = decode(payload)
        except GbcsError:
            wrong.append(rid)
            continue
        if (
            bytes(message.originator) != duis.eui_from_text(target)
            or bytes(message.target) != duis.eui_from_text(originator)
            or message.counter != int(counter)
        ):
            wrong.append(rid)
    return wrong


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


def _proc_cpu(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Server:
    """`gbhan dsp serve` as a process on fixed ports, restartable on the same state."""

    def __init__(self, state: Path, endpoint: str, households: int, han_latency: float):
        self.state, self.endpoint = state, endpoint
        self.households, self.han_latency = households, han_latency
        self.in_process = IN_PROCESS
        self.cpu_dsp = self.cpu_host = 0.0
        self.port, self.smki_port = free_port(), free_port()
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        command = [sys.executable, "-m", "tools.dsp_cmd", "dsp", "serve",
                   "--port", str(self.port), "--smki-port", str(self.smki_port),
                   "--state-dir", str(self.state), "--latency", "0",
                   "--households", str(self.households),
                   "--han-latency", str(self.han_latency),
                   "--no-web",  # the figures are the DSP's, and port 8080 may be taken
                   *(["--households-in-process"] if self.in_process else []),
                   "--endpoint", f"supplier={self.endpoint}",
                   "--endpoint", f"dno={self.endpoint}"]  # fmt: skip
        self.process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE,
                                        stderr=open(os.environ.get("DSP_LOAD_LOG", os.devnull), "a"), text=True)  # fmt: skip
        line = self.process.stdout.readline() if self.process.stdout else ""
        if not line.startswith("DSP on"):
            raise SystemExit(f"dsp serve did not start: {line!r}")

    def cpu(self) -> tuple[float, float]:
        """CPU seconds used so far by the DSP process and by its children (the premises
        host), from /proc; (0, 0) where /proc is not there."""
        if self.process is None:
            return 0.0, 0.0
        own = _proc_cpu(self.process.pid)
        children = 0.0
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == self.process.pid:
                children += _proc_cpu(int(stat.parent.name))
        return own, children

    def kill(self) -> None:
        if self.process is not None:
            own, children = self.cpu()
            self.cpu_dsp += own
            self.cpu_host += children
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(10)
            self.process = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/v1/serviceS"


async def run(requests, clients: int, kills: int, label: str, households: int,
              han_latency: float) -> Tally:  # fmt: skip
    tally = Tally()
    done_answers = asyncio.Event()

    async def receive(request: web.Request) -> web.Response:
        body = await request.read()
        if b"ResponseMessage" in body or b"Response>" in body:
            rid, code = _RID.search(body), _CODE.search(body)
            if rid and code:
                key = rid.group(1).decode()
                tally.answers.setdefault(key, []).append(code.group(1).decode())
                tally.documents.setdefault(key, set()).add(body)
                payload = _PAYLOAD.search(body)
                if payload:
                    tally.payloads[key] = base64.b64decode(payload.group(1))
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
        server = Server(Path(folder) / "state", f"http://127.0.0.1:{listen}/", households,
                        han_latency)  # fmt: skip
        await asyncio.to_thread(server.start)
        bench_cpu = time.process_time()
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
        tally.cpu = (server.cpu_dsp, server.cpu_host, time.process_time() - bench_cpu)
    await runner.cleanup()
    report(label, requests, tally, started)
    return tally


def report(label: str, requests, tally: Tally, started: float) -> None:
    owed = set(tally.acked) | tally.journalled
    lost = sorted(owed - set(tally.answers))
    duplicated = duplicates(tally)
    redelivered = [
        r for r, codes in tally.answers.items() if len(codes) > 1 and r not in duplicated
    ]
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
    print(f"  lost {len(lost)}, duplicated {len(duplicated)}, unanswered {unanswered}, "
          f"mismatched {len(mismatched(tally))}; the same answer delivered again after a "
          f"kill {len(redelivered)}")  # fmt: skip
    dsp_cpu, host_cpu, bench_cpu = (1000 * c / max(1, len(tally.answers)) for c in tally.cpu)
    total = dsp_cpu + host_cpu + bench_cpu
    print(f"  CPU per SRV: DSP process {dsp_cpu:.2f} ms, premises host {host_cpu:.2f} ms, "
          f"this bench's clients and endpoint {bench_cpu:.2f} ms; on {os.cpu_count()} idle "
          f"cores that is at most {1000 * (os.cpu_count() or 1) / total:,.0f} SRVs/s, on one "
          f"{1000 / max(dsp_cpu, host_cpu, bench_cpu):,.0f} (the busiest process's bound)")  # fmt: skip
    if lost:
        print(f"  lost, first few: {lost[:5]}")
    if duplicated:
        print(f"  duplicated, first few: {[(r, tally.answers[r]) for r in duplicated[:5]]}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--kills", type=int, default=2)
    parser.add_argument("--households", type=int, default=15,
                        help="generated households besides RTDS's (default 15: 16 meters)")  # fmt: skip
    parser.add_argument("--han-latency", type=float, default=0.005,
                        help="air time of each HAN hop, s (default 0.005, the devices')")  # fmt: skip
    parser.add_argument("--households-in-process", action="store_true",
                        help="run them in the DSP's process (default: the premises host)")  # fmt: skip
    parser.add_argument("--steady-only", action="store_true", help="skip the run with kills")
    args = parser.parse_args()
    global IN_PROCESS
    IN_PROCESS = args.households_in_process
    t0 = time.perf_counter()
    targets = meters(args.households)
    requests = signed_requests(args.requests, targets)
    print(f"signed {len(requests)} requests in {time.perf_counter() - t0:.1f} s")
    reference = check_s(requests[0][1])
    print(f"reference: one schema + XML signature check {1000 * reference:.2f} ms "
          f"(one core's ceiling {1 / reference:,.0f} requests/s)")  # fmt: skip
    print(f"{len(targets)} meters (RTDS's and {args.households} generated households), HAN hop "
          f"{1000 * args.han_latency:g} ms")  # fmt: skip
    steady = asyncio.run(run(requests, args.clients, 0, "steady", args.households,
                             args.han_latency))  # fmt: skip
    span = steady.last_ack - (steady.first_ack or 0)
    if steady.acked and span > 0:
        print(f"  ratio: acks/s over HTTP to one core's check ceiling "
              f"{len(steady.acked) / span * reference:.2f}")  # fmt: skip
    if args.steady_only:
        return 1 if duplicates(steady) or mismatched(steady) else 0
    fresh = signed_requests(args.requests, targets)  # new counters: the first run's are spent
    faults = asyncio.run(run(fresh, args.clients, args.kills, f"{args.kills} SIGKILLs + restarts",
                             args.households, args.han_latency))  # fmt: skip
    bad = [
        t
        for t in (steady, faults)
        if (set(t.acked) | t.journalled) - set(t.answers) or duplicates(t) or mismatched(t)
    ]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
