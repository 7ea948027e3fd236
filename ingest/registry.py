"""The reader registry: every source format is one module with the same small interface.

Built-in readers are listed in :data:`BUILTIN`; third-party readers register
the same way through the ``vidya.readers`` entry-point group (an object with
the :class:`Reader` attributes)::

    [project.entry-points."vidya.readers"]
    servicenow = "my_package.servicenow:READER"

Detection asks each reader, in priority order, whether it claims a file
(``sniff`` looks at the suffix and the first bytes: at most
:data:`DETECT_BYTES` of them, so finding a large file's reader does not hold
the whole file); ``--source-type NAME`` skips detection.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from importlib.metadata import entry_points
from typing import Protocol, runtime_checkable

from graph.errors import FormatError, VidyaError
from ingest.records import ReadContext, ReadResult, SourceFile

#: load order: what others refer to comes first (topology before events)
PRIORITY_TOPOLOGY = 10
PRIORITY_PROVENANCE = 20
PRIORITY_CHANGES = 30
PRIORITY_ALERTS = 40
PRIORITY_INCIDENTS = 50
PRIORITY_DOCUMENTS = 60
#: the most of a file's first bytes a ``sniff`` is shown (the widest built-in look, SLSA's, reads this much)
DETECT_BYTES = 4 * 1024 * 1024


@runtime_checkable
class Reader(Protocol):
    """One source format."""

    #: the ``--source-type`` name, e.g. ``backstage``
    name: str
    #: one line for ``vidya ingest --help`` and the docs
    description: str
    #: when sources of this type are loaded in a run (lower first)
    priority: int
    #: bump when the reader's output changes, so unchanged files are read again
    version: str

    def sniff(self, file: SourceFile) -> bool:
        """Whether this reader claims the file (suffix and first bytes only; must be cheap).

        During an ingest ``file.data`` holds at most the first :data:`DETECT_BYTES` bytes.
        """
        ...

    def read(self, file: SourceFile, ctx: ReadContext) -> ReadResult:
        """Turn the file into records; raise ``FormatError`` if nothing in it is usable."""
        ...


#: module paths of the built-in readers; each exposes ``READER``
BUILTIN: tuple[str, ...] = (
    "ingest.backstage",
    "ingest.kubernetes",
    "ingest.slsa",
    "ingest.git_repo",
    "ingest.cdevents",
    "ingest.deploy_log",
    "ingest.alertmanager",
    "ingest.pagerduty",
    "ingest.postmortem",
    "ingest.documents",
    "ingest.doc_unstructured",
)


class UnknownSourceType(VidyaError):
    pass


def _load_builtin(module: str) -> Reader | None:
    try:
        loaded = importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name == module:  # a reader not written yet
            return None
        raise
    reader = loaded.READER
    if not isinstance(reader, Reader):
        raise TypeError(f"{module}.READER does not implement the Reader protocol")
    return reader


def readers() -> list[Reader]:
    """All readers, built-in and registered, in priority order."""
    found = [r for r in (_load_builtin(m) for m in BUILTIN) if r is not None]
    for ep in entry_points(group="vidya.readers"):
        reader = ep.load()
        if isinstance(reader, Reader):
            found.append(reader)
    return sorted(found, key=lambda r: r.priority)


def reader_named(name: str, available: Iterable[Reader] | None = None) -> Reader:
    pool = list(available if available is not None else readers())
    for reader in pool:
        if reader.name == name:
            return reader
    names = ", ".join(sorted(r.name for r in pool))
    raise UnknownSourceType(f"--source-type {name!r}: unknown (known: {names})")


def reader_from(module: str, name: str) -> Reader:
    """The reader ``name``, importing only ``module`` when its ``READER`` is that reader.

    Otherwise (another reader there, or no module given) it is looked up among
    every reader, as :func:`reader_named` does.
    """
    if module:
        reader = getattr(importlib.import_module(module), "READER", None)
        if isinstance(reader, Reader) and reader.name == name:
            return reader
    return reader_named(name)


def detect(file: SourceFile, available: Iterable[Reader] | None = None) -> Reader:
    """The reader that claims ``file``, or ``FormatError`` saying what was expected."""
    for reader in available if available is not None else readers():
        if reader.sniff(file):
            return reader
    raise FormatError(
        f"{file.path}: not a format Vidya reads (see `vidya ingest --help` for the source types, "
        "or pass --source-type)"
    )
