"""Ingestion benchmark: events per second through the real pipeline, and whether memory stays flat.

Generates a seeded estate (``bench/ingest_gen.py``: Backstage catalog with
``dependsOn``, CDEvents JSON Lines, Alertmanager webhook JSON Lines), checks
that the readers accept it, then ingests it with ``Ingester(store).run([dir])``
into each backend three times: a first full run, a no-op re-run (nothing
changed) and a run after one CDEvents file changed. Each (backend, size) runs
in a fresh child process, so its peak RSS is its own. Prints the tables and
rewrites the ingest section of ``docs/benchmarks.md``::

    .venv/bin/python bench/ingest_events.py --quick                  # ~30 s, sqlite, 50 services
    .venv/bin/python bench/ingest_events.py --backends sqlite,neo4j  # 500 services, 100k and 400k events

Neo4j: ``--neo4j-uri`` (or env ``VIDYA_NEO4J_URI``) names a server whose
database is WIPED before each size; without it a dev server is started from
``tools/neo4j-dev`` (``bench/neo4j_server.py``) and stopped at the end.
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
import contextlib
import cProfile
import json
import os
import pstats
import re
import resource
import shlex
import shutil
import sqlite3
import subprocess
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from api.ingestion.read_ahead import PROFILE_ENV
from bench import report
from bench.ingest_gen import GenSpec, Written, change_file, write_estate

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "docs" / "benchmarks.md"
START, END = "<!-- ingest-bench:start -->", "<!-- ingest-bench:end -->"
#: events per second of wall time, first full run at the largest size
TARGETS = {"sqlite": 5_000, "neo4j": 2_000}
#: peak RSS at the larger size may exceed the smaller size's by this factor and still count as flat
FLAT_RATIO = 1.10
STARTED = time.monotonic()


_PROJECT_ROOT = str(Path(__file__).resolve().parents[1])  # only the project's own functions


def log(message: str) -> None:
    print(f"[{time.monotonic() - STARTED:7.1f}s] {message}", file=sys.stderr, flush=True)


# --- the child: one backend, one estate, three runs -----------------------------------


@dataclass
class Phase:
    """One ``Ingester.run``: wall and CPU time, what the report says, and the RSS high-water mark after it."""

    wall: float
    cpu: float
    server_cpu: float | None
    sources: dict[str, int]
    nodes: int
    edges: int
    peak_rss_mib: float
    #: CPU seconds of this process's children: the worker that reads ahead of the writes
    worker_cpu: float = 0.0
    #: the largest peak RSS of a finished child so far (the read-ahead worker)
    worker_peak_rss_mib: float = 0.0
    #: the largest anonymous RSS seen while it ran (sampled): the heap and SQLite's page cache, not mapped file pages
    peak_anon_mib: float = 0.0


@dataclass
class ChildResult:
    backend: str
    events: int
    baseline_rss_mib: float
    phases: dict[str, Phase] = field(default_factory=dict)
    stored_nodes: int = 0
    stored_edges: int = 0
    changed_file: str = ""
    changed_events: int = 0
    #: CPU seconds to detect, read and redact every source with no store at all (sqlite children only)
    read_cpu: float = 0.0
    #: after the first run: anonymous (heap, SQLite page cache) and file-backed (code, memory map) RSS
    rss_anon_mib: float = 0.0
    rss_file_mib: float = 0.0
    #: the SQLite database and its write-ahead log after the first run (0 for Neo4j)
    store_mib: float = 0.0
    #: Python heap high-water mark (tracemalloc) over a first run, from a separate untimed child
    heap_peak_mib: float = 0.0


def _rss_now_mib() -> float:
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def _rss_parts_mib() -> tuple[float, float]:
    """(anonymous, file-backed) resident memory of this process now."""
    fields = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines() if ":" in line)
    return tuple(int(fields.get(k, "0 kB").split()[0]) / 1024 for k in ("RssAnon", "RssFile"))  # type: ignore[return-value]


class _AnonPeak:
    """The largest anonymous RSS of this process while the block runs, read from ``/proc`` every 50 ms."""

    def __init__(self) -> None:
        self.peak = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while True:
            self.peak = max(self.peak, _rss_parts_mib()[0])
            if self._stop.wait(0.05):
                return

    def __enter__(self) -> _AnonPeak:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, _rss_parts_mib()[0])


def _store_mib(job: dict[str, Any]) -> float:
    if job["backend"] != "sqlite":
        return 0.0
    db = Path(job["sqlite_path"])
    return sum(f.stat().st_size for f in db.parent.glob(db.name + "*")) / 2**20


def _heap_child(store: Any, root: Path, result: ChildResult) -> ChildResult:
    """One first run with tracemalloc on: the Python heap's high-water mark (slower, so never timed)."""
    import tracemalloc

    import api.ingestion.pipeline  # noqa: F401
    import bench.neo4j_server  # noqa: F401  (what the run imports is code, not heap the ingest grows)

    tracemalloc.start()
    try:
        result.phases["first"] = _phase(store, root, None)
        result.heap_peak_mib = tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()
    return result


