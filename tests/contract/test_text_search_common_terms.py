"""Keyword search where one query term is in nearly every node and another in a few.

A word found nearly everywhere weighs little in BM25, so a search that mixes
it with a rare word must rank the rare-word nodes first and in the same order
as a search for the rare word alone, then fill the rest of the result with the
common-word nodes; a search of common words alone must still find them.
"""

from __future__ import annotations

import pytest

from graph.model import Node
from graph.store import GraphStore
from tests.contract.helpers import node

#: every section mentions pods and containers; only a few mention etcd, some of them more than once
COMMON_ONLY = 200
ETCD_MENTIONS = {0: 1, 1: 3, 2: 2, 3: 4, 4: 1, 5: 2, 6: 1}


def section(n: int, text: str) -> Node:
    return node(f"section:cluster.md#{n:03d}", source="cluster.md", name=f"part {n}", props={"text": text})


@pytest.fixture
def store(graph_store: GraphStore) -> GraphStore:
    common = [section(100 + i, f"check the pod and its container, step {i}") for i in range(COMMON_ONLY)]
    rare = [
        section(i, "check the pod and its container " + " ".join(["etcd"] * mentions))
        for i, mentions in ETCD_MENTIONS.items()
    ]
    graph_store.upsert_nodes([*common, *rare])
    return graph_store


def ids(store: GraphStore, query: str, limit: int) -> list[str]:
    return [hit.node_id for hit in store.search_text(query, limit=limit)]


@pytest.mark.parametrize("limit", [3, len(ETCD_MENTIONS)])
def test_rare_term_nodes_rank_as_they_do_for_the_rare_term_alone(store: GraphStore, limit: int) -> None:
    alone = ids(store, "etcd", limit)
    assert len(alone) == limit
    assert alone[0] == "section:cluster.md#003"  # the most mentions

    assert ids(store, "pod etcd", limit) == alone
    assert ids(store, "container etcd pod", limit) == alone


def test_common_term_nodes_fill_the_result_after_the_rare_ones(store: GraphStore) -> None:
    rare = ids(store, "etcd", 50)
    assert len(rare) == len(ETCD_MENTIONS)

    hits = store.search_text("pod etcd", limit=20)
    assert [h.node_id for h in hits[: len(rare)]] == rare
    assert len(hits) == 20
    assert all(h.node_id.startswith("section:cluster.md#1") for h in hits[len(rare) :])
    assert hits == sorted(hits, key=lambda h: (-h.score, h.node_id))


def test_a_query_of_common_terms_alone_still_finds_them(store: GraphStore) -> None:
    assert len(ids(store, "pod", 50)) == 50
    assert len(ids(store, "pod container", 10)) == 10
    everything = ids(store, "pod container", 1000)
    assert len(everything) == COMMON_ONLY + len(ETCD_MENTIONS)
