"""Node upserts and point reads: idempotency, replacement, lookups and their ordering."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from graph.model import Node, PropValue
from graph.schema import NodeLabel
from graph.store import GraphStore
from tests.contract.helpers import T0, ClockLike, minutes, node, prov, services, stats, stored


def test_new_node_is_created_and_read_back_whole(graph_store: GraphStore) -> None:
    checkout = node("service:default/checkout", name="checkout", props={"tier": 1, "lang": "go"})

    assert graph_store.upsert_nodes([checkout]) == stats(created=1)
    assert graph_store.get_node(checkout.id) == stored(checkout)


def test_same_content_from_same_source_is_unchanged_and_keeps_first_provenance(graph_store: GraphStore, clock: ClockLike) -> None:
    graph_store.upsert_nodes([node("service:a", name="a", run_id="run-1")])
    clock.advance(minutes=5)

    assert graph_store.upsert_nodes([node("service:a", name="a", run_id="run-2")]) == stats(unchanged=1)
    assert graph_store.get_node("service:a") == stored(node("service:a", name="a", run_id="run-1"))


def test_changed_content_replaces_the_node_in_place(graph_store: GraphStore, clock: ClockLike) -> None:
    graph_store.upsert_nodes([node("service:a", name="a", props={"tier": 1, "old": "x"})])
    clock.advance(minutes=5)
    changed = node("service:a", name="A", run_id="run-2", props={"tier": 2})

    assert graph_store.upsert_nodes([changed]) == stats(updated=1)
    # nodes are not versioned: the record is replaced, recorded_at is when the id was first recorded
    assert graph_store.get_node("service:a") == stored(changed, recorded_at=T0)


def test_same_content_from_another_source_moves_the_provenance(graph_store: GraphStore) -> None:
    graph_store.upsert_nodes([node("service:a", name="a", source="one.yaml")])
    moved = node("service:a", name="a", source="two.yaml")

    assert graph_store.upsert_nodes([moved]) == stats(updated=1)
    assert graph_store.get_node("service:a") == stored(moved)


def test_last_record_of_an_id_in_one_call_wins(graph_store: GraphStore) -> None:
    first, last = node("service:a", name="first"), node("service:a", name="last")

    assert graph_store.upsert_nodes([first, last]) == stats(created=1)
    assert graph_store.get_node("service:a") == stored(last)


def test_mixed_upsert_counts_each_outcome(graph_store: GraphStore) -> None:
    graph_store.upsert_nodes(services("a", "b"))
    written = [*services("a"), node("service:b", name="b2"), *services("c", "d")]

    assert graph_store.upsert_nodes(written) == stats(created=2, updated=1, unchanged=1)


def test_upserting_nothing_writes_nothing(graph_store: GraphStore) -> None:
    assert graph_store.upsert_nodes([]) == stats()
    assert graph_store.upsert_edges([]) == stats()
    assert list(graph_store.iter_nodes(include_retired=True)) == []


def test_get_node_of_an_unknown_id_is_none(graph_store: GraphStore) -> None:
    graph_store.upsert_nodes(services("a"))

    assert graph_store.get_node("service:b") is None
    assert graph_store.get_node("team:a") is None


def test_get_nodes_returns_the_existing_ones_in_id_order(graph_store: GraphStore) -> None:
    graph_store.upsert_nodes(services("c", "a", "b"))

    got = graph_store.get_nodes(["service:c", "service:zz", "service:a", "service:c"])

    assert got == [stored(n) for n in services("a", "c")]
    assert graph_store.get_nodes([]) == []


def test_get_node_and_get_nodes_include_retired_nodes(graph_store: GraphStore, clock: ClockLike) -> None:
    graph_store.upsert_nodes(services("a"))
    clock.advance(minutes=1)
    graph_store.retire_source(prov().source)
    expected = stored(services("a")[0], retired_at=minutes(1), valid_to=minutes(1))

    assert graph_store.get_node("service:a") == expected
    assert graph_store.get_nodes(["service:a"]) == [expected]


def test_find_nodes_by_label_in_id_order(graph_store: GraphStore) -> None:
    graph_store.upsert_nodes([*services("b", "a"), node("team:a", name="a"), node("person:a")])

    assert graph_store.find_nodes(NodeLabel.SERVICE) == [stored(n) for n in services("a", "b")]
    assert [n.id for n in graph_store.find_nodes(NodeLabel.TEAM)] == ["team:a"]
    assert [n.id for n in graph_store.find_nodes()] == ["person:a", "service:a", "service:b", "team:a"]


def test_find_nodes_by_name(graph_store: GraphStore) -> None:
    graph_store.upsert_nodes(
        [node("service:x", name="checkout"), node("team:x", name="checkout"), node("service:y", name="cart")]
    )

    assert [n.id for n in graph_store.find_nodes(name="checkout")] == ["service:x", "team:x"]
    assert [n.id for n in graph_store.find_nodes(NodeLabel.TEAM, name="checkout")] == ["team:x"]
    assert graph_store.find_nodes(name="Checkout") == []


def test_find_nodes_by_props_requires_every_value(graph_store: GraphStore) -> None:
    graph_store.upsert_nodes(
        [
            node("service:a", props={"tier": 1, "lang": "go", "ratio": 0.5}),
            node("service:b", props={"tier": 1, "lang": "java", "ratio": 0.5}),
            node("service:c", props={"tier": 2, "lang": "go"}),
        ]
    )

    assert [n.id for n in graph_store.find_nodes(props={"tier": 1})] == ["service:a", "service:b"]
    assert [n.id for n in graph_store.find_nodes(props={"tier": 1, "lang": "go"})] == ["service:a"]
    assert [n.id for n in graph_store.find_nodes(props={"ratio": 0.5, "lang": "java"})] == ["service:b"]
    assert graph_store.find_nodes(props={"lang": "rust"}) == []
    assert graph_store.find_nodes(props={"missing": "x"}) == []


def test_find_nodes_does_not_confuse_booleans_numbers_and_strings(graph_store: GraphStore) -> None:
    graph_store.upsert_nodes(
        [
            node("service:bool", props={"v": True}),
            node("service:int", props={"v": 1}),
            node("service:str", props={"v": "1"}),
        ]
    )

    assert [n.id for n in graph_store.find_nodes(props={"v": True})] == ["service:bool"]
    assert [n.id for n in graph_store.find_nodes(props={"v": 1})] == ["service:int"]
    assert [n.id for n in graph_store.find_nodes(props={"v": "1"})] == ["service:str"]
    assert graph_store.find_nodes(props={"v": False}) == []


def test_find_nodes_matches_property_names_with_punctuation_and_unicode(graph_store: GraphStore) -> None:
    graph_store.upsert_nodes([node("service:a", props={"a.b": "dot", 'q"uote': "q", "ключ": "значение", "with space": "s"})])

    for key, value in (("a.b", "dot"), ('q"uote', "q"), ("ключ", "значение"), ("with space", "s")):
        assert [n.id for n in graph_store.find_nodes(props={key: value})] == ["service:a"], key


def test_find_nodes_skips_retired_unless_asked(graph_store: GraphStore, clock: ClockLike) -> None:
    graph_store.upsert_nodes(services("old", source="old.yaml") + services("new"))
    clock.advance(minutes=1)
    graph_store.retire_source("old.yaml")

    assert [n.id for n in graph_store.find_nodes(NodeLabel.SERVICE)] == ["service:new"]
    found = graph_store.find_nodes(NodeLabel.SERVICE, include_retired=True)
    assert [(n.id, n.retired_at) for n in found] == [("service:new", None), ("service:old", minutes(1))]


def test_find_nodes_limit_keeps_the_first_ids(graph_store: GraphStore) -> None:
    graph_store.upsert_nodes(services("d", "b", "a", "c"))

    assert [n.id for n in graph_store.find_nodes(NodeLabel.SERVICE, limit=2)] == ["service:a", "service:b"]
    assert graph_store.find_nodes(NodeLabel.SERVICE, limit=0) == []


def test_property_values_keep_their_types(graph_store: GraphStore) -> None:
    props: dict[str, PropValue] = {
        "s": "text",
        "i": 7,
        "neg": -3,
        "f": 1.0,
        "pi": 3.14159,
        "yes": True,
        "no": False,
        "int_max": 2**63 - 1,
        "int_min": -(2**63),
        "strs": ["a", "b"],
        "ints": [1, 2, 3],
        "floats": [0.5, 1.0],
        "bools": [True, False],
        "empty_str": "",
    }
    graph_store.upsert_nodes([node("service:a", props=props)])

    got = graph_store.get_node("service:a")
    assert got is not None
    assert got.props == props
    assert {k: type(v) for k, v in got.props.items()} == {k: type(v) for k, v in props.items()}
    assert [type(x) for x in got.props["floats"]] == [float, float]  # type: ignore[union-attr]
    assert [type(x) for x in got.props["bools"]] == [bool, bool]  # type: ignore[union-attr]


def test_none_property_values_are_dropped(graph_store: GraphStore) -> None:
    graph_store.upsert_nodes([Node("service:a", NodeLabel.SERVICE, prov(), props={"a": None, "b": 1})])  # type: ignore[dict-item]

    got = graph_store.get_node("service:a")
    assert got is not None and got.props == {"b": 1}


def test_node_times_come_back_in_utc_with_microseconds(graph_store: GraphStore) -> None:
    ist = timezone(timedelta(hours=5, minutes=30))
    local = datetime(2026, 5, 1, 17, 30, 0, 123456, tzinfo=ist)
    graph_store.upsert_nodes([node("deploy:d1", at=local, valid_from=local, valid_to=local + timedelta(days=1))])

    got = graph_store.get_node("deploy:d1")
    assert got is not None
    assert got.at == datetime(2026, 5, 1, 12, 0, 0, 123456, tzinfo=UTC)
    for value in (got.at, got.valid_from, got.valid_to, got.recorded_at, got.provenance.ingested_at):
        assert value is not None and value.utcoffset() == timedelta(0)
    assert got.valid_to == datetime(2026, 5, 2, 12, 0, 0, 123456, tzinfo=UTC)


def test_provenance_location_and_run_round_trip(graph_store: GraphStore) -> None:
    n = Node("runbook:db", NodeLabel.RUNBOOK, prov("runbooks/db.md", "run-9", "runbooks/db.md:12"), name="DB")
    graph_store.upsert_nodes([n])

    got = graph_store.get_node("runbook:db")
    assert got is not None and got.provenance == prov("runbooks/db.md", "run-9", "runbooks/db.md:12")


def test_retired_node_asserted_again_is_revived(graph_store: GraphStore, clock: ClockLike) -> None:
    graph_store.upsert_nodes(services("a"))
    clock.advance(minutes=1)
    graph_store.retire_source(prov().source)
    clock.advance(minutes=1)

    assert graph_store.upsert_nodes(services("a")) == stats(updated=1)
    assert graph_store.get_node("service:a") == stored(services("a")[0])
    assert [n.id for n in graph_store.find_nodes(NodeLabel.SERVICE)] == ["service:a"]


def test_iter_nodes_lists_current_or_all_nodes(graph_store: GraphStore, clock: ClockLike) -> None:
    graph_store.upsert_nodes(services("b", "a") + services("gone", source="old.yaml"))
    clock.advance(minutes=1)
    graph_store.retire_source("old.yaml")

    assert sorted(n.id for n in graph_store.iter_nodes()) == ["service:a", "service:b"]
    everything = sorted(graph_store.iter_nodes(include_retired=True), key=lambda n: n.id)
    assert everything == [
        *[stored(n) for n in services("a", "b")],
        stored(services("gone", source="old.yaml")[0], retired_at=minutes(1), valid_to=minutes(1)),
    ]


def test_describe_names_the_store(graph_store: GraphStore) -> None:
    text = graph_store.describe()
    assert isinstance(text, str) and text.strip()
