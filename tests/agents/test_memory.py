"""Feedback memory: records seeded from the demo estate's notes and postmortems, and recorded outcomes."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from agents.audit import audit_entries
from agents.config import preset
from agents.diagnosis import diagnose
from agents.history import load_history
from agents.memory import load_cases, load_records, record_outcome
from agents.records import Anomaly, CandidateKind, Diagnosis
from api.ingestion.pipeline import Ingester
from graph.errors import NotFound, RecordError
from graph.schema import NodeLabel, RelType
from graph.store import GraphStore
from ingest.actions import map_action
from tests.agents.helpers import ESTATE, Builder, T, estate_store, ground_truth, shop, svc

_FIX = re.compile(r"^\| \d+ \|.*\| `(P\w+)` \|.*\| ([^|]+) \|\s*$")


def _norm(text: str) -> str:
    return " ".join(text.lower().split())


@pytest.fixture(scope="module")
def estate(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GraphStore]:
    with estate_store(tmp_path_factory.mktemp("memory")) as store:
        yield store


def _notes() -> dict[str, list[str]]:
    """Each PagerDuty incident's note texts, read from the files."""
    out = {}
    for path in sorted((ESTATE / "incidents").glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        out[f"incident:{data['incident']['id']}"] = [n["content"] for n in data["notes"]]
    return out


@pytest.mark.slow
def test_every_note_that_names_an_action_is_one_record(estate: GraphStore) -> None:
    cases = {c.id: c for c in load_cases(estate)}
    assert len(cases) == 32
    notes = _notes()
    expected = {(i, map_action(t), _norm(t)) for i, texts in notes.items() for t in texts if map_action(t) != "unknown"}
    seeded = {(r.case_id, r.action, _norm(r.original_text or "")) for c in cases.values() for r in c.records}
    assert expected <= seeded
    postmortems = " ".join(_norm(p.read_text(encoding="utf-8")) for p in (ESTATE / "postmortems").glob("*.md"))
    for case in cases.values():
        keys = [(r.action, _norm(r.original_text or "")) for r in case.records]
        assert len(keys) == len(set(keys)), f"{case.id}: a note and its postmortem line counted twice"
        for record in case.records:
            assert record.source == "ingested" and record.original_text
            text = _norm(record.original_text)
            assert text in {_norm(t) for t in notes[case.id]} or text in postmortems


@pytest.mark.slow
def test_the_fix_the_readme_names_is_recorded_as_a_success(estate: GraphStore) -> None:
    fixes = {f"incident:{m[1]}": m[2].strip() for line in (ESTATE / "README.md").read_text().splitlines()
             if (m := _FIX.match(line))}
    assert len(fixes) == 32
    cases = {c.id: c for c in load_cases(estate)}
    checked = 0
    for incident, fix in fixes.items():
        action = map_action(fix)
        if action == "unknown":
            continue  # the readers' vocabulary does not name this fix: no record to expect
        checked += 1
        worked = [r for r in cases[incident].records if r.action == action and r.success]
        assert worked, f"{incident}: {fix!r} ({action}) is not a success in {cases[incident].records}"
    assert checked >= 30


@pytest.mark.slow
def test_a_note_and_its_postmortem_line_merge_and_keep_both_origins(estate: GraphStore) -> None:
    case = next(c for c in load_cases(estate) if c.id == "incident:P557ARA")
    assert [(r.action, r.outcome, r.inferred) for r in case.records] == [
        ("restart_pod", "failed", False), ("rollback_deploy", "resolved", False)]
    fix = case.records[1]
    assert len(fix.remediations) == 2
    assert sum(r.startswith("remediation:P557ARA/postmortem-") for r in fix.remediations) == 1
    assert fix.original_text and "Rolled back payments to 1.32.0" in fix.original_text
    assert fix.cause_id == "deploy:a99fb1ab-86ad-40e2-a50d-d4b65fb37b33" and fix.cause_kind == "deploy"
    assert fix.cause_entity == "service:default/payments"
    assert fix.time_to_resolve == timedelta(minutes=23, seconds=29)  # created 14:13:31, resolved 14:37
    assert fix.signature == "PaymentsErrorRate@service:default/payments"


@pytest.mark.slow
def test_every_demo_incident_has_a_fix_with_a_written_outcome(estate: GraphStore) -> None:
    cases = load_cases(estate)
    records = [r for c in cases for r in c.records]
    assert all(any(r.success for r in c.records) for c in cases), [c.id for c in cases if not c.records]
    assert sum(r.outcome == "unknown" for r in records) <= 5  # clean-up steps after the fix say nothing of it
    # every fix was written down (a note, or the postmortem's "What fixed it"), none had to be inferred
    assert not any(r.inferred for r in records)


@pytest.mark.slow
def test_an_undo_is_named_by_what_it_undid(estate: GraphStore) -> None:
    cases = {c.id: c for c in load_cases(estate)}
    fixes = {i: [(r.action, r.outcome) for r in cases[i].records] for i in
             ("incident:P0MKZYT", "incident:PQJHZ2U", "incident:PXXDZ3H", "incident:P8B1GJ7", "incident:PLXQT47")}
    assert fixes["incident:P0MKZYT"] == [("disable_feature_flag", "resolved")]  # "Set recs.model-v3 back to 10%"
    assert ("revert_config", "resolved") in fixes["incident:PQJHZ2U"]  # "Reverted pricing/cache.ttl_seconds"
    assert fixes["incident:PXXDZ3H"] == [("revert_config", "resolved")]  # "ratelimit.per_client_rps ... Reverting"
    assert fixes["incident:P8B1GJ7"] == [("rollback_deploy", "resolved")]  # config-service is a service
    # "Errors cleared after the switchover" reports the outcome of the config revert, it is not a failover
    assert fixes["incident:PLXQT47"] == [("restart_pod", "partial"), ("revert_config", "resolved")]


@pytest.mark.slow
def test_plans_and_mentions_are_not_actions(estate: GraphStore) -> None:
    cases = {c.id: c for c in load_cases(estate)}
    catalog = [(r.action, r.outcome) for r in cases["incident:PHP7FBF"].records]
    assert catalog == [("modify_database", "resolved")]  # not "Will re-run the backfill in 5k-row batches"
    gateway = [(r.action, r.outcome) for r in cases["incident:PGDYZER"].records]
    assert gateway == [("rollback_deploy", "failed"), ("failover", "resolved")]  # not "the release that was rolled back"
    auth = [r.action for r in cases["incident:PF4UGHE"].records]
    assert auth == ["rollback_deploy"]  # not "not a repeat of the session-cache failover"


def _pagerduty(tmp_path: Path, notes: list[tuple[str, str]], resolved_at: str) -> Path:
    incident = {"id": "PTEST1", "incident_number": 1, "title": "recommendations latency", "status": "resolved",
                "created_at": "2026-06-01T11:00:00Z", "resolved_at": resolved_at,
                "service": {"id": "PSVC1", "summary": "recommendations"}}
    body = {"incident": incident, "notes": [{"id": f"N{i}", "content": text, "created_at": when}
                                            for i, (when, text) in enumerate(notes)]}
    path = tmp_path / "PTEST1.json"
    path.write_text(json.dumps(body), encoding="utf-8")
    return path


def test_the_last_action_before_resolution_is_inferred_to_have_resolved_it(graph_store: GraphStore,
                                                                         tmp_path: Path) -> None:
    notes = [("2026-06-01T11:05:00Z", "Restarted two recommendations pods, no change."),
             ("2026-06-01T11:10:00Z", "Rolled back recommendations to 4.1.0."),
             ("2026-06-01T11:30:00Z", "Re-queued the failed exports. Resolving.")]
    assert Ingester(graph_store).run([_pagerduty(tmp_path, notes, "2026-06-01T11:30:00Z")]).ok
    [case] = load_cases(graph_store)
    assert [(r.action, r.outcome, r.inferred) for r in case.records] == [
        ("restart_pod", "failed", False), ("rollback_deploy", "resolved", True),
        ("retry_job", "unknown", False)]  # a note written at the resolution closes it, it did not fix it
    assert case.records[1].time_to_resolve == timedelta(minutes=30)


def test_an_undo_of_a_known_flag_or_config_key_is_a_flag_or_config_action(graph_store: GraphStore,
                                                                         tmp_path: Path) -> None:
    (Builder().change("flag:f1", svc("recommendations"), 60, flag="recs.model-v3", changed_keys=["recs.model-v3"])
     .change("config:c1", svc("recommendations"), 60, config="cache.ttl", subject_id="recommendations/cache.ttl")
     .write(graph_store))
    notes = [("2026-06-01T11:05:00Z", "Rolled back cache.ttl, no change."),
             ("2026-06-01T11:10:00Z", "Rolled back recs.model-v3, latency back to normal."),
             ("2026-06-01T11:15:00Z", "Rolled back recommendations to 4.1.0 as well.")]
    assert Ingester(graph_store).run([_pagerduty(tmp_path, notes, "2026-06-01T11:20:00Z")]).ok
    records = load_records(graph_store)
    assert [(r.action, r.outcome) for r in records] == [
        ("revert_config", "failed"), ("disable_feature_flag", "resolved"), ("rollback_deploy", "unknown")]
    assert [r.original_text for r in records][1] == "Rolled back recs.model-v3, latency back to normal."


@pytest.mark.slow
def test_signals_of_ingested_incidents_name_the_alert_that_paged(estate: GraphStore) -> None:
    cases = {c.id: c for c in load_cases(estate)}
    truth = ground_truth()
    # the alert named first in each PagerDuty incident (TRIGGERED, order 0) is the one that paged
    assert [cases[t.incident_id].signal for t in truth] == [t.alert for t in truth]
    for t in truth:
        case = cases[t.incident_id]
        assert case.entity == f"service:default/{t.service}"
        if case.signal is not None:  # a wrong guess is at least an alert that fires on the paged service
            names = {estate.get_node(e.src).name for e in estate.incident_edges([case.entity], "in",  # type: ignore[union-attr]
                                                                              (RelType.AFFECTS,))
                     if e.src.startswith("alert:")}
            assert case.signal in names


@pytest.mark.slow
def test_before_hides_later_cases_and_later_records(estate: GraphStore) -> None:
    cut = datetime.fromisoformat("2026-10-06T11:40:00+00:00")  # during #4124, before its rollback at 11:46
    cases = load_cases(estate, before=cut)
    assert cases and all(c.at < cut for c in cases)
    assert {c.id for c in cases} == {t.incident_id for t in ground_truth() if t.number <= 4124}
    records = load_records(estate, before=cut)
    assert all(r.at is not None and r.at < cut for r in records)
    assert len(records) < len(load_records(estate))
    assert next(c for c in cases if c.id == "incident:P3BLZGL").records == []


# hand-built graphs: recorded outcomes ------------------------------------------------------------

DEPLOY_1, DEPLOY_2 = "deploy:11111111-aaaa", "deploy:22222222-bbbb"


def _history(store: GraphStore) -> Diagnosis:
    """A payments deploy 10 minutes before checkout latency; the diagnosis is saved."""
    (shop().change(DEPLOY_1, svc("payments"), 10, version="1.1.0")
     .alert("f1", "CheckoutHighLatency", svc("checkout"), 2).write(store))
    return diagnose(store, Anomaly(svc("checkout"), T, signal="CheckoutHighLatency"), clock=lambda: T)


def test_record_outcome_writes_the_records_the_cause_and_an_audit_entry(graph_store: GraphStore) -> None:
    diagnosis = _history(graph_store)
    record = record_outcome(graph_store, diagnosis.id, "rollback_deploy", "resolved", target=svc("payments"),
                            time_to_resolve=timedelta(minutes=25), side_effects="cart emptied for 40 users",
                            confirmed_cause=DEPLOY_1, actor="alice", at=T + timedelta(minutes=30), policy_version=3)
    anomaly = diagnosis.anomaly.node_id
    assert record.case_id == anomaly and record.diagnosis_id == diagnosis.id
    assert record.signature == "CheckoutHighLatency@service:default/checkout"
    assert (record.cause_kind, record.cause_entity) == ("deploy", svc("payments"))
    edges = graph_store.incident_edges([anomaly], "out", (RelType.REMEDIATED_BY, RelType.CAUSED_BY))
    assert {(e.type, e.dst) for e in edges} == {(RelType.REMEDIATED_BY, record.remediations[0]),
                                                 (RelType.CAUSED_BY, DEPLOY_1)}
    outcome = graph_store.incident_edges(list(record.remediations), "out", (RelType.HAS_OUTCOME,))
    node = graph_store.get_node(outcome[0].dst)
    assert node is not None and node.label is NodeLabel.OUTCOME and node.props["result"] == "resolved"
    [entry] = audit_entries(graph_store, since=T, kind="outcome")
    assert entry.actor == "alice" and entry.policy_version == 3 and anomaly in entry.about
    assert entry.outputs["result"] == "resolved" and entry.inputs["action"] == "rollback_deploy"
    [loaded] = load_records(graph_store)
    assert loaded.source == "recorded" and loaded.outcome == "resolved" and loaded.actor == "alice"
    assert loaded.time_to_resolve == timedelta(minutes=25) and loaded.side_effects == "cart emptied for 40 users"
    assert (loaded.cause_kind, loaded.cause_entity, loaded.target) == ("deploy", svc("payments"), svc("payments"))


def test_record_outcome_names_what_is_wrong(graph_store: GraphStore) -> None:
    diagnosis = _history(graph_store)
    cases: list[tuple[dict[str, str], type[Exception], str]] = [
        ({"action": "reboot_everything"}, RecordError, "action 'reboot_everything'"),
        ({"outcome": "fixed"}, RecordError, "outcome 'fixed'"),
        ({"subject": "diagnosis:nope"}, NotFound, "diagnosis:nope"),
        ({"subject": "checkout"}, RecordError, "outcome subject"),
        ({"cause": "team:payments"}, NotFound, "confirmed cause 'team:payments'"),
        ({"cause": "service:default/web", "subject": "service:default/web"}, RecordError, "a Service"),
        ({"cause": "env:production"}, RecordError, "an Environment cannot be a cause"),
        ({"actor": " "}, RecordError, "actor"),
    ]
    for change, error, message in cases:
        args = {"subject": diagnosis.id, "action": "rollback_deploy", "outcome": "resolved", "actor": "alice"} | change
        with pytest.raises(error, match=re.escape(message)):
            record_outcome(graph_store, args["subject"], args["action"], args["outcome"], actor=args["actor"],
                           confirmed_cause=args.get("cause"))
    assert load_records(graph_store) == []


def _deploy_confidence(store: GraphStore, anomaly: Anomaly) -> float:
    result = diagnose(store, anomaly, save=False, clock=lambda: anomaly.at)
    return next(c.confidence for c in result.candidates if c.node_id == DEPLOY_2)


def test_a_confirmed_cause_raises_the_prior_of_the_same_kind_of_change_later(graph_store: GraphStore) -> None:
    diagnosis = _history(graph_store)
    later = T + timedelta(days=2)
    # two days later: another payments deploy and a cart config change, both 10 minutes before the symptom
    (Builder().change(DEPLOY_2, svc("payments"), 10 - 2 * 24 * 60, version="1.2.0")
     .change("config:cart-ttl", svc("cart"), 10 - 2 * 24 * 60)
     .alert("f2", "CheckoutHighLatency", svc("checkout"), 2 - 2 * 24 * 60).write(graph_store))
    anomaly = Anomaly(svc("checkout"), later, signal="CheckoutHighLatency")
    before = _deploy_confidence(graph_store, anomaly)
    record_outcome(graph_store, diagnosis.id, "rollback_deploy", "resolved", confirmed_cause=DEPLOY_1,
                   actor="alice", at=T + timedelta(minutes=20))
    after = _deploy_confidence(graph_store, anomaly)
    assert after > before + 0.02, (before, after)
    result = diagnose(graph_store, anomaly, save=False, clock=lambda: later)
    deploy = next(c for c in result.candidates if c.node_id == DEPLOY_2)
    learned = next(f for f in deploy.evidence.factors if f.name == "learned")
    assert learned.note.startswith("1 of ")
    assert [s.incident_id for s in deploy.evidence.similar_incidents] == [diagnosis.anomaly.node_id]
    assert deploy.kind is CandidateKind.DEPLOY


def test_an_anomaly_repeating_an_ingested_incident_is_learned_once(graph_store: GraphStore) -> None:
    diagnosis = _history(graph_store)
    later = T + timedelta(days=1)
    assert load_history(graph_store, later, preset()).caused(CandidateKind.DEPLOY, svc("payments")) == 0
    record_outcome(graph_store, diagnosis.id, "rollback_deploy", "resolved", confirmed_cause=DEPLOY_1, actor="bob",
                   at=T + timedelta(minutes=20))
    assert load_history(graph_store, later, preset()).caused(CandidateKind.DEPLOY, svc("payments")) == 1
    Builder().incident("incident:PD1", 5, [svc("checkout")], DEPLOY_1).write(graph_store)  # the postmortem arrives
    history = load_history(graph_store, later, preset())
    assert [i.id for i in history.incidents] == ["incident:PD1"]
