"""PagerDuty incidents (REST API v2 JSON), with their notes.

Accepted shapes: ``{"incident": {...}}`` (optionally with the notes API's
``"notes": [...]`` beside it), ``{"incidents": [...]}``, or a bare incident
object; an incident may also embed its notes::

    {"incident": {"id": "Q2K7W1N0GZ3B4C", "incident_number": 4812, "title": "checkout 5xx",
                  "status": "resolved", "urgency": "high", "created_at": "2026-03-01T14:06:02Z",
                  "service": {"id": "PX1CHK9", "summary": "checkout", "type": "service_reference"}},
     "notes": [{"id": "PN0001", "content": "Rolled back checkout to 2.3.9, errors back to normal",
                "created_at": "2026-03-01T14:31:00Z", "user": {"summary": "Ana Ruiz"}}]}

Each incident becomes ``incident:<id>``; a note that describes an action
becomes a Remediation with its Outcome (:mod:`ingest.actions`); a cause named in
the description or a note becomes a ``CAUSED_BY`` edge (a change id) or a hinted
``CAUSED_BY`` edge (a dependency); the Alertmanager fingerprints in the
incident's ``body.details`` and alerts become ``(alert)-[:TRIGGERED]->``
edges (:mod:`ingest.incident_alerts`). The postmortem reader shares the record
helpers here (:func:`remediation_records`, :func:`cause_records`, :func:`service_hint`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from graph.errors import FormatError, VidyaError
from graph.model import Edge, Node, Props, Provenance
from graph.schema import NodeLabel, RelType, node_id
from ingest.actions import Cause, find_causes, helped, map_note
from ingest.chunking import Block, Part, chunk_parts
from ingest.common import load_json, optional_time, parse_time
from ingest.ids import entity_id
from ingest.incident_alerts import alert_fingerprints, triggered_edges
from ingest.records import (
    Document,
    EntityHint,
    HintedEdge,
    ReadContext,
    ReadResult,
    RecordError,
    SourceFile,
)
from ingest.registry import PRIORITY_INCIDENTS

_SNIFF_BYTES = 16384
_SNIFF_INCIDENT = re.compile(r'"incidents?"\s*:\s*[\[{]|"incident_number"\s*:|"type"\s*:\s*"incident"')
_SNIFF_OTHER = re.compile(r'"(?:specversion|subject)"\s*:')
#: an Alertmanager payload has "alerts" too, but never PagerDuty's incident fields
_SNIFF_PAGERDUTY = re.compile(r'"incident_number"\s*:|"type"\s*:\s*"incident"|"incidents?"\s*:\s*[\[{]')
_SLUG = re.compile(r"[^a-z0-9]+")


def slug(name: str) -> str:
    """A catalogue-style name: lower case, runs of other characters become one ``-``."""
    return _SLUG.sub("-", name.lower()).strip("-")


def service_hint(name: str) -> EntityHint:
    """A hint at the service called ``name``; the fallback is ``service:default/<slug>``."""
    key = slug(name)
    return EntityHint.of({"name": name, "service": name}, fallback=entity_id(f"component:default/{key}") if key else None)


@dataclass(frozen=True, slots=True)
class _Raw:
    """One incident as found in the document, with the notes that go with it."""

    location: str
    incident: Any
    notes: Any
    notes_location: str
    alerts: Any = None


def _raws(document: object, path: str) -> list[_Raw]:
    if isinstance(document, dict):
        if "incident" in document:
            notes = document.get("notes")
            where = "/notes" if notes is not None else "/incident/notes"
            return [_Raw("/incident", document["incident"], notes, where, document.get("alerts"))]
        if "incidents" in document:
            items = document["incidents"]
            if not isinstance(items, list):
                raise FormatError(f"{path}: /incidents: expected a list of incidents, got {type(items).__name__}")
            return [_Raw(f"/incidents/{i}", item, None, f"/incidents/{i}/notes") for i, item in enumerate(items)]
        if "id" in document and ("incident_number" in document or document.get("type") == "incident"):
            return [_Raw("", document, None, "/notes")]
    raise FormatError(
        f"{path}: expected a PagerDuty incident: an object with 'incident' or 'incidents', "
        "or an incident object with 'id' and 'incident_number'"
    )


def _field(parent: str, key: str) -> str:
    return f"{parent}.{key}" if parent else key


def _opt(mapping: dict[str, Any], key: str, parent: str = "", kind: type | tuple[type, ...] = str) -> Any:
    """An optional field of the expected type; errors name it relative to the incident."""
    value = mapping.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, kind) or isinstance(value, bool):
        name = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise FormatError(f"{_field(parent, key)}: expected {name}, got {type(value).__name__}")
    return value


def _summary(mapping: dict[str, Any], key: str) -> str | None:
    """``mapping[key].summary`` of a PagerDuty reference object (service, priority, escalation policy)."""
    ref = _opt(mapping, key, kind=dict)
    if ref is None:
        return None
    summary: str | None = _opt(ref, "summary", key) or _opt(ref, "name", key)
    return summary


def _resolved_at(inc: dict[str, Any], status: str | None) -> datetime | None:
    resolved = optional_time(inc.get("resolved_at"), "resolved_at")
    if resolved is None and status == "resolved":
        resolved = optional_time(inc.get("last_status_change_at"), "last_status_change_at")
    return resolved


def _incident_props(inc: dict[str, Any], created: datetime) -> Props:
    status = _opt(inc, "status")
    resolved = _resolved_at(inc, status)
    service = _opt(inc, "service", kind=dict) or {}
    values: dict[str, Any] = {
        "status": status,
        "urgency": _opt(inc, "urgency"),
        "number": _opt(inc, "incident_number", kind=int),
        "resolved_at": resolved.isoformat() if resolved else None,
        "service_name": _opt(service, "summary", "service"),
        "service_id": _opt(service, "id", "service"),
        "html_url": _opt(inc, "html_url"),
        "priority": _summary(inc, "priority"),
        "escalation_policy": _summary(inc, "escalation_policy"),
    }
    if (description := _opt(inc, "description")) and description != _opt(inc, "title"):
        values["description"] = description
    if resolved and resolved >= created:
        values["duration_minutes"] = round((resolved - created).total_seconds() / 60, 1)
    return {k: v for k, v in values.items() if v is not None}


@dataclass(frozen=True, slots=True)
class _Note:
    key: str
    content: str
    at: datetime | None
    author: str | None
    location: str


def _note(raw: object, index: int, location: str) -> _Note:
    if not isinstance(raw, dict):
        raise FormatError(f"expected a note object, got {type(raw).__name__}")
    content = _opt(raw, "content")
    if not content or not content.strip():
        raise FormatError("content: missing (a note without text says nothing)")
    key = str(_opt(raw, "id", kind=(str, int)) or "").strip()
    user = _opt(raw, "user", kind=dict) or {}
    return _Note(
        key=key or f"note-{index}",
        content=content,
        at=optional_time(raw.get("created_at"), "created_at"),
        author=_opt(user, "summary", "user"),
        location=location,
    )


def _notes(raw: _Raw, errors: list[RecordError]) -> list[_Note]:
    """The usable notes in time order; a bad note becomes a record error."""
    raw_notes = raw.notes
    if raw_notes is None and isinstance(raw.incident, dict):
        raw_notes = raw.incident.get("notes")
    if raw_notes is None:
        return []
    if not isinstance(raw_notes, list):
        errors.append(RecordError(raw.notes_location, f"expected a list of notes, got {type(raw_notes).__name__}"))
        return []
    notes: list[_Note] = []
    for index, item in enumerate(raw_notes):
        where = f"{raw.notes_location}/{index}"
        try:
            notes.append(_note(item, index, where))
        except (FormatError, OverflowError) as exc:
            errors.append(RecordError(where, _message(exc)))
    return sorted(notes, key=lambda n: (n.at is None, n.at or datetime.min))


def _message(exc: Exception) -> str:
    # parse_time overflows on times at the calendar's edge once moved to UTC
    return f"a time is out of range ({exc})" if isinstance(exc, OverflowError) else str(exc)


@dataclass(frozen=True, slots=True)
class ActionText:
    """One piece of text that may describe an action: a note, a list item, a sentence."""

    key: str
    text: str
    provenance: Provenance
    at: datetime | None = None
    author: str | None = None
    #: an outcome the document states outright ("What fixed it: ..."), over what the text's wording says
    outcome: str | None = None


@dataclass(slots=True)
class _Pending:
    item: ActionText
    action: str
    outcome: str
    evidence: ActionText


def _pair_outcomes(items: Sequence[ActionText]) -> list[_Pending]:
    """Each action with its outcome: from its own text, else from the next texts that name no action."""
    pending: list[_Pending] = []
    for item in items:
        action, outcome = map_note(item.text)
        outcome = item.outcome or outcome
        if action != "unknown":
            pending.append(_Pending(item, action, outcome, item))
        elif pending and pending[-1].outcome == "unknown" and outcome != "unknown":
            pending[-1].outcome, pending[-1].evidence = outcome, item
    return pending


def remediation_records(incident: str, items: Sequence[ActionText]) -> tuple[list[Node], list[Edge]]:
    """Remediation and Outcome nodes (with REMEDIATED_BY and HAS_OUTCOME) for the texts that describe an action."""
    key = incident.partition(":")[2]
    nodes: list[Node] = []
    edges: list[Edge] = []
    for entry in _pair_outcomes(items):
        item = entry.item
        rem = node_id(NodeLabel.REMEDIATION, f"{key}/{item.key}")
        out = node_id(NodeLabel.OUTCOME, f"{key}/{item.key}")
        props: Props = {"action": entry.action, "original_text": item.text.strip()[:2000], "incident": incident}
        if item.author:
            props["author"] = item.author
        nodes.append(Node(rem, NodeLabel.REMEDIATION, item.provenance, name=entry.action, props=props, at=item.at))
        result_props: Props = {"result": entry.outcome}
        if (did_help := helped(entry.outcome)) is not None:
            result_props["helped"] = did_help
        if entry.evidence is not item:
            result_props["evidence"] = entry.evidence.text.strip()[:2000]
        at = entry.evidence.at or item.at
        nodes.append(Node(out, NodeLabel.OUTCOME, entry.evidence.provenance, name=entry.outcome, props=result_props, at=at))
        edges.append(Edge(RelType.REMEDIATED_BY, incident, rem, item.provenance))
        edges.append(Edge(RelType.HAS_OUTCOME, rem, out, entry.evidence.provenance))
    return nodes, edges


def cause_records(incident: str, causes: list[Cause], prov: Provenance) -> tuple[list[Edge], list[HintedEdge]]:
    """``CAUSED_BY`` edges to named changes and hinted ``CAUSED_BY`` edges to named dependencies."""
    edges: dict[str, Edge] = {}
    hinted: dict[str, HintedEdge] = {}
    for cause in causes:
        props: Props = {"evidence": cause.evidence}
        if cause.change:
            edge = Edge(RelType.CAUSED_BY, incident, cause.change, prov, props=props)
            edges.setdefault(edge.id, edge)
        elif cause.dependency:
            hint = EntityHint.of({"name": cause.dependency})
            hinted.setdefault(cause.dependency, HintedEdge(RelType.CAUSED_BY, incident, hint, prov, props=props))
    return list(edges.values()), list(hinted.values())


def _document(incident: str, title: str, file: SourceFile, description: str | None, notes: list[_Note], props: Props) -> Document:
    """The description and the notes, chunked like runbook sections (:mod:`ingest.chunking`)."""
    text = (description or "").strip()
    parts = [Part((title,), "", (Block(tuple(text.splitlines())),))] if text and text != title else []
    if notes:
        lines = [f"{n.at.isoformat() if n.at else '?'} {n.author or 'unknown'}: {n.content.strip()}" for n in notes]
        parts.append(Part((title, "Notes"), "notes", tuple(Block(tuple(line.splitlines()), "item") for line in lines)))
    sections = tuple(chunk.section() for chunk in chunk_parts(parts))
    return Document(id=incident, kind="incident", title=title, path=file.path, sections=sections, front_matter=props)


def _incident_records(raw: _Raw, file: SourceFile, ctx: ReadContext) -> ReadResult:
    inc = raw.incident
    if not isinstance(inc, dict):
        raise FormatError(f"expected an incident object, got {type(inc).__name__}")
    key = _opt(inc, "id")
    if key is None:
        raise FormatError("id: missing (the PagerDuty incident id)")
    created = parse_time(inc.get("created_at"), "created_at")
    incident = node_id(NodeLabel.INCIDENT, key)
    prov = ctx.provenance(file, raw.location or "/")
    result = ReadResult()
    notes = _notes(raw, result.errors)
    description = _opt(inc, "description")
    causes = find_causes(description or "") + [c for n in notes for c in find_causes(n.content)]
    props = _incident_props(inc, created)
    releases = list(dict.fromkeys(c.release for c in causes if c.release))
    if releases:
        props["cause_release"] = releases
    title = _opt(inc, "title") or _opt(inc, "summary") or key
    result.nodes.append(Node(incident, NodeLabel.INCIDENT, prov, name=title, props=props, at=created))
    if props.get("service_name"):
        result.hinted.append(HintedEdge(RelType.AFFECTS, incident, _pd_service_hint(inc), prov))
    edges, hinted = cause_records(incident, causes, prov)
    result.edges += edges
    fingerprints = alert_fingerprints(inc.get("body"), inc.get("alerts"), raw.alerts)
    result.edges += triggered_edges(incident, fingerprints, prov)
    result.hinted += hinted
    items = [ActionText(n.key, n.content, ctx.provenance(file, n.location), n.at, n.author) for n in notes]
    nodes, rem_edges = remediation_records(incident, items)
    result.nodes += nodes
    result.edges += rem_edges
    if description or notes:
        meta: Props = {k: v for k, v in props.items() if k in ("status", "urgency", "service_name", "priority")}
        result.documents.append(_document(incident, title, file, description, notes, meta))
    return result


def _pd_service_hint(inc: dict[str, Any]) -> EntityHint:
    """The service hint, plus the PagerDuty service id (Backstage's ``pagerduty.com/service-id`` annotation)."""
    service = inc["service"]
    hint = service_hint(service["summary"])
    if isinstance(service.get("id"), str) and service["id"]:
        values = dict(hint.values) | {"pagerduty.com/service-id": service["id"]}
        return EntityHint.of(values, fallback=hint.fallback)
    return hint


class PagerDutyReader:
    name = "pagerduty"
    description = "PagerDuty incidents (REST API v2 JSON: incident, incidents or a bare incident) with their notes"
    priority = PRIORITY_INCIDENTS
    version = "2"

    def sniff(self, file: SourceFile) -> bool:
        if file.is_directory or file.suffix != ".json":
            return False
        head = file.data[:_SNIFF_BYTES].decode("utf-8", errors="ignore").lstrip("\ufeff \t\r\n")
        if head[:1] != "{" or not _SNIFF_INCIDENT.search(head) or _SNIFF_OTHER.search(head):
            return False
        return '"alerts"' not in head or ('"groupKey"' not in head and bool(_SNIFF_PAGERDUTY.search(head)))

    def read(self, file: SourceFile, ctx: ReadContext) -> ReadResult:
        if file.is_directory:
            raise FormatError(f"{file.path}: is a directory (expected PagerDuty incident JSON)")
        text = file.text()
        if not text.strip():
            raise FormatError(f"{file.path}: empty file (expected PagerDuty incident JSON)")
        raws = _raws(load_json(text, file.path), file.path)
        result = ReadResult()
        for raw in raws:
            try:
                result.extend(_incident_records(raw, file, ctx))
            except (VidyaError, OverflowError) as exc:
                if len(raws) == 1:
                    raise FormatError(f"{file.path}: {raw.location or '/'}: {_message(exc)}") from None
                result.errors.append(RecordError(raw.location, _message(exc)))
        if not any(node.label is NodeLabel.INCIDENT for node in result.nodes):
            detail = f" ({result.errors[0]})" if result.errors else ""
            raise FormatError(f"{file.path}: no usable incidents{detail}")
        return result


READER = PagerDutyReader()