def _peak_rss_mib() -> float:
    """This process's RSS high-water mark (``VmHWM``, which :func:`_reset_peak_rss` restarts; else ``ru_maxrss``)."""
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def _reset_peak_rss() -> None:
    """Start the RSS high-water mark again from the current RSS (Linux), so a phase's peak is its own."""
    with contextlib.suppress(OSError):  # not Linux, or not allowed: peaks then accumulate over the phases
        Path("/proc/self/clear_refs").write_text("5")


def _children_cpu() -> float:
    """CPU seconds of finished child processes (the read-ahead worker, once the run has joined it)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _read_only(root: Path) -> float:
    """CPU seconds to find, detect, read and redact every source without a store: the reading part alone."""
    from api.ingestion.read_ahead import read_file
    from graph.model import now_utc
    from ingest.records import ReadContext
    from ingest.registry import detect, readers
    from ingest.walker import Unreadable, walk_lazy

    available, ctx = readers(), ReadContext(run_id="read-only", ingested_at=now_utc())
    cpu = time.process_time()
    for item in walk_lazy(root):
        file = item if isinstance(item, Unreadable) else item.load()
        if isinstance(file, Unreadable):
            raise RuntimeError(f"{file.path}: {file.reason}")
        outcome = read_file(file, detect(file, available), ctx)
        if outcome.error:
            raise RuntimeError(f"{file.path}: {outcome.error}")
    return time.process_time() - cpu


def _open(job: dict[str, Any]) -> Any:
    from graph.factory import GraphConfig, open_store

    if job["backend"] == "sqlite":
        return open_store(GraphConfig(backend="sqlite", sqlite_path=Path(job["sqlite_path"])))
    return open_store(GraphConfig(backend="neo4j", neo4j_uri=job["neo4j_uri"]))


def _phase(store: Any, root: Path, server_pid: int | None, profile: Path | None = None) -> Phase:
    from api.ingestion.pipeline import Ingester
    from bench.neo4j_server import process_cpu_seconds

    server_before = process_cpu_seconds(server_pid)
    _reset_peak_rss()  # what ran before (the store counts read after the first run) is not this phase's
    started, cpu, children = time.perf_counter(), time.process_time(), _children_cpu()
    # CPU time, not wall time: on a shared machine wall time also counts waiting for a core
    profiler = cProfile.Profile(time.process_time) if profile else None
    if profiler:
        profiler.enable()
    with _AnonPeak() as anon:
        report = Ingester(store).run([root])
    if profiler and profile:
        profiler.disable()
        profiler.dump_stats(profile)
    wall, cpu, children = time.perf_counter() - started, time.process_time() - cpu, _children_cpu() - children
    server_after = process_cpu_seconds(server_pid)
    bad = [f"{s.path}: {s.status}: {s.error}" for s in report.sources if s.status not in ("ingested", "unchanged")]
    if bad:
        raise RuntimeError("ingest did not read the generated estate cleanly: " + "; ".join(bad[:3]))
    statuses = {k: sum(1 for s in report.sources if s.status == k) for k in ("ingested", "unchanged")}
    server = None if server_before is None or server_after is None else server_after - server_before
    nodes, edges = sum(s.nodes for s in report.sources), sum(s.edges for s in report.sources)
    worker_rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return Phase(wall, cpu, server, statuses, nodes, edges, _peak_rss_mib(), children, worker_rss, anon.peak)


def child(job: dict[str, Any]) -> ChildResult:
    """Full run, no-op run, run after changing one file (restored afterwards); only the first when profiling."""
    from ingest.registry import readers

    root, pid = Path(job["root"]), job.get("server_pid")
    store = _open(job)
    readers()  # imports every reader, so the baseline holds the code and only the ingest comes on top
    result = ChildResult(job["backend"], job["events"], _rss_now_mib())
    try:
        if job.get("heap"):
            return _heap_child(store, root, result)
        if job.get("profile") or job.get("first_only"):
            result.phases["first"] = _phase(store, root, pid, Path(job["profile"]) if job.get("profile") else None)
            return result
        result.phases["first"] = _phase(store, root, pid)
        result.rss_anon_mib, result.rss_file_mib = _rss_parts_mib()
        result.store_mib = _store_mib(job)
        counts = store.counts()
        result.stored_nodes, result.stored_edges = sum(counts.nodes.values()), sum(counts.relationships.values())
        result.phases["no-op"] = _phase(store, root, pid)
        changed = root / job["changed_file"]
        original = changed.read_bytes()
        try:
            edited = change_file(changed)
            result.phases["one file changed"] = _phase(store, root, pid)
        finally:
            changed.write_bytes(original)
        result.changed_file, result.changed_events = job["changed_file"], edited
        if job["backend"] == "sqlite":
            result.read_cpu = _read_only(root)
    finally:
        store.close()
    return result


def run_child(job: dict[str, Any], env: dict[str, str] | None = None) -> ChildResult:
    """Run ``child(job)`` in a fresh interpreter (its own peak RSS) and decode its JSON result."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", json.dumps(job)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False, env={**os.environ, **(env or {})})
    if done.returncode != 0:
        raise RuntimeError(f"child run failed ({done.returncode}): {done.stderr.strip()[-2000:]}")
    raw = json.loads(done.stdout)
    phases = {name: Phase(**phase) for name, phase in raw.pop("phases").items()}
    return ChildResult(**raw, phases=phases)


