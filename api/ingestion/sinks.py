"""Sinks: what else an ingest feeds once a source's graph batch has committed (the retrieval index, for one).

A sink receives each written source's records (already redacted) after the
graph has them. A sink that fails with a :class:`~graph.errors.VidyaError`
marks that source ``partial`` and the ingest goes on: the graph is the record,
and ``vidya doctor --repair`` re-indexes what a sink missed. A large source
without documents or sections (a stream of events) is written in parts and
reaches the sinks as an empty result: none of its records are theirs::

    class PrintSink:
        def source_written(self, path: str, result: ReadResult) -> None:
            print(path, len(result.documents), "documents")

        def source_retired(self, path: str) -> None:
            print(path, "retired")

        def close(self) -> None:
            pass

    Ingester(store, sinks=[PrintSink()]).run([Path("examples/estate/runbooks")])
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from graph.errors import VidyaError
from ingest.records import ReadResult


class IngestSink(Protocol):
    """Receives what each source wrote, after the graph batch committed."""

    def source_written(self, path: str, result: ReadResult) -> None:
        """The graph batch for source ``path`` committed; ``result`` is the redacted one."""
        ...

    def source_retired(self, path: str) -> None:
        """The source's facts were retired (reserved for deletions)."""
        ...

    def close(self) -> None:
        """The run is over (called also when it fails)."""
        ...


def indexing_failed(message: str) -> str:
    """The error a source gets when a sink could not take it."""
    return f"indexing failed: {message} (the graph has it; `vidya doctor --repair` re-indexes)"


def notify_written(sinks: Sequence[IngestSink], path: str, result: ReadResult) -> str | None:
    """Hand a written source to every sink; the first sink failure as an error message, else ``None``.

    Every sink is called even when an earlier one failed, so one broken sink
    does not starve the others.
    """
    failure: str | None = None
    for sink in sinks:
        try:
            sink.source_written(path, result)
        except VidyaError as exc:
            failure = failure or indexing_failed(str(exc))
    return failure


def close_all(sinks: Sequence[IngestSink]) -> None:
    """Close every sink; a sink that fails to close does not keep the others open."""
    errors: list[VidyaError] = []
    for sink in sinks:
        try:
            sink.close()
        except VidyaError as exc:
            errors.append(exc)
    if errors:
        raise errors[0]
