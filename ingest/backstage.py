"""Backstage catalog files (``catalog-info.yaml``) -> topology nodes and edges.

Each document with ``apiVersion: backstage.io/v1alpha1`` (or ``v1beta1``) is one
entity. Components become services, Groups teams, Users people; the relations
in ``spec`` become edges, with entity references resolved the way Backstage
resolves them (``[kind:][namespace/]name``, case-insensitive, the kind implied
by the field and the namespace by the referring entity)::

    apiVersion: backstage.io/v1alpha1
    kind: Component
    metadata: {name: checkout, namespace: shop}
    spec: {type: service, owner: team-orders, consumesApis: [payments-api]}

gives ``service:shop/checkout`` with ``OWNED_BY -> team:shop/team-orders`` and
``CONSUMES_API -> api:shop/payments-api``. ``Location`` entities are followed
to relative files on disk (never over the network). See docs/formats/backstage.md.
"""

from __future__ import annotations

import posixpath
import re
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any, cast

from graph.errors import FormatError, VidyaError
from graph.model import Edge, Node, Props, Provenance, edge_id
from graph.schema import RELS, NodeLabel, RelType, label_of
from ingest import registry
from ingest.ids import KIND_LABELS, entity_id
from ingest.records import ReadContext, ReadResult, RecordError, SourceFile
from ingest.yaml_fields import list_field, mapping_field, read_yaml_documents, string_field, type_name

API_VERSIONS = ("backstage.io/v1alpha1", "backstage.io/v1beta1")
READ_KINDS = "API, Component, Domain, Group, Location, Resource, System, User"
SNIFF_BYTES = 16_384
TEXT_LIMIT = 2_000
ANNOTATION_LIMIT = 1_000
MAX_TARGET_BYTES = 10 * 1024 * 1024
MAX_TARGET_FILES = 500
MAX_DEPTH = 5
CATALOG_NAMES = frozenset({"catalog-info.yaml", "catalog-info.yml"})
#: annotations that are bookkeeping of some tool, not facts about the entity
SKIPPED_ANNOTATIONS = frozenset({
    "backstage.io/managed-by-location",
    "backstage.io/managed-by-origin-location",
    "kubectl.kubernetes.io/last-applied-configuration",
})

_SNIFF = re.compile(rb"^[ \t]*[\"']?apiVersion[\"']?[ \t]*:[ \t]*[\"']?backstage\.io/v1(?:alpha1|beta1)\b", re.M)
_NAME = re.compile(r"^(?=.{1,63}$)[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?$")
_NAMESPACE = re.compile(r"^(?=.{1,63}$)[a-z0-9]+(?:-+[a-z0-9]+)*$")
_GLOB = re.compile(r"[*?\[]")

R = RelType


@dataclass(frozen=True, slots=True)
class Relation:
    """A ``spec`` field that names other entities, and the edge each name becomes."""

    key: str
    type: RelType
    #: kind of a reference that gives none; ``None`` means the reference must name its kind
    default_kind: str | None
    many: bool = True
    #: the edge runs from the referenced entity to the one that names it
    reverse: bool = False


_OWNER = Relation("owner", R.OWNED_BY, "group", many=False)
_SYSTEM = Relation("system", R.PART_OF, "system", many=False)
_DEPENDS_ON = Relation("dependsOn", R.DEPENDS_ON, None)
_DEPENDENCY_OF = Relation("dependencyOf", R.DEPENDS_ON, None, reverse=True)

#: the relation fields read for each kind
RELATIONS: dict[str, tuple[Relation, ...]] = {
    "component": (
        _OWNER,
        _SYSTEM,
        Relation("subcomponentOf", R.SUBCOMPONENT_OF, "component", many=False),
        Relation("providesApis", R.PROVIDES_API, "api"),
        Relation("consumesApis", R.CONSUMES_API, "api"),
        _DEPENDS_ON,
        _DEPENDENCY_OF,
    ),
    "resource": (_OWNER, _SYSTEM, _DEPENDS_ON, _DEPENDENCY_OF),
    "api": (_OWNER, _SYSTEM),
    "system": (_OWNER, Relation("domain", R.PART_OF, "domain", many=False)),
    "domain": (_OWNER, Relation("subdomainOf", R.PART_OF, "domain", many=False)),
    "group": (
        Relation("parent", R.MEMBER_OF, "group", many=False),
        Relation("children", R.MEMBER_OF, "group", reverse=True),
        Relation("members", R.MEMBER_OF, "user", reverse=True),
    ),
    "user": (Relation("memberOf", R.MEMBER_OF, "group"),),
}


