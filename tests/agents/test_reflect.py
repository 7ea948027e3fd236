"""Reflect: tier moves proposed from outcome records, as a diff of the policy file that is never applied."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import yaml

from agents.memory import load_records, proposals, record_outcome, reflect
from agents.memory_records import FeedbackRecord
from agents.memory_reflect import edit_policy_text
from agents.policy import load_policy, parse_policy
from graph.errors import ConfigError
from graph.factory import GraphConfig, open_store
from graph.model import Edge, Node
from graph.schema import NodeLabel, RelType
from graph.store import GraphStore
from tests.agents.helpers import PROV, T, shop, svc

POLICY = """\
# Test policy: two tiers and a comment that must survive.
version: 3   # bumped on every accepted change

tiers:
  # quick fixes
  - name: auto
    max_blast_radius: single_pod
    min_confidence: 0.9
    actions: [restart_pod, rollback_deploy]
    approval: none
    cooldown: 30m
  - name: review
    max_blast_radius: single_service
    min_confidence: 0.7
    actions: [restart_pod, rollback_deploy, scale_up, failover]
    approval: async_human
    cooldown: 1h
  - name: live
    max_blast_radius: multi_service
    min_confidence: 0.5
    actions: [restart_pod, rollback_deploy, scale_up, failover]
    approval: sync_human
    cooldown: 2h

# overrides per signature
signatures: {}   # none yet
"""
CHECKOUT = "CheckoutHighLatency@service:default/checkout"


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[GraphStore]:
    store = open_store(GraphConfig(sqlite_path=tmp_path / "graph.db"))
    try:
        yield store
    finally:
        store.close()


@pytest.fixture
def policy_file(tmp_path: Path) -> Path:
    path = tmp_path / "policy.yaml"
    path.write_text(POLICY, encoding="utf-8")
    return path


def _records(sig: str, action: str, resolved: int, failed: int) -> list[FeedbackRecord]:
    return [FeedbackRecord(sig, f"incident:{action}-{i}", action, "resolved" if i < resolved else "failed",
                           "ingested", T) for i in range(resolved + failed)]


def _anomalies(store: GraphStore, n: int, signal: str = "CheckoutHighLatency") -> list[str]:
    """``n`` anomalies on checkout, one a day, as a diagnosis saves them."""
    nodes, edges = [], []
    for i in range(n):
        id_ = f"anomaly:default/checkout@day-{i}"
        nodes.append(Node(id_, NodeLabel.ANOMALY, PROV, name=f"{signal} on checkout",
                          props={"entity": svc("checkout"), "signal": signal}, at=T + timedelta(days=i)))
        edges.append(Edge(RelType.AFFECTS, id_, svc("checkout"), PROV))
    with store.batch() as batch:
        batch.upsert_nodes(nodes)
        batch.upsert_edges(edges)
    return [n.id for n in nodes]


def test_reflect_proposes_a_tier_down_from_recorded_outcomes_and_never_writes(
    graph_store: GraphStore, policy_file: Path
) -> None:
    shop().write(graph_store)
    for i, anomaly in enumerate(_anomalies(graph_store, 10)):
        record_outcome(graph_store, anomaly, "scale_up", "resolved", actor="alice",
                       at=T + timedelta(days=i, minutes=20))
    before = policy_file.read_bytes(), policy_file.stat().st_mtime_ns
    diff = reflect(graph_store, policy_file)
    assert (policy_file.read_bytes(), policy_file.stat().st_mtime_ns) == before
    blank = " "  # an unchanged empty line of the diff
    assert diff.splitlines() == [
        "--- a/policy.yaml",
        "+++ b/policy.yaml",
        "@@ -1,5 +1,5 @@",
        " # Test policy: two tiers and a comment that must survive.",
        "-version: 3   # bumped on every accepted change",
        "+version: 4   # bumped on every accepted change",
        blank,
        " tiers:",
        "   # quick fixes",
        "@@ -23,4 +23,6 @@",
        "     cooldown: 2h",
        blank,
        " # overrides per signature",
        "-signatures: {}   # none yet",
        "+signatures:  # none yet",
        '+  "CheckoutHighLatency@service:default/checkout":',
        "+    scale_up: auto  # reflect: 10/10 resolved (95% CI 72%-100%); was review",
    ]
    assert reflect(graph_store, policy_file, min_uses=11) == ""


def _apply(text: str, records: list[FeedbackRecord], **kwargs: float) -> str:
    found = proposals(parse_policy(yaml.safe_load(text), "test"), records, **kwargs)  # type: ignore[arg-type]
    return edit_policy_text(text, found)


def test_the_proposed_policy_loads_and_keeps_every_comment(tmp_path: Path) -> None:
    records = _records(CHECKOUT, "rollback_deploy", 5, 0) + _records(CHECKOUT, "restart_pod", 1, 5)
    records += _records("CheckoutHighLatency@service:default/cart", "failover", 9, 1)
    records += _records("CheckoutHighLatency@service:default/web", "failover", 10, 0)
    edited = _apply(POLICY, records, min_uses=5)
    proposed = tmp_path / "proposed.yaml"
    proposed.write_text(edited, encoding="utf-8")
    policy = load_policy(proposed)
    assert policy.version == 4
    assert {k: dict(v) for k, v in policy.signatures.items()} == {
        CHECKOUT: {"restart_pod": "review"},  # 1/6: one tier up from auto
        "CheckoutHighLatency@*": {"failover": "auto"},  # 19/20 over two entities, down from review
        "CheckoutHighLatency@service:default/cart": {"failover": "auto"},  # 9/10 is 90%
        "CheckoutHighLatency@service:default/web": {"failover": "auto"},
    }  # rollback_deploy (5/5) is already in the first tier: nowhere lower to go
    for line in POLICY.splitlines():
        if line.lstrip().startswith("#"):
            assert line in edited.splitlines()


def test_an_existing_block_is_edited_in_place(tmp_path: Path) -> None:
    text = POLICY.replace("signatures: {}   # none yet\n", f"""signatures:
  # reviewed in October
  "{CHECKOUT}":
    restart_pod: auto   # fine so far
  "OtherAlert@service:default/web": {{failover: live}}
