"""SLSA provenance reader: which build made which artifact, from which source commit.

Accepts in-toto Statements (v1 or v0.1) whose predicate is SLSA provenance v1
or v0.2, bare or wrapped in a DSSE envelope (or a Sigstore bundle's
``dsseEnvelope``), one per file, as a JSON array, or as JSON Lines the way
``.intoto.jsonl`` files hold them::

    {"_type": "https://in-toto.io/Statement/v1",
     "subject": [{"name": "checkout.tar.gz", "digest": {"sha256": "5a0f..."}}],
     "predicateType": "https://slsa.dev/provenance/v1",
     "predicate": {"buildDefinition": {"buildType": "...", "resolvedDependencies": [
                       {"uri": "git+https://github.com/acme/checkout@refs/heads/main",
                        "digest": {"gitCommit": "3f9a..."}}]},
                   "runDetails": {"builder": {"id": "..."}, "metadata": {"invocationId": "..."}}}}
    -> Build build:<invocationId> -PRODUCED-> artifact:sha256:5a0f..., -BUILT_FROM-> commit:3f9a...;
       artifact:sha256:5a0f... -BUILT_FROM-> commit:3f9a... -IN_REPOSITORY-> repo:checkout

Signatures are not verified. See ``docs/formats/slsa.md``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from graph.errors import FormatError, VidyaError
from graph.schema import NodeLabel, RelType, node_id
from ingest.common import looks_like_json_lines, optional_time, require
from ingest.git_repo import RawProps, RecordBatch, repo_name_from_url, short_sha, strip_credentials
from ingest.ids import artifact_id, commit_id, repository_id
from ingest.records import ReadContext, ReadResult, RecordError, SourceFile
from ingest.registry import PRIORITY_PROVENANCE

STATEMENT_TYPES = frozenset({"https://in-toto.io/Statement/v1", "https://in-toto.io/Statement/v0.1"})
PROVENANCE_V1 = "https://slsa.dev/provenance/v1"
PROVENANCE_V02 = "https://slsa.dev/provenance/v0.2"
DSSE_PAYLOAD_TYPE = "application/vnd.in-toto+json"
#: preferred digest algorithms for an artifact's id, best first
ID_ALGORITHMS = ("sha256", "sha512", "sha384", "sha1")

_SUFFIXES = frozenset({".json", ".jsonl", ".intoto", ".dsse", ".sigstore"})
_SNIFF_BYTES = 4 * 1024 * 1024
_SNIFF = re.compile(
    rb'"(?:_type"\s*:\s*"https://in-toto\.io/Statement/v|payloadType"\s*:\s*"application/vnd\.in-toto\+json")'
)
_HEX_SIZES = {"sha1": (40,), "sha256": (64,), "sha384": (96,), "sha512": (128,), "gitCommit": (40, 64)}
_GIT_URL_PREFIXES = ("git+", "git://", "git@", "ssh://", "https://", "http://", "file://")
_URLSAFE = str.maketrans("-_", "+/")
_HEX = re.compile(r"^[0-9a-fA-F]+$")


@dataclass(frozen=True, slots=True)
class Subject:
    name: str
    digests: tuple[tuple[str, str], ...]
    uri: str | None = None

    @property
    def id(self) -> str:
        found = dict(self.digests)
        alg = next((a for a in ID_ALGORITHMS if a in found), self.digests[0][0])
        return artifact_id(f"{alg}:{found[alg]}")


@dataclass(frozen=True, slots=True)
class SourceCommit:
    sha: str
    uri: str | None

    @property
    def repo_url(self) -> str | None:
        """The repository part of a ``git+<url>@<ref>`` uri (a package URL such as ``pkg:golang/...`` names none)."""
        return split_git_uri(self.uri)[0] if self.uri and self.uri.startswith(_GIT_URL_PREFIXES) else None


@dataclass(frozen=True, slots=True)
class BuildInfo:
    slsa_version: str
    builder_id: str
    build_type: str
    invocation_id: str | None
    started_on: datetime | None
    finished_on: datetime | None
    commits: tuple[SourceCommit, ...]
    source_uri: str | None


@dataclass(frozen=True, slots=True)
class Statement:
    subjects: tuple[Subject, ...]
    build: BuildInfo


def split_git_uri(uri: str) -> tuple[str, str | None]:
    """``git+https://host/acme/app@refs/heads/main`` -> (``https://host/acme/app``, ``refs/heads/main``)."""
    text = strip_credentials(uri.strip().removeprefix("git+"))
    scheme, sep, rest = text.partition("://")
    if sep:
        host, slash, path = rest.partition("/")
    else:  # scp-style user@host:path
        scheme, host, slash, path = "", *text.partition(":")
    path, _, ref = path.partition("@")
    return f"{scheme}{sep}{host}{slash}{path}", ref or None


