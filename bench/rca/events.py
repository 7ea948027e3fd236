"""Changes and alerts as plain specs, rendered to CDEvents and Alertmanager payloads in time order.

Background activity and scenarios both make :class:`ChangeSpec` and
:class:`AlertSpec` values (ids and fingerprints are fixed when a spec is made,
so labels can name them); :func:`render_changes` then writes every change in
time order, so a service's versions rise through the whole history whoever
made the deploy::

    >>> change = ChangeSpec(at, "service:default/cart-api", "deploy", new_id(rng), step="minor")
    >>> lines = render_changes([change], estate_versions)
"""

from __future__ import annotations

import hashlib
import json
import random
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from ingest.alertmanager import fingerprint

_AUTHORS = ("ana", "bo", "chen", "dara", "eli", "fatima", "goran", "hana", "ivan", "jun")
_CONFIG_KEYS = ("timeout_ms", "retry.max_attempts", "pool.size", "cache.ttl_s", "rate_limit.rps", "batch.size")
ZERO_TIME = "0001-01-01T00:00:00Z"


def new_id(rng: random.Random) -> str:
    """A seeded UUID (a CDEvents ``context.id``)."""
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def stamp(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


def name_of(entity: str) -> str:
    return entity.rsplit("/", 1)[-1]


@dataclass
class ChangeSpec:
    """One change: ``kind`` deploy, config, flag or migration on ``entity`` (a migration's entity is a database).

    ``step`` (deploys): patch, minor, major or rollback; ``factor`` (config): how many times the value moves;
    ``flag`` (flags): the rollout before and after, in percent.
    """

    at: datetime
    entity: str
    kind: str
    id: str
    environment: str = "production"
    step: str = "minor"
    factor: float = 2.0
    flag: tuple[int, int] = (0, 100)
    key: str = ""
    author: str = ""

    @property
    def node_id(self) -> str:
        return f"{self.kind}:{self.id}"


@dataclass
class AlertSpec:
    """One alert firing on ``entity`` from ``at`` for ``minutes``; its labels (and fingerprint) are fixed at creation."""

    at: datetime
    entity: str
    alertname: str
    severity: str
    minutes: float
    labels: dict[str, str] = field(default_factory=dict)
    #: annotations beyond the summary (not part of the fingerprint): what the alert names (:mod:`bench.rca.clues`)
    annotations: dict[str, str] = field(default_factory=dict)

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.labels)

    @property
    def node_id(self) -> str:
        return f"alert:{self.fingerprint}"


def make_alert(rng: random.Random, at: datetime, entity: str, alertname: str, severity: str, minutes: float) -> AlertSpec:
    """An alert whose ``instance`` label is new (so each firing is its own alert node, as pods churn)."""
    name = name_of(entity)
    labels = {
        "alertname": alertname, "severity": severity, "env": "production", "service": name,
        "instance": f"{name}-{rng.getrandbits(32):08x}-{rng.getrandbits(20):05x}",
    }  # fmt: skip
    return AlertSpec(at, entity, alertname, severity, minutes, labels)


