"""Free text from incident notes and postmortems -> the standard action vocabulary.

The mapping is deterministic: ordered keyword / regex rules, no model. An
action is the rule whose match starts earliest in the text (ties go to the
rule listed first, so "reverted the config" is ``revert_config``, not
``rollback_deploy``); a match that is negated ("did not roll back"), only
mentioned ("would roll back", "after the switchover") or part of a name
(``ratelimit.per_client_rps``) does not count::

    >>> map_action("Rolled back payments to 1.41.0")
    'rollback_deploy'
    >>> map_action("Instead of rolling back we scaled checkout to 12 replicas")
    'scale_up'
    >>> map_note("Hit rate 31%. Reverted pricing/cache.ttl_seconds to 300 — p99 back to 450ms")
    ('revert_config', 'resolved')

The outcome of a note is read from the sentence that names the action on
(what came before is the situation, not the result). An undo is first
judged by its wording; :func:`refine_action` then settles it by what its
target is, given the flag and configuration keys the graph knows. The same
vocabulary serves the feedback memory and the remediation policy; outcomes
live in :mod:`ingest.outcomes` and causes named in text in
:mod:`ingest.causes` (both re-exported here).
"""

from __future__ import annotations

import re
from collections.abc import Collection

from ingest.causes import Cause, change_id, find_causes
from ingest.outcomes import OUTCOMES, helped, map_outcome
from ingest.text_rules import GAP, first_match, normalise, rule

__all__ = [
    "ACTIONS", "OUTCOMES", "UNDO_ACTIONS", "Cause", "change_id", "find_causes", "helped", "map_action", "map_note",
    "map_outcome", "refine_action",
]  # fmt: skip

ACTIONS: tuple[str, ...] = (
    "restart_pod",
    "rolling_restart",
    "retry_job",
    "clear_cache",
    "rollback_deploy",
    "revert_config",
    "disable_feature_flag",
    "rollback_migration",
    "scale_up",
    "rate_limit",
    "reroute_traffic",
    "enable_fallback",
    "failover",
    "modify_database",
    "change_auth_config",
    "unknown",
)
#: actions that undo a change; which one it is depends on what the change was
UNDO_ACTIONS: frozenset[str] = frozenset({"rollback_deploy", "revert_config", "disable_feature_flag", "rollback_migration"})

#: a setting's value, not a version ("to 300", "to 200 rps", not "to 1.32.0" or "to 10%")
_VALUE = r"\d[\d,_]*(?:\s*(?:ms|s|m|h|mb|gb|kb|rps|qps))?\b(?!\.?\d|\s*%)"
_SET = r"\b(?:set|put|rais|lower|increas|decreas|reduc|bump|chang|dial|turn|restor)(?:e|ed|ing|s)?\b"

_UNDO = (
    r"(?:roll(?:ed|ing|s)?[- ]?back|revert(?:ed|ing|s)?|undo(?:ne)?|undid|back(?:ed)?[- ]out|"
    r"restor(?:e|ed|ing) the (?:previous|old|prior|last known[- ]good))"
)


