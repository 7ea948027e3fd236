"""The Neo4j server a benchmark runs against: a given URI, or a dev server started for the run.

The dev server (``tools/neo4j-dev``) keeps Neo4j's defaults but for the page cache, the JVM
options the benchmark passes and a small transaction log. A production server would size
``server.memory.pagecache.size`` to hold the store, give the heap room for the write
transactions (10,000-record chunks), keep the default query plan cache
(``server.db.query_cache_size``: the backend sends a fixed set of short statements, a few per
relationship type) and leave checkpointing and log retention to its backup policy.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
import tempfile
from pathlib import Path
from types import ModuleType, TracebackType
from typing import Any

import neo4j

ROOT = Path(__file__).resolve().parents[1]
LAUNCHER = ROOT / "tools" / "neo4j-dev" / "neo4j_dev.py"
# relationships first: a hub node's DETACH DELETE in one inner transaction can outgrow the memory pool
WIPE = (
    "MATCH ()-[r]->() CALL (r) { DELETE r } IN TRANSACTIONS OF 10000 ROWS",
    "MATCH (n) CALL (n) { DELETE n } IN TRANSACTIONS OF 10000 ROWS",
)


def load_launcher() -> ModuleType:
    """``tools/neo4j-dev/neo4j_dev.py`` as a module (its folder name is not importable)."""
    spec = importlib.util.spec_from_file_location("neo4j_dev", LAUNCHER)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["neo4j_dev"] = module
    spec.loader.exec_module(module)
    return module


def wipe(uri: str) -> None:
    """Delete every node and relationship (indexes and constraints stay)."""
    with neo4j.GraphDatabase.driver(uri, auth=None) as driver, driver.session() as session:
        # CALL ... IN TRANSACTIONS needs an auto-commit transaction, hence session.run
        for statement in WIPE:
            session.run(statement).consume()


def server_rss_mib(pid: int | None) -> float | None:
    """Peak resident set size (VmHWM) of a local process, or None."""
    if pid is None:
        return None
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def process_cpu_seconds(pid: int | None) -> float | None:
    """User plus system CPU time of a local process so far, or None."""
    if pid is None:
        return None
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Neo4jServer:
    """``with Neo4jServer(uri, ...) as s: s.uri``; starts and stops a dev server when ``uri`` is None."""

    def __init__(self, uri: str | None, page_cache_mb: int, jvm_opts: list[str]) -> None:
        self.uri = uri or ""
        self.page_cache_mb = page_cache_mb
        self.jvm_opts = jvm_opts
        self.pid: int | None = None
        self.store_dir: Path | None = None
        self._proc: Any = None
        self._launcher: ModuleType | None = None
        self._home: Path | None = None

    def __enter__(self) -> Neo4jServer:
        if self.uri:
            return self
        self._launcher = launcher = load_launcher()
        launcher.build()
        self._home = Path(tempfile.mkdtemp(prefix="vidya-bench-neo4j-"))
        port = launcher.free_port()
        self._proc = launcher.start(
            port,
            self._home / "home",
            self._home / "neo4j.log",
            jvm_opts=self.jvm_opts,
            page_cache_mb=self.page_cache_mb,
        )
        try:
            launcher.wait_ready(port, self._proc, timeout=300)
        except BaseException:
            self.__exit__(None, None, None)
            raise
        self.uri, self.pid = launcher.bolt_uri(port), self._proc.pid
        self.store_dir = self._home / "home" / "data" / "databases" / "neo4j"
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if self._proc is not None and self._launcher is not None:
            self._launcher.stop(self._proc, timeout=60)
            self._proc = None
        if self._home is not None:
            shutil.rmtree(self._home, ignore_errors=True)
            self._home = None

    def cpu_seconds(self) -> float | None:
        return process_cpu_seconds(self.pid)

    def describe(self) -> str:
        with neo4j.GraphDatabase.driver(self.uri, auth=None) as driver:
            records, _, _ = driver.execute_query("CALL dbms.components() YIELD versions, edition RETURN *")
        version = f"{records[0]['versions'][0]} {records[0]['edition']}" if records else "unknown version"
        if self._proc is None:
            return f"{version} at {self.uri} (given; settings not controlled by the benchmark)"
        return (
            f"{version}, embedded dev server (`tools/neo4j-dev`) on the same machine, Bolt on localhost, "
            f"page cache {self.page_cache_mb} MiB, JVM `{' '.join(self.jvm_opts)}`"
        )
