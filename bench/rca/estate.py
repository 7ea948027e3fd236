"""The estate of an RCA scenario set: services in tiers, shared data stores and queues, and its Backstage catalog.

Tiers: ``edge`` services (web front ends and BFFs, callers only, about one in
twelve), ``api`` services (the most depended-on, each provides an API entity)
and ``domain`` services. Dependencies are power-law: service ``i`` calls up to
three services of lower index, lower indices far more often, so a few
services are called by many. Data: a service has its own database (60%) or
uses a shared one (``shared-pg-NN``); about one in six also uses a shared
queue (``events-mq-NN``) or cache (``session-redis-NN``)::

    >>> estate = plan_estate(50, random.Random(1))
    >>> estate.tier["service:default/" + estate.names[0]]
    'api'
    >>> write_catalog(estate, Path("/tmp/rca/catalog"))
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bench.ingest_gen import service_names

COMPONENTS_PER_FILE = 50
_EDGE_NAMES = ("web", "mobile-bff", "partner-gateway", "admin-ui", "public-api", "kiosk-bff", "widget-edge", "b2b-portal")
_DOMAINS = ("commerce", "discovery", "fulfilment", "platform", "identity", "finance")


def svc(name: str) -> str:
    return f"service:default/{name}"


def res(name: str) -> str:
    return f"resource:default/{name}"


@dataclass
class Estate:
    """Entities by id with their tier, and ``DEPENDS_ON`` as caller id -> callee ids."""

    names: list[str]
    tier: dict[str, str] = field(default_factory=dict)
    depends: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    teams: int = 2
    systems: int = 2

    @property
    def services(self) -> list[str]:
        return [e for e, t in self.tier.items() if t in ("edge", "api", "domain")]

    @property
    def resources(self) -> list[str]:
        return [e for e, t in self.tier.items() if t in ("database", "queue", "cache")]

    def callers(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = defaultdict(list)
        for caller, callees in self.depends.items():
            for callee in callees:
                out[callee].append(caller)
        return out

    def users(self, resource: str) -> list[str]:
        return self.callers().get(resource, [])

    def name(self, entity: str) -> str:
        return entity.rsplit("/", 1)[-1]


def plan_estate(services: int, rng: random.Random) -> Estate:
    """``services`` services (10-500) with their tiers, data stores and power-law dependencies."""
    edges = max(1, services // 12)
    inner = services - edges
    names = service_names(inner, rng)
    edge_names = [_EDGE_NAMES[i % len(_EDGE_NAMES)] + (f"-{i // len(_EDGE_NAMES)}" if i >= len(_EDGE_NAMES) else "")
                  for i in range(edges)]
    estate = Estate(names=names + edge_names, teams=max(2, services // 12), systems=max(2, services // 10))
    api_count = max(2, inner // 5)
    for i, name in enumerate(names):
        entity = svc(name)
        estate.tier[entity] = "api" if i < api_count else "domain"
        wanted = min(i, rng.choice((0, 1, 1, 2, 2, 3)))
        estate.depends[entity] = sorted({svc(names[int(i * rng.random() ** 2)]) for _ in range(wanted)})
    for name in edge_names:
        estate.tier[svc(name)] = "edge"
        picks = {svc(names[int(min(inner, 3 * api_count) * rng.random() ** 1.5)]) for _ in range(rng.randint(2, 4))}
        estate.depends[svc(name)] = sorted(picks)
    _add_stores(estate, names, rng)
    return estate


def _add_stores(estate: Estate, names: list[str], rng: random.Random) -> None:
    shared_pg = [res(f"shared-pg-{k:02d}") for k in range(max(1, len(names) // 12))]
    queues = [res(f"events-mq-{k:02d}") for k in range(max(1, len(names) // 20))]
    caches = [res(f"session-redis-{k:02d}") for k in range(max(1, len(names) // 25))]
    for entity, tier in zip(shared_pg + queues + caches, ["database"] * len(shared_pg) + ["queue"] * len(queues)
                            + ["cache"] * len(caches), strict=True):
        estate.tier[entity] = tier
    for name in names:
        entity = svc(name)
        if rng.random() < 0.6:
            db = res(f"{name}-db")
            estate.tier[db] = "database"
        else:
            db = rng.choice(shared_pg)
        extra = [rng.choice(queues)] if rng.random() < 0.17 else []
        extra += [rng.choice(caches)] if rng.random() < 0.17 else []
        estate.depends[entity] = sorted({*estate.depends[entity], db, *extra})
    used = set(estate.callers())
    for entity in [e for e in estate.resources if e not in used]:
        estate.depends[svc(rng.choice(names))].append(entity)  # every store has a user


# --- Backstage catalog ------------------------------------------------------------------


def _entity(kind: str, name: str, spec: dict[str, Any], **metadata: Any) -> dict[str, Any]:
    return {"apiVersion": "backstage.io/v1alpha1", "kind": kind, "metadata": {"name": name, **metadata}, "spec": spec}


def _ref(entity: str) -> str:
    kind, _, rest = entity.partition(":")
    return ("component:" if kind == "service" else "resource:") + rest


def _component(estate: Estate, index: int, entity: str) -> dict[str, Any]:
    name, tier = estate.name(entity), estate.tier[entity]
    spec: dict[str, Any] = {
        "type": "website" if tier == "edge" else "service", "lifecycle": "production",
        "owner": f"group:default/team-{index % estate.teams:02d}", "system": f"system-{index % estate.systems:02d}",
        "dependsOn": [_ref(d) for d in estate.depends.get(entity, [])],
    }  # fmt: skip
    if tier == "api":
        spec["providesApis"] = [f"{name}-api"]
    annotations = {"backstage.io/kubernetes-id": name, "vidya.dev/tier": tier}
    return _entity("Component", name, spec, description=f"The {name} {tier} service.", annotations=annotations)


def catalog_documents(estate: Estate) -> list[tuple[str, list[dict[str, Any]]]]:
    """(file name, documents) for every catalog file."""
    teams = [_entity("Group", f"team-{t:02d}", {"type": "team", "children": []}) for t in range(estate.teams)]
    domains = [_entity("Domain", d, {"owner": "group:default/team-00"}) for d in _DOMAINS]
    systems = [
        _entity("System", f"system-{s:02d}", {"owner": f"group:default/team-{s % estate.teams:02d}",
                                              "domain": _DOMAINS[s % len(_DOMAINS)]})
        for s in range(estate.systems)
    ]
    resources = [
        _entity("Resource", estate.name(r), {"type": estate.tier[r], "owner": f"group:default/team-{i % estate.teams:02d}"})
        for i, r in enumerate(sorted(estate.resources))
    ]
    apis = [
        _entity("API", f"{estate.name(e)}-api", {"type": "openapi", "lifecycle": "production",
                                                 "owner": "group:default/team-00", "definition": "openapi: 3.0.0"})
        for e in estate.services if estate.tier[e] == "api"
    ]
    files = [("org.yaml", teams + domains + systems), ("resources.yaml", resources), ("apis.yaml", apis)]
    services = estate.services
    for start in range(0, len(services), COMPONENTS_PER_FILE):
        chunk = services[start:start + COMPONENTS_PER_FILE]
        docs = [_component(estate, start + k, e) for k, e in enumerate(chunk)]
        files.append((f"components-{start // COMPONENTS_PER_FILE:03d}.yaml", docs))
    return files


def write_catalog(estate: Estate, folder: Path) -> list[Path]:
    """Write the catalog files into ``folder`` (created)."""
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for name, documents in catalog_documents(estate):
        path = folder / name
        path.write_text("".join("---\n" + yaml.safe_dump(d, sort_keys=False) for d in documents), encoding="utf-8")
        out.append(path)
    return out
