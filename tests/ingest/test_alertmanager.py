"""The Alertmanager webhook reader: folding notifications per fingerprint, entity hints, errors."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ingest.alertmanager as am
from graph.errors import FormatError, VidyaError
from graph.schema import NodeLabel, RelType
from ingest.alertmanager import READER, AlertmanagerReader, fingerprint
from ingest.records import ReadContext, ReadResult, SourceFile
from ingest.registry import detect

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "alertmanager"
CTX = ReadContext(run_id="run-test", ingested_at=datetime(2026, 3, 9, tzinfo=UTC))
LATENCY, ERRORS, CRASH_A, CRASH_B, LAG, PG = (
    "alert:cd29de3e8309220c", "alert:d361f139e97927b8", "alert:05a33b63a2140810",
    "alert:c3ba6f1dd532b5dd", "alert:1f4efd3aa7bd49cc", "alert:94a235dd96ebd8dd",
)  # fmt: skip


def source(name: str, data: bytes | None = None) -> SourceFile:
    return SourceFile(f"alerts/{name}", (FIXTURES / name).read_bytes() if data is None else data)


def read(name: str, data: bytes | None = None) -> ReadResult:
    return READER.read(source(name, data), CTX)


def nodes_by_id(result: ReadResult) -> dict[str, Any]:
    return {node.id: node for node in result.nodes}


# -- detection ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["webhook-log.jsonl", "checkout-firing.json", "no-fingerprint.json", "broken-lines.jsonl"])
def test_detect_claims_webhook_payloads(name: str) -> None:
    assert detect(source(name)).name == "alertmanager"


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("events.json", b'{"context": {"id": "1", "type": "dev.cdevents.service.deployed.0.2.0"}, "subject": {}}'),
        ("incident.json", b'{"incident": {"id": "Q1", "incident_number": 1, "alerts": []}}'),
        ("alerts.yaml", b'receiver: x\nalerts: []\n'),
        ("notes.md", b'# "alerts": [ and "receiver": in prose'),
        ("list.json", b'{"alerts": ["a", "b"]}'),
    ],
)
def test_sniff_leaves_other_formats_alone(path: str, data: bytes) -> None:
    assert not READER.sniff(SourceFile(path, data))


# -- folding -----------------------------------------------------------------------------------------


def test_every_fingerprint_becomes_one_alert() -> None:
    result = read("webhook-log.jsonl")
    assert [n.id for n in result.nodes] == [LATENCY, CRASH_A, LAG, ERRORS, CRASH_B, PG]
    assert {n.label for n in result.nodes} == {NodeLabel.ALERT}
    assert result.errors == []


def test_firing_repeat_and_resolved_fold_into_one_span() -> None:
    alert = nodes_by_id(read("webhook-log.jsonl"))[LATENCY]
    assert alert.name == "CheckoutHighLatency"
    assert alert.at == datetime(2026, 3, 1, 14, 5, 30, 118000, tzinfo=UTC)
    assert alert.props["status"] == "resolved"
    assert alert.props["notifications"] == 3
    assert alert.props["starts_at"] == "2026-03-01T14:05:30.118000+00:00"
    assert alert.props["ends_at"] == "2026-03-01T14:40:30.118000+00:00"
    assert alert.props["severity"] == "page"
    assert alert.props["summary"] == "checkout p99 latency above 2s"
    assert alert.props["runbook_url"] == "https://runbooks.example.com/checkout/high-latency.md"
    assert alert.props["generator_url"].startswith("http://prometheus-k8s-0:9090/graph?g0.expr=histogram_quantile")
    assert alert.props["receiver"] == "sre-pager"
    assert alert.props["label:alertname"] == "CheckoutHighLatency"
    assert alert.props["label:slo"] == "checkout-latency"
    assert alert.provenance.source == "alerts/webhook-log.jsonl"
    assert alert.provenance.location == "line 1, /alerts/0, line 4, /alerts/0, line 8, /alerts/0"
    assert alert.provenance.run_id == "run-test"


def test_an_alert_still_firing_at_the_end_has_no_end() -> None:
    alerts = nodes_by_id(read("webhook-log.jsonl"))
    assert alerts[CRASH_B].props["status"] == "firing"
    assert alerts[CRASH_B].props["notifications"] == 2
    assert "ends_at" not in alerts[CRASH_B].props
    # the other pod of the same group resolved while this one kept firing
    assert alerts[CRASH_A].props["status"] == "resolved"
    assert alerts[CRASH_A].props["ends_at"] == "2026-03-01T14:35:12.500000+00:00"


def test_times_are_normalised_to_utc() -> None:
    alert = nodes_by_id(read("webhook-log.jsonl"))[PG]
    assert alert.at == datetime(2026, 3, 1, 14, 11, tzinfo=UTC)
    assert alert.props["starts_at"] == "2026-03-01T14:11:00+00:00"


def test_a_later_resolved_notification_closes_and_a_later_firing_one_reopens() -> None:
    base = json.loads((FIXTURES / "checkout-firing.json").read_text())
    resolved = copy.deepcopy(base)
    resolved["alerts"][0] |= {"status": "resolved", "endsAt": "2026-03-01T14:40:30Z"}
    refired = copy.deepcopy(base)
    refired["alerts"][0]["startsAt"] = "2026-03-01T15:00:00Z"
    lines = [json.dumps(p) for p in (base, resolved)]
    closed = read("log.jsonl", "\n".join(lines).encode()).nodes[0]
    assert (closed.props["status"], closed.props["ends_at"]) == ("resolved", "2026-03-01T14:40:30+00:00")
    reopened = read("log.jsonl", "\n".join([*lines, json.dumps(refired)]).encode()).nodes[0]
    assert reopened.props["status"] == "firing"
    assert "ends_at" not in reopened.props
    assert reopened.at == datetime(2026, 3, 1, 14, 5, 30, 118000, tzinfo=UTC)


def test_receiver_timestamps_give_the_notification_times() -> None:
    base = json.loads((FIXTURES / "checkout-firing.json").read_text())
    lines = [json.dumps(base | {"receivedAt": t}) for t in ("2026-03-01T14:06:00Z", "2026-03-01T14:11:00+01:00")]
    alert = read("log.jsonl", "\n".join(lines).encode()).nodes[0]
    assert alert.props["first_notified"] == "2026-03-01T13:11:00+00:00"
    assert alert.props["last_notified"] == "2026-03-01T14:06:00+00:00"
    assert "first_notified" not in read("checkout-firing.json").nodes[0].props


def test_a_json_array_of_payloads_is_read_too() -> None:
    base = json.loads((FIXTURES / "checkout-firing.json").read_text())
    result = read("payloads.json", json.dumps([base, base]).encode())
    assert result.nodes[0].props["notifications"] == 2
    assert result.nodes[0].provenance.location == "/0/alerts/0, /1/alerts/0"


# -- fingerprints --------------------------------------------------------------------------------------


def test_fingerprint_is_alertmanagers() -> None:
    # the test vector of Prometheus' labelSetToFingerprint
    assert int(fingerprint({"name": "garland, briggs", "fear": "love is not enough"}), 16) == 5799056148416392346
    assert fingerprint({}) == "cbf29ce484222325"
    labels = json.loads((FIXTURES / "checkout-firing.json").read_text())["alerts"][0]["labels"]
    assert f"alert:{fingerprint(labels)}" == LATENCY


def test_a_missing_fingerprint_is_computed_from_the_labels() -> None:
    [alert] = read("no-fingerprint.json").nodes
    labels = {"alertname": "DiskFull", "severity": "warning", "instance": "db-7.internal:9100"}
    labels["mountpoint"] = "/var/lib/postgresql"
    assert alert.id == f"alert:{fingerprint(labels)}"
    assert alert.props["status"] == "resolved"  # from the payload when the alert has none
    assert alert.props["ends_at"] == "2026-03-02T09:15:00+00:00"
    assert alert.provenance.location == "/alerts/0"


# -- links ---------------------------------------------------------------------------------------------


def hints(result: ReadResult) -> dict[str, tuple[dict[str, str], str | None]]:
    return {h.src: (dict(h.hint.values), h.hint.fallback) for h in result.hinted if h.type is RelType.AFFECTS}


def test_alerts_affect_the_entity_their_labels_name() -> None:
    found = hints(read("webhook-log.jsonl"))
    assert found[LATENCY] == ({"namespace": "shop", "service": "checkout"}, "service:default/checkout")
    assert found[CRASH_A] == (
        {
            "app_kubernetes_io_name": "payments-api", "container": "api", "job": "kube-state-metrics",
            "namespace": "payments", "pod": "payments-api-7d9f8c6b5-x2k4q",
        },
        None,
    )  # fmt: skip
    lag = {"instance": "kafka-exporter.monitoring.svc:9308", "job": "kafka-exporter", "topic": "orders-events"}
    assert found[LAG] == (lag, None)
    assert found[PG][1] == "service:default/orders-db"


def test_alerts_are_in_their_environment() -> None:
    edges = {(e.type, e.src, e.dst) for e in read("webhook-log.jsonl").edges}
    assert (RelType.IN_ENVIRONMENT, LATENCY, "env:production") in edges
    assert len(edges) == 6


def test_the_mapping_labels_can_be_overridden(monkeypatch: pytest.MonkeyPatch) -> None:
    only_pods = AlertmanagerReader(mapping_labels=("pod",)).read(source("webhook-log.jsonl"), CTX)
    assert hints(only_pods)[CRASH_A] == ({"pod": "payments-api-7d9f8c6b5-x2k4q"}, None)
    assert LATENCY not in hints(only_pods)
    monkeypatch.setattr(am, "MAPPING_LABELS", ("topic",))
    assert set(hints(read("webhook-log.jsonl"))) == {LAG}


def test_a_service_label_that_is_no_entity_name_gets_no_fallback() -> None:
    base = json.loads((FIXTURES / "checkout-firing.json").read_text())
    base["alerts"][0]["labels"]["service"] = "team/a:b"
    [hint] = read("x.json", json.dumps(base).encode()).hinted
    assert dict(hint.hint.values)["service"] == "team/a:b"
    assert hint.hint.fallback is None


# -- errors --------------------------------------------------------------------------------------------


def test_bad_lines_and_alerts_are_record_errors() -> None:
    result = read("broken-lines.jsonl")
    assert [n.id for n in result.nodes] == ["alert:5f0c4e1a9b2d7c36", "alert:99cc10dd20ee30ff"]
    assert [str(e) for e in result.errors] == [
        "line 2: column 94: invalid JSON (Unterminated string starting at)",
        "line 3: version: expected \"4\" (Alertmanager webhook version 4), got '3'",
        "line 4: Alertmanager left out 3 alerts (max_alerts); they are not in the file",
        "line 4, /alerts/0: startsAt: expected an RFC 3339 time, got None",
        "line 4, /alerts/1: startsAt: '2026-03-01 14:20' has no time zone (expected e.g. 2026-03-01T12:00:00Z)",
        "line 5: alerts: expected a list of alerts",
    ]


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("wrong-version.json", None, "alerts/wrong-version.json: version: expected \"4\" (Alertmanager webhook version 4)"),
        ("truncated.json", None, "alerts/truncated.json: line 9 column 1: invalid JSON"),
        ("empty.json", b"  \n", "alerts/empty.json: empty file"),
        ("latin1.json", b'{"receiver": "caf\xe9"}', "alerts/latin1.json: byte 17 is not UTF-8"),
        ("list.json", b'{"alerts": {"a": 1}, "receiver": "x"}', "alerts/list.json: alerts: expected a list of alerts"),
        ("scalar.json", b"42", "alerts/scalar.json: expected a webhook payload object, got int"),
        (
            "bad.json",
            b'{"version": "4", "alerts": [{"labels": {}, "startsAt": "2026-03-01T14:00:00Z"}]}',
            "alerts/bad.json: no usable alerts (/alerts/0: labels: missing",
        ),
        (
            "edge.json",
            b'{"alerts": [{"labels": {"a": "b"}, "status": "firing", "startsAt": "0001-01-01T00:00:00+01:00"}]}',
            "alerts/edge.json: no usable alerts (/alerts/0: ",
        ),
    ],
)
def test_whole_file_problems_raise_format_errors(name: str, data: bytes | None, message: str) -> None:
    with pytest.raises(FormatError) as caught:
        read(name, data)
    assert str(caught.value).startswith(message)
    if name == "edge.json":  # the year-1 start moves before the calendar's first day in UTC
        assert "out of range" in str(caught.value)


def test_a_directory_is_refused() -> None:
    with pytest.raises(FormatError, match="is a directory"):
        READER.read(SourceFile("alerts", b"", is_directory=True), CTX)
    assert not READER.sniff(SourceFile("alerts", b"", is_directory=True))


# -- robustness ------------------------------------------------------------------------------------------

SPECIAL = st.sampled_from(
    [
        "", "4", "firing", "resolved", "0001-01-01T00:00:00Z", "0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-05:00",
        "2026-03-01T14:05:30Z", "not a time", "\ud800", "a" * 2000, "component:x/y/z",
    ]
)  # fmt: skip
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20) | SPECIAL,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10) | SPECIAL, inner, max_size=3),
    max_leaves=6,
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            out += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            out += _paths(item, (*prefix, index))
    return out


@st.composite
def mutated_json(draw: st.DrawFn, document: Any) -> Any:
    """``document`` with one to three values replaced by arbitrary JSON, or removed."""
    doc = copy.deepcopy(document)
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(_paths(doc)))
        if not path:
            doc = draw(JSON_VALUES)
            continue
        parent = doc
        try:
            for key in path[:-1]:
                parent = parent[key]
            if draw(st.booleans()):
                parent[path[-1]] = draw(JSON_VALUES)
            elif isinstance(parent, dict):
                del parent[path[-1]]
        except (KeyError, IndexError, TypeError):  # an earlier mutation changed the shape
            continue
    return doc


def assert_reads_or_refuses(reader: Any, file: SourceFile) -> None:
    try:
        result = reader.read(file, CTX)
    except VidyaError:
        return
    assert result.nodes


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=600))
def test_arbitrary_bytes_are_read_or_refused(data: bytes) -> None:
    assert_reads_or_refuses(READER, SourceFile("alerts/x.json", data))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mutated_payloads_are_read_or_refused(data: st.DataObject) -> None:
    lines = (FIXTURES / "webhook-log.jsonl").read_text().splitlines()
    index = data.draw(st.integers(0, len(lines) - 1))
    lines[index] = json.dumps(data.draw(mutated_json(json.loads(lines[index]))))
    assert_reads_or_refuses(READER, SourceFile("alerts/log.jsonl", "\n".join(lines).encode()))
    single = data.draw(mutated_json(json.loads((FIXTURES / "checkout-firing.json").read_text())))
    assert_reads_or_refuses(READER, SourceFile("alerts/one.json", json.dumps(single).encode()))
