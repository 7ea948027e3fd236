"""The plain-text deploy-log reader, through READER.sniff / READER.read and registry.detect."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from graph.errors import FormatError, VidyaError
from graph.model import Node
from graph.schema import NodeLabel, RelType
from ingest import registry
from ingest.cdevents import READER as CDEVENTS
from ingest.deploy_log import READER
from ingest.records import ReadContext, ReadResult, SourceFile

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "deploy_log"
CTX = ReadContext(run_id="run-test", ingested_at=datetime(2026, 3, 6, 12, 0, tzinfo=UTC))
CART = "artifact:sha256:89dafc519f6aa84476a488501d7ac7ffb423443b3e39ca6d8f8eb85635c39f17"
CHK_141 = "artifact:sha256:864550f07210fc6f8f15799e7de9317c61421ef31fbfc03d0630688ee512ede4"


def fixture(name: str) -> SourceFile:
    return SourceFile(name, (FIXTURES / name).read_bytes())


def read(name: str) -> ReadResult:
    return READER.read(fixture(name), CTX)


def hashed(*parts: str) -> str:
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


def by_id(result: ReadResult) -> dict[str, Node]:
    return {node.id: node for node in result.nodes}


@pytest.fixture(scope="module")
def deploys() -> ReadResult:
    return read("deploys.log")


def test_registry_detects_deploy_log() -> None:
    assert registry.detect(fixture("deploys.log")).name == "deploy_log"
    assert registry.detect(fixture("broken.log")).name == "deploy_log"


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("release-notes.txt", (FIXTURES / "release-notes.txt").read_bytes()),
        ("comments-only.log", (FIXTURES / "comments-only.log").read_bytes()),
        ("deploys.json", b"2026-03-04T10:15:02Z deploy service=checkout env=production\n"),
        ("app.log", b"2026-03-04T10:15:02Z INFO request served path=/cart status=200\n"),
        ("app.log", b"2026-03-04 10:15:02 deploy service=checkout env=production\n"),
        ("events.txt", b'{"context": {"type": "dev.cdevents.service.deployed.0.2.0"}}\n'),
    ],
)
def test_sniff_leaves_other_text_alone(path: str, data: bytes) -> None:
    assert not READER.sniff(SourceFile(path, data))


def test_sniff_skips_comments_and_blank_lines() -> None:
    data = b"# header\n\n  # more\n2026-03-04T10:15:02.5+01:00 rollback service=cart env=prod\n"
    assert READER.sniff(SourceFile("ops/DEPLOYS.TXT", data))


def test_deploy_line_becomes_deployment(deploys: ReadResult) -> None:
    assert deploys.errors == []
    deploy_id = "deploy:" + hashed("2026-03-03T09:02:11+00:00", "checkout", "1.42.0", "production")
    node = by_id(deploys)[deploy_id]
    assert node.label is NodeLabel.DEPLOYMENT
    assert node.name == "checkout 1.42.0 deployed to production"
    assert node.at == datetime(2026, 3, 3, 9, 2, 11, tzinfo=UTC)
    assert {k: node.props[k] for k in ("action", "status", "version", "environment", "commit", "actor", "change_ticket")} == {
        "action": "deployed",
        "status": "succeeded",
        "version": "1.42.0",
        "environment": "production",
        "commit": "3f9c2a1",
        "actor": "alice",
        "change_ticket": "CHG-1234",
    }
    assert node.provenance.location == "line 6"
    out = {(e.type, e.dst) for e in deploys.edges if e.src == deploy_id}
    digest = "artifact:sha256:d3708e9a4d748107f8a3964bace690d83b46ccd4c037207ff2eeeddaefd92e66"
    assert out == {
        (RelType.TARGETS, "service:default/checkout"),
        (RelType.IN_ENVIRONMENT, "env:production"),
        (RelType.DEPLOYS, digest),
    }
    [runs] = [e for e in deploys.edges if e.type is RelType.RUNS and e.key == deploy_id]
    assert (runs.src, runs.dst, runs.valid_from) == ("service:default/checkout", digest, node.at)


def test_failed_deploy_does_not_run(deploys: ReadResult) -> None:
    failed = "deploy:" + hashed("2026-03-04T08:05:10+00:00", "cart", "2.8.0", "production")
    assert by_id(deploys)[failed].props["status"] == "failed"
    assert {e.type for e in deploys.edges if failed in (e.src, e.key)} == {
        RelType.TARGETS,
        RelType.IN_ENVIRONMENT,
        RelType.DEPLOYS,
    }
    assert [e.dst for e in deploys.edges if e.src == failed and e.type is RelType.DEPLOYS] == [CART]  # from image=...@sha256


def test_rollback_runs_the_older_artifact(deploys: ReadResult) -> None:
    rollback = "deploy:" + hashed("2026-03-04T13:07:31+00:00", "checkout", "1.41.3", "production")
    node = by_id(deploys)[rollback]
    assert node.name == "checkout rolled back to 1.41.3 in production"
    assert node.props["note"] == "checkout p99 3s after 1.42.0, see INC-0317"
    assert [(e.src, e.dst) for e in deploys.edges if e.type is RelType.RUNS and e.key == rollback] == [
        ("service:default/checkout", CHK_141)
    ]


def test_restart_has_no_artifact(deploys: ReadResult) -> None:
    restart = "deploy:" + hashed("2026-03-04T12:20:02+00:00", "payments", "", "production")
    node = by_id(deploys)[restart]
    assert (node.name, node.props["action"]) == ("payments restarted in production", "restarted")
    assert node.at == datetime(2026, 3, 4, 12, 20, 2, tzinfo=UTC)  # written as 13:20:02+01:00
    assert {e.type for e in deploys.edges if restart in (e.src, e.key)} == {RelType.TARGETS, RelType.IN_ENVIRONMENT}


def test_version_without_digest_and_namespaced_service(deploys: ReadResult) -> None:
    frontend = "deploy:" + hashed("2026-03-05T11:45:00+00:00", "shop/frontend", "5.2.0", "production")
    runs = [e for e in deploys.edges if e.type is RelType.RUNS and e.key == frontend]
    assert [(e.src, e.dst) for e in runs] == [("service:shop/frontend", "artifact:pkg:generic/frontend@5.2.0")]


def test_config_lines_become_config_changes(deploys: ReadResult) -> None:
    config_id = "config:" + hashed("2026-03-03T09:40:00+00:00", "checkout", "PAYMENT_TIMEOUT_MS", "production")
    node = by_id(deploys)[config_id]
    assert node.label is NodeLabel.CONFIG_CHANGE
    assert node.props["changed_keys"] == ["PAYMENT_TIMEOUT_MS"]
    assert json.loads(str(node.props["changes_json"])) == [{"key": "PAYMENT_TIMEOUT_MS", "old": "2000", "new": "5000"}]
    assert node.props["note"] == "raise timeout while payments p99 is high"
    assert {(e.type, e.dst) for e in deploys.edges if e.src == config_id} == {
        (RelType.TARGETS, "service:default/checkout"),
        (RelType.IN_ENVIRONMENT, "env:production"),
    }
    several = "config:" + hashed("2026-03-05T12:00:00+00:00", "search", "RANKER_MODEL,RANKER_TOP_K", "production")
    assert by_id(deploys)[several].props["changed_keys"] == ["RANKER_MODEL", "RANKER_TOP_K"]


def test_ids_are_stable_across_reads() -> None:
    assert [n.id for n in read("deploys.log").nodes] == [n.id for n in read("deploys.log").nodes]


def test_bad_lines_are_per_record_errors() -> None:
    result = read("broken.log")
    assert [n.id for n in result.nodes] == ["deploy:" + hashed("2026-03-04T08:12:40+00:00", "cart", "2.8.0", "production")]
    shape = "'<RFC 3339 time> <deploy|rollback|restart|config> key=value ...'"
    assert [str(e) for e in result.errors] == [
        f"line 3: time: '2026-03-04' has no time zone (expected e.g. 2026-03-01T12:00:00Z) (expected {shape})",
        "line 4: missing service= (expected <RFC 3339 time> <deploy|rollback|restart|config> key=value ... with service=...)",
        "line 5: action 'redeploy': expected deploy, rollback, restart or config",
        "line 6: status=maybe: expected one of succeeded, failed, started, cancelled",
        "line 7: fields: No closing quotation (quote values with spaces in double quotes)",
        "line 8: 'justaword': expected key=value",
        "line 9: same time, service, version and env as line 2; ignored",
        f"line 10: time: 'Deployed' is not an RFC 3339 time (expected {shape})",
        "line 11: missing env= (expected <RFC 3339 time> <deploy|rollback|restart|config> key=value ... with env=...)",
    ]


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("empty.log", b"", "empty.log: no deploy lines"),
        ("comments-only.log", (FIXTURES / "comments-only.log").read_bytes(), "comments-only.log: no deploy lines"),
        (
            "latin1.log",
            "2026-03-04T10:00:00Z deploy service=café env=prod\n".encode("latin-1"),
            "latin1.log: byte 39 is not UTF-8",
        ),
        (
            "notes.txt",
            (FIXTURES / "release-notes.txt").read_bytes(),
            "notes.txt: no usable deploy lines (3 rejected: line 1: time:",
        ),
    ],
)
def test_whole_file_errors(name: str, data: bytes, message: str) -> None:
    with pytest.raises(FormatError) as info:
        READER.read(SourceFile(name, data), CTX)
    assert str(info.value).startswith(message)


def test_service_must_be_a_component() -> None:
    data = (
        b"2026-03-04T10:00:00Z deploy service=resource:orders-db env=prod\n2026-03-04T10:01:00Z deploy service=a:b:c env=prod\n"
    )
    with pytest.raises(FormatError) as info:
        READER.read(SourceFile("d.log", data), CTX)
    assert "line 1: service=resource:orders-db: names a Resource, expected a service" in str(info.value)
    assert "line 2: service=a:b:c: entity reference 'a:b:c': expected [kind:][namespace/]name" in str(info.value)


def test_cdevents_reader_does_not_claim_logs() -> None:
    assert not CDEVENTS.sniff(fixture("deploys.log"))


# --- robustness ---------------------------------------------------------------------

_LINES = [line for line in (FIXTURES / "deploys.log").read_text().splitlines() if line.strip()]


def _only_vidya_errors(file: SourceFile) -> None:
    try:
        result = READER.read(file, CTX)
    except VidyaError:
        return
    assert result.nodes


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.binary(max_size=600))
def test_arbitrary_bytes_raise_only_vidya_errors(data: bytes) -> None:
    READER.sniff(SourceFile("fuzz.log", data))
    _only_vidya_errors(SourceFile("fuzz.log", data))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_mutated_lines_raise_only_vidya_errors(data: st.DataObject) -> None:
    lines = data.draw(st.lists(st.sampled_from(_LINES), min_size=1, max_size=5))
    for _ in range(data.draw(st.integers(1, 4))):
        index = data.draw(st.integers(0, len(lines) - 1))
        tokens = lines[index].split(" ")
        spot = data.draw(st.integers(0, len(tokens) - 1))
        tokens[spot] = data.draw(
            st.text(max_size=30) | st.sampled_from(['"', "=", "x=", "service=", "9999-12-31T23:59:59-01:00"])
        )
        lines[index] = " ".join(tokens)
    _only_vidya_errors(SourceFile("mutated.log", "\n".join(lines).encode("utf-8", "surrogatepass")))
