"""Tables, target checks and the marked section of ``docs/benchmarks.md``.

The generic parts (Markdown tables, verdicts, the machine line, replacing a
marked section) serve every benchmark script::

    text = table(["backend", "events/s"], "-r", [["sqlite", "5,100"]])
    write_section(Path("docs/benchmarks.md"), text, start="<!-- x:start -->", end="<!-- x:end -->")
"""

from __future__ import annotations

import os
import platform
import re
import shlex
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.estate import SIZES
from bench.measure import LoadResult, QuerySummary

START, END = "<!-- graph-bench:start -->", "<!-- graph-bench:end -->"
HEADER = (
    "# Benchmarks\n\n"
    "Measured numbers for Vidya's components. Each section is written by its own\n"
    "benchmark script between markers; edit the scripts, not the numbers.\n"
)
TARGET_SIZE = "large"  # the targets are stated at about 1M relationships
TWO_HOP = "2-hop neighbourhood"


@dataclass(frozen=True)
class Target:
    min_rels_per_s: float
    max_p50_ms: float


TARGETS = {"sqlite": Target(50_000, 5.0), "neo4j": Target(20_000, 20.0)}


@dataclass
class RunResult:
    backend: str
    size: str
    load: LoadResult
    queries: list[QuerySummary]
    wall_seconds: float
    peak_rss_mib: float
    store_bytes: int | None = None
    server_rss_mib: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "backend": self.backend,
            "size": self.size,
            "nodes": self.load.nodes,
            "relationships": self.load.relationships,
            "node_seconds": round(self.load.node_seconds, 3),
            "edge_seconds": round(self.load.edge_seconds, 3),
            "nodes_per_s": round(self.load.nodes_per_s),
            "rels_per_s": round(self.load.rels_per_s),
            "node_cpu_seconds": round(self.load.node_cpu, 3),
            "edge_cpu_seconds": round(self.load.edge_cpu, 3),
            "rels_per_cpu_s": round(self.load.rels_per_cpu_s),
            "wall_seconds": round(self.wall_seconds, 1),
            "peak_rss_mib": round(self.peak_rss_mib),
            "store_bytes": self.store_bytes,
            "server_rss_mib": None if self.server_rss_mib is None else round(self.server_rss_mib),
            "queries": {
                q.name: {
                    "p50_ms": round(q.p50_ms, 2),
                    "p99_ms": round(q.p99_ms, 2),
                    "cpu_p50_ms": round(q.cpu_p50_ms, 2),
                    "server_cpu_seconds": None if q.server_cpu_seconds is None else round(q.server_cpu_seconds, 2),
                    "mean_rows": round(q.mean_rows, 1),
                    "samples": q.count,
                }
                for q in self.queries
            },
            **self.extra,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RunResult:
        """Read back one entry of :meth:`as_json` (``--merge``)."""
        d = dict(data)
        load = LoadResult(
            nodes=d.pop("nodes"),
            relationships=d.pop("relationships"),
            node_seconds=d.pop("node_seconds"),
            edge_seconds=d.pop("edge_seconds"),
            node_cpu=d.pop("node_cpu_seconds"),
            edge_cpu=d.pop("edge_cpu_seconds"),
        )
        queries = [
            QuerySummary(
                name, q["p50_ms"], q["p99_ms"], q["cpu_p50_ms"], q["mean_rows"], q["samples"], q.get("server_cpu_seconds")
            )
            for name, q in d.pop("queries").items()
        ]
        for derived in ("nodes_per_s", "rels_per_s", "rels_per_cpu_s"):
            d.pop(derived, None)
        return cls(
            d.pop("backend"),
            d.pop("size"),
            load,
            queries,
            d.pop("wall_seconds"),
            d.pop("peak_rss_mib"),
            d.pop("store_bytes", None),
            d.pop("server_rss_mib", None),
            extra=d,
        )


def _mib(n: int | None) -> str:
    return "–" if n is None else f"{n / 2**20:,.0f} MiB"


