"""The remediation policy: the shipped default's tiers, the cascade, cooldowns, overrides and named errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from agents.policy import POLICY_ACTIONS, Approval, BlastRadius, Policy, PolicyDecision, load_policy, parse_policy
from graph.errors import ConfigError

NOW = datetime(2026, 10, 13, 3, 12, tzinfo=UTC)
TARGET = "service:default/checkout"


@pytest.fixture(scope="module")
def default() -> Policy:
    return load_policy()


def _decide(policy: Policy, action: str, confidence: float, radius: str, last: datetime | None = None,
            now: datetime = NOW, signature: str | None = None) -> PolicyDecision:
    return policy.decide(action, TARGET, confidence, radius, now, last, signature=signature)


@pytest.mark.parametrize(
    "action,confidence,radius,tier,approval",
    [
        ("restart_pod", 0.95, "single_pod", "auto", Approval.NONE),
        ("clear_cache", 0.9, "single_pod", "auto", Approval.NONE),
        ("restart_pod", 0.8, "single_pod", "review", Approval.ASYNC_HUMAN),  # the cascade: less sure, a human looks
        ("rollback_deploy", 0.75, "single_service", "review", Approval.ASYNC_HUMAN),
        ("disable_feature_flag", 0.95, "single_pod", "review", Approval.ASYNC_HUMAN),  # never automatic
        ("rollback_deploy", 0.75, "multi_service", "live", Approval.SYNC_HUMAN),
        ("rollback_deploy", 0.6, "single_service", "live", Approval.SYNC_HUMAN),
        ("failover", 0.99, "single_service", "live", Approval.SYNC_HUMAN),
        ("change_auth_config", 0.99, "single_pod", "live", Approval.SYNC_HUMAN),
        ("rollback_migration", 0.99, "single_service", "live", Approval.SYNC_HUMAN),
        ("restart_pod", 0.99, "platform_wide", "platform", Approval.SYNC_HUMAN),
    ],
)
def test_the_default_tiers(default: Policy, action: str, confidence: float, radius: str, tier: str,
                           approval: Approval) -> None:
    verdict = _decide(default, action, confidence, radius)
    assert (verdict.tier, verdict.approval, verdict.allowed) == (tier, approval, True)
    assert verdict.policy_version == default.version and f"tier {tier}" in verdict.reason


def test_every_action_is_covered_and_platform_wide_is_never_automatic(default: Policy) -> None:
    for action in POLICY_ACTIONS:
        for radius in BlastRadius:
            verdict = _decide(default, action, 1.0, str(radius))
            assert verdict.allowed, (action, radius, verdict.reason)
            if radius is BlastRadius.PLATFORM_WIDE or radius is BlastRadius.MULTI_SERVICE:
                assert verdict.approval is Approval.SYNC_HUMAN, (action, radius)


def test_low_confidence_blocks_with_a_reason(default: Policy) -> None:
    verdict = _decide(default, "rollback_deploy", 0.42, "single_service")
    assert not verdict.allowed and verdict.tier is None and verdict.approval is None
    assert verdict.reason == ("confidence too low: 0.42 is below the 0.50 that tier live needs for rollback_deploy "
                              "at blast radius single_service")
    platform = _decide(default, "failover", 0.6, "platform_wide")
    assert not platform.allowed and "0.70 that tier platform needs" in platform.reason


def test_an_action_no_tier_lists_or_a_radius_beyond_them_is_blocked() -> None:
    policy = parse_policy({"version": 2, "tiers": [{"name": "auto", "max_blast_radius": "single_service",
                                                    "min_confidence": 0.5, "actions": ["restart_pod"],
                                                    "approval": "none", "cooldown": "10m"}]}, "p.yaml")
    assert _decide(policy, "failover", 1.0, "single_pod").reason == "no tier of policy v2 allows failover"
    wide = _decide(policy, "restart_pod", 1.0, "multi_service")
    assert not wide.allowed and wide.reason.startswith("blast radius multi_service is beyond every tier")


def test_cooldown_blocks_then_expires(default: Policy) -> None:
    last = NOW - timedelta(minutes=10)
    blocked = _decide(default, "restart_pod", 0.95, "single_pod", last=last)
    assert not blocked.allowed and blocked.tier == "auto"
    assert blocked.cooldown_until == last + timedelta(minutes=30)
    assert blocked.reason.startswith("cooldown active: restart_pod ran on service:default/checkout at 2026-10-13 03:02")
    assert _decide(default, "restart_pod", 0.95, "single_pod", last=last, now=last + timedelta(minutes=30)).allowed
    # the cooldown is the tier's: the same action in the review tier rests an hour
    review = _decide(default, "restart_pod", 0.8, "single_pod", last=last, now=last + timedelta(minutes=45))
    assert not review.allowed and review.cooldown_until == last + timedelta(hours=1)


def test_signature_overrides_promote_an_action_within_the_tier_s_bounds() -> None:
    doc = yaml.safe_load((Path(load_policy().source)).read_text())
    doc["tiers"][0]["max_blast_radius"] = "single_service"
    doc["signatures"] = {"CheckoutHighLatency@service:default/checkout": {"rollback_deploy": "auto"},
                         "PaymentsErrorRate@*": {"revert_config": "auto"}}
    policy = parse_policy(doc, "override.yaml")
    exact = _decide(policy, "rollback_deploy", 0.95, "single_service", signature=f"CheckoutHighLatency@{TARGET}")
    assert (exact.tier, exact.approval) == ("auto", Approval.NONE)
    assert _decide(policy, "rollback_deploy", 0.95, "single_service", signature=f"Other@{TARGET}").tier == "review"
    coarse = _decide(policy, "revert_config", 0.95, "single_service", signature="PaymentsErrorRate@service:default/x")
    assert coarse.tier == "auto"
    # the override's own bounds still hold: below its confidence the cascade applies as usual
    assert _decide(policy, "rollback_deploy", 0.8, "single_service", signature=f"CheckoutHighLatency@{TARGET}").tier \
        == "review"


def test_decide_refuses_an_unknown_action_or_radius(default: Policy) -> None:
    with pytest.raises(ConfigError, match="'reboot_world': not in the action vocabulary"):
        _decide(default, "reboot_world", 1.0, "single_pod")
    with pytest.raises(ConfigError, match="unknown blast radius 'galaxy'"):
        _decide(default, "restart_pod", 1.0, "galaxy")


def _tier(**changes: object) -> dict[str, object]:
    tier: dict[str, object] = {"name": "review", "max_blast_radius": "single_service", "min_confidence": 0.7,
                               "actions": ["rollback_deploy"], "approval": "async_human", "cooldown": "1h"}
    tier.update(changes)
    return tier


FIRST = {"name": "auto", "max_blast_radius": "single_pod", "min_confidence": 0.9, "actions": ["restart_pod"],
         "approval": "none", "cooldown": "30m"}


@pytest.mark.parametrize(
    "second,message",
    [
        (_tier(actions=["rollback_deploy", "reboot"]), "tiers[1] (review).actions: unknown action 'reboot'"),
        (_tier(approval="maybe"), "tiers[1] (review).approval: unknown approval 'maybe' (expected one of none, "),
        (_tier(cooldown="soon"), "tiers[1] (review).cooldown 'soon': expected a positive duration"),
        (_tier(cooldown=[1]), "tiers[1] (review).cooldown: expected a duration"),
        (_tier(max_blast_radius="galaxy"), "tiers[1] (review).max_blast_radius: unknown blast radius 'galaxy'"),
        (_tier(min_confidence=1.5), "tiers[1] (review).min_confidence: 1.5 is outside [0, 1]"),
        (_tier(min_confidence=-0.1), "tiers[1] (review).min_confidence: -0.1 is outside [0, 1]"),
        (_tier(min_confidence="high"), "tiers[1] (review).min_confidence: expected a number between 0 and 1"),
        (_tier(name="auto"), "tiers[1] (auto).name: duplicate tier name 'auto'"),
        (_tier(actions=[]), "tiers[1] (review).actions: expected a non-empty list"),
        (_tier(colour="red"), "tiers[1] (review): unknown field 'colour'"),
        ({k: v for k, v in _tier().items() if k != "cooldown"}, "tiers[1] (review): missing field 'cooldown'"),
        (_tier(name=""), "tiers[1].name: expected a non-empty string"),
        (_tier(max_blast_radius="platform_wide", approval="none"),
         "tiers[1] (review).approval: a platform-wide tier cannot run without a human"),
    ],
)
def test_policy_errors_name_the_file_tier_and_field(tmp_path: Path, second: dict[str, object], message: str) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump({"version": 1, "tiers": [FIRST, second]}))
    with pytest.raises(ConfigError) as caught:
        load_policy(path)
    assert str(caught.value).startswith(f"{path}: ")
    assert message in str(caught.value)


@pytest.mark.parametrize(
    "doc,message",
    [
        ({"tiers": [FIRST]}, "version: expected a positive integer, got None"),
        ({"version": 1, "tiers": []}, "tiers: expected a non-empty list"),
        ({"version": 1, "tiers": [FIRST], "extra": 1}, "unknown field 'extra'"),
        ({"version": 1, "tiers": [FIRST], "signatures": {"X@*": {"restart_pod": "nope"}}},
         "signatures['X@*'].restart_pod: no tier named 'nope'"),
        ({"version": 1, "tiers": [FIRST], "signatures": {"X@*": {"reboot": "auto"}}},
         "signatures['X@*']: unknown action 'reboot'"),
        ({"version": 1, "tiers": [FIRST], "signatures": {"no-at-sign": {}}}, "expected a signature"),
    ],
)
def test_document_errors(tmp_path: Path, doc: dict[str, object], message: str) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(doc))
    with pytest.raises(ConfigError) as caught:
        load_policy(path)
    assert str(caught.value).startswith(f"{path}: ") and message in str(caught.value)


def test_unreadable_or_malformed_files_are_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"policy file .*missing.yaml: cannot be read"):
        load_policy(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\ntiers: [\n  - name: x\n")
    with pytest.raises(ConfigError, match=r"bad.yaml: line \d+ not valid YAML"):
        load_policy(bad)


def test_zero_cooldown_never_blocks() -> None:
    policy = parse_policy({"version": 1, "tiers": [dict(FIRST, cooldown="0")]}, "p.yaml")
    assert policy.tiers[0].cooldown == timedelta(0)
    assert _decide(policy, "restart_pod", 0.95, "single_pod", last=NOW).allowed
