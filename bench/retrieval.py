"""Retrieval benchmark: ingest throughput against raw embedding throughput, search latency at scale, memory.

1. **Raw embedding**: every section the documents reader makes of the OpenShift
   runbook corpus, embedded by the bundled model (batch 32, no cache).
2. **Ingest**: the same corpus through ``Ingester`` with the section indexer as
   its sink (read, chunk, redact, graph write, embed with an empty cache, Qdrant
   write) into a fresh data directory. The ratio ingest/raw (target ≥ 0.8) says
   how much parsing, redaction and index writes add.
3. **Search latency**: hybrid search (query embedding, Qdrant local mode, BM25
   from the graph store, fusion, graph ranking) for the evaluation questions at
   1k, 10k and 100k sections, then again with the query vectors computed
   beforehand (everything but the embedding: the part the search code owns). Sizes above the corpus are the corpus's sections
   repeated under new paths, their vectors the real ones with a little noise,
   so both retrievers face realistic near-duplicates. Each timed query is embedded afresh
   (the bench's embedder has no cache). The time to build each size's store and
   index (graph batches and Qdrant writes, not embedding) is reported beside it.

    python bench/retrieval.py                         # all of it; writes docs/benchmarks.md
    python bench/retrieval.py --sizes 1000 --no-write --json /tmp/r.json
    python bench/retrieval.py --sizes 10000 --search-only   # search latency alone
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):
    _root = Path(__file__).resolve().parents[1]
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _root / "bench"]
    sys.path.insert(0, str(_root))

import argparse
import json
import random
import resource
import shutil
import statistics
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from api.ingestion.pipeline import Ingester
from graph.factory import GraphConfig, open_store
from graph.model import Edge, Node, Provenance
from graph.schema import NodeLabel, RelType, node_id
from ingest.documents import READER
from ingest.records import ReadContext, SourceFile
from retrieval.embedding_backends import BACKENDS, open_backend
from retrieval.embeddings import CachedEmbedder, Embedder
from retrieval.indexer import SectionIndexer
from retrieval.search import Searcher
from retrieval.vector_index import VectorIndex, VectorPoint

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpora" / "openshift-runbooks"
QUESTIONS = ROOT / "bench" / "questions" / "openshift-runbooks.jsonl"
DOCS = ROOT / "docs" / "benchmarks.md"
START, END = "<!-- retrieval-bench:start -->", "<!-- retrieval-bench:end -->"
BATCH = 32


def cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def corpus_sections() -> list[tuple[str, str, str]]:
    """(source, heading, text) of every section the documents reader makes of the corpus."""
    ctx = ReadContext(run_id="bench", ingested_at=datetime.now(UTC))
    out: list[tuple[str, str, str]] = []
    for path in sorted((CORPUS / "alerts").rglob("*.md")):
        rel = path.relative_to(CORPUS).as_posix()
        result = READER.read(SourceFile(rel, path.read_bytes(), origin=path), ctx)
        out += [(rel, n.name or "", str(n.props["text"])) for n in result.nodes if n.label is NodeLabel.SECTION]
    return out


def raw_embedding(model: Embedder, sections: list[tuple[str, str, str]]) -> dict[str, float]:
    texts = [f"{h}\n{t}" for _, h, t in sections]
    wall, cpu = time.perf_counter(), cpu_s()
    model.embed_documents(texts)
    wall, cpu = time.perf_counter() - wall, cpu_s() - cpu
    return {"sections": len(texts), "wall_s": wall, "cpu_s": cpu, "per_s": len(texts) / wall}


def full_ingest(model: Embedder, work: Path) -> dict[str, float]:
    store = open_store(GraphConfig(sqlite_path=work / "graph.db"))
    cached = CachedEmbedder(model, work / "cache")
    index = VectorIndex(cached.dim, path=work / "qdrant")
    indexer = SectionIndexer(cached, index)
    wall, cpu = time.perf_counter(), cpu_s()
    report = Ingester(store, sinks=[indexer]).run([CORPUS / "alerts"])
    wall, cpu = time.perf_counter() - wall, cpu_s() - cpu
    index.close()
    cached.close()
    store.close()
    n = indexer.stats.sections
    return {"sections": n, "sources": len(report.sources), "wall_s": wall, "cpu_s": cpu, "per_s": n / wall,
            "ok": float(report.ok)}


def build_scaled(work: Path, size: int, sections: list[tuple[str, str, str]], vectors: list[list[float]]) -> tuple[Any, ...]:
    """A store and index of ``size`` sections: the corpus repeated under new paths, vectors with noise."""
    rng = random.Random(size)
    store = open_store(GraphConfig(sqlite_path=work / f"graph-{size}.db"))
    index = VectorIndex(len(vectors[0]), path=work / f"qdrant-{size}")
    at = datetime(2026, 11, 1, tzinfo=UTC)
    for start in range(0, size, 2000):
        nodes: list[Node] = []
        edges: list[Edge] = []
        points: list[VectorPoint] = []
        for i in range(start, min(size, start + 2000)):
            src, heading, text = sections[i % len(sections)]
            copy = i // len(sections)
            source = src if copy == 0 else f"copy{copy}/{src}"
            prov = Provenance(source=source, run_id="bench", ingested_at=at)
            doc = node_id(NodeLabel.RUNBOOK, source)
            sid = node_id(NodeLabel.SECTION, f"{source}#{i}")
            nodes += [Node(doc, NodeLabel.RUNBOOK, prov, heading.split(" › ")[0]),
                      Node(sid, NodeLabel.SECTION, prov, heading, {"text": text})]
            edges.append(Edge(RelType.HAS_SECTION, doc, sid, prov))
            base = vectors[i % len(vectors)]
            noisy = [x + rng.gauss(0, 0.01) if copy else x for x in base]
            norm = sum(x * x for x in noisy) ** 0.5
            points.append(VectorPoint(sid, [x / norm for x in noisy], source=source, heading=heading, kind="runbook"))
        with store.batch() as batch:
            batch.upsert_nodes(nodes)
            batch.upsert_edges(edges)
        index.upsert(points)
    return store, index


class KnownQueries:
    """The model's query vectors, computed once: times the rest of ``Searcher.search`` without the embedding."""

    def __init__(self, model: Embedder, queries: list[str]) -> None:
        self.name, self.dim = model.name, model.dim
        self.vectors = {q: model.embed_query(q) for q in queries}

    def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        raise NotImplementedError("search only")

    def embed_query(self, text: str) -> list[float]:
        return self.vectors[text]


