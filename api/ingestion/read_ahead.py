"""Reading a source into redacted records, here or in a worker process that reads ahead of the writes.

Reading (parsing, building validated records, redacting secrets) and writing
(the store batch) each take about half of an ingest's CPU time. With
:class:`ReadAhead`, a worker process reads the next source while this process
writes the current one::

    with ReadAhead() as ahead:
        ahead.submit(ReadJob(source, "cdevents", ctx))    # returns at once
        outcome = ahead.receive()                         # the ReadOutcome of the oldest job

Jobs are small (a lazy source handle, not its bytes) and outcomes arrive in
submission order, their records as compact tuples (:mod:`api.ingestion.wire`).
A large source arrives in parts (:mod:`api.ingestion.parts`) that
:meth:`ReadAhead.receive_parts` hands over one at a time, so this process
never holds all of it::

    outcome, parts = ahead.receive_parts()     # parts: None when outcome.result holds it whole
    for part in parts or [outcome.result]:
        write(part)                            # WorkerLost: the worker failed part-way; read it here

The worker exits when it is told to or when this process goes away (its end
of the pipe closes), so a killed ingest leaves no worker behind. If the worker
dies, :meth:`ReadAhead.receive` reads the job here.
"""

from __future__ import annotations

import contextlib
import gc
import multiprocessing
import os
import queue
import threading
from collections import Counter, deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from types import TracebackType

from api.ingestion import wire
from api.ingestion.parts import merge_parts, split_result
from graph.errors import VidyaError
from ingest.records import ReadContext, ReadResult, SourceFile
from ingest.redaction import redact, redact_result
from ingest.registry import Reader, reader_from, reader_named
from ingest.walker import LazySource, Unreadable

_JOIN_SECONDS = 5.0
#: set to a file path to profile the worker with cProfile (the stats are written there when it exits)
PROFILE_ENV = "VIDYA_READ_AHEAD_PROFILE"


@dataclass
class ReadOutcome:
    """A source read (and redacted), or why it could not be.

    ``digest`` is the SHA-256 of the bytes the reader saw; ``error`` is a
    ``VidyaError``'s message, with secrets redacted like the records.
    """

    digest: str
    result: ReadResult | None = None
    redactions: Counter[str] = field(default_factory=Counter)
    error: str | None = None
    #: on the wire: the result follows in this many messages (``result`` is then ``None``)
    parts: int = 0


class WorkerLost(Exception):
    """The worker failed part-way through sending a source: whatever was written of it must be undone."""


@dataclass(frozen=True)
class ReadJob:
    """What to read: the source (read from disk again by whoever runs the job) and the reader's name.

    ``module`` names the module whose ``READER`` it is, so the worker imports that
    reader alone (``""``: the worker looks among every reader).
    """

    source: LazySource
    reader: str
    ctx: ReadContext
    module: str = ""


def read_file(file: SourceFile, reader: Reader, ctx: ReadContext, digest: str | None = None) -> ReadOutcome:
    """Read ``file`` with ``reader`` and redact the records; a ``VidyaError`` becomes the outcome's error.

    ``digest`` is the file's SHA-256 when the caller has it already.
    """
    if digest is None:
        digest = "" if file.is_directory else file.digest()
    try:
        result = reader.read(file, ctx)
    except VidyaError as exc:
        message, counts = redact(str(exc))
        return ReadOutcome(digest, error=message, redactions=counts)
    redacted, counts = redact_result(result)
    return ReadOutcome(digest, result=redacted, redactions=counts)


def run_job(job: ReadJob, reader: Reader | None = None) -> ReadOutcome:
    """Load the job's source and read it (with ``reader``, else the reader the job names)."""
    loaded = job.source.load()
    if isinstance(loaded, Unreadable):
        return ReadOutcome("", error=loaded.reason)
    return read_file(loaded, reader or reader_named(job.reader), job.ctx)


class _Readers:
    """The worker's readers, each imported when a job first names it (not every reader at start)."""

    def __init__(self) -> None:
        self._by_name: dict[str, Reader] = {}

    def of(self, job: ReadJob) -> Reader:
        reader = self._by_name.get(job.reader)
        if reader is None:
            reader = self._by_name[job.reader] = reader_from(job.module, job.reader)
        return reader


def _serve(conn: Connection, profile: str | None = None) -> None:
    """The worker's entry point: serve jobs, under cProfile when ``profile`` names a stats file."""
    if not profile:
        _serve_jobs(conn)
        return
    import cProfile
    import time

    profiler = cProfile.Profile(time.process_time)
    profiler.enable()
    try:
        _serve_jobs(conn)
    finally:
        profiler.disable()
        profiler.dump_stats(profile)


def _serve_jobs(conn: Connection) -> None:
    """Run jobs until told to stop (``None``) or until the parent's end closes.

    A job's messages go out on a sender thread: the parent takes a large source's
    parts one at a time, as it writes them, and meanwhile this thread reads the
    next job (the outbox holds one job's messages, so at most two are held).
    """
    available = _Readers()
    gc.freeze()  # the modules just imported live as long as the worker: no collection needs to scan them
    outbox: queue.Queue[list[bytes] | None] = queue.Queue(maxsize=1)
    sender = threading.Thread(target=_send_all, args=(conn, outbox), name="vidya-read-ahead-send", daemon=True)
    sender.start()
    try:
        while sender.is_alive():
            try:
                job = conn.recv()
            except (EOFError, OSError):
                return
            if job is None:
                return
            with paused_gc():
                messages = list(_answer(job, available))
            outbox.put(messages)
    finally:  # let the sender finish what the parent still waits for (it drops it if the parent is gone)
        with contextlib.suppress(queue.Full):
            outbox.put(None, timeout=5.0)
        sender.join(timeout=5.0)


