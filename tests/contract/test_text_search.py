"""Keyword search: BM25 over current runbook sections, runbooks, incidents and postmortems.

Scores differ between backends (FTS5 and Lucene weigh terms differently), so
these tests compare which nodes match and in what order, never raw scores.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing

import neo4j
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from graph.factory import GraphConfig
from graph.model import Node
from graph.schema import NodeLabel, RelType
from graph.store import GraphStore, TextHit
from tests.contract.helpers import ClockLike, edge, minutes, node, prov

CHECKOUT = "runbooks/checkout.md"
PAYMENTS = "runbooks/payments.md"
I18N = "runbooks/i18n.md"


def section(path: str, n: int, name: str, text: str) -> Node:
    title = {CHECKOUT: "Checkout", PAYMENTS: "Payments", I18N: "International"}[path]
    props = {"heading": f"{title} › {name}", "anchor": name.lower().replace(" ", "-"), "order": n, "text": text}
    return node(f"section:{path}#{n}", source=path, name=name, props={**props, "words": len(text.split())})


OVERVIEW = section(CHECKOUT, 1, "Overview", "The checkout service takes orders and talks to payments and the cart.")
RESTART = section(CHECKOUT, 2, "Restart the pods", "Run kubectl rollout restart deployment/checkout; wait for ready pods.")
LATENCY = section(
    CHECKOUT, 3, "High latency", "When p99 latency is high, check the database connection pool; consider a rollback."
)
ROLLBACK = section(CHECKOUT, 4, "Rollback", "Roll back the last deploy with the pipeline's rollback job.")
DECLINES = section(PAYMENTS, 1, "Card declines", "A spike of card declines usually means the card processor is degraded.")
BACKLOG = section(PAYMENTS, 2, "Queue backlog", "Drain the settlement queue, then scale the worker deployment.")
CERTS = section(PAYMENTS, 3, "Certificates", "Renew the TLS certificate before it expires.")
CAFE = section(I18N, 1, "Café ordering", "Le café est prêt. Перезапуск сервиса. Ελληνικά κείμενα.")
SECTIONS = [OVERVIEW, RESTART, LATENCY, ROLLBACK, DECLINES, BACKLOG, CERTS, CAFE]
RUNBOOKS = [
    node(f"runbook:{CHECKOUT}", source=CHECKOUT, name="Checkout service runbook", props={"format": "markdown"}),
    node(f"runbook:{PAYMENTS}", source=PAYMENTS, name="Payments runbook", props={"format": "markdown"}),
]
INCIDENT = node(
    "incident:INC-1", source="pd/INC-1.json", name="Checkout latency spike", at=minutes(-60),
    props={"description": "p99 latency of checkout went to 3s after a deploy", "status": "resolved"},
)
POSTMORTEM = node(
    "postmortem:pm/inc-1.md", source="pm/inc-1.md", name="Postmortem: checkout latency spike",
    props={"summary": "A connection pool misconfiguration slowed checkout.", "severity": "SEV2"},
)
#: not a text-indexed label, even though its name matches
SERVICE = node("service:checkout", name="checkout", props={"description": "takes orders"})
CORPUS = [*SECTIONS, *RUNBOOKS, INCIDENT, POSTMORTEM, SERVICE]


@pytest.fixture
def store(graph_store: GraphStore) -> GraphStore:
    graph_store.upsert_nodes(CORPUS)
    graph_store.upsert_edges(
        [edge(RelType.HAS_SECTION, f"runbook:{s.provenance.source}", s.id, source=s.provenance.source) for s in SECTIONS]
    )
    return graph_store


def found(store: GraphStore, query: str, **kw: object) -> list[str]:
    return [h.node_id for h in store.search_text(query, **kw)]  # type: ignore[arg-type]


def assert_well_ordered(hits: list[TextHit]) -> None:
    assert all(isinstance(h.score, float) and h.score > 0 for h in hits)
    assert hits == sorted(hits, key=lambda h: (-h.score, h.node_id))
    assert len({h.node_id for h in hits}) == len(hits)


# --- ranking -------------------------------------------------------------------------------
def test_best_hit_is_the_section_that_is_about_it(store: GraphStore) -> None:
    assert found(store, "restart checkout pods")[0] == RESTART.id
    assert found(store, "card declines")[0] == DECLINES.id
    assert found(store, "settlement queue backlog")[0] == BACKLOG.id
    assert found(store, "database connection pool")[:2] == [LATENCY.id, POSTMORTEM.id]


def test_a_match_in_the_name_and_heading_outranks_one_in_the_text(store: GraphStore) -> None:
    assert found(store, "rollback") == [ROLLBACK.id, LATENCY.id]


def test_hits_are_ordered_by_score_then_id_without_duplicates(store: GraphStore) -> None:
    for query in ("checkout", "checkout latency", "the card processor is degraded", "payments rollback pods"):
        hits = store.search_text(query)
        assert hits
        assert_well_ordered(hits)


def test_terms_are_or_ed(store: GraphStore) -> None:
    assert set(found(store, "certificate kubectl")) == {CERTS.id, RESTART.id}


def test_words_joined_by_punctuation_are_a_phrase(store: GraphStore) -> None:
    assert found(store, "rollout-restart") == found(store, "deployment/checkout") == [RESTART.id]
    assert found(store, "restart-rollout") == []


def test_stemming_finds_other_forms_of_a_word(store: GraphStore) -> None:
    for query in ("restarting", "restarts", "restarted"):
        assert found(store, query) == [RESTART.id], query
    assert found(store, "renewing certificates") == [CERTS.id]
    assert found(store, "declined") == [DECLINES.id]


def test_case_does_not_matter(store: GraphStore) -> None:
    assert found(store, "KUBECTL") == found(store, "kubectl") == [RESTART.id]


def test_only_text_labels_are_searched(store: GraphStore) -> None:
    hits = found(store, "checkout")
    assert SERVICE.id not in hits
    assert {RUNBOOKS[0].id, INCIDENT.id, POSTMORTEM.id, OVERVIEW.id, RESTART.id} <= set(hits)
    assert found(store, "takes") == [OVERVIEW.id]  # the service's description says it too


def test_every_indexed_field_is_searched(store: GraphStore) -> None:
    assert found(store, "Overview") == [OVERVIEW.id]  # name
    assert found(store, "International") == [CAFE.id]  # heading only
    assert found(store, "misconfiguration") == [POSTMORTEM.id]  # summary
    assert found(store, "3s") == [INCIDENT.id]  # description
    assert found(store, "processor") == [DECLINES.id]  # text


def test_lists_of_strings_are_searched(graph_store: GraphStore) -> None:
    graph_store.upsert_nodes(
        [
            node("incident:a", name="Outage", props={"description": ["disk full", "db-1 down"]}),
            node("incident:b", name="Outage", props={"description": [500, 503]}),
        ]
    )

    assert found(graph_store, "disk") == found(graph_store, "db-1") == ["incident:a"]
    assert found(graph_store, "503") == []


def test_other_properties_are_not_searched(store: GraphStore) -> None:
    assert found(store, "markdown") == []
    assert found(store, "SEV2 resolved") == []


# --- filters ---------------------------------------------------------------------------------
def test_label_filter(store: GraphStore) -> None:
    assert found(store, "checkout", labels=[NodeLabel.INCIDENT]) == [INCIDENT.id]
    assert set(found(store, "checkout", labels={NodeLabel.RUNBOOK, NodeLabel.POSTMORTEM})) == {
        RUNBOOKS[0].id,
        POSTMORTEM.id,
    }
    assert set(found(store, "latency", labels=[NodeLabel.SECTION])) == {LATENCY.id}
    assert found(store, "checkout", labels=[NodeLabel.SERVICE]) == []
    assert found(store, "checkout", labels=[]) == []


def test_limit(store: GraphStore) -> None:
    everything = store.search_text("checkout")
    assert len(everything) > 3

    assert store.search_text("checkout", limit=2) == everything[:2]
    assert store.search_text("checkout", limit=0) == []


def test_default_limit_is_fifty(graph_store: GraphStore) -> None:
    graph_store.upsert_nodes(
        [node(f"section:big.md#{i}", name=f"part {i}", props={"text": "disk full"}) for i in range(60)]
    )

    hits = graph_store.search_text("disk")
    assert len(hits) == 50
    assert_well_ordered(hits)


# --- what counts as current -------------------------------------------------------------------
def test_retired_nodes_are_not_found(store: GraphStore, clock: ClockLike) -> None:
    clock.advance(minutes=1)
    store.retire_source(PAYMENTS, keep_nodes=[CERTS.id])

    assert found(store, "card declines") == []
    assert found(store, "certificate") == [CERTS.id]
    # the payments runbook is retired; the kept section still has it in its heading
    assert set(found(store, "payments")) == {OVERVIEW.id, CERTS.id}


def test_retired_node_is_found_again_when_re_asserted(store: GraphStore, clock: ClockLike) -> None:
    clock.advance(minutes=1)
    store.retire_source(PAYMENTS)
    clock.advance(minutes=1)

    store.upsert_nodes([DECLINES])

    assert found(store, "declines") == [DECLINES.id]


def test_deleted_nodes_are_not_found(store: GraphStore) -> None:
    store.delete_source(PAYMENTS)

    assert found(store, "card declines settlement certificate") == []
    assert found(store, "kubectl") == [RESTART.id]


def test_node_demoted_to_placeholder_is_not_found(store: GraphStore) -> None:
    # the checkout runbook's sections are named by its HAS_SECTION edges, but so is one by another source
    store.upsert_edges([edge(RelType.MENTIONS, RUNBOOKS[1].id, RESTART.id, source=PAYMENTS)])

    store.delete_source(CHECKOUT)

    demoted = store.get_node(RESTART.id)
    assert demoted is not None and demoted.placeholder
    assert found(store, "kubectl restart pods") == []


def test_placeholder_records_are_not_found(graph_store: GraphStore) -> None:
    stub = Node("section:x.md#1", NodeLabel.SECTION, prov(), name="Restart", props={"text": "restart"}, placeholder=True)
    graph_store.upsert_nodes([stub])
    graph_store.upsert_edges([edge(RelType.HAS_SECTION, "runbook:y.md", "section:y.md#1")])

    assert found(graph_store, "restart") == []
    assert graph_store.get_node("section:x.md#1") is not None


def test_placeholder_filled_by_the_real_node_is_found(graph_store: GraphStore) -> None:
    graph_store.upsert_edges([edge(RelType.HAS_SECTION, f"runbook:{CHECKOUT}", RESTART.id)])
    assert found(graph_store, "kubectl") == []

    graph_store.upsert_nodes([RESTART])

    assert found(graph_store, "kubectl") == [RESTART.id]


def test_nodes_that_ended_in_the_world_are_not_found(graph_store: GraphStore, clock: ClockLike) -> None:
    graph_store.upsert_nodes(
        [
            node("incident:old", name="Disk full on db-1", valid_to=minutes(-1)),
            node("incident:open", name="Disk full on db-2", valid_to=minutes(10)),
        ]
    )
    assert found(graph_store, "disk") == ["incident:open"]

    clock.advance(minutes=11)

    assert found(graph_store, "disk") == []


# --- writes keep the index in step ------------------------------------------------------------
def test_changed_text_replaces_the_old_words(store: GraphStore, clock: ClockLike) -> None:
    clock.advance(minutes=1)
    changed = section(CHECKOUT, 2, "Scale up", "Scale the checkout deployment to ten replicas.")

    store.upsert_nodes([changed])

    assert found(store, "kubectl") == []
    assert found(store, "restart", labels=[NodeLabel.SECTION]) == []
    assert found(store, "replicas") == [RESTART.id]


def test_removed_property_is_no_longer_found(store: GraphStore, clock: ClockLike) -> None:
    clock.advance(minutes=1)
    store.upsert_nodes([node(INCIDENT.id, source="pd/INC-1.json", name="Checkout latency spike", at=minutes(-60))])

    assert found(store, "3s") == []
    assert found(store, "spike", labels=[NodeLabel.INCIDENT]) == [INCIDENT.id]


def test_unchanged_re_upsert_keeps_one_entry(store: GraphStore, clock: ClockLike) -> None:
    before = found(store, "checkout")
    clock.advance(minutes=1)

    store.upsert_nodes(CORPUS)
    store.upsert_nodes([node(s.id, source="elsewhere.md", name=s.name, props=s.props) for s in SECTIONS])

    # the same nodes, each once (Lucene may weigh terms a little differently after updates)
    assert sorted(found(store, "checkout")) == sorted(before)


def test_rolled_back_batch_leaves_nothing_searchable(graph_store: GraphStore) -> None:
    with pytest.raises(RuntimeError), graph_store.batch() as batch:
        batch.upsert_nodes([*SECTIONS, node("section:z.md#1", name="zebra crossing")])
        raise RuntimeError("boom")

    assert found(graph_store, "zebra kubectl declines") == []


def test_rolled_back_retire_and_delete_leave_the_index_as_it_was(store: GraphStore, clock: ClockLike) -> None:
    before = store.search_text("checkout card rollback")
    clock.advance(minutes=1)

    with pytest.raises(RuntimeError), store.batch() as batch:
        batch.upsert_nodes([section(CHECKOUT, 4, "Renamed", "nothing left")])
        batch.retire_source(PAYMENTS)
        batch.delete_source(CHECKOUT)
        raise RuntimeError("boom")

    assert store.search_text("checkout card rollback") == before


def test_writes_in_one_batch_are_searchable_together(graph_store: GraphStore) -> None:
    with graph_store.batch() as batch:
        batch.upsert_nodes(SECTIONS[:4])
        batch.upsert_edges([edge(RelType.HAS_SECTION, f"runbook:{CHECKOUT}", OVERVIEW.id, source=CHECKOUT)])
        batch.upsert_nodes(RUNBOOKS[:1])

    assert found(graph_store, "runbook") == [RUNBOOKS[0].id]
    assert found(graph_store, "kubectl") == [RESTART.id]


def test_ensure_schema_again_changes_nothing(store: GraphStore) -> None:
    before = store.search_text("checkout latency rollback")

    store.ensure_schema()
    store.ensure_schema()

    assert store.search_text("checkout latency rollback") == before


def _make_index_outdated(config: GraphConfig) -> None:
    """Turn the store's keyword index into what an older Vidya left behind."""
    if config.backend == "sqlite":
        with closing(sqlite3.connect(config.sqlite_path)) as conn:
            conn.executescript(
                "DROP TRIGGER nodes_text_insert; DROP TRIGGER nodes_text_update; DROP TRIGGER nodes_text_delete; "
                "DROP TABLE node_text; DROP TABLE node_text_ids; DELETE FROM meta WHERE key = 'text_index';"
            )
        return
    with neo4j.GraphDatabase.driver(config.neo4j_uri, auth=None) as driver:
        driver.execute_query("DROP INDEX vidya_text")
        driver.execute_query("CREATE FULLTEXT INDEX vidya_text FOR (n:Section) ON EACH [n.name]")