# --- the parent: estates, backends, tables --------------------------------------------


@dataclass
class Size:
    """One generated estate on disk."""

    label: str
    spec: GenSpec
    root: Path
    written: Written

    @property
    def changed_file(self) -> str:
        middle = self.written.files["cdevents"][len(self.written.files["cdevents"]) // 2]
        return middle.relative_to(self.root).as_posix()


@dataclass
class Row:
    backend: str
    size: Size
    result: ChildResult
    server_rss_mib: float | None = None
    #: 1-minute load average before and after the child ran
    load: tuple[float, float] = (0.0, 0.0)


def _check_estate(size: Size) -> None:
    """Every file is claimed by the intended reader; one file of each kind reads with no record error."""
    from graph.model import now_utc
    from ingest.records import ReadContext
    from ingest.registry import detect, readers
    from ingest.walker import Unreadable, walk

    available, ctx = readers(), ReadContext(run_id="check", ingested_at=now_utc())
    expected = {"catalog": "backstage", "events": "cdevents", "alerts": "alertmanager"}
    checked: set[str] = set()
    for file in walk(size.root):
        if isinstance(file, Unreadable):
            raise RuntimeError(f"{file.path}: {file.reason}")
        reader = detect(file, available)
        if reader.name != expected[file.path.split("/")[0]]:
            raise RuntimeError(f"{file.path}: claimed by {reader.name}, expected {expected[file.path.split('/')[0]]}")
        if reader.name in checked:
            continue
        checked.add(reader.name)
        result = reader.read(file, ctx)
        if result.errors:
            raise RuntimeError(f"{file.path}: {len(result.errors)} record errors, first: {result.errors[0]}")
        lines = file.data.count(b"\n")
        if reader.name == "cdevents" and len(result.nodes) != lines:
            raise RuntimeError(f"{file.path}: {len(result.nodes)} nodes from {lines} events")
    log(f"{size.label}: every file claimed by its reader; one of each read with no record errors")


def make_size(label: str, spec: GenSpec, workdir: Path) -> Size:
    root = workdir / ("estate-" + re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-"))
    shutil.rmtree(root, ignore_errors=True)
    started = time.monotonic()
    written = write_estate(spec, root)
    size = Size(label, spec, root, written)
    log(
        f"{label}: generated {spec.services} services ({written.entities} catalog entities), {written.cdevents:,} CDEvents, "
        f"{written.notifications:,} alert notifications ({written.alerts:,} alerts), {written.bytes / 2**20:,.1f} MiB "
        f"in {sum(len(v) for v in written.files.values())} files, {time.monotonic() - started:.1f} s"
    )
    _check_estate(size)
    return size


def _job(backend: str, size: Size, **extra: Any) -> dict[str, Any]:
    return {"backend": backend, "root": str(size.root), "events": size.spec.events, "changed_file": size.changed_file, **extra}


def _log_row(row: Row) -> None:
    r = row.result
    for name, p in r.phases.items():
        server = "" if p.server_cpu is None else f" + server {p.server_cpu:.1f} s"
        server += f" + read-ahead worker {p.worker_cpu:.1f} s" if p.worker_cpu else ""
        rate = f", {r.events / p.wall:,.0f} events/s" if name == "first" else ""
        times = f"{p.wall:.1f} s wall{rate}, CPU {p.cpu:.1f} s{server}"
        log(f"{row.backend}/{row.size.label}: {name}: {times}, peak RSS {p.peak_rss_mib:.0f} MiB")


@dataclass
class BackendRun:
    """What one backend measured so far (rows survive a later failure)."""

    backend: str
    rows: list[Row] = field(default_factory=list)
    info: str = ""
    profile: str = ""
    failure: str = ""


def _measure(run: BackendRun, size: Size, args: argparse.Namespace, **extra: Any) -> None:
    log(f"{run.backend}/{size.label}: ingesting {size.spec.events:,} events")
    before = os.getloadavg()[0]
    result = run_child(_job(run.backend, size, **extra))
    run.rows.append(Row(run.backend, size, result, load=(before, os.getloadavg()[0])))
    _log_row(run.rows[-1])
    _save_json(args)


def _heap(run: BackendRun, size: Size, args: argparse.Namespace, **extra: Any) -> None:
    """The Python heap peak of one more (untimed, tracemalloc) first run, onto the row just measured."""
    if args.no_heap:
        return
    log(f"{run.backend}/{size.label}: one more first run under tracemalloc (Python heap peak)")
    heap = run_child(_job(run.backend, size, heap=True, **extra))
    run.rows[-1].result.heap_peak_mib = heap.heap_peak_mib
    log(f"{run.backend}/{size.label}: Python heap peak {heap.heap_peak_mib:,.1f} MiB")
    _save_json(args)


def run_sqlite(run: BackendRun, sizes: list[Size], args: argparse.Namespace) -> None:
    run.info = f"SQLite {sqlite3.sqlite_version} (WAL, synchronous=NORMAL), database file in the temp dir"
    for size in [*sizes, *args.extra_sizes]:
        _measure(run, size, args, sqlite_path=_fresh_db(args, size))
        _heap(run, size, args, sqlite_path=_fresh_db(args, size))
        if "sqlite" in args.profile and size is args.profile_size:  # early, so a run cut short still has it
            run.profile = profile(_job("sqlite", size, sqlite_path=_fresh_db(args, size)), args)


def _fresh_db(args: argparse.Namespace, size: Size) -> str:
    db = args.workdir_path / f"sqlite-{size.root.name}.db"
    for old in args.workdir_path.glob(db.name + "*"):
        old.unlink()
    return str(db)


def run_neo4j(run: BackendRun, sizes: list[Size], warmup: Size | None, args: argparse.Namespace) -> None:
    from bench.neo4j_server import Neo4jServer, server_rss_mib, wipe

    with Neo4jServer(args.neo4j_uri, args.neo4j_page_cache_mb, shlex.split(args.neo4j_java_opts)) as server:
        run.info = server.describe()
        log(f"neo4j: {run.info}")
        if warmup is not None:  # a fresh JVM interprets, then JIT-compiles; time a warm server
            log(f"neo4j: untimed warm-up: a first run of the {warmup.label} estate")
            wipe(server.uri)
            run_child(_job("neo4j", warmup, neo4j_uri=server.uri, first_only=True))
        for size in sizes:
            wipe(server.uri)
            _measure(run, size, args, neo4j_uri=server.uri, server_pid=server.pid)
            run.rows[-1].server_rss_mib = server_rss_mib(server.pid)
            if not args.no_heap:
                wipe(server.uri)
                _heap(run, size, args, neo4j_uri=server.uri)
            if "neo4j" in args.profile and size is args.profile_size:  # early, so a run cut short still has it
                wipe(server.uri)
                run.profile = profile(_job("neo4j", size, neo4j_uri=server.uri, server_pid=server.pid), args)


def _save_json(args: argparse.Namespace) -> None:
    """The raw results so far (after every measurement, so an interrupted run keeps them)."""
    if args.json is None:
        return
    rows = [row for run in args.runs for row in run.rows]
    data = [{"backend": r.backend, "estate": r.size.label, "load": r.load, **asdict(r.result)} for r in rows]
    args.json.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


# --- profiling ---------------------------------------------------------------------------


def _where(func: tuple[str, int, str]) -> str:
    """``graph/model.py:_digest``, ``yaml/scanner.py:scan_plain`` or ``<method 'execute' ...>``."""
    path, _, name = func
    if path == "~":
        return name
    bases = sorted({str(ROOT), *(p for p in sys.path if p)}, key=len, reverse=True)  # site-packages before ROOT
    base = next((b for b in bases if path.startswith(b + "/")), None)
    return f"{path[len(base) + 1 :] if base else path}:{name}"


def _area(func: tuple[str, int, str]) -> str:
    """The module (or built-in) a function belongs to, for the time-by-area table."""
    where = _where(func)
    if where.startswith(("{", "<")):
        match = re.search(r"of '([\w.]+)'", where) or re.search(r"built-in method ([\w.]+)", where)
        return f"built-in {match[1] if match else where}"
    return where.rsplit(":", 1)[0]


def summarise(stats_path: Path, wall: float, events: int, top: int = 15, who: str = "the benchmark process") -> str:
    """Markdown: time by module (self time) and the functions with the most self and cumulative time."""
    stats = pstats.Stats(str(stats_path))
    entries = stats.stats  # type: ignore[attr-defined]
    total = sum(tt for _, _, tt, _, _ in entries.values()) or 1.0
    areas: dict[str, float] = {}
    for func, (_, _, tt, _, _) in entries.items():
        areas[_area(func)] = areas.get(_area(func), 0.0) + tt
    modules = [[f"`{a}`", f"{t:.1f}", f"{t / total:.0%}"] for a, t in sorted(areas.items(), key=lambda kv: -kv[1])[:top]]
    functions: list[list[str]] = []
    by_self = sorted(entries.items(), key=lambda kv: -kv[1][2])[:top]
    by_cum = [kv for kv in sorted(entries.items(), key=lambda kv: -kv[1][3]) if kv[0][0].startswith(_PROJECT_ROOT)]
    seen: set[Any] = set()
    for func, (_, nc, tt, ct, _) in [*by_self, *by_cum[:top]]:
        if func not in seen:
            seen.add(func)
            functions.append([f"`{_where(func)}`", f"{nc:,}", f"{tt:.2f}", f"{ct:.2f}"])
    head = (
        f"cProfile of one more first run (fresh store) of the {events:,}-event estate, timed in CPU seconds of the "
        f"{who}: {total:.1f} CPU s under the profiler ({wall:.1f} s wall), which slows Python code "
        "about 2x. For Neo4j, the server's own CPU time is not in here (see the CPU columns above)."
    )
    return "\n\n".join([
        head,
        report.table(["module (self time)", "seconds", "share"], "lrr", modules),
        report.table(["function", "calls", "self s", "cumulative s"], "lrrr", functions),
    ])


def profile(job: dict[str, Any], args: argparse.Namespace) -> str:
    """One more first run of ``job`` under cProfile, in a fresh store; the summary as markdown."""
    path = args.workdir_path / f"profile-{job['backend']}-{job['events']}.pstats"
    worker = path.with_name(path.stem + "-worker.pstats")
    log(f"{job['backend']}: profiling a first run of {job['events']:,} events (cProfile, CPU time) -> {path}")
    result = run_child({**job, "profile": str(path)}, env={PROFILE_ENV: str(worker)})
    if args.profile_dir:
        args.profile_dir.mkdir(parents=True, exist_ok=True)
        for stats in (path, worker):
            if stats.exists():
                shutil.copy(stats, args.profile_dir / stats.name)
    wall = result.phases["first"].wall
    parts = [summarise(path, wall, job["events"])]
    if worker.exists():  # no worker when the estate is too small to read ahead
        parts += ["Its read-ahead worker (reading, redacting, sending the records):",
                  summarise(worker, wall, job["events"], who="the read-ahead worker process")]
    return "\n\n".join(parts)


# --- tables and the docs section -----------------------------------------------------------


def _cpu_total(p: Phase) -> float:
    return p.cpu + p.worker_cpu + (p.server_cpu or 0.0)


def _main_rows(rows: list[Row], backend: str, sizes: list[Size]) -> list[Row]:
    return [r for r in rows if r.backend == backend and r.size in sizes]


def targets_table(rows: list[Row], sizes: list[Size]) -> str:
    lines: list[list[str]] = []
    for backend, low in TARGETS.items():
        mine = _main_rows(rows, backend, sizes)
        if not mine:
            continue
        base, more = mine[0], mine[-1]
        first = base.result.phases["first"]
        rate, cpu_rate = base.result.events / first.wall, base.result.events / _cpu_total(first)
        label = f"{base.result.events:,} events"
        check = f"{backend}: events/s, first run, {label} (wall)"
        lines.append([check, f"≥ {low:,}", f"{rate:,.0f}", report.verdict(rate >= low)])
        lines.append([
            f"{backend}: events per CPU second (client + server; idle-machine estimate)", f"≥ {low:,}",
            f"{cpu_rate:,.0f}", f"{report.verdict(cpu_rate >= low, primary=False)} (informational)",
        ])
        if more is not base:
            lines += _flat_lines(backend, base, more, "as many times the files: sources of the same size", larger_sources=False)
        larger = [r for r in rows if r.backend == backend and r not in mine and r.result.events == more.result.events]
        if more is not base and larger:
            lines += _flat_lines(backend, base, larger[-1], "the same files: each source larger", larger_sources=True)
    return report.table(["check", "target", "measured", "verdict"], "llrl", lines)


def _flat_lines(backend: str, small: Row, big: Row, how: str, *, larger_sources: bool) -> list[list[str]]:
    """Peak RSS, peak anonymous RSS, Python heap peak and the worker's peak RSS of two first runs, checked for flatness.

    With ``larger_sources`` (the same files, each larger) two lines are informational: the writer holds one
    part of a source, so its heap grows until the parts are full, and the worker holds the whole source
    it reads, so its peak follows the largest file.
    """
    span = f"{small.result.events:,} → {big.result.events:,} events, {how}"
    first_a, first_b = small.result.phases["first"], big.result.phases["first"]
    pairs: list[tuple[str, float, float, str]] = [("peak RSS", first_a.peak_rss_mib, first_b.peak_rss_mib, "")]
    if first_a.peak_anon_mib and first_b.peak_anon_mib:
        pairs.append(("peak anonymous RSS", first_a.peak_anon_mib, first_b.peak_anon_mib, ""))
    if small.result.heap_peak_mib and big.result.heap_peak_mib:
        note = "bounded by the part size (informational)" if larger_sources else ""
        pairs.append(("Python heap peak (tracemalloc)", small.result.heap_peak_mib, big.result.heap_peak_mib, note))
    a, b = _worker_peak(small.result), _worker_peak(big.result)
    if a and b:
        note = "follows the largest source (informational)" if larger_sources else ""
        pairs.append(("read-ahead worker peak RSS", a, b, note))
    return [
        [
            f"{backend}: {what} flat ({span})",
            f"≤ {FLAT_RATIO:.2f}×",
            f"{a:,.1f} → {b:,.1f} MiB ({b / a:.2f}×)",
            note or report.verdict(b <= a * FLAT_RATIO),
        ]
        for what, a, b, note in pairs
    ]


def runs_table(rows: list[Row]) -> str:
    header = [
        "backend", "estate", "first run", "events/s", "CPU s: ingest + read-ahead worker + server", "events per CPU s",
        "nodes / edges written", "stored nodes / edges", "no-op run", "one file changed", "load avg",
    ]
    lines: list[list[str]] = []
    for row in rows:
        r, size = row.result, row.size
        first, noop, changed = r.phases["first"], r.phases["no-op"], r.phases["one file changed"]
        lines.append([
            row.backend, size.label, f"{first.wall:,.1f} s", f"{r.events / first.wall:,.0f}", _cpu_parts(first),
            f"{r.events / _cpu_total(first):,.0f}", f"{first.nodes:,} / {first.edges:,}",
            f"{r.stored_nodes:,} / {r.stored_edges:,}", f"{noop.wall:,.2f} s", f"{changed.wall:,.2f} s",
            f"{row.load[0]:.1f} → {row.load[1]:.1f}",
        ])
    return report.table(header, "llrrrrrrrrr", lines)


def _worker_peak(r: ChildResult) -> float:
    return max(p.worker_peak_rss_mib for p in r.phases.values())


def _worker_rss(r: ChildResult) -> str:
    peak = _worker_peak(r)
    return f"{peak:,.0f} MiB" if peak else "–"


def _cpu_parts(p: Phase) -> str:
    server = "" if p.server_cpu is None else f" + {p.server_cpu:,.1f}"
    return f"{p.cpu:,.1f} + {p.worker_cpu:,.1f}{server}"


def reading_table(rows: list[Row]) -> str:
    """The reading part alone (detect, read, redact; no store), from the sqlite children."""
    lines = [
        [row.size.label, f"{row.result.read_cpu:,.1f}", f"{row.result.events / row.result.read_cpu:,.0f}"]
        for row in rows if row.result.read_cpu
    ]
    return report.table(["estate", "CPU s", "events per CPU s"], "lrr", lines) if lines else ""


def memory_table(rows: list[Row]) -> str:
    header = [
        "backend", "estate", "input on disk", "largest file", "RSS before ingest (code loaded)", "peak RSS, first run",
        "peak anonymous RSS, first run",
        "peak RSS, no-op / one file changed", "RSS after the first run: anonymous / file-backed", "SQLite file + WAL",
        "Python heap peak, first run", "read-ahead worker peak RSS", "Neo4j server peak RSS",
    ]
    lines: list[list[str]] = []
    for row in rows:
        r, w = row.result, row.size.written
        server = "–" if row.server_rss_mib is None else f"{row.server_rss_mib:,.0f} MiB"
        lines.append([
            row.backend, row.size.label, f"{w.bytes / 2**20:,.1f} MiB", f"{w.largest_file / 2**20:,.1f} MiB",
            f"{r.baseline_rss_mib:,.0f} MiB", f"{r.phases['first'].peak_rss_mib:,.0f} MiB",
            f"{r.phases['first'].peak_anon_mib:,.0f} MiB",
            f"{r.phases['no-op'].peak_rss_mib:,.0f} / {r.phases['one file changed'].peak_rss_mib:,.0f} MiB",
            f"{r.rss_anon_mib:,.0f} / {r.rss_file_mib:,.0f} MiB", f"{r.store_mib:,.0f} MiB" if r.store_mib else "–",
            f"{r.heap_peak_mib:,.1f} MiB" if r.heap_peak_mib else "–", _worker_rss(r), server,
        ])
    return report.table(header, "llrrrrrrrrrrr", lines)


def _git_state() -> str:
    """The commit measured, and whether other files had uncommitted changes (others edit the tree too)."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True)
        status = subprocess.run(["git", "status", "--porcelain"], cwd=ROOT, capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return "unknown (no git)"
    changed = [line[3:] for line in status.stdout.splitlines() if not line[3:].startswith(("bench/", "docs/"))]
    dirty = f", plus uncommitted changes to {len(changed)} file(s) outside bench/ and docs/" if changed else ""
    return f"commit {head.stdout.strip()}{dirty}"


def machine(args: argparse.Namespace, infos: list[str]) -> str:
    lines = [
        f"- {report.machine_line()}",
        f"- 1-minute load average at start → end: {args.load_before:.2f} → {os.getloadavg()[0]:.2f}. The machine "
        "was shared with other test runs, so wall times are noisy; the CPU columns (this process plus, for Neo4j, "
        "the server it started) estimate an idle machine.",
        f"- code at the start of the run: {args.git_state} (others commit while it runs; each child imports the code "
        "when it starts)",
        *(f"- {info}" for info in infos),
    ]
    return "\n".join(lines)


NOTES = (
    "How it is measured: each (backend, estate) runs in a fresh child process on an empty store: a first "
    "`Ingester(store).run([estate])`, a no-op re-run (every source `unchanged`), and a run after one CDEvents "
    "file had 1 % of its events moved to the other environment and as many new events appended. *events* are "
    "CDEvents plus Alertmanager notifications (one alert per webhook payload; 20 % of the events), the catalog "
    "is read in the same run; *events/s* is events over the wall time of the whole first run. *written* is what "
    "the readers produced (pipeline report, resolved hint edges included, `Source` bookkeeping excluded); *stored* "
    "is `store.counts()` after the first run (current records, no placeholders; superseded `RUNS` edges are not "
    "current). Peak RSS is the child's `VmHWM`, started again from the current RSS before each run; "
    "*peak anonymous RSS* is the largest `RssAnon` of `/proc/self/status` sampled every 50 ms during the first "
    "run (the Python heap and SQLite's page cache, `BULK_CACHE_MIB` while an ingest writes; no mapped file pages); "
    "*anonymous / file-backed* RSS is the same file after the first run (file-backed holds code and any "
    "memory-mapped file pages). The Python heap peak is tracemalloc's high-water "
    "mark over one more first run in its own child (untimed: tracemalloc slows it); it counts Python objects, "
    "not SQLite's caches. The flatness checks compare the first run at the target size with one at `--scale` "
    "times its events, (a) in as many times the files, so each source is the same size (more events), and (b) "
    "for SQLite, in the same files, so each source is that much larger. Every cache the ingest keeps has a "
    "fixed cap (SQLite's page cache, the decoded-time and provenance caches, a batch's provenance keys), a "
    "source is one batch written in parts (`api/ingestion/parts.py`: at most `PART_NODES` nodes or `PART_EDGES` "
    "edges each; a Neo4j batch keeps at most one chunk of them unwritten), and a functional edge reads only the "
    "versions it can close or end at: once the target size fills those caps, memory stops growing with the "
    "events. In (b) two lines are informational: the writing process holds one part of a source, so its heap "
    "grows until the parts are full, and the read-ahead worker holds the records of the whole source it is "
    "reading, so its peak follows the largest file (`vidya ingest --max-file-mb` caps a file, 50 MiB by default)."
)


READING_NOTE = (
    "The same sources found, detected, read and redacted with no store, in the sqlite child after its runs: the "
    "part of the ingest the readers and the pipeline own, in CPU seconds of one process (no read-ahead worker)."
)


def section(args: argparse.Namespace, rows: list[Row], sizes: list[Size], runs: list[BackendRun], command: str) -> str:
    parts = [
        START,
        "## Ingestion",
        f"Events through the real ingest pipeline (`api/ingestion/pipeline.py`) on a seeded synthetic estate "
        f"(`bench/ingest_gen.py`): {sizes[-1].spec.services} services in Backstage catalog files with `dependsOn`, "
        "CDEvents JSON Lines (service deployed/upgraded/rolledback with purl artifacts; custom config, flag and "
        "migration events with `subject.content.target`) and Alertmanager webhook JSON Lines.",
        "### Targets",
        targets_table(rows, sizes),
        "### Runs",
        runs_table(rows),
        "### Memory",
        memory_table(rows),
    ]
    reading = reading_table(rows)
    if reading:
        parts += ["### Reading alone", READING_NOTE, reading]
    for run in runs:
        if run.failure:
            parts += [f"**{run.backend} did not finish:** {run.failure}"]
        if run.profile:
            parts += [f"### Where the time goes: {run.backend}", run.profile]
    parts += ["### Machine and settings", machine(args, [r.info for r in runs]), "### Reproduce", f"```sh\n{command}\n```"]
    return "\n\n".join([*parts, NOTES, END]) + "\n"


# --- command line -----------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="bench/ingest_events.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--services", type=int, default=500, help="services in the catalog (default 500)")
    p.add_argument("--events", type=int, default=100_000, help="CDEvents + alert notifications at the target size")
    p.add_argument(
        "--scale", type=int, default=4, help="the flatness checks compare the target size with this many times its events"
    )
    p.add_argument("--files", type=int, default=20, help="CDEvents files (alerts: a quarter as many; default 20)")
    p.add_argument("--backends", default="sqlite,neo4j", help="comma-separated: sqlite,neo4j")
    p.add_argument("--quick", action="store_true", help="50 services, 5k events, sqlite only; no docs write unless --out")
    p.add_argument("--profile", default="sqlite,neo4j", help="backends to profile with cProfile ('' for none)")
    p.add_argument("--profile-events", type=int, default=None, help="profile this size (default the target size)")
    p.add_argument("--no-heap", action="store_true", help="skip the untimed tracemalloc runs (Python heap peak)")
    p.add_argument("--profile-dir", type=Path, default=None, help="also keep the .pstats files here")
    p.add_argument("--out", type=Path, default=None, help=f"markdown file to update (default {DEFAULT_OUT})")
    p.add_argument("--no-write", action="store_true", help="print only; leave the markdown file alone")
    p.add_argument("--json", type=Path, default=None, help="also write the raw results as JSON")
    p.add_argument("--workdir", type=Path, default=None, help="where estates and SQLite files go (default: temp)")
    p.add_argument("--neo4j-uri", default=os.environ.get("VIDYA_NEO4J_URI"), help="use this server (wiped!)")
    p.add_argument("--neo4j-page-cache-mb", type=int, default=1024, help="dev server page cache (default 1024)")
    p.add_argument(
        "--neo4j-java-opts", default="-Xms2g -Xmx2g -XX:+UseG1GC -XX:+ExitOnOutOfMemoryError", help="dev server JVM options"
    )
    p.add_argument("--child", default=None, help=argparse.SUPPRESS)
    return p


def _sizes(args: argparse.Namespace) -> tuple[list[Size], list[Size]]:
    """The target size and ``--scale`` times its events in as many times the files (sources of the same size);
    and (full runs, sqlite) the larger event count in the target size's files (each source that much larger)."""
    main = []
    for events, files in ((args.events, args.files), (args.events * args.scale, args.files * args.scale)):
        spec = GenSpec(services=args.services, events=events, files=files)
        main.append(make_size(f"{events:,} events, {spec.files}+{spec.alert_files} files", spec, args.workdir_path))
    extra = []
    if not args.quick and "sqlite" in args.backends:
        spec = GenSpec(services=args.services, events=args.events * args.scale, files=args.files)
        extra.append(make_size(f"{spec.events:,} events, {spec.files}+{spec.alert_files} files", spec, args.workdir_path))
    return main, extra


def _run_all(args: argparse.Namespace) -> list[Size]:
    sizes, args.extra_sizes = _sizes(args)
    args.profile_size = next((z for z in sizes if z.spec.events == args.profile_events), sizes[0])
    warmup = None
    if "neo4j" in args.backends:
        spec = GenSpec(services=min(args.services, 50), events=5_000, files=4)
        warmup = make_size("warm-up", spec, args.workdir_path)
    for backend in args.backends:
        run = BackendRun(backend)
        args.runs.append(run)
        try:
            if backend == "sqlite":
                run_sqlite(run, sizes, args)
            else:
                run_neo4j(run, sizes, warmup, args)
        except (RuntimeError, OSError) as exc:  # report what was measured, and why the rest was not
            log(f"{backend}: FAILED: {exc}")
            run.failure = (str(exc).splitlines() or [type(exc).__name__])[0]
    return sizes


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.child:
        print(json.dumps(asdict(child(json.loads(args.child)))))
        return 0
    if args.quick:
        args.services, args.events, args.files = min(args.services, 50), min(args.events, 5_000), min(args.files, 4)
        args.backends, args.profile = "sqlite", ""
    args.backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    args.profile = [b.strip() for b in args.profile.split(",") if b.strip()]
    if any(b not in TARGETS for b in args.backends):
        print(f"bench/ingest_events.py: unknown backend in {args.backends} (expected sqlite, neo4j)", file=sys.stderr)
        return 2
    args.load_before, args.git_state = os.getloadavg()[0], _git_state()
    args.runs = []
    with tempfile.TemporaryDirectory(prefix="vidya-ingest-bench-") as tmp:
        args.workdir_path = args.workdir or Path(tmp)
        args.workdir_path.mkdir(parents=True, exist_ok=True)
        sizes = _run_all(args)
    runs: list[BackendRun] = args.runs
    rows = [row for run in runs for row in run.rows]
    print("\n" + "\n\n".join([targets_table(rows, sizes), runs_table(rows), memory_table(rows), reading_table(rows)]))
    log(f"total wall time {time.monotonic() - STARTED:,.0f} s")
    command = report.command_line("bench/ingest_events.py", argv if argv is not None else sys.argv[1:])
    out = args.out or (None if args.quick else DEFAULT_OUT)
    if out is not None and not args.no_write:
        report.write_section(out, section(args, rows, sizes, runs, command.strip()), START, END)
        log(f"wrote the ingest-bench section of {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