# -- parsing --------------------------------------------------------------------------------------


def _optional(mapping: dict[str, Any], key: str, where: str, kind: type) -> Any:
    value = mapping.get(key)
    if value is None:
        return kind()
    if not isinstance(value, kind):
        raise FormatError(f"{where}.{key}: expected {kind.__name__}, got {type(value).__name__}")
    return value


def _digests(value: Any, where: str) -> dict[str, str]:
    if not isinstance(value, dict) or not value:
        raise FormatError(f"{where}: expected a non-empty object of algorithm -> hex digest")
    out: dict[str, str] = {}
    for alg, digest in value.items():
        if not isinstance(digest, str) or not digest.strip():
            raise FormatError(f"{where}.{alg}: expected a digest string, got {digest!r:.60}")
        sizes = _HEX_SIZES.get(alg)
        if sizes is not None and not (_HEX.match(digest) and len(digest) in sizes):
            raise FormatError(f"{where}.{alg}: {digest!r:.80} is not a hex digest of {' or '.join(map(str, sizes))} characters")
        out[alg] = digest.lower() if sizes else digest.strip()
    return out


def _subjects(statement: dict[str, Any]) -> tuple[Subject, ...]:
    items = require(statement, "subject", "statement", list)
    subjects = []
    for i, item in enumerate(items):
        where = f"statement.subject[{i}]"
        if not isinstance(item, dict):
            raise FormatError(f"{where}: expected an object, got {type(item).__name__}")
        digests = _digests(item.get("digest"), f"{where}.digest")
        name, uri = item.get("name"), item.get("uri")
        subjects.append(Subject(name if isinstance(name, str) else "", tuple(digests.items()),
                                uri if isinstance(uri, str) else None))
    if not subjects:
        raise FormatError("statement.subject: expected at least one subject")
    return tuple(subjects)


def _source_commits(items: list[Any], where: str) -> tuple[SourceCommit, ...]:
    """The git commits among materials / resolved dependencies (``gitCommit``, or ``sha1`` of a ``git+`` uri)."""
    found: dict[str, SourceCommit] = {}
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise FormatError(f"{where}[{i}]: expected an object, got {type(item).__name__}")
        uri = item.get("uri") if isinstance(item.get("uri"), str) else None
        if "digest" not in item:
            continue
        digests = _digests(item["digest"], f"{where}[{i}].digest")
        sha = digests.get("gitCommit") or (digests.get("sha1") if uri and uri.startswith("git+") else None)
        if sha and sha not in found:
            found[sha] = SourceCommit(sha, strip_credentials(uri) if uri else None)
    return tuple(found.values())


def _times(metadata: dict[str, Any], start: str, finish: str, where: str) -> tuple[datetime | None, datetime | None]:
    return optional_time(metadata.get(start), f"{where}.{start}"), optional_time(metadata.get(finish), f"{where}.{finish}")


def _v1(predicate: dict[str, Any]) -> BuildInfo:
    where = "statement.predicate"
    definition = require(predicate, "buildDefinition", where, dict)
    run = require(predicate, "runDetails", where, dict)
    builder = require(run, "builder", f"{where}.runDetails", dict)
    metadata = _optional(run, "metadata", f"{where}.runDetails", dict)
    external = _optional(definition, "externalParameters", f"{where}.buildDefinition", dict)
    deps = _optional(definition, "resolvedDependencies", f"{where}.buildDefinition", list)
    commits = _source_commits(deps, f"{where}.buildDefinition.resolvedDependencies")
    workflow = external.get("workflow")
    declared = _str(workflow.get("repository") if isinstance(workflow, dict) else external.get("source"))
    started, finished = _times(metadata, "startedOn", "finishedOn", f"{where}.runDetails.metadata")
    return BuildInfo("v1", require(builder, "id", f"{where}.runDetails.builder"),
                     require(definition, "buildType", f"{where}.buildDefinition"), _str(metadata.get("invocationId"), False),
                     started, finished, commits, next((c.uri for c in commits if c.uri), declared))


