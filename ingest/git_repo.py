"""Git reader: commits, authors, pull requests and the tickets commit messages name.

A local repository (a directory holding ``.git``) is read with the ``git``
command, never over the network and without running hooks or filters::

    3f9a1c2  Merge pull request #42 from acme/PAY-7-retry   (parents a1b2c3d, 9e8f7a6)
             Add retry budget to checkout
    -> Commit commit:3f9a1c2... -CHILD_OF-> both parents, -IN_REPOSITORY-> repo:checkout,
       -AUTHORED_BY-> person:email/ada@example.com, -INCLUDED_IN-> pr:checkout#42;
       PullRequest pr:checkout#42 -IMPLEMENTS-> req:PAY-7 (as do the commits that mention it)

Pull requests come from GitHub and GitLab merge messages and from squash
subjects ending ``(#123)``; see ``docs/formats/git.md``. The pipeline calls
:func:`repo_fingerprint` instead of hashing bytes, so a new commit or moved
ref makes the repository read again.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from graph.errors import FormatError, VidyaError
from graph.model import Edge, Node, Props, PropValue
from graph.schema import NodeLabel, RelType, label_of, node_id
from ingest.ids import commit_id, person_email_id, pull_request_id, repository_id, repository_name
from ingest.records import ReadContext, ReadResult, RecordError, SourceFile
from ingest.registry import PRIORITY_PROVENANCE

MAX_MESSAGE = 4096
MAX_PATHS = 200
SHORT_SHA = 7
RawProps = Mapping[str, PropValue | None]
#: upper-case words that look like ticket keys but are standards or algorithms (``UTF-8``, ``SHA-256``)
NOT_TICKETS = frozenset({
    "AES", "ANSI", "ARM", "ASCII", "BASE", "CVE", "CWE", "ECMA", "GHSA", "HTTP", "IEEE", "IPV", "ISO", "JDK",
    "JSR", "PEP", "RFC", "RSA", "SHA", "SSL", "TLS", "UCS", "UTF", "WIN",
})

_SHA = re.compile(r"^(?:[0-9a-f]{40}|[0-9a-f]{64})$")
_GITHUB_MERGE = re.compile(r"^Merge pull request #(\d{1,9}) from (\S+)")
_GITLAB_MERGE = re.compile(r"^See merge request \S+!(\d{1,9})\s*$", re.MULTILINE)
_GITLAB_BRANCH = re.compile(r"^Merge branch '([^']+)' into '[^']+'")
_SQUASH = re.compile(r"\s*\(#(\d{1,9})\)\s*$")
_ISSUE = re.compile(r"(?<![\w&#/.-])(?:[\w.-]+/(?P<repo>[\w.-]+))?#(?P<num>\d{1,9})(?!\w)")
_TICKET = re.compile(r"(?<![\w-])(?P<project>[A-Z][A-Z0-9_]{1,9})-(?P<num>[1-9]\d{0,8})(?!\w)")
_CLOSING = re.compile(r"\b(?:close[sd]?|fix(?:e[sd])?|resolve[sd]?):?\s+$", re.IGNORECASE)


def short_sha(sha: str) -> str:
    return sha[:SHORT_SHA]


def strip_credentials(url: str) -> str:
    """The URL without user, password, query or fragment (scp-style ``git@host:path`` is kept)."""
    text = url.strip()
    if "://" not in text:
        return text
    try:
        parts = urlsplit(text)
    except ValueError:
        return re.sub(r"//[^/]*@", "//", text.split("?", 1)[0])
    return urlunsplit((parts.scheme, parts.netloc.rpartition("@")[2], parts.path, "", ""))


def repo_name_from_url(url: str) -> str | None:
    """The repository name a clone URL ends in: ``https://github.com/acme/checkout.git`` -> ``checkout``."""
    text = url.strip().removeprefix("git+").split("?", 1)[0].split("#", 1)[0]
    if "://" in text:
        text = text.split("://", 1)[1].partition("/")[2]
    elif ":" in text and not text.startswith(("/", ".")):  # scp-style host:path
        text = text.split(":", 1)[1]
    name = text.rstrip("/").rsplit("/", 1)[-1].removesuffix(".git").strip()
    return name or None


