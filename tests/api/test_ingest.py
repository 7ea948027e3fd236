"""`vidya ingest` end to end: the estate, re-ingest, changed and bad input, a killed run, both backends."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from api.ingestion.pipeline import Ingester, ingest_paths
from graph.errors import VidyaError
from graph.model import Edge, Node
from graph.schema import NodeLabel, RelType
from graph.store import GraphStore
from ingest.records import ReadResult
from tests.api.test_cli import vidya

ROOT = Path(__file__).resolve().parents[2]
ESTATE = ROOT / "examples" / "estate"
DATA = ["catalog", "events", "alerts", "incidents", "postmortems", "runbooks", "provenance"]
BOOKKEEPING = {NodeLabel.INGEST_RUN, NodeLabel.SOURCE}


def snapshot(store: GraphStore) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    """The facts in a store, without run bookkeeping (run ids and times differ between runs)."""
    nodes = [
        (n.id, n.label, n.name, json.dumps(n.props, sort_keys=True), n.at, n.valid_from, n.valid_to, n.placeholder,
         n.retired_at is None, n.provenance.source)
        for n in store.iter_nodes(include_retired=True)
        if n.label not in BOOKKEEPING
    ]
    edges = [
        (e.id, e.type, e.src, e.dst, json.dumps(e.props, sort_keys=True), e.valid_from, e.retired_at is None,
         e.provenance.source)
        for e in store.iter_edges(include_retired=True)
        if e.type is not RelType.INGESTED_IN
    ]
    return sorted(nodes, key=repr), sorted(edges, key=repr)


def _copy_estate(tmp_path: Path, folders: list[str] = DATA) -> Path:
    target = tmp_path / "estate"
    for folder in folders:
        shutil.copytree(ESTATE / folder, target / folder)
    return target


def test_ingest_reports_every_source_with_paths_relative_to_the_path_given(tmp_path: Path) -> None:
    result = vidya("ingest", str(ESTATE / "catalog"), str(ESTATE / "runbooks"), "--json", home=tmp_path / "h")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert set(report) == {"run_id", "ok", "sources"} and report["ok"] is True
    paths = {s["path"]: s for s in report["sources"]}
    assert {"catalog-info.yaml", "resources.yaml", "checkout-high-latency.md", "card-processor-failover.pdf"} <= set(paths)
    assert paths["resources.yaml"]["type"] == "backstage" and paths["resources.yaml"]["nodes"] == 25
    assert paths["card-processor-failover.pdf"]["type"] == "documents"
    keys = {"path", "type", "status", "nodes", "edges", "documents", "error", "redactions"}
    assert all(set(s) == keys for s in report["sources"])


def test_second_run_skips_unchanged_sources_and_changes_nothing(tmp_path: Path, graph_store: GraphStore) -> None:
    estate = _copy_estate(tmp_path, ["catalog", "events", "alerts"])
    first = Ingester(graph_store).run([estate])
    assert first.ok and {s.status for s in first.sources} == {"ingested"}
    before = snapshot(graph_store)
    second = Ingester(graph_store).run([estate])
    assert {s.status for s in second.sources} == {"unchanged"}
    assert snapshot(graph_store) == before


def test_alerts_resolve_to_catalog_entities_by_labels_and_annotations(graph_store: GraphStore) -> None:
    Ingester(graph_store).run([ESTATE / "catalog", ESTATE / "alerts"])
    targets = {e.dst for e in graph_store.iter_edges() if e.type is RelType.AFFECTS}
    assert "service:default/checkout" in targets
    assert any(t.startswith("resource:") for t in targets), "instance labels should map to resources"
    placeholders = [n.id for n in graph_store.find_nodes(NodeLabel.SERVICE) if n.placeholder]
    assert placeholders == []


def test_changed_source_retires_what_it_no_longer_asserts(tmp_path: Path, graph_store: GraphStore, clock) -> None:  # type: ignore[no-untyped-def]
    catalog = tmp_path / "catalog"
    shutil.copytree(ESTATE / "catalog", catalog)
    Ingester(graph_store, clock=clock).run([catalog])
    deps = graph_store.incident_edges(["service:default/orders"], "out", [RelType.DEPENDS_ON])
    dropped = next(e for e in deps if e.dst.startswith("resource:"))
    name = dropped.dst.rsplit("/", 1)[1]
    source = catalog / dropped.provenance.source
    lines = source.read_text().splitlines()
    kept = [line for line in lines if line.strip() != f"- resource:default/{name}"]
    assert len(kept) < len(lines)
    source.write_text("\n".join(kept) + "\n")
    before_change = clock.now
    clock.advance(minutes=10)
    report = Ingester(graph_store, clock=clock).run([catalog])
    statuses = {s.path: s.status for s in report.sources}
    assert statuses[dropped.provenance.source] == "ingested"
    assert sum(1 for s in statuses.values() if s == "unchanged") == len(statuses) - 1
    now = graph_store.incident_edges(["service:default/orders"], "out", [RelType.DEPENDS_ON])
    assert dropped.dst not in [e.dst for e in now]
    then = graph_store.incident_edges(["service:default/orders"], "out", [RelType.DEPENDS_ON], as_of=before_change)
    assert dropped.dst in [e.dst for e in then]
    assert graph_store.get_node(dropped.dst).retired_at is None  # type: ignore[union-attr]  # only the edge went


def test_bad_sources_fail_alone_with_named_errors(tmp_path: Path) -> None:
    inputs = _copy_estate(tmp_path, ["catalog"])
    (inputs / "broken.yaml").write_text("apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: [unclosed\n")
    (inputs / "junk.bin").write_bytes(bytes(range(256)) * 4)
    (inputs / "empty.json").write_text("")
    (inputs / "huge.log").write_bytes(b"x" * (2 * 1024 * 1024))
    result = vidya("ingest", str(inputs), "--json", "--max-file-mb", "1", home=tmp_path / "h")
    assert result.returncode == 1
    report = json.loads(result.stdout)
    by_path = {s["path"]: s for s in report["sources"]}
    assert report["ok"] is False
    assert by_path["broken.yaml"]["status"] == "failed" and "broken.yaml: line" in by_path["broken.yaml"]["error"]
    assert by_path["junk.bin"]["status"] == "failed" and "junk.bin" in by_path["junk.bin"]["error"]
    assert by_path["empty.json"]["status"] == "failed"
    assert by_path["huge.log"]["status"] == "failed" and "limit" in by_path["huge.log"]["error"]
    assert by_path["catalog/resources.yaml"]["status"] == "ingested"
    assert "4 of" in result.stderr and result.stderr.count("\n") == 1
    stats = json.loads(vidya("stats", "--json", home=tmp_path / "h").stdout)
    assert stats["nodes"]["Resource"] == 25


def _sources_done(db: Path) -> int:
    try:
        with sqlite3.connect(db, timeout=1) as conn:
            row = conn.execute("SELECT count(*) FROM nodes WHERE label = 'Source'").fetchone()
            return int(row[0])
    except sqlite3.Error:
        return 0


def test_a_killed_ingest_then_rerun_equals_one_clean_run(tmp_path: Path) -> None:
    from graph.factory import GraphConfig, open_store

    estate = _copy_estate(tmp_path)
    killed_home, clean_home = tmp_path / "killed", tmp_path / "clean"
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIDYA_")}
    argv = [sys.executable, "-m", "api.cli", "ingest", str(estate), "--json", "--home", str(killed_home)]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, cwd=ROOT)
    deadline = time.monotonic() + 120
    while _sources_done(killed_home / "graph.db") < 15 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done_at_kill = _sources_done(killed_home / "graph.db")
    assert 0 < done_at_kill < 130, f"the kill should land part-way (sources done: {done_at_kill})"

    assert vidya("ingest", str(estate), home=killed_home).returncode == 0
    assert vidya("ingest", str(estate), home=clean_home).returncode == 0
    killed = open_store(GraphConfig(sqlite_path=killed_home / "graph.db"))
    clean = open_store(GraphConfig(sqlite_path=clean_home / "graph.db"))
    try:
        assert snapshot(killed) == snapshot(clean)
    finally:
        killed.close()
        clean.close()


def test_estate_ingests_alike_on_every_backend(graph_store: GraphStore) -> None:
    report = Ingester(graph_store).run([ESTATE / f for f in ("catalog", "events", "incidents", "postmortems")])
    assert report.ok, [s.error for s in report.sources if s.error]
    counts = graph_store.counts()
    assert counts.nodes["Service"] == 35 and counts.nodes["Incident"] == 32 and counts.nodes["Deployment"] == 534
    deploy_events = graph_store.events(
        [NodeLabel.DEPLOYMENT], datetime(2026, 11, 10, 13, 0, tzinfo=UTC), datetime(2026, 11, 10, 14, 5, tzinfo=UTC),
        ["service:default/payments"],
    )
    assert "deploy:66361f1c-e3f1-4af3-bfc4-4ecc92064364" in [e.node.id for e in deploy_events]
    causes = graph_store.incident_edges(["incident:P3Y0CJ6"], "out", [RelType.CAUSED_BY])
    assert "deploy:66361f1c-e3f1-4af3-bfc4-4ecc92064364" in [e.dst for e in causes]


def test_demo_loads_the_estate_and_walks_a_provenance_chain(tmp_path: Path) -> None:
    home = tmp_path / "demo"
    loaded = vidya("demo", "--json", home=home)
    assert loaded.returncode == 0, loaded.stderr
    summary = json.loads(loaded.stdout)
    assert summary["ok"] is True and summary["graph"]["nodes"]["Service"] == 35
    chain = json.loads(vidya("provenance", "artifact:sha256:dd2731a3ba3947fc0c96272467ed627af616388e95903ea20df80b5cd7953e82",
                             "--json", home=home).stdout)
    stages = {s["stage"]: [n["id"] for n in s["nodes"]] for s in chain["chain"]}
    assert "req:PAY-163" in stages["Requirement"]
    assert any(pr.endswith("#51") for pr in stages["PullRequest"])
    assert "deploy:66361f1c-e3f1-4af3-bfc4-4ecc92064364" in stages["Deployment"]
    assert "incident:P3Y0CJ6" in stages["Incident"]
    again = json.loads(vidya("demo", "--json", home=home).stdout)
    assert {s["status"] for s in again["sources"]} == {"unchanged"}


def test_provenance_of_an_unknown_node_is_a_one_line_error(tmp_path: Path) -> None:
    result = vidya("provenance", "deploy:nope", home=tmp_path)
    assert result.returncode == 1 and "deploy:nope" in result.stderr


@pytest.mark.parametrize("unused", [None])
def test_source_type_override_and_unknown_type(tmp_path: Path, unused: None) -> None:
    notes = tmp_path / "notes.dat"
    notes.write_text("# Restart checkout\n\nRun `kubectl rollout restart deploy/checkout`.\n")
    forced = vidya("ingest", str(notes), "--source-type", "documents", "--json", home=tmp_path / "h")
    assert forced.returncode == 0, forced.stderr
    assert json.loads(forced.stdout)["sources"][0]["type"] == "documents"
    unknown = vidya("ingest", str(notes), "--source-type", "nope", home=tmp_path / "h")
    assert unknown.returncode == 1 and "--source-type 'nope'" in unknown.stderr


SECRET = "Zq8vR2mXw7Lp"
RUNBOOK = f"""# Restart orders

