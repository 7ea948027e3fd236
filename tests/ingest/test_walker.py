"""The input walker: directories, archives (safely) and git repositories."""

from __future__ import annotations

import io
import tarfile
import zipfile
from pathlib import Path

from ingest.records import SourceFile
from ingest.walker import LazySource, Limits, Unreadable, walk, walk_lazy


def _paths(items: list[SourceFile | Unreadable]) -> list[str]:
    return [i.path for i in items if isinstance(i, SourceFile)]


def test_directory_walk_is_recursive_sorted_and_relative(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "deep").mkdir()
    (tmp_path / "a.yaml").write_text("a: 1")
    (tmp_path / "b" / "deep" / "c.json").write_text("{}")
    (tmp_path / ".hidden").mkdir()
    (tmp_path / ".hidden" / "x.md").write_text("# no")
    (tmp_path / "node_modules").mkdir()
    (tmp_path / "node_modules" / "y.md").write_text("# no")
    items = list(walk(tmp_path))
    assert _paths(items) == ["a.yaml", "b/deep/c.json"]
    assert items[0].data == b"a: 1"  # type: ignore[union-attr]


def test_a_single_file_is_named_by_its_file_name(tmp_path: Path) -> None:
    target = tmp_path / "alerts.json"
    target.write_text("{}")
    assert _paths(list(walk(target))) == ["alerts.json"]


def test_missing_path_is_unreadable_not_an_exception(tmp_path: Path) -> None:
    items = list(walk(tmp_path / "nope"))
    assert isinstance(items[0], Unreadable) and "no such file" in items[0].reason


def test_oversized_file_is_refused_with_the_limit(tmp_path: Path) -> None:
    (tmp_path / "big.log").write_bytes(b"x" * 2000)
    items = list(walk(tmp_path, Limits(max_file_bytes=1000)))
    assert isinstance(items[0], Unreadable) and "limit" in items[0].reason


def test_git_repository_is_one_directory_source(tmp_path: Path) -> None:
    repo = tmp_path / "shop"
    (repo / ".git").mkdir(parents=True)
    (repo / "README.md").write_text("# shop")
    items = list(walk(tmp_path))
    assert len(items) == 1
    item = items[0]
    assert isinstance(item, SourceFile) and item.is_directory and item.path == "shop" and item.origin == repo


def _tar(path: Path, members: dict[str, bytes]) -> None:
    with tarfile.open(path, "w:gz") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))


def test_tar_members_are_read_in_memory_and_traversal_is_refused(tmp_path: Path) -> None:
    _tar(tmp_path / "bundle.tar.gz", {"catalog/a.yaml": b"a", "../../etc/evil": b"x", "/abs/path": b"y"})
    items = list(walk(tmp_path))
    assert _paths(items) == ["bundle.tar.gz!catalog/a.yaml"]
    refused = [i for i in items if isinstance(i, Unreadable)]
    assert len(refused) == 2 and all("escapes" in r.reason for r in refused)
    assert not (tmp_path.parent.parent / "etc" / "evil").exists()


def test_tar_links_are_never_followed(tmp_path: Path) -> None:
    with tarfile.open(tmp_path / "links.tgz", "w:gz") as archive:
        link = tarfile.TarInfo("passwd")
        link.type = tarfile.SYMTYPE
        link.linkname = "/etc/passwd"
        archive.addfile(link)
    assert _paths(list(walk(tmp_path))) == []


def test_zip_members_and_limits(tmp_path: Path) -> None:
    with zipfile.ZipFile(tmp_path / "runbooks.zip", "w") as archive:
        archive.writestr("rb/one.md", "# one")
        archive.writestr("rb/two.md", "# two")
    assert _paths(list(walk(tmp_path))) == ["runbooks.zip!rb/one.md", "runbooks.zip!rb/two.md"]
    items = list(walk(tmp_path, Limits(max_archive_members=1)))
    assert isinstance(items[0], Unreadable) and "members" in items[0].reason


def test_archive_expanding_past_the_budget_is_refused(tmp_path: Path) -> None:
    _tar(tmp_path / "bomb.tar.gz", {f"f{i}.txt": b"0" * 600 for i in range(5)})
    items = list(walk(tmp_path, Limits(max_archive_bytes=2000)))
    assert len(items) == 1 and isinstance(items[0], Unreadable) and "MB" in items[0].reason


def test_corrupt_archive_is_unreadable(tmp_path: Path) -> None:
    (tmp_path / "broken.zip").write_bytes(b"PK\x03\x04 not really")
    items = list(walk(tmp_path))
    assert isinstance(items[0], Unreadable) and "archive" in items[0].reason


def test_a_lazy_source_gives_its_head_and_digest_without_loading_it_whole(tmp_path: Path) -> None:
    data = bytes(range(256)) * 9000  # a little over 2 MiB: more than one block to hash
    (tmp_path / "big.jsonl").write_bytes(data)
    with tarfile.open(tmp_path / "bundle.tar.gz", "w:gz") as archive:
        info = tarfile.TarInfo("inner.json")
        info.size = 5
        archive.addfile(info, io.BytesIO(b'{"a"}'))
    big, member = [item for item in walk_lazy(tmp_path) if isinstance(item, LazySource)]

    loaded = big.load()
    assert isinstance(loaded, SourceFile) and big.size == len(data)
    assert big.digest() == loaded.digest()
    assert big.head(1000) == SourceFile("big.jsonl", data[:1000], big.origin)
    assert big.head(len(data) + 1) == loaded
    assert member.path == "bundle.tar.gz!inner.json" and member.size == 5
    assert member.head(2).data == b'{"' and member.digest() == SourceFile("x", b'{"a"}').digest()


def test_a_file_grown_past_the_limit_since_the_walk_is_unreadable_when_hashed(tmp_path: Path) -> None:
    (tmp_path / "grows.log").write_bytes(b"x" * 10)
    (item,) = walk_lazy(tmp_path, Limits(max_file_bytes=100))
    (tmp_path / "grows.log").write_bytes(b"x" * 101)
    assert isinstance(item, LazySource)
    assert item.digest() == Unreadable("grows.log", "over the 0 MB limit per file")
