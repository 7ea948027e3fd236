"""Runbooks in Markdown, HTML, plain text or PDF, split into heading-aware sections.

The lowest-priority reader: any ``.md``/``.markdown``, ``.html``/``.htm``,
``.txt``/``.text``/``.rst`` or ``.pdf`` file no more specific reader claims is
a runbook. It becomes::

    Runbook  runbook:<path>          name = title; props format, sections, words, front-matter scalars
      -[HAS_SECTION {order}]-> Section  section:<path>#<n>   props heading, anchor, order, words, text
      -[OWNED_BY]-> Team/Person      from front matter ``owner``
      -[MENTIONS]-> (hinted)         from front matter ``service`` / ``services``

plus one :class:`~ingest.records.Document` (``kind="runbook"``) whose sections
are the same chunks, for the retrieval side. The title is the front-matter
``title``, else the first level-1 heading, else the file name. Sections hold at
most :data:`~ingest.chunking.MAX_WORDS` words; a longer one is a single code
block or command line that is never split (prop ``oversized: true``).
"""

from __future__ import annotations

from typing import Any

from graph.errors import FormatError, VidyaError
from graph.model import Edge, Node
from graph.schema import NodeLabel, RelType, label_of, node_id
from ingest import registry
from ingest.chunking import MAX_WORDS, Chunk, Outline, chunk_parts
from ingest.doc_html import outline_html
from ingest.doc_markdown import outline_markdown
from ingest.doc_pdf import outline_pdf, read_pdf
from ingest.doc_text import outline_text
from ingest.ids import entity_id, person_email_id
from ingest.records import (
    Document,
    EntityHint,
    HintedEdge,
    ReadContext,
    ReadResult,
    RecordError,
    SourceFile,
)

#: file suffixes this reader claims, and the format each is read as
FORMATS: dict[str, str] = {
    ".md": "markdown",
    ".markdown": "markdown",
    ".html": "html",
    ".htm": "html",
    ".txt": "text",
    ".text": "text",
    ".rst": "text",
    ".pdf": "pdf",
}
_SNIFF_BYTES = 1024
_SERVICE_KEYS = ("service", "services")


class DocumentsReader:
    name = "documents"
    description = "Runbooks in Markdown, HTML, plain text or PDF, split into heading-aware sections"
    priority = registry.PRIORITY_DOCUMENTS
    version = "1"

    def __init__(self, max_words: int = MAX_WORDS) -> None:
        self.max_words = max_words

    def sniff(self, file: SourceFile) -> bool:
        fmt = FORMATS.get(file.suffix)
        if file.is_directory or fmt is None:
            return False
        head = file.data[:_SNIFF_BYTES]
        return b"%PDF-" in head if fmt == "pdf" else b"\x00" not in head

    def read(self, file: SourceFile, ctx: ReadContext) -> ReadResult:
        outline = parse(file)
        chunks = chunk_parts(outline.parts, self.max_words)
        if not chunks:
            hint = "; a scanned PDF needs OCR first" if outline.format == "pdf" else ""
            raise FormatError(f"{file.path}: no text to index (expected a runbook with some text beyond its headings{hint})")
        return _result(file, ctx, outline, chunks)


def parse(file: SourceFile) -> Outline:
    """Read the file in the format its suffix (or, failing that, its first bytes) names."""
    if not file.data.strip():
        raise FormatError(f"{file.path}: empty file (expected a runbook)")
    fmt = FORMATS.get(file.suffix) or _guess_format(file.data)
    fallback = _file_title(file.path)
    if fmt == "pdf":
        meta_title, pages = read_pdf(file.data, file.path)
        return outline_pdf(meta_title, pages, fallback)
    text = file.text()
    if "\x00" in text:
        raise FormatError(f"{file.path}: byte {file.data.index(0)} is NUL (expected a text runbook, not a binary file)")
    if fmt == "html":
        return outline_html(text, fallback)
    if fmt == "text":
        return outline_text(text, fallback)
    return outline_markdown(text, fallback)


def _guess_format(data: bytes) -> str:
    head = data[:_SNIFF_BYTES].lstrip().lower()
    if b"%pdf-" in head:
        return "pdf"
    return "html" if head.startswith((b"<!doctype html", b"<html")) else "markdown"


def _file_title(path: str) -> str:
    name = path.rstrip("/").rsplit("/", 1)[-1]
    stem = name.rsplit(".", 1)[0] if "." in name.lstrip(".") else name
    return stem.strip() or name or path


def _result(file: SourceFile, ctx: ReadContext, outline: Outline, chunks: list[Chunk]) -> ReadResult:
    runbook = node_id(NodeLabel.RUNBOOK, file.path)
    result = ReadResult(errors=list(outline.errors))
    props: dict[str, Any] = {
        **outline.front_matter,
        "format": outline.format,
        "sections": len(chunks),
        "words": sum(chunk.words for chunk in chunks),
    }
    result.nodes.append(Node(runbook, NodeLabel.RUNBOOK, ctx.provenance(file), outline.title or None, props))
    for order, chunk in enumerate(chunks, start=1):
        section = node_id(NodeLabel.SECTION, f"{file.path}#{order}")
        prov = ctx.provenance(file, chunk.location)
        result.nodes.append(Node(section, NodeLabel.SECTION, prov, chunk.heading or None, _section_props(chunk, order)))
        result.edges.append(Edge(RelType.HAS_SECTION, runbook, section, prov, {"order": order}))
    _front_matter_links(file, ctx, outline, runbook, result)
    result.documents.append(
        Document(
            id=runbook,
            kind="runbook",
            title=outline.title,
            path=file.path,
            sections=tuple(chunk.section() for chunk in chunks),
            front_matter=dict(outline.front_matter),
        )
    )
    return result


def _section_props(chunk: Chunk, order: int) -> dict[str, Any]:
    return {
        "heading": chunk.heading,
        "anchor": chunk.anchor,
        "order": order,
        "words": chunk.words,
        "text": chunk.text,
        "oversized": True if chunk.oversized else None,
    }


def _front_matter_links(file: SourceFile, ctx: ReadContext, outline: Outline, runbook: str, result: ReadResult) -> None:
    """``owner`` becomes an OWNED_BY edge; ``service``/``services`` become hinted MENTIONS edges."""
    values = outline.front_matter
    prov = ctx.provenance(file, "front matter")
    owner = values.get("owner")
    if isinstance(owner, str) and owner.strip():
        try:
            result.edges.append(Edge(RelType.OWNED_BY, runbook, _owner_id(owner), prov))
        except VidyaError as exc:
            result.errors.append(RecordError("front matter owner", str(exc)))
    for key in _SERVICE_KEYS:
        names = values.get(key)
        for name in names if isinstance(names, list) else [names]:
            if isinstance(name, str) and name.strip():
                hint = EntityHint.of({"service": name.strip()})
                result.hinted.append(HintedEdge(RelType.MENTIONS, runbook, hint, prov))


def _owner_id(owner: str) -> str:
    text = owner.strip()
    target = person_email_id(text) if "@" in text and ":" not in text else entity_id(text, default_kind="group")
    if label_of(target) not in (NodeLabel.TEAM, NodeLabel.PERSON):
        raise FormatError(f"owner {owner!r}: expected a group or user reference, got a {label_of(target)}")
    return target


READER = DocumentsReader()
