"""PDF runbooks: pypdf text extraction per page, with conservatively guessed headings.

A line is taken for a heading only when it is short (at most eight words,
80 characters), in Title Case or upper case, optionally numbered (``2.``,
``2.1``), does not end in punctuation, starts after a blank line, a sentence
end or another heading, and is followed by a line that is not itself a heading
candidate. Numbered headings nest by their depth (``2.1`` under ``2``); others
are level 1. A lone page number at the top or bottom of a page is dropped, and so
is a first or last line that most pages share (a running header or footer).
Chunks are anchored to the page they start on (``page=3``).
"""

from __future__ import annotations

import io
import re
import warnings
from collections import Counter
from collections.abc import Sequence

from pypdf import PdfReader

from graph.errors import FormatError
from ingest.chunking import Block, Outline, Outliner

_NUMBERED = re.compile(r"^(\d{1,2}(?:\.\d{1,2}){0,3})\.?\s+(\S.*)$")
_PAGE_NUMBER = re.compile(r"^\s*(?:page\s+)?\d{1,4}(?:\s*(?:/|of)\s*\d{1,4})?\s*$", re.IGNORECASE)
_SMALL_WORDS = frozenset(
    {"a", "an", "and", "as", "at", "by", "for", "from", "in", "into", "of", "on", "or", "per", "the", "to", "via", "vs", "with"}
)
_MAX_HEADING_WORDS = 8
_MAX_HEADING_CHARS = 80


def read_pdf(data: bytes, path: str) -> tuple[str, list[str]]:
    """The document title from the PDF metadata ("" if none) and the text of each page."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pypdf warns about recoverable damage; what it recovers is used
        try:
            reader = PdfReader(io.BytesIO(data), strict=False)
            if reader.is_encrypted and not reader.decrypt(""):
                raise FormatError(f"{path}: the PDF is encrypted (expected a PDF readable without a password)")
            title = reader.metadata.title if reader.metadata else None
            pages = [page.extract_text() or "" for page in reader.pages]
        except FormatError:
            raise
        except Exception as exc:  # pypdf raises many unrelated types on damaged files
            raise FormatError(f"{path}: not a readable PDF ({type(exc).__name__}: {_first_line(exc)})") from None
    return (" ".join(title.split()) if isinstance(title, str) else ""), pages


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:200] if text else "no detail"


def outline_pdf(meta_title: str, pages: Sequence[str], fallback_title: str = "") -> Outline:
    """Guess headings in the extracted page texts and group the lines under them."""
    page_lines = [_body_lines(text) for text in pages]
    first = next((line.strip() for lines in page_lines for line in lines if line.strip()), "")
    title = meta_title or (first if heading_level(first) else "") or fallback_title
    _drop_running_lines(page_lines)
    outliner = Outliner(title)
    previous = ""
    for number, lines in enumerate(page_lines, start=1):
        paragraph: list[str] = []
        for index, line in enumerate(lines):
            following = _next_text(page_lines, number - 1, index)
            level = _heading_at(line, previous, following, title)
            if level:
                _flush(outliner, paragraph, number)
                outliner.heading(level, _heading_text(line))
            elif not line.strip():
                _flush(outliner, paragraph, number)
            else:
                paragraph.append(line.rstrip())
            previous = line
        _flush(outliner, paragraph, number)
    return Outline("pdf", title, outliner.parts())


def _body_lines(text: str) -> list[str]:
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    filled = [i for i, line in enumerate(lines) if line.strip()]
    for i in (filled[:1] + filled[-1:]) if filled else []:
        if _PAGE_NUMBER.match(lines[i]):
            lines[i] = ""
    return lines


def _drop_running_lines(page_lines: list[list[str]]) -> None:
    """Blank a page's first or last line when most pages share it (a running header or footer)."""
    edges = [[i for i, line in enumerate(lines) if line.strip()] for lines in page_lines]
    ends = [(lines[f[0]].strip(), lines[f[-1]].strip()) for lines, f in zip(page_lines, edges, strict=True) if f]
    counts = Counter(text for pair in ends for text in set(pair))
    running = {text for text, count in counts.items() if count >= 2 and count * 2 > len(page_lines)}
    for lines, filled in zip(page_lines, edges, strict=True):
        for i in filled[:1] + filled[-1:]:
            if lines[i].strip() in running:
                lines[i] = ""


def _next_text(page_lines: Sequence[list[str]], page: int, index: int) -> str | None:
    for lines in page_lines[page:]:
        for line in lines[index + 1 :]:
            if line.strip():
                return line
        index = -1
    return None


def _heading_at(line: str, previous: str, following: str | None, title: str) -> int:
    text = line.strip()
    if text and text == title:
        return 1
    prev = previous.strip()
    if following is None or (prev and not prev.endswith((".", ":", "!", "?")) and not heading_level(prev)):
        return 0
    level = heading_level(text)
    return level if level and not heading_level(following.strip()) else 0


def heading_level(text: str) -> int:
    """The level of a line that looks like a heading, else 0 (see the module doc)."""
    if not text or len(text) > _MAX_HEADING_CHARS or text[-1] in ".,;:!?":
        return 0
    numbered = _NUMBERED.match(text)
    rest = numbered[2] if numbered else text
    words = rest.split()
    if not 1 <= len(words) <= _MAX_HEADING_WORDS or not any(c.isalpha() for c in rest):
        return 0
    if not words[0][0].isupper() or not all(_capitalised(word) for word in words):
        return 0
    return numbered[1].count(".") + 1 if numbered else 1


def _capitalised(word: str) -> bool:
    return word[0].isupper() or word[0].isdigit() or word.lower() in _SMALL_WORDS


def _heading_text(line: str) -> str:
    return " ".join(line.split())


def _flush(outliner: Outliner, paragraph: list[str], page: int) -> None:
    if paragraph:
        outliner.add(Block((*paragraph, ""), "text", page=page))
        paragraph.clear()
