"""Plain-text runbooks (.txt, .text, .rst): paragraphs under recognised headings.

Headings are ``#`` lines (``## Mitigation``) and underlined titles (a line
followed by ``===``, ``---``, ``~~~``...; reStructuredText overlines too). An
underline style's level is the order in which the style first appears, as in
reStructuredText, so ``===`` then ``---`` reads as levels 1 and 2. Blocks
indented by four spaces or a tab after a blank line are code and never split::

    >>> outline = outline_text("Disk full\\n=========\\n\\nCheck the disk:\\n\\n    df -h\\n")
    >>> outline.title, [b.kind for b in outline.parts[0].blocks]
    ('Disk full', ['text', 'code'])
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ingest.chunking import Block, BlockKind, Outline, Outliner
from ingest.doc_front_matter import read_front_matter
from ingest.doc_markdown import source_lines

_ATX = re.compile(r"^(#{1,6})\s+(\S.*?)(?:\s+#+)?\s*$")
_UNDERLINE = re.compile(r"^([=\-~^*+#\"'`:.])\1{2,}\s*$")
_MAX_TITLE = 120


@dataclass(frozen=True, slots=True)
class _Item:
    start: int
    end: int
    level: int = 0  # a heading when > 0
    text: str = ""
    kind: BlockKind = "text"


def outline_text(text: str, fallback_title: str = "") -> Outline:
    """Parse a plain-text runbook into its title, front matter and heading-delimited parts."""
    lines = source_lines(text)
    front = read_front_matter(lines)
    body = [""] * front.end + lines[front.end :]
    items = list(_scan(body, front.end))
    first_h1 = next((item.text for item in items if item.level == 1), "")
    title = front.title or first_h1 or fallback_title
    outliner = Outliner(title)
    for index, item in enumerate(items):
        if item.level:
            outliner.heading(item.level, item.text)
            continue
        stop = items[index + 1].start if index + 1 < len(items) else len(body)
        outliner.add(Block(tuple(body[item.start : stop]), item.kind, line=item.start + 1, exact=True))
    return Outline("text", title, outliner.parts(), dict(front.props), front.errors)


def _scan(body: list[str], start: int) -> list[_Item]:
    items: list[_Item] = []
    styles: list[str] = []
    index = start
    while index < len(body):
        line = body[index]
        after_blank = index == start or not body[index - 1].strip()
        if not line.strip():
            index += 1
            continue
        item = _heading(body, index, styles, after_blank)
        if item is None and after_blank and _indented(line):
            item = _code(body, index)
        if item is None:
            item = _paragraph(body, index)
        items.append(item)
        index = item.end
    return items


def _heading(body: list[str], index: int, styles: list[str], after_blank: bool) -> _Item | None:
    line = body[index]
    atx = _ATX.match(line)
    if atx:
        return _Item(index, index + 1, len(atx[1]), atx[2])
    if not after_blank:
        return None
    over = _UNDERLINE.match(line)
    title_at = index + 1 if over else index
    if title_at + 1 >= len(body):
        return None
    title, under = body[title_at], _UNDERLINE.match(body[title_at + 1])
    if not under or not _titleish(title) or (over and over[1] != under[1]):
        return None
    style = ("over" if over else "") + under[1]
    if style not in styles:
        styles.append(style)
    return _Item(index, title_at + 2, min(styles.index(style) + 1, 6), title.strip())


def _titleish(line: str) -> bool:
    return bool(line.strip()) and not _indented(line) and len(line) <= _MAX_TITLE and not _UNDERLINE.match(line)


def _indented(line: str) -> bool:
    return line.startswith(("    ", "\t"))


def _code(body: list[str], index: int) -> _Item:
    end = index
    while end < len(body) and (_indented(body[end]) or not body[end].strip()):
        end += 1
    while not body[end - 1].strip():
        end -= 1
    return _Item(index, end, kind="code")


def _paragraph(body: list[str], index: int) -> _Item:
    end = index + 1
    while end < len(body) and body[end].strip() and not _ATX.match(body[end]):
        end += 1
    return _Item(index, end)
