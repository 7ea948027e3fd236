"""What a reader receives and returns: plain typed records, no store I/O.

A reader turns one :class:`SourceFile` into a :class:`ReadResult`: graph
nodes and edges (with provenance), edges whose far end must be looked up in
the catalogue (:class:`HintedEdge`, e.g. an alert's ``service`` label), text
documents for the retrieval side, and per-record errors that did not stop the
rest of the file.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Literal

from graph.model import Edge, Node, Props, Provenance
from graph.schema import NodeLabel, RelType


@dataclass(frozen=True, slots=True)
class SourceFile:
    """One input: its path relative to the ingest root (POSIX) and its bytes.

    ``origin`` is the real location on disk when there is one; a git
    repository is a directory source whose ``data`` is empty.
    """

    path: str
    data: bytes
    origin: Path | None = None
    is_directory: bool = False

    @property
    def suffix(self) -> str:
        name = self.path.rsplit("/", 1)[-1].lower()
        for double in (".tar.gz", ".jsonl.gz"):
            if name.endswith(double):
                return double
        return "." + name.rsplit(".", 1)[-1] if "." in name else ""

    def text(self) -> str:
        """The bytes decoded as UTF-8 (a BOM is dropped); undecodable input raises ``FormatError``."""
        from graph.errors import FormatError

        try:
            return self.data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise FormatError(
                f"{self.path}: byte {exc.start} is not UTF-8 (expected UTF-8 text; re-encode the file)"
            ) from None

    def digest(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


@dataclass(frozen=True, slots=True)
class ReadContext:
    """What a reader needs to stamp provenance on its records."""

    run_id: str
    ingested_at: datetime

    def provenance(self, file: SourceFile, location: str | None = None) -> Provenance:
        return Provenance(source=file.path, run_id=self.run_id, location=location, ingested_at=self.ingested_at)


@dataclass(frozen=True, slots=True)
class EntityHint:
    """Values that name a catalogue entity, to be matched at load time.

    ``values`` maps a field or label name (``service``, ``job``, ``app``,
    ``namespace``, ``pod``, ``instance``, ``topic``, ``name``...) to its value.
    ``fallback`` is the id to use when nothing matches (it becomes a
    placeholder that resolves when the entity arrives); ``None`` drops the edge.
    """

    values: tuple[tuple[str, str], ...]
    labels: frozenset[NodeLabel] = frozenset({NodeLabel.SERVICE, NodeLabel.RESOURCE, NodeLabel.API, NodeLabel.SYSTEM})
    fallback: str | None = None

    @staticmethod
    def of(values: dict[str, str], *, fallback: str | None = None) -> EntityHint:
        return EntityHint(values=tuple(sorted((k, v) for k, v in values.items() if v)), fallback=fallback)


@dataclass(frozen=True, slots=True)
class HintedEdge:
    """An edge from a known node to an entity the loader must find (``src -[type]-> entity``)."""

    type: RelType
    src: str
    hint: EntityHint
    provenance: Provenance
    props: Props = field(default_factory=dict)
    key: str = ""
    valid_from: datetime | None = None


@dataclass(frozen=True, slots=True)
class Section:
    """A heading-delimited part of a document; ``heading_path`` runs from the title down."""

    heading_path: tuple[str, ...]
    text: str
    anchor: str = ""


@dataclass(frozen=True, slots=True)
class Document:
    """Text for the retrieval side: a runbook, a postmortem or an incident write-up."""

    id: str
    kind: Literal["runbook", "postmortem", "incident"]
    title: str
    path: str
    sections: tuple[Section, ...]
    front_matter: Props = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RecordError:
    """One record a reader could not use; the rest of the file still counts."""

    location: str
    message: str

    def __str__(self) -> str:
        return f"{self.location}: {self.message}"


@dataclass(slots=True)
class ReadResult:
    nodes: list[Node] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)
    hinted: list[HintedEdge] = field(default_factory=list)
    documents: list[Document] = field(default_factory=list)
    errors: list[RecordError] = field(default_factory=list)

    def extend(self, other: ReadResult) -> ReadResult:
        self.nodes.extend(other.nodes)
        self.edges.extend(other.edges)
        self.hinted.extend(other.hinted)
        self.documents.extend(other.documents)
        self.errors.extend(other.errors)
        return self
