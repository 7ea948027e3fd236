"""Custom CDEvents (``dev.cdeventsx.<tool>-<subject>.<predicate>``) for config, flag and migration changes.

The subject name after the tool decides the node: one containing ``flag``
becomes a FlagChange, ``migration`` or ``schema`` a Migration, ``config`` a
ConfigChange (``dev.cdeventsx.launchdarkly-featureflag.updated.0.1.0`` ->
``flag:<context.id>``). What changed is kept as ``changed_keys`` and
``changes_json``.
"""

from __future__ import annotations

import json
from typing import Any

from graph.errors import FormatError
from graph.model import Edge, Node, Provenance
from graph.schema import NodeLabel, RelType, node_id
from ingest.cdevents_envelope import Event, describe, environment_ref, get, last_segment, opt
from ingest.ids import entity_id
from ingest.records import EntityHint, HintedEdge, ReadResult

_CONTENT = "subject.content"
_KINDS: tuple[tuple[tuple[str, ...], NodeLabel], ...] = (
    (("flag",), NodeLabel.FLAG_CHANGE),
    (("migration", "schema"), NodeLabel.MIGRATION),
    (("config",), NodeLabel.CONFIG_CHANGE),
)


def custom_label(subject_kind: str) -> NodeLabel | None:
    """The label for a custom subject ``<tool>-<subject>``, judged on the part after the tool."""
    subject = subject_kind.partition("-")[2] or subject_kind
    return next((label for words, label in _KINDS if any(w in subject for w in words)), None)


def normalise_changes(value: object, where: str) -> list[dict[str, Any]]:
    """``[{key, old, new}]`` from a list of such objects or a ``{key: {old, new} | new}`` object."""
    if value is None:
        return []
    if isinstance(value, dict):
        pairs = [(key, item if isinstance(item, dict) else {"new": item}) for key, item in value.items()]
        return [{"key": key, "old": item.get("old"), "new": item.get("new")} for key, item in pairs]
    if not isinstance(value, list):
        raise FormatError(f"{where}: expected an array of {{key, old, new}} or an object, got {describe(value)}")
    out = []
    for index, item in enumerate(value):
        if not isinstance(item, dict):
            raise FormatError(f"{where}[{index}]: expected an object with 'key', got {describe(item)}")
        out.append({"key": get(item, "key", f"{where}[{index}]"), "old": item.get("old"), "new": item.get("new")})
    return out


def change_props(changes: list[dict[str, Any]], size: int | None = None) -> dict[str, Any]:
    """``changed_keys``, ``changes_json`` and ``size`` (given, else the number of changed keys)."""
    if not changes:
        return {"size": size}
    return {
        "changed_keys": [str(c["key"]) for c in changes],
        "changes_json": json.dumps(changes, sort_keys=True, ensure_ascii=False, default=str),
        "size": size if size is not None else len(changes),
    }


def _target(event: Event, source: str, prov: Provenance) -> Edge | HintedEdge:
    """TARGETS to ``content.target`` ({kind, name, namespace} or a reference), else a hint from ``subject.id``."""
    target = event.content.get("target")
    where = f"{_CONTENT}.target"
    if isinstance(target, dict):
        kind = opt(target, "kind", where) or "component"
        namespace = opt(target, "namespace", where) or "default"
        ref = f"{kind}:{namespace}/{get(target, 'name', where)}"
    elif isinstance(target, str) and target.strip():
        ref = target
    elif target is None:
        return _hinted_target(event, source, prov)
    else:
        raise FormatError(f"{where}: expected an object with 'kind' and 'name', got {describe(target)}")
    try:
        return Edge(RelType.TARGETS, source, entity_id(ref, default_kind="component"), prov)
    except FormatError as exc:
        raise FormatError(f"{where}: {exc}") from None


