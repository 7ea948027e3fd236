"""Section-aware chunking shared by the document readers.

A format reader (Markdown, HTML, plain text, PDF) walks its input once and
feeds an :class:`Outliner` with headings and :class:`Block` s. The outliner
groups the blocks into :class:`Part` s (the blocks under one heading path), and
:func:`chunk_parts` packs each part into :class:`Chunk` s of at most
``max_words`` whitespace-separated words, because all-MiniLM-L6-v2 truncates at
256 word pieces (~180 words; the rest is headroom for the heading path)::

    >>> out = Outliner("Disk full")
    >>> out.heading(2, "Mitigation")
    >>> out.add(Block(("1. Delete old logs.", "2. Restart the pod.")))
    >>> [(c.heading_path, c.text, c.anchor) for c in chunk_parts(out.parts())]
    [(('Disk full', 'Mitigation'), '1. Delete old logs.\\n2. Restart the pod.', 'mitigation')]

Splitting never cuts a code block or a shell command line: a long section is
cut between blocks, then between a container's children (list items, quoted
paragraphs), then between table rows (the header row is repeated) or text lines.
A single code block longer than the limit becomes one oversized chunk.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Literal

from graph.model import Props
from ingest.records import RecordError, Section

#: the default chunk size in words (whitespace tokens)
MAX_WORDS = 170

BlockKind = Literal["text", "code", "table", "list", "item", "quote"]

_LIST_MARKER = re.compile(r"^\s*(?:[-*+•▪◦]|\d{1,3}[.)]|[a-zA-Z][.)])\s+")
_COMMAND = re.compile(
    r"^\s*(?:[$%#>]\s|(?:sudo|oc|kubectl|helm|curl|wget|systemctl|journalctl|docker|podman|ssh|scp|git|make|"
    r"python3?|bash|sh|export|aws|gcloud|az|terraform|ansible|virtctl|ceph|rados|rbd|etcdctl|psql|mysql|redis-cli)\s)"
)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_TABLE_DELIMITER = re.compile(r"^\s*\|?\s*:?-+:?\s*(?:\|\s*:?-+:?\s*)*\|?\s*$")
_SLUG_DROP = re.compile(r"[^\w\- ]")


def count_words(text: str) -> int:
    return len(text.split())


def slug(text: str) -> str:
    """A GitHub-style heading anchor: lower case, punctuation dropped, spaces to dashes."""
    return _SLUG_DROP.sub("", text.strip().lower()).replace(" ", "-")


@dataclass(frozen=True, slots=True)
class Block:
    """Consecutive lines that belong together (a paragraph, list, table, code block...).

    ``children`` are the places a too-long container may be cut (list items, the
    blocks inside one item); ``line`` and ``page`` (1-based, 0 if unknown) say
    where ``lines[0]`` came from. ``exact`` means ``lines`` are verbatim source
    lines, so ``line + i`` is the source line of ``lines[i]``.
    """

    lines: tuple[str, ...]
    kind: BlockKind = "text"
    children: tuple[Block, ...] = ()
    line: int = 0
    page: int = 0
    exact: bool = False
    words: int = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "words", sum(len(line.split()) for line in self.lines))

    def piece(self, lines: Iterable[str], offset: int, kind: BlockKind | None = None) -> Block:
        """A block of some of these lines, starting ``offset`` lines in."""
        line = self.line + offset if self.exact and self.line else self.line
        return Block(tuple(lines), kind or self.kind, (), line, self.page, self.exact)


@dataclass(frozen=True, slots=True)
class Part:
    """The blocks under one heading path, before chunking."""

    heading_path: tuple[str, ...]
    anchor: str
    blocks: tuple[Block, ...]


@dataclass(frozen=True, slots=True)
class Chunk:
    """One section as it is indexed: at most ``max_words`` words unless ``oversized``."""

    heading_path: tuple[str, ...]
    anchor: str
    text: str
    words: int
    oversized: bool
    line: int = 0
    page: int = 0

    @property
    def heading(self) -> str:
        return " › ".join(self.heading_path)

    @property
    def location(self) -> str | None:
        if self.page:
            return f"page {self.page}"
        return f"line {self.line}" if self.line else None

    def section(self) -> Section:
        return Section(heading_path=self.heading_path, text=self.text, anchor=self.anchor)


@dataclass(frozen=True, slots=True)
class Outline:
    """What a format reader found: the title, the parts, front-matter properties and problems."""

    format: str
    title: str
    parts: tuple[Part, ...]
    front_matter: Props = field(default_factory=dict)
    errors: tuple[RecordError, ...] = ()


class Outliner:
    """Tracks the heading path while a reader walks a document and collects the blocks under it.

    The path starts with the document title (when there is one); the first
    level-1 heading whose text is the title is the title itself, not a child.
    """

    def __init__(self, title: str) -> None:
        self.title = title
        self._stack: list[tuple[int, str]] = []
        self._anchor = ""
        self._title_seen = False
        self._slugs: dict[str, int] = {}
        self._blocks: list[Block] = []
        self._parts: list[Part] = []

    def heading(self, level: int, text: str) -> None:
        name = " ".join(text.split())
        if not name:
            return
        self._close()
        self._anchor = self._unique(slug(name))
        if level == 1 and not self._title_seen and name == self.title:
            self._title_seen = True
            self._stack = []
            return
        while self._stack and self._stack[-1][0] >= level:
            self._stack.pop()
        self._stack.append((level, name))

    def add(self, block: Block) -> None:
        self._blocks.append(block)

    def parts(self) -> tuple[Part, ...]:
        self._close()
        return tuple(self._parts)

    @property
    def path(self) -> tuple[str, ...]:
        root = (self.title,) if self.title else ()
        return root + tuple(name for _, name in self._stack)

    def _close(self) -> None:
        if self._blocks:
            self._parts.append(Part(self.path, self._anchor, tuple(self._blocks)))
        self._blocks = []

    def _unique(self, anchor: str) -> str:
        seen = self._slugs.get(anchor)
        self._slugs[anchor] = (seen or 0) + 1
        return anchor if seen is None else f"{anchor}-{seen}"


def chunk_parts(parts: Iterable[Part], max_words: int = MAX_WORDS) -> list[Chunk]:
    """Pack each part's blocks into chunks of at most ``max_words`` words (see the module doc)."""
    chunks: list[Chunk] = []
    for part in parts:
        units = [unit for block in part.blocks for unit in split_block(block, max_words)]
        for group in _pack(units, max_words):
            chunk = _make_chunk(part, group, max_words)
            if chunk is not None:
                chunks.append(chunk)
    return chunks


