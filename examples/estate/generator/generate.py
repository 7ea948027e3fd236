"""Generate Larkspur, the demo estate ``vidya demo`` loads: catalog, events, alerts, incidents, docs, provenance.

Usage::

    python examples/estate/generator/generate.py          # rewrites the generated folders under examples/estate/

The output is deterministic: every random choice comes from a seeded, named stream
(``gen_common.rng``) and no wall-clock time is read, so re-running reproduces the committed
files byte for byte. The git repository behind the SLSA provenance is built in a temporary
directory by ``make_git_repo.py`` first, so the statements name its real commit shas.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

GENERATOR = Path(__file__).resolve().parent
HERE = GENERATOR.parent  # the estate: generated folders and README.md
sys.path.insert(0, str(GENERATOR))

from gen_alertdefs import ALERTS  # noqa: E402
from gen_alerts import decoy_firings, noise_firings, write_alerts  # noqa: E402
from gen_catalog import write_catalog  # noqa: E402
from gen_cdevents import write_events  # noqa: E402
from gen_changes import build_changes  # noqa: E402
from gen_common import Writer  # noqa: E402
from gen_incidents import build_facts, write_incidents  # noqa: E402
from gen_postmortems import write_postmortems  # noqa: E402
from gen_provenance import write_provenance  # noqa: E402
from gen_readme import write_readme  # noqa: E402
from gen_runbooks import write_runbooks  # noqa: E402
from gen_scenarios import all_scenarios  # noqa: E402
from gen_topology import BY_NAME, reaches  # noqa: E402
from make_git_repo import build as build_git_repo  # noqa: E402

GENERATED = ("catalog", "events", "alerts", "incidents", "postmortems", "runbooks", "provenance")


def check_scenarios() -> None:
    """Each symptom must sit on something that depends on what changed or failed."""
    for s in all_scenarios():
        assert s.symptom in BY_NAME and s.target in BY_NAME, s.key
        if s.kind != "traffic":
            assert reaches(s.symptom, s.target), f"{s.key}: {s.symptom} does not depend on {s.target}"
        assert 1 <= s.delay <= 25, f"{s.key}: delay {s.delay} outside 1-25 minutes"
        assert s.alert in ALERTS and all(name in ALERTS for _, name, _, _ in s.more_alerts), s.key


def check_runbook_links(root: Path) -> None:
    for name, d in ALERTS.items():
        if d.runbook:
            assert (root / "runbooks" / d.runbook).exists(), f"{name}: runbook {d.runbook} not written"


def generate(root: Path) -> Writer:
    check_scenarios()
    with tempfile.TemporaryDirectory() as tmp:
        releases = build_git_repo(Path(tmp) / "commerce")
    for folder in GENERATED:
        shutil.rmtree(root / folder, ignore_errors=True)
    w = Writer(root)
    write_catalog(w)
    changes = build_changes(releases)
    write_events(w, changes)
    facts = build_facts(changes)
    firings = [x for f in facts for x in f.firings] + noise_firings() + decoy_firings()
    write_alerts(w, firings)
    write_incidents(w, facts)
    write_postmortems(w, facts)
    write_runbooks(w)
    write_provenance(w, releases)
    write_readme(w, facts, releases, changes)
    check_runbook_links(root)
    return w


def main() -> int:
    w = generate(HERE)
    sizes: dict[str, list[int]] = {}
    for path in w.written:
        top = path.relative_to(HERE).parts[0]
        sizes.setdefault(top, []).append(path.stat().st_size)
    for top, items in sorted(sizes.items()):
        print(f"{top:<14} {len(items):>4} files {sum(items) / 1024:>9.1f} KiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
