"""The verifying process of a two-process check: signatures, MACs and encrypted parts are
checked in a process forked before the codec is loaded, while the process that forked it
decodes and judges every message's form.

Why two processes split by kind, not two that each check half the messages: a check's
start is mostly imports, and each half-check process needs all of them (the codec and
construct; cryptography and the keystore), loaded once before the fork, on one core,
while the other waits. Forked before any of them, the verifying process loads
cryptography and the keystore while this one loads the codec, and then each does about
half of every message's work (measured over RTDS: 60 ms of decoding and judging, 62 ms
of signature, MAC and decryption checks, each from a cold start).

What passes between them is plain values (gbcs.outcomes), marshal'd with their length
first (gbcs.forked): batches of SecurityInputs out, and for each batch its SecurityReports back, in
order. This process keeps each message it has sent until its report is back (at most
`MOST_IN_FLIGHT`), then judges it (gbcs.judge). The verifying process opens the keystore
itself; a keystore it cannot open is said back and raised here (KeystoreUnavailable)
before any result is given, and a process that dies or fails is a GbcsError naming its
exit or its error, never a wait for ever.

This module imports neither the codec nor cryptography: the fork comes first. What the
verifying process needs, it imports itself: Verifier.start's `open_checker` runs there
(tools.gbcs_cmd's imports gbcs.security and opens the keystore).
"""

from __future__ import annotations

import os
import select
from collections.abc import Callable
from typing import Any

from . import forked
from .errors import GbcsError
from .outcomes import SecurityInputs, SecurityReport


class KeystoreUnavailable(GbcsError):
    """The verifying process could not make its checker (its keystore could not be read):
    `detail` is what it said, as str() of its GbcsError."""

    def __init__(self, said: str) -> None:
        super().__init__("keystore", said)


# what a verifying process checks each message's inputs with (a keystore bound in)
Checker = Callable[[SecurityInputs], SecurityReport]

# messages sent but not yet reported on, most: this process waits for reports beyond it,
# so a sweep of any size holds a bounded number of decoded messages
MOST_IN_FLIGHT = 512


