"""Bi-temporal edges: versions, ``as_of`` reads, validity bounds and functional supersession."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from graph.model import Edge
from graph.schema import RelType
from graph.store import GraphStore
from tests.contract.helpers import (
    SOURCE,
    ClockLike,
    dep,
    edge,
    hops,
    ids,
    minutes,
    node,
    services,
    stats,
    stored,
)

RUNS = RelType.RUNS


def runs(service: str, artifact: str, **kw: Any) -> Edge:
    return edge(RUNS, f"service:{service}", f"artifact:{artifact}", **kw)


def running(store: GraphStore, service: str, as_of: datetime | None = None) -> list[str]:
    """The artifacts ``service`` runs (now, or at ``as_of``)."""
    return [h.node.id for h in store.neighbours(f"service:{service}", types=[RUNS], direction="out", as_of=as_of)]


def test_changed_edge_gets_a_new_version_and_the_old_one_closes_now(graph_store: GraphStore, clock: ClockLike) -> None:
    v1 = dep("a", "b", props={"timeout_ms": 100})
    graph_store.upsert_edges([v1])
    clock.advance(minutes=5)
    v2 = dep("a", "b", props={"timeout_ms": 250})

    assert graph_store.upsert_edges([v2]) == stats(updated=1)
    assert graph_store.edge_history(v1.id) == [
        stored(v1, retired_at=minutes(5), valid_to=minutes(5)),
        stored(v2, minutes(5), valid_from=minutes(5)),
    ]
    assert graph_store.get_edge(v1.id) == stored(v2, minutes(5), valid_from=minutes(5))


def test_new_version_with_a_valid_from_closes_the_old_one_there(graph_store: GraphStore, clock: ClockLike) -> None:
    v1 = dep("a", "b", props={"n": 1}, valid_from=minutes(-60))
    graph_store.upsert_edges([v1])
    clock.advance(minutes=1)
    v2 = dep("a", "b", props={"n": 2}, valid_from=minutes(-10))
    graph_store.upsert_edges([v2])

    assert graph_store.edge_history(v1.id) == [
        stored(v1, retired_at=minutes(1), valid_to=minutes(-10)),
        stored(v2, minutes(1)),
    ]


def test_as_of_sees_the_old_version_then_and_the_new_one_now(graph_store: GraphStore, clock: ClockLike) -> None:
    v1 = dep("a", "b", props={"n": 1}, valid_from=minutes(-60))
    graph_store.upsert_edges([v1])
    clock.advance(minutes=1)
    v2 = dep("a", "b", props={"n": 2}, valid_from=minutes(-10))
    graph_store.upsert_edges([v2])

    old = stored(v1, retired_at=minutes(1), valid_to=minutes(-10))
    assert graph_store.incident_edges(["service:a"], as_of=minutes(-30)) == [old]
    assert graph_store.incident_edges(["service:a"], as_of=minutes(-10)) == [stored(v2, minutes(1))]
    assert graph_store.incident_edges(["service:a"]) == [stored(v2, minutes(1))]
    assert graph_store.incident_edges(["service:a"], as_of=minutes(-61)) == []


def test_reasserting_the_new_version_is_a_no_op(graph_store: GraphStore, clock: ClockLike) -> None:
    graph_store.upsert_edges([dep("a", "b", props={"n": 1})])
    clock.advance(minutes=5)
    graph_store.upsert_edges([dep("a", "b", props={"n": 2})])
    clock.advance(minutes=5)

    assert graph_store.upsert_edges([dep("a", "b", props={"n": 2})]) == stats(unchanged=1)
    assert len(graph_store.edge_history(dep("a", "b").id)) == 2


def test_changed_validity_alone_is_a_new_version(graph_store: GraphStore, clock: ClockLike) -> None:
    v1 = dep("a", "b", valid_from=minutes(-60))
    graph_store.upsert_edges([v1])
    clock.advance(minutes=1)
    v2 = dep("a", "b", valid_from=minutes(-60), valid_to=minutes(-5))

    assert graph_store.upsert_edges([v2]) == stats(updated=1)
    assert graph_store.get_edge(v1.id) == stored(v2, minutes(1))
    assert graph_store.incident_edges(["service:a"]) == []


def test_validity_is_start_inclusive_and_end_exclusive(graph_store: GraphStore) -> None:
    e = dep("a", "b", valid_from=minutes(-20), valid_to=minutes(-10))
    graph_store.upsert_edges([e])

    def seen(as_of: datetime) -> bool:
        return graph_store.incident_edges(["service:a"], as_of=as_of) == [stored(e)]

    tick = timedelta(microseconds=1)
    assert seen(minutes(-20))
    assert seen(minutes(-10) - tick)
    assert not seen(minutes(-10))
    assert not seen(minutes(-20) - tick)


def test_ended_edge_is_not_current_but_stays_answerable(graph_store: GraphStore) -> None:
    ended = dep("a", "b", valid_from=minutes(-20), valid_to=minutes(-10))
    open_ended = dep("a", "c", valid_to=minutes(30))
    graph_store.upsert_edges([ended, open_ended])

    assert graph_store.incident_edges(["service:a"]) == [stored(open_ended)]
    assert ids(graph_store.incident_edges(["service:a"], as_of=minutes(-15))) == sorted([ended.id, open_ended.id])
    assert graph_store.incident_edges(["service:a"], as_of=minutes(30)) == []


def test_edge_valid_from_the_future_counts_as_current(graph_store: GraphStore) -> None:
    planned = dep("a", "b", valid_from=minutes(60))
    graph_store.upsert_edges([planned])

    assert graph_store.incident_edges(["service:a"]) == [stored(planned)]
    assert graph_store.incident_edges(["service:a"], as_of=minutes(0)) == []
    assert graph_store.incident_edges(["service:a"], as_of=minutes(60)) == [stored(planned)]


def test_as_of_in_another_time_zone_is_the_same_instant(graph_store: GraphStore) -> None:
    e = dep("a", "b", valid_from=minutes(-20), valid_to=minutes(-10))
    graph_store.upsert_edges([e])
    pacific = timezone(timedelta(hours=-7))

    assert graph_store.incident_edges(["service:a"], as_of=minutes(-15).astimezone(pacific)) == [stored(e)]
    assert graph_store.incident_edges(["service:a"], as_of=minutes(-5).astimezone(pacific)) == []


def test_node_validity_bounds_traversals(graph_store: GraphStore) -> None:
    graph_store.upsert_nodes([*services("a"), node("service:old", valid_from=minutes(-60), valid_to=minutes(-10))])
    graph_store.upsert_edges([dep("a", "old")])

    assert graph_store.neighbours("service:a") == []
    assert hops(graph_store.neighbours("service:a", as_of=minutes(-30))) == [("service:old", 1)]
    assert graph_store.neighbours("service:a", as_of=minutes(-61)) == []


def test_functional_edge_supersedes_the_current_one_at_its_valid_from(graph_store: GraphStore, clock: ClockLike) -> None:
    first = runs("x", "a1", valid_from=minutes(-60))
    graph_store.upsert_edges([first])
    clock.advance(minutes=1)
    second = runs("x", "a2", valid_from=minutes(-10))

    assert graph_store.upsert_edges([second]) == stats(created=1, updated=1)
    assert graph_store.get_edge(first.id) == stored(first, valid_to=minutes(-10))
    assert graph_store.get_edge(second.id) == stored(second, minutes(1))
    assert running(graph_store, "x") == ["artifact:a2"]
    assert running(graph_store, "x", as_of=minutes(-30)) == ["artifact:a1"]
    assert running(graph_store, "x", as_of=minutes(-10)) == ["artifact:a2"]


def test_owner_change_supersedes_but_dependencies_accumulate(graph_store: GraphStore, clock: ClockLike) -> None:
    graph_store.upsert_edges([edge(RelType.OWNED_BY, "service:a", "team:one", valid_from=minutes(-60)), dep("a", "b")])
    clock.advance(minutes=1)
    graph_store.upsert_edges([edge(RelType.OWNED_BY, "service:a", "team:two", valid_from=minutes(-5)), dep("a", "c")])

    owners = graph_store.neighbours("service:a", types=[RelType.OWNED_BY])
    assert hops(owners) == [("team:two", 1)]
    deps = graph_store.neighbours("service:a", types=[RelType.DEPENDS_ON])
    assert hops(deps) == [("service:b", 1), ("service:c", 1)]


def test_functional_supersession_is_per_source_node(graph_store: GraphStore) -> None:
    graph_store.upsert_edges([runs("x", "a1", valid_from=minutes(-60))])
    graph_store.upsert_edges([runs("y", "a2", valid_from=minutes(-10))])

    assert running(graph_store, "x") == ["artifact:a1"]
    assert running(graph_store, "y") == ["artifact:a2"]


def test_late_older_functional_edge_is_history_ending_at_its_successor(graph_store: GraphStore, clock: ClockLike) -> None:
    newer = runs("x", "a2", valid_from=minutes(-10))
    graph_store.upsert_edges([newer])
    clock.advance(minutes=1)
    older = runs("x", "a1", valid_from=minutes(-60))

    assert graph_store.upsert_edges([older]) == stats(created=1)
    assert graph_store.get_edge(older.id) == stored(older, minutes(1), valid_to=minutes(-10))
    assert graph_store.get_edge(newer.id) == stored(newer)
    assert running(graph_store, "x") == ["artifact:a2"]
    assert running(graph_store, "x", as_of=minutes(-30)) == ["artifact:a1"]


def test_late_functional_edge_inside_a_long_history_closes_only_what_it_overlaps(
    graph_store: GraphStore, clock: ClockLike
) -> None:
    history = [runs("x", f"a{i}", valid_from=minutes(-100 + 20 * i)) for i in range(5)]  # -100, -80, ... -20
    for version in history:
        graph_store.upsert_edges([version])
    clock.advance(minutes=1)
    between = runs("x", "b", valid_from=minutes(-50))  # inside a2's validity [-60, -40)
    first = runs("x", "c", valid_from=minutes(-130))  # before every version

    assert graph_store.upsert_edges([between]) == stats(created=1, updated=1)
    assert graph_store.upsert_edges([first]) == stats(created=1)
    assert graph_store.get_edge(between.id) == stored(between, minutes(1), valid_to=minutes(-40))
    assert graph_store.get_edge(first.id) == stored(first, minutes(1), valid_to=minutes(-100))
    assert graph_store.get_edge(history[2].id) == stored(history[2], valid_to=minutes(-50))
    assert graph_store.get_edge(history[1].id) == stored(history[1], valid_to=minutes(-60))
    assert graph_store.get_edge(history[4].id) == stored(history[4])
    at = {m: running(graph_store, "x", as_of=minutes(m)) for m in (-120, -90, -55, -45, -30, -10)}
    assert at == {
        -120: ["artifact:c"],
        -90: ["artifact:a0"],
        -55: ["artifact:a2"],
        -45: ["artifact:b"],
        -30: ["artifact:a3"],
        -10: ["artifact:a4"],
    }


def test_reasserting_a_late_older_functional_edge_is_a_no_op(graph_store: GraphStore, clock: ClockLike) -> None:
    graph_store.upsert_edges([runs("x", "a2", valid_from=minutes(-10))])
    older = runs("x", "a1", valid_from=minutes(-60))
    graph_store.upsert_edges([older])
    clock.advance(minutes=1)

    assert graph_store.upsert_edges([older, runs("x", "a2", valid_from=minutes(-10))]) == stats(unchanged=2)
    assert len(graph_store.edge_history(older.id)) == 1


def test_functional_edge_without_valid_from_supersedes_now(graph_store: GraphStore, clock: ClockLike) -> None:
    first = runs("x", "a1")
    graph_store.upsert_edges([first])
    clock.advance(minutes=5)
    second = runs("x", "a2")

    assert graph_store.upsert_edges([second]) == stats(created=1, updated=1)
    assert graph_store.get_edge(first.id) == stored(first, valid_to=minutes(5))
    assert graph_store.get_edge(second.id) == stored(second, minutes(5), valid_from=minutes(5))
    assert running(graph_store, "x", as_of=minutes(2)) == ["artifact:a1"]
    assert running(graph_store, "x", as_of=minutes(5)) == ["artifact:a2"]
    clock.advance(minutes=5)
    assert graph_store.upsert_edges([runs("x", "a2")]) == stats(unchanged=1)


def test_keyed_functional_edges_supersede_each_other(graph_store: GraphStore, clock: ClockLike) -> None:
    d1 = runs("x", "a1", key="deploy-1", valid_from=minutes(-60))
    graph_store.upsert_edges([d1])
    clock.advance(minutes=1)
    d2 = runs("x", "a1", key="deploy-2", valid_from=minutes(-10))
    graph_store.upsert_edges([d2])

    current = graph_store.incident_edges(["service:x"], "out", [RUNS])
    assert current == [stored(d2, minutes(1))]
    assert graph_store.incident_edges(["service:x"], "out", [RUNS], as_of=minutes(-30)) == [stored(d1, valid_to=minutes(-10))]


def test_retired_edge_asserted_again_gets_a_new_version(graph_store: GraphStore, clock: ClockLike) -> None:
    graph_store.upsert_nodes(services("a", "b", source="nodes.yaml"))
    e = dep("a", "b")
    graph_store.upsert_edges([e])
    clock.advance(minutes=1)
    graph_store.retire_source(SOURCE)
    assert graph_store.get_edge(e.id) == stored(e, retired_at=minutes(1), valid_to=minutes(1))
    clock.advance(minutes=1)

    assert graph_store.upsert_edges([e]) == stats(created=1)
    revived = stored(e, minutes(2), valid_from=minutes(2))
    assert graph_store.edge_history(e.id) == [stored(e, retired_at=minutes(1), valid_to=minutes(1)), revived]
    assert graph_store.incident_edges(["service:a"]) == [revived]
    assert graph_store.incident_edges(["service:a"], as_of=minutes(1.5)) == []
    clock.advance(minutes=1)
    assert graph_store.upsert_edges([e]) == stats(unchanged=1)


def test_two_changes_at_the_same_instant_keep_their_order(graph_store: GraphStore) -> None:
    v1, v2 = dep("a", "b", props={"n": 1}), dep("a", "b", props={"n": 2})
    graph_store.upsert_edges([v1])
    graph_store.upsert_edges([v2])

    assert graph_store.edge_history(v1.id) == [
        stored(v1, retired_at=minutes(0), valid_to=minutes(0)),
        stored(v2, valid_from=minutes(0)),
    ]
    assert graph_store.incident_edges(["service:a"], as_of=minutes(0)) == [stored(v2, valid_from=minutes(0))]


def test_correction_with_the_same_valid_from_replaces_the_old_version_entirely(graph_store: GraphStore, clock: ClockLike) -> None:
    v1 = dep("a", "b", props={"n": 1}, valid_from=minutes(-60))
    graph_store.upsert_edges([v1])
    clock.advance(minutes=1)
    v2 = dep("a", "b", props={"n": 2}, valid_from=minutes(-60))
    graph_store.upsert_edges([v2])

    assert graph_store.edge_history(v1.id) == [
        stored(v1, retired_at=minutes(1), valid_to=minutes(-60)),
        stored(v2, minutes(1)),
    ]
    assert graph_store.incident_edges(["service:a"], as_of=minutes(-30)) == [stored(v2, minutes(1))]


def test_functional_edges_in_one_call_are_ordered_by_valid_from(graph_store: GraphStore) -> None:
    newer, older = runs("x", "a2", valid_from=minutes(-10)), runs("x", "a1", valid_from=minutes(-60))

    assert graph_store.upsert_edges([newer, older]) == stats(created=2)
    assert graph_store.get_edge(older.id) == stored(older, valid_to=minutes(-10))
    assert graph_store.get_edge(newer.id) == stored(newer)
    assert running(graph_store, "x") == ["artifact:a2"]
    assert running(graph_store, "x", as_of=minutes(-11)) == ["artifact:a1"]


def test_as_of_hides_events_that_had_not_happened_yet(graph_store: GraphStore) -> None:
    graph_store.upsert_nodes(
        [node("service:default/checkout"), node("deploy:early", at=minutes(-30)), node("deploy:late", at=minutes(30))]
    )
    graph_store.upsert_edges(
        [
            edge(RelType.TARGETS, "deploy:early", "service:default/checkout"),
            edge(RelType.TARGETS, "deploy:late", "service:default/checkout"),
        ]
    )
    then = [h.node.id for h in graph_store.neighbours("service:default/checkout", as_of=minutes(0))]
    assert then == ["deploy:early"]
    now = [h.node.id for h in graph_store.neighbours("service:default/checkout")]
    assert now == ["deploy:early", "deploy:late"]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(st.integers(-2000, 0), min_size=1, max_size=12, unique=True),
    st.randoms(use_true_random=False),
    st.integers(1, 4),
)
def test_functional_versions_written_in_any_order_and_batches_chain_by_start(
    graph_store: GraphStore, starts: list[int], rnd: Any, batches: int
) -> None:
    # each example has a service of its own, so earlier examples' versions are other groups' history
    service = f"p{abs(hash((tuple(starts), batches))) % 10**9}"
    versions = [runs(service, f"{service}-a{m + 2000}", valid_from=minutes(m)) for m in starts]
    rnd.shuffle(versions)
    cut = sorted(rnd.sample(range(1, len(versions)), min(batches - 1, len(versions) - 1))) if len(versions) > 1 else []
    for part in (versions[a:b] for a, b in zip([0, *cut], [*cut, len(versions)], strict=True)):
        graph_store.upsert_edges(part)

    chain = sorted(versions, key=lambda e: e.valid_from or minutes(0))
    ends = [e.valid_from for e in chain[1:]] + [None]
    assert [(e.id, graph_store.get_edge(e.id).valid_to) for e in chain] == [  # type: ignore[union-attr]
        (e.id, end) for e, end in zip(chain, ends, strict=True)
    ]
    for e, end in zip(chain, ends, strict=True):
        at = e.valid_from + (end - e.valid_from) / 2 if end and e.valid_from else e.valid_from
        assert running(graph_store, service, as_of=at) == [e.dst]
