"""CDEvents reader: deploys, environments, artifacts, pipeline runs, source changes and custom change events.

Accepts one CDEvent (v0.4 or later) as a JSON object, a JSON array of events,
or JSON Lines (one event per line); a structured-mode CloudEvent carrying the
CDEvent in ``data`` is unwrapped. Every event keeps its ``context.id``::

    {"context": {"id": "1b0e...", "type": "dev.cdevents.service.deployed.0.2.0", ...},
     "subject": {"id": "service/checkout", "content": {"environment": {"id": "production"},
                 "artifactId": "pkg:oci/checkout@sha256%3A9f2c..."}}}
    -> Deployment deploy:1b0e... -TARGETS-> service:default/checkout, -IN_ENVIRONMENT-> env:production,
       -DEPLOYS-> artifact:sha256:9f2c..., and service:default/checkout -RUNS-> artifact:sha256:9f2c...

An event that cannot be used (unknown type, missing field) is a per-record
error naming its line or array index; see ``docs/formats/cdevents.md``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from graph.errors import FormatError, VidyaError
from graph.model import Node, Provenance
from graph.schema import EVENT_LABELS
from ingest.cdevents_custom import custom_event, custom_label
from ingest.cdevents_deploy import SERVICE_ACTIONS, service_event
from ingest.cdevents_envelope import Event, describe, parse_event
from ingest.cdevents_lifecycle import artifact_event, change_event, environment_event, run_event
from ingest.common import looks_like_json_lines
from ingest.records import ReadContext, ReadResult, RecordError, SourceFile
from ingest.registry import PRIORITY_CHANGES

Handler = Callable[[Event, Provenance], ReadResult]
Raw = tuple[int, str | None, Any]

_HANDLERS: dict[tuple[str, str], Handler] = {
    **{("service", p): service_event for p in SERVICE_ACTIONS},
    **{("environment", p): environment_event for p in ("created", "modified", "deleted")},
    **{("artifact", p): artifact_event for p in ("packaged", "published", "signed")},
    **{("pipelinerun", p): run_event for p in ("queued", "started", "finished")},
    **{("taskrun", p): run_event for p in ("queued", "started", "finished")},
    **{("change", p): change_event for p in ("created", "reviewed", "merged", "abandoned", "updated")},
}
_SUFFIXES = frozenset({".json", ".jsonl", ".ndjson"})
_LINE_SUFFIXES = frozenset({".jsonl", ".ndjson"})
_SNIFF_BYTES = 8192
_SNIFF_TYPE = re.compile(r'"type"\s*:\s*"dev\.cdevents')
_SNIFF_CONTEXT = re.compile(r'"context"\s*:\s*\{')


def _parse_json(text: str, where: str) -> Any:
    """``json.loads`` whose every failure is a ``FormatError`` naming ``where`` (and line, column)."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise FormatError(f"{where}line {exc.lineno} column {exc.colno}: invalid JSON ({exc.msg})") from None
    except RecursionError:
        raise FormatError(f"{where}invalid JSON (nested too deeply)") from None
    except ValueError as exc:  # e.g. an integer with more digits than Python converts
        raise FormatError(f"{where}invalid JSON ({exc})") from None


def _json_lines(text: str, path: str) -> list[Raw]:
    out: list[Raw] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            try:
                out.append((number, f"line {number}", json.loads(line)))
            except (ValueError, RecursionError):
                out.append((number, f"line {number}", FormatError("invalid JSON (expected one event object per line)")))
    return out


def _raw_events(file: SourceFile) -> list[Raw]:
    """(order, location, raw event or its FormatError) for each event in the file."""
    text = file.text()
    stripped = text.strip()
    if not stripped:
        raise FormatError(f"{file.path}: empty file (expected a CDEvent, a JSON array of CDEvents or JSON Lines)")
    if file.suffix in _LINE_SUFFIXES or (stripped.startswith("{") and looks_like_json_lines(text)):
        return _json_lines(text, file.path)
    data = _parse_json(text, f"{file.path}: ")
    if isinstance(data, list):
        if not data:
            raise FormatError(f"{file.path}: the array holds no events")
        return [(index, f"index {index}", item) for index, item in enumerate(data)]
    if isinstance(data, dict):
        return [(0, None, data)]
    raise FormatError(f"{file.path}: expected a CDEvent object, an array of them or JSON Lines, got a JSON {describe(data)}")


