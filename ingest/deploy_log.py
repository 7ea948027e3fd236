"""Plain-text CI/CD deploy logs: one deploy, rollback, restart or config push per line.

Each line is an RFC 3339 time, an action word and ``key=value`` pairs
(values with spaces in double quotes); ``#`` starts a comment line::

    2026-03-04T10:15:02Z deploy service=checkout version=1.42.0 env=production status=succeeded
        digest=sha256:9f2c... commit=3f9c2a1 by=alice change=CHG-1234

A deploy, rollback or restart becomes a Deployment with the same edges as a
CDEvents ``service.deployed`` (TARGETS, IN_ENVIRONMENT, DEPLOYS, RUNS); a
config push becomes a ConfigChange. Ids are hashes of the line's facts, so
re-reading the log is a no-op. See ``docs/formats/deploy_log.md``.
"""

from __future__ import annotations

import hashlib
import re
import shlex
from dataclasses import dataclass
from datetime import datetime

from graph.errors import FormatError, VidyaError
from graph.model import Edge, Node, Provenance
from graph.schema import NodeLabel, RelType, label_of, node_id
from ingest.cdevents_custom import change_props
from ingest.cdevents_deploy import DeploySpec, deployment_records
from ingest.cdevents_envelope import time
from ingest.ids import artifact_id, entity_id, environment_id
from ingest.records import ReadContext, ReadResult, RecordError, SourceFile
from ingest.registry import PRIORITY_CHANGES

SHAPE = "<RFC 3339 time> <deploy|rollback|restart|config> key=value ..."
ACTIONS = {"deploy": "deployed", "rollback": "rolledback", "restart": "restarted", "config": "configured"}
STATUSES = {
    "succeeded": "succeeded", "success": "succeeded", "ok": "succeeded",
    "failed": "failed", "failure": "failed", "error": "failed",
    "started": "started", "running": "started",
    "cancelled": "cancelled", "canceled": "cancelled", "aborted": "cancelled",
}  # fmt: skip
#: keys copied to node properties as they are (log key -> property)
PASS_THROUGH = {
    "commit": "commit", "by": "actor", "change": "change_ticket", "pipeline": "pipeline", "url": "url", "note": "note",
}  # fmt: skip
_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")
_SNIFF_LINE = re.compile(
    r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})[ \t]+(?:deploy|rollback|restart|config)"
    r"(?:[ \t]+[A-Za-z_][A-Za-z0-9_.-]*=\S*)+"
)
_SUFFIXES = frozenset({".log", ".txt"})
_SNIFF_BYTES = 4096


@dataclass(frozen=True, slots=True)
class LogLine:
    """One parsed line: when, what, and its ``key=value`` fields."""

    number: int
    at: datetime
    action: str
    fields: dict[str, str]

    def get(self, key: str, *aliases: str) -> str | None:
        return next((self.fields[k] for k in (key, *aliases) if self.fields.get(k)), None)

    def need(self, key: str, *aliases: str) -> str:
        value = self.get(key, *aliases)
        if value is None:
            raise FormatError(f"missing {key}= (expected {SHAPE} with {key}=...)")
        return value


def _is_content(line: str) -> bool:
    stripped = line.strip()
    return bool(stripped) and not stripped.startswith("#")


def parse_line(number: int, line: str) -> LogLine:
    """Split one line into time, action and fields; a malformed line raises ``FormatError``."""
    parts = line.strip().split(None, 2)
    if len(parts) < 3:
        raise FormatError(f"expected {SHAPE!r}, got {line.strip()[:120]!r}")
    stamp, action, rest = parts
    try:
        at = time(stamp, "time")
    except FormatError as exc:
        raise FormatError(f"{exc} (expected {SHAPE!r})") from None
    if action not in ACTIONS:
        raise FormatError(f"action {action[:40]!r}: expected deploy, rollback, restart or config")
    try:
        tokens = shlex.split(rest, posix=True)
    except ValueError as exc:
        raise FormatError(f"fields: {exc} (quote values with spaces in double quotes)") from None
    fields: dict[str, str] = {}
    for token in tokens:
        key, sep, value = token.partition("=")
        if not sep or not _KEY.match(key):
            raise FormatError(f"{token[:60]!r}: expected key=value")
        if key in fields:
            raise FormatError(f"{key}=: given twice")
        fields[key] = value.strip()
    return LogLine(number, at, action, fields)


def _digest(*parts: str) -> str:
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


def _service(line: LogLine) -> tuple[str, str]:
    """(node id, name) from ``service=`` (a name, ``namespace/name`` or a Backstage reference)."""
    value = line.need("service")
    try:
        node = entity_id(value, default_kind="component")
    except FormatError as exc:
        raise FormatError(f"service={value[:80]}: {exc}") from None
    if label_of(node) is not NodeLabel.SERVICE:
        raise FormatError(f"service={value[:80]}: names a {label_of(node)}, expected a service")
    return node, node.partition("/")[2]


