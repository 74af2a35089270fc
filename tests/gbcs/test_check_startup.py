"""What `gbhan gbcs check` loads to start: the issue's end-to-end figure includes process
start, so the check must not pull in what it does not use (cryptography's X.509 layer once
the keystore is cached, multiprocessing for its workers, cryptography's OpenSSL backend
module, which only ECDSA's constructor imports, its serialization module, once private
keys are made from their scalars, json, which only --json output and JSON keystores
need, dataclasses, which a frozen record imports only to refuse an assignment, and
hashlib's OpenSSL and hmac: gbcs hashes through CPython's own SHA-256, gbcs.digest). A
two-process check's printing process loads no cryptography at all."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from rtds_vectors import RTDS_KEYSTORE, RTDS_ROOT

REPO = Path(__file__).resolve().parents[2]
UNWANTED = (
    "cryptography.x509",
    "multiprocessing",
    "concurrent.futures",
    "cryptography.hazmat.backends.openssl.backend",
    "cryptography.hazmat.primitives.serialization",
    "json",
    "dataclasses",
    "_hashlib",
    "hmac",
)
PROBE = """
import sys
from tools import cli
try:
    cli.main(sys.argv[1:])
except SystemExit:
    pass
print("loaded:", *(m for m in {unwanted!r} if m in sys.modules), file=sys.stderr)
"""


@pytest.mark.parametrize("jobs", ["1", "3"])
def test_check_with_workers_loads_neither_x509_nor_multiprocessing(tmp_path, jobs):
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path)}
    args = [str(RTDS_ROOT / "7.7_ECS61a"), str(RTDS_ROOT / "7.6_ECS47Deactivate")] * 8
    command = [
        sys.executable,
        "-c",
        PROBE.format(unwanted=UNWANTED),
        "gbcs",
        "check",
        *args,
        "--keystore",
        str(RTDS_KEYSTORE),
        "-j",
        jobs,
    ]
    runs = [
        subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True) for _ in range(2)
    ]
    for run in runs:
        assert "0 failed" in run.stdout, run.stdout[-300:] + run.stderr[-300:]
    # the first run parses the keystore (and imports X.509, whose extensions import hmac,
    # and with it OpenSSL's _hashlib, and which imports dataclasses, to do it); the second
    # reads the cache and imports none of them
    loaded = [run.stderr.strip().splitlines()[-1] for run in runs]
    assert loaded == [
        "loaded: cryptography.x509 cryptography.hazmat.primitives.serialization dataclasses "
        "_hashlib hmac",
        "loaded:",
    ]


# a two-process check: the process that prints loads neither the keystore nor cryptography
# (its verifying process does, forked before the codec's imports: gbcs.verifier), and it
# forks before it imports construct or any layer of the codec
VERIFIER_PROBE = """
import sys
from tools import cli
from gbcs import verifier
start = verifier.Verifier.start.__func__
at_fork = []

def timed_start(cls, open_keystore):
    at_fork.extend(m for m in ("construct", "gbcs.message", "cryptography") if m in sys.modules)
    return start(cls, open_keystore)

verifier.Verifier.start = classmethod(timed_start)
try:
    cli.main(sys.argv[1:])
except SystemExit:
    pass
