"""The git reader, on repositories these tests build with the git CLI (merges, squashes, tickets)."""

from __future__ import annotations

import os
import random
import shutil
import subprocess
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from graph.errors import FormatError, VidyaError
from graph.model import Edge, Node
from graph.schema import NodeLabel, RelType
from ingest import registry
from ingest.git_repo import READER, GitRepoReader, repo_fingerprint
from ingest.records import ReadContext, ReadResult, SourceFile

CTX = ReadContext(run_id="run-1", ingested_at=datetime(2026, 6, 1, tzinfo=UTC))
ADA = ("Ada Lovelace", "ada@example.com")
BOB = ("Bob Okafor", "Bob.Okafor@Example.com")
CAROL = ("Carol Diaz", "carol@example.com")
DAN = ("Dan Merger", "dan@example.com")


@dataclass
class GitRepo:
    """A repository built commit by commit with fixed authors and times, so the graph is exact."""

    path: Path
    clock: datetime = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)

    def __post_init__(self) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        self.git("init", "-q", "-b", "main")

    def env(self, author: tuple[str, str], when: str) -> dict[str, str]:
        return {
            "PATH": os.environ["PATH"], "HOME": str(self.path), "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_AUTHOR_NAME": author[0], "GIT_AUTHOR_EMAIL": author[1], "GIT_AUTHOR_DATE": when,
            "GIT_COMMITTER_NAME": author[0], "GIT_COMMITTER_EMAIL": author[1], "GIT_COMMITTER_DATE": when,
        }  # fmt: skip

    def git(self, *args: str, author: tuple[str, str] = ADA, when: str | None = None, data: bytes | None = None) -> str:
        env = self.env(author, when or self.clock.isoformat())
        done = subprocess.run(["git", "-C", str(self.path), *args], env=env, input=data, capture_output=True, check=True)
        return done.stdout.decode().strip()

    def tick(self, offset: str = "+00:00") -> str:
        self.clock += timedelta(hours=1)
        hours = int(offset[:3])
        return (self.clock + timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M:%S") + offset

    def commit(self, message: str, files: dict[str, str | bytes | None], author: tuple[str, str] = ADA,
               offset: str = "+00:00") -> str:  # fmt: skip
        for name, content in files.items():
            target = self.path / name
            if content is None:
                target.unlink()
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content if isinstance(content, bytes) else content.encode())
        self.git("add", "-A")
        self.git("commit", "-q", "-F", "-", author=author, when=self.tick(offset), data=message.encode())
        return self.git("rev-parse", "HEAD")

    def merge(self, branch: str, message: str, author: tuple[str, str]) -> str:
        self.git("merge", "-q", "--no-ff", "-m", message, branch, author=author, when=self.tick())
        return self.git("rev-parse", "HEAD")


def build_checkout(path: Path) -> tuple[GitRepo, dict[str, str]]:
    """The demo 'checkout' repository: a GitHub merge, a squash, a GitLab merge, tickets and issues."""
    repo, sha = GitRepo(path), {}
    sha["c1"] = repo.commit("Initial checkout service", {"app.py": "a\nb\nc\n", "README.md": "# checkout\nhello\n"})
    sha["c2"] = repo.commit("PAY-12: add retry budget config\n\nRefs #3 and acme/Payments#21.",
                            {"config.yaml": "retries: 3\nbudget: 0.1\n"}, BOB, offset="+02:00")  # fmt: skip
    repo.git("checkout", "-q", "-b", "feature/PAY-7-timeouts")
    sha["c3"] = repo.commit("Tune upstream timeouts\n\nFixes #4", {"app.py": "a\nB\nc\nd\n"}, CAROL)
    sha["c4"] = repo.commit("Add timeout tests for PAY-7",
                            {"tests/test_timeout.py": "1\n2\n3\n4\n", "logo.png": b"\x89PNG\0\1\2"}, CAROL)  # fmt: skip
    repo.git("checkout", "-q", "main")
    sha["c5"] = repo.commit("Fix flaky cache key (#9)\n\nCloses OPS-3", {"cache.py": "key = 1\n"})
    sha["m1"] = repo.merge("feature/PAY-7-timeouts",
                           "Merge pull request #10 from acme/feature/PAY-7-timeouts\n\nTune upstream timeouts", DAN)  # fmt: skip
    sha["c6"] = repo.commit("Docs: UTF-8 logs, SHA-256 digests, ISO-8601 times",
                            {"README.md": None, "docs/README.md": "# checkout\nhello\nmore\n"}, BOB)  # fmt: skip
    repo.git("checkout", "-q", "-b", "hotfix")
    sha["c7"] = repo.commit("Handle empty cart", {"cart.py": "if not cart:\n    return\n"}, CAROL)
    repo.git("checkout", "-q", "main")
    sha["m2"] = repo.merge("hotfix", "Merge branch 'hotfix' into 'main'\n\nHandle empty cart\n\nResolves OPS-4\n\n"
                           "See merge request acme/checkout!15", DAN)  # fmt: skip
    repo.git("remote", "add", "origin", "https://ci-bot:s3cr3t@github.com/acme/checkout.git")
    return repo, sha