class RecordBatch:
    """The nodes and edges of one read, de-duplicated by id.

    The first real node of an id is kept (a real node replaces a placeholder);
    an edge asserted twice keeps one record with the union of its properties.
    """

    def __init__(self, file: SourceFile, ctx: ReadContext) -> None:
        self.file, self.ctx = file, ctx
        self.nodes: dict[str, Node] = {}
        self.edges: dict[str, Edge] = {}

    def node(self, id_: str, location: str | None, *, name: str | None = None, props: RawProps | None = None,
             at: datetime | None = None, placeholder: bool = False) -> str:
        clean = {k: v for k, v in (props or {}).items() if v is not None}
        self.add_node(Node(id=id_, label=label_of(id_), provenance=self.ctx.provenance(self.file, location),
                           name=name or None, props=clean, at=at, placeholder=placeholder))
        return id_

    def edge(self, type_: RelType, src: str, dst: str, location: str | None, props: Props | None = None) -> None:
        self.add_edge(Edge(type=type_, src=src, dst=dst, provenance=self.ctx.provenance(self.file, location),
                           props=props or {}))

    def add_node(self, node: Node) -> None:
        known = self.nodes.get(node.id)
        if known is None or (known.placeholder and not node.placeholder):
            self.nodes[node.id] = node

    def add_edge(self, edge: Edge) -> None:
        known = self.edges.get(edge.id)
        if known is not None:
            edge = replace(known, props={**known.props, **edge.props})
        self.edges[edge.id] = edge

    def absorb(self, other: RecordBatch) -> None:
        """Add another batch's records (a unit that was built completely, or not at all)."""
        for node in other.nodes.values():
            self.add_node(node)
        for edge in other.edges.values():
            self.add_edge(edge)

    def result(self, errors: list[RecordError]) -> ReadResult:
        return ReadResult(nodes=list(self.nodes.values()), edges=list(self.edges.values()), errors=errors)


# -- running git ---------------------------------------------------------------------------------

_SAFE_CONFIG = ("-c", "core.hooksPath=/dev/null", "-c", "core.fsmonitor=false", "-c", "protocol.allow=never",
                "-c", "log.showSignature=false")


