"""Link sections to the catalogue entities their text names.

A runbook section that says "check the `pricing` cache hit rate" is about the
``pricing`` service; the link (``Section -[MENTIONS]-> Service``) is what lets
search rank it higher for a question about pricing or its callers. Names are
matched as whole words, case-insensitively; names shorter than three
characters or common words (``api``, ``web``, ``cache``…) are never matched on
their own::

    edges = mention_edges(result.nodes, {"pricing": {"service:default/pricing"}})
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from graph.model import Edge, Node
from graph.schema import NodeLabel, RelType

MIN_NAME = 3
COMMON_WORDS = frozenset({
    "api", "app", "web", "db", "cache", "queue", "the", "and", "for", "pod", "node", "service", "server", "worker",
    "frontend", "backend", "gateway", "proxy", "admin", "auth", "search", "data", "core", "main", "test", "jobs",
})
_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*[A-Za-z0-9]")
#: a linked section counts at most this many entities (a catalogue listing is not "about" each)
MAX_LINKS = 8


def usable_names(names: Mapping[str, set[str]]) -> dict[str, frozenset[str]]:
    """The names worth matching, each with the one entity it names (ambiguous names are dropped)."""
    return {
        name: frozenset(ids) for name, ids in names.items()
        if len(ids) == 1 and len(name) >= MIN_NAME and name not in COMMON_WORDS and _TOKEN.fullmatch(name)
    }


def entities_named(text: str, names: Mapping[str, frozenset[str]]) -> list[str]:
    """Entity ids whose name appears in ``text`` as a whole token, in order of first mention."""
    found: list[str] = []
    for token in _TOKEN.findall(text):
        for candidate in {token.lower(), token.lower().rstrip(".")}:
            for entity in names.get(candidate, ()):
                if entity not in found:
                    found.append(entity)
    return found


def mention_edges(nodes: Iterable[Node], names: Mapping[str, frozenset[str]]) -> list[Edge]:
    """``MENTIONS`` edges from each section to the entities its heading and text name."""
    edges: list[Edge] = []
    for node in nodes:
        if node.label is not NodeLabel.SECTION:
            continue
        text = f"{node.name or ''}\n{node.props.get('text') or ''}"
        named = entities_named(text, names)
        if len(named) > MAX_LINKS:
            continue
        edges += [Edge(RelType.MENTIONS, node.id, entity, node.provenance) for entity in named]
    return edges