def source(path: Path, rel: str = "repos/work") -> SourceFile:
    return SourceFile(path=rel, data=b"", origin=path, is_directory=True)


@pytest.fixture(scope="module")
def checkout(tmp_path_factory: pytest.TempPathFactory) -> tuple[GitRepo, dict[str, str]]:
    return build_checkout(tmp_path_factory.mktemp("git") / "work")


@pytest.fixture(scope="module")
def result(checkout: tuple[GitRepo, dict[str, str]]) -> ReadResult:
    return READER.read(source(checkout[0].path), CTX)


def nodes(result: ReadResult, label: NodeLabel) -> dict[str, Node]:
    return {n.id: n for n in result.nodes if n.label is label}


def edges(result: ReadResult, type_: RelType) -> set[tuple[str, str]]:
    return {(e.src, e.dst) for e in result.edges if e.type is type_}


def edge(result: ReadResult, type_: RelType, src: str, dst: str) -> Edge:
    [found] = [e for e in result.edges if (e.type, e.src, e.dst) == (type_, src, dst)]
    return found


def c(sha: str) -> str:
    return f"commit:{sha}"


# -- detection --------------------------------------------------------------------------------------


def test_sniff_claims_only_directories_holding_git(checkout: tuple[GitRepo, dict[str, str]], tmp_path: Path) -> None:
    assert READER.sniff(source(checkout[0].path))
    assert not READER.sniff(source(tmp_path))
    assert not READER.sniff(SourceFile(path="work/app.py", data=b"a\n", origin=checkout[0].path / "app.py"))
    assert not READER.sniff(SourceFile(path="work", data=b"", is_directory=True))


def test_registry_detects_a_repository(checkout: tuple[GitRepo, dict[str, str]]) -> None:
    assert registry.detect(source(checkout[0].path)).name == "git"
    assert registry.reader_named("git") is READER


# -- repository, commits, people --------------------------------------------------------------------


def test_repository_is_named_after_origin_and_its_url_loses_credentials(
    result: ReadResult, checkout: tuple[GitRepo, dict[str, str]]
) -> None:
    [repo] = nodes(result, NodeLabel.REPOSITORY).values()
    assert (repo.id, repo.name, repo.placeholder) == ("repo:checkout", "checkout", False)
    assert repo.props == {"remote_url": "https://github.com/acme/checkout.git", "head": checkout[1]["m2"],
                          "commits_read": 9, "truncated": False}  # fmt: skip
    assert repo.provenance.source == "repos/work" and repo.provenance.run_id == "run-1"


def test_repository_without_origin_is_named_after_its_directory(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "Billing-API")
    repo.commit("init (#2)\n\nSee #1", {"a": "1\n"})
    got = READER.read(source(repo.path, "Billing-API"), CTX)
    [node] = nodes(got, NodeLabel.REPOSITORY).values()
    assert (node.id, node.name) == ("repo:billing-api", "Billing-API")  # ids are lower-case, as ingest.ids makes them
    assert "remote_url" not in node.props
    assert set(nodes(got, NodeLabel.PULL_REQUEST)) == {"pr:billing-api#2"}
    assert set(nodes(got, NodeLabel.REQUIREMENT)) == {"req:billing-api#1"}