def _hinted_target(event: Event, source: str, prov: Provenance) -> HintedEdge:
    name = last_segment(event.subject_id)
    if not name:
        raise FormatError(f"subject.id: {event.subject_id!r} has no name to find the changed entity by")
    try:
        fallback: str | None = entity_id(name, default_kind="component")
    except FormatError:
        fallback = None
    return HintedEdge(RelType.TARGETS, source, EntityHint.of({"name": name}, fallback=fallback), prov)


def _bool_pair(content: dict[str, Any], changes: list[dict[str, Any]], flag: str) -> tuple[bool | None, bool | None]:
    """(enabled before, enabled after): ``content.enabled``, else a change keyed ``enabled``, ``on`` or the flag."""
    enabled = content.get("enabled")
    if isinstance(enabled, bool):
        return None, enabled
    if isinstance(enabled, dict):
        pair = enabled.get("old"), enabled.get("new")
    elif enabled is None:
        pair = next(((c["old"], c["new"]) for c in changes if c["key"] in ("enabled", "on", flag)), (None, None))
    else:
        raise FormatError(f"{_CONTENT}.enabled: expected a boolean or {{old, new}}, got {describe(enabled)}")
    old, new = pair
    return (old if isinstance(old, bool) else None), (new if isinstance(new, bool) else None)


def _kind_props(label: NodeLabel, event: Event, changes: list[dict[str, Any]]) -> dict[str, Any]:
    content = event.content
    if label is NodeLabel.FLAG_CHANGE:
        flag = opt(content, "flag", _CONTENT) or opt(content, "flagKey", _CONTENT) or last_segment(event.subject_id)
        old, new = _bool_pair(content, changes, flag)
        return {"flag": flag, "enabled_old": old, "enabled_new": new}
    if label is NodeLabel.MIGRATION:
        version = opt(content, "version", _CONTENT, (str, int))
        if version is None:
            version = next((c["new"] for c in changes if c["key"] in ("schema_version", "version")), None)
        return {
            "migration_version": version if isinstance(version, str | int) and not isinstance(version, bool) else None,
            "direction": opt(content, "direction", _CONTENT),
            "script": opt(content, "script", _CONTENT),
        }
    return {"config": opt(content, "name", _CONTENT) or last_segment(event.subject_id)}


def _name(label: NodeLabel, event: Event, props: dict[str, Any]) -> str:
    what = {NodeLabel.FLAG_CHANGE: "flag", NodeLabel.MIGRATION: "migration", NodeLabel.CONFIG_CHANGE: "config"}[label]
    subject = props.get("flag") or props.get("config") or last_segment(event.subject_id)
    detail = ", ".join(props.get("changed_keys") or [])
    return f"{what} {subject} {event.predicate}" + (f": {detail}" if detail else "")


def custom_event(event: Event, label: NodeLabel, prov: Provenance) -> ReadResult:
    """A ConfigChange, FlagChange or Migration node with TARGETS and IN_ENVIRONMENT edges."""
    content = event.content
    changes = normalise_changes(content.get("changes"), f"{_CONTENT}.changes")
    props = {
        **event.base_props,
        "tool": event.subject_kind.partition("-")[0],
        "predicate": event.predicate,
        "description": opt(content, "description", _CONTENT),
        "actor": opt(content, "author", _CONTENT) or opt(content, "user", _CONTENT),
        "url": opt(content, "url", _CONTENT),
        "outcome": opt(content, "outcome", _CONTENT),
        **change_props(changes, opt(content, "size", _CONTENT, int)),
    }
    props.update(_kind_props(label, event, changes))
    node_key = node_id(label, event.id)
    node = Node(node_key, label, prov, name=_name(label, event, props), props=props, at=event.at)
    result = ReadResult(nodes=[node])
    target = _target(event, node_key, prov)
    if isinstance(target, Edge):
        result.edges.append(target)
    else:
        result.hinted.append(target)
    env = environment_ref(content)
    if env:
        result.edges.append(Edge(RelType.IN_ENVIRONMENT, node_key, env[0], prov))
    return result
