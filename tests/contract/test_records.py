"""Values at the edges: unicode, very long values, long ids, and records the schema refuses."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone

import pytest

from graph.errors import RecordError, SchemaError, VidyaError
from graph.model import Edge, Node, Provenance
from graph.schema import MAX_ID_LENGTH, NodeLabel, RelType
from graph.store import GraphStore
from tests.contract.helpers import dep, edge, hops, minutes, node, path_nodes, prov, stats, stored

UNICODE = {
    "emoji": "🔥 checkout is on fire 🚒👩🏽‍🚒",
    "rtl": "خدمة الدفع",
    "hebrew": "שירות תשלומים",
    "cjk": "支払いサービス 结账服务 결제",
    "combining": "e\u0301te\u0301",
    "astral": "𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
}


def test_unicode_names_props_and_ids_round_trip(graph_store: GraphStore) -> None:
    records = [node(f"service:{key}/{value}", name=value, props={"text": value, value: key}) for key, value in UNICODE.items()]
    graph_store.upsert_nodes(records)

    assert graph_store.get_nodes([n.id for n in records]) == sorted((stored(n) for n in records), key=lambda n: n.id)
    for value in UNICODE.values():
        assert [n.name for n in graph_store.find_nodes(name=value)] == [value]
        assert [n.name for n in graph_store.find_nodes(props={"text": value})] == [value]


def test_unicode_ids_work_in_traversals(graph_store: GraphStore) -> None:
    a, b, c = "service:支払い", "service:🔥", "service:خدمة"
    graph_store.upsert_edges([edge(RelType.DEPENDS_ON, a, b), edge(RelType.DEPENDS_ON, b, c)])

    assert hops(graph_store.neighbours(b)) == sorted([(a, 1), (c, 1)])
    assert path_nodes(graph_store.paths(a, c)) == [[a, b, c]]
    assert graph_store.get_edge(edge(RelType.DEPENDS_ON, a, b).id) == stored(edge(RelType.DEPENDS_ON, a, b))


def test_very_long_property_values_round_trip(graph_store: GraphStore) -> None:
    long_text = ("runbook step ✅ " * 7000)[:100_000]
    n = node("runbook:long", name="long", props={"body": long_text, "lines": [long_text[:50_000]] * 2})
    e = edge(RelType.MENTIONS, "runbook:long", "service:a", props={"quote": long_text})
    graph_store.upsert_nodes([n])
    graph_store.upsert_edges([e])

    assert graph_store.get_node(n.id) == stored(n)
    assert graph_store.get_edge(e.id) == stored(e)
    assert [x.id for x in graph_store.find_nodes(props={"body": long_text})] == ["runbook:long"]
    assert graph_store.upsert_nodes([n]) == stats(unchanged=1)


def test_ids_at_the_length_limit_work_everywhere(graph_store: GraphStore) -> None:
    long_a = "service:" + "a" * (MAX_ID_LENGTH - len("service:"))
    long_b = "service:" + "é" * (MAX_ID_LENGTH - len("service:"))
    assert len(long_a) == len(long_b) == MAX_ID_LENGTH
    graph_store.upsert_nodes([node(long_a, name="a")])
    e = edge(RelType.DEPENDS_ON, long_a, long_b)

    assert graph_store.upsert_edges([e]) == stats(created=1)
    assert graph_store.get_node(long_a) == stored(node(long_a, name="a"))
    assert graph_store.get_edge(e.id) == stored(e)
    assert hops(graph_store.neighbours(long_a)) == [(long_b, 1)]
    assert path_nodes(graph_store.paths(long_a, long_b)) == [[long_a, long_b]]


def test_id_over_the_length_limit_is_refused(graph_store: GraphStore) -> None:
    too_long = "service:" + "a" * (MAX_ID_LENGTH - len("service:") + 1)

    with pytest.raises(SchemaError, match="longer than"):
        graph_store.upsert_nodes([node(too_long)])
    with pytest.raises(SchemaError, match="longer than"):
        graph_store.upsert_nodes([Node("service:" + "a" * 2000, NodeLabel.SERVICE, prov())])
    assert list(graph_store.iter_nodes(include_retired=True)) == []


INVALID: dict[str, tuple[type[VidyaError], str, Callable[[], Node | Edge]]] = {
    "naive at": (RecordError, "time zone", lambda: node("deploy:d", at=datetime(2026, 6, 1, 12, 0))),
    "naive ingested_at": (
        RecordError,
        "time zone",
        lambda: Node("service:a", NodeLabel.SERVICE, Provenance("s", "r", ingested_at=datetime(2026, 6, 1))),
    ),
    "naive edge valid_from": (RecordError, "time zone", lambda: dep("a", "b", valid_from=datetime(2026, 6, 1))),
    "nested dict prop": (RecordError, "props", lambda: node("service:a", props={"x": {"y": 1}})),  # type: ignore[dict-item]
    "nested list prop": (RecordError, "props", lambda: node("service:a", props={"x": [[1]]})),  # type: ignore[dict-item]
    "reserved prop": (RecordError, "reserved", lambda: node("service:a", props={"valid_from": "x"})),
    "reserved edge prop": (RecordError, "reserved", lambda: dep("a", "b", props={"source": "x"})),
    "mixed list": (RecordError, "same type", lambda: node("service:a", props={"x": [1, "a"]})),  # type: ignore[dict-item]
    "nan": (RecordError, "finite", lambda: node("service:a", props={"x": float("nan")})),
    "int over 64 bits": (RecordError, "64 bits", lambda: node("service:a", props={"x": 2**63})),
    "unknown prefix": (SchemaError, "unknown prefix", lambda: node("svc:a")),
    "no prefix": (SchemaError, "prefix", lambda: Node("checkout", NodeLabel.SERVICE, prov())),
    "prefix of another label": (SchemaError, "prefix is for", lambda: Node("team:a", NodeLabel.SERVICE, prov())),
    "empty provenance source": (RecordError, "source", lambda: node("service:a", source="")),
    "disallowed edge source": (SchemaError, "cannot be its source", lambda: edge(RelType.RUNS, "team:a", "artifact:x")),
    "disallowed edge target": (
        SchemaError,
        "cannot be its target",
        lambda: edge(RelType.OWNED_BY, "service:a", "service:b"),
    ),
    "edge to a bad id": (SchemaError, "unknown prefix", lambda: edge(RelType.DEPENDS_ON, "service:a", "nope:b")),
}


@pytest.mark.parametrize("case", list(INVALID))
def test_invalid_records_are_refused_and_nothing_is_written(graph_store: GraphStore, case: str) -> None:
    error, message, build = INVALID[case]

    def stream() -> Iterator[Node]:
        yield node("service:ok")
        record = build()
        assert isinstance(record, Node)  # not reached: building it raises
        yield record

    with pytest.raises(error, match=message):
        graph_store.upsert_nodes(stream())
    assert list(graph_store.iter_nodes(include_retired=True)) == []


def test_find_nodes_refuses_a_non_scalar_filter(graph_store: GraphStore) -> None:
    with pytest.raises(RecordError, match="tags"):
        graph_store.find_nodes(props={"tags": {"a": 1}})


def test_record_times_are_stored_as_utc_instants(graph_store: GraphStore) -> None:
    kolkata, lima = timezone(timedelta(hours=5, minutes=30)), timezone(timedelta(hours=-5))
    e = dep("a", "b", valid_from=minutes(-30).astimezone(kolkata), valid_to=minutes(30).astimezone(lima))
    graph_store.upsert_edges([e])

    got = graph_store.get_edge(e.id)
    assert got is not None
    assert (got.valid_from, got.valid_to) == (minutes(-30), minutes(30))
    assert [t.utcoffset() for t in (got.valid_from, got.valid_to) if t is not None] == [timedelta(0)] * 2
