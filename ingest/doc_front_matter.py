"""YAML front matter at the top of a Markdown or text runbook.

The block between a first line ``---`` and the next ``---`` (or ``...``) line
is front matter when it is a YAML mapping. Its scalars and lists of scalars
become runbook properties; ``title`` names the runbook::

    >>> fm = read_front_matter(["---", "title: Disk full", "tags: [disk, storage]", "---", "# Body"])
    >>> fm.end, fm.title, fm.props
    (4, 'Disk full', {'tags': ['disk', 'storage']})

A block that is not YAML at all is left in the text (``---`` may be a rule);
one that looks like YAML but does not parse is dropped and reported.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import yaml

from graph.model import NODE_RESERVED, PropValue
from ingest.records import RecordError

#: property names the runbook node sets itself; front matter cannot override them
OWN_PROPS = frozenset({"title", "format", "sections", "words"})
_MAX_LINES = 400
_LOOKS_LIKE_YAML = re.compile(r"^\s*[\w\"'-][^:]*:(\s|$)")
_INT64 = (-(2**63), 2**63 - 1)


@dataclass(frozen=True, slots=True)
class FrontMatter:
    """``end`` is the number of lines the front matter takes (0 when there is none)."""

    end: int = 0
    title: str | None = None
    values: dict[str, Any] = field(default_factory=dict)
    props: dict[str, PropValue] = field(default_factory=dict)
    errors: tuple[RecordError, ...] = ()


def read_front_matter(lines: list[str]) -> FrontMatter:
    """Find and parse the front matter at the top of ``lines`` (newlines already removed)."""
    if not lines or lines[0].rstrip() != "---":
        return FrontMatter()
    end = next((i for i in range(1, min(len(lines), _MAX_LINES)) if lines[i].rstrip() in ("---", "...")), 0)
    if not end:
        return FrontMatter()
    body = lines[1:end]
    try:
        values = yaml.safe_load("\n".join(body))
    except (yaml.YAMLError, ValueError, TypeError, RecursionError) as exc:
        if not any(_LOOKS_LIKE_YAML.match(line) for line in body):
            return FrontMatter()
        return FrontMatter(end=end + 1, errors=(RecordError("line 1", f"front matter is not valid YAML ({_problem(exc)})"),))
    if values is None:
        return FrontMatter(end=end + 1)
    if not isinstance(values, dict):
        return FrontMatter()
    return FrontMatter(end=end + 1, title=_title(values.get("title")), values=values, props=props_of(values))


def _problem(exc: BaseException) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or (str(exc).splitlines() or [type(exc).__name__])[0]
    return f"line {mark.line + 2}: {problem}" if mark is not None else problem


def _title(value: object) -> str | None:
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        text = " ".join(str(value).split())
        return text or None
    return None


def props_of(values: dict[Any, Any]) -> dict[str, PropValue]:
    """Front-matter values as node properties: scalars and flat lists; nested values are ignored."""
    out: dict[str, PropValue] = {}
    for key, value in values.items():
        name = str(key).strip()
        if not name or name in NODE_RESERVED or name in OWN_PROPS:
            continue
        prop = _prop(value)
        if prop is not None:
            out[name] = prop
    return out


def _prop(value: object) -> PropValue | None:
    if isinstance(value, list | tuple):
        items = [_scalar(item) for item in value if item is not None]
        if not items or any(item is None for item in items):
            return None
        if len({type(item) for item in items}) > 1:
            return [str(item) for item in items]
        return items  # type: ignore[return-value]
    return _scalar(value)


def _scalar(value: object) -> str | int | float | bool | None:
    if isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        return value if _INT64[0] <= value <= _INT64[1] else str(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, datetime | date):
        return value.isoformat()
    return None
