"""The ``vidya`` command line, run as a user runs it (a separate process)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import rdflib
from rdflib.compare import isomorphic

from graph.rdf import parse_rdf

ROOT = Path(__file__).resolve().parents[2]


#: settings the test session shares with every CLI run (the embedding cache: each text is embedded once)
SHARED_SETTINGS = ("VIDYA_EMBEDDING_CACHE_DIR",)


def vidya(
    *args: str, home: Path | None = None, env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("VIDYA_") or k in SHARED_SETTINGS}
    full_env.update(env or {})
    argv = [sys.executable, "-m", "api.cli", *args]
    if home is not None:
        argv += ["--home", str(home)]
    return subprocess.run(argv, capture_output=True, text=True, env=full_env, cwd=ROOT, timeout=timeout)


def test_help_lists_the_commands() -> None:
    result = vidya("--help")
    assert result.returncode == 0
    for command in ("stats", "export", "import", "demo", "schema"):
        assert command in result.stdout


def test_stats_of_an_empty_home_is_empty(tmp_path: Path) -> None:
    result = vidya("stats", "--json", home=tmp_path / "home")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"nodes": {}, "relationships": {}}


SAMPLE = ROOT / "examples" / "sample-graph.ttl"


def test_import_of_the_sample_graph_and_stats(tmp_path: Path) -> None:
    home = tmp_path / "home"
    loaded = vidya("import", str(SAMPLE), "--json", home=home)
    assert loaded.returncode == 0, loaded.stderr
    summary = json.loads(loaded.stdout)
    assert summary["created"] > 0
    stats = json.loads(vidya("stats", "--json", home=home).stdout)
    assert set(stats) == {"nodes", "relationships"}
    assert stats["nodes"]["Service"] == 7
    assert stats["relationships"]["DEPENDS_ON"] == 11
    assert stats == summary["graph"]
    again = json.loads(vidya("import", str(SAMPLE), "--json", home=home).stdout)
    assert again["created"] == 0 and again["updated"] == 0


@pytest.mark.parametrize("fmt,suffix", [("turtle", ".ttl"), ("jsonld", ".jsonld")])
def test_export_then_import_into_a_fresh_home_gives_the_same_graph(tmp_path: Path, fmt: str, suffix: str) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    assert vidya("import", str(SAMPLE), home=first).returncode == 0
    out = tmp_path / f"estate{suffix}"
    exported = vidya("export", "--format", fmt, "--out", str(out), home=first)
    assert exported.returncode == 0, exported.stderr
    parsed = parse_rdf(out.read_bytes(), fmt)  # type: ignore[arg-type]
    assert len(parsed) > 100
    imported = vidya("import", str(out), "--json", home=second)
    assert imported.returncode == 0, imported.stderr
    assert json.loads(vidya("stats", "--json", home=second).stdout) == json.loads(
        vidya("stats", "--json", home=first).stdout
    )
    again = tmp_path / f"again{suffix}"
    assert vidya("export", "--format", fmt, "--out", str(again), home=second).returncode == 0
    reparsed = parse_rdf(again.read_bytes(), fmt)  # type: ignore[arg-type]
    assert isomorphic(parsed, reparsed)


def test_export_to_stdout_is_turtle(tmp_path: Path) -> None:
    home = tmp_path / "home"
    vidya("import", str(SAMPLE), home=home)
    result = vidya("export", home=home)
    assert result.returncode == 0
    assert len(rdflib.Graph().parse(data=result.stdout, format="turtle")) > 0


def test_unknown_export_format_is_a_usage_error(tmp_path: Path) -> None:
    result = vidya("export", "--format", "xml", home=tmp_path)
    assert result.returncode == 2
    assert "xml" in result.stderr


def test_import_of_a_missing_file_names_it(tmp_path: Path) -> None:
    missing = tmp_path / "nope.ttl"
    result = vidya("import", str(missing), home=tmp_path / "home")
    assert result.returncode == 1
    assert str(missing) in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_import_of_garbage_is_one_line_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.ttl"
    bad.write_bytes(b"\x00\x01 this is not turtle <<<")
    result = vidya("import", str(bad), home=tmp_path / "home")
    assert result.returncode == 1
    assert "error:" in result.stderr and "Traceback" not in result.stderr


def test_import_with_unknown_suffix_lists_accepted_ones(tmp_path: Path) -> None:
    odd = tmp_path / "graph.xyz"
    odd.write_text("")
    result = vidya("import", str(odd), home=tmp_path / "home")
    assert result.returncode == 1
    assert ".ttl" in result.stderr


def test_unreachable_neo4j_names_the_uri(tmp_path: Path) -> None:
    uri = "bolt://127.0.0.1:9"
    result = vidya("stats", env={"VIDYA_GRAPH_BACKEND": "neo4j", "VIDYA_NEO4J_URI": uri}, home=tmp_path)
    assert result.returncode == 1
    assert uri in result.stderr and "Traceback" not in result.stderr


def test_invalid_setting_names_the_variable(tmp_path: Path) -> None:
    result = vidya("stats", env={"VIDYA_GRAPH_BACKEND": "oracle"}, home=tmp_path)
    assert result.returncode == 1
    assert "VIDYA_GRAPH_BACKEND" in result.stderr


@pytest.mark.neo4j
def test_import_and_stats_on_neo4j(neo4j_uri: str, tmp_path: Path) -> None:
    from tests.conftest import wipe_neo4j

    wipe_neo4j(neo4j_uri)
    env = {"VIDYA_GRAPH_BACKEND": "neo4j", "VIDYA_NEO4J_URI": neo4j_uri}
    assert vidya("import", str(SAMPLE), env=env, home=tmp_path).returncode == 0
    on_neo4j = json.loads(vidya("stats", "--json", env=env, home=tmp_path).stdout)
    sqlite_home = tmp_path / "sqlite"
    vidya("import", str(SAMPLE), home=sqlite_home)
    assert on_neo4j == json.loads(vidya("stats", "--json", home=sqlite_home).stdout)
