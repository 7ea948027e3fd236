"""Building blocks of the deterministic free-text rules (:mod:`ingest.actions`, :mod:`ingest.outcomes`).

A rule is a name and one regular expression made of alternatives. A match
does not count when the words just before it negate it ("did not roll
back"), and a match of an *action* does not count when those words make it a
mention rather than something done: a plan or a hypothesis ("will re-run",
"would roll back"), a reference to an earlier action ("after the
switchover", "the release that was rolled back"), or someone else's task
("an e-mail to retry")::

    >>> negation("We did not roll back", 11)
    'not'
    >>> mentioned("cancelling would roll back", 17)
    True
"""

from __future__ import annotations

import re

#: up to three words in between, within one clause
GAP = r"(?:[^\w.;:!?]+[\w.\-/]+){0,3}?[^\w.;:!?]+"

_CLAUSE = re.compile(r"[.;:!?,\n(]|\b(?:so|then|but|and|after|once|which)\b", re.IGNORECASE)
_NEGATORS = frozenset(
    {"not", "no", "never", "without", "instead", "rather", "considered", "considering", "against", "whether", "if"}
)
#: negators that say the thing did not happen (the others make it hypothetical)
DENIALS = frozenset({"not", "no", "never", "without"})
_MENTION = re.compile(
    r"(?:"
    # a plan, a hypothesis or a wish
    r"\b(?:will|would|could|might|should|shall|going\s+to|plan(?:s|ned|ning)?\s+to|need(?:s|ed)?\s+to|"
    r"want(?:s|ed)?\s+to|tr(?:y|ies|ying)\s+to|e-?mails?\s+to|asked\s+[\w-]+\s+to|told\s+[\w-]+\s+to)\s+(?:[\w-]+\s+){0,3}"
    # a reference to something done before
    r"|\b(?:after|since|before|until|of|from|during|like|than)\s+(?:the|that|this|a|an|last|previous|earlier)\s+"
    r"(?:[\w.\-/]+\s+){0,2}"
    r"|\b(?:that|which|who)\s+(?:was|were|had\s+been|has\s+been|got)\s+"
    r")$",
    re.IGNORECASE,
)


def rule(name: str, *patterns: str) -> tuple[str, re.Pattern[str]]:
    """A named rule: the alternatives compiled as one case-insensitive pattern."""
    return name, re.compile("|".join(f"(?:{p})" for p in patterns), re.IGNORECASE)


def normalise(text: str) -> str:
    """Curly quotes straightened, runs of white space made one space."""
    return " ".join(text.replace("\u2019", "'").replace("\u2018", "'").split())


def negation(text: str, start: int) -> str | None:
    """The word among the three before ``start`` (in the same clause) that negates it, if any."""
    clause = _CLAUSE.split(text[max(0, start - 120) : start])[-1]
    for word in reversed(clause.lower().split()[-3:]):
        if word in _NEGATORS:
            return word
        if word.endswith("n't"):
            return "not"
    return None


def mentioned(text: str, start: int) -> bool:
    """Whether the words before ``start`` make an action phrase a plan, a hypothesis or a reference."""
    return bool(_MENTION.search(text[max(0, start - 80) : start]))


_QUOTED = re.compile(r"(?:CREATE|ALTER|DROP|DELETE|UPDATE|INSERT|VACUUM|REINDEX|TRUNCATE|KILL)\b")
_RUN = re.compile(r"\b(?:ran|run|executed|issued|did|forced|with|via|using|then)\s+$", re.IGNORECASE)


def _named(text: str, match: re.Match[str]) -> bool:
    """Part of an identifier (``ratelimit.per_client_rps``) or a statement quoted as a subject
    ("CREATE INDEX on orders holds a lock"), not something someone did."""
    before, after = text[max(0, match.start() - 1) : match.start()], text[match.end() : match.end() + 2]
    if before in (".", "/", "_") or re.match(r"[./_]\w", after):
        return True
    return bool(_QUOTED.match(match[0])) and not _RUN.search(text[max(0, match.start() - 20) : match.start()])


def first_match(pattern: re.Pattern[str], text: str, *, action: bool = False) -> int | None:
    """Where the first match starts that is not negated and, for an action, not only mentioned or named."""
    for match in pattern.finditer(text):
        if negation(text, match.start()) is not None:
            continue
        if not action or not (mentioned(text, match.start()) or _named(text, match)):
            return match.start()
    return None
