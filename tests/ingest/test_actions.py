"""The free-text -> action / outcome vocabulary, and causes named in text."""

from __future__ import annotations

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.actions import (
    ACTIONS,
    OUTCOMES,
    Cause,
    change_id,
    find_causes,
    helped,
    map_action,
    map_note,
    map_outcome,
    refine_action,
)

ACTION_CASES = [
    # rollback_deploy
    ("Rolled back payments to 1.41.0", "rollback_deploy"),
    ("rollback to 1.41 started", "rollback_deploy"),
    ("Reverted the release to v2.3.9", "rollback_deploy"),
    ("Redeployed the previous version of checkout", "rollback_deploy"),
    ("Latency did not recover, so we rolled back", "rollback_deploy"),
    # revert_config
    ("Reverted the config change from this morning", "revert_config"),
    ("reverted the config", "revert_config"),
    ("Restored the previous configmap", "revert_config"),
    ("config rollback via Argo CD", "revert_config"),
    # disable_feature_flag
    ("Turned off flag new-checkout-flow", "disable_feature_flag"),
    ("Disabled feature flag pricing.v2 in LaunchDarkly", "disable_feature_flag"),
    ("flipped the recs-v3 flag off", "disable_feature_flag"),
    ("Set flag new-pricing to false", "disable_feature_flag"),
    ("Hit the kill switch for one-click checkout", "disable_feature_flag"),
    # restart_pod
    ("bounced the pods", "restart_pod"),
    ("Deleted the crashing pod payments-7d9f-x2k", "restart_pod"),
    ("kubectl delete pod checkout-5c6", "restart_pod"),
    ("We did not roll back; restarted the pods instead", "restart_pod"),
    ("Rebooted the stuck worker node ip-10-0-3-4", "restart_pod"),
    # rolling_restart
    ("kubectl rollout restart deployment/checkout", "rolling_restart"),
    ("Did a rolling restart of the API fleet", "rolling_restart"),
    ("Restarted all payments pods", "rolling_restart"),
    ("Restarted the checkout service", "rolling_restart"),
    # retry_job
    ("Re-ran the nightly export job", "retry_job"),
    ("Retried the failed settlement jobs", "retry_job"),
    ("Replayed the DLQ into orders-events", "retry_job"),
    ("Requeued the stuck invoices", "retry_job"),
    # clear_cache
    ("Flushed the redis cache for sessions", "clear_cache"),
    ("Purged the CDN cache", "clear_cache"),
    ("Cleared the product catalog cache", "clear_cache"),
    # rollback_migration
    ("Rolled back migration 0042_add_index", "rollback_migration"),
    ("Reverted the schema migration", "rollback_migration"),
    ("ran alembic downgrade -1", "rollback_migration"),
    # scale_up
    ("Scaled checkout to 12 replicas", "scale_up"),
    ("scaled deployment/checkout from 4 to 10", "scale_up"),
    ("Instead of rolling back we scaled checkout to 12 replicas", "scale_up"),
    ("Increased the connection pool size from 20 to 50", "scale_up"),
    ("Bumped memory limits to 2Gi", "scale_up"),
    ("Added two more Kafka brokers", "scale_up"),
    # failover
    ("Failed over to the replica in us-east-1b", "failover"),
    ("Promoted the standby to primary", "failover"),
    ("Switched over to the standby database", "failover"),
    # reroute_traffic
    ("Shifted all traffic to us-west-2", "reroute_traffic"),
    ("Drained traffic from eu-west-1", "reroute_traffic"),
    ("Took node ip-10-0-3-4 out of rotation", "reroute_traffic"),
    ("Rerouted search traffic through the secondary ingress", "reroute_traffic"),
    # enable_fallback
    ("Enabled the fallback to the secondary payment provider", "enable_fallback"),
    ("Switched search to degraded mode", "enable_fallback"),
    ("Serving stale prices from cache while the pricing service recovers", "enable_fallback"),
    # rate_limit
    ("Applied a rate limit of 100 rps to /api/search", "rate_limit"),
    ("Throttled the batch importer", "rate_limit"),
    ("Blocked the abusive IP range at the edge", "rate_limit"),
    ("Turned on load shedding for anonymous traffic", "rate_limit"),
    # modify_database
    ("Killed the long-running query on orders-db", "modify_database"),
    ("Ran VACUUM ANALYZE on the events table", "modify_database"),
    ("Added an index on orders(customer_id)", "modify_database"),
    ("pg_terminate_backend on the idle-in-transaction sessions", "modify_database"),
    # change_auth_config
    ("Rotated the expired API key for the payment gateway", "change_auth_config"),
    ("Renewed the TLS certificate for api.example.com", "change_auth_config"),
    ("Granted the checkout service account the missing IAM role", "change_auth_config"),
    # not an action
    ("Investigating elevated error rates", "unknown"),
    ("Acknowledged, looking at dashboards", "unknown"),
    ("Pods restarting with CrashLoopBackOff", "unknown"),
    ("Considered a rollback but the deploy was hours old", "unknown"),
    ("", "unknown"),
]