def _v02(predicate: dict[str, Any]) -> BuildInfo:
    where = "statement.predicate"
    builder = require(predicate, "builder", where, dict)
    invocation = _optional(predicate, "invocation", where, dict)
    config = _optional(invocation, "configSource", f"{where}.invocation", dict)
    metadata = _optional(predicate, "metadata", where, dict)
    materials = _optional(predicate, "materials", where, list)
    commits = _source_commits([config] if config else [], f"{where}.invocation.configSource")
    commits = tuple({c.sha: c for c in (*_source_commits(materials, f"{where}.materials"), *commits)}.values())
    started, finished = _times(metadata, "buildStartedOn", "buildFinishedOn", f"{where}.metadata")
    return BuildInfo("v0.2", require(builder, "id", f"{where}.builder"), require(predicate, "buildType", where),
                     _str(metadata.get("buildInvocationId"), False), started, finished, commits,
                     _str(config.get("uri")) or next((c.uri for c in commits if c.uri), None))


def _str(value: Any, url: bool = True) -> str | None:
    """A non-blank string (a URL loses any credentials), else ``None``."""
    if not isinstance(value, str) or not value.strip():
        return None
    return strip_credentials(value) if url else value.strip()


def _payload(envelope: dict[str, Any], where: str) -> Any:
    """The statement a DSSE envelope carries (base64 of its JSON); the signatures are not checked."""
    kind = require(envelope, "payloadType", where)
    if kind != DSSE_PAYLOAD_TYPE:
        raise FormatError(f"{where}.payloadType: expected {DSSE_PAYLOAD_TYPE!r}, got {kind!r:.80}")
    payload = require(envelope, "payload", where)
    text = payload.strip().translate(_URLSAFE)  # DSSE allows either base64 alphabet
    try:
        return json.loads(base64.b64decode(text + "=" * (-len(text) % 4), validate=True).decode("utf-8"))
    except (binascii.Error, ValueError, RecursionError) as exc:
        raise FormatError(f"{where}.payload: not base64 of a JSON statement ({exc})") from None


def parse_statement(value: Any) -> Statement:
    """One statement, unwrapping a DSSE envelope or Sigstore bundle; ``FormatError`` names the bad field."""
    if isinstance(value, dict) and isinstance(value.get("dsseEnvelope"), dict):
        value = _payload(value["dsseEnvelope"], "bundle.dsseEnvelope")
    elif isinstance(value, dict) and "payloadType" in value:
        value = _payload(value, "envelope")
    if not isinstance(value, dict):
        raise FormatError(f"statement: expected an in-toto statement object, got {type(value).__name__}")
    kind = require(value, "_type", "statement")
    if kind not in STATEMENT_TYPES:
        raise FormatError(f"statement._type: {kind!r:.80} is not an in-toto Statement v1 or v0.1")
    predicate_type = require(value, "predicateType", "statement")
    predicate = require(value, "predicate", "statement", dict)
    if predicate_type == PROVENANCE_V1:
        build = _v1(predicate)
    elif predicate_type == PROVENANCE_V02:
        build = _v02(predicate)
    else:
        raise FormatError(f"statement.predicateType: {predicate_type!r:.100} is not SLSA provenance "
                          f"(expected {PROVENANCE_V1} or {PROVENANCE_V02})")
    return Statement(_subjects(value), build)


# -- the reader -------------------------------------------------------------------------------------


def _build_id(statement: Statement) -> str:
    build = statement.build
    if build.invocation_id:
        return node_id(NodeLabel.BUILD, build.invocation_id)
    key = [build.builder_id, build.build_type, sorted(s.id for s in statement.subjects)]
    return node_id(NodeLabel.BUILD, "slsa-" + hashlib.sha256(json.dumps(key).encode()).hexdigest()[:32])


def _build_props(build: BuildInfo) -> RawProps:
    return {
        "builder_id": build.builder_id, "build_type": build.build_type, "invocation_id": build.invocation_id,
        "slsa_version": build.slsa_version, "source_uri": build.source_uri,
        "source_ref": split_git_uri(build.source_uri)[1] if build.source_uri else None,
        "started_on": build.started_on.isoformat() if build.started_on else None,
        "finished_on": build.finished_on.isoformat() if build.finished_on else None,
    }