def _handler(event: Event) -> Handler:
    if event.custom:
        label = custom_label(event.subject_kind)
        if label is not None:
            return lambda ev, prov: custom_event(ev, label, prov)
    elif (event.subject_kind, event.predicate) in _HANDLERS:
        return _HANDLERS[(event.subject_kind, event.predicate)]
    raise FormatError(f"unsupported event type {event.type!r}")


def _fold(nodes: list[Node]) -> list[Node]:
    """One node per id: entity nodes (environments, artifacts, PRs) seen again take the later props."""
    merged: dict[str, Node] = {}
    for node in nodes:
        old = merged.get(node.id)
        if old is not None and node.label not in EVENT_LABELS:
            node = replace(
                node,
                name=node.name or old.name,
                props={**old.props, **node.props},
                valid_from=old.valid_from or node.valid_from,
            )
        merged[node.id] = node
    return [node if node.name else replace(node, name=node.id.partition(":")[2]) for node in merged.values()]


def _error(location: str | None, exc: VidyaError) -> RecordError:
    return RecordError(location or "event", str(exc))


class CDEventsReader:
    """CDEvents JSON / JSON Lines (``dev.cdevents.*`` and ``dev.cdeventsx.*`` types)."""

    name = "cdevents"
    description = "CDEvents JSON, JSON array or JSON Lines: deploys, environments, artifacts, pipeline runs, changes"
    priority = PRIORITY_CHANGES
    version = "1"

    def sniff(self, file: SourceFile) -> bool:
        if file.is_directory or file.suffix not in _SUFFIXES:
            return False
        head = file.data[:_SNIFF_BYTES].decode("utf-8", errors="ignore").lstrip("\ufeff \t\r\n")
        return head[:1] in ("{", "[") and bool(_SNIFF_TYPE.search(head)) and bool(_SNIFF_CONTEXT.search(head))

    def read(self, file: SourceFile, ctx: ReadContext) -> ReadResult:
        if file.is_directory:
            raise FormatError(f"{file.path}: is a directory (expected a CDEvents JSON or JSON Lines file)")
        result = ReadResult()
        errors: list[tuple[int, RecordError]] = []
        events = self._events(_raw_events(file), errors)
        nodes: list[Node] = []
        for order, event in sorted(events, key=lambda item: (item[1].at, item[0])):
            try:
                part = _handler(event)(event, ctx.provenance(file, event.location))
            except VidyaError as exc:
                errors.append((order, _error(event.location, exc)))
                continue
            nodes.extend(part.nodes)
            result.edges.extend(part.edges)
            result.hinted.extend(part.hinted)
        result.nodes = _fold(nodes)
        result.errors = [error for _, error in sorted(errors, key=lambda item: item[0])]
        if not result.nodes:
            raise _nothing_usable(file.path, result.errors)
        return result

    @staticmethod
    def _events(raws: list[Raw], errors: list[tuple[int, RecordError]]) -> list[tuple[int, Event]]:
        """Parse envelopes; a repeated ``context.id`` is dropped (silently when the event is identical)."""
        seen: dict[str, tuple[str | None, Any]] = {}
        out: list[tuple[int, Event]] = []
        for order, location, raw in raws:
            try:
                if isinstance(raw, FormatError):
                    raise raw
                event = parse_event(raw, location)
            except VidyaError as exc:
                errors.append((order, _error(location, exc)))
                continue
            if event.id in seen:
                first_at, first = seen[event.id]
                if first != raw:
                    message = f"context.id {event.id[:80]!r}: already used by the event at {first_at}; this one is ignored"
                    errors.append((order, RecordError(location or "event", message)))
                continue
            seen[event.id] = (location, raw)
            out.append((order, event))
        return out


def _nothing_usable(path: str, errors: list[RecordError]) -> FormatError:
    if len(errors) == 1:
        only = errors[0]
        where = "" if only.location == "event" else f"{only.location}: "
        return FormatError(f"{path}: {where}{only.message}")
    first = "; ".join(str(error) for error in errors[:3])
    return FormatError(f"{path}: no usable events ({len(errors)} rejected: {first})")


READER = CDEventsReader()
