"""Turn what a user or a webhook gives into an :class:`agents.records.Anomaly`: an alert payload or a name and a time.

The alert's labels are matched against the catalogue the way ingestion does
(:class:`api.ingestion.resolver.Resolver`), so ``service="checkout"``,
``instance="orders-db-1.prod:5432"`` or a pod name all find their entity::

    anomaly = anomaly_from_alert_file(store, Path("alert.json"))
    anomaly = anomaly_for_entity(store, "checkout", parse_at("2026-10-13T10:23:00Z"))
"""

from __future__ import annotations

import difflib
from datetime import datetime
from pathlib import Path

from agents.records import Anomaly
from api.ingestion.resolver import TOPOLOGY, Resolver
from graph.errors import FormatError, NotFound, SchemaError
from graph.model import Node, now_utc
from graph.schema import NodeLabel, label_of
from graph.store import GraphStore
from ingest.alertmanager import ENVIRONMENT_LABELS, READER
from ingest.common import parse_time
from ingest.ids import entity_id
from ingest.records import EntityHint, ReadContext, SourceFile

_SERVICES = frozenset({NodeLabel.SERVICE})
_RESOURCES = frozenset({NodeLabel.RESOURCE})
_SEVERITY_ORDER = {"critical": 0, "page": 0, "error": 1, "warning": 2, "info": 3}


def parse_at(text: str) -> datetime:
    """``now`` or an RFC 3339 time with a zone, e.g. ``2026-10-13T10:23:00Z``."""
    if text.strip().lower() == "now":
        return now_utc()
    try:
        return parse_time(text, "--at")
    except FormatError:
        raise FormatError(f"--at {text!r}: expected an RFC 3339 time with a zone, such as 2026-10-13T10:23:00Z, "
                          "or 'now'") from None


def _known_names(store: GraphStore) -> list[str]:
    return sorted({n.name or n.id for label in TOPOLOGY for n in store.find_nodes(label, limit=100_000)})


def _by_name(store: GraphStore, name: str) -> str | None:
    """A node id, a Backstage reference (``component:payments``), or a name known to the catalogue."""
    if ":" in name:
        try:
            label_of(name)
        except SchemaError:  # not a node id: maybe a Backstage reference
            pass
        else:
            return name if store.get_node(name) is not None else None
    for kind in ("component", "resource"):
        try:
            candidate = entity_id(name, default_kind=kind)
        except FormatError:
            return None
        if store.get_node(candidate) is not None:
            return candidate
    values = {"service": name, "name": name}
    for labels in (_SERVICES, _RESOURCES, None):
        hint = EntityHint.of(values) if labels is None else EntityHint(tuple(sorted(values.items())), labels)
        found = Resolver(store).lookup(hint)
        if found is not None:
            return found
    return None


def anomaly_for_entity(store: GraphStore, name: str, at: datetime, signal: str | None = None) -> Anomaly:
    """The anomaly on the entity ``name`` names: a node id (``service:default/checkout``) or a catalogue name."""
    found = _by_name(store, name.strip())
    if found is None or store.get_node(found) is None:
        close = difflib.get_close_matches(name, _known_names(store), n=3)
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise NotFound(f"--service {name!r}: no service or resource of that name in the graph{hint}")
    return Anomaly(found, at, signal=signal)


def _pick(alerts: list[Node]) -> Node:
    """The alert that is the anomaly: firing before resolved, then the most severe, then the earliest."""
    def key(node: Node) -> tuple[int, int, datetime, str]:
        firing = 0 if node.props.get("status") == "firing" else 1
        severity = _SEVERITY_ORDER.get(str(node.props.get("severity", "")).lower(), 2)
        assert node.at is not None
        return firing, severity, node.at, node.id

    return min(alerts, key=key)


def anomaly_from_alert_file(store: GraphStore, path: Path) -> Anomaly:
    """The anomaly an Alertmanager webhook payload (version 4) reports, on the catalogue entity its labels name."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise NotFound(f"--alert {path}: cannot read the file ({exc.strerror})") from None
    now = now_utc()
    result = READER.read(SourceFile(str(path), data, origin=path), ReadContext(run_id="diagnose", ingested_at=now))
    alerts = [n for n in result.nodes if n.label is NodeLabel.ALERT and n.at is not None]
    if not alerts:
        raise FormatError(f"--alert {path}: no alert in the payload")
    alert = _pick(alerts)
    hints = [h for h in result.hinted if h.src == alert.id]
    entity = Resolver(store).lookup(hints[0].hint) if hints else None
    labels = {k.removeprefix("label:"): str(v) for k, v in alert.props.items() if k.startswith("label:")}
    if entity is None or store.get_node(entity) is None:
        shown = ", ".join(f"{k}={v}" for k, v in sorted(labels.items()) if k != "alertname") or "none"
        raise NotFound(f"--alert {path}: alert {alert.name} names no entity in the graph (labels: {shown})")
    environment = next((labels[k] for k in ENVIRONMENT_LABELS if labels.get(k)), None)
    assert alert.at is not None
    return Anomaly(entity, alert.at, signal=alert.name, alert_id=alert.id, environment=environment)
