"""The RCA scenario generator: deterministic, readable by the real readers, labels that match the graph."""

from __future__ import annotations

import filecmp
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from api.ingestion.pipeline import Ingester
from bench.rca.evaluate import evaluate, parse_time
from bench.rca.events import AlertSpec
from bench.rca.generator import GenSpec, generate, plan, read_labels
from bench.rca.presets import PRESETS
from graph.factory import GraphConfig, open_store
from graph.schema import NodeLabel, RelType, label_of
from graph.store import GraphStore
from ingest.actions import map_action

SMALL = GenSpec(services=16, scenarios=8, preset="hard", events=1500, days=10, seed=5)
CHANGE_LABELS = {"deploy": NodeLabel.DEPLOYMENT, "config": NodeLabel.CONFIG_CHANGE, "flag": NodeLabel.FLAG_CHANGE,
                 "migration": NodeLabel.MIGRATION}


def _ingest(spec: GenSpec, root: Path) -> tuple[GraphStore, list[dict[str, Any]], Any]:
    generated = generate(spec, root / "estate")
    store = open_store(GraphConfig(sqlite_path=root / "graph.db"))
    report = Ingester(store).run(generated.ingest_paths)
    return store, generated.labels, report


@pytest.fixture(scope="module")
def ingested(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[GraphStore, list[dict[str, Any]], Any]]:
    store, labels, report = _ingest(SMALL, tmp_path_factory.mktemp("rca"))
    try:
        yield store, labels, report
    finally:
        store.close()


def test_the_same_seed_gives_the_same_bytes(tmp_path: Path) -> None:
    spec = GenSpec(services=12, scenarios=4, preset="medium", events=600, days=6, seed=9)
    generate(spec, tmp_path / "a")
    generate(spec, tmp_path / "b")
    files = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*") if p.is_file())
    assert files and (tmp_path / "a" / "labels.jsonl").exists()
    _, mismatch, errors = filecmp.cmpfiles(tmp_path / "a", tmp_path / "b", [str(f) for f in files], shallow=False)
    assert mismatch == [] and errors == []
    other = generate(GenSpec(**{**spec.__dict__, "seed": 10}), tmp_path / "c")
    assert [x["cause"]["node_id"] for x in other.labels] != [x["cause"]["node_id"] for x in read_labels(tmp_path / "a")]


def test_the_readers_accept_every_file(ingested: tuple[GraphStore, list[dict[str, Any]], Any]) -> None:
    _, _, report = ingested
    assert report.ok, [(s.path, s.error) for s in report.sources if s.error]
    assert {s.type for s in report.sources} == {"backstage", "cdevents", "alertmanager", "pagerduty", "postmortem"}
    assert all(not s.record_errors for s in report.sources)
    assert report.unresolved_references == 0


def _targets(store: GraphStore, node_id: str, rel: RelType) -> set[str]:
    return {e.dst for e in store.incident_edges([node_id], "out", (rel,))}


def test_labels_point_at_the_events_in_the_graph(ingested: tuple[GraphStore, list[dict[str, Any]], Any]) -> None:
    store, labels, _ = ingested
    for label in labels:
        cause = label["cause"]
        node = store.get_node(cause["node_id"])
        assert node is not None and not node.placeholder, cause
        if cause["kind"] in CHANGE_LABELS:
            assert node.label is CHANGE_LABELS[cause["kind"]]
            assert node.props["cdevents_id"] == cause["source_event_id"]
            assert _targets(store, node.id, RelType.TARGETS) == {cause["entity"]}
            assert cause["node_id"] in _targets(store, label["incident_id"], RelType.CAUSED_BY)
        elif cause["kind"] == "traffic_spike":
            assert node.label is NodeLabel.ALERT and node.id == f"alert:{cause['source_event_id']}"
            assert _targets(store, node.id, RelType.AFFECTS) == {cause["entity"]}
        else:
            assert node.id == cause["entity"] and label_of(node.id) in (NodeLabel.SERVICE, NodeLabel.RESOURCE)
            if cause["source_event_id"]:
                assert _targets(store, f"alert:{cause['source_event_id']}", RelType.AFFECTS) == {cause["entity"]}
        page = store.get_node(label["alert_id"])
        assert page is not None and page.at == parse_time(label["detected_at"])
        assert _targets(store, page.id, RelType.AFFECTS) == {label["paging_service"]}


def test_the_fix_in_the_notes_maps_to_the_labelled_action(ingested: tuple[GraphStore, list[dict[str, Any]], Any]) -> None:
    store, labels, _ = ingested
    for label in labels:
        fixes = store.get_nodes(_targets(store, label["incident_id"], RelType.REMEDIATED_BY))
        assert label["fix"] in {n.props["action"] for n in fixes}
    assert map_action("Rolled back the latest cart-api release.") == "rollback_deploy"


