"""Save a diagnosis into the graph, linked to what it is about and what it suspects, in one batch.

    (Anomaly)-[:AFFECTS]->(entity)
    (Diagnosis)-[:DIAGNOSES]->(Anomaly)          and ->(Alert) when an ingested alert raised it
    (Alert)-[:TRIGGERED]->(Anomaly)
    (Diagnosis)-[:SUSPECTS {rank, confidence, kind}]->(change | entity | traffic alert)

Every record carries the provenance source ``agents/diagnosis``, the diagnosis
run id, and the diagnosis id as its location.
"""

from __future__ import annotations

import json

from agents.audit import entry_records
from agents.records import CandidateKind, Diagnosis, short_name
from agents.scoring import MODEL_VERSION
from graph.model import Edge, Node, Props, Provenance
from graph.schema import NodeLabel, RelType
from graph.store import GraphStore

SOURCE = "agents/diagnosis"


def _ranking(diagnosis: Diagnosis) -> str:
    rows = [
        {"rank": c.rank, "kind": str(c.kind), "node_id": c.node_id, "confidence": round(c.confidence, 4)}
        for c in diagnosis.candidates
    ]
    return json.dumps(rows, separators=(",", ":"))


def diagnosis_records(diagnosis: Diagnosis, alert_known: bool) -> tuple[list[Node], list[Edge]]:
    """The nodes and edges that record ``diagnosis`` (``alert_known``: the raising alert is in the graph)."""
    anomaly = diagnosis.anomaly
    prov = Provenance(source=SOURCE, run_id=diagnosis.run_id, location=diagnosis.id, ingested_at=diagnosis.created_at)
    optional = {"signal": anomaly.signal, "alert": anomaly.alert_id, "environment": anomaly.environment}
    anomaly_props: Props = {"entity": anomaly.service, **{k: v for k, v in optional.items() if v}}
    anomaly_node = Node(anomaly.node_id, NodeLabel.ANOMALY, prov, name=f"{anomaly.signal or 'anomaly'} on "
                        f"{short_name(anomaly.service)}", props=anomaly_props, at=anomaly.at)
    top = diagnosis.top
    unknown = next(c.confidence for c in diagnosis.candidates if c.kind is CandidateKind.UNKNOWN)
    diagnosis_node = Node(
        diagnosis.id, NodeLabel.DIAGNOSIS, prov, name=f"diagnosis of {anomaly_node.name}", at=diagnosis.created_at,
        props={
            "anomaly": anomaly.node_id, "ranking": _ranking(diagnosis), "top_kind": str(top.kind),
            "top_node": top.node_id or "", "top_confidence": round(top.confidence, 4),
            "unknown_confidence": round(unknown, 4), "window_start": diagnosis.window_start.isoformat(),
            "window_end": diagnosis.window_end.isoformat(), "widened": diagnosis.widened,
            "config": diagnosis.config_name, "model": MODEL_VERSION, "candidates": len(diagnosis.candidates),
        },
    )
    edges = [
        Edge(RelType.AFFECTS, anomaly.node_id, anomaly.service, prov),
        Edge(RelType.DIAGNOSES, diagnosis.id, anomaly.node_id, prov),
    ]
    if anomaly.alert_id and alert_known:
        edges += [Edge(RelType.DIAGNOSES, diagnosis.id, anomaly.alert_id, prov),
                  Edge(RelType.TRIGGERED, anomaly.alert_id, anomaly.node_id, prov)]
    for c in diagnosis.candidates:
        if c.node_id is not None:
            props: Props = {"rank": c.rank, "confidence": round(c.confidence, 4), "kind": str(c.kind)}
            edges.append(Edge(RelType.SUSPECTS, diagnosis.id, c.node_id, prov, props=props, key=str(c.kind)))
    return [anomaly_node, diagnosis_node], edges


def audit_records(diagnosis: Diagnosis) -> tuple[Node, list[Edge]]:
    """The audit entry of a diagnosis: its input anomaly and its ranked output."""
    anomaly, top = diagnosis.anomaly, diagnosis.top
    return entry_records(
        "diagnosis", [diagnosis.id, anomaly.node_id],
        {"anomaly": anomaly.node_id, "entity": anomaly.service, "signal": anomaly.signal,
         "detected_at": anomaly.at.isoformat()},
        {"candidates": [{"rank": c.rank, "kind": str(c.kind), "node_id": c.node_id, "entity": c.entity,
                         "confidence": round(c.confidence, 4)} for c in diagnosis.candidates]},
        None, "vidya", diagnosis.created_at, target=anomaly.service, run_id=diagnosis.run_id,
        summary=f"top cause {top.kind} {top.node_id or ''} at {top.confidence:.0%}".replace("  ", " "),
    )


def save_diagnosis(store: GraphStore, diagnosis: Diagnosis) -> None:
    """Write the diagnosis, its links and its audit entry in one all-or-nothing batch."""
    alert_known = bool(diagnosis.anomaly.alert_id) and store.get_node(diagnosis.anomaly.alert_id or "") is not None
    nodes, edges = diagnosis_records(diagnosis, alert_known)
    entry, entry_edges = audit_records(diagnosis)
    with store.batch() as batch:
        batch.upsert_nodes([*nodes, entry])
        batch.upsert_edges([*edges, *entry_edges])