def _git_env(repo: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    # the ceiling stops git from falling back to a repository *above* a broken one
    env.update(GIT_CEILING_DIRECTORIES=str(repo.parent), GIT_TERMINAL_PROMPT="0", GIT_NO_LAZY_FETCH="1",
               GIT_OPTIONAL_LOCKS="0", LC_ALL="C")
    return env


def _git(repo: Path, args: Sequence[str], where: str, timeout: float, check: bool = True) -> bytes:
    """Run ``git`` in ``repo``; a failure is a ``FormatError`` naming ``where`` and git's complaint."""
    command = ["git", "--no-pager", "-C", str(repo), *_SAFE_CONFIG, *args]
    try:
        done = subprocess.run(command, capture_output=True, env=_git_env(repo), timeout=timeout,
                              stdin=subprocess.DEVNULL, check=False)
    except FileNotFoundError:
        raise FormatError(f"{where}: the `git` command is not installed (it is needed to read repositories)") from None
    except subprocess.TimeoutExpired:
        raise FormatError(f"{where}: `git {args[0]}` took longer than {timeout:g} s") from None
    except OSError as exc:
        raise FormatError(f"{where}: cannot run git ({exc.strerror})") from None
    if check and done.returncode != 0:
        lines = done.stderr.decode("utf-8", "replace").strip().splitlines()
        reason = next((ln for ln in lines if ln.startswith(("fatal:", "error:"))), lines[0] if lines else "")
        raise FormatError(f"{where}: `git {args[0]}` failed: {reason or f'exit status {done.returncode}'}")
    return done.stdout


def _head(repo: Path, where: str, timeout: float) -> str | None:
    out = _git(repo, ["rev-parse", "--verify", "--quiet", "HEAD^{commit}"], where, timeout, check=False)
    sha = out.decode("ascii", "replace").strip()
    return sha if _SHA.match(sha) else None


def _origin(repo: Path, where: str, timeout: float) -> str | None:
    out = _git(repo, ["config", "--get", "remote.origin.url"], where, timeout, check=False)
    return out.decode("utf-8", "replace").strip() or None


def repo_fingerprint(directory: Path | str, *, timeout: float = 60.0) -> str:
    """The content identity of a repository: ``<HEAD sha>:<digest of every ref and the origin URL>``.

    It changes when a commit is made, a ref moves, or the origin (hence the
    repository's name) changes; the working tree does not count.

        >>> repo_fingerprint("checkout")  # doctest: +SKIP
        '3f9a1c2...:9b1e0c...'
    """
    repo = Path(directory).resolve()
    where = str(directory)
    refs = _git(repo, ["for-each-ref", "--format=%(objectname) %(refname)"], where, timeout)
    origin = _origin(repo, where, timeout) or ""
    digest = hashlib.sha256(refs + b"\0" + strip_credentials(origin).encode()).hexdigest()[:32]
    return f"{_head(repo, where, timeout) or 'no-head'}:{digest}"


# -- the log ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CommitInfo:
    sha: str
    parents: tuple[str, ...]
    author_name: str
    author_email: str
    committed_at: datetime | None  # None when the recorded time is out of range
    message: str
    paths: tuple[str, ...]
    insertions: int | None
    deletions: int | None

    @property
    def subject(self) -> str:
        return self.message.split("\n", 1)[0].strip()


def _changes(tail: str, stats: bool) -> tuple[tuple[str, ...], int | None, int | None]:
    entries = [e for e in tail.split("\0") if e.strip("\n")]
    if not stats:
        return tuple(e.lstrip("\n") for e in entries), None, None
    paths, added, deleted = [], 0, 0
    for entry in entries:
        parts = entry.lstrip("\n").split("\t", 2)
        if len(parts) != 3:
            raise FormatError(f"unexpected --numstat entry {entry[:80]!r}")
        plus, minus, path = parts  # a binary file counts "-" lines
        added += int(plus) if plus.isascii() and plus.isdigit() else 0
        deleted += int(minus) if minus.isascii() and minus.isdigit() else 0
        paths.append(path)
    return tuple(paths), added, deleted


def _unix_time(value: str) -> datetime | None:
    try:
        return datetime.fromtimestamp(int(value), UTC)
    except (ValueError, OverflowError, OSError):  # a hand-made commit can claim any number
        return None


def _commit(head: str, tail: str, stats: bool) -> CommitInfo:
    fields = head.split("\0", 5)
    if len(fields) != 6 or not _SHA.match(fields[0]):
        raise FormatError("unexpected `git log` output")
    sha, parents, name, email, date, message = fields
    if not all(_SHA.match(p) for p in parents.split()):
        raise FormatError(f"parent list {parents[:100]!r} is not a list of shas")
    paths, added, deleted = _changes(tail, stats)
    return CommitInfo(sha=sha, parents=tuple(parents.split()), author_name=name.strip(), author_email=email.strip(),
                      committed_at=_unix_time(date), message=message.strip(), paths=paths,
                      insertions=added, deletions=deleted)


def parse_log(raw: bytes, start: str, end: str, stats: bool) -> Iterator[CommitInfo | RecordError]:
    """Commits from ``git log -z`` output whose format opens with ``start`` and closes the message with ``end``."""
    for chunk in raw.decode("utf-8", "replace").split(start)[1:]:
        head, _, tail = chunk.partition(end)
        try:
            yield _commit(head, tail, stats)
        except (VidyaError, ValueError) as exc:
            yield RecordError(f"commit {head[:40]}", str(exc))


def _log_args(limit: int, stats: bool, head: str | None, start: str, end: str) -> list[str]:
    return ["log", "-z", f"--max-count={limit}", "--no-renames", "--diff-merges=first-parent", "--no-textconv",
            "--no-ext-diff", "--no-show-signature", "--numstat" if stats else "--name-only",
            f"--format={start}%H%x00%P%x00%an%x00%ae%x00%ct%x00%B{end}",
            "--branches", "--tags", "--remotes", *(["HEAD"] if head else [])]


# -- messages -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PullRequestInfo:
    number: int
    kind: str  # "merge" or "squash"
    platform: str  # "github", "gitlab"
    title: str
    source_branch: str | None = None


def _body_title(message: str) -> str:
    for line in message.split("\n")[1:]:
        if line.strip() and not line.startswith("See merge request"):
            return line.strip()
    return ""


def detect_pull_request(commit: CommitInfo) -> PullRequestInfo | None:
    """The pull request a merge or squash commit closed, from its message."""
    kind = "merge" if len(commit.parents) > 1 else "squash"
    if found := _GITHUB_MERGE.match(commit.subject):
        branch = found[2].split("/", 1)[-1]
        return PullRequestInfo(int(found[1]), kind, "github", _body_title(commit.message), branch)
    if found := _GITLAB_MERGE.search(commit.message):
        branch = _GITLAB_BRANCH.match(commit.subject)
        return PullRequestInfo(int(found[1]), kind, "gitlab", _body_title(commit.message), branch[1] if branch else None)
    if found := _SQUASH.search(commit.subject):
        return PullRequestInfo(int(found[1]), kind, "github", commit.subject[: found.start()].strip())
    return None


@dataclass(frozen=True, slots=True)
class Reference:
    requirement: str  # node id
    name: str
    closes: bool


def find_references(message: str, repo: str, own_pr: int | None) -> list[Reference]:
    """Issue (``#12``, ``acme/web#12``) and ticket (``PAY-7``) references; ``Fixes``/``Closes``/``Resolves`` close.

    ``repo`` is the short name (:func:`ingest.ids.repository_name`) of the repository the message belongs to.
    """
    found: dict[str, Reference] = {}
    for match in [*_ISSUE.finditer(message), *_TICKET.finditer(message)]:
        if "project" in match.groupdict():
            if match["project"] in NOT_TICKETS:
                continue
            name = f"{match['project']}-{int(match['num'])}"
        else:
            target_repo = repository_name(match["repo"]) if match["repo"] else repo
            if target_repo == repo and int(match["num"]) == own_pr:
                continue
            name = f"{target_repo}#{int(match['num'])}"
        line_start = message.rfind("\n", 0, match.start()) + 1
        closes = bool(_CLOSING.search(message[line_start : match.start()]))
        ref = Reference(node_id(NodeLabel.REQUIREMENT, name), name, closes)
        if ref.requirement not in found or closes:
            found[ref.requirement] = ref
    return list(found.values())


# -- the reader -------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Repo:
    """What one read knows about the repository it is reading."""

    path: Path
    where: str
    name: str
    id: str
    commits: dict[str, CommitInfo] = field(default_factory=dict)
    truncated: bool = False
    references: dict[str, list[Reference]] = field(default_factory=dict)


@dataclass
class GitRepoReader:
    """Reads a local git repository with the ``git`` command (no network, no hooks)."""

    max_commits: int = 50_000
    max_pr_commits: int = 1_000
    timeout: float = 600.0

    name = "git"
    description = "A local git repository: commits, authors, pull requests and the tickets they reference."
    priority = PRIORITY_PROVENANCE
    version = "1"

    def sniff(self, file: SourceFile) -> bool:
        return file.is_directory and file.origin is not None and (file.origin / ".git").exists()

    def read(self, file: SourceFile, ctx: ReadContext) -> ReadResult:
        if not self.sniff(file) or file.origin is None:
            raise FormatError(f"{file.path}: not a git repository (expected a directory that contains .git)")
        path = file.origin.resolve()
        head = _head(path, file.path, self.timeout)
        origin = _origin(path, file.path, self.timeout)
        name = (repo_name_from_url(origin) if origin else None) or path.name or "repository"
        repo = _Repo(path, file.path, name, repository_id(name))
        errors = self._load(repo, head)
        if not repo.commits:
            detail = f" ({errors[0]})" if errors else ""
            raise FormatError(f"{file.path}: the repository has no commits to read{detail}")
        batch = RecordBatch(file, ctx)
        remote = strip_credentials(origin) if origin else None
        batch.node(repo.id, None, name=name, props={"remote_url": remote, "head": head, "commits_read": len(repo.commits),
                                                    "truncated": repo.truncated})
        for commit in repo.commits.values():
            self._emit_commit(batch, repo, commit, errors)
        for commit in repo.commits.values():
            pr = detect_pull_request(commit)
            if pr is not None:
                self._emit_pull_request(batch, repo, commit, pr, errors)
        return batch.result(errors)

    def _load(self, repo: _Repo, head: str | None) -> list[RecordError]:
        """Fill ``repo.commits`` (newest first); line counts are dropped if ``--numstat`` fails (a blobless clone)."""
        errors: list[RecordError] = []
        # random markers: no commit message can forge a record boundary
        start, end = f"\x1e{secrets.token_hex(8)}\x1e", f"\x1f{secrets.token_hex(8)}\x1f"
        limit = self.max_commits + 1  # one more, to know whether the cap cut the history
        try:
            raw, stats = _git(repo.path, _log_args(limit, True, head, start, end), repo.where, self.timeout), True
        except FormatError as exc:
            errors.append(RecordError("git log", f"{exc}; reading changed paths without line counts"))
            raw, stats = _git(repo.path, _log_args(limit, False, head, start, end), repo.where, self.timeout), False
        for item in parse_log(raw, start, end, stats):
            if isinstance(item, RecordError):
                errors.append(item)
            elif len(repo.commits) < self.max_commits:
                repo.commits[item.sha] = item
            else:
                repo.truncated = True
        return errors

    def _emit_commit(self, batch: RecordBatch, repo: _Repo, c: CommitInfo, errors: list[RecordError]) -> None:
        where = f"commit {c.sha}"
        pr = detect_pull_request(c)
        try:
            props: RawProps = {
                "subject": c.subject, "message": c.message[:MAX_MESSAGE], "author_name": c.author_name or None,
                "author_email": c.author_email or None, "files_changed": len(c.paths), "insertions": c.insertions,
                "deletions": c.deletions, "changed_paths": list(c.paths[:MAX_PATHS]) or None,
            }
            cid = batch.node(commit_id(c.sha), where, name=short_sha(c.sha), props=props, at=c.committed_at)
            if c.committed_at is None:
                errors.append(RecordError(where, "the committer time is out of range; the commit is kept without a time"))
            batch.edge(RelType.IN_REPOSITORY, cid, repo.id, where)
            for parent in c.parents:
                batch.edge(RelType.CHILD_OF, cid, commit_id(parent), where)
            if c.author_email:
                person = batch.node(person_email_id(c.author_email), where, name=c.author_name or None)
                batch.edge(RelType.AUTHORED_BY, cid, person, where)
            repo.references[c.sha] = find_references(c.message, repository_name(repo.name), pr.number if pr else None)
            _implements(batch, cid, repo.references[c.sha], where)
        except VidyaError as exc:
            errors.append(RecordError(where, str(exc)))

    def _members(self, repo: _Repo, c: CommitInfo) -> list[str]:
        """The commits a pull request brought in: for a merge, those reachable from the side parents only."""
        if len(c.parents) < 2:
            return [c.sha]
        args = ["rev-list", f"--max-count={self.max_pr_commits}", *c.parents[1:], f"^{c.parents[0]}"]
        out = _git(repo.path, args, repo.where, self.timeout).decode("ascii", "replace").split()
        return [c.sha, *(sha for sha in out if _SHA.match(sha))]

    def _emit_pull_request(self, batch: RecordBatch, repo: _Repo, c: CommitInfo, pr: PullRequestInfo,
                           errors: list[RecordError]) -> None:
        where = f"commit {c.sha}"
        try:
            members = self._members(repo, c)
            pid = batch.node(pull_request_id(repo.name, pr.number), where,
                             name=pr.title or f"{repo.name}#{pr.number}", props=_pr_props(c, pr, len(members)))
            batch.edge(RelType.IN_REPOSITORY, pid, repo.id, where)
            for sha in members:
                batch.edge(RelType.INCLUDED_IN, commit_id(sha), pid, where, {"merge_commit": True} if sha == c.sha else None)
            for person in _pr_authors(repo, c, members):
                batch.edge(RelType.AUTHORED_BY, pid, person, where)
            own = node_id(NodeLabel.REQUIREMENT, f"{repository_name(repo.name)}#{pr.number}")
            refs = [r for sha in members for r in repo.references.get(sha, []) if r.requirement != own]
            _implements(batch, pid, refs, where)
        except VidyaError as exc:
            errors.append(RecordError(where, f"pull request #{pr.number}: {exc}"))


def _implements(batch: RecordBatch, src: str, refs: list[Reference], where: str) -> None:
    for ref in refs:
        batch.node(ref.requirement, where, name=ref.name, placeholder=True)
        batch.edge(RelType.IMPLEMENTS, src, ref.requirement, where, {"closes": True} if ref.closes else None)


def _pr_props(c: CommitInfo, pr: PullRequestInfo, commits: int) -> RawProps:
    return {
        "number": pr.number, "title": pr.title or None, "platform": pr.platform, "kind": pr.kind, "merge_commit": c.sha,
        "merged_at": c.committed_at.isoformat() if c.committed_at else None, "merged_by": c.author_name or None,
        "source_branch": pr.source_branch, "commits": commits,
    }


def _pr_authors(repo: _Repo, c: CommitInfo, members: list[str]) -> list[str]:
    """Who wrote a pull request: the authors of the commits it brought in, else of its merge or squash commit."""
    side = [repo.commits[sha] for sha in members[1:] if sha in repo.commits]
    emails = dict.fromkeys(m.author_email for m in side or [c] if m.author_email)
    return [person_email_id(email) for email in emails]


READER = GitRepoReader()
