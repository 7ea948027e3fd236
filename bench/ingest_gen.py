"""A seeded synthetic estate for the ingestion benchmark, written in the formats the readers accept.

``write_estate(spec, root)`` writes, under ``root``:

* ``catalog/``: Backstage catalog files (teams, systems, one database Resource
  per few services, and Components with ``dependsOn`` towards other services
  and their database), 50 components a file;
* ``events/cdevents-NNN.jsonl``: CDEvents JSON Lines, each file one slice of
  the time window: ``service.deployed`` / ``upgraded`` / ``rolledback`` with
  purl artifacts, and custom ``dev.cdeventsx`` config, flag and migration
  events whose ``subject.content.target`` names the service or its database;
* ``alerts/alertmanager-NNN.jsonl``: Alertmanager webhook payloads (version 4),
  one per line; every alert fires, may repeat, and resolves within one file.

The same spec and seed always give the same bytes (ids come from the seeded
generator, not from ``uuid4``)::

    >>> spec = GenSpec(services=50, events=5_000, files=4)
    >>> counts = write_estate(spec, Path("/tmp/estate"))
    >>> counts.cdevents + counts.notifications
    5000
"""

from __future__ import annotations

import hashlib
import json
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from ingest.alertmanager import fingerprint

T0 = datetime(2026, 3, 1, tzinfo=UTC)
COMPONENTS_PER_FILE = 50
SERVICES_PER_DB = 5
_WORDS_A = (
    "payments", "orders", "cart", "search", "catalog", "pricing", "inventory", "shipping", "billing", "ledger",
    "identity", "session", "profile", "reviews", "media", "notify", "fraud", "tax", "loyalty", "quotes",
    "routing", "stock", "returns", "invoice", "metrics", "audit", "gateway", "checkout", "wallet", "promo",
)  # fmt: skip
_WORDS_B = (
    "api", "worker", "svc", "sync", "store", "index", "feed", "relay", "engine", "proxy",
    "scheduler", "router", "cache", "bridge", "exporter", "reader", "writer", "hub", "edge", "core",
)  # fmt: skip
_ALERTS = ("HighErrorRate", "HighLatency", "PodCrashLooping", "SaturationHigh", "ErrorBudgetBurn", "QueueBacklog")
_CONFIG_KEYS = ("timeout_ms", "retry.max_attempts", "pool.size", "cache.ttl_s", "rate_limit.rps", "log.level")
_AUTHORS = ("ana", "bo", "chen", "dara", "eli", "fatima", "goran", "hana", "ivan", "jun")
#: the share of CDEvents by kind (service events, then custom config, flag, migration)
CDEVENT_MIX = (("deployed", 35), ("upgraded", 15), ("rolledback", 5), ("config", 25), ("flag", 12), ("migration", 8))


