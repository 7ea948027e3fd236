"""HTML runbooks: BeautifulSoup (stdlib ``html.parser``), rendered to Markdown-like blocks.

``h1``-``h6`` make the heading path; ``pre`` becomes a fenced code block kept
verbatim; ``ul``/``ol`` become ``-`` / numbered items (``start`` honoured);
tables become ``| cell |`` rows; inline ``code``/``kbd``/``samp`` keep their
text between backticks. ``script``, ``style``, ``nav``, ``footer``, ``noscript``,
``template``, ``svg``, ``iframe``, ``head`` and ``title`` are dropped::

    >>> outline = outline_html("<h1>Disk full</h1><h2>Mitigation</h2><pre>df -h</pre>")
    >>> outline.parts[0].heading_path, outline.parts[0].blocks[0].lines
    (('Disk full', 'Mitigation'), ('```', 'df -h', '```', ''))
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace

from bs4 import BeautifulSoup
from bs4.element import NavigableString, Tag

from ingest.chunking import Block, BlockKind, Outline, Outliner

_DROP = ("script", "style", "nav", "footer", "noscript", "template", "svg", "iframe", "head", "title")
_HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
_INLINE = frozenset(
    {
        "a", "abbr", "b", "bdi", "bdo", "br", "cite", "code", "data", "del", "dfn", "em", "font", "i", "img", "ins",
        "kbd", "label", "mark", "q", "s", "samp", "small", "span", "strong", "sub", "sup", "time", "tt", "u", "var",
        "wbr",
    }
)
_CODE = frozenset({"code", "kbd", "samp", "tt"})
#: below this depth an element is flattened to its text (keeps recursion bounded on pathological input)
_MAX_DEPTH = 60


@dataclass(frozen=True, slots=True)
class _Heading:
    level: int
    text: str


def outline_html(text: str, fallback_title: str = "") -> Outline:
    """Parse an HTML runbook into its title and heading-delimited parts."""
    soup = BeautifulSoup(text, "html.parser")
    page_title = _clean(soup.title.get_text(" ")) if soup.title else ""
    for tag in soup.find_all(_DROP):
        if isinstance(tag, Tag) and not tag.decomposed:
            tag.decompose()
    root = soup.body if isinstance(soup.body, Tag) else soup
    h1 = root.find("h1")
    title = (_clean(h1.get_text(" ")) if isinstance(h1, Tag) else "") or page_title or fallback_title
    outliner = Outliner(title)
    for item in _render(root, 0):
        if isinstance(item, _Heading):
            outliner.heading(item.level, item.text)
        else:
            outliner.add(item)
    return Outline("html", title, outliner.parts())


def _clean(text: str) -> str:
    return " ".join(text.split())


def _render(node: Tag, depth: int) -> Iterator[Block | _Heading]:
    """The blocks (and headings) inside ``node``, in document order."""
    inline: list[str] = []
    line = node.sourceline or 0
    for child in node.children:
        if isinstance(child, Tag) and child.name not in _INLINE:
            yield from _paragraph(inline, line)
            inline = []
            yield from _element(child, depth)
            line = child.sourceline or line
        elif isinstance(child, Tag):
            inline.append(_inline(child, depth + 1))
        elif _is_text(child):
            inline.append(str(child))
    yield from _paragraph(inline, line)


def _is_text(node: object) -> bool:
    # comments, CDATA, doctypes and processing instructions are NavigableString subclasses
    return type(node) is NavigableString


def _element(tag: Tag, depth: int) -> Iterator[Block | _Heading]:
    line = tag.sourceline or 0
    if depth > _MAX_DEPTH:
        yield from _paragraph([tag.get_text()], line)
    elif tag.name in _HEADINGS:
        yield _Heading(int(tag.name[1]), _clean(tag.get_text(" ")))
    elif tag.name == "pre":
        yield _code(tag)
    elif tag.name in ("ul", "ol"):
        yield from _list(tag, depth)
    elif tag.name == "table":
        yield from _table(tag)
    elif tag.name == "blockquote":
        yield from _nested(tag, depth, "quote", "> ", "> ")
    elif tag.name != "hr":
        yield from _render(tag, depth + 1)


def _inline(tag: Tag, depth: int) -> str:
    if tag.name == "br":
        return "\n"
    if tag.name == "img":
        alt = tag.get("alt")
        return alt if isinstance(alt, str) else ""
    if tag.name in _CODE:
        return "`" + tag.get_text() + "`"
    if depth > _MAX_DEPTH:
        return tag.get_text()
    parts = [_inline(c, depth + 1) if isinstance(c, Tag) else str(c) for c in tag.children if isinstance(c, Tag) or _is_text(c)]
    return "".join(parts)


def _paragraph(inline: list[str], line: int) -> Iterator[Block]:
    lines = tuple(text for text in (_clean(raw) for raw in "".join(inline).split("\n")) if text)
    if lines:
        yield Block((*lines, ""), "text", line=line)


def _code(tag: Tag) -> Block:
    text = tag.get_text()
    lines = text.removeprefix("\n").rstrip().split("\n")
    fence = "~~~~" if "```" in text else "```"
    return Block((fence + _language(tag), *lines, fence, ""), "code", line=tag.sourceline or 0)


def _language(pre: Tag) -> str:
    for tag in (pre, pre.find("code")):
        classes = tag.get("class") if isinstance(tag, Tag) else None
        for name in classes if isinstance(classes, list) else []:
            if name.startswith(("language-", "lang-")):
                return name.split("-", 1)[1]
    return ""


def _list(tag: Tag, depth: int) -> Iterator[Block]:
    number = _start(tag)
    items: list[Block] = []
    for li in list(_items(tag)):
        marker = f"{number}. " if tag.name == "ol" else "- "
        number += 1
        item = _nested_block(li, depth, "item", marker, " " * len(marker))
        if item is not None:
            items.append(item)
    if items:
        items[-1] = replace(items[-1], lines=(*items[-1].lines, ""))
        yield Block(tuple(line for item in items for line in item.lines), "list", tuple(items), tag.sourceline or 0)


def _start(tag: Tag) -> int:
    value = tag.get("start")
    text = value.strip() if isinstance(value, str) else ""
    return int(text) if text.isdigit() and len(text) < 10 else 1


def _items(tag: Tag) -> Iterator[Tag]:
    """``li`` children; ``html.parser`` nests an unclosed ``<li>`` in the one before, so those count too."""
    for child in tag.find_all("li", recursive=False):
        yield child
        yield from _items(child)


def _nested(tag: Tag, depth: int, kind: BlockKind, first: str, rest: str) -> Iterator[Block]:
    block = _nested_block(tag, depth, kind, first, rest)
    if block is not None:
        yield replace(block, lines=(*block.lines, ""))


def _nested_block(tag: Tag, depth: int, kind: BlockKind, first: str, rest: str) -> Block | None:
    """The blocks inside ``tag`` as one container block, each line prefixed (list marker, quote mark)."""
    inner = [_as_block(item) for item in _render(_without_items(tag), depth + 1)]
    if not inner:
        return None
    inner[-1] = replace(inner[-1], lines=_trim(inner[-1].lines))
    children = tuple(_prefix(block, first if i == 0 else rest, rest) for i, block in enumerate(inner))
    lines = tuple(line for child in children for line in child.lines)
    return Block(lines, kind, children, tag.sourceline or 0)


def _without_items(tag: Tag) -> Tag:
    for child in tag.find_all("li", recursive=False):
        child.extract()
    return tag


def _as_block(item: Block | _Heading) -> Block:
    return Block((item.text, "")) if isinstance(item, _Heading) else item


def _trim(lines: tuple[str, ...]) -> tuple[str, ...]:
    end = len(lines)
    while end > 1 and not lines[end - 1].strip():
        end -= 1
    return lines[:end]


def _prefix(block: Block, first: str, rest: str) -> Block:
    blank = rest.rstrip()  # "" inside a list item, ">" inside a quote
    lines = tuple((first if i == 0 else rest) + line if line.strip() else blank for i, line in enumerate(block.lines))
    children = tuple(_prefix(child, first if i == 0 else rest, rest) for i, child in enumerate(block.children))
    return replace(block, lines=lines, children=children)


def _table(tag: Tag) -> Iterator[Block]:
    rows = [
        [_clean(cell.get_text(" ")).replace("|", "\\|") for cell in cells]
        for row in tag.find_all("tr")
        if (cells := row.find_all(["th", "td"], recursive=False))
    ]
    if rows:
        lines = ["| " + " | ".join(cells) + " |" for cells in [rows[0], ["---"] * len(rows[0]), *rows[1:]]]
        yield Block((*lines, ""), "table", line=tag.sourceline or 0)