OUTCOME_CASES = [
    ("this fixed it", "resolved"),
    ("latency recovered", "resolved"),
    ("Error rate back to normal", "resolved"),
    ("Errors dropped to zero within two minutes", "resolved"),
    ("Alerts cleared at 14:40", "resolved"),
    ("prices look right again", "resolved"),
    ("did not help", "failed"),
    ("no effect on error rate", "failed"),
    ("errors persisted", "failed"),
    ("still failing after the restart", "failed"),
    ("made it worse", "failed"),
    ("partially recovered", "partial"),
    ("Latency recovered but errors still elevated", "partial"),
    ("helped a bit", "partial"),
    ("errors came back after 10 minutes", "partial"),
    ("escalated to the DBA on-call", "escalated"),
    ("Paged the database team", "escalated"),
    ("handed over to the network team", "escalated"),
    ("Rolled back at 14:32", "unknown"),
    ("Cleared the cache", "unknown"),
    ("Failed over to the replica", "unknown"),
    ("", "unknown"),
]


def test_the_vocabulary_is_the_documented_one() -> None:
    assert ACTIONS == (
        "restart_pod", "rolling_restart", "retry_job", "clear_cache", "rollback_deploy", "revert_config",
        "disable_feature_flag", "rollback_migration", "scale_up", "rate_limit", "reroute_traffic", "enable_fallback",
        "failover", "modify_database", "change_auth_config", "unknown",
    )  # fmt: skip
    assert OUTCOMES == ("resolved", "partial", "failed", "escalated", "unknown")


def test_the_table_covers_every_action_with_enough_phrasings() -> None:
    assert len(ACTION_CASES) >= 40
    assert {expected for _, expected in ACTION_CASES} == set(ACTIONS)


@pytest.mark.parametrize(("text", "expected"), ACTION_CASES)
def test_map_action(text: str, expected: str) -> None:
    assert map_action(text) == expected


@pytest.mark.parametrize(("text", "expected"), OUTCOME_CASES)
def test_map_outcome(text: str, expected: str) -> None:
    assert map_outcome(text) == expected


def test_map_action_ignores_case_quotes_and_line_breaks() -> None:
    assert map_action("ROLLED\n  BACK checkout") == "rollback_deploy"
    assert map_action("We didn\u2019t roll back, we flushed the cache") == "clear_cache"


# classes of wording the demo estate's notes and postmortems showed ----------------------------------------