class Versions:
    """Each service's current version per environment; deploys step it, rollbacks return to the previous one."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.current: dict[tuple[str, str], list[tuple[int, int, int]]] = {}
        self.schema: dict[str, int] = {}
        #: per change id, what an alert would name it by: a deploy's version, a flag or config key, a schema version
        self.named: dict[str, str] = {}

    def step(self, entity: str, env: str, step: str) -> tuple[str, str]:
        """(action, version) of the deploy."""
        history = self.current.setdefault((entity, env), [(1, self.rng.randrange(5, 40), 0)])
        if step == "rollback" and len(history) > 1:
            history.append(history[-2])
            return "rolledback", "{}.{}.{}".format(*history[-1])
        major, minor, patch = history[-1]
        new = {"major": (major + 1, 0, 0), "patch": (major, minor, patch + 1)}.get(step, (major, minor + 1, 0))
        history.append(new)
        del history[:-4]
        return ("upgraded" if step == "major" else "deployed"), "{}.{}.{}".format(*new)

    def migrate(self, db: str) -> int:
        self.schema[db] = self.schema.get(db, 100) + 1
        return self.schema[db]


def _artifact(service: str, version: str) -> str:
    digest = hashlib.sha256(f"{service}@{version}".encode()).hexdigest()
    return f"pkg:oci/{service}@sha256%3A{digest}?repository_url=registry.acme.example/{service}&tag={version}"


def _envelope(change: ChangeSpec, type_: str, source: str, subject: dict[str, Any]) -> dict[str, Any]:
    context = {"version": "0.4.1", "id": change.id, "source": source, "type": type_, "timestamp": stamp(change.at)}
    return {"context": context, "subject": subject}


def _deploy(change: ChangeSpec, versions: Versions) -> dict[str, Any]:
    name = name_of(change.entity)
    action, version = versions.step(change.entity, change.environment, change.step)
    versions.named[change.id] = version
    source = f"https://argocd.acme.example/applications/{name}-{change.environment}"
    content = {"environment": {"id": change.environment}, "artifactId": _artifact(name, version)}
    subject = {"id": name, "source": source, "type": "service", "content": content}
    return _envelope(change, f"dev.cdevents.service.{action}.0.2.0", source, subject)


def _custom(change: ChangeSpec, versions: Versions) -> dict[str, Any]:
    name, rng = name_of(change.entity), versions.rng
    target_kind = "resource" if change.entity.startswith("resource:") else "component"
    content: dict[str, Any] = {
        "target": {"kind": target_kind, "name": name, "namespace": "default"},
        "environment": {"id": change.environment}, "author": f"{change.author or rng.choice(_AUTHORS)}@acme.example",
    }  # fmt: skip
    if change.kind == "flag":
        key = change.key or f"{name}.feature-{rng.randrange(12)}"
        versions.named[change.id] = key
        content["flag"], content["changes"] = key, [{"key": "rollout_percent", "old": change.flag[0], "new": change.flag[1]}]
        type_, source, subject_id = "dev.cdeventsx.flagd-flag.changed.0.1.0", "https://flags.acme.example", f"{name}/{key}"
    elif change.kind == "migration":
        version = versions.migrate(change.entity)
        versions.named[change.id] = str(version)
        content["changes"] = [{"key": "schema_version", "old": str(version - 1), "new": str(version)}]
        content["script"], content["direction"] = f"V{version}__change_{version}.sql", "up"
        type_, source, subject_id = "dev.cdeventsx.flyway-migration.applied.0.1.0", "/flyway/prod", f"{name}/V{version}"
    else:
        key = change.key or rng.choice(_CONFIG_KEYS)
        versions.named[change.id] = key
        old = rng.randrange(20, 400)
        new = max(1, round(old / change.factor)) if rng.random() < 0.5 else round(old * change.factor)
        content["changes"] = [{"key": key, "old": old, "new": new}]
        type_, source, subject_id = "dev.cdeventsx.consul-config.changed.0.1.0", "https://consul.acme.example", f"{name}/{key}"
    subject = {"id": subject_id, "source": source, "type": type_.split(".")[2], "content": content}
    return _envelope(change, type_, source, subject)


def render_changes(changes: list[ChangeSpec], versions: Versions) -> list[tuple[datetime, str]]:
    """(time, CDEvents JSON line) for every change, in time order."""
    out = []
    for change in sorted(changes, key=lambda c: (c.at, c.id)):
        event = _deploy(change, versions) if change.kind == "deploy" else _custom(change, versions)
        out.append((change.at, json.dumps(event, separators=(",", ":"))))
    return out


def _payload(alert: AlertSpec, status: str, ends: datetime | None) -> str:
    body = {
        "status": status, "labels": alert.labels,
        "annotations": {"summary": f"{alert.alertname} on {name_of(alert.entity)}", **alert.annotations},
        "startsAt": stamp(alert.at), "endsAt": stamp(ends) if ends else ZERO_TIME, "fingerprint": alert.fingerprint,
        "generatorURL": f"https://prometheus.acme.example/graph?g0.expr={alert.alertname}",
    }  # fmt: skip
    payload = {"version": "4", "status": status, "receiver": "oncall", "groupKey": f"{{}}:{{alertname=\"{alert.alertname}\"}}",
               "truncatedAlerts": 0, "alerts": [body]}
    return json.dumps(payload, separators=(",", ":"))


def render_alerts(alerts: list[AlertSpec]) -> list[tuple[datetime, str]]:
    """(time, Alertmanager payload line): a firing and a resolved notification per alert, in time order."""
    out: list[tuple[datetime, str]] = []
    for alert in alerts:
        ends = alert.at + timedelta(minutes=alert.minutes)
        out.append((alert.at, _payload(alert, "firing", None)))
        out.append((ends, _payload(alert, "resolved", ends)))
    out.sort(key=lambda item: item[0])
    return out
