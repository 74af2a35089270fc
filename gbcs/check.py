"""The conformance check: decode, prove the bytes re-encode (rebuilding where decode read a
form its writers write otherwise), run every security check on GBCS messages, then judge
each strictly, so that no message whose authenticity or form cannot be proved passes.

Each failure is a `Verdict` naming the rule that failed (`RULES`) and, where one applies,
the byte offset in the message. Messages that cannot be verified for want of a key or
certificate fail too, unless `allow_unverifiable` is given; a certificate outside its
validity at the keystore's clock is said as such and is never relaxed. A pre-command (no
signature field yet, as the DCC returns it for signing) passes on its form alone.
"""

from __future__ import annotations

import itertools
import marshal
import os
import select
from collections.abc import Callable, Generator, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from . import forked
from .errors import GbcsError
from .judge import (
    CRA_NAMES,
    DLMS_DIRECTION,
    MESSAGE_TAGS,
    RULES,
    UNVERIFIABLE_RULES,
    FileResult,
    Source,
    Totals,
    Verdict,
    check_with_verifier,
    decode_and_reencode,
    find_message_files,
    form_verdicts,
    iter_sources,
    judge,
    parse_message_text,
    read_hex_file,
    read_message_file,
    reencode_verdict,
    resolve_sources,
    result_from_values,
    security_verdicts,
    tally,
    unchecked_encryption,
    unreadable,
)
from .keystore import Keystore
from .message import Message, decode
from .outcomes import SecurityReport, no_protection
from .record import Record
from .security import check_inputs, check_message

if TYPE_CHECKING:
    from .verifier import Verifier

# what `from gbcs.check import ...` has always found here, gbcs.judge's among them
__all__ = [
    "CRA_NAMES",
    "DLMS_DIRECTION",
    "MESSAGE_TAGS",
    "RULES",
    "UNVERIFIABLE_RULES",
    "FileResult",
    "Source",
    "Totals",
    "Verdict",
    "check_files",
    "check_message_bytes",
    "check_sources",
    "check_with_verifier",
    "decode_and_reencode",
    "find_message_files",
    "form_verdicts",
    "iter_sources",
    "judge",
    "parse_message_text",
    "read_hex_file",
    "read_message_file",
    "reencode_verdict",
    "resolve_sources",
    "security_verdicts",
    "tally",
    "unchecked_encryption",
    "verify",
]


def check_message_bytes(
    name: str,
    data: bytes,
    keystore: Keystore | None,
    *,
    allow_unverifiable: bool = False,
) -> FileResult:
    """Decode, prove the re-encode (reencode_verdict), verify and judge one message strictly.

    Without a keystore nothing can be verified, so a signed or MAC'd message fails as
    unverifiable (unless `allow_unverifiable`)."""
    result, message = decode_and_reencode(name, data)
    if message is None:
        return result
    inputs = message.security_inputs()
    if inputs.needs_keys:
        store = keystore if keystore is not None else Keystore(check_validity=False)
        report, message.decrypted = check_inputs(inputs, store)
    else:
        report = no_protection()
    return judge(result, message, data, report, keystore is not None, allow_unverifiable)


def check_files(
    paths: Iterable[Path],
    keystore: Keystore | None,
    root: Path | None = None,
    progress: Callable[[int, FileResult], None] | None = None,
    *,
    allow_unverifiable: bool = False,
) -> tuple[list[FileResult], Totals]:
    results: list[FileResult] = []
    totals = Totals()
    for index, path in enumerate(paths):
        name = str(path.relative_to(root)) if root is not None and root.is_dir() else str(path)
        try:
            data = read_hex_file(path)
        except (GbcsError, OSError) as exc:
            result = FileResult(name, verdicts=[Verdict("unreadable", str(exc))])
        else:
            result = check_message_bytes(
                name, data, keystore, allow_unverifiable=allow_unverifiable
            )
        result.message = None  # do not hold every decoded tree of a large sweep
        results.append(result)
        totals.add(result)
        if progress is not None:
            progress(index, result)
    return results, totals


