"""A two-process check (gbcs.verifier: this process decodes and judges, a forked one checks
signatures, MACs and encrypted parts) gives exactly the results, reports and totals one
process gives, over every RTDS message and tampered ones; a keystore it cannot open is said
as one process says it; a verifying process that dies or fails is an error, never a hang,
and none is left behind."""

import datetime as dt
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from rtds_vectors import RTDS_KEYSTORE, RTDS_ROOT, child_processes, read_vector, rtds_files

import gbcs.judge
import gbcs.security
from gbcs import verifier
from gbcs.check import Source, check_sources, iter_sources
from gbcs.errors import GbcsError, KeystoreError
from gbcs.keystore import Keystore
from gbcs.verifier import KeystoreUnavailable, Verifier

REPO = Path(__file__).resolve().parents[2]
DEACTIVATE = RTDS_ROOT / "7.6_ECS47Deactivate"


def _keystore(clock: dt.datetime | None) -> Keystore:
    return Keystore.open(RTDS_KEYSTORE, clock=clock, check_validity=clock is not None)


def _checker(clock: dt.datetime | None = None):
    """What the verifying process checks with, made there: the RTDS keystore at `clock`."""
    keystore = _keystore(clock)
    return lambda inputs: gbcs.security.check_inputs(inputs, keystore)[0]


def _edited(data: bytes, offset: int) -> bytes:
    edited = bytearray(data)
    edited[offset] ^= 0x01
    return bytes(edited)


def _sources() -> list[Source]:
    """Every RTDS message, each also with a bit flipped in its last byte (a MAC's or a
    signature's), in its middle (a payload's, an encrypted part's) and at byte 20 (a
    header's), and a source that could not be read."""
    sources = []
    for path in rtds_files():
        data = read_vector(path)
        sources.append(Source(path.name, data))
        for offset in (len(data) - 1, len(data) // 2, min(20, len(data) - 1)):
            sources.append(Source(f"{path.name}@{offset}", _edited(data, offset)))
    sources.insert(7, Source("gone.hex", None, "No such file or directory"))
    return sources


SOURCES = _sources()


def _seen(sources, keystore, allow, **how):
    seen = []

    def keep(_, result):
        report = None if result.security is None else result.security.as_dict()
        seen.append((result.values(), report))

    totals = check_sources(sources, keystore, keep, allow_unverifiable=allow, **how)
    return seen, totals


@pytest.mark.parametrize(
    ("clock", "allow"),
    [(None, False), (None, True), (dt.datetime(2026, 3, 1, tzinfo=dt.UTC), False)],
    ids=["strict", "allow-unverifiable", "certificates-expired"],
)
def test_a_two_process_check_gives_every_result_one_process_gives(clock, allow):
    expected, expected_totals = _seen(SOURCES, _keystore(clock), allow, jobs=1)
    seen, totals = _seen(SOURCES, None, allow, verifier=Verifier.start(lambda: _checker(clock)))
    assert len(seen) == len(SOURCES) == len(expected)
    assert seen == expected and totals == expected_totals
    assert totals.failed > 3 * len(SOURCES) // 5  # most edits fail, so the verdicts are there


def test_a_verifier_behind_takes_no_more_than_it_is_allowed(monkeypatch):
    """With few messages allowed in flight, this process waits for reports before it sends
    more: the same results, and never more messages held than allowed."""
    monkeypatch.setattr(verifier, "MOST_IN_FLIGHT", 20)
    most = [0]
    send = Verifier.send

    def counted(self, batch):
        send(self, batch)
        most[0] = max(most[0], self.in_flight)

    monkeypatch.setattr(Verifier, "send", counted)
    sources = SOURCES[:600]
    expected, _ = _seen(sources, _keystore(None), False, jobs=1)
    seen, _ = _seen(sources, None, False, verifier=Verifier.start(_checker))
    assert seen == expected
    assert 0 < most[0] <= 20


def _gbhan(*args):
    command = [sys.executable, "-c", "from tools import cli; cli.console()", *args]
    return subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=120)


def test_a_keystore_the_verifier_cannot_open_is_said_as_one_process_says_it(tmp_path):
    missing = tmp_path / "no-keystore"
    runs = [
        _gbhan("gbcs", "check", str(DEACTIVATE), "--keystore", str(missing), "-j", jobs)
        for jobs in ("1", "2")
    ]
    assert [run.returncode for run in runs] == [2, 2]
    assert runs[0].stderr == runs[1].stderr and runs[0].stdout == runs[1].stdout == ""
    assert runs[1].stderr.startswith("gbhan: keystore: ")


def test_a_verifier_that_cannot_open_its_keystore_says_why_before_any_result():
    def refuse():
        raise KeystoreError("keystore", "not a keystore")

    seen = []
    with pytest.raises(KeystoreUnavailable) as error:
        check_sources(SOURCES, None, lambda *_: seen.append(1), verifier=Verifier.start(refuse))
    assert error.value.detail == str(KeystoreError("keystore", "not a keystore"))
    assert seen == []  # no result was given


def test_a_verifier_that_dies_opening_is_an_error_not_a_hang():
    with pytest.raises(GbcsError) as error:
        check_sources(SOURCES, None, verifier=Verifier.start(lambda: os._exit(3)))
    assert error.value.layer == "check" and "verifying process died" in error.value.detail
    assert "exit status 3" in error.value.detail


def test_a_verifier_killed_mid_check_is_an_error_not_a_hang():
    started = Verifier.start(_checker)

    def kill_it(index, _):
        if index == 10:
            os.kill(started.pid, signal.SIGKILL)

    with pytest.raises(GbcsError) as error:
        check_sources(SOURCES, None, kill_it, verifier=started)
    assert "verifying process died (killed by signal 9)" in error.value.detail


def test_a_verifier_that_fails_says_why(monkeypatch):
    """A bug in the verifying process (an exception no message should raise) stops the
    check with it."""

    def broken(*args):
        raise RuntimeError("a bug")

    monkeypatch.setattr(gbcs.security, "check_inputs", broken)  # inherited by the fork
    started = Verifier.start(_checker)
    with pytest.raises(GbcsError) as error:
        check_sources(SOURCES[:50], None, verifier=started)
    assert "the verifying process failed: RuntimeError: a bug" in error.value.detail


def test_no_verifier_is_left_behind():
    """Left early, the check ends and reaps its verifier; run to the end, it leaves its
    verifier to end by itself, and reap_ended reaps it: none stays a zombie."""
    before = child_processes()
    started = Verifier.start(_checker)
    results = iter(check_sources_results(started))
    next(results)
    assert len(child_processes() - before) == 1
    results.close()
    assert child_processes() == before
    check_sources(SOURCES[:100], None, verifier=Verifier.start(_checker))
    verifier.reap_ended(wait=True)
    assert not verifier._ENDING and child_processes() == before


def check_sources_results(started):
    """The two-process check's results one at a time, as gbcs.check gives them."""
    sources = list(iter_sources([str(DEACTIVATE)])) * 40
    return gbcs.judge._verified_results(iter(sources), started, False)
