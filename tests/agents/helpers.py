"""Ground truth of the demo estate (its README's incident table) and builders for small hand-made graphs."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from api.ingestion.pipeline import Ingester
from graph.factory import GraphConfig, open_store
from graph.model import Edge, Node, PropValue, Provenance
from graph.schema import RelType, label_of
from graph.store import GraphStore

ROOT = Path(__file__).resolve().parents[2]
ESTATE = ROOT / "examples" / "estate"
_ROW = re.compile(
    r"^\| (?P<number>\d+) \| [^|]+\| `(?P<pagerduty>P\w+)` \| (?P<service>[\w-]+) \((?P<alert>\w+)\) \| "
    r"(?P<cause_type>\w+) \| `(?P<cause>[^`]+)` \|"
)


@dataclass(frozen=True)
class Truth:
    number: int
    incident_id: str
    service: str
    alert: str
    cause_type: str
    cause: str


def ground_truth() -> list[Truth]:
    """One row per incident of the README's ground-truth table."""
    rows = []
    for line in (ESTATE / "README.md").read_text(encoding="utf-8").splitlines():
        match = _ROW.match(line)
        if match:
            rows.append(Truth(int(match["number"]), f"incident:{match['pagerduty']}", match["service"],
                              match["alert"], match["cause_type"], match["cause"]))
    return rows


# hand-built graphs -------------------------------------------------------------------------
T = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
PROV = Provenance(source="tests/agents", run_id="run-1", ingested_at=T - timedelta(days=30))


def at(minutes_before: float) -> datetime:
    return T - timedelta(minutes=minutes_before)


def svc(name: str) -> str:
    return f"service:default/{name}"


def res(name: str) -> str:
    return f"resource:default/{name}"


class Builder:
    """Collects nodes and edges and writes them in one batch."""

    def __init__(self) -> None:
        self.nodes: dict[str, Node] = {}
        self.edges: list[Edge] = []

    def entity(self, id_: str) -> Builder:
        self.nodes[id_] = Node(id_, label_of(id_), PROV, name=id_.rsplit("/", 1)[-1])
        return self

    def depends(self, caller: str, callee: str, valid_from: datetime | None = None) -> Builder:
        for id_ in (caller, callee):
            if id_ not in self.nodes:
                self.entity(id_)
        self.edges.append(Edge(RelType.DEPENDS_ON, caller, callee, PROV, valid_from=valid_from))
        return self

    def change(self, id_: str, target: str, minutes_before: float, env: str = "production",
               **props: PropValue) -> Builder:
        self.nodes["env:" + env] = Node("env:" + env, label_of("env:x"), PROV, name=env)
        self.nodes[id_] = Node(id_, label_of(id_), PROV, name=f"{id_} on {target}", props=dict(props),
                               at=at(minutes_before))
        self.edges.append(Edge(RelType.TARGETS, id_, target, PROV))
        self.edges.append(Edge(RelType.IN_ENVIRONMENT, id_, "env:" + env, PROV))
        return self

    def alert(self, fingerprint: str, name: str, entity: str, minutes_before: float,
              severity: str = "critical") -> Builder:
        id_ = f"alert:{fingerprint}"
        props: dict[str, PropValue] = {"severity": severity, "label:alertname": name, "status": "firing"}
        self.nodes[id_] = Node(id_, label_of(id_), PROV, name=name, props=props, at=at(minutes_before))
        self.edges.append(Edge(RelType.AFFECTS, id_, entity, PROV))
        return self

    def incident(self, id_: str, minutes_before: float, affects: list[str], cause: str) -> Builder:
        self.nodes[id_] = Node(id_, label_of(id_), PROV, name=id_, at=at(minutes_before))
        self.edges += [Edge(RelType.AFFECTS, id_, e, PROV) for e in affects]
        self.edges.append(Edge(RelType.CAUSED_BY, id_, cause, PROV))
        return self

    def write(self, store: GraphStore) -> GraphStore:
        with store.batch() as batch:
            batch.upsert_nodes(self.nodes.values())
            batch.upsert_edges(self.edges)
        return store


def shop() -> Builder:
    """web -> gateway -> checkout -> {payments -> payments-db, cart}; ledger -> payments-db."""
    return (
        Builder()
        .depends(svc("web"), svc("gateway"))
        .depends(svc("gateway"), svc("checkout"))
        .depends(svc("checkout"), svc("payments"))
        .depends(svc("checkout"), svc("cart"))
        .depends(svc("payments"), res("payments-db"))
        .depends(svc("ledger"), res("payments-db"))
    )


#: the estate's folders the agent tests ingest (history and topology, not runbooks or provenance)
ESTATE_FOLDERS = ("catalog", "events", "alerts", "incidents", "postmortems")


@contextmanager
def estate_store(directory: Path) -> Iterator[GraphStore]:
    """The demo estate ingested into a fresh SQLite store under ``directory``, closed on exit."""
    store = open_store(GraphConfig(sqlite_path=directory / "graph.db"))
    try:
        report = Ingester(store).run([ESTATE / f for f in ESTATE_FOLDERS])
        assert report.ok, [s.error for s in report.sources if s.error]
        yield store
    finally:
        store.close()
