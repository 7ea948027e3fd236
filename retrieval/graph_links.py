"""What retrieval asks the graph: which services a query names, their neighbourhood, and what documents link to.

    catalog = Catalog(store)
    catalog.named_in("checkout is timing out on payments")   # ['service:default/checkout', 'service:default/payments']
    catalog.neighbourhood(["service:default/checkout"], depth=1)
    document_links(store, ["runbook:runbooks/checkout.md"])  # {'runbook:…': {'service:default/checkout'}}
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Collection, Iterable

from graph.errors import NotFound
from graph.schema import NodeLabel, RelType, label_of
from graph.store import GraphStore

ENTITY_LABELS = (NodeLabel.SERVICE, NodeLabel.RESOURCE)
_TOPOLOGY_TYPES = (RelType.DEPENDS_ON,)
#: a document is linked to what it (or a section) mentions, and a postmortem to what its incident affected
_LINK_TYPES = (RelType.MENTIONS, RelType.DESCRIBES)
_WORD = re.compile(r"[a-z0-9][a-z0-9_.-]*[a-z0-9]|[a-z0-9]")
#: names this short or this common would match ordinary words in a question
_MIN_NAME = 3
_COMMON = frozenset({"api", "app", "web", "db", "cache", "queue", "the", "and", "for", "pod", "node", "service"})


class Catalog:
    """Service and resource names of the graph, read once per searcher (call :meth:`refresh` after an ingest)."""

    def __init__(self, store: GraphStore) -> None:
        self.store = store
        self._names: dict[str, set[str]] | None = None

    def refresh(self) -> None:
        self._names = None

    @property
    def names(self) -> dict[str, set[str]]:
        """Lower-cased name (and entity-ref name part) -> entity ids."""
        if self._names is None:
            names: dict[str, set[str]] = defaultdict(set)
            for label in ENTITY_LABELS:
                for node in self.store.find_nodes(label, limit=1_000_000):
                    for name in {node.name or "", node.id.split(":", 1)[1].rsplit("/", 1)[-1]}:
                        if len(name) >= _MIN_NAME and name.lower() not in _COMMON:
                            names[name.lower()].add(node.id)
            self._names = dict(names)
        return self._names

    def named_in(self, text: str) -> list[str]:
        """Entities whose name appears in ``text`` as a whole word (or hyphenated run of words)."""
        words = _WORD.findall(text.lower())
        found: list[str] = []
        for size in (3, 2, 1):  # "order-db" is one token; "payments api" two
            for i in range(len(words) - size + 1):
                for joiner in ("-", " ", "_") if size > 1 else ("",):
                    for entity in sorted(self.names.get(joiner.join(words[i : i + size]), ())):
                        if entity not in found:
                            found.append(entity)
        return found

    def resolve(self, service: str) -> list[str]:
        """A ``--service`` value (an id or a name) as entity ids; ``NotFound`` names what was asked."""
        value = service.strip()
        if ":" in value and label_of(value) in ENTITY_LABELS:
            if self.store.get_node(value) is None:
                raise NotFound(f"service {value!r}: no such service or resource in the graph")
            return [value]
        ids = sorted(self.names.get(value.lower(), ()))
        if not ids:
            raise NotFound(f"service {value!r}: no service or resource has that name (try `vidya stats` or an entity id)")
        return ids

    def neighbourhood(self, ids: Iterable[str], depth: int) -> set[str]:
        """Entities within ``depth`` ``DEPENDS_ON`` hops of ``ids``, in either direction (``ids`` excluded)."""
        start = set(ids)
        near: set[str] = set()
        if depth < 1:
            return near
        for entity in start:
            for hop in self.store.neighbours(entity, direction="both", types=_TOPOLOGY_TYPES, depth=depth):
                near.add(hop.node.id)
        return near - start


def document_links(store: GraphStore, ids: Collection[str]) -> dict[str, set[str]]:
    """For documents and sections in ``ids``: the services and resources they are linked to.

    Direct ``MENTIONS`` links count, and a postmortem's incident's ``AFFECTS`` targets.
    """
    links: dict[str, set[str]] = defaultdict(set)
    via: dict[str, set[str]] = defaultdict(set)  # incident -> the documents that describe it
    for edge in store.incident_edges(ids, "out", _LINK_TYPES):
        target = label_of(edge.dst)
        if target in ENTITY_LABELS:
            links[edge.src].add(edge.dst)
        elif target is NodeLabel.INCIDENT:
            via[edge.dst].add(edge.src)
    if via:
        for edge in store.incident_edges(list(via), "out", [RelType.AFFECTS]):
            if label_of(edge.dst) in ENTITY_LABELS:
                for document in via[edge.src]:
                    links[document].add(edge.dst)
    return links
