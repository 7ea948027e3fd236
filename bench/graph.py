"""Graph store benchmark: bulk upsert rate and query latency of each backend.

Loads a seeded synthetic ops estate (``bench/estate.py``) at up to three sizes
into each backend, times the load and the common read queries, prints the
tables and rewrites the "Graph store" section of ``docs/benchmarks.md``::

    .venv/bin/python bench/graph.py --quick --backends sqlite      # smoke test, ~20 s
    .venv/bin/python bench/graph.py --sizes small,medium,large --backends sqlite,neo4j
    .venv/bin/python bench/graph.py --sizes large --backends sqlite --workdir w --reuse   # queries only

SQLite files written to ``--workdir`` stay there; ``--reuse`` times the queries on
them again without loading (the load columns then read 0, and the markdown file is
left alone unless ``--out`` names one).

Neo4j: ``--neo4j-uri`` (or env ``VIDYA_NEO4J_URI``) names a server whose
database is WIPED before each size; without it a dev server is started from
``tools/neo4j-dev`` on a free port with a temporary data directory, and
stopped at the end.
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):
    # run as a script: bench/ is sys.path[0], and this file would shadow the graph package
    _root = Path(__file__).resolve().parents[1]
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _root / "bench"]
    sys.path.insert(0, str(_root))

import argparse
import cProfile
import json
import os
import platform
import shlex
import signal
import sqlite3
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager

from neo4j.exceptions import DriverError, Neo4jError

from bench.estate import SIZES
from bench.measure import QUERIES, LoadResult, ServerCpu, load, no_server, peak_rss_mib, sample_queries, time_queries
from bench.neo4j_server import Neo4jServer, server_rss_mib, wipe
from bench.report import RunResult, command_line, cpu_name, load_table, query_table, section, targets_table, write_section
from graph.errors import VidyaError
from graph.factory import BACKENDS, GraphConfig, open_store
from graph.sqlite_schema import CACHE_MIB, MMAP_MIB, PAGE_SIZE, SCHEMA_VERSION, WAL_CHECKPOINT_PAGES
from graph.store import GraphStore

Keep = Callable[[RunResult], None]
ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "docs" / "benchmarks.md"
STARTED = time.monotonic()
#: untimed runs of each query after a Neo4j load, on other services than the timed ones: the
#: server JIT-compiles the read operators and the page cache meets the new store before timing
NEO4J_READ_WARMUP = 50
#: errors that end one backend's run; the others still run and are reported
FAILURES = (VidyaError, Neo4jError, DriverError, RuntimeError, OSError)


def log(message: str) -> None:
    print(f"[{time.monotonic() - STARTED:7.1f}s] {message}", file=sys.stderr, flush=True)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="bench/graph.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", default="small,medium,large", help="comma-separated: " + ",".join(SIZES))
    p.add_argument("--backends", default="sqlite,neo4j", help="comma-separated: sqlite,neo4j")
    p.add_argument("--quick", action="store_true", help="smallest size, 20 samples; no docs write unless --out")
    p.add_argument("--samples", type=int, default=200, help="timed runs per query (default 200)")
    p.add_argument("--warmup", type=int, default=10, help="untimed runs per query first (default 10)")
    p.add_argument("--batch-size", type=int, default=10_000, help="records per write batch (default 10000)")
    p.add_argument("--out", type=Path, default=None, help=f"markdown file to update (default {DEFAULT_OUT})")
    p.add_argument("--no-write", action="store_true", help="print only; leave the markdown file alone")
    p.add_argument("--json", type=Path, default=None, help="also write the results as JSON")
    p.add_argument("--merge", type=Path, action="append", default=[], help="include results from an earlier --json (repeatable)")
    p.add_argument("--note", action="append", default=[], help="a paragraph to add to the notes (repeatable)")
    p.add_argument("--workdir", type=Path, default=None, help="where SQLite files go and stay (default: a temp dir)")
    p.add_argument(
        "--reuse", action="store_true", help="sqlite: time the queries on the files a run left in --workdir, no load"
    )
    p.add_argument("--profile-load", type=Path, default=None, help="write cProfile stats of each load here")
    p.add_argument("--neo4j-uri", default=os.environ.get("VIDYA_NEO4J_URI"), help="use this server (wiped!)")
    p.add_argument("--neo4j-page-cache-mb", type=int, default=2048, help="dev server page cache (default 2048)")
    p.add_argument(
        "--neo4j-java-opts", default="-Xms2g -Xmx2g -XX:+UseG1GC -XX:+ExitOnOutOfMemoryError", help="dev server JVM options"
    )
    p.add_argument("--no-neo4j-warmup", dest="neo4j_warmup", action="store_false", help="skip the untimed warm-up load")
    return p


@contextmanager
def _profiled(directory: Path | None, name: str) -> Iterator[None]:
    if directory is None:
        yield
        return
    profiler = cProfile.Profile()
    profiler.enable()
    try:
        yield
    finally:
        profiler.disable()
        directory.mkdir(parents=True, exist_ok=True)
        profiler.dump_stats(directory / f"{name}-load.pstats")


def _sqlite_bytes(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))


def _dir_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def run_size(
    store: GraphStore,
    backend: str,
    size: str,
    args: argparse.Namespace,
    server_cpu: ServerCpu = no_server,
    settle: Callable[[GraphStore], None] | None = None,
) -> RunResult:
    spec = SIZES[size]
    started, load_before = time.monotonic(), os.getloadavg()[0]
    if args.reuse:
        log(f"{backend}/{size}: reusing the stored estate, load not timed")
        loaded = LoadResult(relationships=sum(store.counts().relationships.values()))
    else:
        log(f"{backend}/{size}: loading ({spec.services} services) in batches of {args.batch_size:,}")
        with _profiled(args.profile_load, f"{backend}-{size}"):
            loaded = load(store, spec, args.batch_size, log, server_cpu)
    log(
        f"{backend}/{size}: {loaded.nodes_per_s:,.0f} nodes/s, {loaded.rels_per_s:,.0f} relationships/s "
        f"({loaded.rels_per_cpu_s:,.0f} per CPU second)"
    )
    counts = store.counts()
    stored = sum(counts.relationships.values())
    if stored != loaded.relationships:
        log(f"WARNING: {backend}/{size} stores {stored:,} relationships, {loaded.relationships:,} were written")
    if settle is not None:
        settle(store)
    queries = time_queries(store, spec, args.samples, args.warmup, server_cpu)
    for q in queries:
        log(
            f"{backend}/{size}: {q.name}: p50 {q.p50_ms:.2f} ms, p99 {q.p99_ms:.2f} ms, "
            f"CPU p50 {q.cpu_p50_ms:.2f} ms, {q.mean_rows:.0f} rows"
        )
    extra = {"stored_relationships": stored, "loadavg_1m": [round(load_before, 2), round(os.getloadavg()[0], 2)]}
    return RunResult(backend, size, loaded, queries, time.monotonic() - started, peak_rss_mib(), extra=extra)


def run_sqlite(sizes: list[str], args: argparse.Namespace, keep: Keep) -> None:
    with ExitStack() as stack:
        workdir = args.workdir or Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="vidya-bench-")))
        for size in sizes:
            path = workdir / f"graph-{size}.db"
            if args.reuse and not path.exists():
                raise RuntimeError(f"--reuse: {path} does not exist (load it first with the same --workdir)")
            for old in [] if args.reuse else workdir.glob(path.name + "*"):
                old.unlink()
            store = open_store(GraphConfig(backend="sqlite", sqlite_path=path))
            try:
                result = run_size(store, "sqlite", size, args)
            finally:
                store.close()
            result.store_bytes = _sqlite_bytes(path)
            keep(result)


def _neo4j_settle(spec_name: str) -> Callable[[GraphStore], None]:
    """After a load, every query untimed, so the first timed reads do not overlap the JIT
    compilation of the server's read path (the warm-up load only wrote). Community has no
    ``db.checkpoint()``; the checkpoint the load triggered finishes meanwhile."""

    def settle(store: GraphStore) -> None:
        started = time.monotonic()
        for name in QUERIES:
            for query in sample_queries(SIZES[spec_name], name, NEO4J_READ_WARMUP, seed=3):
                query(store)
        log(f"neo4j/{spec_name}: {NEO4J_READ_WARMUP} untimed runs per query ({time.monotonic() - started:.1f} s)")

    return settle


def run_neo4j(sizes: list[str], args: argparse.Namespace, keep: Keep) -> None:
    server = Neo4jServer(args.neo4j_uri, args.neo4j_page_cache_mb, shlex.split(args.neo4j_java_opts))
    with server:
        description = server.describe()
        log(f"neo4j: {description}")
        if args.neo4j_warmup:  # a fresh JVM runs interpreted and JIT-compiles for a while; time a warm server
            log("neo4j: warm-up load of the small estate (untimed)")
            wipe(server.uri)
            store = open_store(GraphConfig(backend="neo4j", neo4j_uri=server.uri))
            try:
                load(store, SIZES["small"], args.batch_size)
            finally:
                store.close()
        for size in sizes:
            wipe(server.uri)
            store = open_store(GraphConfig(backend="neo4j", neo4j_uri=server.uri))
            try:
                result = run_size(store, "neo4j", size, args, server.cpu_seconds, _neo4j_settle(size))
            finally:
                store.close()
            result.store_bytes = None if server.store_dir is None else _dir_bytes(server.store_dir)
            result.server_rss_mib = server_rss_mib(server.pid)
            result.extra["server"] = description
            keep(result)


def machine(neo4j: str | None, args: argparse.Namespace, results: list[RunResult]) -> str:
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    lines = [
        f"- CPU: {cpu_name()}, {os.cpu_count()} cores; RAM {mem:.0f} GiB; {platform.system()} {platform.release()}",
        f"- Python {platform.python_version()}, SQLite {sqlite3.sqlite_version} (WAL, synchronous=NORMAL, "
        f"pages of {PAGE_SIZE // 1024} KiB, page cache {CACHE_MIB} MiB, memory map {MMAP_MIB} MiB, checkpoint every "
        f"{WAL_CHECKPOINT_PAGES:,} log pages, schema version {SCHEMA_VERSION})",
        f"- write batches of {args.batch_size:,} records; {args.samples} timed samples per query "
        f"after {args.warmup} warm-up runs",
    ]
    loads = ", ".join(f"{r.backend}/{r.size} {r.extra['loadavg_1m'][0]}→{r.extra['loadavg_1m'][1]}" for r in results)
    lines.append(f"- 1-minute load average at the start → end of each run: {loads} (other work shared the machine)")
    if neo4j:
        warm = "; one untimed load of the small estate first, to warm the JIT" if args.neo4j_warmup else ""
        lines.append(f"- Neo4j: {neo4j}{warm}")
    return "\n".join(lines)


NOTES = (
    "Notes: *rows* is the mean number of hops, events or paths returned. The 2-hop neighbourhood of a "
    "service includes its events, its dependencies' events, its repository's commits and its team's "
    "and system's other members, so it is a few hundred to a few thousand nodes; latency grows with "
    "that size, not with the size of the graph. SQLite keeps up to 50,000 decoded nodes between reads (a "
    "bounded cache emptied whenever the database changes), so after the warm-up its 2-hop reads meet "
    "nodes earlier samples decoded (most of them at ~100k relationships, about half at ~1M); the row "
    "*2-hop, caches emptied first* is the same read with that cache emptied before each sample. "
    "Peak RSS (bench) is the benchmark process (Python "
    "client) over the whole run so far; peak RSS (server) is the Neo4j JVM when the benchmark started it."
)


def _ordered(results: list[RunResult]) -> list[RunResult]:
    """One result per (backend, size), later ones winning, in backend then size order."""
    latest = {(r.backend, r.size): r for r in results}
    rank = {name: i for i, name in enumerate(SIZES)}
    return sorted(latest.values(), key=lambda r: (BACKENDS.index(r.backend), rank.get(r.size, 99)))


def _measure(backends: list[str], sizes: list[str], args: argparse.Namespace, command: str) -> tuple[list[RunResult], str]:
    results: list[RunResult] = []
    failures = ""

    def keep(result: RunResult) -> None:
        result.extra["command"] = command
        results.append(result)
        if args.json is not None:  # after each size, so a later failure keeps what was measured
            args.json.write_text(json.dumps([r.as_json() for r in results], indent=2) + "\n", encoding="utf-8")

    for backend in backends:
        try:
            (run_sqlite if backend == "sqlite" else run_neo4j)(sizes, args, keep)
        except FAILURES as exc:  # report what was measured, and why the rest was not
            log(f"{backend}: FAILED: {exc}")
            failures += f"\n\n**{backend} failed:** {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
    return results, failures


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    sizes = ["small"] if args.quick else [s.strip() for s in args.sizes.split(",") if s.strip()]
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    unknown = [s for s in sizes if s not in SIZES] + [b for b in backends if b not in BACKENDS]
    if unknown:
        print(f"bench/graph.py: unknown size or backend: {', '.join(unknown)}", file=sys.stderr)
        return 2
    if args.reuse and (args.workdir is None or "neo4j" in backends):
        print("bench/graph.py: --reuse needs --workdir and the sqlite backend only", file=sys.stderr)
        return 2
    if args.quick:
        args.samples, args.warmup, args.neo4j_warmup = min(args.samples, 20), min(args.warmup, 3), False
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # unwind, so a dev server we started is stopped
    command = command_line("bench/graph.py", argv if argv is not None else sys.argv[1:])
    merged = [RunResult.from_json(d) for path in args.merge for d in json.loads(path.read_text(encoding="utf-8"))]
    measured, failures = _measure(backends, sizes, args, command)
    results = _ordered(merged + measured)
    print("\n" + targets_table(results) + "\n\n" + load_table(results) + "\n\n" + query_table(results))
    log(f"total wall time {time.monotonic() - STARTED:,.0f} s")
    out = args.out or (None if args.quick or args.reuse else DEFAULT_OUT)
    if out is not None and not args.no_write:
        servers = [r.extra["server"] for r in results if r.extra.get("server")]
        commands = list(dict.fromkeys(r.extra.get("command", command) for r in results))
        notes = "\n\n".join([NOTES + failures, *args.note])
        write_section(out, section(results, machine(servers[0] if servers else None, args, results), commands, notes))
        log(f"wrote the graph-bench section of {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