#: ordered: at the same position, an earlier rule wins
_ACTION_RULES: tuple[tuple[str, re.Pattern[str]], ...] = (
    rule(
        "rollback_migration",
        _UNDO + GAP + r"(?:schema |database |db )?migrations?\b",
        r"\bmigrations?\b(?:\W+[\w.\-]+){0,3}?\W+(?:was |were )?(?:rolled back|reverted|undone)",
        r"\b(?:down[- ]migration|migrate down|db:rollback|alembic downgrade|flyway undo)\b",
    ),
    rule(
        "revert_config",
        _UNDO + GAP + r"(?:config(?:uration)?s?|configmaps?|settings?|env(?:ironment)? vars?|helm values)\b(?![-.]\w)",
        _UNDO + r"\s+(?:the\s+)?(?:[\w-]+/)+[\w.\-]+",  # a key path: pricing/cache.ttl_seconds
        _UNDO + r"(?:\W+[\w.\-/]+){0,2}?\s+to\s+" + _VALUE,  # back to a value, not to a version
        _SET + r"\s+(?:it|them|that|the\s+[\w.\-/]+|[\w.\-/]+)\s+back\s+(?:up\s+|down\s+)?to\s+" + _VALUE,
        r"\bre-?appl(?:y|ied|ying)\b(?:\W+[\w.\-]+){0,2}?\W+(?:previous|prior|old|last known[- ]good|original)\b",
        r"\bconfig(?:uration)?(?: change)?s? (?:rollback|revert)",
        r"\bconfig(?:uration)?(?: change)?\b(?:\W+[\w.\-]+){0,2}?\W+(?:was |were )?(?:rolled back|reverted)",
    ),
    rule(
        "disable_feature_flag",
        r"\b(?:turn(?:ed|ing)?|switch(?:ed|ing)?|flipp?(?:ed|ing)?|toggl(?:e|ed|ing))\s+off\b(?:\W+[\w.\-]+){0,4}?\W+"
        r"(?:feature[- ])?(?:flags?|toggles?|kill[- ]?switch)",
        r"\b(?:turn(?:ed)?|switch(?:ed)?|flipp?(?:ed)?|toggl(?:e|ed))\b(?:\W+[\w.\-]+){0,4}?\W+(?:flag|toggle)\w*\W+off\b",
        r"\bdisabl(?:e|ed|ing)\b(?:\W+[\w.\-]+){0,4}?\W+(?:feature[- ]?)?(?:flags?|toggles?|feature)\b",
        r"\bflag\b(?:\W+[\w.\-]+){0,3}?\W+(?:to\s+)?(?:false|disabled|0\s*%)",
        r"\bkill[- ]?switch\b",
        r"\bdisabl(?:e|ed|ing)\s+(?:the\s+)?[a-z][\w-]*\.[\w.\-]*\w",
        _SET + r"\s+(?:the\s+)?(?:rollout\s+of\s+)?[\w.\-]+\s+(?:(?:back|down)\s+to\s+\d+|to\s+0)\s*%",
        r"\brollout\s+(?:percentage\s+)?to\s+0\s*%",
    ),
    rule(
        "rollback_deploy",
        r"\broll(?:ed|ing|s)?[- ]?back\b",
        r"\brevert(?:ed|ing|s)?\b(?:\W+[\w.\-]+){0,3}?\W+(?:deploy(?:ment)?|release|build|version|commit|change|image|pr|merge|to)\b",
        r"\bre-?deploy(?:ed|ing)?\b(?:\W+[\w.\-]+){0,3}?\W+(?:previous|prior|last known[- ]good|old(?:er)?)\b",
        r"\bdowngrad(?:e|ed|ing)\b",
        r"\bback(?:ed)?[- ]out\b",
    ),
    rule(
        "failover",
        r"\bfail(?:ed|ing)?[- ]?over\b",
        r"\bpromot(?:e|ed|ing)\b" + GAP + r"(?:replica|standby|secondary|follower)",
        r"\bswitch(?:ed|ing)?\s+(?:over\s+)?to\s+(?:the\s+)?(?:standby|replica|secondary|dr site|backup (?:db|cluster))\b",
        r"\bswitchover\b",
    ),
    rule(
        "reroute_traffic",
        r"\bre-?rout(?:e|ed|ing)\b",
        r"\brout(?:e|ed|ing)\b(?:\W+[\w.\-%]+){0,3}?\W+to\s+(?:the\s+)?(?:primary|replica|secondary|backup|standby|other|\w+\s+region)",
        r"\bdrain(?:ed|ing)?\b(?:\W+[\w.\-]+){0,2}?\W+(?:traffic|region|zone|az|node|nodes|hosts?|cluster|datacenter|dc|pop)\b",
        r"\b(?:shift|mov|redirect|divert|steer)(?:ed|ing|e)?\b" + GAP + r"traffic\b",
        r"\btraffic\s+(?:away\s+from|off\s+(?:of\s+)?)",
        r"\b(?:out of|from)\s+(?:the\s+)?(?:rotation|load[- ]?balancer|lb pool|target group)\b",
        r"\bweights?\b(?:\W+[\w.\-]+){0,3}?\W+to\s+0\b",
        r"\bdns\b(?:\W+[\w.\-]+){0,4}?\W+point",
    ),
    rule(
        "enable_fallback",
        r"\b(?:enabl(?:e|ed|ing)|activat(?:e|ed|ing)|turn(?:ed)? on|switch(?:ed)? (?:on|to))\b" + GAP
        + r"(?:fallback|degraded mode|static (?:page|content)|cached responses|backup provider|secondary provider|"
        r"maintenance mode|read[- ]only mode)",
        r"\bf[ae]ll(?:ing)? back\s+to\b",
        r"\b(?:enabl|activat)\w*\s+(?:the\s+)?[\w.\-/]*(?:secondary|backup|standby|fallback)",
        r"\bfallback\b",
        r"\bdegraded mode\b",
        r"\bserv(?:e|ed|ing)\s+(?:from\s+)?(?:stale|cached)\b",
        r"\bopen(?:ed)?\s+the\s+circuit(?:[- ]breaker)?\b",
    ),
    rule(
        "rate_limit",
        r"\brate[- ]?limit",
        r"\bthrottl",
        r"\bload[- ]?shed",
        r"\bshed(?:ding)?\s+(?:load|traffic|requests)",
        r"\bblock(?:ed|ing)?\b" + GAP + r"(?:ips?|ip range|clients?|bots?|crawlers?|scrapers?|user[- ]agents?|abusive)\b",
        r"\b(?:reduc|lower|limit|capp?)(?:e|ed|ing)?\b" + GAP + r"(?:request rate|concurrency|qps|rps)\b",
        r"\bwaf rule",
    ),
    rule(
        "scale_up",
        r"\bscal(?:e|ed|ing)\s+(?:up|out)\b",
        r"\bscal(?:e|ed|ing)\b(?!\s+down)(?:\W+[\w.\-/]+){0,4}?\W+(?:from\s+\d+\s+)?to\s+\d+",
        r"\b(?:add(?:ed|ing)?|increas(?:e|ed|ing)|bump(?:ed|ing)?|doubl(?:e|ed|ing)|rais(?:e|ed|ing)|provision(?:ed)?)\b"
        + GAP
        + r"(?:replicas?|replica count|capacity|instances?|nodes?|workers?|pods?|consumers?|shards?|brokers?|memory|cpu|"
        r"resources|pool size|connection pool|heap|partitions|iops|hpa|autoscaler|max replicas)\b",
    ),
    rule(
        "rolling_restart",
        r"\brolling[- ]restart",
        r"\brollout\s+restart",
        r"\b(?:restart|bounc|recycl|cycl)(?:e|ed|ing)?\s+(?:all|every|each)\b",
        r"\b(?:restart|bounc|recycl|cycl)(?:e|ed|ing)?\s+(?:the\s+)?(?:whole|entire)\b",
        r"\b(?:restart|bounc|recycl)(?:e|ed|ing)?\b(?:\W+[\w.\-/]+){0,2}?\W+"
        r"(?:deployment|statefulset|daemonset|service|fleet|cluster|app|application)\b(?!\W+pods?\b)",
    ),
    rule(
        "restart_pod",
        r"\b(?:restart|bounc|recycl|kill|delet|evict|reschedul|reboot)(?:e|ed|ing|s)?\b" + GAP
        + r"(?:pods?|containers?|instances?|process(?:es)?|workers?|nodes?|hosts?|vms?)\b",
        r"\bkubectl\s+delete\s+pod",
        r"\bpods?\b" + GAP + r"(?:were|was)\s+(?:restarted|bounced|recycled|deleted|killed)",
        r"\brestarted\b",
    ),
    rule(
        "retry_job",
        r"\bre-?(?:ran|run|tried|try|triggered|trigger|queued|queue|submitted|submit|processed|process|played|play)\b",
        r"\bretr(?:y|ied|ying)\b(?:\W+[\w.\-]+){0,3}?\W+(?:jobs?|batch|cron|tasks?|messages?|exports?|imports?|pipeline|failed)",
        r"\breplay(?:ed|ing)?\b",
        r"\b(?:kicked|triggered|started)\s+(?:off\s+)?(?:the\s+)?(?:\w+\s+)?(?:job|cron|batch)\s+(?:again|manually)",
        r"\bmanually\s+(?:ran|triggered|started)\s+(?:the\s+)?(?:\w+\s+)?(?:job|cron|batch|export|import)",
    ),
    rule(
        "clear_cache",
        r"\b(?:clear|flush|purg|invalidat|evict|wip|bust|drop)(?:e|ed|ing|es)?\b" + GAP
        + r"(?:caches?|cdn|redis|memcached?|varnish|cached)\b",
        r"\bcache\b(?:\W+[\w.\-]+){0,2}?\W+(?:flush|purge|clear|invalidation|bust)",
        r"\bflush(?:all|db)\b",
    ),
    rule(
        "modify_database",
        r"\b(?:kill|terminat|cancel|releas)(?:ed|ing|led|e)?\b" + GAP
        + r"(?:quer(?:y|ies)|sessions?|transactions?|backends?|connections?|locks?)\b",
        r"\bpg_(?:terminate|cancel)_backend\b",
        r"\b(?:vacuum(?:ed)?|reindex(?:ed)?)\b|\banalyze\s+(?:the\s+)?table",
        r"\b(?:add|creat|drop|rebuil|delet)\w*\b" + GAP + r"(?:index|indexes|indices|table|column|partition)\b",
        r"\b(?:repair|clean-?up|fix-?up|data[- ]fix)\s+(?:script|job|task|query)\b",
        r"\b(?:ran|run|execut\w*|appl\w*)\b" + GAP + r"(?:sql|update statement|delete statement|dml|data fix)\b",
        r"\bbackfilled\b|(?<![-\w])(?:ran|run|appl\w*)\s+(?:a\s+|the\s+)?(?:data fix|backfill)\b",
        _SET + r"\s+(?:the\s+)?(?:max_connections|work_mem|shared_buffers)\b",
        r"\b(?:fixed|corrected|repaired|patched|deleted)\b" + GAP + r"(?:rows?|records?|tables?)\b",
    ),
    rule(
        "change_auth_config",
        r"\brotat(?:e|ed|ing)\b" + GAP + r"(?:keys?|secrets?|credentials?|certs?|certificates?|tokens?|passwords?)\b",
        r"\b(?:renew|reissu|re-issu|replac|regenerat|refresh|install)\w*\b" + GAP
        + r"(?:certs?|certificates?|tls|ssl|tokens?|api keys?|secrets?|credentials?|passwords?|jwks?|signing keys?)\b",
        r"\b(?:grant|revok|updat|fix|chang|restor|add|correct)\w*\b" + GAP
        + r"(?:iam|rbac|oauth|oidc|saml|auth|permissions?|roles?|role ?bindings?|polic(?:y|ies)|scopes?|allow-?list|"
        r"whitelist|service accounts?|acls?)\b",
        r"\b(?:allow|white)-?list(?:ed)?\b",
    ),
)