WORDING_CASES = [
    # what the undo's target is: a flag key, a config key path, a setting's value, a service at a version
    ("Set recs.model-v3 back to 10% — p99 back to 180ms", "disable_feature_flag"),
    ("Disabled web.new-product-page (set to 0%)", "disable_feature_flag"),
    ("Reverted pricing/cache.ttl_seconds to 300 in Consul", "revert_config"),
    ("ratelimit.per_client_rps changed to 20 at 16:40. Reverting to 200.", "revert_config"),
    ("Raised it back to 400 with patronictl edit-config", "revert_config"),
    ("Terraform run at 15:10 changed node_type. Re-applying the previous plan.", "revert_config"),
    ("Rolled back config-service to 4.26.0", "rollback_deploy"),
    ("Reverted checkout to 2.3.9", "rollback_deploy"),
    ("Enabled payments.secondary-acquirer (route 100% to the backup acquirer)", "enable_fallback"),
    ("Routed refund reads to the primary and waited", "reroute_traffic"),
    ("Deleted old index products-v39", "modify_database"),
    ("Fixed 1,840 carts with the repair script", "modify_database"),
    # a plan, a hypothesis, a reference to an earlier action, a name, a quoted statement: no action
    ("Table is 80% rewritten; cancelling would roll back.", "unknown"),
    ("Resolving. Will re-run the backfill in 5k-row batches at night.", "unknown"),
    ("Customers who were declined get an e-mail to retry.", "unknown"),
    ("Errors cleared after the switchover.", "unknown"),
    ("sentinel quorum fine — not a repeat of the session-cache failover.", "unknown"),
    ("Re-deploying the auth release that was rolled back, it was not the cause.", "unknown"),
    ("mobile-bff errors are 429s; ratelimit.per_client_rps is 20.", "unknown"),
    ("pg_stat_activity: CREATE INDEX on orders holds ShareLock since 13:57", "unknown"),
    ("What fixed it: Rolled back auth to 2.18.0", "rollback_deploy"),  # "fixed it: ... auth" is not an auth fix
]

RESULT_CASES = [
    ("p99 back to 450ms", "resolved"),
    ("error rate back under 1%", "resolved"),
    ("decline rate back to 3.1%", "resolved"),
    ("reservations flowing again", "resolved"),
    ("replicas caught up in 6 minutes", "resolved"),
    ("lag drained in 35 minutes", "resolved"),
    ("cluster yellow, then green", "resolved"),
    ("429s gone", "resolved"),
    ("p99 improved only slightly (2.8s to 2.4s)", "partial"),
    ("errors dropped for 2 minutes, then came back", "partial"),
    ("CPU fine now but p99 still 2.5s", "failed"),
    ("latency got worse", "failed"),
    ("error rate climbed to 12%", "failed"),
    ("p99 not back to normal", "failed"),
    ("errors have not stopped", "failed"),
    ("latency is not back under 500ms", "failed"),
    ("never recovered", "failed"),
    ("error rate stayed at 7%", "failed"),
    ("if it recovered we would know by now", "unknown"),
    ("Set recs.model-v3 back to 10%", "unknown"),  # a setting put back is an action, not a result
]


@pytest.mark.parametrize(("text", "expected"), WORDING_CASES)
def test_wording_classes_map_by_what_was_done(text: str, expected: str) -> None:
    assert map_action(text) == expected


@pytest.mark.parametrize(("text", "expected"), RESULT_CASES)
def test_recovery_no_change_and_worse_wording(text: str, expected: str) -> None:
    assert map_outcome(text) == expected


def test_a_note_outcome_is_read_from_the_sentence_naming_the_action_on() -> None:
    assert map_note("Northwind reports recovery. Disabled payments.secondary-acquirer.") == (
        "disable_feature_flag", "unknown")
    assert map_note("Errors are all on Visa. Disabled payments.network-tokens — back to baseline.") == (
        "disable_feature_flag", "resolved")
    assert map_note("Restarted two pods — no change.") == ("restart_pod", "failed")
    assert map_note("Errors gone after the next refresh cycle.") == ("unknown", "resolved")


@pytest.mark.parametrize(
    ("action", "text", "expected"),
    [
        ("rollback_deploy", "Rolled back recs.model-v3", "disable_feature_flag"),
        ("rollback_deploy", "Rolled back cache.ttl_seconds", "revert_config"),
        ("revert_config", "Reverted pricing/cache.ttl_seconds to 300", "revert_config"),
        ("rollback_deploy", "Rolled back orders-db/max_connections", "revert_config"),
        ("revert_config", "max_connections went to 200. Raised it back to 400", "revert_config"),
        ("rollback_deploy", "Rolled back payments to 1.32.0, recs.model-v3 untouched", "rollback_deploy"),
        ("rollback_deploy", "Rolled back payments to 1.32.0", "rollback_deploy"),
        ("scale_up", "Scaled recs.model-v3 workers to 12", "scale_up"),  # not an undo: left alone
    ],
)
def test_refine_action_decides_an_undo_by_its_target(action: str, text: str, expected: str) -> None:
    assert refine_action(action, text, {"recs.model-v3"}, {"cache.ttl_seconds", "max_connections"}) == expected


