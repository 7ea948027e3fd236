"""Timelines: ``events`` by kind, window and service, with the services each event touched."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from graph.errors import RecordError
from graph.model import Node
from graph.schema import NodeLabel, RelType
from graph.store import GraphStore, TimelineEvent
from tests.contract.helpers import ClockLike, edge, minutes, node, stored

L = NodeLabel
ALL = [L.DEPLOYMENT, L.ALERT, L.INCIDENT, L.CONFIG_CHANGE, L.FLAG_CHANGE]
CHECKOUT, PAYMENTS = "service:checkout", "service:payments"


def _timeline(store: GraphStore) -> dict[str, Node]:
    events = {
        "flag:f1": node("flag:f1", name="new-cart", at=minutes(-30), source="events/flags.json"),
        "deploy:d1": node("deploy:d1", name="checkout v2", at=minutes(-20), props={"version": "2.0.0"}),
        "alert:a1": node("alert:a1", name="HighLatency", at=minutes(-10)),
        "incident:i1": node("incident:i1", name="Payments down", at=minutes(-10)),
        "config:c1": node("config:c1", at=minutes(0)),
        "deploy:d2": node("deploy:d2", at=minutes(10)),
    }
    store.upsert_nodes(events.values())
    store.upsert_edges(
        [
            edge(RelType.TARGETS, "flag:f1", "service:cart"),
            edge(RelType.TARGETS, "deploy:d1", CHECKOUT),
            edge(RelType.IN_ENVIRONMENT, "deploy:d1", "env:prod"),
            edge(RelType.AFFECTS, "alert:a1", PAYMENTS),
            edge(RelType.AFFECTS, "alert:a1", CHECKOUT),
            edge(RelType.TRIGGERED, "alert:a1", "incident:i1"),
            edge(RelType.AFFECTS, "incident:i1", PAYMENTS),
            edge(RelType.TARGETS, "config:c1", "resource:db"),
        ]
    )
    return events


def _ids(timeline: list[TimelineEvent]) -> list[str]:
    return [t.node.id for t in timeline]


def test_events_are_whole_nodes_ordered_by_time_then_id(graph_store: GraphStore) -> None:
    events = _timeline(graph_store)

    got = graph_store.events(ALL, minutes(-60), minutes(60))

    assert [t.node for t in got] == [
        stored(events[i]) for i in ("flag:f1", "deploy:d1", "alert:a1", "incident:i1", "config:c1", "deploy:d2")
    ]


def test_each_event_lists_the_topology_it_affects_or_targets(graph_store: GraphStore) -> None:
    _timeline(graph_store)

    got = {t.node.id: t.services for t in graph_store.events(ALL, minutes(-60), minutes(60))}

    assert got == {
        "flag:f1": ["service:cart"],
        "deploy:d1": [CHECKOUT],
        "alert:a1": [CHECKOUT, PAYMENTS],
        "incident:i1": [PAYMENTS],
        "config:c1": ["resource:db"],
        "deploy:d2": [],
    }


def test_events_filtered_by_kind(graph_store: GraphStore) -> None:
    _timeline(graph_store)

    assert _ids(graph_store.events([L.DEPLOYMENT], minutes(-60), minutes(60))) == ["deploy:d1", "deploy:d2"]
    assert _ids(graph_store.events({L.ALERT, L.INCIDENT}, minutes(-60), minutes(60))) == ["alert:a1", "incident:i1"]
    assert graph_store.events([L.MIGRATION], minutes(-60), minutes(60)) == []
    assert graph_store.events([], minutes(-60), minutes(60)) == []


def test_window_includes_its_start_and_excludes_its_end(graph_store: GraphStore) -> None:
    _timeline(graph_store)

    assert _ids(graph_store.events(ALL, minutes(-20), minutes(-10))) == ["deploy:d1"]
    assert _ids(graph_store.events(ALL, minutes(-10), minutes(0))) == ["alert:a1", "incident:i1"]
    tick = timedelta(microseconds=1)
    assert _ids(graph_store.events(ALL, minutes(-10) + tick, minutes(0) + tick)) == ["config:c1"]
    assert graph_store.events(ALL, minutes(0), minutes(0)) == []
    assert graph_store.events(ALL, minutes(20), minutes(-20)) == []


def test_window_bounds_in_other_time_zones_are_compared_as_utc(graph_store: GraphStore) -> None:
    _timeline(graph_store)
    tokyo, new_york = timezone(timedelta(hours=9)), timezone(timedelta(hours=-4))

    got = graph_store.events(ALL, minutes(-20).astimezone(tokyo), minutes(-10).astimezone(new_york))

    assert _ids(got) == ["deploy:d1"]
    assert got[0].node.at == minutes(-20) and got[0].node.at.utcoffset() == timedelta(0)


def test_events_on_given_services_list_only_those_services(graph_store: GraphStore) -> None:
    _timeline(graph_store)

    got = graph_store.events(ALL, minutes(-60), minutes(60), services=[CHECKOUT])

    assert [(t.node.id, t.services) for t in got] == [("deploy:d1", [CHECKOUT]), ("alert:a1", [CHECKOUT])]


def test_events_on_several_services(graph_store: GraphStore) -> None:
    _timeline(graph_store)

    got = graph_store.events(ALL, minutes(-60), minutes(60), services={PAYMENTS, "resource:db"})

    assert [(t.node.id, t.services) for t in got] == [
        ("alert:a1", [PAYMENTS]),
        ("incident:i1", [PAYMENTS]),
        ("config:c1", ["resource:db"]),
    ]
    assert graph_store.events(ALL, minutes(-60), minutes(60), services=[]) == []
    assert graph_store.events(ALL, minutes(-60), minutes(60), services=["service:quiet"]) == []


def test_a_service_linked_twice_is_listed_once(graph_store: GraphStore) -> None:
    graph_store.upsert_nodes([node("deploy:d1", at=minutes(-5))])
    graph_store.upsert_edges(
        [edge(RelType.TARGETS, "deploy:d1", CHECKOUT, key="1"), edge(RelType.TARGETS, "deploy:d1", CHECKOUT, key="2")]
    )

    [event] = graph_store.events([L.DEPLOYMENT], minutes(-60), minutes(60))
    assert event.services == [CHECKOUT]


def test_retired_events_and_retired_links_are_left_out(graph_store: GraphStore, clock: ClockLike) -> None:
    graph_store.upsert_nodes([node("deploy:d1", at=minutes(-20), source="old.json"), node("deploy:d2", at=minutes(-10))])
    graph_store.upsert_edges(
        [edge(RelType.TARGETS, "deploy:d2", CHECKOUT, source="links.json"), edge(RelType.TARGETS, "deploy:d2", PAYMENTS)]
    )
    clock.advance(minutes=1)
    graph_store.retire_source("old.json")
    graph_store.retire_source("links.json")

    got = graph_store.events([L.DEPLOYMENT], minutes(-60), minutes(60))
    assert [(t.node.id, t.services) for t in got] == [("deploy:d2", [PAYMENTS])]
    assert graph_store.events([L.DEPLOYMENT], minutes(-60), minutes(60), services=[CHECKOUT]) == []


def test_events_limit_keeps_the_earliest(graph_store: GraphStore) -> None:
    _timeline(graph_store)

    assert _ids(graph_store.events(ALL, minutes(-60), minutes(60), limit=3)) == ["flag:f1", "deploy:d1", "alert:a1"]
    assert graph_store.events(ALL, minutes(-60), minutes(60), limit=0) == []


def test_non_event_labels_have_no_timeline(graph_store: GraphStore) -> None:
    _timeline(graph_store)
    graph_store.upsert_nodes([node(CHECKOUT, name="checkout")])

    assert graph_store.events([L.SERVICE], minutes(-60), minutes(60)) == []


@pytest.mark.parametrize("which", ["start", "end"])
def test_naive_window_bounds_are_refused(graph_store: GraphStore, which: str) -> None:
    bounds = {"start": minutes(-60), "end": minutes(60)}
    bounds[which] = datetime(2026, 6, 1, 12, 0)

    with pytest.raises(RecordError, match=which):
        graph_store.events(ALL, bounds["start"], bounds["end"])