def test_ensure_schema_rebuilds_an_outdated_index_from_the_graph(store: GraphStore, graph_config: GraphConfig) -> None:
    before = found(store, "checkout latency rollback")
    _make_index_outdated(graph_config)

    store.ensure_schema()

    assert found(store, "checkout latency rollback") == before
    store.upsert_nodes([node("section:new.md#1", name="Zebra")])
    assert found(store, "zebra") == ["section:new.md#1"]


# --- queries are plain words ---------------------------------------------------------------------
def test_blank_or_stop_word_queries_find_nothing(store: GraphStore) -> None:
    for query in ["", "   ", "\n\t", "the", "The AND or NOT to be", "* ( ) : \" - ~ ^", "it's"]:
        assert store.search_text(query) == [], query


SYNTAX_AROUND_A_WORD = [
    "restart", "(restart)", '"restart', 'restart"', "-restart", "+restart", "NOT restart", "restart AND",
    "restart OR", "OR restart", "restart*", "*restart", "restart)", "{restart}", "[restart TO z]",
    "restart && ||", "!restart", "restart?", "restart\\", "\\restart", "/restart/", "restart's",
    "restart\x00",
]


def test_search_syntax_is_searched_as_plain_words(store: GraphStore) -> None:
    for query in SYNTAX_AROUND_A_WORD:
        assert RESTART.id in found(store, query), repr(query)