# --- YAML and field helpers (the kubernetes reader shares them) ---------------


@dataclass(frozen=True, slots=True)
class Entity:
    kind: str  # lower case
    name: str
    namespace: str  # lower case
    metadata: dict[str, Any]
    spec: dict[str, Any]

    @property
    def id(self) -> str:
        return entity_id(f"{self.kind}:{self.namespace}/{self.name}")


def parse_entity(doc: object) -> Entity | None:
    """The entity a document describes; ``None`` for Backstage kinds Vidya does not model (templates)."""
    if not isinstance(doc, dict):
        raise FormatError(f"expected a mapping with apiVersion, kind and metadata, got {type_name(doc)}")
    api_version = string_field(doc, "apiVersion", "", required=True) or ""
    kind_text = string_field(doc, "kind", "", required=True) or ""
    kind = kind_text.lower()
    if kind == "template" or (api_version not in API_VERSIONS and api_version.split("/")[0].endswith(".backstage.io")):
        return None
    if api_version not in API_VERSIONS:
        raise FormatError(f"apiVersion {api_version!r}: not a Backstage catalog entity (expected {' or '.join(API_VERSIONS)})")
    if kind not in KIND_LABELS and kind != "location":
        raise FormatError(f"kind {kind_text!r}: not a catalog kind Vidya reads (expected one of {READ_KINDS})")
    metadata = mapping_field(doc, "metadata", "", required=True)
    name = string_field(metadata, "name", "metadata.", required=True) or ""
    if not _NAME.match(name):
        raise FormatError(
            f"metadata.name {name[:80]!r}: expected 1-63 letters, digits, '-', '_' or '.', starting and ending alphanumeric"
        )
    namespace = (string_field(metadata, "namespace", "metadata.") or "default").lower()
    if not _NAMESPACE.match(namespace):
        raise FormatError(f"metadata.namespace {namespace[:80]!r}: expected a DNS label (letters, digits and '-')")
    return Entity(kind, name, namespace, metadata, mapping_field(doc, "spec", ""))


def _flattened(mapping: dict[str, Any], prefix: str, skip: frozenset[str] = frozenset()) -> dict[str, object]:
    return {
        f"{prefix}{key}": value[:ANNOTATION_LIMIT]
        for key, value in mapping.items()
        if isinstance(key, str) and isinstance(value, str) and value and key not in skip
    }


def _kind_props(entity: Entity) -> dict[str, object]:
    """Properties only some kinds have: an API's definition, a person's or team's profile."""
    if entity.kind == "api":
        definition = entity.spec.get("definition")
        if isinstance(definition, str):
            return {"definition_excerpt": definition[:TEXT_LIMIT]}
        if isinstance(definition, dict) and len(definition) == 1:  # a $text / $json / $yaml substitution
            ((how, where),) = definition.items()
            return {"definition_ref": f"{how} {where}"} if isinstance(where, str) else {}
        return {}
    if entity.kind in ("user", "group"):
        profile = mapping_field(entity.spec, "profile", "spec.")
        return {
            "email": string_field(profile, "email", "spec.profile."),
            "display_name": string_field(profile, "displayName", "spec.profile."),
        }
    return {}


def entity_props(entity: Entity) -> Props:
    """The node properties of an entity; the model checks their types."""
    md, spec = entity.metadata, entity.spec
    description = string_field(md, "description", "metadata.")
    links = md.get("links")
    tags = list_field(md, "tags", "metadata.")
    props: dict[str, object] = {
        "namespace": entity.namespace,
        "title": string_field(md, "title", "metadata."),
        "description": description[:TEXT_LIMIT] if description else None,
        "type": string_field(spec, "type", "spec."),
        "lifecycle": string_field(spec, "lifecycle", "spec."),
        "tags": tags or None,
        "link_count": len(links) if isinstance(links, list) else None,
    }
    props.update(_kind_props(entity))
    props.update(_flattened(mapping_field(md, "labels", "metadata."), "label:"))
    props.update(_flattened(mapping_field(md, "annotations", "metadata."), "annotation:", SKIPPED_ANNOTATIONS))
    return cast(Props, {key: value for key, value in props.items() if value is not None})


def _references(entity: Entity, relation: Relation) -> list[tuple[str, object]]:
    """(field path, raw reference) for each reference the relation field holds."""
    raw = entity.spec.get(relation.key)
    at = f"spec.{relation.key}"
    if raw is None:
        return []
    if not relation.many or not isinstance(raw, list):
        return [(at, raw)]
    return [(f"{at}[{index}]", item) for index, item in enumerate(raw)]


