"""RCA benchmark: generate labelled scenarios, ingest them, diagnose each blind, compare with naive baselines.

    .venv/bin/python -m bench.rca.run --preset all --services 50 --scenarios 40
    .venv/bin/python -m bench.rca.run --preset hard --services 500 --scenarios 40 --events 100000 --latency
    .venv/bin/python -m bench.rca.run --preset medium --backend neo4j --no-write

Prints one table per preset (AC@1, AC@3, Avg@5, Brier, fix-recall of the
agent and of each baseline), the per-confounder breakdown and the diagnosis
latency, and rewrites the "Root-cause analysis" section of ``docs/benchmarks.md``
(unless ``--no-write``). ``--latency`` marks the runs as the latency target's
(500 services, 100k background events). Neo4j: ``--neo4j-uri`` (or env
``VIDYA_NEO4J_URI``) names a server whose database is WIPED before each run;
without it a dev server is started from ``tools/neo4j-dev`` and stopped at the end.

A 100k-event load takes minutes on Neo4j. ``--reuse`` with ``--workdir`` (and,
for Neo4j, ``--neo4j-uri``) records each completed load there and skips the
wipe and the ingest when a later run asks for the same estate on the same
store; the estate files are generated again (same seed, same labels)::

    .venv/bin/python -m bench.rca.run --backend neo4j --neo4j-uri bolt://127.0.0.1:7687 --workdir rca-work --reuse \
        --preset hard --services 500 --events 100000 --latency --no-write
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):
    # run as a script (python bench/rca/run.py): make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import argparse
import json
import os
import platform
import shlex
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from agents.config import PRESETS as DIAGNOSIS_PRESETS
from agents.config import preset as diagnosis_preset
from api.ingestion.pipeline import Ingester
from bench.rca.evaluate import FIX_SOURCE, Evaluation, evaluate
from bench.rca.generator import GenSpec, generate
from bench.rca.misses import write_misses
from bench.rca.presets import CONFOUNDERS, KIND_CONFOUNDERS, PRESETS
from bench.rca.report import breakdown_table, results_table, section, targets_table, write_section
from graph.factory import GraphConfig, open_store
from graph.store import GraphStore

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_OUT = ROOT / "docs" / "benchmarks.md"
STARTED = time.monotonic()


def log(message: str) -> None:
    print(f"[{time.monotonic() - STARTED:7.1f}s] {message}", file=sys.stderr, flush=True)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="bench/rca/run.py", description=(__doc__ or "").split("\n\n")[0])
    p.add_argument("--preset", default="all", choices=[*PRESETS, "all", "none"],
                   help="none: run nothing, report the --merge files only")
    p.add_argument("--services", type=int, default=50, help="estate size, 10-500 (default 50)")
    p.add_argument("--scenarios", type=int, default=40, help="labelled scenarios per preset (default 40)")
    p.add_argument("--events", type=int, default=None, help="background CDEvents + alert notifications (default 200 per service)")
    p.add_argument("--days", type=int, default=28, help="days of history (default 28)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--backend", default="sqlite", choices=["sqlite", "neo4j"])
    p.add_argument("--latency", action="store_true", help="these runs check the latency target")
    p.add_argument("--json", type=Path, default=None, help="also write the results as JSON")
    p.add_argument("--merge", type=Path, action="append", default=[], help="include runs from an earlier --json")
    p.add_argument("--note", action="append", default=[], help="a paragraph under the targets table (repeatable)")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help="markdown file whose rca section is rewritten")
    p.add_argument("--no-write", action="store_true", help="print only; leave the markdown file alone")
    p.add_argument("--workdir", type=Path, default=None, help="where estates and SQLite files go (default: a temp dir)")
    p.add_argument("--reuse", action="store_true", help=(
        "keep a store an earlier run with the same --workdir (and --neo4j-uri) loaded with the same estate: "
        "no wipe, no ingest"))
    p.add_argument("--diagnosis-preset", default="default", choices=sorted(DIAGNOSIS_PRESETS),
                   help="the diagnosis agent's preset (default: default; fitted: the fitted feature weights)")
    p.add_argument("--misses", type=Path, default=None, help=(
        "write every scenario the agent missed (the labelled cause, its top 3 and the truth, with their factors) "
        "to this file, one block per miss"))
    p.add_argument("--neo4j-uri", default=os.environ.get("VIDYA_NEO4J_URI"), help="use this server (wiped!)")
    p.add_argument("--neo4j-page-cache-mb", type=int, default=1024)
    p.add_argument("--neo4j-java-opts", default="-Xms2g -Xmx2g -XX:+UseG1GC -XX:+ExitOnOutOfMemoryError")
    return p


def check_reuse(args: argparse.Namespace) -> None:
    """``--reuse`` needs somewhere a loaded store outlives the run."""
    if args.reuse and args.workdir is None:
        raise SystemExit("bench/rca/run.py: --reuse needs --workdir (where the loaded estates are recorded)")
    if args.reuse and args.backend == "neo4j" and not args.neo4j_uri:
        raise SystemExit("bench/rca/run.py: --reuse with --backend neo4j needs --neo4j-uri (a server that outlives the run)")


def _loaded_stamp(args: argparse.Namespace, workdir: Path, name: str, spec: GenSpec) -> tuple[Path, dict[str, Any]]:
    """Where a completed load of ``name`` is recorded, and what it must say for the store to be reused."""
    what = {"backend": args.backend, "neo4j_uri": args.neo4j_uri if args.backend == "neo4j" else None,
            "name": name, "spec": repr(spec)}
    # a Neo4j server holds one estate at a time: one record per server, which the next load replaces
    return workdir / (f"{name}.loaded.json" if args.backend == "sqlite" else "neo4j.loaded.json"), what


def reused_ingest(args: argparse.Namespace, workdir: Path, name: str, spec: GenSpec) -> float | None:
    """The recorded ingest time when ``--reuse`` finds this estate already loaded, else None."""
    stamp, what = _loaded_stamp(args, workdir, name, spec)
    if not args.reuse or not stamp.exists():
        return None
    recorded = json.loads(stamp.read_text(encoding="utf-8"))
    return float(recorded["ingest_s"]) if recorded.get("what") == what else None


def record_load(args: argparse.Namespace, workdir: Path, name: str, spec: GenSpec, ingest_s: float) -> None:
    stamp, what = _loaded_stamp(args, workdir, name, spec)
    stamp.write_text(json.dumps({"what": what, "ingest_s": ingest_s}), encoding="utf-8")


@contextmanager
def stores(args: argparse.Namespace, workdir: Path) -> Iterator[Any]:
    """Yields a function ``(name, keep) -> GraphStore`` for the chosen backend (``keep``: do not wipe)."""
    if args.backend == "sqlite":
        yield lambda name, keep: open_store(GraphConfig(sqlite_path=workdir / f"{name}.db"))
        return
    from bench.neo4j_server import Neo4jServer, wipe

    with Neo4jServer(args.neo4j_uri, args.neo4j_page_cache_mb, shlex.split(args.neo4j_java_opts)) as server:
        log(f"neo4j: {server.describe()}")

        def fresh(name: str, keep: bool) -> GraphStore:
            if not keep:
                wipe(server.uri)
            return open_store(GraphConfig(backend="neo4j", neo4j_uri=server.uri))

        yield fresh


@contextmanager
def _nothing() -> Iterator[Any]:
    yield None


def _grouped(result: Evaluation, key: str, names: list[str]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for name in names:
        keep = result.where(key, name)
        if keep:
            out[name] = {m: result.summary(m, keep).as_json() for m in result.methods}
    return out


def run_one(args: argparse.Namespace, preset: str, workdir: Path, fresh: Any) -> dict[str, Any]:
    spec = GenSpec(services=args.services, scenarios=args.scenarios, preset=preset, events=args.events, days=args.days,
                   seed=args.seed)
    root = workdir / f"estate-{preset}-{args.services}"
    log(f"{preset}: generating {spec.services} services, {spec.scenarios} scenarios, {spec.background_events:,} events")
    generated = generate(spec, root)
    name = f"{preset}-{args.services}"
    reused = reused_ingest(args, workdir, name, spec)
    store = fresh(name, reused is not None)
    try:
        bad: list[str] = []
        if reused is not None:
            ingest_s = reused
            log(f"{preset}: reusing the store loaded earlier (ingest took {ingest_s:.1f} s then)")
        else:
            _loaded_stamp(args, workdir, name, spec)[0].unlink(missing_ok=True)
            started = time.perf_counter()
            report = Ingester(store).run(generated.ingest_paths)
            ingest_s = time.perf_counter() - started
            bad = [f"{s.path} ({s.status}): {s.error}" for s in report.sources if s.status not in ("ingested", "unchanged")]
            log(f"{preset}: ingested in {ingest_s:.1f} s ({len(report.sources)} sources, {len(bad)} not clean)")
            for problem in bad[:10]:
                log(f"{preset}: not clean: {problem}")
            record_load(args, workdir, name, spec, ingest_s)
        result = evaluate(store, generated.labels, diagnosis_preset(args.diagnosis_preset))
    finally:
        store.close()
    if args.misses:
        write_misses(args.misses, f"{preset}, seed {args.seed}, {args.services} services", result.misses)
    kinds = sorted({label["cause"]["kind"] for label in generated.labels})
    return {
        "preset": preset, "services": args.services, "scenarios": args.scenarios, "events": spec.background_events,
        "backend": args.backend, "seed": args.seed, "latency_target": args.latency, "ingest_s": ingest_s,
        "diagnosis_preset": args.diagnosis_preset,
        "ingest_problems": bad, "fix_source": FIX_SOURCE,
        "summary": {m: result.summary(m).as_json() for m in result.methods},
        "by_confounder": _grouped(result, "confounder", [*CONFOUNDERS, *KIND_CONFOUNDERS]),
        "by_kind": _grouped(result, "kind", kinds), "per_scenario": result.top,
    }  # fmt: skip


def machine(args: argparse.Namespace) -> list[str]:
    load = os.getloadavg() if hasattr(os, "getloadavg") else (0.0, 0.0, 0.0)
    return [f"- {platform.machine()}, {os.cpu_count()} CPU cores, Python {platform.python_version()}, "
            f"{platform.system()} {platform.release()}; load average {load[0]:.1f} at the end (shared machine)"]


def reproduce(runs: list[dict[str, Any]]) -> list[str]:
    lines = []
    for run in runs:
        flags = f"--preset {run['preset']} --services {run['services']} --scenarios {run['scenarios']} --seed {run['seed']}"
        flags += f" --events {run['events']}" + (" --latency" if run.get("latency_target") else "")
        flags += f" --backend {run['backend']}" if run["backend"] != "sqlite" else ""
        diagnosis = run.get("diagnosis_preset", "default")
        flags += f" --diagnosis-preset {diagnosis}" if diagnosis != "default" else ""
        lines.append(f".venv/bin/python -m bench.rca.run {flags}")
    return list(dict.fromkeys(lines))


def print_run(run: dict[str, Any]) -> None:
    print(f"\n## {run['preset']} ({run['services']} services, {run['scenarios']} scenarios, {run['backend']})")
    print("\n".join(results_table(run)))
    if not run.get("latency_target"):
        print("\n".join(breakdown_table(run)))


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    check_reuse(args)
    presets = list(PRESETS) if args.preset == "all" else [] if args.preset == "none" else [args.preset]
    runs: list[dict[str, Any]] = []
    for path in args.merge:
        runs += json.loads(path.read_text(encoding="utf-8"))["runs"]
    with tempfile.TemporaryDirectory(prefix="vidya-rca-") as tmp:
        workdir = args.workdir or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        with stores(args, workdir) if presets else _nothing() as fresh:
            for name in presets:
                run = run_one(args, name, workdir, fresh)
                print_run(run)
                runs.append(run)
    print("\n" + "\n".join(targets_table(runs)))
    if args.json:
        args.json.write_text(json.dumps({"runs": runs}, indent=1), encoding="utf-8")
    if not args.no_write:
        write_section(args.out, section(runs, machine(args), reproduce(runs), args.note))
        log(f"wrote the rca section of {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