def _action_at(text: str) -> tuple[str, int]:
    best: tuple[int, int, str] | None = None
    for order, (action, pattern) in enumerate(_ACTION_RULES):
        start = first_match(pattern, text, action=True)
        if start is not None and (best is None or (start, order) < best[:2]):
            best = (start, order, action)
    return (best[2], best[0]) if best else ("unknown", -1)


def map_action(text: str) -> str:
    """The standard action a free-text note describes, or ``"unknown"``."""
    return _action_at(normalise(text))[0]


_SENTENCE_END = re.compile(r"[.!?](?=\s)")


def map_note(text: str) -> tuple[str, str]:
    """(action, outcome) of a note; the outcome is read from the sentence naming the action on.

    >>> map_note("Northwind reports recovery. Disabled payments.secondary-acquirer.")
    ('disable_feature_flag', 'unknown')
    """
    clean = normalise(text)
    action, start = _action_at(clean)
    if action == "unknown":
        return action, map_outcome(clean)
    ends = [m.end() for m in _SENTENCE_END.finditer(clean, 0, start)]
    return action, map_outcome(clean[ends[-1] if ends else 0 :])


_NAME = re.compile(r"[A-Za-z0-9][\w.\-/]*\w")
_VERSION = re.compile(r"v?\d+(?:\.\d+)+[\w.\-]*")


def refine_action(action: str, text: str, flags: Collection[str], configs: Collection[str]) -> str:
    """An undo decided by what it undid: the first flag key, config key or version the text names.

    ``flags`` and ``configs`` are lower-case keys known from flag and config
    change events (a config key may also be known by its path,
    ``pricing/cache.ttl_seconds``). Names after the action come first, then
    those of the sentences before it ("max_connections went to 200. Raised it
    back to 400"); a version ("to 1.32.0") leaves a deploy rollback as it is,
    and actions that undo nothing are returned unchanged::

        >>> refine_action("revert_config", "Set recs.model-v3 back to 10", {"recs.model-v3"}, set())
        'disable_feature_flag'
    """
    if action not in UNDO_ACTIONS:
        return action
    clean = normalise(text).lower()
    start = max(_action_at(clean)[1], 0)
    for part in (clean[start:], clean[:start]):
        for name in _NAME.findall(part):
            if name in flags:
                return "disable_feature_flag"
            if name in configs or name.rsplit("/", 1)[-1] in configs:
                return "revert_config"
            if _VERSION.fullmatch(name):
                return action
    return action