def test_commit_node_carries_message_author_and_line_counts(
    result: ReadResult, checkout: tuple[GitRepo, dict[str, str]]
) -> None:
    sha = checkout[1]["c4"]
    node = nodes(result, NodeLabel.COMMIT)[c(sha)]
    assert (node.name, node.at) == (sha[:7], datetime(2026, 3, 1, 13, 0, tzinfo=UTC))
    assert node.props == {
        "subject": "Add timeout tests for PAY-7", "message": "Add timeout tests for PAY-7",
        "author_name": "Carol Diaz", "author_email": "carol@example.com", "files_changed": 2,
        "insertions": 4, "deletions": 0, "changed_paths": ["logo.png", "tests/test_timeout.py"],
    }  # fmt: skip
    assert node.provenance.location == f"commit {sha}"


def test_commit_time_is_the_committer_time_in_utc(result: ReadResult, checkout: tuple[GitRepo, dict[str, str]]) -> None:
    node = nodes(result, NodeLabel.COMMIT)[c(checkout[1]["c2"])]  # committed at 12:00+02:00
    assert node.at == datetime(2026, 3, 1, 11, 0, tzinfo=UTC) and node.at.tzinfo is UTC


def test_renames_count_as_delete_and_add_and_merges_diff_against_first_parent(
    result: ReadResult, checkout: tuple[GitRepo, dict[str, str]]
) -> None:
    commits = nodes(result, NodeLabel.COMMIT)
    moved = commits[c(checkout[1]["c6"])].props
    assert (moved["changed_paths"], moved["insertions"], moved["deletions"]) == (["README.md", "docs/README.md"], 3, 2)
    merge = commits[c(checkout[1]["m1"])].props
    assert (merge["files_changed"], merge["insertions"], merge["deletions"]) == (3, 6, 1)
    assert merge["message"] == "Merge pull request #10 from acme/feature/PAY-7-timeouts\n\nTune upstream timeouts"


def test_every_commit_links_to_parents_repository_and_author(
    result: ReadResult, checkout: tuple[GitRepo, dict[str, str]]
) -> None:
    s = checkout[1]
    assert set(nodes(result, NodeLabel.COMMIT)) == {c(v) for v in s.values()}
    assert edges(result, RelType.CHILD_OF) == {
        (c(s["c2"]), c(s["c1"])), (c(s["c3"]), c(s["c2"])), (c(s["c4"]), c(s["c3"])), (c(s["c5"]), c(s["c2"])),
        (c(s["m1"]), c(s["c5"])), (c(s["m1"]), c(s["c4"])), (c(s["c6"]), c(s["m1"])), (c(s["c7"]), c(s["c6"])),
        (c(s["m2"]), c(s["c6"])), (c(s["m2"]), c(s["c7"])),
    }  # fmt: skip
    commits_in_repo = {(c(v), "repo:checkout") for v in s.values()}
    assert edges(result, RelType.IN_REPOSITORY) == commits_in_repo | {
        ("pr:checkout#9", "repo:checkout"), ("pr:checkout#10", "repo:checkout"), ("pr:checkout#15", "repo:checkout")}
    authors = {"c1": ADA, "c2": BOB, "c3": CAROL, "c4": CAROL, "c5": ADA, "m1": DAN, "c6": BOB, "c7": CAROL, "m2": DAN}
    commit_authors = {(c(s[k]), f"person:email/{who[1].lower()}") for k, who in authors.items()}
    assert {e for e in edges(result, RelType.AUTHORED_BY) if e[0].startswith("commit:")} == commit_authors


def test_authors_are_people_known_by_lower_case_email(result: ReadResult) -> None:
    people = {n.id: n.name for n in nodes(result, NodeLabel.PERSON).values()}
    assert people == {
        "person:email/ada@example.com": "Ada Lovelace", "person:email/bob.okafor@example.com": "Bob Okafor",
        "person:email/carol@example.com": "Carol Diaz", "person:email/dan@example.com": "Dan Merger",
    }  # fmt: skip


# -- pull requests and references -------------------------------------------------------------------


def test_github_merge_becomes_a_pull_request_with_the_branch_commits(
    result: ReadResult, checkout: tuple[GitRepo, dict[str, str]]
) -> None:
    s = checkout[1]
    pr = nodes(result, NodeLabel.PULL_REQUEST)["pr:checkout#10"]
    assert pr.name == "Tune upstream timeouts"
    assert pr.props == {
        "number": 10, "title": "Tune upstream timeouts", "platform": "github", "kind": "merge",
        "merge_commit": s["m1"], "merged_at": "2026-03-01T15:00:00+00:00", "merged_by": "Dan Merger",
        "source_branch": "feature/PAY-7-timeouts", "commits": 3,
    }  # fmt: skip
    assert {src for src, dst in edges(result, RelType.INCLUDED_IN) if dst == pr.id} == {c(s["m1"]), c(s["c3"]), c(s["c4"])}
    assert edge(result, RelType.INCLUDED_IN, c(s["m1"]), pr.id).props == {"merge_commit": True}
    assert edge(result, RelType.INCLUDED_IN, c(s["c3"]), pr.id).props == {}
    assert {dst for src, dst in edges(result, RelType.AUTHORED_BY) if src == pr.id} == {"person:email/carol@example.com"}


