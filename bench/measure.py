"""Timing of bulk loads and of the read queries the agents run most.

Only the store calls are timed: records are generated (and validated by
``Node``/``Edge``) before the clock starts, one batch at a time, so memory stays
bounded and the rates are the store's own.

Wall time is what a caller sees; CPU time (this process, plus the Neo4j server's
when the benchmark started it) is recorded too, because on a shared machine the
wall time also counts waiting for a core. Client and server work in turn, so
their summed CPU time estimates the wall time on an idle machine.
"""

from __future__ import annotations

import random
import resource
import statistics
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from itertools import islice
from typing import TypeVar

from bench.estate import EstateSpec, ServicePlan, edges, nodes, plan, service_id
from graph.schema import CHANGE_LABELS, NodeLabel
from graph.store import GraphStore

T = TypeVar("T")
EVENT_KINDS = sorted({*CHANGE_LABELS, NodeLabel.ALERT})
#: CPU seconds used so far by a server process, or None when it is not ours to watch
ServerCpu = Callable[[], float | None]


def no_server() -> float | None:
    return None


@dataclass
class LoadResult:
    """Counts, wall time and CPU time (client plus server when known) per phase."""

    nodes: int = 0
    relationships: int = 0
    node_seconds: float = 0.0
    edge_seconds: float = 0.0
    node_cpu: float = 0.0
    edge_cpu: float = 0.0
    created: int = 0

    @property
    def nodes_per_s(self) -> float:
        return self.nodes / self.node_seconds if self.node_seconds else 0.0

    @property
    def rels_per_s(self) -> float:
        return self.relationships / self.edge_seconds if self.edge_seconds else 0.0

    @property
    def rels_per_cpu_s(self) -> float:
        return self.relationships / self.edge_cpu if self.edge_cpu else 0.0


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else 0.0


@dataclass
class QueryResult:
    name: str
    samples: list[float] = field(default_factory=list)  # wall seconds
    cpu: list[float] = field(default_factory=list)  # CPU seconds of this process
    sizes: list[int] = field(default_factory=list)  # rows returned
    server_cpu: float | None = None  # CPU seconds of the server over all timed samples

    @property
    def p50_ms(self) -> float:
        return _quantile(self.samples, 0.5) * 1000

    @property
    def p99_ms(self) -> float:
        return _quantile(self.samples, 0.99) * 1000

    @property
    def cpu_p50_ms(self) -> float:
        """Median client CPU per query, plus the server's mean CPU per query when known."""
        server = (self.server_cpu or 0.0) / len(self.samples) if self.samples else 0.0
        return (_quantile(self.cpu, 0.5) + server) * 1000

    @property
    def mean_rows(self) -> float:
        return statistics.fmean(self.sizes) if self.sizes else 0.0

    def summary(self) -> QuerySummary:
        return QuerySummary(
            self.name, self.p50_ms, self.p99_ms, self.cpu_p50_ms, self.mean_rows, len(self.samples), self.server_cpu
        )


@dataclass(frozen=True)
class QuerySummary:
    """What the report shows of one query's timings (also read back from a JSON file)."""

    name: str
    p50_ms: float
    p99_ms: float
    cpu_p50_ms: float
    mean_rows: float
    count: int
    server_cpu_seconds: float | None = None


