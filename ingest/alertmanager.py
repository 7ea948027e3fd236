"""Prometheus Alertmanager webhook payloads (version 4): one payload, a JSON array of them, or JSON Lines.

Every notification about one alert (firing, repeated, resolved) carries the
same fingerprint; the reader folds them, across the whole file, into one
``Alert`` node ``alert:<fingerprint>`` spanning from the earliest ``startsAt``
to the ``endsAt`` of a closing resolved notification::

    {"version": "4", "status": "firing", "receiver": "sre", "groupKey": "{}:{alertname=\\"HighLatency\\"}",
     "alerts": [{"status": "firing", "labels": {"alertname": "HighLatency", "service": "checkout"},
                 "startsAt": "2026-03-01T14:05:00Z", "fingerprint": "8d2a6f0c1b3e4a57"}]}

The alert ``AFFECTS`` the catalogue entity its labels name (a hinted edge:
the loader matches the values of :data:`MAPPING_LABELS` against entity names,
Kubernetes ids and annotations). Alerts without a fingerprint get the one
Alertmanager itself would compute (:func:`fingerprint`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from graph.errors import FormatError, VidyaError
from graph.model import Edge, Node, Props
from graph.schema import NodeLabel, RelType, node_id
from ingest.common import iter_json_lines, load_json, looks_like_json_lines, optional_time, parse_time
from ingest.ids import entity_id, environment_id
from ingest.records import EntityHint, HintedEdge, ReadContext, ReadResult, RecordError, SourceFile
from ingest.registry import PRIORITY_ALERTS

#: labels whose values name the catalogue entity an alert is about (the loader may override this)
MAPPING_LABELS: tuple[str, ...] = (
    "service", "job", "app", "app_kubernetes_io_name", "namespace", "pod", "instance",
    "topic", "queue", "database", "container", "deployment",
)  # fmt: skip
#: labels that name the environment an alert fired in
ENVIRONMENT_LABELS: tuple[str, ...] = ("env", "environment")
#: receiver-added timestamps some webhook loggers put beside the payload (not part of Alertmanager's format)
RECEIVED_AT_KEYS: tuple[str, ...] = ("receivedAt", "received_at", "@timestamp", "timestamp")
_ANNOTATIONS = ("summary", "description", "runbook_url")
_SUFFIXES = (".json", ".jsonl", ".ndjson", ".log")
_SNIFF_BYTES = 16384
_SNIFF_ALERTS = re.compile(r'"alerts"\s*:\s*\[')
_SNIFF_WEBHOOK = re.compile(r'"(?:receiver|groupKey|truncatedAlerts)"\s*:')


def fingerprint(labels: dict[str, str]) -> str:
    """Alertmanager's fingerprint of a label set: FNV-1a 64 over the sorted names and values, 0xff-separated.

    This is Prometheus' ``labelSetToFingerprint``, printed as 16 hex digits, so
    a computed fingerprint matches the one Alertmanager sends for the same labels.
    """
    value = 0xCBF29CE484222325
    for name in sorted(labels):
        for part in (name.encode(errors="surrogatepass"), labels[name].encode(errors="surrogatepass")):
            for byte in (*part, 0xFF):
                value = ((value ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return f"{value:016x}"


@dataclass(frozen=True, slots=True)
class _Notification:
    """One alert inside one webhook payload."""

    fingerprint: str
    status: str
    labels: dict[str, str]
    annotations: dict[str, str]
    starts_at: datetime
    ends_at: datetime | None
    generator_url: str | None
    receiver: str | None
    group_key: str | None
    received_at: datetime | None
    location: str


@dataclass(slots=True)
class _Folded:
    """Every notification about one fingerprint, in file order."""

    seen: list[_Notification] = field(default_factory=list)

    @property
    def last(self) -> _Notification:
        return self.seen[-1]


def _str_map(value: object, field_name: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise FormatError(f"{field_name}: expected an object of string values")
    return dict(value)


def _opt_str(mapping: dict[str, Any], key: str) -> str | None:
    value = mapping.get(key)
    if value is not None and not isinstance(value, str):
        raise FormatError(f"{key}: expected a string, got {type(value).__name__}")
    return value or None


def _received_at(payload: dict[str, Any]) -> datetime | None:
    for key in RECEIVED_AT_KEYS:
        if key in payload:
            return parse_time(payload[key], key)
    return None


def _notification(alert: object, payload: dict[str, Any], received: datetime | None, where: str) -> _Notification:
    """One alert of a payload; errors name the field relative to the alert."""
    if not isinstance(alert, dict):
        raise FormatError(f"expected an alert object, got {type(alert).__name__}")
    labels = _str_map(alert.get("labels"), "labels")
    if not labels:
        raise FormatError("labels: missing (an alert is identified by its labels)")
    status = alert.get("status") or payload.get("status")
    if status not in ("firing", "resolved"):
        raise FormatError(f"status: expected 'firing' or 'resolved', got {status!r}")
    return _Notification(
        fingerprint=_opt_str(alert, "fingerprint") or fingerprint(labels),
        status=status,
        labels=labels,
        annotations=_str_map(alert.get("annotations"), "annotations"),
        starts_at=parse_time(alert.get("startsAt"), "startsAt"),
        ends_at=optional_time(alert.get("endsAt"), "endsAt"),
        generator_url=_opt_str(alert, "generatorURL"),
        receiver=_opt_str(payload, "receiver"),
        group_key=_opt_str(payload, "groupKey"),
        received_at=received,
        location=where,
    )


def _check_payload(payload: object) -> tuple[dict[str, Any], list[Any]]:
    if not isinstance(payload, dict):
        raise FormatError(f"expected a webhook payload object, got {type(payload).__name__}")
    version = payload.get("version", "4")
    if version != "4":
        raise FormatError(f"version: expected \"4\" (Alertmanager webhook version 4), got {version!r}")
    alerts = payload.get("alerts")
    if not isinstance(alerts, list):
        raise FormatError("alerts: expected a list of alerts")
    for key in ("receiver", "groupKey"):
        _opt_str(payload, key)
    return payload, alerts


def _message(exc: Exception) -> str:
    # parse_time overflows on times at the calendar's edge once moved to UTC
    return f"a time is out of range ({exc})" if isinstance(exc, OverflowError) else str(exc)


def _payload_notifications(payload: object, where: str, errors: list[RecordError]) -> Iterator[_Notification]:
    """The alerts of one payload; a bad alert becomes a record error, a bad payload raises."""
    body, alerts = _check_payload(payload)
    received = _received_at(body)
    truncated = body.get("truncatedAlerts")
    if isinstance(truncated, int) and not isinstance(truncated, bool) and truncated > 0:
        message = f"Alertmanager left out {truncated} alerts (max_alerts); they are not in the file"
        errors.append(RecordError(where.removesuffix(", ") or "/", message))
    for index, alert in enumerate(alerts):
        location = f"{where}/alerts/{index}"
        try:
            yield _notification(alert, body, received, location)
        except (FormatError, OverflowError) as exc:
            errors.append(RecordError(location, _message(exc)))


def _payloads(file: SourceFile) -> Iterator[tuple[str, object]]:
    """(location prefix, payload) for each payload; a bad JSON line is yielded as its error."""
    text = file.text()
    if not text.strip():
        raise FormatError(f"{file.path}: empty file (expected an Alertmanager webhook payload)")
    if looks_like_json_lines(text):
        for number, value in iter_json_lines(text, file.path):
            if isinstance(value, FormatError):  # the location goes into the record error
                value = FormatError(re.sub(rf"^{re.escape(file.path)}: line {number}:? ", "", str(value)))
            yield f"line {number}, ", value
        return
    document = load_json(text, file.path)
    if isinstance(document, list):
        for index, payload in enumerate(document):
            yield f"/{index}", payload
    else:
        yield "", document


def _fold(file: SourceFile, errors: list[RecordError]) -> dict[str, _Folded]:
    folded: dict[str, _Folded] = {}
    for where, payload in _payloads(file):
        try:
            if isinstance(payload, FormatError):
                raise payload
            for item in _payload_notifications(payload, where, errors):
                folded.setdefault(item.fingerprint, _Folded()).seen.append(item)
        except (FormatError, OverflowError) as exc:
            if not where:  # the file is one payload
                raise FormatError(f"{file.path}: {_message(exc)}") from None
            errors.append(RecordError(where.removesuffix(", "), _message(exc)))
    return folded


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _times(folded: _Folded) -> Props:
    """The span and notification times of a folded alert; ``ends_at`` only when it is resolved."""
    last = folded.last
    received = [n.received_at for n in folded.seen if n.received_at]
    props: dict[str, str | None] = {
        "starts_at": _iso(min(n.starts_at for n in folded.seen)),
        "ends_at": _iso(last.ends_at) if last.status == "resolved" else None,
        "first_notified": _iso(min(received)) if received else None,
        "last_notified": _iso(max(received)) if received else None,
    }
    return {k: v for k, v in props.items() if v}


def _alert_props(folded: _Folded) -> Props:
    last = folded.last
    props: Props = {"status": last.status, "notifications": len(folded.seen), **_times(folded)}
    optional = {
        "severity": last.labels.get("severity"),
        "generator_url": last.generator_url,
        "receiver": last.receiver,
        "group_key": last.group_key,
        **{key: last.annotations.get(key) for key in _ANNOTATIONS},
    }
    props.update({k: v for k, v in optional.items() if v})
    props.update({f"label:{k}": v for k, v in last.labels.items()})
    props.update({f"annotation:{k}": v for k, v in last.annotations.items() if k not in _ANNOTATIONS})
    return props


def _service_fallback(labels: dict[str, str]) -> str | None:
    service = labels.get("service")
    if not service:
        return None
    try:
        return entity_id(f"component:default/{service}")
    except FormatError:  # a label value that is no entity name ("a/b:c") gets no placeholder
        return None


class AlertmanagerReader:
    """Reads Alertmanager webhook payloads; ``mapping_labels`` overrides :data:`MAPPING_LABELS`."""

    name = "alertmanager"
    description = "Prometheus Alertmanager webhook payloads (version 4): one JSON payload or JSON Lines of them"
    priority = PRIORITY_ALERTS
    version = "1"

    def __init__(self, mapping_labels: tuple[str, ...] | None = None) -> None:
        self.mapping_labels = mapping_labels

    def sniff(self, file: SourceFile) -> bool:
        if file.is_directory or file.suffix not in _SUFFIXES:
            return False
        head = file.data[:_SNIFF_BYTES].decode("utf-8", errors="ignore").lstrip("\ufeff \t\r\n")
        return head[:1] in ("{", "[") and bool(_SNIFF_ALERTS.search(head)) and bool(_SNIFF_WEBHOOK.search(head))

    def read(self, file: SourceFile, ctx: ReadContext) -> ReadResult:
        if file.is_directory:
            raise FormatError(f"{file.path}: is a directory (expected an Alertmanager webhook payload)")
        result = ReadResult()
        folded = _fold(file, result.errors)
        for key, alert in folded.items():
            try:
                result.extend(self._records(file, ctx, key, alert))
            except VidyaError as exc:  # a fingerprint or label value that cannot be an id, say
                result.errors.append(RecordError(alert.seen[0].location, str(exc)))
        if not result.nodes:
            detail = f" ({result.errors[0]})" if result.errors else ""
            raise FormatError(f"{file.path}: no usable alerts{detail}")
        return result

    def _records(self, file: SourceFile, ctx: ReadContext, key: str, alert: _Folded) -> ReadResult:
        last = alert.last
        locations = [n.location for n in alert.seen]
        where = ", ".join(locations) if len(locations) <= 4 else f"{locations[0]}, ... {locations[-1]}"
        prov = ctx.provenance(file, where)
        at = min(n.starts_at for n in alert.seen)
        alert_id = node_id(NodeLabel.ALERT, key)
        node = Node(alert_id, NodeLabel.ALERT, prov, name=last.labels.get("alertname") or key, props=_alert_props(alert), at=at)
        result = ReadResult(nodes=[node])
        mapping = self.mapping_labels if self.mapping_labels is not None else MAPPING_LABELS
        values = {label: last.labels[label] for label in mapping if last.labels.get(label)}
        if values:
            hint = EntityHint.of(values, fallback=_service_fallback(last.labels))
            result.hinted.append(HintedEdge(RelType.AFFECTS, alert_id, hint, prov))
        for label in ENVIRONMENT_LABELS:
            if last.labels.get(label):
                result.edges.append(Edge(RelType.IN_ENVIRONMENT, alert_id, environment_id(last.labels[label]), prov))
                break
        return result


READER = AlertmanagerReader()