def _status(line: LogLine) -> str:
    value = line.get("status") or "succeeded"
    if value.lower() not in STATUSES:
        raise FormatError(f"status={value[:40]}: expected one of succeeded, failed, started, cancelled")
    return STATUSES[value.lower()]


def _artifact(line: LogLine, service_name: str) -> tuple[str, str] | None:
    """``digest=``, ``artifact=`` or ``image=``; with only ``version=``, ``pkg:generic/<service>@<version>``."""
    reference = line.get("digest", "artifact", "image")
    if reference:
        return artifact_id(reference), reference
    version = line.get("version")
    if version:
        purl = f"pkg:generic/{service_name}@{version}"
        return artifact_id(purl), purl
    return None


def _common_props(line: LogLine, status: str) -> dict[str, str]:
    props = {prop: line.fields[key] for key, prop in PASS_THROUGH.items() if line.fields.get(key)}
    return {**props, "status": status, "log_action": line.action}


def _deployment(line: LogLine, prov: Provenance) -> ReadResult:
    service, name = _service(line)
    env = line.need("env", "environment")
    version = line.get("version") or ""
    status = _status(line)
    spec = DeploySpec(
        id=node_id(NodeLabel.DEPLOYMENT, _digest(line.at.isoformat(), line.fields.get("service", ""), version, env)),
        action=ACTIONS[line.action],
        service=service,
        service_name=name,
        at=line.at,
        environment=(environment_id(env), env.lower()),
        artifact=_artifact(line, name) if line.action != "restart" or line.get("digest", "artifact", "image") else None,
        succeeded=status == "succeeded",
        props={**_common_props(line, status), "version": version or None},
    )
    return deployment_records(spec, prov)


def _config(line: LogLine, prov: Provenance) -> ReadResult:
    """``config`` lines: ``key=NAME`` (or ``keys=A,B``) with optional ``old=`` and ``new=``."""
    service, name = _service(line)
    env = line.need("env", "environment")
    keys = [k.strip() for k in line.need("key", "keys").split(",") if k.strip()]
    one = len(keys) == 1
    changes = [{"key": k, "old": line.get("old") if one else None, "new": line.get("new") if one else None} for k in keys]
    status = _status(line)
    props = {
        **_common_props(line, status),
        "action": "configured",
        "service": name,
        "environment": env.lower(),
        **change_props(changes),
    }
    key = node_id(NodeLabel.CONFIG_CHANGE, _digest(line.at.isoformat(), line.fields.get("service", ""), ",".join(keys), env))
    node = Node(key, NodeLabel.CONFIG_CHANGE, prov, name=f"config {name}: {', '.join(keys)}", props=props, at=line.at)
    edges = [Edge(RelType.TARGETS, key, service, prov), Edge(RelType.IN_ENVIRONMENT, key, environment_id(env), prov)]
    return ReadResult(nodes=[node], edges=edges)


def _records(line: LogLine, prov: Provenance) -> ReadResult:
    return _config(line, prov) if line.action == "config" else _deployment(line, prov)


class DeployLogReader:
    """Plain-text deploy logs: ``<time> <action> key=value ...`` per line."""

    name = "deploy_log"
    description = "plain-text CI/CD deploy logs: '<RFC 3339 time> deploy|rollback|restart|config key=value ...' per line"
    priority = PRIORITY_CHANGES + 1
    version = "1"

    def sniff(self, file: SourceFile) -> bool:
        if file.is_directory or file.suffix not in _SUFFIXES:
            return False
        head = file.data[:_SNIFF_BYTES].decode("utf-8", errors="ignore").lstrip("\ufeff")
        first = next((line for line in head.splitlines() if _is_content(line)), "")
        return bool(_SNIFF_LINE.match(first.strip()))

    def read(self, file: SourceFile, ctx: ReadContext) -> ReadResult:
        if file.is_directory:
            raise FormatError(f"{file.path}: is a directory (expected a deploy log)")
        result = ReadResult()
        seen: dict[str, int] = {}
        for number, text in enumerate(file.text().splitlines(), start=1):
            if not _is_content(text):
                continue
            location = f"line {number}"
            try:
                part = _records(parse_line(number, text), ctx.provenance(file, location))
            except VidyaError as exc:
                result.errors.append(RecordError(location, str(exc)))
                continue
            first = seen.setdefault(part.nodes[0].id, number)
            if first != number:
                result.errors.append(RecordError(location, f"same time, service, version and env as line {first}; ignored"))
                continue
            result.extend(part)
        if not result.nodes:
            raise _nothing_usable(file.path, result.errors)
        return result


def _nothing_usable(path: str, errors: list[RecordError]) -> FormatError:
    if not errors:
        return FormatError(f"{path}: no deploy lines (expected {SHAPE!r}; '#' starts a comment)")
    shown = "; ".join(str(error) for error in errors[:3])
    return FormatError(f"{path}: no usable deploy lines ({len(errors)} rejected: {shown})")


READER = DeployLogReader()