def time_search(searcher: Searcher, queries: list[str], warmup: int = 5) -> dict[str, float]:
    for q in queries[:warmup]:
        searcher.search(q, k=10)
    times, cpu = [], cpu_s()
    for q in queries:
        t = time.perf_counter()
        searcher.search(q, k=10)
        times.append((time.perf_counter() - t) * 1000)
    cpu = cpu_s() - cpu
    times.sort()
    return {"p50_ms": statistics.median(times), "p99_ms": times[min(len(times) - 1, int(len(times) * 0.99))],
            "cpu_ms": cpu / len(times) * 1000, "queries": len(times)}


def section_text(result: dict[str, Any]) -> str:
    raw, ing = result["raw"], result["ingest"]
    ratio = ing["per_s"] / raw["per_s"]
    lines = [
        START, "", "## Retrieval", "",
        f"All-MiniLM-L6-v2 (bundled, {result.get('backend', 'torch')} backend, CPU) on the OpenShift runbook corpus; "
        "hybrid search through "
        "`retrieval.search.Searcher` with SQLite and Qdrant local mode. Produced by `bench/retrieval.py`.", "",
        "| check | target | measured | verdict |", "|---|---|--:|---|",
        f"| ingest throughput / raw embedding throughput | ≥ 0.8 | {ratio:.2f} | {'pass' if ratio >= 0.8 else '**FAIL**'} |",
        f"| raw embedding throughput (sections/s, batch {BATCH}) | ≥ 50 (stretch) | {raw['per_s']:.1f} | "
        f"{'pass' if raw['per_s'] >= 50 else 'FAIL'} |",
    ]
    lat = {row["size"]: row for row in result["search"]}
    if 10000 in lat:
        p50 = lat[10000]["p50_ms"]
        lines.append(f"| hybrid search p50 at 10k sections | ≤ 25 ms | {p50:.1f} ms | {'pass' if p50 <= 25 else '**FAIL**'} |")
    lines += ["", "| run | sections | wall | CPU | sections/s |", "|---|--:|--:|--:|--:|",
              f"| raw embedding | {raw['sections']} | {raw['wall_s']:.1f} s | {raw['cpu_s']:.1f} s | {raw['per_s']:.1f} |",
              f"| full ingest (read, redact, graph, embed, index) | {ing['sections']} | {ing['wall_s']:.1f} s | "
              f"{ing['cpu_s']:.1f} s | {ing['per_s']:.1f} |", "",
              "| sections | hybrid search p50 | p99 | CPU per search | p50 without the query embedding | its CPU | "
              "queries | peak RSS | build (graph + vectors) |", "|--:|--:|--:|--:|--:|--:|--:|--:|--:|"]
    lines += [f"| {r['size']:,} | {r['p50_ms']:.1f} ms | {r['p99_ms']:.1f} ms | {r['cpu_ms']:.1f} ms | "
              f"{r['rest_p50_ms']:.1f} ms | {r['rest_cpu_ms']:.1f} ms | {r['queries']} | {r['rss_mib']:.0f} MiB | "
              f"{r['build_s']:.1f} s |" for r in result["search"]]
    lines += ["", f"Machine: {result['machine']}. Load average at start → end: {result['load']}.", "",
              "Reproduce: `.venv/bin/python bench/retrieval.py` (sizes `--sizes 1000,10000,100000`, "
              "`--backend torch` for the torch backend).", "", END]
    return "\n".join(lines)


