"""Events linked to entities, read with their nodes in one Neo4j statement.

A diagnosis asks, for a few entities, which changes (``TARGETS``) or alerts
(``AFFECTS``) point at them within a period. Read as edges and then nodes,
that is two round trips carrying every edge's properties, which nobody uses;
here the server keeps only the events in the period and returns each event's
properties once, with the entities it points at::

    found = store.linked_events(["service:default/payments"], RelType.TARGETS, [NodeLabel.DEPLOYMENT], start, end)
    [(node.id, entities) for node, entities in found]

The answer is the one :meth:`graph.traversal.TraversalMixin.linked_events` builds from
``incident_edges`` and ``get_nodes``: edges as the graph stood at ``end``,
current event nodes with ``start <= at < end`` (not retired, not placeholders).
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from graph import neo4j_cypher as cy
from graph.model import Node
from graph.neo4j_records import Decoder, to_micros
from graph.schema import NodeLabel, RelType, label_of
from graph.traversal import current_event_in


class Neo4jEventReadsMixin:
    """``linked_events`` of :class:`graph.neo4j_store.Neo4jGraphStore`."""

    # provided by the store ---------------------------------------------------------
    def _rows(self, query: str, **params: Any) -> list[Any]:
        raise NotImplementedError

    def _time_params(self, as_of: datetime | None) -> dict[str, Any]:
        raise NotImplementedError

    def linked_events(
        self,
        entities: Collection[str],
        link: RelType,
        labels: Collection[NodeLabel],
        start: datetime,
        end: datetime,
    ) -> list[tuple[Node, list[str]]]:
        """Current events of ``labels`` with ``start <= at < end`` that ``link`` points at ``entities`` with.

        Each event once, with the entities (in id order) its visible ``link`` edges at ``end`` reach.
        """
        kinds = {NodeLabel(label) for label in labels}
        if not entities or not kinds:
            return []
        params = self._time_params(end) | {
            "ids": sorted(set(entities)), "type": str(RelType(link)), "kinds": sorted(str(k) for k in kinds),
            "start": to_micros(start), "end": to_micros(end),
        }
        decode = Decoder()
        found = []
        for row in self._rows(cy.LINKED_EVENTS, **params):
            node = decode.node(row["p"])
            # the generic read picks events by the label in their id, then by the node's own label
            if label_of(node.id) in kinds and node.label in kinds and current_event_in(node, start, end):
                found.append((node, sorted(row["entities"])))
        return sorted(found, key=lambda pair: (pair[0].at or end, pair[0].id))
