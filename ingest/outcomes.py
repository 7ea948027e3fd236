"""What free text says happened after an action: resolved, partial, failed, escalated or unknown.

Ordered regex rules, no model. The first outcome with a match that is not
negated wins; recovery wording that *is* negated ("p99 not back to normal",
"never recovered") says the action failed::

    >>> map_outcome("Rolled back cart to 3.36.2 — checkout p99 back to 450ms.")
    'resolved'
    >>> map_outcome("Scaled search to 16 replicas — CPU fine now but p99 still 2.5s")
    'failed'
    >>> map_outcome("error rate not back to baseline")
    'failed'
"""

from __future__ import annotations

import re

from ingest.text_rules import DENIALS, first_match, negation, normalise, rule

OUTCOMES: tuple[str, ...] = ("resolved", "partial", "failed", "escalated", "unknown")

#: what was observed: an error count, a latency percentile, a queue
_SYMPTOM = (
    r"(?:errors?|error rate|error ratio|[45]xx|\d{3}s|latency|p\d{2,3}|issue|problem|alerts?|crash\w*|timeouts?|"
    r"lag|backlog|queue depth|declines?|decline rate|failures?|evictions?|rejections?)"
)
#: a measure that can go back to where it was
_METRIC = _SYMPTOM[:-1] + r"|hit rate|success rate|isr|cpu|memory|throughput|traffic|queue|disk)"
_GOOD_AGAIN = (
    r"healthy|green|right|good|fine|ok|okay|correct|complete|stable|working|normal|fast|responsive|up|"
    r"succe\w*|flow\w*|pass\w*|serv\w*|process\w*|accept\w*|load\w*|respond\w*"
)
#: a word in between that does not deny what follows ("p99 not back to normal")
_WORD = r"(?!(?:not|no|never|hasn't|haven't|isn't|aren't|wasn't|weren't)\b)[\w.%,']+"
#: checked in this order: the first outcome with a match wins
_OUTCOME_RULES: tuple[tuple[str, re.Pattern[str]], ...] = (
    rule(
        "partial",
        r"\bpartial(?:ly)?\b",
        r"\bsomewhat\b",
        r"\bslight(?:ly)?\s+(?:better|improv\w*)",
        r"\bimprov\w*\s+(?:only\s+)?(?:slightly|a\s+(?:bit|little)|somewhat|marginally)",
        r"\bsome\s+improvement\b",
        r"\bhelped\s+(?:a\s+(?:bit|little)|somewhat|slightly)",
        r"\bnot\s+(?:fully|completely|entirely)\b",
        r"\btemporar(?:y|ily)\b",
        r"\b(?:came|crept|is|was|were|are)\s+back\s+(?:up|after|within|again)\b",
        r"\bthen\s+(?:came|crept|went)\s+back\b(?!\s+(?:to|under|below|down)\b)",
        r"\b(?:improv\w*|recover\w*|dropp?\w*|reduc\w*|better|decreas\w*)\b[^.;]*?\bbut\b",
    ),
    rule(
        "failed",
        r"\b(?:did\s+not|didn't|does\s+not|doesn't)\s+(?:seem\s+to\s+)?(?:help|fix|resolve|work|improve|change|recover|"
        r"make a difference|do anything)",
        r"\bno\s+(?:visible\s+|noticeable\s+)?(?:effect|improvement|change|difference|impact|luck)\b",
        r"\b(?:still|continued|continues|continuing|remain\w*)\b(?:\W+\w+){0,3}?\W+"
        r"(?:fail\w*|error\w*|elevated|high|down|broken|crash\w*|timing out|degraded|unavailable|spiking|firing)",
        r"\bstill\s+(?:at\s+|around\s+|about\s+|over\s+|above\s+)?[~≈]?\d",
        _SYMPTOM + r"(?:\W+\w+){0,2}?\W+(?:persist\w*|continu\w*|unchanged)\b",
        _METRIC + r"\W+(?:\w+\W+){0,2}?(?:stayed|remained|held)\s+(?:at|flat|high|elevated|the same|unchanged)\b",
        r"\b(?:made|making)\s+(?:it|things|the issue|matters|the problem|everything)\s+worse\b",
        r"\b(?:got|getting|became|even|much|things)\s+worse\b|\bworsen(?:ed|ing|s)?\b",
        _METRIC + r"\W+(?:\w+\W+){0,2}?(?:increased|rose|climbed|spiked|doubled|tripled|jumped|went\s+up)\b",
        r"\b(?:unsuccessful|ineffective|did nothing)\b",
        r"\bfailed\s+to\s+(?:help|fix|resolve|recover|complete|apply)",
        r"\bnot\s+(?:resolved|fixed|recovered|helped|working)\b",
        r"\b(?:not|never|hasn't|haven't|isn't|aren't)\s+(?:yet\s+)?(?:back|gone|stopped|cleared|improved|better)\b",
        r"\b(?:rollback|restart|failover|re-?run|retry|attempt|it|this)\s+(?:also\s+)?failed\b",
    ),
    rule(
        "escalated",
        r"\bescalat(?:e|ed|ing)\b",
        r"\bpag(?:ed|ing)\s+(?:the\s+)?(?:[\w-]+\s+){0,2}(?:team|on-?call|secondary|sre|dba|vendor|manager|incident commander)",
        r"\bhand(?:ed)?\s+(?:it\s+|this\s+)?(?:over|off)\s+to\b",
        r"\b(?:opened|raised|filed)\s+(?:a\s+)?(?:support\s+)?(?:ticket|case)\s+with\b",
        r"\bengaged\s+(?:the\s+)?(?:[\w-]+\s+){0,2}(?:team|support|vendor|on-?call)\b",
    ),
    rule(
        "resolved",
        r"\b(?:this|that|which|it)\s+(?:fixed|resolved|solved|mitigated)\b",
        r"\bfix(?:ed)?\s+(?:it|the\s+(?:issue|problem))\b",
        r"\b(?:resolved|recover(?:ed|y)|mitigated|stabili[sz]ed|normali[sz]ed|subsided|caught\s+up)\b",
        r"\bback\s+to\s+(?:normal|baseline|green|healthy)\b",
        _METRIC + r"\b(?:\W+" + _WORD + r"){0,2}?\W+back\s+(?:to|under|below|within|at|down)\b",
        _METRIC + r"\b(?:\W+" + _WORD + r"){0,2}?\W+(?:under|below)\s+[~≈]?\d",
        r"\breturned\s+to\s+(?:normal|baseline)\b",
        rf"\b(?:{_GOOD_AGAIN})\s+again\b",
        r"\b(?:then|now|turned|went|is|was|back)\s+(?:green|healthy)\b",
        r"\b(?:service|traffic|functionality|availability)\s+(?:was\s+|is\s+)?restored\b",
        _SYMPTOM + r"(?:\W+" + _WORD + r"){0,3}?\W+(?:stopped|dropped to (?:zero|0)|went away|gone|cleared|normal)\b",
        r"\b(?:lag|backlog|queue)\w*\W+(?:\w+\W+){0,2}?drain(?:ed|ing)\b",
        r"\bno\s+longer\s+(?:seeing|occurring|firing|failing|erroring|crash\w*)",
        r"\bstable\s+for\b",
        r"\bworked\b",
        r"\ball\s+clear\b",
    ),
)


def _recovery_denied(pattern: re.Pattern[str], text: str) -> bool:
    return any(negation(text, m.start()) in DENIALS for m in pattern.finditer(text))


def map_outcome(text: str) -> str:
    """What the text says happened after an action: resolved, partial, failed, escalated or unknown."""
    clean = normalise(text)
    for outcome, pattern in _OUTCOME_RULES:
        if first_match(pattern, clean) is not None:
            return outcome
        if outcome == "resolved" and _recovery_denied(pattern, clean):
            return "failed"
    return "unknown"


def helped(outcome: str) -> bool | None:
    """Whether the action helped: resolved/partial yes, failed/escalated no, unknown unknown."""
    return {"resolved": True, "partial": True, "failed": False, "escalated": False}.get(outcome)