def check_sources(
    sources: Iterable[Source],
    keystore: Keystore | None,
    progress: Callable[[int, FileResult], None] | None = None,
    *,
    allow_unverifiable: bool = False,
    jobs: int = 1,
    verifier: Verifier | None = None,
) -> Totals:
    """Check every message of `sources` strictly; `progress` sees each result, in the
    sources' order (its decoded tree dropped afterwards, so a large sweep holds no trees).

    `jobs` > 1 checks rounds of messages in that many processes, 128 at most (this one and
    jobs - 1 forked workers, which share the keystore as loaded; a worker's results come
    back without their `security` report, their tallies kept); output, order and totals
    are the same as with one, and the sources are still taken as the checking goes (a
    round at a time), not all at once; sources named but not read (`iter_sources(...,
    read=False)`) are read by the process that checks them.

    `verifier` (gbcs.verifier, forked with the keystore to open; `keystore` is then None):
    this process decodes and judges, that one checks signatures, MACs and encrypted parts,
    and `jobs` is not read; the same output, order and totals again."""
    if verifier is not None:
        return check_with_verifier(
            sources, verifier, progress, allow_unverifiable=allow_unverifiable
        )
    results: Iterable[FileResult]
    if jobs > 1:
        results = _check_in_workers(iter(sources), keystore, allow_unverifiable, jobs)
    else:
        results = (_check_source(source, keystore, allow_unverifiable) for source in sources)
    return tally(results, progress)


def _check_source(source: Source, keystore: Keystore | None, allow: bool) -> FileResult:
    source = source.read()
    if source.data is None:
        return unreadable(source)
    return check_message_bytes(source.name, source.data, keystore, allow_unverifiable=allow)


# fewer messages than this are checked in process: forking would cost more than it saves
_MIN_SHARED = 96
# messages per process per round: a round is what the processes share out and what is held
# (its results wait until every chunk before theirs is in); the first goes with the fork,
# each later one to every worker as one frame of its sources' fields
_ROUND_SHARE = 1024
# messages in a chunk, the unit a process claims: ~0.6 ms of checking, so the processes end
# a round within a chunk of each other, while a claim (one read of two bytes) and the frame
# a chunk's results go back in add a few microseconds to it
_CHUNK = 8
# the chunk number that tells the process reading it that the round has no more
_ROUND_END = 0xFFFF
# most processes a check runs: a round's queue (129 numbers a process) is written whole
# before any process reads it, so it must fit in a pipe (64 KiB, 32,768 numbers)
_MOST_JOBS = 128


def _check_in_workers(
    sources: Iterator[Source], keystore: Keystore | None, allow: bool, jobs: int
) -> Iterator[FileResult]:
    """Each result in order, checked in `jobs` forked processes (each reads the files it
    checks); where fork is not available, or there is too little to share out, checked
    here.

    os.fork and pipes, not multiprocessing (whose import alone is a twentieth of a small
    check): jobs - 1 workers inherit the codec, the keystore and the first round as loaded,
    and this process is the last. A round is cut into chunks of `_CHUNK` messages; process k
    starts on chunk k, then each claims the next chunk from a shared queue (`_ChunkQueue`)
    as it finishes one, so they end together however the messages' costs and the machine's
    other load fall, and this process, which also forks, merges and prints, takes fewer.
    A worker sends each chunk's results back as it finishes it (verdicts and tallies:
    `FileResult.__reduce__`); this process takes in what has come between its own chunks
    and gives results on in order as soon as every one before them is in. A worker that
    dies (killed, out of memory) is a GbcsError naming its exit, never a wait for ever."""
    jobs = min(jobs, _MOST_JOBS)
    round_ = list(itertools.islice(sources, jobs * _ROUND_SHARE))
    if not hasattr(os, "fork") or len(round_) < _MIN_SHARED:
        for source in itertools.chain(round_, sources):
            yield _check_source(source, keystore, allow)
        return
    queue = _ChunkQueue()
    workers: list[_Worker] = []
    try:
        queue.fill(_chunk_count(len(round_)), jobs)
        for number in range(1, jobs):
            workers.append(_Worker.start(keystore, allow, round_, number, queue))
        while round_:
            yield from _check_round(round_, queue, workers, keystore, allow)
            round_ = list(itertools.islice(sources, jobs * _ROUND_SHARE))
            if round_:
                queue.fill(_chunk_count(len(round_)), jobs)
                batch = forked.frame([source._values() for source in round_])  # Source(*fields)
                for worker in workers:
                    worker.send(batch)
    finally:
        for worker in workers:
            worker.stop()
        queue.close()