def _send_all(conn: Connection, outbox: queue.Queue[list[bytes] | None]) -> None:
    """Send each job's messages in order until ``None``; the parent gone, drop the rest."""
    gone = False
    while (messages := outbox.get()) is not None:
        for message in [] if gone else messages:
            try:
                conn.send_bytes(message)
            except (EOFError, OSError):
                gone = True
                break


def _answer(job: ReadJob, available: _Readers) -> Iterator[bytes]:
    """The job's outcome on the wire: one message, or a header and the result's parts.

    A reader bug or an unpicklable outcome is sent as an exception, in place of
    the outcome or of the part that failed (and nothing of the job after it).
    """
    try:
        outcome = run_job(job, available.of(job))
    except Exception as exc:  # a reader bug: the parent reads the job itself, so the error surfaces there
        yield wire.dumps(exc)
        return
    parts = split_result(outcome.result) if outcome.result is not None else []
    messages: list[object] = [outcome]
    if len(parts) > 1:
        outcome.result, outcome.parts = None, len(parts)
        messages += parts
    for value in messages:
        try:
            message = wire.dumps(value)
        except Exception:  # a record that does not pickle: the parent reads the job itself
            yield wire.dumps(RuntimeError("unpicklable outcome"))
            return
        yield message


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """No cyclic garbage collection inside the block (the previous setting comes back after it).

    Reading a source allocates tens of thousands of short-lived, acyclic
    records; collections triggered by those allocations find nothing to free
    and cost about a quarter of the reading time. Garbage made inside the
    block is collected by the first collection after it.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class ReadAhead:
    """A worker process reading submitted jobs in order; used as a context manager."""

    def __init__(self) -> None:
        context = multiprocessing.get_context("spawn")  # no fork: the parent holds store connections
        self._conn, child = context.Pipe()
        profile = os.environ.get(PROFILE_ENV)
        self._process = context.Process(target=_serve, args=(child, profile), name="vidya-read-ahead", daemon=True)
        self._process.start()
        child.close()
        self._jobs: deque[ReadJob] = deque()
        self._alive = True
        #: parts of the last outcome still in the pipe (a reader of them stopped early)
        self._unread = 0

    def submit(self, job: ReadJob) -> None:
        """Queue ``job`` for the worker (never blocks on the worker's progress)."""
        self._jobs.append(job)
        if self._alive:
            try:
                self._conn.send(job)
            except (EOFError, OSError):
                self._alive = False

    def receive(self) -> ReadOutcome:
        """The outcome of the oldest submitted job, whole (read here if the worker failed at it)."""
        job = self._jobs[0] if self._jobs else None
        outcome, parts = self.receive_parts()
        if parts is None:
            return outcome
        try:
            outcome.result = merge_parts(parts)
        except WorkerLost:
            assert job is not None
            return run_job(job)
        outcome.parts = 0
        return outcome

    def receive_parts(self) -> tuple[ReadOutcome, Iterator[ReadResult] | None]:
        """The outcome of the oldest submitted job and, for a large source, its parts as they arrive.

        Read every part before the next ``receive``; a part the worker could not
        send raises :class:`WorkerLost` (read the job here then). With ``None`` as
        parts, ``outcome.result`` holds the whole result (or the error).
        """
        job = self._jobs.popleft()
        self._skip_unread()
        if self._alive:
            try:
                outcome = wire.loads(self._conn.recv_bytes())
            except (EOFError, OSError):
                self._alive = False
            else:
                if isinstance(outcome, ReadOutcome):
                    return outcome, (self._parts(outcome.parts) if outcome.parts else None)
        return run_job(job), None

    def _parts(self, count: int) -> Iterator[ReadResult]:
        self._unread = count
        while self._unread:
            try:
                part = wire.loads(self._conn.recv_bytes())
            except (EOFError, OSError):
                self._alive, self._unread = False, 0
                raise WorkerLost("the read-ahead worker went away") from None
            self._unread -= 1
            if not isinstance(part, ReadResult):  # the worker sends nothing more of this job
                self._unread = 0
                raise WorkerLost(f"the read-ahead worker failed: {part!r}"[:200])
            yield part
            del part  # not held while the next part arrives

    def _skip_unread(self) -> None:
        """Drop the parts a caller left in the pipe (its write failed), so the next outcome is in step."""
        while self._unread and self._alive:
            try:
                part = wire.loads(self._conn.recv_bytes())
            except (EOFError, OSError):
                self._alive = False
                break
            self._unread = self._unread - 1 if isinstance(part, ReadResult) else 0
        self._unread = 0

    def close(self) -> None:
        if self._alive:
            with contextlib.suppress(EOFError, OSError):
                self._conn.send(None)
        self._conn.close()
        self._process.join(_JOIN_SECONDS)
        if self._process.is_alive():
            self._process.terminate()
            self._process.join(_JOIN_SECONDS)
        self._alive = False

    def __enter__(self) -> ReadAhead:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()
