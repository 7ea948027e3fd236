"""Postmortem Markdown: optional YAML front matter, then Summary, Impact, Timeline, Root cause, Resolution, Action items.

::

    ---
    type: postmortem
    incident_id: Q2K7W1N0GZ3B4C
    services: [checkout]
    cause_change: deploy:5b0c7e4e-2f7d-4b59-9c3e-6a1e2d8f4c11
    ---
    # Checkout 5xx after the 2.4.0 deploy
    ## Timeline
    - 14:05 UTC 5xx ratio on checkout climbs to 7%
    ## Resolution
    - 14:22 Rolled back checkout to 2.3.9; error rate back to normal by 14:31.

The postmortem ``DESCRIBES`` its incident (``incident:<incident_id>``, a
placeholder until the incident tool's record arrives; without an id the
document stands for an incident ``incident:postmortem/<path>``). Causes come
from the front matter and the Root cause section, Remediation / Outcome
records from the Resolution section, and the text becomes a ``Document``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from graph.errors import FormatError, VidyaError
from graph.model import Edge, Node, Props
from graph.schema import NodeLabel, RelType, check_node_id, node_id
from ingest.actions import map_action
from ingest.chunking import Outline, chunk_parts
from ingest.common import load_yaml_documents
from ingest.doc_markdown import outline_markdown
from ingest.incident_alerts import triggered_edges
from ingest.pagerduty import ActionText, cause_records, remediation_records, service_hint
from ingest.postmortem_facts import (
    causes,
    detected_by,
    detection_fingerprints,
    front_list,
    front_scalar,
    mark_fix,
)
from ingest.records import Document, HintedEdge, ReadContext, ReadResult, RecordError, SourceFile
from ingest.registry import PRIORITY_INCIDENTS

_SUFFIXES = (".md", ".markdown")
_SNIFF_BYTES = 65536
_HEADING = re.compile(r"^(#{1,6})[ \t]+(.+?)(?:[ \t]+#+)?[ \t]*$")
_FENCE = re.compile(r"^[ \t]{0,3}(```|~~~)")
_FRONT_TYPE = re.compile(r"^type:\s*[\"']?post-?mortem[\"']?\s*$", re.IGNORECASE | re.MULTILINE)
_CATEGORIES: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (name, re.compile(pattern))
    for name, pattern in (
        ("summary", r"^(?:executive |incident )?summary\b"),
        ("impact", r"^(?:customer |user |business )?impact\b"),
        ("timeline", r"^(?:incident |detailed )?timeline\b"),
        ("root_cause", r"\broot causes?\b|^causes?$"),
        ("action_items", r"^(?:action items?|follow ?ups?|follow ?up (?:actions|items)|(?:corrective|preventive) actions)\b"),
        ("resolution", r"^(?:resolution|remediation|mitigation|recovery)\b"),
    )
)
#: a file is a postmortem with two of these headings, one of them distinctive
_SNIFF_CATEGORIES = frozenset({"summary", "timeline", "root_cause", "resolution", "action_items"})
_DISTINCTIVE = frozenset({"timeline", "root_cause", "action_items"})
_LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+(?:\[[ xX]\]\s+)?(?P<text>.*)$")
_TIME = r"(?:(?P<date>\d{4}-\d{2}-\d{2})[ T])?(?P<clock>\d{1,2}:\d{2}(?::\d{2})?)(?:\s*(?P<tz>UTC|GMT|Z|[+-]\d{2}:?\d{2})\b)?"
_TIMELINE_LINE = re.compile(rf"^\s*(?:[-*+]|\d+[.)])?\s*(?:\*\*|__)?{_TIME}(?:\*\*|__)?\s*(?:[-–—:|]\s*)?(?P<text>\S.*)$")
_TIME_CELL = re.compile(rf"^(?:\*\*|__)?{_TIME}(?:\*\*|__)?$")
_CLOCK_IN_TEXT = re.compile(r"\b(?P<clock>\d{1,2}:\d{2})\b(?:\s*(?P<tz>UTC|GMT|Z)\b)?")
_SENTENCE = re.compile(r"(?<=[.!?])\s+")


@dataclass(frozen=True, slots=True)
class _Block:
    """A heading: its level, its text and its line."""

    level: int
    heading: str
    line: int

    @property
    def category(self) -> str | None:
        return category(self.heading)


@dataclass(frozen=True, slots=True)
class _Entry:
    """A timeline line: its clock text, its time when a date is known, and what happened."""

    clock: str
    at: datetime | None
    text: str


def category(heading: str) -> str | None:
    """The postmortem section a heading names (``timeline``, ``root_cause``...), or ``None``."""
    words = " ".join(re.sub(r"[^a-z]+", " ", heading.lower()).split())
    return next((name for name, pattern in _CATEGORIES if pattern.search(words)), None)


def _blocks(lines: list[str], first_line: int = 1) -> list[_Block]:
    """The ATX headings outside fenced code, from ``first_line`` on (cheap enough for ``sniff``)."""
    found: list[_Block] = []
    fence: str | None = None
    for number, line in enumerate(lines[first_line - 1 :], start=first_line):
        marker = _FENCE.match(line)
        if marker:
            fence = None if fence == marker[1] else fence or marker[1]
        elif fence is None and (match := _HEADING.match(line)):
            found.append(_Block(len(match[1]), match[2].strip(), number))
    return found


def _split_front_matter(lines: list[str], path: str) -> tuple[int, str | None]:
    """(first body line, front matter text or None)."""
    if not lines or lines[0].strip() != "---":
        return 1, None
    for index in range(1, len(lines)):
        if lines[index].strip() in ("---", "..."):
            return index + 2, "\n" + "\n".join(lines[1:index])
    raise FormatError(f"{path}: line 1: front matter is not closed (expected a line '---' after it)")


def _front_matter(source: str | None, path: str) -> dict[str, Any]:
    if source is None:
        return {}
    try:  # the leading newline keeps YAML's line numbers equal to the file's
        documents = load_yaml_documents(source, path)
    except (ValueError, OverflowError, RecursionError) as exc:  # raised by PyYAML's constructors (dates, nesting)
        raise FormatError(f"{path}: front matter: invalid value ({exc})") from None
    value = documents[0][1] if documents else None
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise FormatError(f"{path}: front matter: expected a mapping of keys to values, got {type(value).__name__}")
    return {str(k): v for k, v in value.items()}


def _sniff_text(head: str) -> bool:
    lines = head.splitlines()
    end = next((i for i, line in enumerate(lines[1:], start=1) if line.strip() == "---"), 0) if lines[:1] == ["---"] else 0
    if end and _FRONT_TYPE.search("\n".join(lines[1:end])):
        return True
    found = {b.category for b in _blocks(lines, end + 1)} & _SNIFF_CATEGORIES
    return len(found) >= 2 and bool(found & _DISTINCTIVE)


def _base_date(front: dict[str, Any]) -> date | None:
    value = front.get("date")
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip()[:10])
        except ValueError:
            raise FormatError(f"front matter date: {value!r} is not a date (expected YYYY-MM-DD)") from None
    return None


def _zone(front: dict[str, Any]) -> tzinfo:
    name = front.get("timezone")
    if name is None:
        return UTC
    try:
        return ZoneInfo(str(name))
    except (ZoneInfoNotFoundError, ValueError, OSError):  # "Europe" is a folder of the zone database
        raise FormatError(f"front matter timezone: {name!r} is not an IANA time zone (e.g. Europe/Berlin)") from None


def _offset(tz: str | None, default: tzinfo) -> tzinfo:
    if not tz or tz in ("UTC", "GMT", "Z"):
        return default if not tz else UTC
    sign = 1 if tz[0] == "+" else -1
    digits = tz[1:].replace(":", "")
    return timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))


class _Clock:
    """Turns timeline clock readings into times, rolling the day over when the clock goes backwards."""

    def __init__(self, day: date | None, zone: tzinfo) -> None:
        self.day, self.zone = day, zone
        self.last: time | None = None

    def at(self, day_text: str | None, clock: str, tz: str | None) -> datetime | None:
        parts = [int(p) for p in clock.split(":")] + [0]
        reading = time(parts[0], parts[1], parts[2])  # ValueError for 25:61
        if day_text:
            self.day, self.last = date.fromisoformat(day_text), None
        elif self.last is not None and reading < self.last and self.day is not None:
            self.day += timedelta(days=1)
        self.last = reading
        if self.day is None:
            return None
        return datetime.combine(self.day, reading, tzinfo=_offset(tz, self.zone)).astimezone(UTC)


def _table_entry(line: str) -> tuple[re.Match[str], str] | None:
    cells = [c.strip() for c in line.strip().strip("|").split("|")]
    if len(cells) >= 3 and re.fullmatch(r"\d{4}-\d{2}-\d{2}", cells[0]):
        cells = [f"{cells[0]} {cells[1]}", *cells[2:]]
    match = _TIME_CELL.match(cells[0]) if cells else None
    text = " — ".join(c for c in cells[1:] if c)
    return (match, text) if match and text else None


def _timeline(lines: list[tuple[int, str]], clock: _Clock, errors: list[RecordError]) -> list[_Entry]:
    entries: list[_Entry] = []
    for number, line in lines:
        found = _table_entry(line) if line.lstrip().startswith("|") else None
        match = found[0] if found else _TIMELINE_LINE.match(line)
        if not match:
            continue
        try:
            at = clock.at(match["date"], match["clock"], match["tz"])
        except (ValueError, OverflowError) as exc:
            errors.append(RecordError(f"line {number}", f"timeline time {match['clock']!r}: {exc}"))
            continue
        entries.append(_Entry(match["clock"], at, (found[1] if found else match["text"]).strip()))
    return entries


def _items(lines: list[tuple[int, str]]) -> list[tuple[int, str]]:
    """(line, text) of each list item (with its continuation lines), or of each sentence when there is no list."""
    items: list[tuple[int, list[str]]] = []
    for number, line in lines:
        match = _LIST_ITEM.match(line)
        if match:
            items.append((number, [match["text"]]))
        elif items and line.strip() and line[:1].isspace():
            items[-1][1].append(line.strip())
    if items:
        return [(number, text) for number, parts in items if (text := " ".join(parts).strip())]
    prose = [(n, line.strip()) for n, line in lines if line.strip() and not line.lstrip().startswith("#")]
    return [(prose[0][0], s) for s in _SENTENCE.split(" ".join(text for _, text in prose)) if s.strip()] if prose else []


@dataclass(frozen=True, slots=True)
class _Parsed:
    """What the reader found in one postmortem."""

    front: dict[str, Any]
    outline: Outline
    lines: list[str]
    blocks: list[_Block]
    timeline: list[_Entry]
    clock: _Clock

    def section(self, name: str) -> list[tuple[int, str]]:
        """(line number, line) of the first section of a category, its subsections included."""
        for index, block in enumerate(self.blocks):
            if block.category == name:
                after = (b.line for b in self.blocks[index + 1 :] if b.level <= block.level)
                end = next(after, len(self.lines) + 1)
                return [(n, self.lines[n - 1]) for n in range(block.line + 1, end)]
        return []

    def text_of(self, name: str) -> str:
        return "\n".join(line for _, line in self.section(name)).strip()


def _parse(file: SourceFile, errors: list[RecordError]) -> _Parsed:
    text = file.text()
    if not text.strip():
        raise FormatError(f"{file.path}: empty file (expected a postmortem in Markdown)")
    lines = text.splitlines()
    first_line, source = _split_front_matter(lines, file.path)
    front = _front_matter(source, file.path)
    blocks = _blocks(lines, first_line)
    outline = outline_markdown(text, file.path.rsplit("/", 1)[-1].rsplit(".", 1)[0])
    if not outline.parts:
        raise FormatError(f"{file.path}: no text under the headings (expected postmortem sections)")
    try:
        base, zone = _base_date(front), _zone(front)
    except FormatError as exc:
        errors.append(RecordError("front matter", str(exc)))
        base, zone = None, UTC
    parsed = _Parsed(front, outline, lines, blocks, [], _Clock(base, zone))
    timeline = _timeline(parsed.section("timeline"), _Clock(base, zone), errors)
    day = base or next((e.at.date() for e in timeline if e.at), None)
    return _Parsed(front, outline, lines, blocks, timeline, _Clock(day, zone))


def _section_records(parsed: _Parsed, postmortem: str, file: SourceFile, ctx: ReadContext) -> ReadResult:
    """Sections chunked like runbook sections (:mod:`ingest.chunking`), as nodes and as one Document."""
    result = ReadResult()
    chunks = chunk_parts(parsed.outline.parts)
    for order, chunk in enumerate(chunks, start=1):
        section = node_id(NodeLabel.SECTION, f"{file.path}#{order}")
        prov = ctx.provenance(file, chunk.location)
        props: Props = {"heading": chunk.heading, "anchor": chunk.anchor, "order": order, "words": chunk.words}
        props["text"] = chunk.text
        if chunk.oversized:
            props["oversized"] = True
        result.nodes.append(Node(section, NodeLabel.SECTION, prov, chunk.heading, props))
        result.edges.append(Edge(RelType.HAS_SECTION, postmortem, section, prov, {"order": order}))
    sections = tuple(chunk.section() for chunk in chunks)
    title, front = parsed.outline.title, dict(parsed.outline.front_matter)
    result.documents.append(Document(postmortem, "postmortem", title, file.path, sections, front))
    return result


def _item_time(text: str, parsed: _Parsed) -> datetime | None:
    """The time a resolution item names, else the time of the timeline entry that took the same action."""
    match = _CLOCK_IN_TEXT.search(text)
    if match:
        try:
            return _Clock(parsed.clock.day, parsed.clock.zone).at(None, match["clock"], match["tz"])
        except (ValueError, OverflowError):  # 25:99, or a day at the calendar's edge
            return None
    action = map_action(text)
    same = (e.at for e in parsed.timeline if e.at and action != "unknown" and map_action(e.text) == action)
    return next(same, None)


def _incident(parsed: _Parsed, file: SourceFile, ctx: ReadContext) -> tuple[str, list[Node]]:
    """The incident id; a node only when the postmortem names no incident (then it stands for one)."""
    key = front_scalar(parsed.front, "incident_id", "incident")
    if key:
        incident = node_id(NodeLabel.INCIDENT, key)
        check_node_id(incident, NodeLabel.INCIDENT)  # no node is made here, so check what the edges will name
        return incident, []
    incident = node_id(NodeLabel.INCIDENT, f"postmortem/{file.path}")
    props: Props = {"source_kind": "postmortem"}
    if severity := front_scalar(parsed.front, "severity"):
        props["severity"] = severity
    at = next((e.at for e in parsed.timeline if e.at), None)
    if at is None and parsed.clock.day:
        at = datetime.combine(parsed.clock.day, time(), tzinfo=UTC)
    node = Node(incident, NodeLabel.INCIDENT, ctx.provenance(file), name=parsed.outline.title, props=props, at=at)
    return incident, [node]


def _first_paragraph(text: str, limit: int = 1000) -> str | None:
    paragraph = " ".join(text.strip().split("\n\n", 1)[0].split())
    return paragraph[:limit] or None


def _postmortem_props(parsed: _Parsed, incident: str, services: list[str], errors: list[RecordError]) -> Props:
    props: dict[str, Any] = {
        "incident": incident,
        "severity": front_scalar(parsed.front, "severity"),
        "status": front_scalar(parsed.front, "status"),
        "date": parsed.clock.day.isoformat() if parsed.clock.day else None,
        "services": services,
        "authors": front_list(parsed.front, errors, "authors", "author"),
        "detected_by": detected_by(parsed.front, "\n".join(parsed.lines)),
        "summary": _first_paragraph(parsed.text_of("summary")),
        "root_cause": _first_paragraph(parsed.text_of("root_cause")),
        "action_items": [text for _, text in _items(parsed.section("action_items"))],
        "timeline": [f"{e.at.isoformat() if e.at else e.clock} {e.text}" for e in parsed.timeline],
    }
    return {k: v for k, v in props.items() if v}


class PostmortemReader:
    name = "postmortem"
    description = "Postmortem Markdown (front matter; Summary, Timeline, Root cause, Resolution, Action items)"
    priority = PRIORITY_INCIDENTS + 1
    version = "2"

    def sniff(self, file: SourceFile) -> bool:
        if file.is_directory or file.suffix not in _SUFFIXES:
            return False
        return _sniff_text(file.data[:_SNIFF_BYTES].decode("utf-8", errors="ignore").lstrip("\ufeff"))

    def read(self, file: SourceFile, ctx: ReadContext) -> ReadResult:
        if file.is_directory:
            raise FormatError(f"{file.path}: is a directory (expected a postmortem in Markdown)")
        result = ReadResult()
        parsed = _parse(file, result.errors)
        try:
            incident, nodes = _incident(parsed, file, ctx)
        except VidyaError as exc:
            raise FormatError(f"{file.path}: front matter incident_id: {exc}") from None
        services = front_list(parsed.front, result.errors, "services", "service")
        postmortem = node_id(NodeLabel.POSTMORTEM, file.path)
        prov = ctx.provenance(file)
        props = _postmortem_props(parsed, incident, services, result.errors)
        result.nodes += [Node(postmortem, NodeLabel.POSTMORTEM, prov, name=parsed.outline.title, props=props), *nodes]
        result.edges.append(Edge(RelType.DESCRIBES, postmortem, incident, prov))
        result.hinted += [HintedEdge(RelType.AFFECTS, incident, service_hint(s), prov) for s in services]
        self._facts(parsed, file, ctx, incident, result)
        return result.extend(_section_records(parsed, postmortem, file, ctx))

    def _facts(self, parsed: _Parsed, file: SourceFile, ctx: ReadContext, incident: str, result: ReadResult) -> None:
        """Causes and remediations; a value that cannot become a record is a record error."""
        try:
            found = causes(parsed.front, parsed.text_of, result.errors)
            edges, hinted = cause_records(incident, found, ctx.provenance(file, "root cause"))
            result.edges += edges
            result.hinted += hinted
        except VidyaError as exc:
            result.errors.append(RecordError("root cause", str(exc)))
        items = [
            ActionText(f"postmortem-{n}", text, ctx.provenance(file, f"line {line}"), _item_time(text, parsed))
            for n, (line, text) in enumerate(_items(parsed.section("resolution")), start=1)
        ]
        fix_at = parsed.timeline[-1].at if parsed.timeline else None
        items = mark_fix(items, parsed.text_of("resolution"),
                         lambda text: ActionText("postmortem-fix", text, ctx.provenance(file, "resolution"),
                                                 _item_time(text, parsed) or fix_at, outcome="resolved"))
        detected = detection_fingerprints(detected_by(parsed.front, "\n".join(parsed.lines)),
                                          [e.text for e in parsed.timeline])
        result.edges += triggered_edges(incident, detected, ctx.provenance(file, "detected by"))
        try:
            nodes, edges = remediation_records(incident, items)
            result.nodes += nodes
            result.edges += edges
        except VidyaError as exc:
            result.errors.append(RecordError("resolution", str(exc)))


READER = PostmortemReader()