def split_block(block: Block, max_words: int) -> list[Block]:
    """Cut a block into units of at most ``max_words`` words where it may be cut."""
    if block.words <= max_words or block.kind == "code":
        return [block]
    if block.children:
        return [unit for child in block.children for unit in split_block(child, max_words)]
    if block.kind == "table":
        return _split_table(block, max_words)
    return _split_lines(block, max_words)


def _split_table(block: Block, max_words: int) -> list[Block]:
    """Cut between rows, repeating the header row in every piece (unless the header is itself long)."""
    lines = block.lines
    header_end = next((i + 1 for i, line in enumerate(lines[:3]) if _TABLE_DELIMITER.match(line) and "-" in line), 0)
    header = lines[:header_end]
    budget = max_words - sum(len(line.split()) for line in header)
    if not header or budget < max_words // 2:
        return _split_lines(block, max_words)
    rows = ((i, (line,)) for i, line in enumerate(lines) if i >= header_end)
    pieces: list[Block] = []
    for first, group in _pack_lines(rows, budget):
        if sum(len(line.split()) for line in group) > budget:  # one row longer than the budget
            pieces.extend(_split_group(block, first, group, max_words))
        else:
            pieces.append(block.piece((*header, *group), 0 if first == header_end else first, "table"))
    return pieces


def _split_lines(block: Block, max_words: int) -> list[Block]:
    return [
        piece
        for first, group in _pack_lines(_line_groups(block.lines), max_words)
        for piece in _split_group(block, first, group, max_words)
    ]