def test_squash_subject_becomes_a_pull_request_of_that_commit(
    result: ReadResult, checkout: tuple[GitRepo, dict[str, str]]
) -> None:
    s = checkout[1]
    pr = nodes(result, NodeLabel.PULL_REQUEST)["pr:checkout#9"]
    got = (pr.name, pr.props["kind"], pr.props["platform"], pr.props["commits"])
    assert got == ("Fix flaky cache key", "squash", "github", 1)
    assert "source_branch" not in pr.props
    assert {src for src, dst in edges(result, RelType.INCLUDED_IN) if dst == pr.id} == {c(s["c5"])}
    assert {dst for src, dst in edges(result, RelType.AUTHORED_BY) if src == pr.id} == {"person:email/ada@example.com"}


def test_gitlab_merge_request(result: ReadResult, checkout: tuple[GitRepo, dict[str, str]]) -> None:
    s = checkout[1]
    pr = nodes(result, NodeLabel.PULL_REQUEST)["pr:checkout#15"]
    assert (pr.name, pr.props["platform"], pr.props["source_branch"]) == ("Handle empty cart", "gitlab", "hotfix")
    assert {src for src, dst in edges(result, RelType.INCLUDED_IN) if dst == pr.id} == {c(s["m2"]), c(s["c7"])}
    assert len(nodes(result, NodeLabel.PULL_REQUEST)) == 3


def test_issue_and_ticket_references_become_implements_edges(
    result: ReadResult, checkout: tuple[GitRepo, dict[str, str]]
) -> None:
    s = checkout[1]
    got = {(e.src, e.dst, e.props.get("closes", False)) for e in result.edges if e.type is RelType.IMPLEMENTS}
    assert got == {
        (c(s["c2"]), "req:PAY-12", False), (c(s["c2"]), "req:checkout#3", False), (c(s["c2"]), "req:payments#21", False),
        (c(s["c3"]), "req:checkout#4", True),
        (c(s["c4"]), "req:PAY-7", False),
        (c(s["c5"]), "req:OPS-3", True), ("pr:checkout#9", "req:OPS-3", True),
        (c(s["m1"]), "req:PAY-7", False), ("pr:checkout#10", "req:PAY-7", False), ("pr:checkout#10", "req:checkout#4", True),
        (c(s["m2"]), "req:OPS-4", True), ("pr:checkout#15", "req:OPS-4", True),
    }  # fmt: skip


def test_requirements_are_named_placeholders(result: ReadResult) -> None:
    reqs = {n.id: (n.name, n.placeholder, n.props) for n in nodes(result, NodeLabel.REQUIREMENT).values()}
    assert reqs == {
        "req:PAY-12": ("PAY-12", True, {}), "req:checkout#3": ("checkout#3", True, {}),
        "req:payments#21": ("payments#21", True, {}), "req:checkout#4": ("checkout#4", True, {}),
        "req:PAY-7": ("PAY-7", True, {}), "req:OPS-3": ("OPS-3", True, {}), "req:OPS-4": ("OPS-4", True, {}),
    }  # fmt: skip
    assert result.errors == []


def test_the_whole_graph_has_exactly_these_records(result: ReadResult) -> None:
    assert len({n.id for n in result.nodes}) == len(result.nodes)
    assert len({e.id for e in result.edges}) == len(result.edges)
    assert Counter(str(n.label) for n in result.nodes) == {
        "Repository": 1, "Commit": 9, "Person": 4, "PullRequest": 3, "Requirement": 7}
    assert Counter(str(e.type) for e in result.edges) == {
        "CHILD_OF": 10, "IN_REPOSITORY": 12, "AUTHORED_BY": 12, "INCLUDED_IN": 6, "IMPLEMENTS": 12}


# -- limits and identity ----------------------------------------------------------------------------