def load_table(results: list[RunResult]) -> str:
    lines = [
        "| backend | size | nodes | relationships | nodes/s | relationships/s | relationships per CPU s "
        "| load time | store on disk | peak RSS (bench) | peak RSS (server) | wall |",
        "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for r in results:
        load = r.load
        server = "–" if r.server_rss_mib is None else f"{r.server_rss_mib:,.0f} MiB"
        lines.append(
            f"| {r.backend} | {r.size} | {load.nodes:,} | {load.relationships:,} | {load.nodes_per_s:,.0f} "
            f"| {load.rels_per_s:,.0f} | {load.rels_per_cpu_s:,.0f} | {load.node_seconds + load.edge_seconds:,.1f} s "
            f"| {_mib(r.store_bytes)} | {r.peak_rss_mib:,.0f} MiB | {server} | {r.wall_seconds:,.0f} s |"
        )
    return "\n".join(lines)


def query_table(results: list[RunResult]) -> str:
    lines = [
        "| backend | size | query | p50 | p99 | CPU p50 | rows (mean) | samples |",
        "|---|---|---|--:|--:|--:|--:|--:|",
    ]
    for r in results:
        for q in r.queries:
            lines.append(
                f"| {r.backend} | {r.size} | {q.name} | {q.p50_ms:.2f} ms | {q.p99_ms:.2f} ms "
                f"| {q.cpu_p50_ms:.2f} ms | {q.mean_rows:,.1f} | {q.count} |"
            )
    return "\n".join(lines)


def verdict(ok: bool, primary: bool = True) -> str:
    """``**pass**`` / ``**FAIL**`` (plain words when the check is not a primary one)."""
    word = "pass" if ok else "FAIL"
    return f"**{word}**" if primary else word



def table(header: Sequence[str], aligns: str, rows: Iterable[Sequence[str]]) -> str:
    """A Markdown table; ``aligns`` has one letter per column: ``l`` (or ``-``) left, ``r`` right."""
    rule = ["--:" if a == "r" else "---" for a in aligns]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(rule) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def cpu_name() -> str:
    """The CPU model from ``/proc/cpuinfo`` (or what ``platform`` knows)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def machine_line() -> str:
    """``CPU: <model>, N cores; RAM X GiB; <OS> <release>; Python <version>``."""
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (
        f"CPU: {cpu_name()}, {os.cpu_count()} cores; RAM {mem:.0f} GiB; {platform.system()} {platform.release()}; "
        f"Python {platform.python_version()}"
    )


Row = tuple[str, str, str, str, str, str]


def _largest_runs(results: list[RunResult]) -> list[RunResult]:
    """Each backend's run at the largest size it has."""
    rank = {name: i for i, name in enumerate(SIZES)}
    largest: dict[str, RunResult] = {}
    for r in sorted(results, key=lambda r: rank.get(r.size, -1)):
        largest[r.backend] = r
    return list(largest.values())


def target_rows(results: list[RunResult]) -> list[Row]:
    """(check, target, wall, verdict, CPU-time estimate, verdict) per backend run at the target size."""
    rows: list[Row] = []
    for r in _largest_runs(results):
        target = TARGETS.get(r.backend)
        if target is None:
            continue
        # a backend not run at the target size is checked at its largest size, and says so
        at = "" if r.size == TARGET_SIZE else f" — at {r.size}, ~1M not run"
        low = target.min_rels_per_s
        rate, cpu_rate = r.load.rels_per_s, r.load.rels_per_cpu_s
        rows.append(
            (
                f"{r.backend}: relationships upserted/s{at}",
                f"≥ {low:,.0f}",
                f"{rate:,.0f}",
                verdict(rate >= low),
                f"{cpu_rate:,.0f}",
                verdict(cpu_rate >= low),
            )
        )
        high = target.max_p50_ms
        for q in r.queries:
            primary = q.name == TWO_HOP
            check = f"{r.backend}: {q.name} p50{at}" + ("" if primary else " (same bound, informational)")
            rows.append(
                (
                    check,
                    f"≤ {high:g} ms",
                    f"{q.p50_ms:.2f} ms",
                    verdict(q.p50_ms <= high, primary),
                    f"{q.cpu_p50_ms:.2f} ms",
                    verdict(q.cpu_p50_ms <= high, primary),
                )
            )
    return rows


def targets_table(results: list[RunResult]) -> str:
    rows = target_rows(results)
    if not rows:
        return f"_No run at the target size ({TARGET_SIZE}, about 1M relationships): targets not checked._"
    lines = [
        "| check (at ~1M relationships) | target | measured (wall) | verdict | CPU-time estimate | verdict |",
        "|---|---|--:|---|--:|---|",
    ]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def section(results: list[RunResult], machine: str, commands: list[str], notes: str) -> str:
    return (
        "\n\n".join(
            [
                START,
                "## Graph store",
                "Bulk upsert and query latency of both `GraphStore` backends on a seeded synthetic ops estate "
                "(`bench/estate.py`): services with power-law `DEPENDS_ON` fan-out onto popular services and "
                "shared resources, owners, systems, APIs, repositories, and 60 days of deployments (commit → "
                "build → artifact → deploy chains), config changes and alerts. Sizes: small ≈ 10k, "
                "medium ≈ 100k, large ≈ 1M relationships. Loads run nodes first, then edges, in write batches; "
                "only store calls are timed. Each query is run on random services after a warm-up, and timed "
                "end to end through the Python API (records decoded into `Node`/`Edge`). Verdicts use wall "
                "time; because other work shared the machine, the CPU columns add the CPU time the benchmark "
                "process and (when it started it) the Neo4j server spent, which estimates an idle machine: "
                "client and server work in turn, so their CPU times add up to the wall time there.",
                "### Targets",
                targets_table(results),
                "### Load",
                load_table(results),
                "### Queries",
                query_table(results),
                "### Machine and settings",
                machine,
                "### Reproduce",
                "Everything (about 15 minutes on sqlite and over an hour on Neo4j on this machine); "
                "`--quick --backends sqlite` is a smoke test of about 20 s:\n\n"
                "```sh\n.venv/bin/python bench/graph.py --sizes small,medium,large --backends sqlite,neo4j\n```\n\n"
                "The numbers above came from:\n\n" + "```sh\n" + "\n".join(commands) + "\n```",
                notes,
                END,
            ]
        )
        + "\n"
    )


LOCAL_OPTIONS = ("--json", "--out", "--workdir", "--merge")  # where files go on the machine that ran it


def command_line(script: str, argv: Sequence[str]) -> str:
    """The command that reproduces a run, without the options that only name local files."""
    kept: list[str] = []
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg in LOCAL_OPTIONS:
            skip = True
        elif not arg.startswith(tuple(f"{o}=" for o in LOCAL_OPTIONS)):
            kept.append(arg)
    return ".venv/bin/python " + shlex.join([script, *kept])


def write_section(path: Path, text: str, start: str = START, end: str = END) -> None:
    """Replace the section of ``path`` between ``start`` and ``end`` (or append it); others are left alone."""
    current = path.read_text(encoding="utf-8") if path.exists() else HEADER
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end) + r"\n?", re.DOTALL)
    found = pattern.search(current)
    updated = pattern.sub(lambda _: text, current, count=1) if found else current.rstrip("\n") + "\n\n" + text
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(updated, encoding="utf-8")
