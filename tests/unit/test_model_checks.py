"""Records validate every field however they are built: plain values pass, anything else is refused or normalised."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from graph.errors import RecordError, SchemaError
from graph.model import Edge, Node, Provenance, edge_id
from graph.schema import NodeLabel, RelType

PROV = Provenance(source="events.jsonl", run_id="run-1", location="line 3", ingested_at=datetime(2026, 3, 1, tzinfo=UTC))
PLUS_TWO = timezone(timedelta(hours=2))


def test_an_edge_id_is_the_digest_of_its_json_parts() -> None:
    # stored ids must not change between versions: this is the format every store already holds
    parts = ["RUNS", "service:default/caf\u00e9", 'artifact:sha256:"ab"\\', "deploy:1"]
    text = json.dumps(parts, ensure_ascii=False, separators=(",", ":"))
    expected = "RUNS:" + hashlib.sha256(text.encode()).hexdigest()[:32]
    assert edge_id(RelType.RUNS, parts[1], parts[2], parts[3]) == expected
    edge = Edge(RelType.RUNS, parts[1], parts[2], PROV, key=parts[3])
    assert edge.id == expected


@pytest.mark.parametrize(
    ("props", "message"),
    [
        ({"valid_from": "x"}, "reserved"),
        ({"": 1}, "non-empty"),
        ({"big": 2**63}, "64 bits"),
        ({"ratio": float("inf")}, "finite"),
        ({"mixed": [1, "a"]}, "same type"),
        ({"obj": {"a": 1}}, "expected a string"),
        ({"text": "bad \udc80"}, "not valid Unicode"),
    ],
)
def test_bad_props_are_refused_with_the_property_named(props: dict[str, Any], message: str) -> None:
    with pytest.raises(RecordError, match=message):
        Node("deploy:d1", NodeLabel.DEPLOYMENT, PROV, props=props)
    with pytest.raises(RecordError, match=message):
        Edge(RelType.TARGETS, "deploy:d1", "service:default/a", PROV, props=props)


def test_props_are_normalised_alike_for_plain_and_unusual_values() -> None:
    unusual: dict[str, Any] = {"a": "x", "n": None, "t": ("é", "ß"), "f": 1.5, "b": True}
    node = Node("deploy:d1", NodeLabel.DEPLOYMENT, PROV, props=unusual)
    assert node.props == {"a": "x", "t": ["é", "ß"], "f": 1.5, "b": True}
    assert type(node.props["t"]) is list
    usual: dict[str, Any] = {"a": "x", "n": None, "f": 1.5, "b": True}
    plain = Node("deploy:d1", NodeLabel.DEPLOYMENT, PROV, props=usual)
    assert plain.props == {"a": "x", "f": 1.5, "b": True}


def test_times_are_moved_to_utc_and_naive_times_refused() -> None:
    local = datetime(2026, 3, 1, 14, 0, tzinfo=PLUS_TWO)
    node = Node("deploy:d1", NodeLabel.DEPLOYMENT, PROV, at=local)
    assert node.at == local and node.at is not None and node.at.tzinfo is UTC
    edge = Edge(RelType.RUNS, "service:default/a", "artifact:x", PROV, valid_from=local)
    assert edge.valid_from is not None and edge.valid_from.tzinfo is UTC
    assert node.content_hash == Node("deploy:d1", NodeLabel.DEPLOYMENT, PROV, at=local.astimezone(UTC)).content_hash
    with pytest.raises(RecordError, match=r"at: .* no time zone"):
        Node("deploy:d1", NodeLabel.DEPLOYMENT, PROV, at=datetime(2026, 3, 1))
    with pytest.raises(RecordError, match="ingested_at"):
        Provenance(source="a", run_id="r", ingested_at=datetime(2026, 3, 1))
    assert Provenance(source="a", run_id="r", ingested_at=local).ingested_at.tzinfo is UTC


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Node("service:a", NodeLabel.DEPLOYMENT, PROV), "prefix is for Service"),
        (lambda: Node("nope:a", NodeLabel.SERVICE, PROV), "unknown prefix"),
        (lambda: Node("service:", NodeLabel.SERVICE, PROV), "expected '<prefix>:<key>'"),
        (lambda: Node("service:" + "a" * 1100, NodeLabel.SERVICE, PROV), "longer than"),
        (lambda: Edge(RelType.TARGETS, "service:a", "deploy:d1", PROV), "cannot be its source"),
        (lambda: Edge(RelType.TARGETS, "deploy:d1", "env:prod", PROV), "cannot be its target"),
    ],
)
def test_ids_and_edge_endpoints_follow_the_schema(make: object, message: str) -> None:
    with pytest.raises(SchemaError, match=message):
        make()  # type: ignore[operator]


def test_names_keys_and_provenance_are_checked() -> None:
    with pytest.raises(RecordError, match="key"):
        Edge(RelType.RUNS, "service:default/a", "artifact:x", PROV, key="\ud800")
    with pytest.raises(RecordError, match="run_id"):
        Provenance(source="a", run_id="")
    with pytest.raises(RecordError, match="location"):
        Provenance(source="a", run_id="r", location="\udcff")
    assert Node("service:a", NodeLabel.SERVICE, PROV, name="Café").name == "Café"