def test_max_commits_caps_the_history_and_says_so(checkout: tuple[GitRepo, dict[str, str]]) -> None:
    got = GitRepoReader(max_commits=2).read(source(checkout[0].path), CTX)
    s = checkout[1]
    assert set(nodes(got, NodeLabel.COMMIT)) == {c(s["m2"]), c(s["c7"])}
    assert nodes(got, NodeLabel.REPOSITORY)["repo:checkout"].props["truncated"] is True
    assert (c(s["m2"]), c(s["c6"])) in edges(got, RelType.CHILD_OF)  # the store makes c6 a placeholder
    exact = GitRepoReader(max_commits=9).read(source(checkout[0].path), CTX)
    assert nodes(exact, NodeLabel.REPOSITORY)["repo:checkout"].props["truncated"] is False


def test_fingerprint_moves_with_commits_and_refs_not_with_the_working_tree(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "svc")
    first = repo.commit("one", {"a": "1\n"})
    before = repo_fingerprint(repo.path)
    assert before.startswith(first + ":") and repo_fingerprint(str(repo.path)) == before
    (repo.path / "a").write_text("dirty\n")
    assert repo_fingerprint(repo.path) == before
    repo.git("tag", "v1")
    tagged = repo_fingerprint(repo.path)
    assert tagged != before
    repo.git("remote", "add", "origin", "https://github.com/acme/svc.git")
    assert repo_fingerprint(repo.path) not in (before, tagged)
    repo.commit("two", {"a": "2\n"})
    assert repo_fingerprint(repo.path).split(":")[0] == repo.git("rev-parse", "HEAD")


def test_reading_runs_no_hooks_textconv_or_pager(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "evil")
    marker = tmp_path / "ran"
    repo.commit("data", {".gitattributes": "*.txt diff=evil\n", "a.txt": "1\n"})
    repo.commit("more", {"a.txt": "2\n"})
    for key, value in [("diff.evil.textconv", f"touch {marker}; cat"), ("core.pager", f"touch {marker}; cat"),
                       ("diff.external", f"touch {marker}; true")]:  # fmt: skip
        repo.git("config", key, value)
    hooks = repo.path / ".git" / "hooks" / "post-checkout"
    hooks.write_text(f"#!/bin/sh\ntouch {marker}\n")
    hooks.chmod(0o755)
    got = READER.read(source(repo.path), CTX)
    assert len(nodes(got, NodeLabel.COMMIT)) == 2 and not marker.exists()


def test_a_blobless_clone_is_read_without_line_counts_and_without_fetching(
    checkout: tuple[GitRepo, dict[str, str]], tmp_path: Path
) -> None:
    checkout[0].git("config", "uploadpack.allowFilter", "true")
    checkout[0].git("clone", "-q", "--filter=blob:none", "--no-checkout", f"file://{checkout[0].path}", str(tmp_path / "clone"))
    got = READER.read(source(tmp_path / "clone", "clone"), CTX)
    commit = nodes(got, NodeLabel.COMMIT)[c(checkout[1]["c4"])]
    assert commit.props["changed_paths"] == ["logo.png", "tests/test_timeout.py"] and "insertions" not in commit.props
    [error] = got.errors
    assert error.location == "git log" and "could not fetch" in error.message
    assert error.message.endswith("reading changed paths without line counts")
    # the clone's origin is the file:// URL of the 'work' directory
    assert set(nodes(got, NodeLabel.PULL_REQUEST)) == {"pr:work#9", "pr:work#10", "pr:work#15"}


# -- errors -----------------------------------------------------------------------------------------


def test_a_directory_without_git_is_refused(tmp_path: Path) -> None:
    with pytest.raises(FormatError, match=r"^plain: not a git repository \(expected a directory that contains \.git\)$"):
        READER.read(source(tmp_path, "plain"), CTX)


def test_an_empty_repository_is_refused(tmp_path: Path) -> None:
    GitRepo(tmp_path / "empty")
    with pytest.raises(FormatError, match=r"^repos/empty: the repository has no commits to read$"):
        READER.read(source(tmp_path / "empty", "repos/empty"), CTX)


def test_a_broken_gitdir_file_names_gits_complaint(tmp_path: Path) -> None:
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / ".git").write_text("gitdir: /nonexistent/worktree\n")
    with pytest.raises(FormatError, match=r"^repos/broken: `git log` failed: fatal: not a git repository"):
        READER.read(source(tmp_path / "broken", "repos/broken"), CTX)
    with pytest.raises(FormatError, match=r"/broken: `git for-each-ref` failed: fatal: not a git repository"):
        repo_fingerprint(tmp_path / "broken")


