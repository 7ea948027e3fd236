"""Keyword queries, shared by every backend: from what a user typed to the terms to look up.

A query is plain words, never search syntax. It is split on white space into
*terms*; each backend searches every term as one quoted phrase (so ``foo-bar``
is the phrase "foo bar", and ``OR``, ``*``, ``:`` or ``"`` are just text) and
OR-s the terms together::

    >>> query_terms("restarting checkout OR the pods* (NOT) db's")
    ['restarting', 'checkout', 'pods*', 'db']

A term that holds no word besides stop words is dropped, so a query of stop
words alone finds nothing on every backend. The stop words are those of
Lucene's English analyzer (what Neo4j's ``english`` full-text analyzer drops);
SQLite FTS5 keeps every word, so dropping them here keeps both backends alike.
"""

from __future__ import annotations

import re
import unicodedata

from graph.schema import TEXT_FIELDS, NodeLabel

#: the labels keyword search covers, in schema order
TEXT_LABELS: tuple[NodeLabel, ...] = tuple(TEXT_FIELDS)
#: every field indexed on some label: one column of the SQLite index, one property of Neo4j's
TEXT_COLUMNS: tuple[str, ...] = tuple(dict.fromkeys(f for fields in TEXT_FIELDS.values() for f in fields))
#: how much a match in each field counts; a title or heading says more than body text
FIELD_WEIGHTS: dict[str, float] = {"name": 3.0, "heading": 2.0, "summary": 1.5, "description": 1.0, "text": 1.0}
#: Lucene's ``EnglishAnalyzer.ENGLISH_STOP_WORDS_SET``
STOP_WORDS = frozenset(
    {
        "a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "if", "in", "into", "is", "it", "no",
        "not", "of", "on", "or", "such", "that", "the", "their", "then", "there", "these", "they", "this", "to",
        "was", "will", "with"
    }
)
#: more terms than this are ignored (a pasted page is not a keyword query; keeps Lucene under its clause limit)
MAX_TERMS = 32
#: a longer term is cut (no word is this long; keeps Lucene's 255-character tokens whole)
MAX_TERM_CHARS = 200

_WORD = re.compile(r"[^\W_]+")
# Lucene's EnglishPossessiveFilter drops a trailing 's (with any of these apostrophes) from each word
_POSSESSIVE = re.compile(r"(?<=[^\W_])['\u2019\uff07][sS](?![^\W_])")


def weight(field: str) -> float:
    return FIELD_WEIGHTS.get(field, 1.0)


def _printable(text: str) -> str:
    """``text`` with control, format, private-use, unassigned and lone surrogate characters as spaces."""
    return "".join(" " if unicodedata.category(ch).startswith("C") else ch for ch in text)


def query_terms(query: str) -> list[str]:
    """The distinct terms of ``query`` (case-insensitively), in order, at most :data:`MAX_TERMS`."""
    terms: list[str] = []
    seen: set[str] = set()
    for raw in _printable(query).split():
        term = _POSSESSIVE.sub("", raw[:MAX_TERM_CHARS])
        key = term.casefold()
        if key in seen or all(w in STOP_WORDS for w in _WORD.findall(key)):
            continue
        seen.add(key)
        terms.append(term)
        if len(terms) == MAX_TERMS:
            break
    return terms