def _chunk_count(messages: int) -> int:
    return -(-messages // _CHUNK)


def _chunk(round_: list[Source], number: int) -> list[Source]:
    return round_[number * _CHUNK : (number + 1) * _CHUNK]


def _check_round(
    round_: list[Source],
    queue: _ChunkQueue,
    workers: list[_Worker],
    keystore: Keystore | None,
    allow: bool,
) -> Iterator[FileResult]:
    """This process's part of a round (chunk 0, then what it claims), the workers' results
    taken in as they come, and every result given on in order. The round ends when every
    worker has said it is out of it too (it has read its `_ROUND_END`, so the next round's
    queue cannot be read as this one's)."""
    done: list[list[FileResult] | None] = [None] * _chunk_count(len(round_))
    for worker in workers:
        worker.round_over = False
    given = 0  # chunks given on so far
    claim: int | None = 0
    while claim is not None:
        done[claim] = _check_chunk(round_, claim, keystore, allow)
        for worker in workers:
            worker.take_ready(done)
        given = yield from _give_ready(done, given)
        claim = queue.claim()
    while True:
        given = yield from _give_ready(done, given)
        if given == len(done) and all(worker.round_over for worker in workers):
            return
        _await_workers(workers, done)  # a worker's chunk on its way, or a worker in the round


def _check_chunk(
    round_: list[Source], number: int, keystore: Keystore | None, allow: bool
) -> list[FileResult]:
    """Chunk `number` of the round checked, each result without its decoded tree (the
    verdicts go on, in this process or back from a worker; the tree stays)."""
    results = []
    for source in _chunk(round_, number):
        result = _check_source(source, keystore, allow)
        result.message = None
        results.append(result)
    return results


def _give_ready(
    done: list[list[FileResult] | None], given: int
) -> Generator[FileResult, None, int]:
    """The results of the chunks from `given` on that are in, up to the first that is not
    (each let go once given); returns how many chunks have been given."""
    while given < len(done) and (results := done[given]) is not None:
        done[given] = None
        given += 1
        yield from results
    return given


def _await_workers(workers: list[_Worker], done: list[list[FileResult] | None]) -> None:
    """Wait until a worker has sent something, then take in what each has sent. A chunk
    missing once every worker is out of the round (a bug: each chunk is claimed once and
    its results always sent) is an error, never a wait for ever."""
    if all(worker.round_over for worker in workers):
        raise GbcsError("check", "a chunk's results came back from no process: check with jobs=1")
    select.select([worker.results for worker in workers], [], [])
    for worker in workers:
        worker.take_ready(done)


class _ChunkQueue:
    """The numbers of a round's chunks not yet claimed, in a pipe every process reads: a
    read of two bytes claims one (the kernel gives each number to one reader), and each
    process stops at the first `_ROUND_END` it reads, of which the round holds one per
    process. Chunk k < jobs is process k's without a claim (each starts at once, and each
    worker checks at least one chunk, so a worker's failure is never hidden by another
    process taking all the work)."""

    def __init__(self) -> None:
        self.read_end, self.write_end = os.pipe()

    def fill(self, chunks: int, jobs: int) -> None:
        """Queue a round's chunks from `jobs` on (those below are the processes' first),
        then one end per process, written whole before any process reads it."""
        numbers = [*range(jobs, chunks), *[_ROUND_END] * jobs]
        forked.write_all(self.write_end, b"".join(number.to_bytes(2, "big") for number in numbers))

    def claim(self) -> int | None:
        """The next chunk to check, or None when the round has no more."""
        number = int.from_bytes(os.read(self.read_end, 2), "big")
        return None if number == _ROUND_END else number

    def close(self) -> None:
        for end in (self.read_end, self.write_end):
            try:
                os.close(end)
            except OSError:
                pass


class _Worker(Record):
    """One forked checker: its process id, the end the parent sends rounds through, and
    the end its frames come back on (read without waiting: `take_ready`)."""

    FIELDS = ("pid", "jobs", "results")

    def __init__(self, pid: int, jobs: BinaryIO, results: int) -> None:
        self.pid = pid
        self.jobs = jobs  # parent -> worker: frames of later rounds' sources
        # worker -> parent: frames, each (chunk, each result's `values()`), an error's
        # text, or None (out of the round)
        self.results = results
        self.pending = bytearray()  # bytes read from `results`, not yet a whole frame
        self.round_over = False  # it has said it read its _ROUND_END

    @classmethod
    def start(
        cls,
        keystore: Keystore | None,
        allow: bool,
        round_: list[Source],
        number: int,
        queue: _ChunkQueue,
    ) -> _Worker:
        """Fork worker `number`: it checks chunk `number` of `round_` (inherited with the
        process) and what it claims from `queue`, then the same of each round sent to it."""

        def work(inbox: int, out: int) -> None:
            os.close(queue.write_end)
            with os.fdopen(inbox, "rb") as rounds:
                _serve(round_, number, queue, rounds, out, keystore, allow)

        pid, jobs, results = forked.fork(work)
        os.set_blocking(results, False)
        return cls(pid, os.fdopen(jobs, "wb"), results)

    def send(self, batch: bytes) -> None:
        """A later round's sources, as one frame (gbcs.forked.frame)."""
        try:
            self.jobs.write(batch)
            self.jobs.flush()
        except OSError:  # the pipe is broken: the worker is gone
            raise self._died() from None

    def take_ready(self, done: list[list[FileResult] | None]) -> None:
        """Put the results of each chunk this worker has sent in `done`, without waiting."""
        gone = forked.read_ready(self.results, self.pending)
        for value in forked.take_frames(self.pending):
            if value is None:
                self.round_over = True
            elif isinstance(value, str):  # the worker's own error, said before it stopped
                raise GbcsError("check", f"a worker process failed: {value}")
            else:
                number, results = value
                done[number] = [result_from_values(*values) for values in results]
        if gone:  # the worker ended mid-round: killed, or out of memory
            raise self._died()

    def _died(self) -> GbcsError:
        status = self.stop(dead=True)
        return GbcsError(
            "check", f"a worker process died ({forked.exit_text(status)}): check with jobs=1"
        )

    def stop(self, *, dead: bool = False) -> int | None:
        """Close its pipes and reap it (forked.end): its wait status."""
        try:
            self.jobs.close()
        except OSError:
            pass
        if self.results >= 0:
            os.close(self.results)
            self.results = -1
        if self.pid == 0:
            return None
        status = forked.end(self.pid, dead=dead)
        self.pid = 0
        return status


def _serve(
    round_: list[Source],
    number: int,
    queue: _ChunkQueue,
    inbox: BinaryIO,
    out: int,
    keystore: Keystore | None,
    allow: bool,
) -> None:
    """A worker's loop over rounds: chunk `number`, then what it claims from the queue,
    each chunk's results sent back as soon as it is checked; then None (out of the round),
    and the next round sent to it."""
    while True:
        claim = number if number < _chunk_count(len(round_)) else queue.claim()
        while claim is not None:
            try:
                results = _check_chunk(round_, claim, keystore, allow)
                sent: object = (claim, [result.values() for result in results])
            except Exception as exc:  # a bug, not a message's fault: said, then stop
                forked.send_frame(out, f"{type(exc).__name__}: {exc}")
                return
            forked.send_frame(out, sent)
            claim = queue.claim()
        forked.send_frame(out, None)
        fields = _read_frame(inbox)
        if fields is None:  # the parent is done
            return
        round_ = [Source(*each) for each in fields]


def _read_frame(stream: BinaryIO) -> Any:
    """The value of the next `frame` on `stream`, or None at its end."""
    size = stream.read(4)
    if len(size) < 4:
        return None
    data = stream.read(int.from_bytes(size, "big"))
    return marshal.loads(data)


def verify(message: Message | bytes, keystore: Keystore) -> SecurityReport:
    """Every security check that applies to a message (decoded first if given bytes):
    gbcs.verify."""
    if not isinstance(message, Message):
        message = decode(message)
    return check_message(message, keystore)
