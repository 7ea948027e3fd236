"""Training data for the fitted scoring weights: labelled scenarios, ingested once, diagnosed with given weights.

Each estate (preset, services, seed) is generated and ingested into its own
SQLite file under a cache folder, once; every later call re-diagnoses the
stored scenarios (blind, their own incident excluded, nothing saved) and
returns, per scenario, every candidate's factors and which candidate is the
labelled cause::

    >>> rows = scenario_rows(Estate("hard", 50, 100), Path("/tmp/rca-fit"), Weights())
    >>> rows[0].truth_index, rows[0].candidates[0].factors[0].name
    (0, 'prior')
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agents.config import DiagnosisConfig, Weights
from agents.diagnosis import diagnose
from agents.records import Anomaly, Candidate
from api.ingestion.pipeline import Ingester
from bench.rca.evaluate import parse_time
from bench.rca.generator import GenSpec, generate
from graph.factory import GraphConfig, open_store
from graph.store import GraphStore


@dataclass(frozen=True)
class Estate:
    """One generated estate: a preset, its size and its seed (40 scenarios, default background)."""

    preset: str
    services: int
    seed: int
    scenarios: int = 40

    @property
    def name(self) -> str:
        return f"{self.preset}-{self.services}-s{self.seed}"


@dataclass
class Row:
    """One diagnosed scenario: its candidates (best first, ``unknown`` included) and the truth's index."""

    estate: str
    scenario: int
    candidates: list[Candidate]
    truth_index: int | None


def open_estate(estate: Estate, cache: Path) -> tuple[GraphStore, list[dict[str, Any]]]:
    """The estate's store and labels, generated and ingested on first use."""
    root = cache / estate.name
    db = cache / f"{estate.name}.db"
    done = cache / f"{estate.name}.ingested"
    if not done.exists():
        db.unlink(missing_ok=True)
        spec = GenSpec(services=estate.services, scenarios=estate.scenarios, preset=estate.preset, seed=estate.seed)
        generated = generate(spec, root)
        store = open_store(GraphConfig(sqlite_path=db))
        started = time.perf_counter()
        Ingester(store).run(generated.ingest_paths)
        store.close()
        done.write_text(f"{time.perf_counter() - started:.1f}\n", encoding="utf-8")
    labels = [json.loads(line) for line in (root / "labels.jsonl").read_text(encoding="utf-8").splitlines() if line]
    return open_store(GraphConfig(sqlite_path=db)), labels


def scenario_rows(estate: Estate, cache: Path, weights: Weights) -> list[Row]:
    """Diagnose every scenario of ``estate`` with ``weights`` (blind, not saved)."""
    store, labels = open_estate(estate, cache)
    config = DiagnosisConfig(weights=weights)
    rows = []
    try:
        for label in labels:
            anomaly = Anomaly(label["paging_service"], parse_time(label["detected_at"]), signal=label["signal"],
                              alert_id=label["alert_id"])
            diagnosis = diagnose(store, anomaly, config, exclude={label["incident_id"]}, save=False)
            ids = [c.node_id for c in diagnosis.candidates]
            truth = label["cause"]["node_id"]
            rows.append(Row(estate.name, label["scenario"], diagnosis.candidates,
                            ids.index(truth) if truth in ids else None))
    finally:
        store.close()
    return rows
