"""The vector index on Qdrant's local mode: ids, payload, deletes, search, reopening and the one-process lock."""

from __future__ import annotations

import doctest
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import pytest

from graph.errors import ConfigError, RecordError
from retrieval import vector_index, vector_matrix
from retrieval.embeddings import SentenceTransformerEmbedder
from retrieval.vector_index import (
    VectorHit,
    VectorIndex,
    VectorIndexLocked,
    VectorIndexUnavailable,
    VectorPoint,
    point_id,
)
from tests.retrieval.conftest import CORPUS, CRASH_LOOP, DISK_FULL, STORAGE, read_sections

pytestmark = pytest.mark.usefixtures("qdrant")

CHECKOUT = "runbooks/checkout.md"
PAYMENTS = "runbooks/payments.md"


def points() -> list[VectorPoint]:
    at = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
    return [
        VectorPoint(f"section:{CHECKOUT}#1", [1.0, 0.0, 0.0, 0.0], CHECKOUT, "Checkout › Restart", "runbook", ("checkout",)),
        VectorPoint(f"section:{CHECKOUT}#2", [0.9, 0.1, 0.0, 0.0], CHECKOUT, "Checkout › Rollback", "runbook", ("checkout",)),
        VectorPoint(f"section:{PAYMENTS}#1", [0.0, 1.0, 0.0, 0.0], PAYMENTS, "Payments", "postmortem", ("payments",), at),
    ]


@pytest.fixture
def index(tmp_path: Path) -> Iterator[VectorIndex]:
    with VectorIndex(dim=4, path=tmp_path / "vectors") as opened:
        yield opened


def test_point_ids_are_uuid5_of_the_node_id() -> None:
    node = "section:alerts/cluster-etcd-operator/etcdNoLeader.md#2"
    assert point_id(node) == point_id(node) == str(uuid.uuid5(vector_index.POINT_NAMESPACE, node))
    assert uuid.UUID(point_id(node)).version == 5
    assert point_id(node) != point_id(node[:-1] + "3")
    assert point_id("section:runbooks/checkout.md#1") == "a67d1391-8ffd-5189-9b68-52b3ff28b885"  # never changes


def test_upsert_search_count_and_node_ids(index: VectorIndex) -> None:
    assert index.upsert(points()) == 3
    assert index.count() == 3
    assert index.node_ids() == {p.node_id for p in points()}
    hits = index.search([1.0, 0.05, 0.0, 0.0], limit=2)
    assert [hit.node_id for hit in hits] == [f"section:{CHECKOUT}#1", f"section:{CHECKOUT}#2"]
    assert isinstance(hits[0], VectorHit) and hits[0].score > hits[1].score > 0.9
    node_id, score = hits[0]
    assert node_id.startswith("section:") and score <= 1.0 + 1e-6


def test_upserting_a_node_again_replaces_its_point(index: VectorIndex) -> None:
    index.upsert(points())
    moved = VectorPoint(f"section:{CHECKOUT}#1", [0.0, 0.0, 1.0, 0.0], CHECKOUT, "Checkout › Restart v2")
    index.upsert([moved])
    assert index.count() == 3
    [hit] = index.search([0.0, 0.0, 1.0, 0.0], limit=1)
    assert hit.node_id == moved.node_id and hit.score == pytest.approx(1.0)


def test_the_payload_keeps_source_heading_kind_services_and_time(index: VectorIndex) -> None:
    index.upsert(points())
    stored = index._client.retrieve(index.collection, [point_id(f"section:{PAYMENTS}#1")], with_payload=True)
    assert stored[0].payload == {
        "node_id": f"section:{PAYMENTS}#1",
        "source": PAYMENTS,
        "heading": "Payments",
        "kind": "postmortem",
        "services": ["payments"],
        "at": "2026-06-01T12:00:00+00:00",
    }


