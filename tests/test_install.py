"""gbhan as a user gets it from a release: `python -m build` makes the sdist and, from the
sdist, the wheel (so the wheel proves the sdist installs too); the wheel goes into a fresh
virtual environment (dependencies pinned by constraints.txt) and every command runs from an
empty folder outside the checkout, with no ``GBHAN_DATA`` and no ``../shared`` to lean on."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Iterator
from pathlib import Path
from xml.etree import ElementTree

import pytest

from emulator import data
from hil.console import Console

# Building and installing take a minute or two on their own, more on a busy machine; the first
# test carries the fixture's setup.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]

REPO = Path(__file__).resolve().parents[1]
PACKAGE_DATA = sorted(
    path.relative_to(REPO).as_posix()
    for path in (REPO / "emulator" / "dccdata").rglob("*")
    if path.is_file()
)


class Installed:
    """A fresh venv with the built wheel in it, and an empty folder to run commands in."""

    def __init__(self, venv: Path, wheel: Path, sdist: Path, work: Path) -> None:
        self.venv, self.wheel, self.sdist, self.work = venv, wheel, sdist, work
        self.env = {k: v for k, v in os.environ.items()
                    if k not in ("PYTHONPATH", "VIRTUAL_ENV", data.ENV_VAR)}  # fmt: skip

    def bin(self, name: str) -> str:
        return str(self.venv / "bin" / name)

    def run(self, *argv: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            argv, cwd=self.work, env=self.env, capture_output=True, text=True, timeout=timeout
        )

    def gbhan(self, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        return self.run(self.bin("gbhan"), *args, timeout=timeout)

    def start(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [self.bin("gbhan"), *args], cwd=self.work, env=self.env, text=True,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        )  # fmt: skip


def _checked(run: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert run.returncode == 0, f"{run.args}\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}"
    return run


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Installed:
    root = tmp_path_factory.mktemp("install")
    dist = root / "dist"
    _checked(subprocess.run(
        [sys.executable, "-m", "build", "--outdir", str(dist), str(REPO)],
        capture_output=True, text=True, timeout=600,
    ))  # fmt: skip
    (wheel,) = dist.glob("gbhan-*.whl")
    (sdist,) = dist.glob("gbhan-*.tar.gz")
    venv = root / "venv"
    _checked(subprocess.run([sys.executable, "-m", "venv", str(venv)], timeout=300))
    _checked(subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "-q",
         "-c", str(REPO / "constraints.txt"), str(wheel)],
        capture_output=True, text=True, timeout=900,
    ))  # fmt: skip
    work = root / "elsewhere"
    work.mkdir()
    return Installed(venv, wheel, sdist, work)


def _lines_until(process: subprocess.Popen[str], pattern: str, limit: int = 50) -> Iterator[str]:
    """The process's output lines up to the first that matches `pattern` (a service's ready
    line); fails the test if it ends first."""
    assert process.stdout is not None
    for _ in range(limit):
        line = process.stdout.readline()
        assert line, f"{process.args} ended before printing {pattern!r}"
        yield line
        if re.search(pattern, line):
            return
    raise AssertionError(f"{process.args} printed no {pattern!r} in {limit} lines")


def test_the_wheel_carries_the_program_data_and_not_the_test_data(installed):
    names = set(zipfile.ZipFile(installed.wheel).namelist())
    assert [name for name in PACKAGE_DATA if name not in names] == []
    assert not any(name.startswith(("data/", "tests/")) for name in names)


def test_the_sdist_carries_the_program_data(installed):
    with tarfile.open(installed.sdist) as sdist:
        names = {name.split("/", 1)[1] for name in sdist.getnames() if "/" in name}
    assert [name for name in PACKAGE_DATA if name not in names] == []
    assert {"pyproject.toml", "LICENSE", "README.md"} <= names


def test_the_installed_gbhan_reads_its_own_files(installed):
    script = (
        "import emulator, gbcs, hil, tools\n"
        "from emulator import data\n"
        "for module in (emulator, gbcs, hil, tools): print(module.__file__)\n"
        "print(data.rtds_keystore()); print(data.duis_schema()); print(data.rtds())\n"
    )
    lines = _checked(installed.run(installed.bin("python"), "-c", script)).stdout.splitlines()
    *modules, keystore, schema, rtds = (Path(line) for line in lines)
    assert all(path.is_relative_to(installed.venv) for path in [*modules, keystore, schema])
    assert keystore.is_dir() and (schema / "DUIS Schema V5.4.xsd").is_file()
    assert not rtds.exists()  # test data is not in the wheel, and no checkout is consulted


def test_emulate_writes_the_same_summary_as_the_checkout(installed, tmp_path):
    wheel = installed.gbhan("emulate", "--out", "out", "--quiet")
    checkout = subprocess.run(
        [sys.executable, "-m", "tools.cli", "emulate", "--out", str(tmp_path / "out"), "--quiet"],
        cwd=REPO, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert wheel.returncode == checkout.returncode, wheel.stdout[-3000:] + wheel.stderr[-3000:]
    # the same figures (means may differ in the last digit between any two runs) and checks
    ours, theirs = (json.loads((folder / "summary.json").read_text())
                    for folder in (installed.work / "out", tmp_path / "out"))  # fmt: skip
    assert sorted(ours) == sorted(theirs)
    assert ours["scenario"] == theirs["scenario"] and ours["premises"] == theirs["premises"]
    checks = [line for line in wheel.stdout.splitlines() if line.startswith("  [")]
    assert checks == [line for line in checkout.stdout.splitlines() if line.startswith("  [")]


def test_gbcs_check_sweeps_the_repositorys_rtds_with_the_installed_keystore(installed):
    keystore = installed.venv.glob("lib/python*/site-packages/emulator/dccdata/rtds/keystore")
    run = installed.gbhan(
        "gbcs", "check", str(data.rtds()), "--keystore", str(next(keystore)),
        "--allow-unverifiable",
    )  # fmt: skip
    _checked(run)
    assert re.match(
        r"checked 1103 files: 1103 decoded, 1103 re-encoded identical, [1-9]\d* signatures "
        r"verified, [1-9]\d* MACs verified, .* 0 failed$",
        run.stdout.strip().splitlines()[-1],
    )


def test_duis_verify_checks_a_dcc_boxed_response(installed):
    responses = data.duis_responses()
    good = installed.gbhan(
        "duis", "verify", str(responses / "readfw-response.xml"),
        "--cert", str(responses / "certs" / "dsp-xml-sign-261e9ccc.pem"),
    )  # fmt: skip
    assert _checked(good).stdout.strip().splitlines()[-1] == "valid"
    bad = installed.gbhan("duis", "verify", str(responses / "readfw-response-invalid.xml"))
    assert bad.returncode == 1 and "invalid: schema" in bad.stdout  # the packaged schema refuses


def test_hil_run_passes_the_switch_suite_on_a_virtual_board(installed):
    run = installed.gbhan("hil", "run", "--dut", "virtual", "--role", "hcalcs", timeout=900)
    report = installed.work / "gbhan-out" / "hil" / "switch-hcalcs.xml"
    suite = ElementTree.parse(report).getroot()
    suite = suite if suite.tag == "testsuite" else suite.find("testsuite")
    assert int(suite.get("tests")) > 20
    assert (suite.get("failures"), suite.get("errors")) == ("0", "0"), run.stdout[-3000:]
    assert run.returncode == 0


@pytest.mark.parametrize(
    ("args", "ready"),
    [
        (["dsp", "serve", "--port", "0", "--smki-port", "0", "--state-dir", "dsp-state"],
         r"^DSP on http://127\.0\.0\.1:\d+/"),
        (["smki", "serve", "--db", "smki.db", "--port", "0"], r"serving on http://"),
    ],
    ids=["dsp-serve", "smki-serve"],
)  # fmt: skip
def test_a_service_starts_and_stays_up(installed, args, ready):
    process = installed.start(*args)
    try:
        lines = list(_lines_until(process, ready))
        assert process.poll() is None, lines
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_board_run_answers_on_its_console(installed):
    process = installed.start("board", "run", "--role", "hcalcs", "--state-dir", "board")
    try:
        lines = list(_lines_until(process, r"^console: "))
        console = Console(lines[-1].split(": ", 1)[1].strip(), 115200)
        try:
            assert any(console.ping("install", timeout=2.0) for _ in range(15))
        finally:
            console.close()
    finally:
        process.terminate()
        process.wait(timeout=30)
