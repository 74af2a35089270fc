"""Helpers for the web console's tests: `gbhan dsp serve` as a real process with its console
on free ports, users' endpoints that take what the DSP POSTs, and small HTTP and SSE
clients over the standard library."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SUPPLIER = "90-B3-D5-1F-30-01-00-00"
DNO = "90-B3-D5-1F-30-02-00-00"
ESME = "00-DB-12-34-56-78-90-A0"
TEMPLATE_7_6 = "ECS47Deactivate_7.6_SUCCESS_REQUEST_DUIS.XML"  # slot 3 ("index"), 60 min
TEMPLATE_7_5 = "ECS47Activate_7.5_SUCCESS_REQUEST_DUIS.XML"
TEMPLATE_7_8 = "ECS47Reset_7.8_SUCCESS_REQUEST_DUIS.XML"


class Listener:
    """A user's response endpoint: keeps every document POSTed to it."""

    def __init__(self) -> None:
        self.documents: list[bytes] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                length = int(self.headers.get("Content-Length") or 0)
                owner.documents.append(self.rfile.read(length))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@dataclass
class Served:
    """A running `gbhan dsp serve` with its console."""

    process: subprocess.Popen
    duis_url: str
    web_url: str
    listeners: dict[str, Listener]
    output: list[str] = field(default_factory=list)

    def get(self, path: str, base: str | None = None) -> object:
        with urllib.request.urlopen((base or self.web_url) + path, timeout=30) as reply:
            return json.loads(reply.read())

    def send(self, method: str, path: str, body: object, base: str | None = None
             ) -> tuple[int, object]:  # fmt: skip
        request = urllib.request.Request(
            (base or self.web_url) + path, data=json.dumps(body).encode(), method=method,
            headers={"Content-Type": "application/json"},
        )  # fmt: skip
        try:
            with urllib.request.urlopen(request, timeout=60) as reply:
                return reply.status, json.loads(reply.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read())

    def log_for(self, request_id: str, until: str, timeout_s: float = 30.0) -> list[dict]:
        """The log's entries for one request, once one of them has direction `until`."""
        deadline = time.monotonic() + timeout_s
        while True:
            entries = self.get(f"web/api/log?request={urllib.parse.quote(request_id)}")
            found = entries["entries"]  # type: ignore[index]
            if any(e["direction"] == until for e in found) or time.monotonic() > deadline:
                return found
            time.sleep(0.2)


def serve(state_dir: Path, *extra: str) -> Served:
    """Start `gbhan dsp serve` on free ports (DUIS, SMKI, console), its users' responses to
    listeners of this process; returns once the console is up."""
    listeners = {"supplier": Listener(), "dno": Listener()}
    process = subprocess.Popen(
        [sys.executable, "-m", "tools.dsp_cmd", "dsp", "serve", "--port", "0",
         "--smki-port", "0", "--web-port", "0", "--state-dir", str(state_dir),
         "--latency", "0.05", *extra,
         "--endpoint", f"supplier={listeners['supplier'].url}",
         "--endpoint", f"dno={listeners['dno'].url}"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    output: list[str] = []
    duis = web = None
    assert process.stdout is not None
    for line in process.stdout:
        output.append(line)
        if found := re.match(r"DSP on (http://[0-9.]+:\d+)/", line):
            duis = found.group(1) + "/"
        if found := re.match(r"web console on (http://[0-9.]+:\d+/)", line):
            web = found.group(1)
            break
    if duis is None or web is None:
        process.kill()
        raise AssertionError("gbhan dsp serve did not start its console:\n" + "".join(output))
    served = Served(process, duis, web, listeners, output)
    threading.Thread(target=lambda: output.extend(process.stdout or ()), daemon=True).start()
    return served


def stop(served: Served) -> None:
    served.process.terminate()
    try:
        served.process.wait(15)
    except subprocess.TimeoutExpired:
        served.process.kill()
        served.process.wait(5)
    for listener in served.listeners.values():
        listener.close()


def sse_events(url: str, timeout_s: float) -> Iterator[tuple[str, str, dict]]:
    """(id, event, data) of each server-sent event from `url`, until `timeout_s` passes."""
    deadline = time.monotonic() + timeout_s
    with urllib.request.urlopen(url, timeout=timeout_s) as reply:
        assert reply.headers.get_content_type() == "text/event-stream"
        fields: dict[str, str] = {}
        while time.monotonic() < deadline:
            line = reply.readline().decode()
            if not line:
                return
            line = line.rstrip("\n")
            if line == "":
                if "data" in fields:
                    yield (
                        fields.get("id", ""),
                        fields.get("event", "message"),
                        json.loads(fields["data"]),
                    )
                fields = {}
            elif not line.startswith(":"):
                key, _, value = line.partition(": ")
                fields[key] = value


@dataclass
class Emulating:
    """A running `gbhan emulate --serve` with its feeder page."""

    process: subprocess.Popen
    web_url: str
    out: Path
    output: list[str] = field(default_factory=list)

    def get(self, path: str) -> dict:
        with urllib.request.urlopen(self.web_url + path, timeout=30) as reply:
            return json.loads(reply.read())

    def page(self, path: str) -> tuple[int, str]:
        """A page's HTTP status and text (404s too)."""
        try:
            with urllib.request.urlopen(self.web_url + path, timeout=30) as reply:
                return reply.status, reply.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()

    def control(self, body: object) -> tuple[int, dict]:
        request = urllib.request.Request(
            self.web_url + "web/api/feeder/control", data=json.dumps(body).encode(),
            method="POST", headers={"Content-Type": "application/json"},
        )  # fmt: skip
        try:
            with urllib.request.urlopen(request, timeout=30) as reply:
                return reply.status, json.loads(reply.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read())

    def until(self, done, timeout_s: float = 120.0) -> dict:
        """The feeder snapshot once `done(snapshot)` holds (the last one read, if never)."""
        deadline = time.monotonic() + timeout_s
        while True:
            snap = self.get("web/api/feeder")
            if done(snap) or time.monotonic() > deadline:
                return snap
            time.sleep(0.2)


def emulate_serve(out: Path, *extra: str) -> Emulating:
    """Start `gbhan emulate --serve` (the default scenario) with its page on a free port;
    returns once the page is up."""
    process = subprocess.Popen(
        [sys.executable, "-m", "tools.cli", "emulate", "--serve", "--web-port", "0",
         "--quiet", "--out", str(out), *extra],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        # Ctrl-C as at a terminal (a shell's background job would have it ignored)
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )  # fmt: skip
    output: list[str] = []
    assert process.stdout is not None
    for line in process.stdout:
        output.append(line)
        if found := re.match(r"feeder page on (http://[0-9.]+:\d+/)feeder", line):
            running = Emulating(process, found.group(1), out, output)
            threading.Thread(
                target=lambda: output.extend(process.stdout or ()), daemon=True
            ).start()
            return running
    process.wait(10)
    raise AssertionError("gbhan emulate --serve did not serve its page:\n" + "".join(output))


def stop_emulating(running: Emulating) -> int:
    """SIGTERM (the page stays up after the run until then); the exit code."""
    running.process.terminate()
    try:
        return running.process.wait(30)
    except subprocess.TimeoutExpired:
        running.process.kill()
        running.process.wait(5)
        raise