def test_delete_by_node_id_and_by_source(index: VectorIndex) -> None:
    index.upsert(points())
    index.delete([f"section:{PAYMENTS}#1", "section:never/indexed.md#1"])
    assert index.node_ids() == {f"section:{CHECKOUT}#1", f"section:{CHECKOUT}#2"}
    index.upsert(points())
    assert index.delete_source(CHECKOUT) == 2
    assert index.node_ids() == {f"section:{PAYMENTS}#1"}
    assert index.delete_source(CHECKOUT) == 0
    index.delete([])
    assert index.count() == 1


def test_search_can_be_limited_to_given_nodes(index: VectorIndex) -> None:
    index.upsert(points())
    allowed = [f"section:{PAYMENTS}#1", f"section:{CHECKOUT}#2"]
    hits = index.search([1.0, 0.0, 0.0, 0.0], limit=5, filter_node_ids=allowed)
    assert [hit.node_id for hit in hits] == [f"section:{CHECKOUT}#2", f"section:{PAYMENTS}#1"]
    assert index.search([1.0, 0.0, 0.0, 0.0], filter_node_ids=[]) == []


def test_threads_can_share_a_local_index(index: VectorIndex) -> None:
    def work(n: int) -> None:
        for i in range(20):
            index.upsert([VectorPoint(f"section:t{n}.md#{i}", [1.0, float(n), float(i), 0.0], f"t{n}.md")])
            assert index.search([1.0, 0.0, 0.0, 0.0], limit=3)

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(work, range(4)))
    assert index.count() == 80
    assert index.delete_source("t2.md") == 20


def test_vectors_of_the_wrong_length_are_refused_with_the_node_named(index: VectorIndex) -> None:
    with pytest.raises(RecordError, match=r"section:runbooks/x\.md#1: vector has 3 dimensions, the index 4"):
        index.upsert([VectorPoint("section:runbooks/x.md#1", [1.0, 0.0, 0.0], "runbooks/x.md")])
    with pytest.raises(RecordError, match="query: vector has 2 dimensions"):
        index.search([1.0, 0.0])


def test_reopening_keeps_the_points_and_checks_the_dimension(tmp_path: Path) -> None:
    with VectorIndex(dim=4, path=tmp_path) as first:
        first.upsert(points())
    with VectorIndex(dim=4, path=tmp_path) as again:
        assert again.count() == 3
    with pytest.raises(ConfigError, match=r"holds 4-long .* the embedder gives 384-long"):
        VectorIndex(dim=384, path=tmp_path)
    with VectorIndex(dim=384, path=tmp_path, collection="sections_384") as other:
        assert other.count() == 0


def test_exactly_one_location_is_required(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="exactly one"):
        VectorIndex(dim=4)
    with pytest.raises(ConfigError, match="exactly one"):
        VectorIndex(dim=4, path=tmp_path, url="http://127.0.0.1:6333")


