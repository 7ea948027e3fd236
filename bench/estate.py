"""A deterministic synthetic operations estate for the graph benchmark.

The estate is a catalog (domains, systems, teams, people, shared resources,
environments) plus, per service, its topology (owner, system, API, repository,
``DEPENDS_ON`` edges with a power-law fan-out towards popular services and
shared resources) and 60 days of history: deployments of artifacts built from
commits, configuration changes and alerts, many of them shortly after a deploy.

Everything about service ``i`` comes from a random generator seeded with
``(seed, i)``, so records stream lazily (memory stays bounded) and the query
samplers can rebuild any service's plan without keeping the estate around::

    >>> spec = SIZES["small"]
    >>> first = next(iter(nodes(spec)))
    >>> first.id
    'domain:domain-00'
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cached_property

from graph.model import Edge, Node, Provenance
from graph.schema import NodeLabel as L
from graph.schema import RelType as R
from graph.schema import node_id

#: the first instant of the 60-day event window
T0 = datetime(2026, 3, 1, tzinfo=UTC)
ENVIRONMENTS = ("production", "staging")


@dataclass(frozen=True)
class EstateSpec:
    """The shape of an estate; every count is derived from ``services``."""

    name: str
    services: int
    seed: int = 20260301
    days: int = 60
    deploys: int = 20  # per service over the window
    commits_per_deploy: int = 2
    config_changes: int = 10
    alerts: int = 30

    @property
    def teams(self) -> int:
        return max(2, self.services // 8)

    @property
    def systems(self) -> int:
        return max(2, self.services // 15)

    @property
    def domains(self) -> int:
        return max(1, self.services // 150)

    @property
    def resources(self) -> int:
        return max(2, self.services // 4)

    @property
    def people(self) -> int:
        return max(4, self.services // 2)

    @property
    def end(self) -> datetime:
        return T0 + timedelta(days=self.days)

    @property
    def ingested_at(self) -> datetime:
        return self.end + timedelta(hours=1)


#: about 10k, 100k and 1M relationships
SIZES: dict[str, EstateSpec] = {
    "small": EstateSpec("small", services=30),
    "medium": EstateSpec("medium", services=300),
    "large": EstateSpec("large", services=2920),
}


def _sha(*parts: object, n: int = 40) -> str:
    return hashlib.sha1("/".join(map(str, parts)).encode()).hexdigest()[:n]


def _skewed(rng: random.Random, n: int, power: float = 2.5) -> int:
    """An index in ``range(n)``, heavily biased towards 0 (popular things are few)."""
    return min(n - 1, int(n * rng.random() ** power))


def service_key(i: int) -> str:
    return f"default/svc-{i:05d}"


def service_id(i: int) -> str:
    return node_id(L.SERVICE, service_key(i))


def resource_id(r: int) -> str:
    return node_id(L.RESOURCE, f"default/db-{r:04d}")


@dataclass(frozen=True)
class Deploy:
    index: int
    at: datetime
    commits: list[str]  # oldest first; the build uses the last one
    parent: str | None  # the commit before this deploy's first one

    @property
    def id(self) -> str:
        return node_id(L.DEPLOYMENT, f"{self.commits[-1][:12]}-{self.index}")


@dataclass
class ServicePlan:
    """Everything generated for one service, rebuilt on demand from its seed."""

    spec: EstateSpec
    index: int
    team: int
    system: int
    deps: list[int]  # services this one DEPENDS_ON
    resources: list[int]  # shared resources it DEPENDS_ON
    consumes: list[int]  # services whose API it calls
    deploys: list[Deploy] = field(default_factory=list)
    changes: list[tuple[datetime, bool]] = field(default_factory=list)  # (at, targets a resource)
    alerts: list[tuple[datetime, int | None]] = field(default_factory=list)  # (at, dep also affected)

    @cached_property
    def id(self) -> str:
        return service_id(self.index)

    @property
    def key(self) -> str:
        return service_key(self.index)

    @property
    def dep_ids(self) -> list[str]:
        return [service_id(d) for d in self.deps] + [resource_id(r) for r in self.resources]


def plan(spec: EstateSpec, i: int) -> ServicePlan:
    """The deterministic plan of service ``i``."""
    rng = random.Random(f"{spec.seed}:{i}")
    n = spec.services
    fan_out = min(25, int(rng.paretovariate(1.5)))
    deps = sorted({d for d in (_skewed(rng, n) for _ in range(fan_out)) if d != i})
    resources = sorted({_skewed(rng, spec.resources) for _ in range(rng.choice((1, 1, 2, 2, 3)))})
    consumes = sorted({c for c in (_skewed(rng, n, 1.5) for _ in range(2)) if c != i})
    p = ServicePlan(spec, i, i % spec.teams, i % spec.systems, deps, resources, consumes)
    window = spec.days * 86400
    times = sorted(rng.uniform(0, window) for _ in range(spec.deploys))
    parent: str | None = None
    for k, t in enumerate(times):
        commits = [_sha(spec.seed, i, k, j) for j in range(spec.commits_per_deploy)]
        p.deploys.append(Deploy(k, T0 + timedelta(seconds=t), commits, parent))
        parent = commits[-1]
    p.changes = [(T0 + timedelta(seconds=rng.uniform(0, window)), rng.random() < 0.3) for _ in range(spec.config_changes)]
    for _ in range(spec.alerts):
        if rng.random() < 0.4:  # fires soon after a deploy
            at = rng.choice(p.deploys).at + timedelta(seconds=rng.uniform(60, 1800))
        else:
            at = T0 + timedelta(seconds=rng.uniform(0, window))
        dep = rng.choice(deps) if deps and rng.random() < 0.3 else None
        p.alerts.append((min(at, spec.end - timedelta(seconds=1)), dep))
    return p


class _Writer:
    """Builds records with one provenance per source file."""

    def __init__(self, spec: EstateSpec) -> None:
        self.spec = spec
        self._prov: dict[str, Provenance] = {}

    def prov(self, source: str) -> Provenance:
        if source not in self._prov:
            self._prov[source] = Provenance(source=source, run_id=f"bench-{self.spec.name}", ingested_at=self.spec.ingested_at)
        return self._prov[source]

    def node(self, label: L, key: str, source: str, **kw: object) -> Node:
        name = kw.pop("name", key.rsplit("/", 1)[-1])
        at = kw.pop("at", None)
        return Node(node_id(label, key), label, self.prov(source), name=name, at=at, props=kw)  # type: ignore[arg-type]

    def edge(self, type_: R, src: str, dst: str, source: str) -> Edge:
        return Edge(type_, src, dst, self.prov(source))


def _catalog(w: _Writer) -> Iterator[Node | Edge]:
    s, src = w.spec, "catalog/org.yaml"
    for d in range(s.domains):
        yield w.node(L.DOMAIN, f"domain-{d:02d}", src)
    for t in range(s.teams):
        team = w.node(L.TEAM, f"team-{t:03d}", src, slack=f"#team-{t:03d}")
        yield team
        if t >= 4:  # a shallow team tree
            yield w.edge(R.MEMBER_OF, team.id, node_id(L.TEAM, f"team-{t % 4:03d}"), src)
    for y in range(s.systems):
        system = w.node(L.SYSTEM, f"default/system-{y:03d}", src)
        yield system
        yield w.edge(R.PART_OF, system.id, node_id(L.DOMAIN, f"domain-{y % s.domains:02d}"), src)
        yield w.edge(R.OWNED_BY, system.id, node_id(L.TEAM, f"team-{y % s.teams:03d}"), src)
    for e in ENVIRONMENTS:
        yield w.node(L.ENVIRONMENT, e, src)
    for p in range(s.people):
        person = w.node(L.PERSON, f"person-{p:04d}", src, email=f"person-{p:04d}@example.com")
        yield person
        yield w.edge(R.MEMBER_OF, person.id, node_id(L.TEAM, f"team-{p % s.teams:03d}"), src)
    for r in range(s.resources):
        res = w.node(L.RESOURCE, f"default/db-{r:04d}", src, kind=("postgres", "kafka", "redis")[r % 3])
        yield res
        yield w.edge(R.OWNED_BY, res.id, node_id(L.TEAM, f"team-{r % s.teams:03d}"), src)
        yield w.edge(R.PART_OF, res.id, node_id(L.SYSTEM, f"default/system-{r % s.systems:03d}"), src)


def _topology(w: _Writer, p: ServicePlan) -> Iterator[Node | Edge]:
    src = f"catalog/{p.key}.yaml"
    team, system = node_id(L.TEAM, f"team-{p.team:03d}"), node_id(L.SYSTEM, f"default/system-{p.system:03d}")
    api, repo = node_id(L.API, f"{p.key}-api"), node_id(L.REPOSITORY, p.key)
    yield w.node(L.SERVICE, p.key, src, tier=1 + p.index % 3, language=("go", "python", "java")[p.index % 3])
    yield w.node(L.API, f"{p.key}-api", src, kind="openapi")
    yield w.node(L.REPOSITORY, p.key, src, url=f"https://git.example.com/{p.key}")
    for a, b, t in (
        (p.id, team, R.OWNED_BY),
        (p.id, system, R.PART_OF),
        (p.id, api, R.PROVIDES_API),
        (api, team, R.OWNED_BY),
        (api, system, R.PART_OF),
        (repo, team, R.OWNED_BY),
        (p.id, repo, R.IN_REPOSITORY),
    ):
        yield w.edge(t, a, b, src)
    for dep in p.dep_ids:
        yield w.edge(R.DEPENDS_ON, p.id, dep, src)
    for c in p.consumes:
        yield w.edge(R.CONSUMES_API, p.id, node_id(L.API, f"{service_key(c)}-api"), src)


def _deploys(w: _Writer, p: ServicePlan) -> Iterator[Node | Edge]:
    src, repo = f"events/deploys/{p.key}.jsonl", node_id(L.REPOSITORY, p.key)
    env_prod, env_stg = node_id(L.ENVIRONMENT, "production"), node_id(L.ENVIRONMENT, "staging")
    artifact = ""
    for d in p.deploys:
        parent = d.parent
        for j, sha in enumerate(d.commits):
            at = d.at - timedelta(minutes=30 * (len(d.commits) - j) + 10)
            commit = w.node(L.COMMIT, sha, src, name=sha[:12], at=at, message=f"change {d.index}.{j}")
            yield commit
            yield w.edge(R.IN_REPOSITORY, commit.id, repo, src)
            yield w.edge(R.AUTHORED_BY, commit.id, node_id(L.PERSON, f"person-{(p.index + j) % w.spec.people:04d}"), src)
            if parent is not None:
                yield w.edge(R.CHILD_OF, commit.id, node_id(L.COMMIT, parent), src)
            parent = sha
        head = node_id(L.COMMIT, d.commits[-1])
        build = w.node(L.BUILD, f"{p.key}/{d.index}", src, at=d.at - timedelta(minutes=8), status="success")
        art = w.node(L.ARTIFACT, f"sha256:{_sha(head, n=64)}", src, name=f"{p.key}:{d.commits[-1][:8]}")
        dep = w.node(L.DEPLOYMENT, d.id.partition(":")[2], src, name=f"{p.key} #{d.index}", at=d.at, action="upgrade")
        artifact = art.id
        yield from (build, art, dep)
        yield w.edge(R.BUILT_FROM, build.id, head, src)
        yield w.edge(R.PRODUCED, build.id, art.id, src)
        yield w.edge(R.BUILT_FROM, art.id, head, src)
        yield w.edge(R.TARGETS, dep.id, p.id, src)
        yield w.edge(R.DEPLOYS, dep.id, art.id, src)
        yield w.edge(R.IN_ENVIRONMENT, dep.id, env_stg if d.index % 5 == 4 else env_prod, src)
    if artifact:
        yield w.edge(R.RUNS, p.id, artifact, src)


def _signals(w: _Writer, p: ServicePlan) -> Iterator[Node | Edge]:
    src, env = f"events/signals/{p.key}.jsonl", node_id(L.ENVIRONMENT, "production")
    for k, (at, on_resource) in enumerate(p.changes):
        change = w.node(L.CONFIG_CHANGE, f"{p.key}/{k}", src, at=at, path="values.yaml")
        yield change
        target = resource_id(p.resources[0]) if on_resource and p.resources else p.id
        yield w.edge(R.TARGETS, change.id, target, src)
        yield w.edge(R.IN_ENVIRONMENT, change.id, env, src)
    for k, (at, dep) in enumerate(p.alerts):
        alert = w.node(L.ALERT, _sha(p.key, k, n=16), src, name=f"HighErrorRate {p.key}", at=at, severity="page")
        yield alert
        yield w.edge(R.AFFECTS, alert.id, p.id, src)
        if dep is not None:
            yield w.edge(R.AFFECTS, alert.id, service_id(dep), src)
        yield w.edge(R.IN_ENVIRONMENT, alert.id, env, src)


def records(spec: EstateSpec) -> Iterator[Node | Edge]:
    """Every record of the estate, catalog first, then service by service."""
    w = _Writer(spec)
    yield from _catalog(w)
    for i in range(spec.services):
        p = plan(spec, i)
        yield from _topology(w, p)
        yield from _deploys(w, p)
        yield from _signals(w, p)


def nodes(spec: EstateSpec) -> Iterator[Node]:
    return (r for r in records(spec) if isinstance(r, Node))


def edges(spec: EstateSpec) -> Iterator[Edge]:
    return (r for r in records(spec) if isinstance(r, Edge))
