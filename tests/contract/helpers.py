"""Record builders and small readers shared by the contract suite.

Every builder uses fixed provenance times, and the ``clock`` fixture fixes the
store's own times, so a test can spell out the full record a backend must
return and compare with ``==``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, TypeVar

from graph.model import Edge, Hop, Node, Path, PropValue, Provenance, WriteStats
from graph.schema import RelType, label_of

#: the ``clock`` fixture's start time
T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
#: when the default provenance says the source was read
INGESTED = datetime(2026, 5, 31, 9, 30, tzinfo=UTC)
SOURCE = "catalog/checkout.yaml"

R = TypeVar("R", Node, Edge)


class ClockLike(Protocol):
    now: datetime

    def advance(self, **delta: float) -> datetime: ...


def minutes(n: float) -> datetime:
    """A world time ``n`` minutes after (or before, if negative) :data:`T0`."""
    return T0 + timedelta(minutes=n)


def prov(source: str = SOURCE, run_id: str = "run-1", location: str | None = None) -> Provenance:
    return Provenance(source=source, run_id=run_id, location=location, ingested_at=INGESTED)


def node(
    id_: str,
    *,
    source: str = SOURCE,
    run_id: str = "run-1",
    name: str | None = None,
    props: dict[str, PropValue] | None = None,
    at: datetime | None = None,
    valid_from: datetime | None = None,
    valid_to: datetime | None = None,
) -> Node:
    """A node whose label comes from the id prefix."""
    return Node(
        id=id_,
        label=label_of(id_),
        provenance=prov(source, run_id),
        name=name,
        props=dict(props or {}),
        at=at,
        valid_from=valid_from,
        valid_to=valid_to,
    )


def edge(
    type_: RelType,
    src: str,
    dst: str,
    *,
    source: str = SOURCE,
    run_id: str = "run-1",
    props: dict[str, PropValue] | None = None,
    key: str = "",
    valid_from: datetime | None = None,
    valid_to: datetime | None = None,
) -> Edge:
    return Edge(
        type=type_,
        src=src,
        dst=dst,
        provenance=prov(source, run_id),
        props=dict(props or {}),
        key=key,
        valid_from=valid_from,
        valid_to=valid_to,
    )


def dep(src: str, dst: str, **kw: Any) -> Edge:
    """A ``DEPENDS_ON`` edge between two services named by key (``dep("a", "b")``)."""
    return edge(RelType.DEPENDS_ON, f"service:{src}", f"service:{dst}", **kw)


def services(*keys: str, source: str = SOURCE) -> list[Node]:
    return [node(f"service:{k}", source=source, name=k) for k in keys]


def placeholder(id_: str, provenance: Provenance) -> Node:
    return Node(id=id_, label=label_of(id_), provenance=provenance, placeholder=True)


def stored(record: R, recorded_at: datetime = T0, retired_at: datetime | None = None, **changes: object) -> R:
    """The record as a store returns it: with its system times (and any planned field changes)."""
    return replace(record, recorded_at=recorded_at, retired_at=retired_at, **changes)  # type: ignore[arg-type]


def stats(created: int = 0, updated: int = 0, unchanged: int = 0, retired: int = 0, deleted: int = 0) -> WriteStats:
    return WriteStats(created=created, updated=updated, unchanged=unchanged, retired=retired, deleted=deleted)


def ids(records: Iterable[Node | Edge]) -> list[str]:
    return [r.id for r in records]


def hops(result: Iterable[Hop]) -> list[tuple[str, int]]:
    return [(h.node.id, h.depth) for h in result]


def path_nodes(result: Iterable[Path]) -> list[list[str]]:
    return [p.nodes for p in result]


def edge_sort_key(e: Edge) -> tuple[str, datetime]:
    assert e.recorded_at is not None
    return (e.id, e.recorded_at)
