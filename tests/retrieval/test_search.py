"""Hybrid search, runbook selection for alerts, answers and drift repair, on real runbooks with the real model.

One small estate per module: the demo estate's catalogue and runbooks plus a
dozen OpenShift runbooks, ingested through the real pipeline with the
section indexer as its sink, so vectors, keyword index and graph links are the
ones a user gets.
"""

from __future__ import annotations

import itertools
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from api.ingestion.pipeline import Ingester
from graph.errors import ConfigError, NotFound, VidyaError
from graph.factory import GraphConfig, open_store
from graph.schema import NodeLabel, RelType
from graph.store import GraphStore
from retrieval.alert_runbooks import AlertQuery, select_runbooks
from retrieval.answer import compose_answer
from retrieval.config import preset
from retrieval.doctor import check, load_items, repair
from retrieval.embeddings import CachedEmbedder, SentenceTransformerEmbedder
from retrieval.indexer import SectionIndexer
from retrieval.search import Searcher, query_words, title_shares
from retrieval.vector_index import VectorIndex, VectorPoint
from tests.retrieval.conftest import CORPUS, ROOT

pytestmark = pytest.mark.usefixtures("qdrant")

ESTATE = ROOT / "examples" / "estate"
OPENSHIFT = [
    "openshift-container-storage-operator/CephMonQuorumAtRisk.md",
    "openshift-container-storage-operator/CephMonQuorumLost.md",
    "openshift-container-storage-operator/CephClusterCriticallyFull.md",
    "openshift-container-storage-operator/CephOSDDiskNotResponding.md",
    "openshift-container-storage-operator/ODFCorePodRestarted.md",
    "openshift-container-storage-operator/PersistentVolumeUsageNearFull.md",
    "cluster-monitoring-operator/ClusterOperatorDown.md",
    "cluster-monitoring-operator/KubePersistentVolumeInodesFillingUp.md",
    "machine-config-operator/MachineConfigControllerDrainError.md",
]


class Estate:
    def __init__(self, store: GraphStore, index: VectorIndex, embedder: CachedEmbedder, root: Path) -> None:
        self.store, self.index, self.embedder, self.root = store, index, embedder, root
        self.searcher = Searcher(store, index, embedder)