Connect with `psql postgres://app:{SECRET}@orders-db:5432/orders` and check the pool.
"""


class RecordingSink:
    """Keeps what it is handed; ``fail_on`` makes it refuse one path like a broken index would."""

    def __init__(self, fail_on: str | None = None) -> None:
        self.written: dict[str, ReadResult] = {}
        self.closed = 0
        self.fail_on = fail_on

    def source_written(self, path: str, result: ReadResult) -> None:
        if path == self.fail_on:
            raise VidyaError("vector index is read-only")
        self.written[path] = result

    def source_retired(self, path: str) -> None:
        raise AssertionError(f"no deletion happened, yet {path} was retired")

    def close(self) -> None:
        self.closed += 1


def _hooks_estate(tmp_path: Path) -> Path:
    root = _copy_estate(tmp_path, ["catalog"])
    (root / "runbooks").mkdir()
    (root / "runbooks" / "restart-orders.md").write_text(RUNBOOK)
    return root


def test_secrets_are_redacted_before_the_graph_and_the_sinks_and_counted(tmp_path: Path, graph_store: GraphStore) -> None:
    sink = RecordingSink()
    report = ingest_paths(graph_store, [_hooks_estate(tmp_path)], sinks=[sink])
    assert report.ok and sink.closed == 1
    by_path = {s.path: s for s in report.sources}
    assert by_path["runbooks/restart-orders.md"].redactions == {"url-password": 1}
    assert by_path["runbooks/restart-orders.md"].as_json()["redactions"] == {"url-password": 1}
    assert by_path["catalog/resources.yaml"].as_json()["redactions"] == {}
    assert set(sink.written) == {s.path for s in report.sources}  # every written source, once
    handed = sink.written["runbooks/restart-orders.md"]
    text = " ".join(section.text for doc in handed.documents for section in doc.sections)
    assert "[REDACTED:url-password]" in text and SECRET not in text
    stored = [n for n in graph_store.iter_nodes() if SECRET in json.dumps(n.props) or SECRET in (n.name or "")]
    assert stored == []
    run = graph_store.get_node(f"run:{report.run_id}")
    assert run is not None and run.props["redactions"] == 1


def test_sinks_get_only_changed_sources_and_are_closed_every_run(tmp_path: Path, graph_store: GraphStore) -> None:
    estate = _hooks_estate(tmp_path)
    ingest_paths(graph_store, [estate], sinks=[RecordingSink()])
    (estate / "runbooks" / "restart-orders.md").write_text(RUNBOOK + "\nThen restart the pods.\n")
    sink = RecordingSink()
    report = ingest_paths(graph_store, [estate], sinks=[sink])
    assert [s.path for s in report.sources if s.status == "ingested"] == ["runbooks/restart-orders.md"]
    assert list(sink.written) == ["runbooks/restart-orders.md"] and sink.closed == 1


def test_a_failing_sink_marks_its_source_partial_and_the_ingest_goes_on(tmp_path: Path, graph_store: GraphStore) -> None:
    broken, healthy = RecordingSink(fail_on="catalog/resources.yaml"), RecordingSink()
    report = Ingester(graph_store, sinks=[broken, healthy]).run([_hooks_estate(tmp_path)])
    by_path = {s.path: s for s in report.sources}
    failed = by_path["catalog/resources.yaml"]
    assert failed.status == "partial" and not report.ok
    assert failed.error == (
        "indexing failed: vector index is read-only (the graph has it; `vidya doctor --repair` re-indexes)"
    )
    assert {s.status for p, s in by_path.items() if p != failed.path} == {"ingested"}
    assert "catalog/resources.yaml" in healthy.written  # the other sink still got it
    assert graph_store.counts().nodes["Resource"] == 25  # and so did the graph
    assert broken.closed == healthy.closed == 1


def test_sinks_are_closed_when_the_run_fails(tmp_path: Path, graph_store: GraphStore) -> None:
    class Interrupted(Exception):
        pass

    def stop(report: object) -> None:
        raise Interrupted

    sink = RecordingSink()
    with pytest.raises(Interrupted):
        Ingester(graph_store, sinks=[sink], on_source=stop).run([_hooks_estate(tmp_path)])
    assert sink.closed == 1


def test_reading_ahead_in_a_worker_gives_the_same_graph_and_report(tmp_path: Path) -> None:
    from graph.factory import GraphConfig, open_store

    estate = _copy_estate(tmp_path, ["catalog", "events", "alerts", "runbooks"])
    broken = '{"context": {"id": "x", "type": "dev.cdevents.service.deployed.0.2.0"}}\nnot json\n'
    (estate / "events" / "broken.jsonl").write_text(broken)
    outputs = []
    for ahead in (False, True):  # the worker only reads, so one backend shows the writes are the same
        store = open_store(GraphConfig(sqlite_path=tmp_path / f"ahead-{ahead}.db"))
        try:
            report = Ingester(store, read_ahead=ahead).run([estate])
            lines = [{**s.as_json(), "path": s.path} for s in report.sources]
            outputs.append((lines, snapshot(store)))
        finally:
            store.close()
    assert outputs[0] == outputs[1]
    assert any(line["status"] == "failed" and "broken.jsonl" in str(line["error"]) for line in outputs[0][0])


def _unused(node: Node, edge: Edge) -> None:  # keeps the imports honest for type checkers
    del node, edge


def test_read_ahead_worker_sends_the_records_a_local_read_builds() -> None:
    from api.ingestion.read_ahead import ReadAhead, ReadJob, read_file
    from ingest.records import ReadContext
    from ingest.registry import detect, readers
    from ingest.walker import LazySource, walk_lazy

    ctx = ReadContext(run_id="run-wire", ingested_at=datetime(2026, 3, 1, tzinfo=UTC))
    sources = [s for s in walk_lazy(ESTATE / "events") if isinstance(s, LazySource)]
    sources += [s for s in walk_lazy(ESTATE / "alerts") if isinstance(s, LazySource)]
    assert len(sources) >= 2
    with ReadAhead() as ahead:
        for source in sources:
            ahead.submit(ReadJob(source, detect(source.load(), readers()).name, ctx))  # type: ignore[arg-type]
        remote = [ahead.receive() for _ in sources]
    for source, got in zip(sources, remote, strict=True):
        file = source.load()
        local = read_file(file, detect(file, readers()), ctx)  # type: ignore[arg-type]
        assert got.result is not None and local.result is not None, got.error
        assert got.result == local.result
        assert [n.content_hash for n in got.result.nodes] == [n.content_hash for n in local.result.nodes]
        assert [(e.id, e.content_hash) for e in got.result.edges] == [(e.id, e.content_hash) for e in local.result.edges]
        assert got.digest == local.digest and got.redactions == local.redactions


def test_records_read_by_the_worker_arrive_as_the_reader_built_them() -> None:
    from api.ingestion import wire
    from api.ingestion.read_ahead import read_file
    from ingest.records import ReadContext, SourceFile
    from ingest.registry import detect, readers

    ctx = ReadContext(run_id="run-1", ingested_at=datetime(2026, 3, 1, tzinfo=UTC))
    for path in sorted((ESTATE / "events").iterdir())[:3] + sorted((ESTATE / "alerts").iterdir())[:1]:
        file = SourceFile(path.name, path.read_bytes(), path)
        sent = read_file(file, detect(file, readers()), ctx)
        got = wire.loads(wire.dumps(sent))
        assert sent.result is not None and got.result is not None and got.result == sent.result
        pairs: list[tuple[Node | Edge, Node | Edge]] = [*zip(sent.result.nodes, got.result.nodes, strict=True)]
        pairs += zip(sent.result.edges, got.result.edges, strict=True)
        for before, after in pairs:
            assert type(after) is type(before) and after.content_hash == before.content_hash
        assert [e.id for e in got.result.edges] == [e.id for e in sent.result.edges]
        with pytest.raises(AttributeError):
            got.result.nodes[0].name = "changed"  # still frozen


def _deploys(count: int, first: int = 0) -> str:
    """``count`` CDEvents deploys of a few services, one per line (every one a node and four edges)."""
    lines = []
    for n in range(first, first + count):
        event = {
            "context": {"version": "0.4.1", "id": f"deploy-{n:06d}", "source": "ci", "timestamp":
                        f"2026-03-{1 + n // 5000:02d}T{n // 240 % 20:02d}:{n // 4 % 60:02d}:{n % 4 * 15:02d}Z",
                        "type": "dev.cdevents.service.deployed.0.2.0"},
            "subject": {"id": f"svc-{n % 7}", "content": {"environment": {"id": ("production", "staging")[n % 2]},
                        "artifactId": f"pkg:oci/svc-{n % 7}@sha256%3A{n:064x}"}},
        }
        lines.append(json.dumps(event))
    return "\n".join(lines) + "\n"


def test_a_large_source_read_ahead_in_parts_gives_the_graph_and_report_of_a_whole_read(tmp_path: Path) -> None:
    from api.ingestion.parts import PART_NODES
    from graph.factory import GraphConfig, open_store

    fixed = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)  # retirement times equal in both stores

    estate = _copy_estate(tmp_path, ["catalog", "alerts"])
    big = estate / "events" / "big.jsonl"
    big.parent.mkdir()
    big.write_text(_deploys(PART_NODES // 2))  # a node and four or five edges per event: several parts
    outputs = []
    for ahead in (False, True):
        store = open_store(GraphConfig(sqlite_path=tmp_path / f"parts-{ahead}.db"), clock=lambda: fixed)
        try:
            runs = []
            for content in (_deploys(PART_NODES // 2), _deploys(PART_NODES // 2 - 100, 50)):
                big.write_text(content)  # then a changed file: what it no longer asserts is retired
                report = Ingester(store, read_ahead=ahead).run([estate])
                assert report.ok, [s.error for s in report.sources if s.error]
                runs.append([{**s.as_json(), "path": s.path} for s in report.sources])
            outputs.append((runs, snapshot(store)))
        finally:
            store.close()
    assert outputs[0] == outputs[1]
    nodes = outputs[1][1][0]
    retired = [n for n in nodes if str(n[0]).startswith("deploy:deploy-0000") and not n[8]]
    assert len(retired) == 50  # the first 50 deploys are gone from the changed file


def test_a_worker_lost_while_sending_parts_leaves_the_source_read_here_and_written_once(tmp_path: Path) -> None:
    import multiprocessing

    from api.ingestion.parts import PART_NODES
    from graph.factory import GraphConfig, open_store

    fixed = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
    estate = _copy_estate(tmp_path, ["catalog"])
    (estate / "events").mkdir()
    (estate / "events" / "big.jsonl").write_text(_deploys(PART_NODES))
    killed: list[str] = []

    def kill_worker(report: object) -> None:  # the big file is queued by the time the catalog is done
        for process in multiprocessing.active_children():
            if process.name == "vidya-read-ahead" and not killed:
                killed.append(getattr(report, "path", ""))
                process.kill()

    outputs = []
    for ahead, hook in ((False, None), (True, kill_worker)):
        store = open_store(GraphConfig(sqlite_path=tmp_path / f"lost-{ahead}.db"), clock=lambda: fixed)
        try:
            report = Ingester(store, read_ahead=ahead, on_source=hook).run([estate])
            outputs.append(([{**s.as_json(), "path": s.path} for s in report.sources], snapshot(store)))
        finally:
            store.close()
    assert killed, "the worker should have been running"
    assert outputs[0] == outputs[1]
    assert outputs[1][0][-1]["path"] == "events/big.jsonl" and outputs[1][0][-1]["status"] == "ingested"


def test_read_ahead_sends_a_large_source_in_parts_and_says_when_the_worker_is_lost(tmp_path: Path) -> None:
    import multiprocessing

    from api.ingestion.parts import PART_NODES
    from api.ingestion.read_ahead import ReadAhead, ReadJob, WorkerLost, read_file
    from ingest.records import ReadContext, SourceFile
    from ingest.registry import reader_named
    from ingest.walker import LazySource, walk_lazy

    (tmp_path / "big.jsonl").write_text(_deploys(PART_NODES * 3 // 2))  # three parts
    source = next(s for s in walk_lazy(tmp_path) if isinstance(s, LazySource))
    ctx = ReadContext(run_id="run-parts", ingested_at=datetime(2026, 3, 1, tzinfo=UTC))
    file = source.load()
    assert isinstance(file, SourceFile)
    local = read_file(file, reader_named("cdevents"), ctx)
    assert local.result is not None
    with ReadAhead() as ahead:
        ahead.submit(ReadJob(source, "cdevents", ctx))
        assert ahead.receive() == local  # the parts put back together
        ahead.submit(ReadJob(source, "cdevents", ctx))
        outcome, parts = ahead.receive_parts()
        assert parts is not None and outcome.result is None and outcome.parts > 2
        first = next(parts)
        assert len(first.nodes) == PART_NODES and first.nodes == local.result.nodes[:PART_NODES]
        for process in multiprocessing.active_children():
            if process.name == "vidya-read-ahead":
                process.kill()
        with pytest.raises(WorkerLost):
            list(parts)
        ahead.submit(ReadJob(source, "cdevents", ctx))
        assert ahead.receive() == local  # read here once the worker is gone


def test_every_edge_keeps_the_location_and_run_of_the_event_that_asserted_it(tmp_path: Path, graph_store: GraphStore) -> None:
    events = tmp_path / "events"
    events.mkdir()
    lines = (ESTATE / "events" / "deploys-2026-09.jsonl").read_text(encoding="utf-8").splitlines()[:40]
    (events / "a.jsonl").write_text("\n".join(lines[:20]) + "\n", encoding="utf-8")
    (events / "b.jsonl").write_text("\n".join(lines[20:]) + "\n", encoding="utf-8")
    report = Ingester(graph_store).run([events])

    where = {json.loads(line)["context"]["id"]: f"line {n}" for n, line in [*enumerate(lines[:20], 1), *enumerate(lines[20:], 1)]}
    file_of = {json.loads(line)["context"]["id"]: "a.jsonl" if i < 20 else "b.jsonl" for i, line in enumerate(lines)}
    deploy_edges = [e for e in graph_store.iter_edges() if e.src.startswith("deploy:")]
    for edge in deploy_edges:
        event = edge.src.removeprefix("deploy:")
        assert (edge.provenance.source, edge.provenance.location) == (file_of[event], where[event]), edge
        assert edge.provenance.run_id == report.run_id
    assert report.ok and len({e.src for e in deploy_edges}) == 40


def test_a_reader_is_found_from_its_module_alone_or_else_among_every_reader() -> None:
    from ingest.registry import reader_from

    assert reader_from("ingest.cdevents", "cdevents").name == "cdevents"
    assert reader_from("ingest.cdevents", "alertmanager").name == "alertmanager"  # not that module's reader
    assert reader_from("", "backstage").name == "backstage"
    with pytest.raises(VidyaError, match="unknown"):
        reader_from("ingest.cdevents", "no-such-reader")
