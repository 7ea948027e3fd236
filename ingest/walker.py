"""Turn the paths given to ``vidya ingest`` into :class:`SourceFile` inputs, safely.

Directories are walked recursively (hidden folders, virtual environments and
build output skipped); a folder holding a git repository becomes one directory
source; ``.tar.gz``/``.tgz``/``.zip`` archives are read in memory with limits
on member count and sizes and without ever writing a member outside memory,
so path traversal (``../``, absolute names, links) cannot escape. Problems
with one input become an :class:`Unreadable` entry; the walk goes on.
"""

from __future__ import annotations

import tarfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from ingest.records import SourceFile

SKIP_DIRS = frozenset({"__pycache__", "node_modules", ".venv", "venv", ".tox", ".mypy_cache", ".pytest_cache"})
ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".tar", ".zip")


@dataclass(frozen=True)
class Limits:
    """How much the walker reads before it refuses an input."""

    max_file_bytes: int = 50 * 1024 * 1024
    max_archive_members: int = 10_000
    max_archive_bytes: int = 512 * 1024 * 1024


@dataclass(frozen=True)
class Unreadable:
    """An input that could not be read at all, with the reason."""

    path: str
    reason: str


def _rel(path: Path, root: Path) -> str:
    if path == root:
        return path.name
    return path.relative_to(root).as_posix()


def _is_git_repo(path: Path) -> bool:
    return (path / ".git").exists()


def walk(root: Path, limits: Limits | None = None) -> Iterator[SourceFile | Unreadable]:
    """Every input under ``root`` (a file, an archive or a directory), paths relative to ``root``."""
    limits = limits or Limits()
    if not root.exists():
        yield Unreadable(str(root), "no such file or directory")
        return
    if root.is_file():
        yield from _file(root, root.parent, limits)
        return
    if _is_git_repo(root):
        yield SourceFile(path=root.resolve().name, data=b"", origin=root, is_directory=True)
        return
    yield from _directory(root, root, limits)


def _directory(directory: Path, root: Path, limits: Limits) -> Iterator[SourceFile | Unreadable]:
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
                yield SourceFile(path=_rel(entry, root), data=b"", origin=entry, is_directory=True)
            else:
                yield from _directory(entry, root, limits)
        elif entry.is_file() and not entry.name.startswith("."):
            yield from _file(entry, root, limits)


def _file(path: Path, root: Path, limits: Limits) -> Iterator[SourceFile | Unreadable]:
    rel = _rel(path, root)
    try:
        size = path.stat().st_size
        if size > limits.max_file_bytes:
            yield Unreadable(rel, f"{size / 1e6:.1f} MB is over the {limits.max_file_bytes / 1e6:.0f} MB limit per file")
            return
        if path.name.lower().endswith(ARCHIVE_SUFFIXES):
            yield from _archive(path, rel, limits)
            return
        yield SourceFile(path=rel, data=path.read_bytes(), origin=path)
    except OSError as exc:
        yield Unreadable(rel, f"cannot read: {exc.strerror}")


def _safe_member(name: str) -> str | None:
    """The member's normalised relative path, or ``None`` if it would escape the archive."""
    pure = PurePosixPath(name.replace("\\", "/"))
    if pure.is_absolute() or ".." in pure.parts or not pure.parts:
        return None
    return pure.as_posix()


def _archive(path: Path, rel: str, limits: Limits) -> Iterator[SourceFile | Unreadable]:
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
            yield SourceFile(path=f"{rel}!{safe}", data=data)


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