def write_docs(text: str) -> None:
    doc = DOCS.read_text(encoding="utf-8")
    if START in doc and END in doc:
        head, rest = doc.split(START, 1)
        doc = head + text + rest.split(END, 1)[1]
    else:
        doc = doc.rstrip("\n") + "\n\n" + text + "\n"
    DOCS.write_text(doc, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--threads", type=int, default=None, help="embedding threads (default: one per core)")
    parser.add_argument("--backend", choices=BACKENDS, default=BACKENDS[0], help="embedding backend (default %(default)s)")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--search-only", action="store_true",
                        help="only the search latency (skips raw embedding and ingest; writes no docs)")
    args = parser.parse_args()
    import os

    load0 = os.getloadavg()[0]
    # the ONNX export is kept between runs (it is derived from the bundled model)
    model = open_backend(args.backend, None, export_dir=ROOT / ".bench" / "embedding-models", threads=args.threads)
    model.embed_query("warm up")
    sections = corpus_sections()
    work = Path(tempfile.mkdtemp(prefix="vidya-retrieval-bench-"))
    try:
        raw: dict[str, float] = {}
        ingest: dict[str, float] = {}
        if not args.search_only:
            raw = raw_embedding(model, sections)
            print(f"raw embedding: {raw['per_s']:.1f} sections/s", flush=True)
            ingest = full_ingest(model, work / "ingest")
            print(f"full ingest: {ingest['per_s']:.1f} sections/s (ratio {ingest['per_s'] / raw['per_s']:.2f})", flush=True)
        vectors = model.embed_documents([f"{h}\n{t}" for _, h, t in sections[:300]])
        queries = [json.loads(line)["query"] for line in QUESTIONS.read_text(encoding="utf-8").splitlines() if line.strip()]
        known = KnownQueries(model, queries)
        rows = []
        for size in [int(s) for s in args.sizes.split(",")]:
            wall, cpu = time.perf_counter(), cpu_s()
            store, index = build_scaled(work, size, sections, vectors)
            build = {"build_s": time.perf_counter() - wall, "build_cpu_s": cpu_s() - cpu}
            row = {"size": size, **build, **time_search(Searcher(store, index, model), queries), "rss_mib": peak_rss_mib()}
            rest = time_search(Searcher(store, index, known), queries)
            row |= {"rest_p50_ms": rest["p50_ms"], "rest_cpu_ms": rest["cpu_ms"]}
            print(f"{size:>7} sections: p50 {row['p50_ms']:.1f} ms, p99 {row['p99_ms']:.1f} ms, CPU {row['cpu_ms']:.1f} ms; "
                  f"without the query embedding p50 {rest['p50_ms']:.1f} ms, CPU {rest['cpu_ms']:.1f} ms; "
                  f"peak RSS {row['rss_mib']:.0f} MiB; built in {row['build_s']:.1f} s (CPU {row['build_cpu_s']:.1f} s)",
                  flush=True)
            rows.append(row)
            index.close()
            store.close()
        import platform

        result = {"backend": args.backend, "raw": raw, "ingest": ingest, "search": rows,
                  "load": f"{load0:.1f} → {os.getloadavg()[0]:.1f}",
                  "machine": f"{os.cpu_count()} cores, Python {platform.python_version()}"}
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2), encoding="utf-8")
    if args.search_only:
        return
    text = section_text(result)
    print(text)
    if not args.no_write:
        write_docs(text)


if __name__ == "__main__":
    main()