footer: none
""").replace("footer: none\n", "")
    records = _records(CHECKOUT, "restart_pod", 0, 5) + _records(CHECKOUT, "rollback_deploy", 0, 5)
    records += _records("OtherAlert@service:default/web", "scale_up", 10, 0)
    edited = _apply(text, records)
    assert "  # reviewed in October" in edited
    data = yaml.safe_load(edited)
    assert data["signatures"] == {
        CHECKOUT: {"restart_pod": "review", "rollback_deploy": "review"},
        "OtherAlert@service:default/web": {"failover": "live", "scale_up": "auto"},
    }
    assert data["version"] == 4
    # applying the same records to the result moves them one tier further, and bumps again
    again = yaml.safe_load(_apply(edited, records))
    assert again["signatures"][CHECKOUT] == {"restart_pod": "live", "rollback_deploy": "live"}
    assert again["version"] == 5


def test_records_below_the_thresholds_propose_nothing(sqlite_store: GraphStore, policy_file: Path) -> None:
    records = _records(CHECKOUT, "scale_up", 8, 1) + _records(CHECKOUT, "failover", 2, 2)
    records += _records("unknown@service:default/checkout", "scale_up", 20, 0)  # no signal: no signature to key
    assert reflect(sqlite_store, policy_file, records=records) == ""
    assert load_records(sqlite_store) == [] and reflect(sqlite_store, policy_file) == ""


def test_a_bad_policy_file_is_named(sqlite_store: GraphStore, tmp_path: Path) -> None:
    missing = tmp_path / "missing.yaml"
    with pytest.raises(ConfigError, match=r"missing\.yaml"):
        reflect(sqlite_store, missing, records=[])
    broken = tmp_path / "broken.yaml"
    broken.write_text(POLICY.replace("version: 3", "version: three"), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"broken\.yaml: version"):
        reflect(sqlite_store, broken, records=[])