class Verifier:
    """The verifying process, seen from the process that forked it: send() batches of
    SecurityInputs' values, take reports in order with reports() or wait_reports()."""

    def __init__(self, pid: int, jobs: int, results: int) -> None:
        self.pid = pid
        self.jobs = jobs  # this process -> verifier: frames of batches (non-blocking)
        self.results = results  # verifier -> this process: frames (non-blocking)
        self.unsent = bytearray()  # framed batches not yet written
        self.unread = bytearray()  # bytes read from `results`, not yet a whole frame
        self.ready: list[Any] = []  # report values in, not yet taken
        self.opened = False  # it has made its checker
        self.in_flight = 0  # messages sent, not yet reported on

    @classmethod
    def start(cls, open_checker: Callable[[], Checker]) -> Verifier | None:
        """Fork the verifying process, which makes its checker with `open_checker()`, in
        it (a GbcsError there, such as a keystore that cannot be read, is said back and
        raised here as KeystoreUnavailable); None where fork is not available."""
        if not hasattr(os, "fork"):
            return None
        reap_ended()
        pid, jobs, results = forked.fork(lambda inbox, out: _serve(open_checker, inbox, out))
        os.set_blocking(jobs, False)
        os.set_blocking(results, False)
        return cls(pid, jobs, results)

    def wait_opened(self) -> None:
        """Wait until the verifier has made its checker (KeystoreUnavailable if it could
        not)."""
        while not self.opened:
            self._pump(wait=True)

    def send(self, batch: list[tuple[Any, ...]]) -> None:
        """A batch of SecurityInputs as built-in tuples, reported on in order."""
        self.unsent += forked.frame(batch)
        self.in_flight += len(batch)
        self._pump(wait=False)
        while self.in_flight > MOST_IN_FLIGHT:
            self._pump(wait=True)

    def reports(self) -> list[Any]:
        """The report values (SecurityReport.values()) in since the last call, in order,
        without waiting."""
        self._pump(wait=False)
        return self._take()

    def wait_reports(self) -> list[Any]:
        """As reports(), waiting for at least one when any is owed."""
        self._pump(wait=False)
        while not self.ready and self.in_flight:
            self._pump(wait=True)
        return self._take()

    def _take(self) -> list[Any]:
        ready, self.ready = self.ready, []
        return ready

    def _pump(self, *, wait: bool) -> None:
        """Write what is unsent and read what has come, as far as the pipes allow; with
        `wait`, first wait until one of them can move."""
        if wait:
            writers = [self.jobs] if self.unsent else []
            select.select([self.results], writers, [])
        broken = False
        while self.unsent:
            try:
                written = os.write(self.jobs, self.unsent)
            except BlockingIOError:
                break
            except OSError:  # the pipe is broken: the verifier is gone (said why, maybe)
                broken = True
                break
            del self.unsent[:written]
        gone = forked.read_ready(self.results, self.unread)
        for tag, value in forked.take_frames(self.unread):
            if tag == "reports":
                self.ready.extend(value)
                self.in_flight -= len(value)
            elif tag == "opened":
                self.opened = True
                if value is not None:
                    raise KeystoreUnavailable(value)
            else:  # "error": the verifier's own failure, said before it stopped
                raise GbcsError("check", f"the verifying process failed: {value}")
        if broken or (gone and (self.in_flight or not self.opened)):
            raise self._died()

    def close_jobs(self) -> None:
        """Send what is unsent, then the end of the batches."""
        while self.unsent:
            self._pump(wait=True)
        if self.jobs >= 0:
            os.close(self.jobs)
            self.jobs = -1

    def _died(self) -> GbcsError:
        status = self.stop(dead=True)
        return GbcsError(
            "check", f"the verifying process died ({forked.exit_text(status)}): check with jobs=1"
        )

    def stop(self, *, dead: bool = False) -> int | None:
        """Close its pipes and reap it (ended by SIGTERM if still running, waited for if
        `dead`, its end seen: it is exiting): its wait status.

        Once every report is in, a verifier still running is ending by itself (it reads
        the end of the batches when its pipe closes): it is left to end, not waited for
        (its exit, freeing its memory, took ~2 ms of a check's end, which the last
        results' judging and printing now overlap), and reaped by reap_ended()."""
        finished = not dead and not self.unsent and not self.in_flight
        for name in ("jobs", "results"):
            fd = getattr(self, name)
            if fd >= 0:
                os.close(fd)
                setattr(self, name, -1)
        if self.pid == 0:
            return None
        pid, self.pid = self.pid, 0
        if finished:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done == 0:
                _ENDING.append(pid)
                return None
            return status
        return forked.end(pid, dead=dead)


# verifiers that had done their work and were ending when their checks ended (stop)
_ENDING: list[int] = []


def reap_ended(*, wait: bool = False) -> None:
    """Reap the verifiers left to end by themselves (Verifier.stop); with `wait`, waiting
    for those still ending, as a command does before it exits, so that their CPU counts
    in its own children's, not init's."""
    for pid in list(_ENDING):
        try:
            done, _ = os.waitpid(pid, 0 if wait else os.WNOHANG)
        except ChildProcessError:  # reaped already (by a caller's own wait)
            done = pid
        if done:
            _ENDING.remove(pid)


def _serve(open_checker: Callable[[], Checker], inbox: int, out: int) -> None:
    """The verifier's life: make its checker and say so (or why not), then report on each
    batch as it comes, until the batches end."""
    try:
        check = open_checker()
    except GbcsError as exc:
        forked.send_frame(out, ("opened", str(exc)))
        return
    except Exception as exc:  # a bug, not the keystore's fault: said, then stop
        forked.send_frame(out, ("error", f"{type(exc).__name__}: {exc}"))
        return
    forked.send_frame(out, ("opened", None))
    unread = bytearray()
    while chunk := os.read(inbox, 1 << 16):
        unread += chunk
        for batch in forked.take_frames(unread):
            try:
                reports = [check(SecurityInputs._make(values)).values() for values in batch]
            except Exception as exc:  # a bug, not a message's fault: said, then stop
                forked.send_frame(out, ("error", f"{type(exc).__name__}: {exc}"))
                return
            forked.send_frame(out, ("reports", reports))
