"""A source's records in parts: how a large source crosses the pipe and is written in bounded pieces.

A reader returns all of one source's records at once (it folds, orders and
deduplicates across the file). :func:`split_result` cuts such a result into
parts of at most :data:`PART_NODES` nodes or :data:`PART_EDGES` edges (a node,
with its properties, weighs about as much as four edges), nodes first, then
edges, then hinted edges: the order the pipeline writes them in. The worker sends the
parts one by one and the pipeline writes each into the source's one open
batch, so the process that writes holds one part at a time, however large the
source; the batch still commits (or rolls back) the source whole::

    >>> parts = split_result(result)            # [result] when it is small or holds documents
    >>> merge_parts(parts) == result            # for a result without repeated ids
    True

A result with documents or sections stays whole: the sinks (the retrieval
index) read its text records after the batch commits.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

from graph.model import Edge, Node
from graph.schema import NodeLabel
from ingest.records import ReadResult

#: edges and hinted edges per part of a large source
PART_EDGES = 4000
#: nodes per part (a node counts as PART_EDGES // PART_NODES edges)
PART_NODES = 1000
_NODE_WEIGHT = PART_EDGES // PART_NODES

_Record = TypeVar("_Record", Node, Edge)


def _weight(result: ReadResult) -> int:
    return len(result.nodes) * _NODE_WEIGHT + len(result.edges) + len(result.hinted)


def splittable(result: ReadResult, size: int = PART_EDGES) -> bool:
    """Whether ``result`` is large and holds nothing the sinks read (documents, sections)."""
    if _weight(result) <= size or result.documents:
        return False
    return not any(node.label is NodeLabel.SECTION for node in result.nodes)


def split_result(result: ReadResult, size: int = PART_EDGES) -> list[ReadResult]:
    """``result`` in parts weighing at most ``size`` edges, nodes first; the record errors go with the first part.

    Ids repeated in the source keep their first place and their last record (as
    one store batch would), so a record is never written twice across parts.
    A result that is not :func:`splittable` comes back whole, as it is.
    """
    if not splittable(result, size):
        return [result]
    parts = [ReadResult(errors=list(result.errors))]
    room = size
    kinds = (
        ("nodes", _last_wins(result.nodes), _NODE_WEIGHT),
        ("edges", _last_wins(result.edges), 1),
        ("hinted", result.hinted, 1),
    )
    for name, items, weight in kinds:
        start = 0
        while start < len(items):
            if room < weight:
                parts.append(ReadResult())
                room = size
            taken = items[start : start + room // weight]
            getattr(parts[-1], name).extend(taken)
            start += len(taken)
            room -= len(taken) * weight
    return parts


def merge_parts(parts: Iterable[ReadResult]) -> ReadResult:
    """One result holding every part's records, in order."""
    merged = ReadResult()
    for part in parts:
        merged.extend(part)
    return merged


def _last_wins(records: list[_Record]) -> list[_Record]:
    by_id = {record.id: record for record in records}
    return records if len(by_id) == len(records) else list(by_id.values())