def peak_rss_mib() -> float:
    """Peak resident set size of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _batches(items: Iterable[T], size: int) -> Iterator[list[T]]:
    it = iter(items)
    while batch := list(islice(it, size)):
        yield batch


def _cpu(server_cpu: ServerCpu) -> float:
    return time.process_time() + (server_cpu() or 0.0)


def load(
    store: GraphStore,
    spec: EstateSpec,
    batch_size: int,
    progress: Callable[[str], None] = lambda _: None,
    server_cpu: ServerCpu = no_server,
) -> LoadResult:
    """Upsert every node, then every edge, ``batch_size`` records per transaction."""
    result = LoadResult()
    for kind, stream in (("nodes", nodes(spec)), ("relationships", edges(spec))):
        for batch in _batches(stream, batch_size):
            started, cpu = time.perf_counter(), _cpu(server_cpu)
            with store.batch() as b:
                if kind == "nodes":
                    b.upsert_nodes(batch)  # type: ignore[arg-type]
                else:
                    b.upsert_edges(batch)  # type: ignore[arg-type]
            elapsed, cpu = time.perf_counter() - started, _cpu(server_cpu) - cpu
            result.created += b.stats.created
            if kind == "nodes":
                result.nodes += len(batch)
                result.node_seconds += elapsed
                result.node_cpu += cpu
            else:
                result.relationships += len(batch)
                result.edge_seconds += elapsed
                result.edge_cpu += cpu
        total = result.nodes if kind == "nodes" else result.relationships
        progress(f"  {spec.name}: {total:,} {kind} loaded")
    return result


Query = Callable[[GraphStore], int]


def _two_hop(p: ServicePlan, rng: random.Random) -> Query:
    return lambda store: len(store.neighbours(p.id, depth=2, direction="both"))


def _two_hop_cold(p: ServicePlan, rng: random.Random) -> Query:
    # the same read with the store's caches emptied first (a backend without caches reads as usual)
    def query(store: GraphStore) -> int:
        drop = getattr(store, "drop_caches", None)
        if drop is not None:
            drop()
        return len(store.neighbours(p.id, depth=2, direction="both"))

    return query


def _events(p: ServicePlan, rng: random.Random) -> Query:
    # the diagnosis question: what changed or fired on this service and its dependencies
    # in the half hour up to an alert
    at = rng.choice(p.alerts)[0]
    start, end = at - timedelta(minutes=25), at + timedelta(minutes=5)
    services = [p.id, *p.dep_ids]
    return lambda store: len(store.events(EVENT_KINDS, start, end, services))


def _deploy_to_commit(p: ServicePlan, rng: random.Random) -> Query:
    # deployment -DEPLOYS-> artifact -BUILT_FROM-> head -CHILD_OF-> commit -CHILD_OF-> parent
    deploy = rng.choice(p.deploys[1:])
    assert deploy.parent is not None
    src, dst = deploy.id, f"commit:{deploy.parent}"
    return lambda store: len(store.paths(src, dst, max_length=4, direction="out"))


def _service_to_service(p: ServicePlan, rng: random.Random) -> Query:
    # a dependency of a dependency when there is one, else a direct one (or none: no path)
    targets = [d for dep in p.deps for d in plan(p.spec, dep).deps if d != p.index] or p.deps or [0]
    src, dst = p.id, service_id(rng.choice(targets))
    return lambda store: len(store.paths(src, dst, max_length=3, direction="out"))


QUERIES: dict[str, Callable[[ServicePlan, random.Random], Query]] = {
    "2-hop neighbourhood": _two_hop,
    "2-hop, caches emptied first": _two_hop_cold,
    "events 30 min, service + deps": _events,
    "path deploy→commit (≤4)": _deploy_to_commit,
    "path service→service (≤3)": _service_to_service,
}


#: queries that sample the same services as another query
SAME_SAMPLES = {"2-hop, caches emptied first": "2-hop neighbourhood"}


def sample_queries(spec: EstateSpec, name: str, count: int, seed: int) -> list[Query]:
    """``count`` instances of a query on random services; the same for every backend."""
    # the cold 2-hop samples the same services as the warm one, so the two rows compare like for like
    rng = random.Random(f"{spec.seed}:{SAME_SAMPLES.get(name, name)}:{seed}")
    return [QUERIES[name](plan(spec, rng.randrange(spec.services)), rng) for _ in range(count)]


def time_queries(
    store: GraphStore, spec: EstateSpec, samples: int, warmup: int, server_cpu: ServerCpu = no_server
) -> list[QuerySummary]:
    """Run every query ``warmup`` times untimed, then ``samples`` times timed."""
    results = []
    for name in QUERIES:
        for query in sample_queries(spec, name, warmup, seed=1):
            query(store)
        result = QueryResult(name)
        server_before = server_cpu()
        for query in sample_queries(spec, name, samples, seed=2):
            started, cpu = time.perf_counter(), time.process_time()
            rows = query(store)
            result.cpu.append(time.process_time() - cpu)
            result.samples.append(time.perf_counter() - started)
            result.sizes.append(rows)
        server_after = server_cpu()
        if server_before is not None and server_after is not None:
            result.server_cpu = server_after - server_before
        results.append(result.summary())
    return results