def _target(entity: Entity, relation: Relation, ref: object) -> str:
    if not isinstance(ref, str) or not ref.strip():
        raise FormatError(f"expected an entity reference string, got {type_name(ref)}")
    target = entity_id(ref, default_kind=relation.default_kind, default_namespace=entity.namespace)
    target_label, allowed = label_of(target), RELS[relation.type].sources if relation.reverse else RELS[relation.type].targets
    if target_label not in allowed:
        *others, last = sorted(label.value for label in allowed)
        wanted = f"{', '.join(others)} or {last}" if others else last
        raise FormatError(f"{ref!r} names a {target_label}; {relation.type} here must name one of: {wanted}")
    return target


def relation_edges(entity: Entity, prov: Provenance) -> Iterator[Edge | str]:
    """The edges the entity's relation fields assert; a bad reference yields its message instead."""
    for relation in RELATIONS.get(entity.kind, ()):
        for at, ref in _references(entity, relation):
            try:
                target = _target(entity, relation, ref)
                src, dst = (target, entity.id) if relation.reverse else (entity.id, target)
                yield Edge(type=relation.type, src=src, dst=dst, provenance=prov)
            except VidyaError as exc:
                yield f"{at}: {exc}"


def api_dependencies(edges: dict[str, Edge]) -> list[Edge]:
    """``DEPENDS_ON`` from each service consuming an API to each service providing it (none asserted already)."""
    providers: dict[str, list[str]] = defaultdict(list)
    for edge in edges.values():
        if edge.type is R.PROVIDES_API and label_of(edge.src) is NodeLabel.SERVICE:
            providers[edge.dst].append(edge.src)
    found: dict[str, tuple[Edge, list[str]]] = {}
    for edge in edges.values():
        if edge.type is not R.CONSUMES_API or label_of(edge.src) is not NodeLabel.SERVICE:
            continue
        for provider in providers.get(edge.dst, ()):
            key = edge_id(R.DEPENDS_ON, edge.src, provider)
            if provider != edge.src and key not in edges:
                found.setdefault(key, (Edge(R.DEPENDS_ON, edge.src, provider, edge.provenance), []))[1].append(edge.dst)
    return [
        Edge(R.DEPENDS_ON, e.src, e.dst, e.provenance, props={"inferred_from": "consumesApis", "via_apis": sorted(apis)})
        for e, apis in found.values()
    ]


# --- reading a file and the files its locations name -----------------------------


@dataclass(slots=True)
class _Walk:
    """State of one read: the top file, the directory locations may not leave, what was found."""

    ctx: ReadContext
    top: SourceFile
    root: Path | None
    result: ReadResult = field(default_factory=ReadResult)
    defined: dict[str, str] = field(default_factory=dict)
    edges: dict[str, Edge] = field(default_factory=dict)
    visited: set[Path] = field(default_factory=set)
    skipped: int = 0

    def error(self, file: SourceFile, where: str, message: str) -> None:
        location = where if file.path == self.top.path else f"{file.path} {where}"
        self.result.errors.append(RecordError(location, message))


def _read_documents(walk: _Walk, file: SourceFile, depth: int) -> None:
    for number, (line, doc) in enumerate(read_yaml_documents(file), start=1):
        if doc is None:
            continue
        where = f"document {number} (line {line})"
        try:
            _read_entity(walk, file, doc, where, depth)
        except VidyaError as exc:
            walk.error(file, where, str(exc))


def _read_entity(walk: _Walk, file: SourceFile, doc: object, where: str, depth: int) -> None:
    entity = parse_entity(doc)
    if entity is None:
        walk.skipped += 1
        return
    if entity.kind == "location":
        _follow_location(walk, file, entity, where, depth)
        return
    if entity.id in walk.defined:
        raise FormatError(f"{entity.id} is defined twice (first in {walk.defined[entity.id]}); this one is skipped")
    prov = walk.ctx.provenance(file, where)
    node = Node(id=entity.id, label=KIND_LABELS[entity.kind], provenance=prov, name=entity.name, props=entity_props(entity))
    walk.defined[entity.id] = f"{file.path} {where}"
    walk.result.nodes.append(node)
    for edge in relation_edges(entity, prov):
        if isinstance(edge, str):
            walk.error(file, where, edge)
        else:
            walk.edges.setdefault(edge.id, edge)


def _location_targets(spec: dict[str, Any]) -> list[tuple[str, str]]:
    target = string_field(spec, "target", "spec.")
    found = [("spec.target", target)] if target else []
    targets = list_field(spec, "targets", "spec.")
    return found + [(f"spec.targets[{index}]", item) for index, item in enumerate(targets) if item]


