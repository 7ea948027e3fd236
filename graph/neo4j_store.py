"""The Neo4j backend, over Bolt with the official driver.

Works with any Neo4j 5.26+ server, cluster or Aura: no plugins, parameterised
Cypher only, constraints and indexes made by :meth:`ensure_schema`, writes in
managed transactions (retried by the driver on transient errors) or, for a
batch too large to hold, one explicit transaction written as it goes
(:mod:`graph.neo4j_writes`)::

    store = Neo4jGraphStore("bolt://127.0.0.1:7687")
    store.ensure_schema()

Every node carries the label ``VidyaNode`` (which holds the id constraint)
plus its schema label; relationship types are the schema's types. Times are
stored as epoch microseconds (:mod:`graph.neo4j_records`); the schema step
migrates a database written with the older ``DateTime`` layout
(:mod:`graph.neo4j_schema`). Queries that return many rows collect them into
one record, so the driver unpacks one message per query instead of one per row.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime
from typing import Any, LiteralString, TypeVar

import neo4j
from neo4j.exceptions import AuthError, ConfigurationError, DriverError, Neo4jError, ServiceUnavailable

from graph import neo4j_cypher as cy
from graph.errors import RecordError, StoreError, StoreRetryable, StoreUnavailable
from graph.model import Counts, Direction, Edge, Node, edge_type_of, now_utc, utc
from graph.neo4j_read_events import Neo4jEventReadsMixin
from graph.neo4j_records import Decoder, to_micros
from graph.neo4j_schema import ensure_schema
from graph.neo4j_traversal import Neo4jTraversalMixin
from graph.neo4j_writes import Neo4jBatch
from graph.schema import EVENT_LINKS, NodeLabel, RelType
from graph.store import TextHit, TimelineEvent
from graph.text_query import TEXT_LABELS, query_terms
from graph.traversal import TraversalMixin

_UNREACHABLE = (ServiceUnavailable, AuthError, ConfigurationError, OSError)
#: tries of a read that fails with an error the driver calls transient (a cluster changing leader)
_READ_ATTEMPTS = 3
T = TypeVar("T")
#: the read transaction a multi-statement read runs in (see ``_in_one_read``), per thread/task
_READ_TX: ContextVar[neo4j.ManagedTransaction | None] = ContextVar("vidya_neo4j_read_tx", default=None)


def _q(text: str) -> LiteralString:
    """Statements come from :mod:`graph.neo4j_cypher` only; tell the type checker so."""
    return text


def _edges(records: Iterable[Any]) -> list[Edge]:
    decode = Decoder()
    return [decode.edge(r["type"], r["src"], r["dst"], r["p"]) for r in records]


class Neo4jGraphStore(Neo4jEventReadsMixin, Neo4jTraversalMixin, TraversalMixin):
    """A :class:`graph.store.GraphStore` on a Neo4j 5.26+ server."""

    def __init__(
        self,
        uri: str,
        *,
        user: str | None = None,
        password: str | None = None,
        database: str | None = None,
        clock: Callable[[], datetime] = now_utc,
    ) -> None:
        self.uri = uri
        self._database = database
        self._clock = clock
        auth = (user, password or "") if user else None
        try:
            # unknown-property notices are expected on a fresh database; keep the log quiet
            self._driver = neo4j.GraphDatabase.driver(uri, auth=auth, notifications_min_severity="OFF")
        except (ValueError, *_UNREACHABLE) as exc:
            raise StoreUnavailable(f"cannot use Neo4j URI {uri}: {exc}") from exc

    def describe(self) -> str:
        return f"neo4j {self.uri}" + (f" database {self._database}" if self._database else "")

    def _unavailable(self, exc: Exception) -> StoreUnavailable:
        reason = " ".join(str(exc).split())
        return StoreUnavailable(f"cannot reach Neo4j at {self.uri}: {reason}")

    def ensure_schema(self) -> None:
        """Create constraints and indexes and bring an older layout up to date; safe to call again."""
        try:
            self._driver.verify_connectivity()
            ensure_schema(self._driver, self._database)
        except _UNREACHABLE as exc:
            raise self._unavailable(exc) from exc
        except Neo4jError as exc:
            raise StoreError(f"Neo4j at {self.uri} refused the schema step: {exc}") from exc
        except StoreError as exc:
            raise StoreError(f"Neo4j at {self.uri}: {exc}") from exc

    def close(self) -> None:
        self._driver.close()

    # writes ------------------------------------------------------------------------
    @contextmanager
    def batch(self) -> Iterator[Neo4jBatch]:
        """One all-or-nothing batch; a large one raises :class:`StoreRetryable` on a transient failure.

        Example::

            with store.batch() as batch:
                batch.upsert_nodes(nodes)
                batch.upsert_edges(edges)
        """
        with self._driver.session(database=self._database) as session:
            batch = Neo4jBatch(utc(self._clock(), "clock"), session, self._write_error)
            try:
                yield batch
            except BaseException:
                batch.rollback()
                raise
            batch.commit()

    def _write_error(self, exc: Exception, spilled: bool) -> StoreError:
        """The store error for a driver failure in a batch (a spilled batch cannot be replayed here)."""
        if spilled and isinstance(exc, Neo4jError | DriverError) and exc.is_retryable():
            reason = " ".join(str(exc).split()) or type(exc).__name__
            return StoreRetryable(
                f"Neo4j at {self.uri} failed a write, so the batch was rolled back; running it again may succeed: {reason}"
            )
        if isinstance(exc, _UNREACHABLE):
            return self._unavailable(exc)
        if isinstance(exc, Neo4jError):
            return StoreError(f"Neo4j at {self.uri} rejected a write: {exc}")
        return StoreError(f"Neo4j at {self.uri} failed a write: {type(exc).__name__}: {exc}")

    # reads -------------------------------------------------------------------------
    def _read(self, query: str, **params: Any) -> list[Any]:
        tx = _READ_TX.get()
        if tx is not None:
            return list(tx.run(_q(query), params))
        # an auto-commit statement: one round trip (RUN and PULL together), where a managed
        # transaction adds BEGIN and a COMMIT the server answers separately
        for attempt in range(1, _READ_ATTEMPTS + 1):
            try:
                with self._driver.session(
                    database=self._database, default_access_mode=neo4j.READ_ACCESS,
                    bookmark_manager=self._driver.execute_query_bookmark_manager,
                ) as session:
                    return list(session.run(_q(query), params))
            except (Neo4jError, DriverError) as exc:
                if exc.is_retryable() and attempt < _READ_ATTEMPTS:
                    continue
                if isinstance(exc, _UNREACHABLE):
                    raise self._unavailable(exc) from exc
                raise StoreError(f"Neo4j at {self.uri} failed a query: {exc}") from exc
            except _UNREACHABLE as exc:
                raise self._unavailable(exc) from exc
        raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises

    def _in_one_read(self, work: Callable[[], T]) -> T:
        """Run ``work``, whose statements go through ``_read``, in one managed read transaction.

        One transaction instead of one per statement; the driver retries the whole unit.
        """
        if _READ_TX.get() is not None:
            return work()

        def unit(tx: neo4j.ManagedTransaction) -> T:
            token = _READ_TX.set(tx)
            try:
                return work()
            finally:
                _READ_TX.reset(token)

        try:
            with self._driver.session(database=self._database, default_access_mode=neo4j.READ_ACCESS) as session:
                return session.execute_read(unit)
        except _UNREACHABLE as exc:
            raise self._unavailable(exc) from exc
        except Neo4jError as exc:
            raise StoreError(f"Neo4j at {self.uri} failed a query: {exc}") from exc

    def _rows(self, query: str, **params: Any) -> list[Any]:
        """The ``rows`` list a statement collects into its single record."""
        records = self._read(query, **params)
        return list(records[0]["rows"]) if records else []

    def _time_params(self, as_of: datetime | None) -> dict[str, Any]:
        return {
            "now": to_micros(utc(self._clock(), "clock")),
            "as_of": None if as_of is None else to_micros(utc(as_of, "as_of")),
        }

    def get_node(self, id_: str) -> Node | None:
        records = self._read(cy.NODE_BY_ID, id=id_)
        return Decoder().node(records[0]["p"]) if records else None

    def get_nodes(self, ids: Iterable[str]) -> list[Node]:
        decode = Decoder()
        nodes = [decode.node(p) for p in self._rows(cy.NODES_BY_IDS, ids=list(set(ids)))]
        return sorted(nodes, key=lambda n: n.id)

    def find_nodes(
        self,
        label: NodeLabel | None = None,
        props: dict[str, object] | None = None,
        *,
        name: str | None = None,
        include_retired: bool = False,
        limit: int = 1000,
    ) -> list[Node]:
        for key, value in (props or {}).items():
            if not isinstance(value, str | int | float | bool):
                raise RecordError(f"find_nodes: property {key!r} must be compared with a scalar")
        records = self._rows(
            cy.FIND_NODES[label is not None, name is not None],
            label=None if label is None else str(NodeLabel(label)), name=name,
            props=props or {}, retired=include_retired, limit=limit,
        )
        decode = Decoder()
        return [decode.node(p) for p in records]

    def get_edge(self, id_: str) -> Edge | None:
        records = self._read(cy.EDGE_BY_ID[edge_type_of(id_)], id=id_)
        return _edges(records)[0] if records else None

    def edge_history(self, id_: str) -> list[Edge]:
        return _edges(self._read(cy.EDGE_HISTORY[edge_type_of(id_)], id=id_))

    def edges_by_element_ids(self, eids: Collection[str]) -> dict[str, Edge]:
        """Edge versions by their Neo4j element ids (path search finds them so)."""
        if not eids:
            return {}
        records = self._rows(cy.EDGES_BY_ELEMENT_IDS, eids=sorted(eids))
        return dict(zip((r["eid"] for r in records), _edges(records), strict=True))

    def incident_edges(
        self,
        ids: Collection[str],
        direction: Direction = "both",
        types: Collection[RelType] | None = None,
        as_of: datetime | None = None,
    ) -> list[Edge]:
        if not ids:
            return []
        params = self._time_params(as_of) | {
            "ids": sorted(set(ids)),
            "types": None if types is None else sorted(str(RelType(t)) for t in types),
        }
        statements = [cy.INCIDENT_OUT] if direction == "out" else [cy.INCIDENT_IN] if direction == "in" else [
            cy.INCIDENT_OUT, cy.INCIDENT_IN
        ]
        found = self._in_one_read(lambda: [r for s in statements for r in self._rows(s, **params)])
        records = {r["eid"]: r for r in found}
        edges = _edges(records.values())
        return sorted(edges, key=lambda e: (e.id, e.valid_from is not None, e.valid_from))

    def events(
        self,
        kinds: Collection[NodeLabel],
        start: datetime,
        end: datetime,
        services: Collection[str] | None = None,
        *,
        limit: int = 10000,
    ) -> list[TimelineEvent]:
        params: dict[str, Any] = {
            "kinds": sorted(str(NodeLabel(k)) for k in kinds),
            "start": to_micros(utc(start, "start")),
            "end": to_micros(utc(end, "end")),
            "links": sorted(str(t) for t in EVENT_LINKS),
            "services": None if services is None else sorted(set(services)),
        }
        decode = Decoder()
        rows = self._rows(cy.EVENTS, limit=limit, **params)
        events = [TimelineEvent(node=decode.node(r["p"]), services=list(r["services"])) for r in rows]
        return sorted(events, key=lambda ev: (ev.node.at, ev.node.id))

    def search_text(
        self, query: str, *, labels: Collection[NodeLabel] | None = None, limit: int = 50
    ) -> list[TextHit]:
        terms = query_terms(query)
        wanted = sorted({str(NodeLabel(label)) for label in (TEXT_LABELS if labels is None else labels)})
        if not terms or limit <= 0 or not wanted:
            return []
        records = self._read(
            cy.TEXT_SEARCH, lucene=cy.lucene_query(terms), labels=wanted, limit=limit,
            now=to_micros(utc(self._clock(), "clock")),
        )
        return [TextHit(r["id"], float(r["score"])) for r in records]

    def counts(self) -> Counts:
        params = self._time_params(None)
        nodes = {r["key"]: r["c"] for r in self._read(cy.COUNT_NODES, **params)}
        edges = {r["key"]: r["c"] for r in self._read(cy.COUNT_EDGES, **params)}
        return Counts(nodes=nodes, relationships=edges)

    def _stream(self, query: str, **params: Any) -> Iterator[Any]:
        try:
            with self._driver.session(database=self._database, default_access_mode=neo4j.READ_ACCESS) as session:
                yield from session.run(_q(query), params)
        except _UNREACHABLE as exc:
            raise self._unavailable(exc) from exc

    def iter_nodes(self, *, include_retired: bool = False) -> Iterator[Node]:
        decode = Decoder()
        for record in self._stream(cy.ALL_NODES, retired=include_retired):
            yield decode.node(record["p"])

    def iter_edges(self, *, include_retired: bool = False) -> Iterator[Edge]:
        decode = Decoder()
        for r in self._stream(cy.ALL_EDGES, retired=include_retired):
            yield decode.edge(r["type"], r["src"], r["dst"], r["p"])
