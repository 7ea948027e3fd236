"""``vidya ask``: an extractive, cited answer from the best sections, then what the graph knows around it.

Nothing is generated: the answer is the text of the best sections, steps kept
as steps and commands verbatim, each passage numbered with its citation
(source path and heading). After it comes graph context: recent changes on the
services involved and similar past incidents with what was done and whether it
worked::

    answer = compose_answer(searcher, "ceph monitors lost quorum, what now?")
    print(answer.render_text())
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from graph.model import Node, now_utc
from graph.schema import NodeLabel, RelType
from graph.store import GraphStore
from retrieval.search import Searcher, SearchHit

CHANGE_LABELS = (NodeLabel.DEPLOYMENT, NodeLabel.CONFIG_CHANGE, NodeLabel.FLAG_CHANGE, NodeLabel.MIGRATION)
#: passages whose score is below this share of the best one are left out of the answer
RELATIVE_FLOOR = 0.6
MAX_PASSAGES = 3
MAX_INCIDENTS = 5


@dataclass(frozen=True, slots=True)
class Passage:
    citation: int
    hit: SearchHit

    def as_json(self) -> dict[str, Any]:
        return {"citation": self.citation, "source": self.hit.source, "heading": self.hit.heading,
                "node_id": self.hit.node_id, "score": round(self.hit.score, 6), "text": self.hit.text}


@dataclass(slots=True)
class PastIncident:
    id: str
    title: str
    at: datetime | None
    actions: list[tuple[str, str]] = field(default_factory=list)  # (action, outcome)

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "at": self.at.isoformat() if self.at else None,
                "actions": [{"action": a, "outcome": o} for a, o in self.actions]}


@dataclass(slots=True)
class Answer:
    question: str
    passages: list[Passage]
    services: list[str] = field(default_factory=list)
    changes: list[Node] = field(default_factory=list)
    incidents: list[PastIncident] = field(default_factory=list)
    #: the passages rewritten by an LLM (``retrieval.llm.rewrite``), citations kept; None: extractive only
    rewritten: str | None = None

    @property
    def found(self) -> bool:
        return bool(self.passages)

    def as_json(self) -> dict[str, Any]:
        return {
            "question": self.question, "found": self.found, "answer": self.render_text(context=False, rewritten=False),
            "rewritten": self.rewritten,
            "passages": [p.as_json() for p in self.passages],
            "citations": [{"n": p.citation, "source": p.hit.source, "heading": p.hit.heading} for p in self.passages],
            "context": {
                "services": self.services,
                "recent_changes": [
                    {"id": n.id, "kind": str(n.label), "name": n.name, "at": n.at.isoformat() if n.at else None}
                    for n in self.changes
                ],
                "past_incidents": [i.as_json() for i in self.incidents],
            },
        }

    def render_text(self, context: bool = True, rewritten: bool = True) -> str:
        """The answer as plain text: passages with ``[n]`` markers (or their rewrite), the sources, then the graph context."""
        if not self.passages:
            return "No runbook or postmortem section matches the question."
        lines: list[str] = []
        if rewritten and self.rewritten:
            lines += [self.rewritten.strip(), ""]
        else:
            for p in self.passages:
                lines += [f"[{p.citation}] {p.hit.heading}", p.hit.text.strip(), ""]
        lines.append("Sources:")
        lines += [f"  [{p.citation}] {p.hit.source} › {p.hit.heading.rsplit(' › ', 1)[-1]}" for p in self.passages]
        if context and (self.changes or self.incidents):
            lines.append("")
            lines += self._context_lines()
        return "\n".join(lines)

    def _context_lines(self) -> list[str]:
        lines: list[str] = []
        if self.changes:
            lines.append("Recent changes on " + ", ".join(self.services) + ":")
            lines += [f"  {n.at:%Y-%m-%d %H:%M} {n.label} {n.name or n.id}" for n in self.changes if n.at]
        if self.incidents:
            lines.append("Similar past incidents:")
            for inc in self.incidents:
                when = f"{inc.at:%Y-%m-%d} " if inc.at else ""
                done = "; ".join(f"{a} ({o})" for a, o in inc.actions) or "no recorded action"
                lines.append(f"  {when}{inc.title}: {done}")
        return lines


def compose_answer(
    searcher: Searcher, question: str, *, k: int = 5, service: str | None = None, at: datetime | None = None,
    changes_window: timedelta = timedelta(days=7),
) -> Answer:
    """Search, keep the passages close to the best one, and add the graph context of the services involved."""
    hits = searcher.search(question, k=k, service=service)
    passages: list[Passage] = []
    for hit in hits:
        if len(passages) == MAX_PASSAGES or (passages and hit.score < RELATIVE_FLOOR * passages[0].hit.score):
            break
        passages.append(Passage(len(passages) + 1, hit))
    services = list(dict.fromkeys(
        [*(searcher.catalog.resolve(service) if service else []), *searcher.catalog.named_in(question),
         *(s for p in passages for s in p.hit.services)]
    ))
    answer = Answer(question, passages, services)
    if services:
        when = at or now_utc()
        answer.changes = _recent_changes(searcher.store, services, when - changes_window, when)
        answer.incidents = _past_incidents(searcher.store, services, when)
    return answer


def _recent_changes(store: GraphStore, services: list[str], start: datetime, end: datetime) -> list[Node]:
    events = store.events(CHANGE_LABELS, start, end, services, limit=1000)
    return [e.node for e in events][-10:][::-1]


def _past_incidents(store: GraphStore, services: list[str], before: datetime) -> list[PastIncident]:
    incident_ids = {e.src for e in store.incident_edges(services, "in", [RelType.AFFECTS]) if e.src.startswith("incident:")}
    incidents = [n for n in store.get_nodes(incident_ids) if n.at is None or n.at <= before]
    incidents.sort(key=lambda n: (n.at or before, n.id), reverse=True)
    found = [PastIncident(n.id, n.name or n.id, n.at) for n in incidents[:MAX_INCIDENTS]]
    by_id = {i.id: i for i in found}
    remediations = store.incident_edges(list(by_id), "out", [RelType.REMEDIATED_BY])
    outcomes = {e.src: e.dst for e in store.incident_edges([e.dst for e in remediations], "out", [RelType.HAS_OUTCOME])}
    names = {n.id: n.name or "" for n in store.get_nodes({e.dst for e in remediations} | set(outcomes.values()))}
    for edge in remediations:
        outcome = outcomes.get(edge.dst)
        by_id[edge.src].actions.append((names.get(edge.dst, "unknown"), names.get(outcome, "unknown") if outcome else "unknown"))
    return found
