"""Runbooks in Word (.docx), PowerPoint (.pptx) or e-mail (.eml), read with the optional ``unstructured`` library.

Install the ``documents`` extra (``pip install 'vidya[documents]'``). The reader
turns unstructured's elements into the same heading-aware sections as the
``documents`` reader, so a Word runbook becomes the same Runbook/Section nodes
and Document as a Markdown one::

    from ingest.doc_unstructured import READER
    result = READER.read(SourceFile("runbooks/disk-full.docx", data), ctx)

It works with no network. unstructured 0.27 classifies unstyled paragraphs
with a spaCy model that it downloads on first use; this reader gives it a blank
English pipeline (rule-based sentence splitter, no model weights) instead,
skips its language detection, and turns off its usage notice and its telemetry
ping (``SCARF_NO_ANALYTICS``), which it would otherwise send when imported and
on every file. Headings therefore come from structure only: Word heading and
title styles, slide titles, and ``h1``-``h6`` in HTML mail bodies.
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from graph.errors import FormatError
from ingest import registry
from ingest.chunking import MAX_WORDS, Block, Outline, Outliner, chunk_parts
from ingest.doc_html import outline_html
from ingest.documents import _file_title
from ingest.documents import _result as runbook_result
from ingest.records import ReadContext, ReadResult, SourceFile

#: file suffixes this reader claims, and the format each is read as
FORMATS: dict[str, str] = {".docx": "docx", ".pptx": "pptx", ".eml": "email"}
INSTALL_HINT = "pip install 'vidya[documents]'"
_ZIP_MAGIC = b"PK\x03\x04"
_MAIL_HEADER = re.compile(rb"^[A-Za-z][A-Za-z0-9-]*:", re.MULTILINE)
_LIST_MARKER = re.compile(r"^\s*(?:[-*+•▪◦]|\d{1,3}[.)]|[a-zA-Z][.)])\s")
#: elements that carry no runbook text: page furniture, images, layout markers
_SKIP = frozenset({"PageBreak", "Header", "Footer", "Image", "PageNumber"})
_SNIFF_BYTES = 1024


class UnstructuredReader:
    name = "unstructured"
    description = "Runbooks in Word (.docx), PowerPoint (.pptx) or e-mail (.eml), through the optional unstructured library"
    priority = registry.PRIORITY_DOCUMENTS
    version = "1"

    def __init__(self, max_words: int = MAX_WORDS) -> None:
        self.max_words = max_words

    def sniff(self, file: SourceFile) -> bool:
        """Claims the suffixes in :data:`FORMATS` whether or not unstructured is installed, so a
        Word file without the extra gets an error that names it rather than "not a format"."""
        fmt = FORMATS.get(file.suffix)
        if file.is_directory or fmt is None:
            return False
        head = file.data[:_SNIFF_BYTES]
        if fmt == "email":
            return b"\x00" not in head and _MAIL_HEADER.search(head) is not None
        return head.startswith(_ZIP_MAGIC)

    def read(self, file: SourceFile, ctx: ReadContext) -> ReadResult:
        outline = parse(file)
        chunks = chunk_parts(outline.parts, self.max_words)
        if not chunks:
            raise FormatError(f"{file.path}: no text to index (expected a runbook with some text beyond its headings)")
        return runbook_result(file, ctx, outline, chunks)


def parse(file: SourceFile) -> Outline:
    """Partition the file with unstructured and outline its elements (see the module doc)."""
    if not file.data.strip():
        raise FormatError(f"{file.path}: empty file (expected a runbook)")
    fmt = FORMATS.get(file.suffix) or ("email" if not file.data.startswith(_ZIP_MAGIC) else "docx")
    partition = _partitioner(fmt, file.path)
    try:
        elements = partition(io.BytesIO(file.data))
    except FormatError:
        raise
    except Exception as exc:  # unstructured and its parsers raise many unrelated types on damaged files
        raise FormatError(f"{file.path}: not a readable {fmt} file ({type(exc).__name__}: {_first_line(exc)})") from None
    subject = _subject(elements) if fmt == "email" else ""
    return outline_elements(elements, fmt, subject or _file_title(file.path))


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:200] if text else "no detail"


def _partitioner(fmt: str, path: str) -> Callable[[io.BytesIO], list[Any]]:
    """The unstructured partition function for ``fmt``, set up to run offline."""
    _prepare_offline(path, fmt)
    # languages=[""] skips unstructured's language detection
    if fmt == "docx":
        from unstructured.partition.docx import partition_docx

        return lambda data: partition_docx(file=data, languages=[""], include_page_breaks=False)
    if fmt == "pptx":
        from unstructured.partition.pptx import partition_pptx

        return lambda data: partition_pptx(file=data, languages=[""], include_page_breaks=False, include_slide_notes=True)
    from unstructured.partition.email import partition_email

    # attachments would need other partitioners (PDF, images) and their models
    return lambda data: partition_email(file=data, languages=[""], process_attachments=False)


def _prepare_offline(path: str, fmt: str) -> None:
    """Import unstructured with its network switches off and give it a model-free spaCy pipeline."""
    os.environ["SCARF_NO_ANALYTICS"] = "true"  # the library pings its telemetry endpoint unless this is set
    os.environ["UNSTRUCTURED_DISABLE_NOTICE"] = "1"  # a banner on stdout would corrupt --json output
    try:
        import spacy
        from unstructured.nlp import tokenize
    except ImportError as exc:
        raise FormatError(
            f"{path}: reading {fmt} files needs the optional unstructured library "
            f"({exc.name or 'unstructured'} is not installed): {INSTALL_HINT}"
        ) from None
    current = getattr(tokenize, "_get_nlp", None)
    if current is None:
        raise FormatError(f"{path}: this unstructured version is not supported (expected 0.27.x): {INSTALL_HINT}")
    if getattr(current, "vidya_offline", False):
        return
    pipeline = spacy.blank("en")
    pipeline.add_pipe("sentencizer")

    def offline_nlp() -> Any:
        return pipeline

    offline_nlp.vidya_offline = True  # type: ignore[attr-defined]
    # unstructured would otherwise download en_core_web_sm here, on the first paragraph it classifies
    tokenize._get_nlp = offline_nlp  # type: ignore[assignment, unused-ignore]


def _subject(elements: Sequence[Any]) -> str:
    for element in elements:
        subject = getattr(element.metadata, "subject", None)
        if isinstance(subject, str) and subject.strip():
            return " ".join(subject.split())
    return ""


def outline_elements(elements: Iterable[Any], fmt: str, fallback_title: str = "") -> Outline:
    """Group unstructured elements under their headings, as the other document readers do.

    The title is the e-mail subject (passed as ``fallback_title``) or the first
    level-1 heading, else ``fallback_title``.
    """
    kept = [e for e in elements if e.category not in _SKIP and (e.text or "").strip()]
    levels = [heading_level(e, fmt) for e in kept]
    first_h1 = next((_clean(e.text) for e, level in zip(kept, levels, strict=True) if level == 1), "")
    title = (fallback_title if fmt == "email" else "") or first_h1 or fallback_title
    outliner = Outliner(title)
    items: list[Any] = []
    for element, level in zip(kept, levels, strict=True):
        if element.category == "ListItem":
            items.append(element)
            continue
        _flush_list(outliner, items, fmt)
        if level:
            outliner.heading(level, element.text)
        else:
            outliner.add(_block(element, fmt))
    _flush_list(outliner, items, fmt)
    return Outline(fmt, title, outliner.parts())


def heading_level(element: Any, fmt: str) -> int:
    """1-6 for a structural heading, else 0.

    unstructured also calls short unstyled lines ``Title`` by guesswork; only
    Titles with a depth (Word heading styles, HTML ``h1``-``h6``) count, and in
    slides only the slide title (depth 0).
    """
    if element.category != "Title":
        return 0
    depth = element.metadata.category_depth
    if depth is None or (fmt == "pptx" and depth != 0):
        return 0
    return min(int(depth) + 1, 6)


def _clean(text: str) -> str:
    return " ".join(text.split())


def _page(element: Any, fmt: str) -> int:
    number = element.metadata.page_number if fmt == "pptx" else None  # Word page numbers depend on the last render
    return number if isinstance(number, int) and number > 0 else 0


def _block(element: Any, fmt: str) -> Block:
    page = _page(element, fmt)
    if element.category == "Table" and element.metadata.text_as_html:
        parts = outline_html(element.metadata.text_as_html).parts
        lines = tuple(line for part in parts for block in part.blocks for line in block.lines)
        if lines:
            return Block(lines, "table", page=page)
    lines = tuple(line.rstrip() for line in element.text.strip("\n").split("\n"))
    if element.category == "CodeSnippet":
        fence = "~~~~" if "```" in element.text else "```"
        return Block((fence, *lines, fence, ""), "code", page=page)
    return Block((*(line for line in lines if line.strip()), ""), "text", page=page)


def _flush_list(outliner: Outliner, items: list[Any], fmt: str) -> None:
    """Consecutive list items as one list block whose items are the places it may be cut."""
    if not items:
        return
    depths = [e.metadata.category_depth or 0 for e in items]
    base = min(depths)
    children = []
    for element, depth in zip(items, depths, strict=True):
        indent = "  " * (depth - base)
        text_lines = [line.strip() for line in element.text.split("\n") if line.strip()]
        first = text_lines[0] if _LIST_MARKER.match(text_lines[0]) else "- " + text_lines[0]
        lines = (indent + first, *(indent + "  " + line for line in text_lines[1:]))
        children.append(Block(lines, "item", page=_page(element, fmt)))
    lines = (*(line for child in children for line in child.lines), "")
    outliner.add(Block(lines, "list", tuple(children), page=children[0].page))
    items.clear()


READER = UnstructuredReader()