def test_an_unreachable_server_is_named(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again below, so nothing listens there
    url = f"http://127.0.0.1:{port}"
    with pytest.raises(VectorIndexUnavailable, match=f"the Qdrant server at {url} could not be reached"):
        VectorIndex(dim=4, url=url, timeout=2)


def test_a_second_open_in_this_process_is_refused(index: VectorIndex) -> None:
    assert index.path is not None
    with pytest.raises(VectorIndexLocked, match="already open in this process"):
        VectorIndex(dim=4, path=index.path)


HOLDER = """
import sys
from pathlib import Path
from retrieval.vector_index import VectorIndex
index = VectorIndex(dim=4, path=Path(sys.argv[1]))
print("open", flush=True)
sys.stdin.read()
index.close()
"""


def test_a_directory_held_by_another_process_gives_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "vectors"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "open"
        with pytest.raises(VectorIndexLocked) as caught:
            VectorIndex(dim=4, path=path)
        assert str(caught.value) == (
            f"the vector index at {path.resolve()} is in use by another Vidya process (a running `vidya serve`?); "
            "stop it or point VIDYA_QDRANT_URL at a Qdrant server"
        )
    finally:
        holder.communicate("", timeout=60)
    assert holder.returncode == 0
    with VectorIndex(dim=4, path=path) as free_again:
        assert free_again.count() == 0


def test_real_sections_round_trip(embedder: SentenceTransformerEmbedder, tmp_path: Path) -> None:
    etcd = CORPUS / "cluster-etcd-operator" / "etcdGRPCReadRequestsSlow.md"
    files = [CRASH_LOOP, *DISK_FULL, STORAGE / "ODFDiskUtilizationHigh.md", etcd]
    sections = [section for path in files for section in read_sections(path)]
    vectors = embedder.embed_documents([s.text for s in sections])
    with VectorIndex(dim=embedder.dim, path=tmp_path) as index:
        index.upsert(
            VectorPoint(s.node_id, vector, s.source, s.heading, "runbook") for s, vector in zip(sections, vectors, strict=True)
        )
        assert index.node_ids() == {s.node_id for s in sections}
        top = index.search(embedder.embed_query("pods restarting"), limit=3)
        assert top[0].node_id.startswith("section:alerts/openshift-container-storage-operator/ODFCorePodRestarted.md#")
        crash_source = read_sections(CRASH_LOOP)[0].source
        assert index.delete_source(crash_source) == len(read_sections(CRASH_LOOP))
        after = index.search(embedder.embed_query("pods restarting"), limit=3)
        assert all("ODFCorePodRestarted" not in hit.node_id for hit in after)


def test_the_module_example_runs(tmp_path: Path) -> None:
    result = doctest.testmod(vector_index, extraglobs={"index_dir": tmp_path}, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
    result = doctest.testmod(vector_matrix, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


def _qdrant_ranking(index: VectorIndex, vector: list[float], limit: int) -> list[str]:
    """The ranking Qdrant itself gives (the in-memory search must agree with it)."""
    response = index._client.query_points(index.collection, query=vector, limit=limit, with_payload=["node_id"])
    return [str(point.payload["node_id"]) for point in response.points]


def test_local_search_stays_in_step_with_writes_after_the_first_search(tmp_path: Path) -> None:
    import random

    rng = random.Random(7)

    def vec() -> list[float]:
        return [rng.uniform(-1, 1) for _ in range(8)]

    def point(i: int, source: str) -> VectorPoint:
        return VectorPoint(f"section:{source}#{i}", vec(), source)

    with VectorIndex(dim=8, path=tmp_path / "vectors") as index:
        index.upsert([point(i, f"doc{i % 5}.md") for i in range(40)])
        query = vec()
        assert [h.node_id for h in index.search(query, limit=10)] == _qdrant_ranking(index, query, 10)
        index.upsert([point(i, f"doc{i % 5}.md") for i in range(30, 40)])  # new vectors for 10 nodes
        index.upsert([point(i, "doc9.md") for i in range(40, 60)])
        index.delete([f"section:doc{i % 5}.md#{i}" for i in range(0, 10)])
        assert index.delete_source("doc3.md") == 6
        for _ in range(5):
            query = vec()
            assert [h.node_id for h in index.search(query, limit=15)] == _qdrant_ranking(index, query, 15)
        assert len(index.search(query, limit=100)) == index.count() == 44
    with VectorIndex(dim=8, path=tmp_path / "vectors") as reopened:
        assert [h.node_id for h in reopened.search(query, limit=15)] == _qdrant_ranking(reopened, query, 15)


def test_qdrants_big_local_collection_warning_is_given_once_with_the_server_advice(
    index: VectorIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    from qdrant_client.common import client_warnings
    from qdrant_client.local.local_collection import LocalCollection

    monkeypatch.setattr(LocalCollection, "LARGE_DATA_THRESHOLD", 1)  # Qdrant warns past 20,000 points
    monkeypatch.setattr(client_warnings, "SEEN_MESSAGES", set())
    monkeypatch.setattr(vector_index, "_warned_large", [])
    with pytest.warns(UserWarning, match="VIDYA_QDRANT_URL") as caught:
        index.upsert(points()[:2])
        index.upsert(points()[2:])
        monkeypatch.setattr(client_warnings, "SEEN_MESSAGES", set())
        index.upsert(points())
    assert len(caught) == 1
    assert "Local mode is not recommended" not in str(caught[0].message)
