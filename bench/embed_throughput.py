"""Embedding throughput of the bundled all-MiniLM-L6-v2 on this machine.

Sections are 200-word windows of the OpenShift runbook corpus (real text, longer
than the model's 256 word pieces, so every one is truncated: the worst case for
ingest), plus the sections the documents reader really makes. Queries are the
corpus's section headings, embedded one at a time (a search) and in batches.
Vidya's other backend (``--backends torch,onnx``, ONNX Runtime; exported once
into the embedding cache's ``models`` directory) and sentence-transformers' own
(``openvino``) are timed the same way and compared with the first backend by the
cosine of their vectors for the same texts. Single queries also get their median
wall and CPU time per query. Wall time is what a caller sees; CPU time (all
threads of this process) tells a busy shared machine from a slow model::

    python bench/embed_throughput.py                   # torch at batch sizes 16, 32, 64
    python bench/embed_throughput.py --backends torch,onnx --batches 32 --json
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):
    # run as a script: bench/ is sys.path[0], and bench/graph.py would shadow the graph package
    _root = Path(__file__).resolve().parents[1]
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _root / "bench"]
    sys.path.insert(0, str(_root))

import argparse
import json
import os
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from api.settings import Settings
from graph.errors import VidyaError
from ingest.documents import READER
from ingest.records import ReadContext, SourceFile
from retrieval.embedding_backends import BACKENDS, open_backend
from retrieval.embeddings import Embedder, SentenceTransformerEmbedder

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpora" / "openshift-runbooks" / "alerts"
WINDOW_WORDS = 200


@dataclass
class Row:
    backend: str
    workload: str
    batch: int
    items: int
    wall_s: float
    cpu_s: float
    agreement: str = ""

    @property
    def per_s(self) -> float:
        return self.items / self.wall_s if self.wall_s else 0.0


def corpus_sections(corpus: Path) -> list[tuple[str, str]]:
    """(heading, text) of every section the documents reader makes of the corpus, in path order."""
    ctx = ReadContext(run_id="bench", ingested_at=datetime.now(UTC))
    found: list[tuple[str, str]] = []
    for path in sorted(corpus.rglob("*.md")):
        result = READER.read(SourceFile(path.relative_to(corpus).as_posix(), path.read_bytes(), origin=path), ctx)
        for node in result.nodes:
            if node.id.startswith("section:"):
                found.append((str(node.props.get("heading", "")), str(node.props["text"])))
    return found


def windows(texts: Sequence[str], words: int, count: int) -> list[str]:
    flat = " ".join(texts).split()
    return [" ".join(flat[start : start + words]) for start in range(0, len(flat) - words, words)][:count]


def timed(work: Callable[[], object]) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    work()
    return time.perf_counter() - wall, time.process_time() - cpu


def cosine_summary(a: list[list[float]], b: list[list[float]]) -> str:
    cosines = [sum(x * y for x, y in zip(u, v, strict=True)) for u, v in zip(a, b, strict=True)]  # both normalised
    return f"cos min {min(cosines):.5f} mean {statistics.fmean(cosines):.5f}"


def single_queries(model: Embedder, queries: list[str]) -> tuple[list[list[float]], str]:
    """Each query embedded alone, and the median wall and CPU milliseconds per query."""
    vectors: list[list[float]] = []
    walls: list[float] = []
    cpus: list[float] = []
    for query in queries:
        wall, cpu = time.perf_counter(), time.process_time()
        vectors.append(model.embed_query(query))
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return vectors, f"p50 {statistics.median(walls) * 1000:.1f} ms wall, {statistics.median(cpus) * 1000:.1f} ms CPU"


def make_model(backend: str, threads: int | None, models_dir: Path) -> Embedder:
    if backend in BACKENDS:
        return open_backend(backend, None, export_dir=models_dir, threads=threads)
    return SentenceTransformerEmbedder(backend=backend, threads=threads)  # sentence-transformers' own, e.g. openvino


def bench_backend(
    backend: str, docs: list[str], real: list[str], queries: list[str], batches: list[int], args: argparse.Namespace
) -> tuple[list[Row], list[list[float]]]:
    """The rows of one backend, and its vectors of the first 64 sections and of the queries (to compare backends)."""
    model: Any = make_model(backend, args.threads, args.models_dir)
    load_wall, load_cpu = timed(lambda: model.embed_query("warm up"))
    rows = [Row(backend, "load (import + model)", 1, 1, load_wall, load_cpu)]
    for batch in batches:
        model.batch_size = batch
        model.embed_documents(docs[:batch])  # warm the kernels for this shape
        rows.append(Row(backend, f"{WINDOW_WORDS}-word sections", batch, len(docs), *timed(lambda: model.embed_documents(docs))))
    model.batch_size = 32
    mean_words = round(statistics.fmean(len(text.split()) for text in real))
    workload = f"reader sections (mean {mean_words} words)"
    rows.append(Row(backend, workload, 32, len(real), *timed(lambda: model.embed_documents(real))))
    wall, cpu = time.perf_counter(), time.process_time()
    query_vectors, medians = single_queries(model, queries)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    rows.append(Row(backend, "queries, one at a time", 1, len(queries), wall, cpu, medians))
    model.batch_size = 64
    rows.append(Row(backend, "queries, batched", 64, len(queries), *timed(lambda: model.embed_documents(queries))))
    return rows, model.embed_documents(docs[:64]) + query_vectors


def run(args: argparse.Namespace) -> dict[str, Any]:
    sections = corpus_sections(args.corpus)
    docs = windows([text for _, text in sections], WINDOW_WORDS, args.sections)
    real = [text for _, text in sections][: args.sections]
    queries = sorted({heading.split(" › ")[0] + " " + heading.split(" › ")[-1] for heading, _ in sections})[: args.queries]
    batches = [int(b) for b in args.batches.split(",")]
    rows: list[Row] = []
    reference: tuple[str, list[list[float]]] | None = None
    for backend in args.backends.split(","):
        try:
            backend_rows, vectors = bench_backend(backend, docs, real, queries, batches, args)
        except VidyaError as exc:
            print(f"{backend}: unavailable: {exc}", file=sys.stderr)
            continue
        if reference is None:
            reference = (backend, vectors)
        else:
            cut = min(64, len(docs))
            backend_rows[1].agreement = f"vs {reference[0]}: {cosine_summary(reference[1][:cut], vectors[:cut])}"
            queries_row = next(row for row in backend_rows if row.workload.startswith("queries, one"))
            queries_row.agreement += f"; vs {reference[0]}: {cosine_summary(reference[1][cut:], vectors[cut:])}"
        rows.extend(backend_rows)
    return {
        "load_average": os.getloadavg(),
        "cpus": os.cpu_count(),
        "threads": args.threads,
        "rows": [asdict(r) | {"per_s": r.per_s} for r in rows],
    }


def table(result: dict[str, Any]) -> str:
    lines = [
        f"cores {result['cpus']}, embedding threads {result['threads'] or 'default'}, "
        f"load average at the end {', '.join(f'{x:.1f}' for x in result['load_average'])}",
        "",
        "| backend | workload | batch | items | wall s | items/s | CPU s | note |",
        "|---|---|---:|---:|---:|---:|---:|---|",
    ]
    for row in result["rows"]:
        lines.append(
            f"| {row['backend']} | {row['workload']} | {row['batch']} | {row['items']} | {row['wall_s']:.2f} "
            f"| {row['per_s']:.1f} | {row['cpu_s']:.2f} | {row['agreement']} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--sections", type=int, default=256, help="sections per run (default 256)")
    parser.add_argument("--queries", type=int, default=200, help="queries per run (default 200)")
    parser.add_argument("--batches", default="16,32,64", help="batch sizes for sections (default 16,32,64)")
    parser.add_argument("--backends", default="torch", help="torch, onnx or openvino; the first is the reference")
    parser.add_argument("--threads", type=int, default=None, help="embedding threads (default: one per core)")
    parser.add_argument("--models-dir", type=Path, default=None, help="the onnx export cache (default: the embedding cache's)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args(argv)
    args.models_dir = args.models_dir or Settings().embedding_cache / "models"
    if not args.corpus.is_dir():
        parser.error(f"{args.corpus}: no such corpus directory (expected shared/corpora/openshift-runbooks/alerts)")
    result = run(args)
    print(json.dumps(result, indent=2) if args.json else table(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
