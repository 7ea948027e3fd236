"""Free text from incident notes and postmortems -> the standard action and outcome vocabulary.

The mapping is deterministic: ordered keyword / regex rules, no model. An
action is the rule whose match starts earliest in the text (ties go to the
rule listed first, so "reverted the config" is ``revert_config``, not
``rollback_deploy``); a match right after a negation ("did not roll back",
"instead of rolling back") does not count::

    >>> map_action("Rolled back payments to 1.41.0")
    'rollback_deploy'
    >>> map_action("Instead of rolling back we scaled checkout to 12 replicas")
    'scale_up'
    >>> map_outcome("Error rate back to normal, this fixed it")
    'resolved'

The same vocabulary serves the feedback memory and the remediation policy.
The PagerDuty and postmortem readers also share the causes named in text
(:func:`find_causes`, :func:`change_id`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

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
OUTCOMES: tuple[str, ...] = ("resolved", "partial", "failed", "escalated", "unknown")

_GAP = r"(?:\W+[\w.\-/]+){0,3}?\W+"  # up to three words in between
_UNDO = (
    r"(?:roll(?:ed|ing|s)?[- ]?back|revert(?:ed|ing|s)?|undo(?:ne)?|undid|back(?:ed)?[- ]out|"
    r"restor(?:e|ed|ing) the (?:previous|old|prior|last known[- ]good))"
)


def _rule(action: str, *patterns: str) -> tuple[str, re.Pattern[str]]:
    return action, re.compile("|".join(f"(?:{p})" for p in patterns), re.IGNORECASE)


#: ordered: at the same position, an earlier rule wins
_ACTION_RULES: tuple[tuple[str, re.Pattern[str]], ...] = (
    _rule(
        "rollback_migration",
        _UNDO + _GAP + r"(?:schema |database |db )?migrations?\b",
        r"\bmigrations?\b(?:\W+[\w.\-]+){0,3}?\W+(?:was |were )?(?:rolled back|reverted|undone)",
        r"\b(?:down[- ]migration|migrate down|db:rollback|alembic downgrade|flyway undo)\b",
    ),
    _rule(
        "revert_config",
        _UNDO + _GAP + r"(?:config(?:uration)?s?|configmaps?|settings?|env(?:ironment)? vars?|helm values)\b",
        r"\bconfig(?:uration)?(?: change)?s? (?:rollback|revert)",
        r"\bconfig(?:uration)?(?: change)?\b(?:\W+[\w.\-]+){0,2}?\W+(?:was |were )?(?:rolled back|reverted)",
    ),
    _rule(
        "disable_feature_flag",
        r"\b(?:turn(?:ed|ing)?|switch(?:ed|ing)?|flipp?(?:ed|ing)?|toggl(?:e|ed|ing))\s+off\b(?:\W+[\w.\-]+){0,4}?\W+"
        r"(?:feature[- ])?(?:flags?|toggles?|kill[- ]?switch)",
        r"\b(?:turn(?:ed)?|switch(?:ed)?|flipp?(?:ed)?|toggl(?:e|ed))\b(?:\W+[\w.\-]+){0,4}?\W+(?:flag|toggle)\w*\W+off\b",
        r"\bdisabl(?:e|ed|ing)\b(?:\W+[\w.\-]+){0,4}?\W+(?:feature[- ]?)?(?:flags?|toggles?|feature)\b",
        r"\bflag\b(?:\W+[\w.\-]+){0,3}?\W+(?:to\s+)?(?:false|disabled|0\s*%)",
        r"\bkill[- ]?switch\b",
        r"\brollout\s+(?:percentage\s+)?to\s+0\s*%",
    ),
    _rule(
        "rollback_deploy",
        r"\broll(?:ed|ing|s)?[- ]?back\b",
        r"\brevert(?:ed|ing|s)?\b(?:\W+[\w.\-]+){0,3}?\W+(?:deploy(?:ment)?|release|build|version|commit|change|image|pr|merge|to)\b",
        r"\bre-?deploy(?:ed|ing)?\b(?:\W+[\w.\-]+){0,3}?\W+(?:previous|prior|last known[- ]good|old(?:er)?)\b",
        r"\bdowngrad(?:e|ed|ing)\b",
        r"\bback(?:ed)?[- ]out\b",
    ),
    _rule(
        "failover",
        r"\bfail(?:ed|ing)?[- ]?over\b",
        r"\bpromot(?:e|ed|ing)\b" + _GAP + r"(?:replica|standby|secondary|follower)",
        r"\bswitch(?:ed|ing)?\s+(?:over\s+)?to\s+(?:the\s+)?(?:standby|replica|secondary|dr site|backup (?:db|cluster))\b",
        r"\bswitchover\b",
    ),
    _rule(
        "reroute_traffic",
        r"\bre-?rout(?:e|ed|ing)\b",
        r"\bdrain(?:ed|ing)?\b(?:\W+[\w.\-]+){0,2}?\W+(?:traffic|region|zone|az|node|nodes|hosts?|cluster|datacenter|dc|pop)\b",
        r"\b(?:shift|mov|redirect|divert|steer)(?:ed|ing|e)?\b" + _GAP + r"traffic\b",
        r"\btraffic\s+(?:away\s+from|off\s+(?:of\s+)?)",
        r"\b(?:out of|from)\s+(?:the\s+)?(?:rotation|load[- ]?balancer|lb pool|target group)\b",
        r"\bweights?\b(?:\W+[\w.\-]+){0,3}?\W+to\s+0\b",
        r"\bdns\b(?:\W+[\w.\-]+){0,4}?\W+point",
    ),
    _rule(
        "enable_fallback",
        r"\b(?:enabl(?:e|ed|ing)|activat(?:e|ed|ing)|turn(?:ed)? on|switch(?:ed)? (?:on|to))\b" + _GAP
        + r"(?:fallback|degraded mode|static (?:page|content)|cached responses|backup provider|secondary provider|"
        r"maintenance mode|read[- ]only mode)",
        r"\bf[ae]ll(?:ing)? back\s+to\b",
        r"\bfallback\b",
        r"\bdegraded mode\b",
        r"\bserv(?:e|ed|ing)\s+(?:from\s+)?(?:stale|cached)\b",
        r"\bopen(?:ed)?\s+the\s+circuit(?:[- ]breaker)?\b",
    ),
    _rule(
        "rate_limit",
        r"\brate[- ]?limit",
        r"\bthrottl",
        r"\bload[- ]?shed",
        r"\bshed(?:ding)?\s+(?:load|traffic|requests)",
        r"\bblock(?:ed|ing)?\b" + _GAP + r"(?:ips?|ip range|clients?|bots?|crawlers?|scrapers?|user[- ]agents?|abusive)\b",
        r"\b(?:reduc|lower|limit|capp?)(?:e|ed|ing)?\b" + _GAP + r"(?:request rate|concurrency|qps|rps)\b",
        r"\bwaf rule",
    ),
    _rule(
        "scale_up",
        r"\bscal(?:e|ed|ing)\s+(?:up|out)\b",
        r"\bscal(?:e|ed|ing)\b(?!\s+down)(?:\W+[\w.\-/]+){0,4}?\W+(?:from\s+\d+\s+)?to\s+\d+",
        r"\b(?:add(?:ed|ing)?|increas(?:e|ed|ing)|bump(?:ed|ing)?|doubl(?:e|ed|ing)|rais(?:e|ed|ing)|provision(?:ed)?)\b"
        + _GAP
        + r"(?:replicas?|replica count|capacity|instances?|nodes?|workers?|pods?|consumers?|shards?|brokers?|memory|cpu|"
        r"resources|pool size|connection pool|heap|partitions|iops|hpa|autoscaler|max replicas)\b",
    ),
    _rule(
        "rolling_restart",
        r"\brolling[- ]restart",
        r"\brollout\s+restart",
        r"\b(?:restart|bounc|recycl|cycl)(?:e|ed|ing)?\s+(?:all|every|each)\b",
        r"\b(?:restart|bounc|recycl|cycl)(?:e|ed|ing)?\s+(?:the\s+)?(?:whole|entire)\b",
        r"\b(?:restart|bounc|recycl)(?:e|ed|ing)?\b(?:\W+[\w.\-/]+){0,2}?\W+"
        r"(?:deployment|statefulset|daemonset|service|fleet|cluster|app|application)\b(?!\W+pods?\b)",
    ),
    _rule(
        "restart_pod",
        r"\b(?:restart|bounc|recycl|kill|delet|evict|reschedul|reboot)(?:e|ed|ing|s)?\b" + _GAP
        + r"(?:pods?|containers?|instances?|process(?:es)?|workers?|nodes?|hosts?|vms?)\b",
        r"\bkubectl\s+delete\s+pod",
        r"\bpods?\b" + _GAP + r"(?:were|was)\s+(?:restarted|bounced|recycled|deleted|killed)",
        r"\brestarted\b",
    ),
    _rule(
        "retry_job",
        r"\bre-?(?:ran|run|tried|try|triggered|trigger|queued|queue|submitted|submit|processed|process|played|play)\b",
        r"\bretr(?:y|ied|ying)\b(?:\W+[\w.\-]+){0,3}?\W+(?:jobs?|batch|cron|tasks?|messages?|exports?|imports?|pipeline|failed)",
        r"\breplay(?:ed|ing)?\b",
        r"\b(?:kicked|triggered|started)\s+(?:off\s+)?(?:the\s+)?(?:\w+\s+)?(?:job|cron|batch)\s+(?:again|manually)",
        r"\bmanually\s+(?:ran|triggered|started)\s+(?:the\s+)?(?:\w+\s+)?(?:job|cron|batch|export|import)",
    ),
    _rule(
        "clear_cache",
        r"\b(?:clear|flush|purg|invalidat|evict|wip|bust|drop)(?:e|ed|ing|es)?\b" + _GAP
        + r"(?:caches?|cdn|redis|memcached?|varnish|cached)\b",
        r"\bcache\b(?:\W+[\w.\-]+){0,2}?\W+(?:flush|purge|clear|invalidation|bust)",
        r"\bflush(?:all|db)\b",
    ),
    _rule(
        "modify_database",
        r"\b(?:kill|terminat|cancel|releas)(?:ed|ing|led|e)?\b" + _GAP
        + r"(?:quer(?:y|ies)|sessions?|transactions?|backends?|connections?|locks?)\b",
        r"\bpg_(?:terminate|cancel)_backend\b",
        r"\b(?:vacuum(?:ed)?|reindex(?:ed)?)\b|\banalyze\s+(?:the\s+)?table",
        r"\b(?:add|creat|drop|rebuil)\w*\b" + _GAP + r"(?:index|indexes|indices|table|column|partition)\b",
        r"\b(?:ran|run|execut\w*|appl\w*)\b" + _GAP + r"(?:sql|update statement|delete statement|dml|data fix)\b",
        r"\b(?:data fix|backfill(?:ed)?)\b",
        r"\b(?:max_connections|work_mem|shared_buffers)\b",
        r"\b(?:fixed|corrected|repaired|patched|deleted)\b" + _GAP + r"(?:rows?|records?|tables?)\b",
    ),
    _rule(
        "change_auth_config",
        r"\brotat(?:e|ed|ing)\b" + _GAP + r"(?:keys?|secrets?|credentials?|certs?|certificates?|tokens?|passwords?)\b",
        r"\b(?:renew|reissu|re-issu|replac|regenerat|refresh|install)\w*\b" + _GAP
        + r"(?:certs?|certificates?|tls|ssl|tokens?|api keys?|secrets?|credentials?|passwords?|jwks?|signing keys?)\b",
        r"\b(?:grant|revok|updat|fix|chang|restor|add|correct)\w*\b" + _GAP
        + r"(?:iam|rbac|oauth|oidc|saml|auth|permissions?|roles?|role ?bindings?|polic(?:y|ies)|scopes?|allow-?list|"
        r"whitelist|service accounts?|acls?)\b",
        r"\b(?:allow|white)-?list(?:ed)?\b",
    ),
)

_CLAUSE = re.compile(r"[.;:!?,\n(]|\b(?:so|then|but|and|after|once|which)\b", re.IGNORECASE)
_NEGATORS = frozenset(
    {"not", "no", "never", "without", "instead", "rather", "considered", "considering", "against", "whether", "if"}
)


def _normalise(text: str) -> str:
    return " ".join(text.replace("\u2019", "'").replace("\u2018", "'").split())


def _negated(text: str, start: int) -> bool:
    """Whether one of the three words before ``start`` (in the same clause) negates it."""
    clause = _CLAUSE.split(text[max(0, start - 120) : start])[-1]
    words = clause.lower().split()[-3:]
    return any(word in _NEGATORS or word.endswith("n't") for word in words)


def _first_match(pattern: re.Pattern[str], text: str) -> int | None:
    for match in pattern.finditer(text):
        if not _negated(text, match.start()):
            return match.start()
    return None


def map_action(text: str) -> str:
    """The standard action a free-text note describes, or ``"unknown"``."""
    clean = _normalise(text)
    best: tuple[int, int, str] | None = None
    for order, (action, pattern) in enumerate(_ACTION_RULES):
        start = _first_match(pattern, clean)
        if start is not None and (best is None or (start, order) < best[:2]):
            best = (start, order, action)
    return best[2] if best else "unknown"


_SYMPTOM = r"(?:errors?|error rate|5xx|latency|p99|issue|problem|alerts?|crash\w*|timeouts?|lag|backlog|queue depth)"
#: checked in this order: the first outcome with a match wins
_OUTCOME_RULES: tuple[tuple[str, re.Pattern[str]], ...] = (
    _rule(
        "partial",
        r"\bpartial(?:ly)?\b",
        r"\bsomewhat\b",
        r"\bslight(?:ly)?\s+(?:better|improv\w*)",
        r"\bsome\s+improvement\b",
        r"\bhelped\s+(?:a\s+(?:bit|little)|somewhat|slightly)",
        r"\bnot\s+(?:fully|completely|entirely)\b",
        r"\btemporar(?:y|ily)\b",
        r"\b(?:came|crept|is|was|were|are)\s+back\s+(?:up|after|within|again)\b",
        r"\b(?:improv\w*|recover\w*|dropp?\w*|reduc\w*|better|decreas\w*)\b[^.;]*?\bbut\b",
    ),
    _rule(
        "failed",
        r"\b(?:did\s+not|didn't|does\s+not|doesn't)\s+(?:seem\s+to\s+)?(?:help|fix|resolve|work|improve|change|recover|"
        r"make a difference|do anything)",
        r"\bno\s+(?:effect|improvement|change|difference|impact|luck)\b",
        r"\b(?:still|continued|continues|continuing|remain\w*)\b(?:\W+\w+){0,3}?\W+"
        r"(?:fail\w*|error\w*|elevated|high|down|broken|crash\w*|timing out|degraded|unavailable|spiking|firing)",
        _SYMPTOM + r"(?:\W+\w+){0,2}?\W+(?:persist\w*|continu\w*|unchanged)\b",
        r"\bmade\s+(?:it|things|the issue|matters)\s+worse\b",
        r"\b(?:unsuccessful|ineffective|did nothing)\b",
        r"\bfailed\s+to\s+(?:help|fix|resolve|recover|complete|apply)",
        r"\bnot\s+(?:resolved|fixed|recovered|helped|working)\b",
        r"\b(?:rollback|restart|failover|re-?run|retry|attempt|it|this)\s+(?:also\s+)?failed\b",
    ),
    _rule(
        "escalated",
        r"\bescalat(?:e|ed|ing)\b",
        r"\bpag(?:ed|ing)\s+(?:the\s+)?(?:[\w-]+\s+){0,2}(?:team|on-?call|secondary|sre|dba|vendor|manager|incident commander)",
        r"\bhand(?:ed)?\s+(?:it\s+|this\s+)?(?:over|off)\s+to\b",
        r"\b(?:opened|raised|filed)\s+(?:a\s+)?(?:support\s+)?(?:ticket|case)\s+with\b",
        r"\bengaged\s+(?:the\s+)?(?:[\w-]+\s+){0,2}(?:team|support|vendor|on-?call)\b",
    ),
    _rule(
        "resolved",
        r"\b(?:this|that|which|it)\s+(?:fixed|resolved|solved|mitigated)\b",
        r"\bfix(?:ed)?\s+(?:it|the\s+(?:issue|problem))\b",
        r"\b(?:resolved|recovered|mitigated|stabili[sz]ed|normali[sz]ed|subsided)\b",
        r"\bback\s+to\s+(?:normal|baseline|green|healthy)\b",
        r"\breturned\s+to\s+(?:normal|baseline)\b",
        r"\b(?:healthy|green|right|good|fine|ok|okay|correct|complete|stable|working)\s+again\b",
        r"\b(?:service|traffic|functionality|availability)\s+(?:was\s+|is\s+)?restored\b",
        _SYMPTOM + r"(?:\W+\w+){0,3}?\W+(?:stopped|dropped to (?:zero|0)|went away|gone|cleared|normal)\b",
        r"\bno\s+longer\s+(?:seeing|occurring|firing|failing|erroring|crash\w*)",
        r"\bworked\b",
        r"\ball\s+clear\b",
    ),
)


def map_outcome(text: str) -> str:
    """What the text says happened after an action: resolved, partial, failed, escalated or unknown."""
    clean = _normalise(text)
    for outcome, pattern in _OUTCOME_RULES:
        if _first_match(pattern, clean) is not None:
            return outcome
    return "unknown"


def helped(outcome: str) -> bool | None:
    """Whether the action helped: resolved/partial yes, failed/escalated no, unknown unknown."""
    return {"resolved": True, "partial": True, "failed": False, "escalated": False}.get(outcome)


# -- causes named in free text -------------------------------------------------------------

_CAUSE_CUE = re.compile(
    r"\b(?:caused\s+by|root[- ]?causes?|causes?\b|triggered\s+by|due\s+to|because\s+of|culprit|introduced\s+(?:by|in)|"
    r"regression|dependency\s+(?:failure|outage|issue|problem)|roll(?:ed)?[- ]?back\s+of|attributed\s+to|"
    r"traced\s+(?:back\s+)?to)",
    re.IGNORECASE,
)
_CHANGE_PREFIXES = ("deploy", "config", "flag", "migration", "pipeline")
_ID = r"[A-Za-z0-9](?:[\w.\-:/@]*[A-Za-z0-9])?"
_PREFIXED = re.compile(rf"\b(?P<prefix>{'|'.join(_CHANGE_PREFIXES)}):(?P<key>{_ID})")
_KIND_ID = re.compile(
    r"\b(?P<kind>deploy(?:ment)?|release|config(?:uration)?(?:\s+change)?|(?:feature[- ])?flag(?:\s+change)?|migration)"
    rf"\s+(?:id\s+)?#?(?P<key>{_ID})",
    re.IGNORECASE,
)
_UUID = re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", re.IGNORECASE)
_NOT_AN_ID = re.compile(r"^(?:v?\d+(?:[.:]\d+)+|\d{4}-\d{2}-\d{2}.*|\d{1,3})$", re.IGNORECASE)
#: a migration's script name ("V209__backfill.sql") names a file, not a change event
_FILE_NAME = re.compile(r"__|\.(?:sql|py|rb|js|ts|ya?ml|json|xml|sh)$", re.IGNORECASE)
_NAME = r"(?P<name>[A-Za-z0-9][\w.\-]*[A-Za-z0-9])"
_DOWN = r"(?:was|is|were|went|being)\s+(?:down|unavailable|unreachable|degraded|overloaded|failing|saturated)"
_DEPENDENCY = (
    re.compile(r"\bdependency\s+(?:failure|outage|issue|problem)\s*(?:[:\-–—]|in|of|on)?\s*(?:the\s+)?" + _NAME, re.I),
    re.compile(r"\b(?:outage|failure|degradation|unavailability)\s+(?:of|in)\s+(?:the\s+)?" + _NAME, re.I),
    re.compile(_NAME + r"(?:\s+(?:primary|database|db|cluster|service|instance|broker|cache|api))?\s+" + _DOWN, re.I),
    re.compile(_NAME + r"\s+outage\b", re.I),
)
_NOT_A_NAME = frozenset(
    {
        *("the", "a", "an", "it", "this", "that", "which", "its", "our", "their", "everything", "something"),
        *("service", "database", "db", "cluster", "primary", "replica", "server", "host", "node", "system", "api"),
        *("network", "dependency", "upstream", "downstream", "provider", "vendor", "region", "zone", "config", "deploy"),
    }
)
_RELEASE = re.compile(
    r"\b(?:roll(?:ed|ing)?[- ]?back\s+of|(?:deploy(?:ment)?|release|rollout)\s+of)\s+(?:the\s+)?"
    r"(?P<service>[A-Za-z][\w.\-]*?)\s+(?:version\s+)?v?(?P<version>\d+(?:\.\d+)+[\w.\-]*)",
    re.IGNORECASE,
)
#: sentence ends, blank lines, and line breaks before a list item, table row or heading
_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n\s*\n|\n(?=\s*(?:[-*+|#]|\d+[.)])\s)")


@dataclass(frozen=True, slots=True)
class Cause:
    """A cause named in text: a change id, a failing dependency, or a service release without an id."""

    evidence: str
    change: str | None = None
    dependency: str | None = None
    release: str | None = None


def change_id(value: str) -> str | None:
    """A change node id from ``deploy:<id>`` (etc.) or a bare CDEvents UUID (a deploy); else ``None``."""
    text = value.strip()
    match = _PREFIXED.fullmatch(text)
    if match:
        return f"{match['prefix']}:{match['key']}"
    return f"deploy:{text.lower()}" if _UUID.fullmatch(text) else None


def _kind_prefix(kind: str) -> str:
    kind = kind.lower()
    for word, prefix in (("config", "config"), ("flag", "flag"), ("migration", "migration")):
        if word in kind:
            return prefix
    return "deploy"


def _changes(sentence: str) -> list[str]:
    found = [f"{m['prefix']}:{m['key']}" for m in _PREFIXED.finditer(sentence)]
    for match in _KIND_ID.finditer(sentence):
        key = match["key"]
        if any(ch.isdigit() for ch in key) and not _NOT_AN_ID.match(key) and ":" not in key and not _FILE_NAME.search(key):
            found.append(f"{_kind_prefix(match['kind'])}:{key}")
    for match in _UUID.finditer(sentence):
        if not any(match[0].lower() in item.lower() for item in found):
            found.append(f"deploy:{match[0].lower()}")
    return list(dict.fromkeys(found))


def _dependencies(sentence: str) -> list[str]:
    names: list[str] = []
    for pattern in _DEPENDENCY:
        names += [m["name"] for m in pattern.finditer(sentence) if m["name"].lower() not in _NOT_A_NAME]
    return list(dict.fromkeys(names))


def find_causes(text: str, *, causal: bool = False) -> list[Cause]:
    """Causes named in ``text``; only sentences with a cause cue count unless ``causal`` (a root-cause section).

    Explicit change ids win over dependencies in the same sentence; a release
    named without an id ("rollback of payments 1.42.0") is reported as such.
    """
    out: list[Cause] = []
    for sentence in (s.strip() for s in _SENTENCE.split(text)):
        if not sentence or not (causal or _CAUSE_CUE.search(sentence)):
            continue
        evidence = _normalise(sentence)[:500]
        changes = _changes(sentence)
        out += [Cause(evidence, change=c) for c in changes]
        if not changes:
            out += [Cause(evidence, dependency=d) for d in _dependencies(sentence)]
            out += [Cause(evidence, release=f"{m['service']} {m['version']}") for m in _RELEASE.finditer(sentence)]
    return out