def test_helped_follows_the_outcome() -> None:
    assert [helped(o) for o in OUTCOMES] == [True, True, False, False, None]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("deploy:5b0c7e4e", "deploy:5b0c7e4e"),
        ("config:config-8812", "config:config-8812"),
        ("flag:checkout-new-pricing", "flag:checkout-new-pricing"),
        ("migration:0042_add_index", "migration:0042_add_index"),
        ("5B0C7E4E-2F7D-4B59-9C3E-6A1E2D8F4C11", "deploy:5b0c7e4e-2f7d-4b59-9c3e-6a1e2d8f4c11"),
        ("yesterday's deploy", None),
        ("service:default/checkout", None),
    ],
)
def test_change_id(value: str, expected: str | None) -> None:
    assert change_id(value) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Root cause: config change config-123 raised the pool timeout.", [("change", "config:config-123")]),
        ("The errors were caused by deploy d-8812 of payments.", [("change", "deploy:d-8812")]),
        (
            "Caused by the CDEvents deploy 6f1c2b9e-4a3d-4e2a-9c1b-0d5e7f8a9b10.",
            [("change", "deploy:6f1c2b9e-4a3d-4e2a-9c1b-0d5e7f8a9b10")],
        ),
        (
            "Triggered by flag:new-pricing and migration 0042_add_index.",
            [("change", "flag:new-pricing"), ("change", "migration:0042_add_index")],
        ),
        ("dependency failure: payments-db is down", [("dependency", "payments-db")]),
        ("Errors started due to the payments-db primary being unreachable.", [("dependency", "payments-db")]),
        ("Rollback of payments 1.42.0 fixed it.", [("release", "payments 1.42.0")]),
        ("Deploy d-8812 went out at 14:02.", []),  # no cause cue
        ("The release 2026-03-01 caused errors at 14:05.", []),  # a date is not an id
        ("Root cause: the database was down.", []),  # no name to look up
    ],
)
def test_find_causes(text: str, expected: list[tuple[str, str]]) -> None:
    kinds = ("change", "dependency", "release")
    found = [(kind, getattr(c, kind)) for c in find_causes(text) for kind in kinds if getattr(c, kind)]
    assert found == expected


def test_find_causes_in_a_root_cause_section_needs_no_cue() -> None:
    text = "The 2.4.0 release (deploy d-4411) lowered\nthe pool size.\n\n- deploy d-4412 followed"
    assert [c.change for c in find_causes(text, causal=True)] == ["deploy:d-4411", "deploy:d-4412"]
    assert find_causes(text) == []


def test_find_causes_keeps_the_sentence_as_evidence() -> None:
    [cause] = find_causes("Paged at 14:06. Root cause: config change\nconfig-9 lowered the timeout. Fixed.")
    assert cause == Cause("Root cause: config change config-9 lowered the timeout.", change="config:config-9")


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=400))
def test_any_text_maps_into_the_vocabulary(text: str) -> None:
    assert map_action(text) in ACTIONS
    assert map_outcome(text) in OUTCOMES
    for cause in find_causes(text, causal=True):
        assert cause.change or cause.dependency or cause.release


def test_mapping_long_text_stays_fast() -> None:
    text = ("restarted the the the " * 2000) + "rolled back"
    start = time.process_time()  # CPU time: a busy machine must not fail it, catastrophic backtracking must
    map_action(text), map_outcome(text), find_causes(text, causal=True)
    assert time.process_time() - start < 2.0


def test_many_negated_mentions_stay_fast() -> None:
    text = "did not roll back, " * 3000 + "did not restart"
    start = time.process_time()  # CPU time, so a busy machine does not fail it
    assert map_action(text) == "unknown"
    assert time.process_time() - start < 2.0
