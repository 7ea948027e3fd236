"""The PagerDuty incident reader: incidents, notes -> remediations and outcomes, causes, errors."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from graph.errors import FormatError
from graph.schema import NodeLabel, RelType
from ingest import alertmanager
from ingest.pagerduty import READER, service_hint, slug
from ingest.records import ReadContext, ReadResult, SourceFile
from ingest.registry import detect
from tests.ingest.test_alertmanager import assert_reads_or_refuses, mutated_json

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "pagerduty"
CTX = ReadContext(run_id="run-test", ingested_at=datetime(2026, 3, 9, tzinfo=UTC))
CHECKOUT = "incident:Q2K7W1N0GZ3B4C"


def source(name: str, data: bytes | None = None) -> SourceFile:
    return SourceFile(f"pd/{name}", (FIXTURES / name).read_bytes() if data is None else data)


def read(name: str, data: bytes | None = None) -> ReadResult:
    return READER.read(source(name, data), CTX)


def by_id(result: ReadResult) -> dict[str, Any]:
    return {node.id: node for node in result.nodes}


def edges(result: ReadResult) -> set[tuple[str, str, str]]:
    return {(str(e.type), e.src, e.dst) for e in result.edges}


@pytest.mark.parametrize("name", ["checkout-incident.json", "incidents.json", "bare-incident.json", "broken-notes.json"])
def test_detect_claims_incident_json(name: str) -> None:
    assert detect(source(name)).name == "pagerduty"


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("not-an-incident.json", (FIXTURES / "not-an-incident.json").read_bytes()),
        ("alerts.json", b'{"receiver": "x", "alerts": [{"labels": {"incident": "yes"}}], "version": "4"}'),
        ("event.json", b'{"context": {"type": "dev.cdevents.incident.detected.0.1.0"}, "subject": {"type": "incident"}}'),
        ("incident.yaml", b"incident:\n  id: Q1\n"),
        ("list.json", b'[{"incident_number": 1}]'),
    ],
)
def test_sniff_leaves_other_formats_alone(path: str, data: bytes) -> None:
    assert not READER.sniff(SourceFile(path, data))


def test_an_incident_with_its_notes() -> None:
    result = read("checkout-incident.json")
    incident = by_id(result)[CHECKOUT]
    assert incident.label is NodeLabel.INCIDENT
    assert incident.name == "checkout: 5xx ratio above 5%"
    assert incident.at == datetime(2026, 3, 1, 14, 6, 2, tzinfo=UTC)
    assert incident.props == {
        "status": "resolved",
        "urgency": "high",
        "number": 4812,
        "resolved_at": "2026-03-01T14:41:30+00:00",
        "service_name": "checkout",
        "service_id": "PX1CHK9",
        "html_url": "https://acme.pagerduty.com/incidents/Q2K7W1N0GZ3B4C",
        "priority": "P1",
        "escalation_policy": "SRE primary",
        "duration_minutes": 35.5,
    }
    assert incident.provenance.location == "/incident"
    assert result.errors == []


def test_the_incident_affects_its_service() -> None:
    [hint] = [h for h in read("checkout-incident.json").hinted if h.type is RelType.AFFECTS]
    assert hint.src == CHECKOUT
    assert dict(hint.hint.values) == {"name": "checkout", "service": "checkout", "pagerduty.com/service-id": "PX1CHK9"}
    assert hint.hint.fallback == "service:default/checkout"


def test_notes_that_describe_actions_become_remediations_with_outcomes() -> None:
    result = read("checkout-incident.json")
    nodes = by_id(result)
    restart = nodes["remediation:Q2K7W1N0GZ3B4C/PWL7QXT"]
    assert restart.props == {
        "action": "restart_pod",
        "original_text": "Restarted the checkout pods, no effect on the error rate.",
        "incident": CHECKOUT,
        "author": "Ana Ruiz",
    }
    assert restart.at == datetime(2026, 3, 1, 14, 14, 40, tzinfo=UTC)
    assert restart.provenance.location == "/notes/1"
    assert nodes["outcome:Q2K7W1N0GZ3B4C/PWL7QXT"].props == {"result": "failed", "helped": False}
    # the rollback note says nothing about the outcome: the next note without an action does
    assert nodes["remediation:Q2K7W1N0GZ3B4C/PWL7QXU"].props["action"] == "rollback_deploy"
    outcome = nodes["outcome:Q2K7W1N0GZ3B4C/PWL7QXU"]
    evidence = "Error rate back to normal, p99 at 180ms. Resolving."
    assert outcome.props == {"result": "resolved", "helped": True, "evidence": evidence}
    assert outcome.at == datetime(2026, 3, 1, 14, 31, 5, tzinfo=UTC)
    assert outcome.provenance.location == "/notes/2"
    assert "remediation:Q2K7W1N0GZ3B4C/PWL7QXS" not in nodes  # "Acknowledged. Looking at..." is no action
    assert {
        ("REMEDIATED_BY", CHECKOUT, "remediation:Q2K7W1N0GZ3B4C/PWL7QXT"),
        ("HAS_OUTCOME", "remediation:Q2K7W1N0GZ3B4C/PWL7QXT", "outcome:Q2K7W1N0GZ3B4C/PWL7QXT"),
        ("REMEDIATED_BY", CHECKOUT, "remediation:Q2K7W1N0GZ3B4C/PWL7QXU"),
        ("HAS_OUTCOME", "remediation:Q2K7W1N0GZ3B4C/PWL7QXU", "outcome:Q2K7W1N0GZ3B4C/PWL7QXU"),
    } <= edges(result)


def test_a_deploy_named_as_root_cause_is_a_caused_by_edge() -> None:
    result = read("checkout-incident.json")
    [cause] = [e for e in result.edges if e.type is RelType.CAUSED_BY]
    assert (cause.src, cause.dst) == (CHECKOUT, "deploy:5b0c7e4e-2f7d-4b59-9c3e-6a1e2d8f4c11")
    assert str(cause.props["evidence"]).startswith("Root cause looks like deploy 5b0c7e4e")


def test_the_incident_is_a_document_for_retrieval() -> None:
    [document] = read("checkout-incident.json").documents
    assert (document.id, document.kind, document.title, document.path) == (
        CHECKOUT, "incident", "checkout: 5xx ratio above 5%", "pd/checkout-incident.json",
    )  # fmt: skip
    [notes] = document.sections  # the description only repeats the title
    assert notes.heading_path == ("checkout: 5xx ratio above 5%", "Notes")
    second = "2026-03-01T14:14:40+00:00 Ana Ruiz: Restarted the checkout pods, no effect on the error rate."
    assert notes.text.splitlines()[1] == second
    assert document.front_matter == {"status": "resolved", "urgency": "high", "service_name": "checkout", "priority": "P1"}


def test_long_notes_are_split_for_the_embedder() -> None:
    text = "checked the dashboards again " * 20
    notes = [{"id": f"N{i}", "content": text, "created_at": "2026-03-01T00:10:00Z"} for i in range(6)]
    doc = {"incident": {"id": "Q1", "title": "t", "created_at": "2026-03-01T00:00:00Z"}, "notes": notes}
    [document] = read("x.json", json.dumps(doc).encode()).documents
    assert len(document.sections) > 1
    assert {s.heading_path for s in document.sections} == {("t", "Notes")}
    assert all(len(s.text.split()) <= 170 for s in document.sections)


def test_a_list_of_incidents() -> None:
    result = read("incidents.json")
    incidents = [n for n in result.nodes if n.label is NodeLabel.INCIDENT]
    assert [n.id for n in incidents] == ["incident:Q0SEARCH7H2K1M", "incident:Q1PAYM3NT5X8Z", "incident:Q2BATCH9L0P3R"]
    assert [str(e) for e in result.errors] == ["/incidents/3: created_at: expected an RFC 3339 time, got None"]
    nodes = by_id(result)
    payments = nodes["incident:Q1PAYM3NT5X8Z"]
    assert payments.at == datetime(2026, 3, 4, 15, 2, 10, tzinfo=UTC)
    assert payments.props["duration_minutes"] == 45.0
    assert nodes["incident:Q0SEARCH7H2K1M"].props["resolved_at"] == "2026-03-03T10:02:44+00:00"  # last_status_change_at
    assert "resolved_at" not in nodes["incident:Q2BATCH9L0P3R"].props
    assert nodes["outcome:Q1PAYM3NT5X8Z/PN2002"].props["result"] == "partial"
    assert nodes["remediation:Q1PAYM3NT5X8Z/PN2003"].props["action"] == "scale_up"
    assert nodes["outcome:Q1PAYM3NT5X8Z/PN2003"].props["evidence"] == "Backlog drained and error rate back to normal."
    assert nodes["remediation:Q0SEARCH7H2K1M/PN1002"].provenance.location == "/incidents/0/notes/1"
    assert ("CAUSED_BY", "incident:Q1PAYM3NT5X8Z", "config:config-8812") in edges(result)


def test_a_named_dependency_is_a_hinted_cause() -> None:
    result = read("incidents.json")
    [cause] = [h for h in result.hinted if h.type is RelType.CAUSED_BY]
    assert (cause.src, dict(cause.hint.values), cause.hint.fallback) == ("incident:Q0SEARCH7H2K1M", {"name": "search-es"}, None)
    affects = {h.src: h.hint.fallback for h in result.hinted if h.type is RelType.AFFECTS}
    assert affects["incident:Q0SEARCH7H2K1M"] == "service:default/search-api-production"


def test_a_bare_incident_with_a_flag_cause() -> None:
    result = read("bare-incident.json")
    nodes = by_id(result)
    assert nodes["incident:Q9PRICING2K4L"].provenance.location == "/"
    assert nodes["remediation:Q9PRICING2K4L/PN3001"].props["action"] == "disable_feature_flag"
    assert nodes["outcome:Q9PRICING2K4L/PN3001"].props == {"result": "resolved", "helped": True}
    assert ("CAUSED_BY", "incident:Q9PRICING2K4L", "flag:checkout-new-pricing") in edges(result)


def test_a_release_named_without_an_id_is_kept_on_the_incident() -> None:
    doc: dict[str, Any] = {"incident": {"id": "Q1", "title": "t", "created_at": "2026-03-01T00:00:00Z"}}
    doc["notes"] = [{"id": "N1", "content": "Rollback of payments 1.42.0 fixed it.", "created_at": "2026-03-01T00:10:00Z"}]
    result = read("x.json", json.dumps(doc).encode())
    assert by_id(result)["incident:Q1"].props["cause_release"] == ["payments 1.42.0"]
    assert by_id(result)["remediation:Q1/N1"].props["action"] == "rollback_deploy"


def test_bad_notes_are_record_errors() -> None:
    result = read("broken-notes.json")
    assert [str(e) for e in result.errors] == [
        "/notes/0: expected a note object, got str",
        "/notes/1: content: missing (a note without text says nothing)",
        "/notes/2: created_at: '08:20' is not an RFC 3339 time",
    ]
    assert [n.id for n in result.nodes if n.label is NodeLabel.REMEDIATION] == ["remediation:Q4NOTES1X2Y3/PN4004"]


def test_slug_and_service_hint() -> None:
    assert slug("Search API (Production)") == "search-api-production"
    assert service_hint("Checkout").fallback == "service:default/checkout"
    assert service_hint("!!!").fallback is None


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("bad-created-at.json", None, "pd/bad-created-at.json: /incident: created_at: 'yesterday' is not an RFC 3339 time"),
        ("not-an-incident.json", None, "pd/not-an-incident.json: expected a PagerDuty incident"),
        ("empty.json", b"", "pd/empty.json: empty file"),
        ("broken.json", b'{"incident": {"id": ', "pd/broken.json: line 1 column 21: invalid JSON (Expecting value)"),
        ("list.json", b'{"incidents": {"id": "Q1"}}', "pd/list.json: /incidents: expected a list of incidents, got dict"),
        ("no-id.json", b'{"incident": {"title": "x"}}', "pd/no-id.json: /incident: id: missing"),
        (
            "status.json",
            b'{"incident": {"id": "Q", "created_at": "2026-03-01T00:00:00Z", "status": 3}}',
            "pd/status.json: /incident: status: expected str, got int",
        ),
        ("none.json", b'{"incidents": [1, 2]}', "pd/none.json: no usable incidents (/incidents/0: expected an incident object"),
    ],
)
def test_whole_file_problems_raise_format_errors(name: str, data: bytes | None, message: str) -> None:
    with pytest.raises(FormatError) as caught:
        read(name, data)
    assert str(caught.value).startswith(message)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=600))
def test_arbitrary_bytes_are_read_or_refused(data: bytes) -> None:
    assert_reads_or_refuses(READER, SourceFile("pd/x.json", data))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mutated_incidents_are_read_or_refused(data: st.DataObject) -> None:
    name = data.draw(st.sampled_from(["checkout-incident.json", "incidents.json", "bare-incident.json"]))
    document = data.draw(mutated_json(json.loads((FIXTURES / name).read_text())))
    assert_reads_or_refuses(READER, SourceFile("pd/x.json", json.dumps(document).encode()))


# -- the alerts behind an incident ---------------------------------------------------------------------------

_INCIDENT = {"id": "PALERT1", "incident_number": 7, "title": "payments errors", "created_at": "2026-09-23T14:13:31Z",
             "service": {"id": "PH62ZKG", "summary": "payments"}}


def _triggered(result: ReadResult) -> list[tuple[str, str, object]]:
    return [(e.src, e.dst, e.props.get("order")) for e in result.edges if e.type is RelType.TRIGGERED]


def test_fingerprints_in_the_incident_details_link_the_alerts_that_triggered_it() -> None:
    details = ("PaymentsErrorRate on payments. Alerts in this incident (Alertmanager fingerprints):\n"
               "- PaymentsErrorRate fingerprint=3587100727a3f0a3 group_key={}:{alertname=\"PaymentsErrorRate\"}\n"
               "- CheckoutHighErrorRate fingerprint=ec495441347b1b66")
    incident = _INCIDENT | {"body": {"type": "incident_body", "details": details}}
    result = read("alerts.json", json.dumps({"incident": incident}).encode())
    assert _triggered(result) == [("alert:3587100727a3f0a3", "incident:PALERT1", 0),
                                  ("alert:ec495441347b1b66", "incident:PALERT1", 1)]


def test_alerts_beside_the_incident_meet_the_alertmanager_reader_on_the_same_alert_node() -> None:
    labels = {"alertname": "PaymentsErrorRate", "service": "payments", "severity": "critical"}
    firing = "Labels:\n" + "".join(f" - {k} = {v}\n" for k, v in labels.items()) + "Annotations:\n - summary = 5xx\n"
    alerts = [{"id": "Q1", "type": "alert", "body": {"type": "alert_body", "details": {"firing": firing}}},
              {"id": "Q2", "type": "alert", "body": {"details": {"fingerprint": "0123456789abcdef"}}}]
    document = json.dumps({"incident": _INCIDENT, "alerts": alerts}).encode()
    assert READER.sniff(SourceFile("pd/alerts.json", document))
    payload = {"version": "4", "status": "firing", "receiver": "pd", "groupKey": "{}:{}",
               "alerts": [{"status": "firing", "labels": labels, "startsAt": "2026-09-23T14:10:00Z"}]}
    alert = alertmanager.READER.read(SourceFile("am/alerts.json", json.dumps(payload).encode()), CTX).nodes[0]
    assert [src for src, _, _ in _triggered(read("alerts.json", document))] == [alert.id, "alert:0123456789abcdef"]


def test_an_incident_without_alert_details_triggers_nothing() -> None:
    assert _triggered(read("checkout-incident.json")) == []
