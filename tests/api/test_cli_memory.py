"""``vidya outcome``, ``vidya recall`` and ``vidya reflect`` on the demo estate, run as a user runs them."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from api.ingestion.pipeline import Ingester
from api.settings import Settings
from graph.factory import open_store

ROOT = Path(__file__).resolve().parents[2]
ESTATE = ROOT / "examples" / "estate"
FOLDERS = ("catalog", "events", "alerts", "incidents", "postmortems")
DEFAULT_POLICY = ROOT / "agents" / "policies" / "default.yaml"

pytestmark = pytest.mark.slow


def vidya(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIDYA_")}
    argv = [sys.executable, "-m", "api.cli", *args, "--home", str(home)]
    return subprocess.run(argv, capture_output=True, text=True, env=env, cwd=ROOT, timeout=300)


def as_json(*args: str, home: Path) -> Any:
    result = vidya(*args, "--json", home=home)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data directory holding the estate's graph (no vectors: recall does not read them)."""
    path = tmp_path_factory.mktemp("memory-cli") / "home"
    path.mkdir()
    store = open_store(Settings(home=path).graph_config())
    try:
        report = Ingester(store).run([ESTATE / f for f in FOLDERS])
    finally:
        store.close()
    assert report.ok, [s.error for s in report.sources if s.error]
    return path


RECALL = ("recall", "--service", "checkout", "--signal", "CheckoutHighLatency")


def test_recall_ranks_the_same_cause_first_with_the_diagnosis_as_hint(home: Path) -> None:
    found = as_json(*RECALL, "--at", "2026-11-03T11:18:31Z", "--k", "10", home=home)
    assert found["cause_hint"] == {"kind": "config", "entity": "service:default/pricing"}
    cases = found["cases"]
    assert cases[0]["id"] == "incident:PQJHZ2U" and cases[0]["relation"] == "match"
    lookalikes = [c for c in cases if c["relation"] == "lookalike"]
    assert lookalikes and cases[-len(lookalikes):] == lookalikes
    assert all(c["reason"].startswith("caused by ") for c in lookalikes)
    for stats in found["actions"]:
        low, high = stats["ci95"]
        assert 0 <= low <= (stats["success_rate"] or 0) <= high <= 1
    readable = vidya(*RECALL, "--at", "2026-11-03T11:18:31Z", home=home)
    assert readable.returncode == 0, readable.stderr
    assert "What worked" in readable.stdout and "lookalike" in readable.stdout


def test_a_recorded_outcome_changes_what_recall_reports(home: Path) -> None:
    at = "2026-11-19T09:00:00Z"
    diagnosis = as_json("diagnose", "--service", "checkout", "--signal", "CheckoutHighLatency", "--at", at, home=home)
    later = ("--no-diagnose", "--k", "50")  # now: the outcome is recorded at the present time
    before = as_json(*RECALL, *later, home=home)
    record = as_json("outcome", diagnosis["diagnosis_id"], "--action", "revert_config", "--result", "failed",
                     "--target", "pricing", "--ttr", "25m", "--side-effects", "stale prices for 5 min",
                     "--by", "alice", home=home)
    assert record["case"] == diagnosis["anomaly"]["id"] and record["target"] == "service:default/pricing"
    assert record["time_to_resolve_minutes"] == 25.0 and record["source"] == "recorded"
    after = as_json(*RECALL, *later, home=home)
    assert after["cases"][0]["id"] == diagnosis["anomaly"]["id"]  # the most similar and most recent case

    def uses(found: Any) -> tuple[int, int]:
        stats = next((s for s in found["actions"] if s["action"] == "revert_config"), None)
        return (stats["successes"], stats["uses"]) if stats else (0, 0)

    successes, count = uses(before)
    assert uses(after) == (successes, count + 1)


def test_reflect_proposes_a_diff_and_writes_it_elsewhere_only(home: Path, tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    shutil.copyfile(DEFAULT_POLICY, policy)
    original = policy.read_bytes()
    out = tmp_path / "proposal.diff"
    result = as_json("reflect", "--policy", str(policy), "--min-uses", "1", "--min-success", "0.9",
                     "--write", str(out), home=home)
    assert result["proposals"] and result["diff"].startswith("--- a/policy.yaml")
    assert out.read_text(encoding="utf-8") == result["diff"]
    assert policy.read_bytes() == original
    assert all(p["direction"] == "down" for p in result["proposals"] if p["successes"] == p["uses"])
    refused = vidya("reflect", "--policy", str(policy), "--write", str(policy), home=home)
    assert refused.returncode == 1 and refused.stderr.count("\n") == 1 and "never changes the policy" in refused.stderr
    assert policy.read_bytes() == original
    nothing = vidya("reflect", "--policy", str(policy), home=home)
    assert nothing.returncode == 0 and "No change proposed" in nothing.stdout


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (("outcome", "diagnosis:nope", "--action", "rollback_deploy", "--result", "resolved"), 1, "diagnosis:nope"),
        (("outcome", "diagnosis:nope", "--action", "reboot", "--result", "resolved"), 2, "--action"),
        (("outcome", "diagnosis:nope", "--action", "rollback_deploy", "--result", "resolved", "--ttr", "soon"), 1,
         "--ttr 'soon'"),
        (("recall", "--signal", "CheckoutHighLatency"), 2, "--alert FILE or --service S"),
        (("recall", "--service", "nowhere"), 1, "--service 'nowhere'"),
    ],
)
def test_bad_input_is_one_line_and_a_non_zero_exit(home: Path, args: tuple[str, ...], code: int, message: str) -> None:
    result = vidya(*args, home=home)
    assert result.returncode == code
    assert message in result.stderr
    if code == 1:
        assert result.stderr.count("\n") == 1 and result.stderr.startswith("error:")