def _follow_location(walk: _Walk, file: SourceFile, entity: Entity, where: str, depth: int) -> None:
    targets = _location_targets(entity.spec)
    if not targets:
        raise FormatError("Location: spec.target or spec.targets is required")
    for at, target in targets:
        try:
            for path in _resolve_target(walk, file, target):
                _read_target(walk, path, depth + 1)
        except VidyaError as exc:
            walk.error(file, where, f"{at} {target[:200]!r}: {exc}")


def _resolve_target(walk: _Walk, file: SourceFile, target: str) -> list[Path]:
    if "://" in target or re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I):
        raise FormatError("remote location not fetched (only files relative to the catalog file are read)")
    if walk.root is None or file.origin is None:
        raise FormatError("not read: the catalog was not read from a file on disk")
    if target.startswith(("/", "\\")) or Path(target).is_absolute():
        raise FormatError("expected a path relative to the catalog file")
    pattern = _GLOB.search(target) is not None
    try:  # RuntimeError: a symbolic link loop (Python 3.11)
        base = file.origin.resolve().parent
        found = [path.resolve() for path in (islice(base.glob(target), MAX_TARGET_FILES) if pattern else [base / target])]
        if any(not path.is_relative_to(walk.root) for path in found):
            raise FormatError("leaves the catalog file's directory (locations are read only inside it)")
        files = sorted(path for path in found if path.is_file())
    except (OSError, ValueError, NotImplementedError, RuntimeError) as exc:
        raise FormatError(f"cannot resolve the path ({exc})") from None
    if not pattern and not files:
        raise FormatError("no such file")
    return files


def _read_target(walk: _Walk, real: Path, depth: int) -> None:
    assert walk.root is not None
    if real in walk.visited:
        return
    if depth > MAX_DEPTH:
        raise FormatError(f"locations nested deeper than {MAX_DEPTH} levels are not followed")
    if len(walk.visited) > MAX_TARGET_FILES:
        raise FormatError(f"more than {MAX_TARGET_FILES} location targets; the rest are not read")
    rel = real.relative_to(walk.root).as_posix()
    path = posixpath.normpath(posixpath.join(posixpath.dirname(walk.top.path), rel))
    try:
        size = real.stat().st_size
        if size > MAX_TARGET_BYTES:
            raise FormatError(f"{path}: {size} bytes is over the {MAX_TARGET_BYTES}-byte limit for location targets")
        data = real.read_bytes()
    except OSError as exc:
        raise FormatError(f"{path}: cannot be read ({exc.strerror})") from None
    walk.visited.add(real)
    _read_documents(walk, SourceFile(path=path, data=data, origin=real), depth)


def _resolved(path: Path | None) -> Path | None:
    try:
        return None if path is None else path.resolve()
    except (OSError, RuntimeError):
        return None


def _nothing_usable(walk: _Walk) -> FormatError:
    path = walk.top.path
    if walk.result.errors:
        first = walk.result.errors[0]
        more = len(walk.result.errors) - 1
        tail = f" (and {more} more problem{'s' if more != 1 else ''})" if more else ""
        return FormatError(f"{path}: no usable Backstage entities; {first}{tail}")
    found = f"{walk.skipped} document(s) of kinds Vidya does not model" if walk.skipped else "no entities"
    return FormatError(f"{path}: no usable Backstage entities ({found}; expected kinds {READ_KINDS})")


class BackstageReader:
    name = "backstage"
    description = "Backstage catalog files (catalog-info.yaml): components, APIs, resources, systems, groups, users"
    priority = registry.PRIORITY_TOPOLOGY
    version = "1"

    def sniff(self, file: SourceFile) -> bool:
        if file.is_directory or file.suffix not in (".yaml", ".yml"):
            return False
        if file.path.rsplit("/", 1)[-1].lower() in CATALOG_NAMES:
            return True
        return _SNIFF.search(file.data[:SNIFF_BYTES]) is not None

    def read(self, file: SourceFile, ctx: ReadContext) -> ReadResult:
        origin = None if file.is_directory else _resolved(file.origin)
        walk = _Walk(ctx, file, origin.parent if origin else None)
        walk.visited.update([origin] if origin else [])
        _read_documents(walk, file, depth=0)
        if not walk.result.nodes:
            raise _nothing_usable(walk)
        walk.result.edges.extend(walk.edges.values())
        walk.result.edges.extend(api_dependencies(walk.edges))
        return walk.result


READER = BackstageReader()
