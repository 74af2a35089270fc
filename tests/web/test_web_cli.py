"""`gbhan dsp serve`'s console options as a user meets them: `--no-web` serves none, and a
console port already taken leaves the DSP serving, with a warning that says what to do."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import time
import urllib.request

from web_helpers import REPO


def _start(tmp_path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "tools.dsp_cmd", "dsp", "serve", "--port", "0",
         "--smki-port", "0", "--state-dir", str(tmp_path / "state"), *extra],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip


def _lines_until_dsp(process: subprocess.Popen) -> tuple[list[str], str]:
    lines = []
    assert process.stdout is not None
    for line in process.stdout:
        lines.append(line)
        if found := re.match(r"DSP on (http://[0-9.]+:\d+)/", line):
            return lines, found.group(1)
    raise AssertionError("".join(lines))


def _stop(process: subprocess.Popen) -> str:
    process.terminate()
    out, _ = process.communicate(timeout=15)
    return out


def test_no_web_serves_no_console(tmp_path):
    process = _start(tmp_path, "--no-web")
    try:
        lines, dsp = _lines_until_dsp(process)
        with urllib.request.urlopen(f"{dsp}/gbhan/v1/users", timeout=10) as reply:
            assert {u["name"] for u in json.loads(reply.read())} >= {"dno", "supplier"}
        time.sleep(1.0)
    finally:
        rest = _stop(process)
    assert not any("web console" in line for line in lines + rest.splitlines())


def test_a_taken_console_port_leaves_the_dsp_serving_and_says_so(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        process = _start(tmp_path, "--web-port", str(port))
        try:
            lines, dsp = _lines_until_dsp(process)
            with urllib.request.urlopen(f"{dsp}/gbhan/v1/devices", timeout=10) as reply:
                assert json.loads(reply.read())
        finally:
            rest = _stop(process)
    text = "".join(lines) + rest
    assert f"warning: web console not started on port {port}" in text
    assert "--web-port" in text and "web console on" not in text
