"""Secret redaction: what a reader produced, with secrets replaced before anything is stored or embedded.

API keys and tokens of common providers, passwords in URLs and connection
strings, JWTs, private key blocks, ``Authorization`` headers and
high-entropy values assigned to secret-looking names become a typed
placeholder, ``[REDACTED:<kind>]``, counted per kind. Git shas, digests,
UUIDs, versions, resource names and templates (``${VAR}``, ``<password>``)
stay. Redaction is deterministic and idempotent::

    >>> text, counts = redact("export DB_URL=postgres://app:Zq8vR2mXw7Lp@db:5432/orders")
    >>> text
    'export DB_URL=postgres://app:[REDACTED:url-password]@db:5432/orders'
    >>> dict(counts)
    {'url-password': 1}

:func:`redact_result` applies it to a reader's :class:`~ingest.records.ReadResult`
(node names and properties, edge and hinted-edge properties, documents, error
messages); ids are natural keys and never change. The rules are in
:mod:`ingest.redaction_rules`; docs/redaction.md lists them.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from functools import cache
from typing import TypeVar

from graph.errors import ConfigError
from ingest.records import ReadResult
from ingest.redaction_checks import PLACEHOLDER_PREFIX, looks_secret, secret_key
from ingest.redaction_rules import RULES, Rule
from ingest.redaction_walk import Rewrite, result_strings, rewrite_result, rewrite_value

T = TypeVar("T")
#: joins the strings of a result so that one pass redacts them all; no rule matches across it
_SEPARATOR = "\n\x1e\n"
_PLACEHOLDER_END = re.compile(r"\[REDACTED:[a-z0-9-]{1,40}\]\Z")


def placeholder(kind: str) -> str:
    """The text that replaces a secret of ``kind``: ``[REDACTED:<kind>]``."""
    return f"[REDACTED:{kind}]"


class Redactor:
    """Replaces secrets in text by typed placeholders, with a count per kind.

    Example::

        >>> Redactor().redact("curl -H 'Authorization: Bearer 9fQ2xLm7Rt4ZpW8kVb3N' https://api")[0]
        "curl -H 'Authorization: Bearer [REDACTED:bearer-token]' https://api"
    """

    def __init__(self, rules: Iterable[Rule] = RULES) -> None:
        self.rules = tuple(rules)
        if not self.rules:
            raise ConfigError("redaction rules: expected at least one rule, got none")

    def redact(self, text: str) -> tuple[str, Counter[str]]:
        """``text`` with every secret replaced by ``[REDACTED:<kind>]``, and the count per kind.

        Rules with a literal prefix scan the whole text (fast); the others run only on the lines
        that hold one of their keywords, so ordinary text costs a few substring searches.
        """
        counts: Counter[str] = Counter()
        if not text:
            return text, counts
        lowered: str | None = None
        for rule in self.rules:
            if rule.keywords:
                lowered = _lower(text) if lowered is None else lowered
                windows = _windows(lowered, rule.keywords)
            else:
                windows = [(0, len(text))]
            if windows:
                redacted = _apply(rule, text, windows, counts)
                if redacted is not text:
                    text, lowered = redacted, None
        return text, counts

    def redact_keyed(self, key: str, value: str) -> tuple[str, Counter[str]]:
        """Redact a property value; a random-looking value under a secret name (``api_key``) goes whole."""
        text, counts = self.redact(value)
        if not counts and secret_key(key) and looks_secret(value):
            counts["generic-secret"] += 1
            return placeholder("generic-secret"), counts
        return text, counts

    def redact_value(self, value: T) -> tuple[T, Counter[str]]:
        """Redact strings inside JSON-like data (str, list, tuple, dict, nested); other values pass through.

        Dict keys are kept and give context to their values (``{"api_key": "..."}``); counts
        are per distinct string. Unchanged data is returned as the very same object::

            >>> Redactor().redact_value({"dsn": "redis://:Tq7vN3xW9bZk@cache:6379/0", "port": 6379})[0]["dsn"]
            'redis://:[REDACTED:url-password]@cache:6379/0'
        """
        counts: Counter[str] = Counter()
        return rewrite_value(value, None, self._counting_rewrite(counts)), counts

    def redact_result(self, result: ReadResult) -> tuple[ReadResult, Counter[str]]:
        """A new :class:`~ingest.records.ReadResult` with node names and properties, edge and
        hinted-edge properties, document titles, headings, sections and front matter, and error
        messages redacted. Ids and edge keys never change. Nothing to redact: the same object back.

        Counts are per distinct text: a section stored both as a Section node and as a document
        section counts once. All distinct strings are redacted in one pass over their
        concatenation; only records holding a changed string are rebuilt (and validated again).
        """
        strings, keyed_values = result_strings(result, secret_key)
        unique = list(dict.fromkeys(strings))
        redacted, counts = self.redact(_SEPARATOR.join(unique))
        changed: dict[str, str] = {}
        if counts:
            parts = redacted.split(_SEPARATOR)
            if len(parts) != len(unique):  # a string held the separator itself: go one by one
                return self._redact_result_slowly(result)
            changed = {old: new for old, new in zip(unique, parts, strict=True) if old != new}
        keyed = {value for _, value in keyed_values if looks_secret(changed.get(value, value))}
        if not changed and not keyed:
            return result, counts
        if keyed:
            counts["generic-secret"] += len(keyed)
        return rewrite_result(result, _rewrite_from(changed, keyed)), counts

    def _redact_result_slowly(self, result: ReadResult) -> tuple[ReadResult, Counter[str]]:
        counts: Counter[str] = Counter()
        return rewrite_result(result, self._counting_rewrite(counts)), counts

    def _counting_rewrite(self, counts: Counter[str]) -> Rewrite:
        """Redact each string on its own (a property value with its key as context); each distinct
        text adds to ``counts`` once."""
        seen: dict[tuple[bool, str], str] = {}

        def one(key: str | None, text: str) -> str:
            keyed = key is not None and secret_key(key)
            if (keyed, text) not in seen:
                new, found = self.redact_keyed(key, text) if key is not None and keyed else self.redact(text)
                counts.update(found)
                seen[keyed, text] = new if found else text
            return seen[keyed, text]

        return one


def _rewrite_from(changed: dict[str, str], keyed: set[str]) -> Rewrite:
    """A rewrite that applies the text redactions, then whole-value redaction under secret keys."""

    def one(key: str | None, text: str) -> str:
        if key is not None and text in keyed and secret_key(key):
            return placeholder("generic-secret")
        return changed.get(text, text)

    return one


def _lower(text: str) -> str:
    """Lower case with the same length, so positions found in it hold in ``text``."""
    lowered = text.lower()
    return lowered if len(lowered) == len(text) else "".join(c.lower()[:1] or c for c in text)


def _windows(haystack: str, keywords: tuple[str, ...]) -> list[tuple[int, int]]:
    """The lines of ``haystack`` holding one of the keywords, in order and merged."""
    spans: list[tuple[int, int]] = []
    for keyword in keywords:
        pos = haystack.find(keyword)
        while pos >= 0:
            start = haystack.rfind("\n", 0, pos) + 1
            end = haystack.find("\n", pos)
            end = len(haystack) if end < 0 else end
            spans.append((start, end))
            pos = haystack.find(keyword, end)
    if len(spans) < 2:
        return spans
    spans.sort()
    merged = [spans[0]]
    for start, end in spans[1:]:
        if start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _apply(rule: Rule, text: str, windows: list[tuple[int, int]], counts: Counter[str]) -> str:
    pieces: list[str] = []
    last = 0
    for window_start, window_end in windows:
        for match in rule.pattern.finditer(text, window_start, window_end):
            start, end = rule.secret_span(match)
            if _touches_placeholder(text, start, end) or (rule.check is not None and not rule.check(text[start:end], match)):
                continue
            pieces += (text[last:start], placeholder(rule.kind))
            last = end
            counts[rule.kind] += 1
    if not pieces:
        return text
    pieces.append(text[last:])
    return "".join(pieces)


def _touches_placeholder(text: str, start: int, end: int) -> bool:
    """A candidate glued to a placeholder was glued to a secret before: leaving it keeps redaction idempotent."""
    if text.startswith(PLACEHOLDER_PREFIX, end):
        return True
    return text.endswith("]", 0, start) and _PLACEHOLDER_END.search(text, max(0, start - 64), start) is not None


@cache
def default_redactor() -> Redactor:
    """The redactor with every built-in rule (built once, on first use)."""
    return Redactor()


def redact(text: str) -> tuple[str, Counter[str]]:
    """Redact ``text`` with the built-in rules; see :meth:`Redactor.redact`."""
    return default_redactor().redact(text)


def redact_value(value: T) -> tuple[T, Counter[str]]:
    """Redact JSON-like data with the built-in rules; see :meth:`Redactor.redact_value`."""
    return default_redactor().redact_value(value)


def redact_result(result: ReadResult) -> tuple[ReadResult, Counter[str]]:
    """Redact a reader's result with the built-in rules; see :meth:`Redactor.redact_result`.

    Example::

        redacted, counts = redact_result(READER.read(file, ctx))
        report.redactions.update(counts)
    """
    return default_redactor().redact_result(result)
