"""Resolve :class:`ingest.records.EntityHint` values to catalogue entities in the graph.

An alert says ``service="checkout"``, ``instance="orders-db-1.prod:5432"`` or
``pod="checkout-7d9f8c6b5-x2x9q"``; the catalogue knows entities by name,
Kubernetes id and annotations. Values are tried in :data:`DEFAULT_KEY_ORDER`;
the first value that names exactly one entity wins.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable

from graph.model import Edge, Node
from graph.schema import NodeLabel, label_of
from graph.store import GraphStore
from ingest.records import EntityHint, HintedEdge

DEFAULT_KEY_ORDER: tuple[str, ...] = (
    "service", "app", "app_kubernetes_io_name", "deployment", "job", "container", "name",
    "database", "queue", "topic", "instance", "pod", "namespace",
)
TOPOLOGY = (NodeLabel.SERVICE, NodeLabel.RESOURCE, NodeLabel.API, NodeLabel.SYSTEM)
_POD_SUFFIX = re.compile(r"^(?P<base>.+?)(?:-[a-z0-9]{8,10})?-[a-z0-9]{5}$")
_SPLIT = re.compile(r"[\s,;]+")


def _keys(value: str) -> set[str]:
    """The forms of a value an entity can be known by: itself, a host without port, a pod's workload."""
    value = value.strip().lower()
    forms = {value}
    if ":" in value and not value.startswith("["):
        forms.add(value.rsplit(":", 1)[0])
    forms.add(value.split(".", 1)[0])
    match = _POD_SUFFIX.match(value)
    if match:
        forms.add(match["base"])
    return {f for f in forms if f}


class Resolver:
    """Index of the current catalogue; rebuilt when topology changes."""

    def __init__(self, store: GraphStore, key_order: tuple[str, ...] = DEFAULT_KEY_ORDER) -> None:
        self._store = store
        self._key_order = key_order
        self._index: dict[str, set[str]] | None = None
        self.unresolved = 0

    def invalidate(self) -> None:
        self._index = None

    def ready(self) -> None:
        """Build the index now if it is stale (before a batch, so it reads the catalogue as committed)."""
        if self._index is None:
            self._index = self._build()

    def _build(self) -> dict[str, set[str]]:
        index: dict[str, set[str]] = defaultdict(set)
        for label in TOPOLOGY:
            for node in self._store.find_nodes(label, limit=1_000_000):
                for term in _terms(node):
                    index[term].add(node.id)
        return index

    def lookup(self, hint: EntityHint) -> str | None:
        """The id of the one entity the hint names, else its fallback."""
        self.ready()
        assert self._index is not None
        values = dict(hint.values)
        for key in [k for k in self._key_order if k in values] + sorted(set(values) - set(self._key_order)):
            for form in sorted(_keys(values[key]), key=len, reverse=True):
                found = {i for i in self._index.get(form, ()) if _label_ok(i, hint)}
                if len(found) == 1:
                    return found.pop()
        return hint.fallback

    def resolve(self, hinted: Iterable[HintedEdge]) -> list[Edge]:
        edges: list[Edge] = []
        for item in hinted:
            target = self.lookup(item.hint)
            if target is None:
                self.unresolved += 1
                continue
            edges.append(
                Edge(type=item.type, src=item.src, dst=target, provenance=item.provenance, props=item.props,
                     key=item.key, valid_from=item.valid_from)
            )
        return edges


def _label_ok(node_id: str, hint: EntityHint) -> bool:
    return label_of(node_id) in hint.labels


def _terms(node: Node) -> set[str]:
    terms: set[str] = set()
    if node.name:
        terms.add(node.name.lower())
    terms.add(node.id.split(":", 1)[1].rsplit("/", 1)[-1].lower())
    for key, value in node.props.items():
        if key.startswith("annotation:") and isinstance(value, str):
            terms.update(v.lower() for v in _SPLIT.split(value) if v)
    return terms