@pytest.fixture(scope="module")
def estate(
    tmp_path_factory: pytest.TempPathFactory, embedder: SentenceTransformerEmbedder, embedding_cache: Path
) -> Iterator[Estate]:
    root, data = tmp_path_factory.mktemp("estate"), tmp_path_factory.mktemp("data")
    shutil.copytree(ESTATE / "catalog", root / "catalog")
    shutil.copytree(ESTATE / "runbooks", root / "runbooks")
    for name in OPENSHIFT:
        (root / "alerts" / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(CORPUS / name, root / "alerts" / name)
    store = open_store(GraphConfig(sqlite_path=data / "graph.db"))
    cached = CachedEmbedder(embedder, embedding_cache)
    index = VectorIndex(cached.dim, path=data / "qdrant")
    report = Ingester(store, sinks=[SectionIndexer(cached, index)]).run([root])
    assert report.ok, [s.error for s in report.sources if s.error]
    yield Estate(store, index, cached, root)
    index.close()
    cached.close()
    store.close()


def sources(hits: list) -> list[str]:  # type: ignore[type-arg]
    return [h.source for h in hits]


def test_every_section_is_indexed_once_with_its_source(estate: Estate) -> None:
    drift = check(estate.store, estate.index)
    assert drift.clean and drift.sections == drift.points > 100


def test_a_symptom_in_own_words_finds_its_runbook_in_all_three_modes(estate: Estate) -> None:
    question = "the ceph monitors cannot form a quorum anymore"
    for mode in ("hybrid", "dense", "bm25"):
        top = sources(estate.searcher.search(question, k=3, mode=mode))
        assert {"alerts/openshift-container-storage-operator/CephMonQuorumLost.md",
                "alerts/openshift-container-storage-operator/CephMonQuorumAtRisk.md"} & set(top[:2]), (mode, top)


def test_hits_carry_source_heading_score_and_one_section_per_document(estate: Estate) -> None:
    hits = estate.searcher.search("storage cluster is almost full, writes will stop", k=8)
    assert [h.rank for h in hits] == list(range(1, len(hits) + 1))
    assert len({h.document_id for h in hits}) == len(hits)
    assert all(h.score > 0 and h.heading and h.node_id.startswith("section:") for h in hits)
    assert all(later.score <= earlier.score for earlier, later in itertools.pairwise(hits))
    assert "alerts/openshift-container-storage-operator/CephClusterCriticallyFull.md" in sources(hits[:3])
    broad = Searcher(estate.store, estate.index, estate.embedder, preset("broad"))
    per_doc = [h.document_id for h in broad.search("storage cluster is almost full, writes will stop", k=8)]
    assert max(per_doc.count(d) for d in per_doc) == 2


def test_sections_are_linked_to_the_services_they_name(estate: Estate) -> None:
    sections = {e.src for e in estate.store.incident_edges(["service:default/pricing"], "in", [RelType.MENTIONS])}
    assert any(s.startswith("section:runbooks/checkout-high-latency.md#") for s in sections)


def test_a_service_in_play_lifts_its_runbooks(estate: Estate) -> None:
    question = "error rate went up after the deploy"
    plain = estate.searcher.search(question, k=10)
    lifted = estate.searcher.search(question, k=10, service="checkout")
    rank = {h.source: h.rank for h in lifted}
    assert "service" in lifted[0].boosts and "service:default/checkout" in lifted[0].services
    before = {h.source: h.rank for h in plain}
    linked = [h.source for h in lifted if "service" in h.boosts]
    assert all(rank[s] <= before.get(s, 99) for s in linked)
    named = estate.searcher.search("checkout error rate went up after the deploy", k=5)
    assert "service" in named[0].boosts
    strict = estate.searcher.search(question, k=10, service="checkout", only_service=True)
    assert strict and all(set(h.boosts) & {"service", "neighbour"} for h in strict)
    # the links a hit reports do not depend on which services are in play
    links = {h.node_id: h.services for h in lifted}
    assert any(h.services for h in plain) and all(links[h.node_id] == h.services for h in plain if h.node_id in links)


def test_title_words_in_the_query_lift_a_runbook_by_their_share() -> None:
    words = query_words("only one ceph mon left running; storageClassName")
    assert {"ceph", "mon", "storage", "class", "name"} <= words
    # titles with no word in common weigh each word alike: plain shares
    alone = title_shares({"lost": "CephMonQuorumLost", "none": "", "other": "KubeletDown"}, words)
    assert alone == {"lost": 0.5, "none": 0.0, "other": 0.0}
    assert title_shares({"risk": "CephMonQuorumAtRisk"}, words)["risk"] == pytest.approx(2 / 4)  # "At" is too short


def test_a_title_word_common_among_the_candidates_counts_less_than_a_rare_one() -> None:
    titles = {"osd": "CephOSDDown", "mon": "CephMonDown", "mgr": "CephMgrDown", "odf": "ODFCorePodRestarted"}
    common = title_shares(titles, query_words("ceph is unhappy"))["mon"]  # "ceph" is in three titles of four
    rare = title_shares(titles, query_words("a mon is unhappy"))["mon"]  # "mon" in one
    assert 0 < common < 1 / 3 < rare < 1
    assert title_shares(titles, query_words("pod restarted"))["odf"] == pytest.approx(2 / 4)  # all equally rare


def test_title_words_boost_multiplies_the_fused_score(estate: Estate) -> None:
    question = "only one ceph mon left running"
    plain = Searcher(estate.store, estate.index, estate.embedder, preset().model_copy(update={"title_words_boost": 0.0}))
    before = {h.node_id: h.score for h in plain.search(question, k=10)}
    boosted = [h for h in estate.searcher.search(question, k=10) if "title words" in h.boosts]
    assert boosted
    compared = [hit for hit in boosted if hit.node_id in before]
    assert compared
    for hit in compared:
        lift = hit.score / before[hit.node_id]
        assert 1 < lift <= 1 + preset().title_words_boost + 1e-9
        title = estate.store.get_node(hit.document_id).name  # type: ignore[union-attr]
        if all(w in query_words(question) for w in query_words(title or "")):
            assert lift == pytest.approx(1 + preset().title_words_boost)


def test_a_vector_whose_section_is_gone_is_skipped_and_k_is_still_filled(estate: Estate) -> None:
    question = "ceph monitors lost their quorum"
    vector = estate.embedder.embed_query(question)
    estate.index.upsert([VectorPoint("section:vanished.md#1", vector, source="vanished.md")])
    try:
        hits = estate.searcher.search(question, k=5)
        dense = estate.searcher.search(question, k=5, mode="dense")
    finally:
        estate.index.delete(["section:vanished.md#1"])
    assert len(hits) == len(dense) == 5
    assert "section:vanished.md#1" not in {h.node_id for h in [*hits, *dense]}


def test_filters_and_bad_arguments(estate: Estate) -> None:
    assert all(h.kind == "runbook" for h in estate.searcher.search("latency", kinds=["runbook"]))
    assert estate.searcher.search("latency", kinds=["postmortem"]) == []
    with pytest.raises(VidyaError, match="query is empty"):
        estate.searcher.search("   ")
    with pytest.raises(NotFound, match="no-such-service"):
        estate.searcher.search("latency", service="no-such-service")
    with pytest.raises(ConfigError, match="preset"):
        preset("fastest")


def test_runbook_selection_for_an_alert_uses_url_name_service_and_meaning(estate: Estate) -> None:
    by_url = AlertQuery(
        "SomethingElse", runbook_url="https://github.com/openshift/runbooks/blob/master/alerts/"
        "openshift-container-storage-operator/CephOSDDiskNotResponding.md",
    )
    top = select_runbooks(estate.searcher, by_url)[0]
    assert top.source.endswith("CephOSDDiskNotResponding.md") and "runbook_url" in top.reasons
    by_name = select_runbooks(estate.searcher, AlertQuery("CheckoutHighLatency", entities=("service:default/checkout",)))
    assert by_name[0].source == "runbooks/checkout-high-latency.md"
    assert {"alert name", "meaning"} <= set(by_name[0].reasons)
    by_meaning = select_runbooks(estate.searcher, AlertQuery("NoSuchAlertName", summary="ceph monitor quorum is at risk"))
    assert by_meaning[0].source.endswith(("CephMonQuorumAtRisk.md", "CephMonQuorumLost.md"))
    assert by_meaning[0].reasons == ["meaning"]


def test_ask_composes_a_cited_extractive_answer(estate: Estate) -> None:
    answer = compose_answer(estate.searcher, "checkout is slow, p99 latency is high: how do I find the slow hop?")
    assert answer.found and answer.passages[0].hit.source == "runbooks/checkout-high-latency.md"
    text = answer.render_text()
    assert "[1]" in text and "runbooks/checkout-high-latency.md" in text
    for p in answer.passages:  # verbatim: steps stay steps, commands and code blocks untouched
        section = estate.store.get_node(p.hit.node_id)
        assert section is not None and p.hit.text == section.props["text"] and p.hit.text.strip() in text
    assert "service:default/checkout" in answer.services
    assert answer.as_json()["citations"][0]["n"] == 1


def test_doctor_finds_and_repairs_missing_and_orphan_vectors(estate: Estate) -> None:
    victims = sorted(estate.index.node_ids())[:3]
    estate.index.delete(victims)
    estate.index.upsert([VectorPoint("section:gone.md#1", [0.1] * estate.index.dim, source="gone.md")])
    drift = check(estate.store, estate.index)
    assert drift.missing == victims and drift.orphans == ["section:gone.md#1"]
    # read back from the graph with their document's kind, as the indexer wrote them
    assert [(i.node_id, i.kind) for i in load_items(estate.store, victims)] == [(v, "runbook") for v in victims]
    before = estate.embedder.stats.misses
    repair(estate.store, estate.index, estate.embedder, drift)
    assert check(estate.store, estate.index).clean
    assert estate.embedder.stats.misses == before  # their text was embedded before: the cache answered
    assert estate.searcher.search("ceph monitors quorum", k=1)


def test_reingest_of_a_changed_runbook_replaces_its_vectors_and_embeds_only_new_text(estate: Estate) -> None:
    path = estate.root / "alerts" / "machine-config-operator" / "MachineConfigControllerDrainError.md"
    old = {n for n in estate.index.node_ids(source="alerts/machine-config-operator/MachineConfigControllerDrainError.md")}
    # a text no earlier run can have embedded (the embedding cache may be shared between runs)
    fresh = f"Cordon the node, then evict the stuck pod by hand (note {uuid.uuid4().hex[:8]})."
    path.write_text(f"# DrainStuck\n\n## Mitigation\n\n{fresh}\n", encoding="utf-8")
    before = estate.embedder.stats.misses
    report = Ingester(estate.store, sinks=[SectionIndexer(estate.embedder, estate.index)]).run([estate.root])
    assert report.ok and [s.status for s in report.sources].count("ingested") == 1
    assert estate.embedder.stats.misses == before + 1
    now = estate.index.node_ids(source="alerts/machine-config-operator/MachineConfigControllerDrainError.md")
    assert len(now) == 1 and len(old) > 1
    assert check(estate.store, estate.index).clean
    hit = estate.searcher.search("evict the stuck pod by hand", k=1)[0]
    assert hit.source.endswith("MachineConfigControllerDrainError.md")
    assert estate.store.find_nodes(NodeLabel.SECTION, name="DrainStuck › Mitigation")


def test_llama_index_retriever_returns_scored_nodes_with_metadata(estate: Estate) -> None:
    from llama_index.core.schema import QueryBundle

    from retrieval.llama import VidyaRetriever

    results = VidyaRetriever(estate.searcher, k=3).retrieve(QueryBundle("ceph monitors lost their quorum"))
    direct = estate.searcher.search("ceph monitors lost their quorum", k=3)
    assert [r.node.node_id for r in results] == [h.node_id for h in direct]
    assert [r.score for r in results] == [h.score for h in direct]
    first = results[0].node
    assert first.metadata["source"] == direct[0].source and first.metadata["heading"] == direct[0].heading
    assert first.get_content() == direct[0].text
