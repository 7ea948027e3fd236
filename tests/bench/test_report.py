"""The reproduce line a benchmark writes into docs/benchmarks.md."""

from __future__ import annotations

from bench.report import command_line


def test_the_reproduce_line_keeps_the_run_s_options_and_drops_local_file_paths() -> None:
    argv = ["--sizes", "medium", "--json", "/tmp/run.json", "--merge=/tmp/a.json", "--out", "x.md",
            "--workdir", "/tmp/w", "--profile", "", "--samples", "100"]
    assert command_line("bench/graph.py", argv) == (
        ".venv/bin/python bench/graph.py --sizes medium --profile '' --samples 100"
    )