def test_a_broken_repository_inside_another_is_not_read_as_its_parent(checkout: tuple[GitRepo, dict[str, str]]) -> None:
    nested = checkout[0].path / "vendor" / "lib"
    (nested / ".git").mkdir(parents=True)
    try:
        with pytest.raises(FormatError, match=r"^vendor/lib: `git log` failed: fatal: not a git repository"):
            READER.read(source(nested, "vendor/lib"), CTX)
    finally:
        shutil.rmtree(checkout[0].path / "vendor")


def test_a_worktree_with_a_gitdir_file_is_read(checkout: tuple[GitRepo, dict[str, str]], tmp_path: Path) -> None:
    tree = tmp_path / "wt"
    checkout[0].git("worktree", "add", "-q", "--detach", str(tree), checkout[1]["c5"])
    try:
        assert (tree / ".git").is_file() and READER.sniff(source(tree))
        got = READER.read(source(tree, "wt"), CTX)
        assert nodes(got, NodeLabel.REPOSITORY)["repo:checkout"].props["head"] == checkout[1]["c5"]
        assert c(checkout[1]["m2"]) in nodes(got, NodeLabel.COMMIT)  # branches are read, not just HEAD
    finally:
        checkout[0].git("worktree", "remove", "--force", str(tree))


# -- robustness -------------------------------------------------------------------------------------


def _read_or_refuse(path: Path) -> ReadResult | None:
    try:
        return READER.read(source(path), CTX)
    except VidyaError:
        return None


text = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=300)


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[GitRepo, str]]:
    repo = GitRepo(tmp_path_factory.mktemp("fuzz") / "scratch")
    yield repo, repo.commit("base", {"a": "1\n"})


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(message=text, name=text, email=text)
def test_any_message_and_author_reads_or_is_refused_cleanly(
    scratch: tuple[GitRepo, str], message: str, name: str, email: str
) -> None:
    repo, base = scratch
    tree = repo.git("rev-parse", "HEAD^{tree}")
    try:
        sha = repo.git("commit-tree", tree, "-p", base, author=(name, email), when="2026-03-02T10:00:00Z",
                       data=message.encode())  # fmt: skip
    except (subprocess.CalledProcessError, ValueError):
        return  # git (or the environment) refused this author; nothing to read
    repo.git("update-ref", "refs/heads/main", sha)
    got = _read_or_refuse(repo.path)
    assert got is not None and c(sha) in nodes(got, NodeLabel.COMMIT)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=st.binary(max_size=400))
def test_raw_commit_objects_read_or_are_refused_cleanly(scratch: tuple[GitRepo, str], raw: bytes) -> None:
    repo, base = scratch
    header = f"tree {repo.git('rev-parse', 'HEAD^{tree}')}\nparent {base}\n".encode()
    for body in (raw, header + raw):
        sha = repo.git("hash-object", "-t", "commit", "--literally", "-w", "--stdin", data=body)
        junk = repo.path / ".git" / "refs" / "heads" / "junk"
        junk.write_text(sha + "\n")  # update-ref would refuse an unparsable commit
        _read_or_refuse(repo.path)
        junk.unlink()


@pytest.fixture(scope="module")
def victim(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Path]]:
    """A repository whose history files the next test damages (and restores) in place."""
    _, _ = build_checkout(path := tmp_path_factory.mktemp("corrupt") / "work")
    return path, sorted(p for p in (path / ".git").rglob("*") if p.is_file() and "hooks" not in p.parts)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32), flips=st.integers(1, 8))
def test_corrupted_repositories_read_or_are_refused_cleanly(victim: tuple[Path, list[Path]], seed: int, flips: int) -> None:
    path, files = victim
    rng = random.Random(seed)
    originals: dict[Path, bytes] = {}
    for _ in range(flips):
        target = rng.choice(files)
        damaged = bytearray(originals.setdefault(target, target.read_bytes()))
        if damaged:
            damaged[rng.randrange(len(damaged))] = rng.randrange(256)
        target.write_bytes(bytes(damaged))
    try:
        _read_or_refuse(path)
    finally:
        for target, original in originals.items():
            target.write_bytes(original)