def _subject_props(subject: Subject) -> RawProps:
    props: dict[str, str | None] = {"uri": subject.uri}
    for alg, digest in subject.digests:
        props["digest_" + re.sub(r"[^a-z0-9]+", "_", alg.lower()).strip("_")] = digest
    return props


def emit(batch: RecordBatch, statement: Statement, location: str) -> None:
    """The records one statement asserts: its build, the artifacts it produced and the commits they came from."""
    build = statement.build
    first = statement.subjects[0]
    name = build.invocation_id or f"build of {first.name or first.id.removeprefix('artifact:')}"
    bid = batch.node(_build_id(statement), location, name=name, props=_build_props(build),
                     at=build.started_on or build.finished_on)
    artifacts = [batch.node(s.id, location, name=s.name, props=_subject_props(s)) for s in statement.subjects]
    for artifact in artifacts:
        batch.edge(RelType.PRODUCED, bid, artifact, location)
    for source in build.commits:
        cid = batch.node(commit_id(source.sha), location, name=short_sha(source.sha), placeholder=True)
        batch.edge(RelType.BUILT_FROM, bid, cid, location, {"uri": source.uri} if source.uri else None)
        for artifact in artifacts:
            batch.edge(RelType.BUILT_FROM, artifact, cid, location)
        repo = repo_name_from_url(source.repo_url) if source.repo_url else None
        if repo:
            batch.node(repository_id(repo), location, name=repo, placeholder=True)
            batch.edge(RelType.IN_REPOSITORY, cid, repository_id(repo), location)


def _load(text: str, where: str, one_line: bool = False) -> Any:
    """``json.loads`` whose every failure is a ``FormatError`` naming the position (a column, for one line)."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        position = f"column {exc.colno}" if one_line else f"line {exc.lineno} column {exc.colno}"
        raise FormatError(f"{where}{position}: invalid JSON ({exc.msg})") from None
    except (ValueError, RecursionError) as exc:  # huge integers, deep nesting
        raise FormatError(f"{where}invalid JSON ({type(exc).__name__})") from None


def documents(file: SourceFile) -> list[tuple[str, Any]]:
    """(location, parsed value or its ``FormatError``) per statement: JSON Lines, a JSON array or one object."""
    text = file.text()
    if not text.strip():
        raise FormatError(f"{file.path}: the file is empty (expected an in-toto statement or DSSE envelope)")
    if file.suffix == ".jsonl" or looks_like_json_lines(text):
        out: list[tuple[str, Any]] = []
        for number, line in enumerate(text.splitlines(), start=1):
            if line.strip():
                try:
                    out.append((f"line {number}", _load(line, "", one_line=True)))
                except FormatError as exc:
                    out.append((f"line {number}", exc))
        return out
    value = _load(text, f"{file.path}: ")
    if isinstance(value, list):
        return [(f"/{i}", item) for i, item in enumerate(value)]
    return [("/", value)]


@dataclass
class SlsaReader:
    """Reads SLSA provenance: in-toto statements, DSSE envelopes and ``.intoto.jsonl`` files."""

    name = "slsa"
    description = "SLSA provenance (in-toto statements, DSSE envelopes, .intoto.jsonl): build, artifact, commit."
    priority = PRIORITY_PROVENANCE + 1
    version = "1"

    def sniff(self, file: SourceFile) -> bool:
        if file.is_directory or file.suffix not in _SUFFIXES:
            return False
        head = file.data[:_SNIFF_BYTES]
        return head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] in (b"{", b"[") and _SNIFF.search(head) is not None

    def read(self, file: SourceFile, ctx: ReadContext) -> ReadResult:
        docs = documents(file)
        if not docs:
            raise FormatError(f"{file.path}: the JSON array is empty (expected in-toto statements)")
        batch, errors = RecordBatch(file, ctx), []
        for location, value in docs:
            try:
                if isinstance(value, FormatError):
                    raise value
                one = RecordBatch(file, ctx)  # nothing of a statement that fails half-way is kept
                emit(one, parse_statement(value), location)
                batch.absorb(one)
            except VidyaError as exc:
                if len(docs) == 1:
                    prefix = f"{file.path}: " if location == "/" else f"{file.path}: {location}: "
                    raise FormatError(prefix + str(exc)) from None
                errors.append(RecordError(location, str(exc)))
        if not batch.nodes:
            raise FormatError(f"{file.path}: no usable statement ({len(errors)} errors; first: {errors[0]})")
        return batch.result(errors)


READER = SlsaReader()