def _split_group(block: Block, first: int, group: tuple[str, ...], max_words: int) -> list[Block]:
    """A line group that is still too long: cut between its lines, then inside a prose line."""
    if sum(len(line.split()) for line in group) <= max_words or _is_command(group):
        return [block.piece(group, first)]
    if len(group) > 1:
        singles = ((first + i, (line,)) for i, line in enumerate(group))
        return [p for f, g in _pack_lines(singles, max_words) for p in _split_group(block, f, g, max_words)]
    return [block.piece((text,), first) for text in _split_long_line(group[0], max_words)]


def _is_command(group: tuple[str, ...]) -> bool:
    return bool(_COMMAND.match(group[0])) or group[0].rstrip().endswith("\\")


def _line_groups(lines: tuple[str, ...]) -> Iterator[tuple[int, tuple[str, ...]]]:
    """Lines that must stay together: backslash continuations and the lines of one list item."""
    start, group = 0, [lines[0]] if lines else []
    for index, line in enumerate(lines[1:], start=1):
        if _continues(group, line):
            group.append(line)
            continue
        yield start, tuple(group)
        start, group = index, [line]
    if group:
        yield start, tuple(group)


def _continues(group: list[str], line: str) -> bool:
    if not line.strip() or group[-1].rstrip().endswith("\\"):
        return True
    first = group[0]
    if _LIST_MARKER.match(first):
        return _indent(line) > _indent(first) and not _LIST_MARKER.match(line)
    return False


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _pack_lines(
    groups: Iterable[tuple[int, tuple[str, ...]]], max_words: int
) -> Iterator[tuple[int, tuple[str, ...]]]:
    """Greedily join consecutive line groups while they fit; yields (first line index, lines)."""
    first, current, count = 0, list[str](), 0
    for index, group in groups:
        words = sum(len(line.split()) for line in group)
        if current and count + words > max_words:
            yield first, tuple(current)
            current, count = [], 0
        if not current:
            first = index
        current.extend(group)
        count += words
    if current:
        yield first, tuple(current)


def _split_long_line(line: str, max_words: int) -> Iterator[str]:
    """A prose line longer than the limit, cut at sentence ends (or, failing that, between words)."""
    indent = line[: _indent(line)]
    sentences = [s for s in _SENTENCE_END.split(line.strip()) if s]
    pieces = [(0, (sentence,)) for sentence in sentences]
    for _, group in _pack_lines(pieces, max_words):
        words = " ".join(group).split()
        for at in range(0, len(words), max_words):
            yield indent + " ".join(words[at : at + max_words])


def _pack(units: list[Block], max_words: int) -> Iterator[list[Block]]:
    """Greedily pack units into groups of at most ``max_words`` words.

    A short lead-in that ends with a colon ("Run the following command:") moves
    on with the unit it introduces when they fit together.
    """
    current: list[Block] = []
    count = 0
    for unit in units:
        if current and count + unit.words > max_words:
            carried = _lead_in(current, unit, max_words)
            yield current[: len(current) - len(carried)]
            current, count = carried, sum(u.words for u in carried)
        current.append(unit)
        count += unit.words
    if current:
        yield current


def _lead_in(current: list[Block], unit: Block, max_words: int) -> list[Block]:
    last = current[-1]
    texts = [line for line in last.lines if line.strip()]
    if len(current) > 1 and texts and texts[-1].rstrip().endswith(":") and last.words + unit.words <= max_words:
        return [last]
    return []


def _make_chunk(part: Part, units: list[Block], max_words: int) -> Chunk | None:
    start = next((unit for unit in units if unit.words), None)
    if start is None or not any(char.isalnum() for unit in units for line in unit.lines for char in line):
        return None  # nothing to find: blank lines, or a lone rule such as "---"
    lines = [line.rstrip() for unit in units for line in unit.lines]
    head = next(i for i, line in enumerate(lines) if line)
    tail = max(i for i, line in enumerate(lines) if line)
    text = "\n".join(lines[head : tail + 1])
    words = count_words(text)
    lead = next(i for i, line in enumerate(start.lines) if line.strip())
    line = start.line + lead if start.exact and start.line else start.line
    anchor = f"page={start.page}" if start.page else part.anchor
    return Chunk(part.heading_path, anchor, text, words, words > max_words, line, start.page)
