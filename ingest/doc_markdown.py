"""Markdown runbooks: CommonMark (plus GFM tables) through markdown-it-py, chunked by heading.

Blocks keep their source lines verbatim, so list numbers, tables, links and
code fences read exactly as written; every line of the body lands in exactly
one chunk. Front matter is read by :mod:`ingest.doc_front_matter`::

    >>> sections = chunk_markdown("# Disk full\\n\\n## Mitigation\\n\\n```sh\\ndf -h\\n```\\n")
    >>> [(s.heading_path, s.text, s.anchor) for s in sections]
    [(('Disk full', 'Mitigation'), '```sh\\ndf -h\\n```', 'mitigation')]
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from itertools import pairwise
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.token import Token
from markdown_it.tree import SyntaxTreeNode

from ingest.chunking import MAX_WORDS, Block, BlockKind, Outline, Outliner, chunk_parts
from ingest.doc_front_matter import read_front_matter
from ingest.records import Section

_KINDS: dict[str, BlockKind] = {
    "fence": "code",
    "code_block": "code",
    "table": "table",
    "bullet_list": "list",
    "ordered_list": "list",
    "list_item": "item",
    "blockquote": "quote",
}
_CONTAINERS = frozenset({"bullet_list", "ordered_list", "list_item", "blockquote"})


@cache
def _parser() -> MarkdownIt:
    # block structure only: inline parsing costs half the time and only headings need it
    return MarkdownIt("commonmark").enable("table").disable("inline")


@cache
def _inline_parser() -> MarkdownIt:
    return MarkdownIt("commonmark")


def source_lines(text: str) -> list[str]:
    """The text's lines, split the way markdown-it counts them (CRLF and CR are newlines too)."""
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def outline_markdown(text: str, fallback_title: str = "") -> Outline:
    """Parse a Markdown runbook into its title, front matter and heading-delimited parts."""
    lines = source_lines(text)
    front = read_front_matter(lines)
    body = [""] * front.end + lines[front.end :]  # blank, not cut, so line numbers stay true
    env: dict[str, Any] = {}  # collects link reference definitions, which headings may use
    nodes = SyntaxTreeNode(_parser().parse("\n".join(body), env)).children
    title = front.title or _first_h1(nodes, env) or fallback_title
    outliner = Outliner(title)
    _walk(nodes, body, outliner, env)
    return Outline("markdown", title, outliner.parts(), dict(front.props), front.errors)


def chunk_markdown(text: str, *, max_words: int = MAX_WORDS, title: str = "") -> list[Section]:
    """Split Markdown into sections of at most ``max_words`` words (a lone long code block excepted).

    The heading paths start with the front-matter title or the first level-1
    heading; ``title`` stands in when the text has neither.
    """
    outline = outline_markdown(text, title)
    return [chunk.section() for chunk in chunk_parts(outline.parts, max_words)]


def _first_h1(nodes: Sequence[SyntaxTreeNode], env: dict[str, Any]) -> str:
    for node in nodes:
        if node.type == "heading" and node.tag == "h1":
            text = " ".join(heading_text(node, env).split())
            if text:
                return text
    return ""


def heading_text(node: SyntaxTreeNode, env: dict[str, Any] | None = None) -> str:
    """The plain text of a heading: markup dropped, code spans and image alt text kept."""
    raw = node.children[0].content if node.children else ""
    tokens = _inline_parser().parseInline(raw, env if env is not None else {})
    return _plain(tokens[0].children or []) if tokens else ""


def _plain(tokens: Sequence[Token]) -> str:
    parts: list[str] = []
    for token in tokens:
        if token.type in ("text", "code_inline"):
            parts.append(token.content)
        elif token.type in ("softbreak", "hardbreak"):
            parts.append(" ")
        elif token.children:  # an image: its alt text
            parts.append(_plain(token.children))
    return "".join(parts)


def _walk(nodes: Sequence[SyntaxTreeNode], body: list[str], outliner: Outliner, env: dict[str, Any]) -> None:
    """Feed top-level nodes to the outliner; a block takes the blank lines up to the next node."""
    cursor = 0
    for index, node in enumerate(nodes):
        start, end = _span(node, cursor, len(body))
        _gap(body, cursor, start, outliner)
        if node.type == "heading":
            outliner.heading(int(node.tag[1]), heading_text(node, env))
            cursor = end
            continue
        stop = _span(nodes[index + 1], start, len(body))[0] if index + 1 < len(nodes) else len(body)
        if stop < end or any(line.strip() for line in body[end:stop]):
            stop = end  # the lines up to the next block are text of their own (see _gap)
        outliner.add(_block(node, body, start, stop))
        cursor = stop
    _gap(body, cursor, len(body), outliner)


def _span(node: SyntaxTreeNode, low: int, high: int) -> tuple[int, int]:
    begin, end = node.map or (low, low)
    begin = min(max(begin, low), high)
    return begin, min(max(end, begin), high)


def _gap(body: list[str], start: int, stop: int, outliner: Outliner) -> None:
    """Lines no block claims (link reference definitions) still belong to the text."""
    lines = body[start:stop]
    if any(line.strip() for line in lines):
        outliner.add(Block(tuple(lines), "text", line=start + 1, exact=True))


def _block(node: SyntaxTreeNode, body: list[str], start: int, stop: int) -> Block:
    children: tuple[Block, ...] = ()
    if node.type in _CONTAINERS:
        kids = [child for child in node.children if child.map is not None]
        children = tuple(_child_blocks(kids, body, start, stop))
    kind = _KINDS.get(node.type, "text")
    return Block(tuple(body[start:stop]), kind, children, line=start + 1, exact=True)


def _child_blocks(kids: list[SyntaxTreeNode], body: list[str], start: int, stop: int) -> list[Block]:
    """Children cover their parent's lines: the first starts with it, each ends where the next begins."""
    bounds = [start] + [_span(kid, start, stop)[0] for kid in kids[1:]] + [stop]
    if any(a > b for a, b in pairwise(bounds)):
        return []  # maps out of order: keep the parent whole rather than misplace lines
    return [_block(kid, body, bounds[i], bounds[i + 1]) for i, kid in enumerate(kids)]
