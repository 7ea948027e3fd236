"""Turn the paths given to ``vidya ingest`` into :class:`SourceFile` inputs, safely.

Directories are walked recursively (hidden folders, virtual environments and
build output skipped); a folder holding a git repository becomes one directory
source; ``.tar.gz``/``.tgz``/``.zip`` archives are read in memory with limits
on member count and sizes and without ever writing a member outside memory,
so path traversal (``../``, absolute names, links) cannot escape. Problems
with one input become an :class:`Unreadable` entry; the walk goes on.

:func:`walk_lazy` yields :class:`LazySource` handles whose bytes are read only
when asked for, so an ingest holds one file in memory at a time; its first
bytes (:meth:`LazySource.head`, what detection looks at) and its digest
(:meth:`LazySource.digest`, read in blocks) need no more than a bounded
buffer::

    for item in walk_lazy(Path("examples/estate")):
        if isinstance(item, LazySource):
            file = item.load()  # a SourceFile, or Unreadable if it vanished or grew past the limit
"""

from __future__ import annotations

import hashlib
import os
import tarfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from ingest.records import SourceFile

#: bytes read at a time when a file is hashed
_BLOCK = 1024 * 1024
SKIP_DIRS = frozenset({"__pycache__", "node_modules", ".venv", "venv", ".tox", ".mypy_cache", ".pytest_cache"})
ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".tar", ".zip")


@dataclass(frozen=True)
class Limits:
    """How much the walker reads before it refuses an input."""

    max_file_bytes: int = 50 * 1024 * 1024
    max_archive_members: int = 10_000
    max_archive_bytes: int = 512 * 1024 * 1024


def _read_capped(handle: BinaryIO, max_bytes: int) -> bytes:
    """The file's bytes, at most ``max_bytes + 1`` of them (one more tells it is over the limit).

    ``read(n)`` allocates ``n`` bytes up front, so asking for the limit would
    take the whole limit for every file; the file's size is asked for instead
    (and one byte more, to notice a file that grew).
    """
    size = os.fstat(handle.fileno()).st_size
    data = handle.read(min(size, max_bytes) + 1)
    if len(data) > size and len(data) <= max_bytes:  # it grew since: the rest, up to the limit
        data += handle.read(max_bytes + 1 - len(data))
    return data


@dataclass(frozen=True)
class Unreadable:
    """An input that could not be read at all, with the reason."""

    path: str
    reason: str


@dataclass(frozen=True)
class LazySource:
    """An input whose bytes are read when :meth:`load` is called (again on every call).

    A file on disk is re-read from ``origin``; an archive member keeps the
    bytes it was extracted with (``member``); a directory source has none.
    """

    path: str
    origin: Path | None
    max_bytes: int
    is_directory: bool = False
    member: bytes | None = field(default=None, repr=False)
    #: bytes on disk when the walk found it (an archive member: its length; a directory: 0)
    size: int = 0

    @property
    def on_disk(self) -> bool:
        """A file read from disk on every call (not an archive member, not a directory)."""
        return self.member is None and self.origin is not None and not self.is_directory

    def load(self) -> SourceFile | Unreadable:
        """The input as a :class:`SourceFile`, or why it cannot be read now."""
        if self.member is not None or self.origin is None:
            return SourceFile(path=self.path, data=self.member or b"", origin=self.origin)
        if self.is_directory:
            return SourceFile(path=self.path, data=b"", origin=self.origin, is_directory=True)
        try:
            with self.origin.open("rb") as handle:
                data = _read_capped(handle, self.max_bytes)
        except OSError as exc:
            return Unreadable(self.path, f"cannot read: {exc.strerror}")
        if len(data) > self.max_bytes:
            return self._over_limit()
        return SourceFile(path=self.path, data=data, origin=self.origin)

    def head(self, max_bytes: int) -> SourceFile | Unreadable:
        """The input with only its first ``max_bytes`` bytes (all of them when it is no larger)."""
        if not self.on_disk:
            loaded = self.load()
            if isinstance(loaded, Unreadable) or len(loaded.data) <= max_bytes:
                return loaded
            return SourceFile(path=self.path, data=loaded.data[:max_bytes], origin=self.origin)
        assert self.origin is not None
        try:
            with self.origin.open("rb") as handle:
                data = handle.read(min(os.fstat(handle.fileno()).st_size, max_bytes))
        except OSError as exc:
            return Unreadable(self.path, f"cannot read: {exc.strerror}")
        return SourceFile(path=self.path, data=data, origin=self.origin)

    def digest(self) -> str | Unreadable:
        """The SHA-256 of the bytes :meth:`load` would give, read from disk in blocks (``""`` for a directory)."""
        if not self.on_disk:
            loaded = self.load()
            return loaded if isinstance(loaded, Unreadable) else "" if loaded.is_directory else loaded.digest()
        assert self.origin is not None
        sha, total = hashlib.sha256(), 0
        try:
            with self.origin.open("rb") as handle:
                while block := handle.read(_BLOCK):
                    total += len(block)
                    if total > self.max_bytes:
                        return self._over_limit()
                    sha.update(block)
        except OSError as exc:
            return Unreadable(self.path, f"cannot read: {exc.strerror}")
        return sha.hexdigest()

    def _over_limit(self) -> Unreadable:
        return Unreadable(self.path, f"over the {self.max_bytes / 1e6:.0f} MB limit per file")


def _rel(path: Path, root: Path) -> str:
    if path == root:
        return path.name
    return path.relative_to(root).as_posix()


