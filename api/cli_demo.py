"""``vidya demo``: load the bundled Larkspur estate and show what it holds."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import click

from api.cli_common import Invocation, vidya_command
from api.cli_ingest import ingest_with_progress
from api.output import console, counts_table, emit, err_console
from graph.errors import NotFound

REPO_ROOT = Path(__file__).resolve().parents[1]
ESTATE = REPO_ROOT / "examples" / "estate"
#: the data folders of the estate (its README and generator are not data)
ESTATE_FOLDERS = ("catalog", "events", "alerts", "incidents", "postmortems", "runbooks", "provenance")
GIT_REPO_SCRIPT = ESTATE / "generator" / "make_git_repo.py"


def _git_repo(home: Path) -> Path | None:
    """Build the estate's git repository under the data dir (once); ``None`` if git is missing."""
    target = home / "demo" / "commerce"  # the name its SLSA statements give the repository
    if (target / ".git").exists():
        return target
    if shutil.which("git") is None:
        err_console.print("[yellow]git is not installed: the demo's code provenance is skipped[/]")
        return None
    if target.exists():
        shutil.rmtree(target)
    subprocess.run([sys.executable, str(GIT_REPO_SCRIPT), str(target)], check=True, capture_output=True, timeout=300)
    return target


@click.command()
@vidya_command
def demo(inv: Invocation) -> None:
    """Ingest the bundled demo estate (Larkspur, a fictional marketplace) and show what it loaded.

    Loads its Backstage catalog, 60 days of CDEvents, Alertmanager alerts, 32
    PagerDuty incidents with postmortems, runbooks, SLSA provenance and a small
    git repository. Running it again skips what is unchanged.

    Example: ``vidya demo --home /tmp/vidya-demo``.
    """
    missing = [f for f in ESTATE_FOLDERS if not (ESTATE / f).is_dir()]
    if missing:
        raise NotFound(f"the demo estate is incomplete in this installation: {ESTATE / missing[0]} is missing")
    paths = [ESTATE / f for f in ESTATE_FOLDERS]
    repo = _git_repo(inv.settings.home)
    if repo is not None:
        paths.append(repo)
    store = inv.graph()
    try:
        report = ingest_with_progress(inv, store, paths, None)
        counts = store.counts()
    finally:
        store.close()
    summary = {**report.as_json(), "graph": counts.as_json()}

    def render() -> None:
        by_status: dict[str, int] = {}
        for s in report.sources:
            by_status[s.status] = by_status.get(s.status, 0) + 1
        console.print(f"[bold]Larkspur demo estate[/] loaded into {inv.settings.home}: "
                      + ", ".join(f"{n} {k}" for k, n in sorted(by_status.items())))
        console.print(counts_table("Nodes", counts.nodes, "label"))
        console.print(counts_table("Relationships", counts.relationships, "type"))
        console.print("Try: [bold]vidya provenance req:PAY-163[/]  ·  [bold]vidya stats[/]")

    emit(inv.as_json, summary, render)
    if not report.ok:
        raise SystemExit(1)


COMMANDS = [demo]