def test_propagation_follows_the_dependency_graph(ingested: tuple[GraphStore, list[dict[str, Any]], Any]) -> None:
    store, labels, _ = ingested
    for label in labels:
        at = {step["entity"]: parse_time(step["at"]) for step in label["propagation"]}
        for step in label["propagation"]:
            if step["parent"] is None:
                assert step["entity"] == label["cause"]["entity"]
                continue
            caller, callee = step["entity"], step["parent"]
            if label["cause"]["kind"] == "traffic_spike":  # load flows from the caller down
                caller, callee = callee, caller
            assert callee in _targets(store, caller, RelType.DEPENDS_ON), step
            assert at[step["parent"]] <= at[step["entity"]]
        path = label["path"]
        assert path[0] == label["cause"]["entity"] and path[-1] == label["paging_service"]
        assert at[label["paging_service"]] == parse_time(label["detected_at"])
        assert [at[e] for e in path] == sorted(at[e] for e in path)


def _confounders(preset: str) -> Counter[str]:
    _, _, _, scenarios = plan(GenSpec(services=40, scenarios=40, preset=preset, events=2000, days=20, seed=3))
    return Counter(c for s in scenarios for c in s.confounders)


def test_presets_turn_their_confounders_on() -> None:
    easy, hard = _confounders("easy"), _confounders("hard")
    assert set(easy) <= {"nearby_deploy", "noisy_alerts", "config_or_flag"}
    assert set(PRESETS["hard"].rates) | {"config_or_flag", "no_change"} == set(hard)
    assert sum(hard.values()) > 2 * sum(easy.values())


def _ends(alert: AlertSpec) -> datetime:
    return alert.at + timedelta(minutes=alert.minutes)


def test_real_failures_alert_until_mitigated_and_decoys_mostly_resolve_within_minutes() -> None:
    _, _, _, scenarios = plan(GenSpec(services=40, scenarios=40, preset="hard", events=2000, days=20, seed=3))
    flapped = companions = 0
    for s in scenarios:
        assert s.detected_at is not None and s.page is not None and _ends(s.page) > s.detected_at
        for entity, alert in s.alert_of.items():
            same = [a for a in s.alerts if a.entity == entity and a.alertname == alert.alertname]
            # the alert, or its firing again after a flap, lasts past detection (mitigation comes 10-40 min after)
            assert max(_ends(a) for a in same) > s.detected_at + timedelta(minutes=10), (s.index, entity)
            flapped += len(same) > 1
            companions += any(a.entity == entity and a.alertname != alert.alertname for a in s.alerts)
    decoys = [a for s in scenarios for a in s.alerts if a.node_id in s.decoys]
    resolved = [a for a in decoys if a.minutes < 15]
    assert flapped and companions
    assert 0.4 * len(decoys) < len(resolved) < len(decoys), (len(resolved), len(decoys))


@pytest.mark.slow
def test_the_agent_beats_the_latest_change_anywhere_on_easy(tmp_path: Path) -> None:
    spec = GenSpec(services=20, scenarios=12, preset="easy", events=3000, days=10, seed=2)
    store, labels, report = _ingest(spec, tmp_path)
    try:
        assert report.ok
        result = evaluate(store, labels)
    finally:
        store.close()
    assert result.summary("agent").ac[1] > result.summary("latest_anywhere").ac[1]


def _annotations(store: GraphStore, entity: str) -> list[dict[str, Any]]:
    alerts = store.get_nodes([e.src for e in store.incident_edges([entity], "in", (RelType.AFFECTS,))])
    return [{k.removeprefix("annotation:"): v for k, v in a.props.items() if k.startswith("annotation:")} for a in alerts]


def test_failing_entities_alerts_name_the_change_and_other_alerts_sometimes_name_a_bystander(
    ingested: tuple[GraphStore, list[dict[str, Any]], Any],
) -> None:
    store, labels, _ = ingested
    named = 0
    for label in labels:
        cause = label["cause"]
        if cause["kind"] not in CHANGE_LABELS:
            continue
        node = store.get_node(cause["node_id"])
        assert node is not None
        name = {"deploy": "version", "flag": "flag", "config": "config", "migration": "migration_version"}[cause["kind"]]
        ids = {a["alert"] for a in label["propagation"] if a["entity"] == cause["entity"] and a["alert"]}
        for alert in store.get_nodes(ids):
            named += str(node.props[name]) in {str(v) for k, v in alert.props.items() if k.startswith("annotation:")}
    assert named, "no failing entity's alert names its change"
    everything = [a for entity in sorted({e for x in labels for e in x["path"]}) for a in _annotations(store, entity)]
    assert any(a for a in everything) and sum(1 for a in everything if a) < len(everything) / 2