@dataclass(frozen=True)
class GenSpec:
    """Sizes of one generated estate; ``events`` counts CDEvents plus alert notifications."""

    services: int = 500
    events: int = 100_000
    files: int = 20  # CDEvents files; alerts go into a quarter as many
    alert_share: float = 0.2
    days: int = 90
    seed: int = 20260301

    @property
    def notifications(self) -> int:
        return round(self.events * self.alert_share)

    @property
    def cdevents(self) -> int:
        return self.events - self.notifications

    @property
    def alert_files(self) -> int:
        return max(1, self.files // 4)


@dataclass
class Written:
    """What ``write_estate`` wrote."""

    cdevents: int = 0
    notifications: int = 0
    alerts: int = 0
    entities: int = 0
    files: dict[str, list[Path]] = field(default_factory=lambda: {"catalog": [], "cdevents": [], "alerts": []})
    bytes: int = 0
    largest_file: int = 0

    def measure(self) -> Written:
        sizes = [p.stat().st_size for paths in self.files.values() for p in paths]
        self.bytes, self.largest_file = sum(sizes), max(sizes)
        return self


@dataclass(frozen=True)
class Estate:
    """The catalog's shape: service names, their database (or none) and dependencies."""

    names: list[str]
    db_of: dict[int, str]
    depends: dict[int, list[int]]
    teams: int
    systems: int


def service_names(count: int, rng: random.Random) -> list[str]:
    pairs = [f"{a}-{b}" for a in _WORDS_A for b in _WORDS_B]
    rng.shuffle(pairs)
    return [pairs[i] if i < len(pairs) else f"{pairs[i % len(pairs)]}-{i // len(pairs)}" for i in range(count)]


def plan_estate(spec: GenSpec) -> Estate:
    """Names, databases and ``dependsOn`` (power-law: early services are depended on most)."""
    rng = random.Random(f"{spec.seed}:estate")
    names = service_names(spec.services, rng)
    db_of = {i: f"{names[i]}-db" for i in range(0, spec.services, SERVICES_PER_DB)}
    depends: dict[int, list[int]] = {}
    for i in range(spec.services):
        wanted = min(i, rng.choice((1, 1, 2, 2, 3, 4, 6)))
        depends[i] = sorted({int(i * rng.random() ** 2) for _ in range(wanted)})
    return Estate(names, db_of, depends, teams=max(2, spec.services // 25), systems=max(2, spec.services // 20))


# --- Backstage catalog ---------------------------------------------------------------


def _entity(kind: str, name: str, spec: dict[str, Any], **metadata: Any) -> dict[str, Any]:
    return {"apiVersion": "backstage.io/v1alpha1", "kind": kind, "metadata": {"name": name, **metadata}, "spec": spec}


def _component(estate: Estate, i: int) -> dict[str, Any]:
    name = estate.names[i]
    depends = [f"component:default/{estate.names[d]}" for d in estate.depends[i]]
    db = estate.db_of.get(i - i % SERVICES_PER_DB)
    if db:
        depends.append(f"resource:default/{db}")
    spec = {
        "type": "service", "lifecycle": "production", "owner": f"group:default/team-{i % estate.teams:02d}",
        "system": f"system:default/system-{i % estate.systems:02d}", "dependsOn": depends,
    }  # fmt: skip
    annotations = {"backstage.io/kubernetes-id": name, "github.com/project-slug": f"acme/{name}"}
    return _entity("Component", name, spec, description=f"The {name} service.", annotations=annotations)


def catalog_documents(estate: Estate) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """(file name, documents) for every catalog file."""
    yield "org.yaml", [_entity("Group", f"team-{t:02d}", {"type": "team", "children": []}) for t in range(estate.teams)]
    yield (
        "systems.yaml",
        [
            _entity("System", f"system-{s:02d}", {"owner": f"group:default/team-{s % estate.teams:02d}"})
            for s in range(estate.systems)
        ],
    )
    yield (
        "resources.yaml",
        [
            _entity("Resource", db, {"type": "database", "owner": f"group:default/team-{i % estate.teams:02d}"})
            for i, db in sorted(estate.db_of.items())
        ],
    )
    for start in range(0, len(estate.names), COMPONENTS_PER_FILE):
        stop = min(start + COMPONENTS_PER_FILE, len(estate.names))
        yield f"components-{start // COMPONENTS_PER_FILE:03d}.yaml", [_component(estate, i) for i in range(start, stop)]


def _yaml(documents: list[dict[str, Any]]) -> str:
    return "".join("---\n" + yaml.safe_dump(doc, sort_keys=False) for doc in documents)


# --- CDEvents ------------------------------------------------------------------------


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _stamp(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


def _artifact(service: str, version: str) -> str:
    digest = hashlib.sha256(f"{service}@{version}".encode()).hexdigest()
    return f"pkg:oci/{service}@sha256%3A{digest}?repository_url=ghcr.io/acme/{service}&tag={version}"


def _envelope(rng: random.Random, type_: str, source: str, at: datetime, subject: dict[str, Any]) -> dict[str, Any]:
    context = {"version": "0.4.1", "id": _uuid(rng), "source": source, "type": type_, "timestamp": _stamp(at)}
    return {"context": context, "subject": subject}


class CDEventWriter:
    """Makes one CDEvent at a time; keeps each service's version so rollbacks return to a real artifact."""

    def __init__(self, estate: Estate, rng: random.Random) -> None:
        self.estate, self.rng = estate, rng
        self.versions = [[f"1.{rng.randrange(40)}.0"] for _ in estate.names]
        self.schema = dict.fromkeys(estate.db_of.values(), 1)

    def event(self, kind: str, at: datetime) -> dict[str, Any]:
        rng = self.rng
        i = min(int(len(self.estate.names) * rng.random() ** 1.5), len(self.estate.names) - 1)
        env = {"id": "production" if rng.random() < 0.7 else "staging"}
        if kind in ("deployed", "upgraded", "rolledback"):
            return self._service(kind, i, env, at)
        if kind == "migration":
            return self._migration(i, env, at)
        return self._custom(kind, i, env, at)

    def _service(self, kind: str, i: int, env: dict[str, str], at: datetime) -> dict[str, Any]:
        name, history = self.estate.names[i], self.versions[i]
        if kind == "rolledback" and len(history) > 1:
            version = history[-2]
            history.append(version)
        else:
            kind = "deployed" if kind == "rolledback" else kind
            major, minor, _ = history[-1].split(".")
            version = f"{major}.{int(minor) + 1}.0"
            history.append(version)
        del history[:-3]
        source = f"https://argocd.acme.internal/applications/{name}-{env['id']}"
        content = {"environment": env, "artifactId": _artifact(name, version)}
        subject = {"id": name, "source": source, "type": "service", "content": content}
        return _envelope(self.rng, f"dev.cdevents.service.{kind}.0.2.0", source, at, subject)

    def _custom(self, kind: str, i: int, env: dict[str, str], at: datetime) -> dict[str, Any]:
        rng, name = self.rng, self.estate.names[i]
        if kind == "flag":
            key, old, new = f"{name}.feature-{rng.randrange(20)}", rng.choice((0, 25, 50)), rng.choice((50, 75, 100))
            type_, source = "dev.cdeventsx.flagd-flag.changed.0.1.0", "https://flags.acme.internal"
        else:
            key, old, new = rng.choice(_CONFIG_KEYS), rng.randrange(1, 500), rng.randrange(1, 500)
            type_, source = "dev.cdeventsx.consul-config.changed.0.1.0", "https://consul.acme.internal/ui/prod/kv"
        content = {
            "target": {"kind": "component", "name": name, "namespace": "default"},
            "changes": [{"key": key, "old": old, "new": new}],
            "environment": env,
            "author": f"{rng.choice(_AUTHORS)}@acme.example",
        }
        subject = {"id": f"{name}/{key}", "source": source, "type": type_.split(".")[2], "content": content}
        return _envelope(rng, type_, source, at, subject)

    def _migration(self, i: int, env: dict[str, str], at: datetime) -> dict[str, Any]:
        db = self.estate.db_of[i - i % SERVICES_PER_DB]
        self.schema[db] += 1
        version = self.schema[db]
        content = {
            "target": {"kind": "resource", "name": db, "namespace": "default"},
            "changes": [{"key": "schema_version", "old": str(version - 1), "new": str(version)}],
            "script": f"V{version}__change_{version}.sql",
            "description": f"Migration {version} of {db}",
            "environment": env,
            "author": f"{self.rng.choice(_AUTHORS)}@acme.example",
        }
        subject = {"id": f"{db}/V{version}", "source": "/flyway/prod", "type": "flyway-migration", "content": content}
        return _envelope(self.rng, "dev.cdeventsx.flyway-migration.applied.0.1.0", "/flyway/prod", at, subject)


def _times(rng: random.Random, count: int, start: datetime, span: timedelta) -> list[datetime]:
    seconds = span.total_seconds()
    return sorted(start + timedelta(seconds=rng.random() * seconds) for _ in range(count))


def _split(total: int, parts: int) -> list[int]:
    return [total // parts + (1 if p < total % parts else 0) for p in range(parts)]


def cdevents_lines(spec: GenSpec, estate: Estate) -> Iterator[tuple[int, str]]:
    """(file index, JSON line) for every CDEvent; file ``f`` covers the ``f``-th slice of the window."""
    rng = random.Random(f"{spec.seed}:cdevents")
    writer = CDEventWriter(estate, rng)
    kinds, weights = zip(*CDEVENT_MIX, strict=True)
    span = timedelta(days=spec.days) / spec.files
    for f, count in enumerate(_split(spec.cdevents, spec.files)):
        for at in _times(rng, count, T0 + f * span, span):
            yield f, json.dumps(writer.event(rng.choices(kinds, weights)[0], at), separators=(",", ":"))


# --- Alertmanager --------------------------------------------------------------------


def _alert(estate: Estate, rng: random.Random, i: int) -> dict[str, Any]:
    name, alertname = estate.names[i], rng.choice(_ALERTS)
    pod = f"{name}-{rng.getrandbits(36):09x}-{rng.getrandbits(20):05x}"
    labels = {
        "alertname": alertname, "severity": rng.choice(("warning", "critical")), "env": "production",
        "service": name, "namespace": f"ns-{i % estate.systems:02d}", "job": name, "pod": pod,
    }  # fmt: skip
    annotations = {
        "summary": f"{alertname} on {name}",
        "description": f"{alertname} fired for pod {pod}.",
        "runbook_url": f"https://runbooks.acme.example/{alertname.lower()}.md",
    }
    return {"labels": labels, "annotations": annotations, "fingerprint": fingerprint(labels)}


def _payload(alert: dict[str, Any], status: str, starts: datetime, ends: datetime | None) -> str:
    labels = alert["labels"]
    body = {
        "status": status, "labels": labels, "annotations": alert["annotations"], "startsAt": _stamp(starts),
        "endsAt": _stamp(ends) if ends else "0001-01-01T00:00:00Z",
        "generatorURL": f"https://prometheus.acme.internal/graph?g0.expr={labels['alertname']}",
        "fingerprint": alert["fingerprint"],
    }  # fmt: skip
    group = {"alertname": labels["alertname"], "service": labels["service"]}
    payload = {
        "receiver": f"team-{labels['namespace']}", "status": status, "alerts": [body], "groupLabels": group,
        "commonLabels": labels, "commonAnnotations": alert["annotations"],
        "externalURL": "https://alertmanager.acme.internal", "version": "4",
        "groupKey": "{}:{" + ", ".join(f'{k}="{v}"' for k, v in group.items()) + "}", "truncatedAlerts": 0,
    }  # fmt: skip
    return json.dumps(payload, separators=(",", ":"))


def _alert_notifications(estate: Estate, rng: random.Random, count: int, start: datetime, span: timedelta) -> list[str]:
    """``count`` notifications: each alert fires, repeats 0-2 times every 4 h, then resolves."""
    out: list[tuple[datetime, int, str]] = []
    while len(out) < count:
        i = min(int(len(estate.names) * rng.random() ** 1.5), len(estate.names) - 1)
        alert, starts = _alert(estate, rng, i), start + rng.random() * span
        ends = starts + timedelta(minutes=rng.randrange(5, 600))
        repeats = [starts + timedelta(hours=4 * (r + 1)) for r in range(rng.choice((0, 0, 1, 2)))]
        for at in [starts, *(r for r in repeats if r < ends)]:
            out.append((at, len(out), _payload(alert, "firing", starts, None)))
        out.append((ends, len(out), _payload(alert, "resolved", starts, ends)))
    # a cut-off alert keeps its earliest notifications, as a log that ends mid-incident would
    return [line for _, _, line in sorted(sorted(out, key=lambda t: t[1])[:count])]


# --- writing ---------------------------------------------------------------------------


def write_estate(spec: GenSpec, root: Path) -> Written:
    """Write the catalog, CDEvents and alert files under ``root`` (created); return what was written."""
    estate, written = plan_estate(spec), Written()
    for sub in ("catalog", "events", "alerts"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    for name, documents in catalog_documents(estate):
        path = root / "catalog" / name
        path.write_text(_yaml(documents), encoding="utf-8")
        written.files["catalog"].append(path)
        written.entities += len(documents)
    handles = [(root / "events" / f"cdevents-{f:03d}.jsonl").open("w", encoding="utf-8") for f in range(spec.files)]
    try:
        for f, line in cdevents_lines(spec, estate):
            handles[f].write(line + "\n")
            written.cdevents += 1
    finally:
        for handle in handles:
            handle.close()
    written.files["cdevents"] = [Path(h.name) for h in handles]
    rng = random.Random(f"{spec.seed}:alerts")
    span = timedelta(days=spec.days) / spec.alert_files
    for f, count in enumerate(_split(spec.notifications, spec.alert_files)):
        lines = _alert_notifications(estate, rng, count, T0 + f * span, span)
        path = root / "alerts" / f"alertmanager-{f:03d}.jsonl"
        path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
        written.files["alerts"].append(path)
        written.notifications += len(lines)
        written.alerts += len({json.loads(line)["alerts"][0]["fingerprint"] for line in lines})
    return written.measure()


def change_file(path: Path, every: int = 100, seed: int = 1) -> int:
    """Move every ``every``-th CDEvent of a JSON Lines file to the other environment and append a copy of it
    under a new id; returns how many were edited (as many were added)."""
    rng = random.Random(f"{seed}:{path.name}")
    lines = path.read_text(encoding="utf-8").splitlines()
    added: list[str] = []
    for n in range(0, len(lines), every):
        event = json.loads(lines[n])
        content = event["subject"]["content"]
        content["environment"] = {"id": "staging" if content["environment"]["id"] == "production" else "production"}
        lines[n] = json.dumps(event, separators=(",", ":"))
        event["context"]["id"] = _uuid(rng)
        added.append(json.dumps(event, separators=(",", ":")))
    path.write_text("".join(line + "\n" for line in [*lines, *added]), encoding="utf-8")
    return len(added)