def _is_git_repo(path: Path) -> bool:
    return (path / ".git").exists()


def walk(root: Path, limits: Limits | None = None) -> Iterator[SourceFile | Unreadable]:
    """Every input under ``root`` (a file, an archive or a directory), paths relative to ``root``, read."""
    for item in walk_lazy(root, limits):
        yield item.load() if isinstance(item, LazySource) else item


def walk_lazy(root: Path, limits: Limits | None = None) -> Iterator[LazySource | Unreadable]:
    """Like :func:`walk`, but files are read only when their :meth:`LazySource.load` is called."""
    limits = limits or Limits()
    if not root.exists():
        yield Unreadable(str(root), "no such file or directory")
        return
    if root.is_file():
        yield from _file(root, root.parent, limits)
        return
    if _is_git_repo(root):
        yield _repository(root.resolve().name, root, limits)
        return
    yield from _directory(root, root, limits)


def _repository(path: str, origin: Path, limits: Limits) -> LazySource:
    return LazySource(path=path, origin=origin, max_bytes=limits.max_file_bytes, is_directory=True)


def _directory(directory: Path, root: Path, limits: Limits) -> Iterator[LazySource | Unreadable]:
    try:
        entries = sorted(directory.iterdir(), key=lambda p: p.name)
    except OSError as exc:
        yield Unreadable(_rel(directory, root) or ".", f"cannot list: {exc.strerror}")
        return
    for entry in entries:
        if entry.is_symlink() and not entry.resolve().is_relative_to(root.resolve()):
            yield Unreadable(_rel(entry, root), "symbolic link points outside the ingest root; skipped")
        elif entry.is_dir():
            if entry.name.startswith(".") or entry.name in SKIP_DIRS:
                continue
            if _is_git_repo(entry):
                yield _repository(_rel(entry, root), entry, limits)
            else:
                yield from _directory(entry, root, limits)
        elif entry.is_file() and not entry.name.startswith("."):
            yield from _file(entry, root, limits)


def _file(path: Path, root: Path, limits: Limits) -> Iterator[LazySource | Unreadable]:
    rel = _rel(path, root)
    try:
        size = path.stat().st_size
        if size > limits.max_file_bytes:
            yield Unreadable(rel, f"{size / 1e6:.1f} MB is over the {limits.max_file_bytes / 1e6:.0f} MB limit per file")
            return
        if path.name.lower().endswith(ARCHIVE_SUFFIXES):
            yield from _archive(path, rel, limits)
            return
        yield LazySource(path=rel, origin=path, max_bytes=limits.max_file_bytes, size=size)
    except OSError as exc:
        yield Unreadable(rel, f"cannot read: {exc.strerror}")


def _safe_member(name: str) -> str | None:
    """The member's normalised relative path, or ``None`` if it would escape the archive."""
    pure = PurePosixPath(name.replace("\\", "/"))
    if pure.is_absolute() or ".." in pure.parts or not pure.parts:
        return None
    return pure.as_posix()


def _archive(path: Path, rel: str, limits: Limits) -> Iterator[LazySource | Unreadable]:
    try:
        read = _zip_members if path.name.lower().endswith(".zip") else _tar_members
        members = list(read(path, limits))
    except (tarfile.TarError, zipfile.BadZipFile, EOFError, OSError) as exc:
        yield Unreadable(rel, f"not a readable archive ({exc})")
        return
    except _ArchiveLimit as exc:
        yield Unreadable(rel, str(exc))
        return
    for name, data in members:
        safe = _safe_member(name)
        if safe is None:
            yield Unreadable(f"{rel}!{name}", "archive member path escapes the archive (absolute or '..'); skipped")
        elif not PurePosixPath(safe).name.startswith("."):
            yield LazySource(
                path=f"{rel}!{safe}", origin=None, max_bytes=limits.max_file_bytes, member=data, size=len(data)
            )


class _ArchiveLimit(Exception):
    pass


def _budget(count: int, total: int, size: int, limits: Limits) -> int:
    if count > limits.max_archive_members:
        raise _ArchiveLimit(f"more than {limits.max_archive_members} members; refused")
    if size > limits.max_file_bytes:
        raise _ArchiveLimit(f"a member of {size / 1e6:.1f} MB is over the per-file limit; refused")
    if total + size > limits.max_archive_bytes:
        raise _ArchiveLimit(f"expands to more than {limits.max_archive_bytes / 1e6:.0f} MB; refused")
    return total + size


def _tar_members(path: Path, limits: Limits) -> Iterator[tuple[str, bytes]]:
    total = 0
    with tarfile.open(path, mode="r:*") as archive:
        for count, member in enumerate(archive, start=1):
            if not member.isfile():  # links, devices and folders are never extracted
                continue
            total = _budget(count, total, member.size, limits)
            handle = archive.extractfile(member)
            if handle is not None:
                yield member.name, handle.read(limits.max_file_bytes + 1)


def _zip_members(path: Path, limits: Limits) -> Iterator[tuple[str, bytes]]:
    total = 0
    with zipfile.ZipFile(path) as archive:
        for count, info in enumerate(archive.infolist(), start=1):
            if info.is_dir():
                continue
            total = _budget(count, total, info.file_size, limits)
            with archive.open(info) as handle:
                data = handle.read(limits.max_file_bytes + 1)
            if len(data) > limits.max_file_bytes:  # the header lied about the size
                raise _ArchiveLimit(f"member {info.filename} is over the per-file limit; refused")
            yield info.filename, data
