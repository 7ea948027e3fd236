"""The CDEvents reader, through READER.sniff / READER.read and registry.detect."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from graph.errors import FormatError, VidyaError
from graph.model import Edge, Node
from graph.schema import NodeLabel, RelType
from ingest import registry
from ingest.cdevents import READER
from ingest.deploy_log import READER as DEPLOY_LOG
from ingest.records import ReadContext, ReadResult, SourceFile

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "cdevents"
CTX = ReadContext(run_id="run-test", ingested_at=datetime(2026, 3, 6, 12, 0, tzinfo=UTC))
CHECKOUT = "service:default/checkout"
CHK_142 = "artifact:sha256:d3708e9a4d748107f8a3964bace690d83b46ccd4c037207ff2eeeddaefd92e66"
CHK_141 = "artifact:sha256:864550f07210fc6f8f15799e7de9317c61421ef31fbfc03d0630688ee512ede4"
UPGRADE = "deploy:736ccff1-3a9f-b229-fc70-515395ab9f7f"
ROLLBACK = "deploy:f4aaa88f-2c74-25e8-749a-7de4a2a743e0"


def fixture(name: str) -> SourceFile:
    return SourceFile(name, (FIXTURES / name).read_bytes())


def read(name: str) -> ReadResult:
    return READER.read(fixture(name), CTX)


def nodes(result: ReadResult) -> dict[str, Node]:
    return {node.id: node for node in result.nodes}


def edges(result: ReadResult, type_: RelType, src: str | None = None) -> list[Edge]:
    return [e for e in result.edges if e.type is type_ and (src is None or e.src == src)]


@pytest.fixture(scope="module")
def estate() -> ReadResult:
    return read("shop-estate.jsonl")


# --- detection ---------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["shop-estate.jsonl", "service-deployed.json", "release-batch.json", "cloudevent.json", "broken.jsonl"]
)
def test_registry_detects_cdevents(name: str) -> None:
    assert registry.detect(fixture(name)).name == "cdevents"


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("alerts.json", b'{"version": "4", "status": "firing", "alerts": [{"labels": {"alertname": "HighLatency"}}]}'),
        ("provenance.json", b'{"_type": "https://in-toto.io/Statement/v1", "predicateType": "https://slsa.dev/provenance/v1"}'),
        ("incident.json", b'{"incident": {"id": "Q1", "type": "incident", "title": "checkout down"}}'),
        ("catalog-info.yaml", b"apiVersion: backstage.io/v1alpha1\nkind: Component\n"),
        ("events.txt", b'{"context": {"type": "dev.cdevents.service.deployed.0.2.0"}}'),
        ("deploys.log", b"2026-03-04T10:15:02Z deploy service=checkout env=production\n"),
        ("empty.jsonl", b""),
    ],
)
def test_sniff_leaves_other_formats_alone(path: str, data: bytes) -> None:
    assert not READER.sniff(SourceFile(path, data))


def test_sniff_refuses_directories() -> None:
    assert not READER.sniff(SourceFile("events.json", b"", is_directory=True))


# --- the shop estate stream ---------------------------------------------------


def test_estate_reads_without_errors(estate: ReadResult) -> None:
    assert estate.errors == []
    labels = sorted(str(n.label) for n in estate.nodes)
    assert labels.count("Deployment") == 7
    assert labels.count("PipelineRun") == 8
    assert labels.count("Environment") == 3
    assert (labels.count("Artifact"), labels.count("PullRequest")) == (1, 1)
    assert (labels.count("ConfigChange"), labels.count("FlagChange"), labels.count("Migration")) == (1, 2, 1)


def test_upgrade_becomes_deployment_with_edges(estate: ReadResult) -> None:
    node = nodes(estate)[UPGRADE]
    assert node.label is NodeLabel.DEPLOYMENT
    assert node.name == "checkout 1.42.0 upgraded in production"
    assert node.at == datetime(2026, 3, 3, 9, 2, 11, tzinfo=UTC)
    assert node.props["action"] == "upgraded"
    assert node.props["environment"] == "production"
    assert node.props["event_type"] == "dev.cdevents.service.upgraded.0.2.0"
    assert node.props["cdevents_source"] == "/argocd/shop"
    assert node.props["artifact"] == (
        "pkg:oci/checkout@sha256:d3708e9a4d748107f8a3964bace690d83b46ccd4c037207ff2eeeddaefd92e66"
        "?repository_url=ghcr.io/shop/checkout&tag=1.42.0"
    )
    assert node.provenance.source == "shop-estate.jsonl"
    assert node.provenance.location == "line 18"
    assert [e.dst for e in edges(estate, RelType.TARGETS, UPGRADE)] == [CHECKOUT]
    assert [e.dst for e in edges(estate, RelType.IN_ENVIRONMENT, UPGRADE)] == ["env:production"]
    assert [e.dst for e in edges(estate, RelType.DEPLOYS, UPGRADE)] == [CHK_142]


def test_runs_edges_follow_production_deploys_and_the_rollback(estate: ReadResult) -> None:
    # the staging deploy of 1.42.0 (deploy:641583a5-...) does not change what production runs
    runs = sorted(edges(estate, RelType.RUNS, CHECKOUT), key=lambda e: e.valid_from or CTX.ingested_at)
    assert [(e.dst, e.key, e.props["environment"]) for e in runs] == [
        (CHK_142, UPGRADE, "production"),
        (CHK_141, ROLLBACK, "production"),
    ]
    # the rollback's +01:00 timestamp is normalised to UTC
    assert runs[-1].valid_from == datetime(2026, 3, 4, 13, 7, 31, tzinfo=UTC)
    assert nodes(estate)[ROLLBACK].name == "checkout rolled back to 1.41.3 in production"


def test_removal_has_no_artifact_edges(estate: ReadResult) -> None:
    removed = "deploy:03f51c65-38f5-66df-39c2-e9b8383e9e33"
    assert nodes(estate)[removed].props["action"] == "removed"
    assert [e.type for e in estate.edges if removed in (e.src, e.key)] == [RelType.TARGETS, RelType.IN_ENVIRONMENT]
    assert edges(estate, RelType.TARGETS, removed)[0].dst == "service:default/recommendations-legacy"


def test_service_names_from_free_form_ids_and_references(estate: ReadResult) -> None:
    targets = {e.src: e.dst for e in edges(estate, RelType.TARGETS)}
    assert targets["deploy:fc93371d-e6f1-406e-521e-c329c4751e34"] == "service:default/payments"  # "/prod/payments"
    assert targets["deploy:98a5b0c2-1769-8b03-5750-3386f48b0e28"] == "service:shop/frontend"  # "component:shop/frontend"
    runs = edges(estate, RelType.RUNS, "service:shop/frontend")
    assert [e.dst for e in runs] == ["artifact:sha256:3a53e7b169b4f9b08962c2ac03c919653d068b0fff13c98dc748239a441e0db0"]


def test_environments_fold_their_lifecycle(estate: ReadResult) -> None:
    by_id = nodes(estate)
    staging = by_id["env:staging"]
    assert staging.props["state"] == "modified"
    assert staging.props["url"] == "https://argocd.shop.example/applications?proj=staging-eu"
    assert staging.props["created_at"] == "2026-03-02T08:00:09+00:00"
    assert staging.valid_from == datetime(2026, 3, 2, 8, 0, 9, tzinfo=UTC)
    preview = by_id["env:preview-pr-482"]
    assert preview.props["state"] == "deleted"
    assert preview.valid_to == datetime(2026, 3, 2, 16, 5, 44, tzinfo=UTC)


def test_artifact_events_fold_into_one_artifact(estate: ReadResult) -> None:
    artifact = nodes(estate)[CHK_142]
    assert artifact.label is NodeLabel.ARTIFACT
    assert artifact.name == "checkout"
    assert artifact.props["version"] == "1.42.0"
    assert artifact.props["state"] == "published"
    assert artifact.props["change_id"] == "482"
    assert str(artifact.props["signature"]).startswith("MEUCIQ")
    assert {"packaged_at", "signed_at", "published_at"} <= set(artifact.props)


def test_pipeline_and_task_runs(estate: ReadResult) -> None:
    failed = nodes(estate)["pipeline:af55c05f-fad3-ef80-56fd-944a3bb50962"]
    assert failed.label is NodeLabel.PIPELINE_RUN
    assert failed.name == "cart-build finished (failure)"
    assert failed.props["pipeline_name"] == "cart-build"
    assert failed.props["outcome"] == "failure"
    assert failed.props["url"] == "https://tekton.shop.example/#/pipelineruns/cart-build-2210"
    assert failed.props["errors"] == "integration-tests: 3 of 214 tests failed"
    task = nodes(estate)["pipeline:a942b3ca-8f39-eb5b-7e5c-148c4f9681cb"]
    assert (task.props["kind"], task.props["task_name"], task.props["pipeline_run"]) == (
        "task",
        "unit-tests",
        "checkout-build-1187",
    )


def test_change_events_fold_into_a_pull_request(estate: ReadResult) -> None:
    pr = nodes(estate)["pr:checkout#482"]
    assert pr.label is NodeLabel.PULL_REQUEST
    assert pr.name == "Retry payment authorisation on 503 from payments"
    assert pr.props["state"] == "merged"
    assert pr.props["merged_at"] == "2026-03-02T10:12:45+00:00"
    assert pr.props["repository"] == "shop/checkout"


def test_custom_config_change(estate: ReadResult) -> None:
    config_id = "config:b3204464-ceb2-b356-b131-a76baadb498f"
    node = nodes(estate)[config_id]
    assert node.label is NodeLabel.CONFIG_CHANGE
    assert node.props["changed_keys"] == ["PAYMENT_TIMEOUT_MS", "PAYMENT_RETRY_MAX"]
    assert json.loads(str(node.props["changes_json"]))[0] == {"key": "PAYMENT_TIMEOUT_MS", "old": "2000", "new": "5000"}
    assert (node.props["size"], node.props["actor"], node.props["tool"]) == (2, "bob@shop.example", "argocd")
    assert [e.dst for e in edges(estate, RelType.TARGETS, config_id)] == [CHECKOUT]
    assert [e.dst for e in edges(estate, RelType.IN_ENVIRONMENT, config_id)] == ["env:production"]


def test_custom_flag_change_with_target(estate: ReadResult) -> None:
    flag_id = "flag:3f76f6f8-8d9f-ae9d-0c87-a58ac074ced0"
    node = nodes(estate)[flag_id]
    assert (node.props["flag"], node.props["enabled_old"], node.props["enabled_new"]) == ("new-pricing-engine", False, True)
    assert [e.dst for e in edges(estate, RelType.TARGETS, flag_id)] == ["service:default/cart"]


def test_custom_flag_change_without_target_is_hinted(estate: ReadResult) -> None:
    flag_id = "flag:cf0893de-07e0-bd35-c6ad-77f25d2e783a"
    assert edges(estate, RelType.TARGETS, flag_id) == []
    [hinted] = estate.hinted
    assert (hinted.type, hinted.src) == (RelType.TARGETS, flag_id)
    assert hinted.hint.values == (("name", "search"),)
    assert hinted.hint.fallback == "service:default/search"
    assert nodes(estate)[flag_id].props["enabled_new"] is False


def test_custom_migration_targets_a_resource(estate: ReadResult) -> None:
    migration_id = "migration:700dd2ef-76e3-36eb-5ec8-938934cb0c7e"
    node = nodes(estate)[migration_id]
    assert node.label is NodeLabel.MIGRATION
    assert (node.props["migration_version"], node.props["direction"], node.props["outcome"]) == ("42", "up", "success")
    assert [e.dst for e in edges(estate, RelType.TARGETS, migration_id)] == ["resource:default/orders-db"]


def test_reading_twice_gives_the_same_records() -> None:
    first, second = read("shop-estate.jsonl"), read("shop-estate.jsonl")
    assert [n.content_hash for n in first.nodes] == [n.content_hash for n in second.nodes]
    assert [e.id for e in first.edges] == [e.id for e in second.edges]


# --- other shapes ---------------------------------------------------------------


def test_single_pretty_printed_event() -> None:
    result = read("service-deployed.json")
    [node] = result.nodes
    assert node.id == "deploy:5f0c1a52-7a47-4a7e-9c1e-2d3b8e0f6a11"
    assert node.at == datetime(2026, 3, 5, 15, 2, 19, 482113, tzinfo=UTC)
    assert node.props["spec_version"] == "0.4.1"  # from context.specversion
    assert node.props["chain_id"] == "0b5e3c1d-4f7a-4c55-8a0e-6d9f2b1c7e30"
    assert node.props["environment"] == "production"
    assert node.provenance.location is None
    assert {e.type: e.dst for e in result.edges}[RelType.IN_ENVIRONMENT] == "env:production"


def test_array_of_events_with_object_changes_and_string_target() -> None:
    result = read("release-batch.json")
    by_id = nodes(result)
    config = by_id["config:evt-2026-03-06-0002"]
    assert config.provenance.location == "index 1"
    assert config.props["changed_keys"] == ["MAX_CONCURRENT_CAPTURES", "CAPTURE_BATCH"]
    assert json.loads(str(config.props["changes_json"]))[1] == {"key": "CAPTURE_BATCH", "old": None, "new": 10}
    assert config.props["size"] == 7
    targets = {e.src: e.dst for e in edges(result, RelType.TARGETS)}
    assert targets["config:evt-2026-03-06-0002"] == "service:default/payments"
    assert targets["migration:evt-2026-03-06-0003"] == "resource:shop/payments-db"  # kind "database" is an alias
    assert by_id["migration:evt-2026-03-06-0003"].props["migration_version"] == 118


def test_structured_mode_cloudevent_is_unwrapped() -> None:
    [node] = read("cloudevent.json").nodes
    assert node.id == "deploy:7d41c0de-0001-4a6b-8f3e-5c2a9e1b7d40"
    assert node.props["environment"] == "staging"


# --- errors -----------------------------------------------------------------------


def test_bad_events_are_per_record_errors() -> None:
    result = read("broken.jsonl")
    assert sorted(nodes(result)) == ["deploy:broken-01", "flag:broken-11"]
    assert [str(e) for e in result.errors] == [
        "line 2: context.timestamp: missing",
        "line 3: unsupported event type 'dev.cdevents.testcaserun.finished.0.2.0'",
        "line 4: invalid JSON (expected one event object per line)",
        "line 5: context.timestamp: '2026-03-04T12:05:00' has no time zone (expected e.g. 2026-03-01T12:00:00Z)",
        "line 6: subject.content.artifactId: missing",
        "line 7: subject.content.changes: expected an array of {key, old, new} or an object, got string",
        "line 8: context.id 'broken-01': already used by the event at line 1; this one is ignored",
        "line 9: context.type: 'com.example.deploy' is not a CDEvents type "
        "(expected dev.cdevents.<subject>.<predicate>.<version>)",
        "line 10: subject: missing",
    ]  # line 11 repeats line 1 exactly (a redelivery) and is dropped silently


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("empty.jsonl", "empty.jsonl: empty file (expected a CDEvent, a JSON array of CDEvents or JSON Lines)"),
        ("truncated.json", "truncated.json: line 16 column 21: invalid JSON (Unterminated string starting at)"),
        ("not-cdevents.json", "not-cdevents.json: context: missing"),
        (
            "unsupported-only.json",
            "unsupported-only.json: no usable events (2 rejected: index 0: unsupported event type "
            "'dev.cdevents.testcaserun.finished.0.2.0'; index 1: unsupported event type "
            "'dev.cdevents.testcaserun.finished.0.2.0')",
        ),
    ],
)
def test_whole_file_errors(name: str, message: str) -> None:
    with pytest.raises(FormatError) as info:
        read(name)
    assert str(info.value) == message


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\xff\xfe{}", "x.json: byte 0 is not UTF-8"),
        (b"42", "x.json: expected a CDEvent object, an array of them or JSON Lines, got a JSON number"),
        (b"[]", "x.json: the array holds no events"),
        (b"[" * 100_000, "x.json: invalid JSON (nested too deeply)"),
        (b'{"context": [], "subject": {}}', "x.json: context: expected object, got array"),
    ],
)
def test_malformed_files(data: bytes, message: str) -> None:
    with pytest.raises(FormatError) as info:
        READER.read(SourceFile("x.json", data), CTX)
    assert str(info.value).startswith(message)


def _event(**content: Any) -> dict[str, Any]:
    return {
        "context": {
            "id": "e-1",
            "source": "/s",
            "type": "dev.cdeventsx.acme-config.changed.0.1.0",
            "timestamp": "2026-03-01T00:00:00Z",
        },
        "subject": {"id": "checkout", "content": content},
    }


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ({"target": {"kind": "group", "name": "sre"}}, "TARGETS edge to 'team:default/sre': a Team cannot be its target"),
        ({"target": {"kind": "component"}}, "subject.content.target.name: missing"),
        ({"target": 7}, "subject.content.target: expected an object with 'kind' and 'name', got number"),
        ({"changes": [{"old": 1}]}, "subject.content.changes[0].key: missing"),
        ({"size": True}, "subject.content.size: expected number, got boolean"),
        ({"environment": ["prod"]}, "subject.content.environment: expected an object with 'id', got array"),
    ],
)
def test_custom_event_content_errors(content: dict[str, Any], message: str) -> None:
    with pytest.raises(FormatError) as info:
        READER.read(SourceFile("one.json", json.dumps(_event(**content)).encode()), CTX)
    assert str(info.value) == f"one.json: {message}"


def _read_one(event: dict[str, Any]) -> Node:
    [node] = READER.read(SourceFile("one.json", json.dumps(event).encode()), CTX).nodes
    return node


def test_flag_state_from_a_change_keyed_by_the_flag() -> None:
    event = _event(changes=[{"key": "new-pricing", "old": False, "new": True}])
    event["context"]["type"] = "dev.cdeventsx.flagd-flag.changed.0.1.0"
    event["subject"]["id"] = "new-pricing"
    node = _read_one(event)
    assert (node.id, node.props["flag"], node.props["enabled_old"], node.props["enabled_new"]) == (
        "flag:e-1",
        "new-pricing",
        False,
        True,
    )


def test_migration_version_from_a_schema_version_change() -> None:
    event = _event(changes=[{"key": "schema_version", "old": "41", "new": "42"}], script="V42__add_index.sql")
    event["context"]["type"] = "dev.cdeventsx.flyway-migration.applied.0.1.0"
    node = _read_one(event)
    assert (node.id, node.props["migration_version"], node.props["script"]) == ("migration:e-1", "42", "V42__add_index.sql")


def test_unknown_custom_subject_is_unsupported() -> None:
    event = _event()
    event["context"]["type"] = "dev.cdeventsx.harbor-quota.exceeded.0.1.0"
    with pytest.raises(FormatError, match=r"one.json: unsupported event type 'dev.cdeventsx.harbor-quota.exceeded.0.1.0'"):
        READER.read(SourceFile("one.json", json.dumps(event).encode()), CTX)


# --- robustness ---------------------------------------------------------------------

_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
_ESTATE = [json.loads(line) for line in (FIXTURES / "shop-estate.jsonl").read_text().splitlines()]


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            out += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            out += _paths(item, (*prefix, index))
    return out


def _mutate(event: Any, path: tuple[Any, ...], replacement: Any, delete: bool) -> Any:
    if not path:
        return replacement
    parent = event
    for step in path[:-1]:
        parent = parent[step]
    if delete and isinstance(parent, dict):
        del parent[path[-1]]
    else:
        parent[path[-1]] = replacement
    return event


def _only_vidya_errors(file: SourceFile) -> None:
    try:
        result = READER.read(file, CTX)
    except VidyaError:
        return
    assert result.nodes


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.binary(max_size=600), suffix=st.sampled_from([".json", ".jsonl", ".ndjson"]))
def test_arbitrary_bytes_raise_only_vidya_errors(data: bytes, suffix: str) -> None:
    _only_vidya_errors(SourceFile(f"fuzz{suffix}", data))
    READER.sniff(SourceFile(f"fuzz{suffix}", data))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_mutated_events_raise_only_vidya_errors(data: st.DataObject) -> None:
    events = json.loads(json.dumps(data.draw(st.lists(st.sampled_from(_ESTATE), min_size=1, max_size=4))))
    for _ in range(data.draw(st.integers(1, 3))):
        index = data.draw(st.integers(0, len(events) - 1))
        path = data.draw(st.sampled_from(_paths(events[index])))
        events[index] = _mutate(events[index], path, data.draw(_JSON), data.draw(st.booleans()))
    as_lines = data.draw(st.booleans())
    text = "\n".join(json.dumps(e) for e in events) if as_lines else json.dumps(events)
    _only_vidya_errors(SourceFile("mutated.jsonl" if as_lines else "mutated.json", text.encode()))


def test_detect_with_only_these_readers_refuses_prose() -> None:
    with pytest.raises(FormatError, match="not a format Vidya reads"):
        registry.detect(SourceFile("notes.json", b'{"title": "not an event"}'), [READER, DEPLOY_LOG])
