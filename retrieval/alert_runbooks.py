"""Runbook selection for an alert: which runbooks apply to this Alertmanager alert, and why.

Four signals, strongest first, each a reason in the result:

- ``runbook_url``: the alert's annotation ends with a runbook's source path
  (``…/blob/main/alerts/storage/CephMonQuorumAtRisk.md``) or names its file;
- ``alert name``: a runbook's title or file name is the alert's name;
- ``service``: the runbook is linked in the graph to the entity the alert's labels name;
- ``meaning``: hybrid search for the alert's name, summary and description.

    matches = select_runbooks(searcher, AlertQuery.from_node(alert_node, entities=["service:default/checkout"]))
    for m in matches:
        print(m.source, m.score, m.reasons)
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

from graph.model import Node
from graph.schema import NodeLabel
from retrieval.graph_links import document_links
from retrieval.search import Searcher, SearchHit

#: fixed scores of the exact signals; the meaning score (fused RRF, at most ~0.05) ranks below them
URL_SCORE = 3.0
NAME_SCORE = 2.0
SERVICE_SCORE = 0.5
_STEM = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True, slots=True)
class AlertQuery:
    """What selection reads from an alert: its name, labels, annotations and the entities it names."""

    name: str
    labels: dict[str, str] = field(default_factory=dict)
    summary: str = ""
    description: str = ""
    runbook_url: str = ""
    entities: tuple[str, ...] = ()

    @staticmethod
    def from_node(alert: Node, entities: tuple[str, ...] = ()) -> AlertQuery:
        """From an ``Alert`` node as :mod:`ingest.alertmanager` reads it."""
        props = alert.props
        labels = {k.removeprefix("label:"): str(v) for k, v in props.items() if k.startswith("label:")}
        return AlertQuery(
            name=alert.name or labels.get("alertname", ""), labels=labels, summary=str(props.get("summary") or ""),
            description=str(props.get("description") or ""), runbook_url=str(props.get("runbook_url") or ""),
            entities=entities,
        )

    def text(self) -> str:
        """The words the meaning search reads."""
        words = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", self.name)  # CephMonQuorumAtRisk -> Ceph Mon Quorum At Risk
        return " ".join(part for part in (words, self.summary, self.description) if part)


@dataclass(slots=True)
class RunbookMatch:
    """A runbook that applies to the alert, its best section for the alert's meaning, and why it was chosen."""

    document_id: str
    source: str
    title: str
    score: float
    reasons: list[str] = field(default_factory=list)
    section: SearchHit | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "document_id": self.document_id, "source": self.source, "title": self.title, "score": round(self.score, 6),
            "reasons": self.reasons, "section": self.section.as_json() if self.section else None,
        }


def _stem(text: str) -> str:
    return _STEM.sub("", text.lower())


def _url_path(url: str) -> str:
    return unquote(urlsplit(url.strip()).path).strip("/")


def select_runbooks(searcher: Searcher, alert: AlertQuery, k: int = 5) -> list[RunbookMatch]:
    """The runbooks that apply to ``alert``, best first."""
    store = searcher.store
    runbooks = store.find_nodes(NodeLabel.RUNBOOK, limit=1_000_000)
    matches: dict[str, RunbookMatch] = {}

    def add(doc: Node, score: float, reason: str) -> None:
        match = matches.setdefault(doc.id, RunbookMatch(doc.id, doc.provenance.source, doc.name or "", 0.0))
        match.score += score
        if reason not in match.reasons:
            match.reasons.append(reason)

    url_path = _url_path(alert.runbook_url) if alert.runbook_url else ""
    name = _stem(alert.name)
    for doc in runbooks:
        source = doc.provenance.source
        if url_path and (url_path.endswith(source) or source.endswith(url_path.rsplit("/", 1)[-1])):
            add(doc, URL_SCORE, "runbook_url")
        file_stem = _stem(source.rsplit("/", 1)[-1].rsplit(".", 1)[0])
        if name and (name == _stem(doc.name or "") or name == file_stem):
            add(doc, NAME_SCORE, "alert name")
    if alert.entities:
        links = document_links(store, [doc.id for doc in runbooks])
        wanted = set(alert.entities)
        for doc in runbooks:
            if links.get(doc.id, set()) & wanted:
                add(doc, SERVICE_SCORE, "service")
    by_id = {doc.id: doc for doc in runbooks}
    service = alert.entities[0] if alert.entities else None
    meaning = searcher.search(alert.text(), k=max(k, 10), kinds=["runbook"], service=service)
    for hit in meaning:
        found = by_id.get(hit.document_id)
        if found is None:
            continue
        add(found, hit.score, "meaning")
        matches[found.id].section = matches[found.id].section or hit
    ranked = sorted(matches.values(), key=lambda m: (-m.score, m.source))[:k]
    return ranked