NASTY = [
    "foo OR bar", "foo AND NOT bar", "name:restart", "text:restart^10", "restart~2", '"unterminated', '""',
    "a\\", "\\", "(((", ")", "*:*", "?", "NEAR(a b, 2)", "^restart", "col : restart", "\ud800",
    "\U0001f525 fire", "a" * 5000, " ".join(["restart"] * 500), " ".join(f"w{i}" for i in range(2000)),
    "東京都 障害",
]


def test_nasty_queries_return_a_list(store: GraphStore) -> None:
    for query in NASTY:
        hits = store.search_text(query)
        assert isinstance(hits, list), repr(query)
        assert_well_ordered(hits)


_SYNTAX = ["AND", "OR", "NOT", "NEAR", "TO", "*", '"', "(", ")", ":", "^", "~", "-", "+", "\\", "/", "{", "}",
           "[", "]", "&&", "||", "!", "?", "name:", "text:", "\x00", "'", "restart", "checkout", "the"]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.one_of(
        st.text(),
        st.text(alphabet=st.characters(exclude_categories=())),
        st.lists(st.sampled_from(_SYNTAX), max_size=12).map("".join),
    )
)
def test_any_text_is_a_query(store: GraphStore, query: str) -> None:
    hits = store.search_text(query)
    assert isinstance(hits, list)
    assert_well_ordered(hits)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from(_SYNTAX), max_size=12))
def test_a_plain_word_among_syntax_is_still_searched(store: GraphStore, parts: list[str]) -> None:
    query = " ".join([*parts, "kubectl"])
    assert RESTART.id in found(store, query)


# --- unicode ----------------------------------------------------------------------------------------
def test_unicode_words_are_found(store: GraphStore) -> None:
    for query in ["café", "CAFÉ", "prêt", "перезапуск", "ελληνικά", "Café prêt"]:
        assert found(store, query) == [CAFE.id], query
