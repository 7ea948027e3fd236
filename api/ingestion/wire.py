"""The read-ahead worker's wire format: records as compact tuples of their slot values.

Plain pickling of a slotted dataclass asks :func:`dataclasses.fields` for
every record on both sides of the pipe, which costs more than building the
record did. Here a record travels as its class and the tuple of its slot
values, and is rebuilt by setting the slots directly: nothing is validated
or hashed again, because the worker built (and validated) the very same
record. A result's nodes and edges travel as one list of plain tuples each
(pickled without a call per record) and are rebuilt in one loop
(:func:`graph.model.records_from_slots`). Enums, datetimes and shared
provenance objects are pickled once per message (pickle's memo), so a source
of a thousand events sends one ``Provenance`` per distinct location.

    >>> from ingest.records import ReadResult
    >>> loads(dumps(ReadResult())) == ReadResult()
    True
"""

from __future__ import annotations

import copyreg
import io
import pickle
from operator import attrgetter
from typing import Any

from graph.model import Edge, Node, Provenance, records_from_slots, slot_values
from ingest.records import Document, EntityHint, HintedEdge, ReadResult, RecordError, Section

#: the record classes sent as slot tuples (every one a slotted dataclass without ``__dict__``)
RECORD_CLASSES: tuple[type, ...] = (Provenance, Node, Edge, EntityHint, HintedEdge, Section, Document, RecordError, ReadResult)
_SLOTS: dict[type, tuple[str, ...]] = {cls: tuple(cls.__slots__) for cls in RECORD_CLASSES}  # type: ignore[attr-defined]
_set = object.__setattr__


def _rebuild(cls: type, values: tuple[Any, ...]) -> Any:
    """A record of ``cls`` with its slots set to ``values`` (in ``__slots__`` order), not validated again."""
    record: Any = object.__new__(cls)
    for name, value in zip(_SLOTS[cls], values, strict=True):
        _set(record, name, value)
    return record


def _reducer(cls: type) -> Any:
    names = _SLOTS[cls]
    # one name: attrgetter returns the bare value, not a 1-tuple
    values = attrgetter(*names) if len(names) > 1 else lambda record: (getattr(record, names[0]),)

    def reduce(record: Any) -> tuple[Any, ...]:
        return _rebuild, (cls, values(record))

    return reduce


def _provenance(*values: Any) -> Provenance:
    return records_from_slots(Provenance, (values,))[0]


def _reduce_provenance(prov: Provenance) -> tuple[Any, ...]:
    return _provenance, slot_values(prov)


def _result(nodes: list[tuple[Any, ...]], edges: list[tuple[Any, ...]], *rest: list[Any]) -> ReadResult:
    """A :class:`ReadResult` from its node and edge rows and its other lists."""
    return ReadResult(records_from_slots(Node, nodes), records_from_slots(Edge, edges), *rest)


def _reduce_result(result: ReadResult) -> tuple[Any, ...]:
    nodes, edges = list(map(slot_values, result.nodes)), list(map(slot_values, result.edges))
    return _result, (nodes, edges, result.hinted, result.documents, result.errors)


_DISPATCH = copyreg.dispatch_table.copy()
_DISPATCH.update({cls: _reducer(cls) for cls in RECORD_CLASSES})
_DISPATCH.update({Provenance: _reduce_provenance, ReadResult: _reduce_result})


def dumps(value: object) -> bytes:
    """Pickle ``value`` with the records in it as slot tuples."""
    buffer = io.BytesIO()
    pickler = pickle.Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL)
    pickler.dispatch_table = _DISPATCH
    pickler.dump(value)
    return buffer.getvalue()


def loads(data: bytes) -> Any:
    """The value :func:`dumps` pickled."""
    return pickle.loads(data)