unwanted = [m for m in {unwanted!r} + ("cryptography", "gbcs.keystore") if m in sys.modules]
print("at the fork:", *at_fork, "| loaded:", *unwanted, file=sys.stderr)
"""


def test_a_two_process_check_decodes_without_cryptography_and_forks_first(tmp_path):
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path)}
    args = [str(RTDS_ROOT / "7.7_ECS61a"), str(RTDS_ROOT / "7.6_ECS47Deactivate")] * 8
    command = [sys.executable, "-c", VERIFIER_PROBE.format(unwanted=UNWANTED), "gbcs", "check"]
    command += [*args, "--keystore", str(RTDS_KEYSTORE), "-j", "2"]
    for _ in range(2):  # the keystore parsed, then cached: the same either way
        run = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True)
        assert "0 failed" in run.stdout, run.stdout[-300:] + run.stderr[-300:]
        assert run.stderr.strip().splitlines()[-1] == "at the fork: | loaded:"


# what construct (and dataclasses, for a class without a docstring) import for a debugger,
# error reports and signatures that a check never uses, platform, which construct asks only
# whether it runs on Windows, hashlib, read only by construct's compile(), which gbcs does
# not call, and pickle, read only by construct's Pickled field, which gbcs does not use (a
# check's workers send their results marshal'd): stand-ins until first read (platform's
# gives system() itself, as the real module would); and the garbage collector paused while
# the command's modules import, then those frozen
DEFERRED_PROBE = """
import sys
from tools import cli
status = cli.main(sys.argv[1:])
stand_ins = [
    m
    for m in ("pdb", "inspect", "traceback", "platform", "hashlib", "pickle")
    if type(sys.modules[m]) is not type(sys)
]
heavy = [m for m in ("ast", "dis", "tokenize", "linecache", "bdb", "_pickle") if m in sys.modules]
print("status", status, "stand-ins:", *stand_ins, "| loaded:", *heavy, file=sys.stderr)
# the imports were made with the collector paused and then frozen; it runs again after them
import gc
frozen = gc.get_freeze_count()
assert gc.isenabled() and frozen > 10000, (gc.isenabled(), frozen)
cli.main(sys.argv[1:])  # a second command in the process: its module only looked up
assert gc.isenabled()
# first use: the real module, for those holding the stand-in and for new importers alike
import construct.debug, inspect, traceback
from inspect import signature
assert str(signature(lambda a, b=1: None)) == "(a, b=1)"
assert construct.debug.inspect.getsource is inspect.getsource
try:
    raise ValueError("boom")
except ValueError:
    assert "ValueError: boom" in construct.debug.traceback.format_exc()
assert sys.modules["inspect"].signature is signature and "ast" in sys.modules
# platform: construct asked the stand-in for system() alone; it answers as the real module
import construct.lib.py3compat as compat, os, platform
assert type(platform) is not type(sys) and compat.ONWINDOWS is False
assert platform.system() == os.uname().sysname and "platform" in sys.modules
assert platform.machine() == os.uname().machine  # another read: the real module, imported
real = sys.modules["platform"]
assert type(real) is type(sys) and real.system is platform.system
assert real.system() == os.uname().sysname == compat.platform.system()
# hashlib: construct imported it for its compile(), which gbcs does not call; the first read
# imports the real module (and OpenSSL's _hashlib with it)
import hashlib
from gbcs.digest import sha256
assert type(hashlib) is not type(sys) and "_hashlib" not in sys.modules
assert hashlib.sha256(b"abc").digest() == sha256(b"abc")
assert type(sys.modules["hashlib"]) is type(sys) and "_hashlib" in sys.modules
assert construct.core.hashlib.sha1 is sys.modules["hashlib"].sha1
# pickle: the first read imports the real module; construct's Pickled field then works
import pickle
assert type(pickle) is not type(sys) and "_pickle" not in sys.modules
assert construct.Pickled.parse(pickle.dumps({"a": [1, 2]})) == {"a": [1, 2]}
assert type(sys.modules["pickle"]) is type(sys) and "_pickle" in sys.modules
assert construct.core.pickle.loads is sys.modules["pickle"].loads
print("first use ok", file=sys.stderr)
"""


def test_check_starts_with_inspect_and_traceback_unread(tmp_path):
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path)}
    args = [str(RTDS_ROOT / "7.7_ECS61a"), str(RTDS_ROOT / "7.6_ECS47Deactivate")] * 8
    command = [sys.executable, "-c", DEFERRED_PROBE, "gbcs", "check", *args]
    command += ["--keystore", str(RTDS_KEYSTORE), "-j", "2"]
    # the first run parses the keystore (cryptography's serialization layer, whose
    # dataclasses read inspect, with it); the second reads the cache, as every later run does
    runs = [
        subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True) for _ in range(2)
    ]
    run = runs[-1]
    lines = run.stderr.strip().splitlines()
    status = [line for line in lines if line.startswith("status ")]
    expected = "status 0 stand-ins: pdb inspect traceback platform hashlib pickle | loaded:"
    assert status == [expected], run.stderr[-800:]
    assert lines[-1] == "first use ok", run.stderr[-800:]
