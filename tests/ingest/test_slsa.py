"""The SLSA reader: v1 and v0.2 provenance, DSSE envelopes, .intoto.jsonl, and the chain to a requirement."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from graph.errors import FormatError, VidyaError
from graph.model import Edge, Node
from graph.schema import NodeLabel, RelType
from ingest import registry
from ingest.git_repo import READER as GIT_READER
from ingest.records import ReadContext, ReadResult, RecordError, SourceFile
from ingest.slsa import READER
from tests.ingest.test_git_repo import build_checkout
from tests.ingest.test_git_repo import source as repo_source

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "slsa"
CTX = ReadContext(run_id="run-1", ingested_at=datetime(2026, 6, 1, tzinfo=UTC))
VALID = ["github-generic-v1.json", "container-v0.2.json", "inventory-attestation.dsse.json", "release.intoto.jsonl"]
BROKEN = ["broken-syntax.json", "sbom-statement.json", "missing-builder-id.json", "bad-subject-digest.json",
          "bad-payload.dsse.json"]  # fmt: skip

CHECKOUT_RUN = "build:https://github.com/acme/checkout/actions/runs/8123456789/attempts/1"
CHECKOUT_SHA = "3f9a1c2e8b7d6a5f4e3d2c1b0a9f8e7d6c5b4a39"
LINUX = "artifact:sha256:0a427aca2a529b220000ca365102bc5be9cec6375dd6ebb5b0e8e77ef289c7cb"
DARWIN = "artifact:sha256:c27483b7bca1b8a9f703b09732fbdb33999998a12c131ddf7ec63f78d0d7b974"
PAYMENTS_IMAGE = "artifact:sha256:383cec36c8afa3bf6713318f173e7ffefe91f1d71cd9dac81642b4155e415572"
PAYMENTS_SHA = "b81c0f4e2a9d7c6b5a4f3e2d1c0b9a8f7e6d5c4b"


def fixture(name: str, data: bytes | None = None) -> SourceFile:
    path = FIXTURES / name
    return SourceFile(path=f"provenance/{name}", data=path.read_bytes() if data is None else data, origin=path)


def statement(name: str) -> dict[str, Any]:
    value: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    return value


def as_file(value: Any, name: str = "built.json") -> SourceFile:
    return SourceFile(path=f"provenance/{name}", data=json.dumps(value).encode())


def envelope(value: dict[str, Any], encode: Any = base64.b64encode) -> dict[str, Any]:
    payload = encode(json.dumps(value).encode()).decode()
    return {"payloadType": "application/vnd.in-toto+json", "payload": payload, "signatures": [{"keyid": "", "sig": "c2ln"}]}


def graph(result: ReadResult) -> tuple[dict[str, Node], set[tuple[str, str, str]]]:
    return {n.id: n for n in result.nodes}, {(str(e.type), e.src, e.dst) for e in result.edges}


def shape(result: ReadResult) -> tuple[set[tuple[str, str | None, str, datetime | None, bool]], set[tuple[str, str, str]]]:
    """What a result asserts, without where it came from."""
    nodes = {(n.id, n.name, json.dumps(n.props, sort_keys=True), n.at, n.placeholder) for n in result.nodes}
    return nodes, graph(result)[1]


def read(name: str) -> ReadResult:
    return READER.read(fixture(name), CTX)


# -- detection --------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", VALID + BROKEN + ["mixed.intoto.jsonl"])
def test_sniff_and_registry_claim_every_attestation(name: str) -> None:
    assert READER.sniff(fixture(name))
    assert registry.detect(fixture(name)).name == "slsa"


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("events/deploy.json", b'{"context": {"id": "1", "type": "dev.cdevents.service.deployed.0.2.0"}, "subject": {}}'),
        ("alerts/am.json", b'{"version": "4", "status": "firing", "alerts": []}'),
        ("catalog-info.yaml", b'_type: "https://in-toto.io/Statement/v1"\n'),
        ("notes.md", b'"_type": "https://in-toto.io/Statement/v1"'),
        ("provenance/readme.json", b'{"note": "see https://in-toto.io/Statement/v1"}'),
        ("provenance/blob.json", b"\x00\xff\xfe" * 10),
    ],
)
def test_sniff_leaves_other_formats_alone(path: str, data: bytes) -> None:
    assert not READER.sniff(SourceFile(path=path, data=data))


def test_sniff_ignores_directories() -> None:
    assert not READER.sniff(SourceFile(path="provenance.json", data=b"", origin=FIXTURES, is_directory=True))


# -- SLSA v1 ----------------------------------------------------------------------------------------


def test_v1_generic_builder_statement() -> None:
    nodes, edges = graph(read("github-generic-v1.json"))
    build = nodes[CHECKOUT_RUN]
    assert (build.label, build.name, build.at) == (NodeLabel.BUILD, CHECKOUT_RUN.removeprefix("build:"),
                                                   datetime(2026, 3, 2, 8, 14, 5, tzinfo=UTC))  # fmt: skip
    assert build.props == {
        "builder_id": "https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator_generic_slsa3.yml"
                      "@refs/tags/v2.0.0",
        "build_type": "https://slsa-framework.github.io/github-actions-buildtypes/workflow/v1",
        "invocation_id": "https://github.com/acme/checkout/actions/runs/8123456789/attempts/1",
        "slsa_version": "v1", "source_uri": "git+https://github.com/acme/checkout@refs/heads/main",
        "source_ref": "refs/heads/main", "started_on": "2026-03-02T08:14:05+00:00", "finished_on": "2026-03-02T08:21:40+00:00",
    }  # fmt: skip
    assert (nodes[LINUX].name, nodes[LINUX].props) == (
        "checkout-linux-amd64.tar.gz", {"digest_sha256": LINUX.removeprefix("artifact:sha256:")})
    assert set(nodes[DARWIN].props) == {"digest_sha256", "digest_sha512"}
    commit, repo = nodes[f"commit:{CHECKOUT_SHA}"], nodes["repo:checkout"]
    assert (commit.name, commit.placeholder, repo.name, repo.placeholder) == ("3f9a1c2", True, "checkout", True)
    assert edges == {
        ("PRODUCED", CHECKOUT_RUN, LINUX), ("PRODUCED", CHECKOUT_RUN, DARWIN),
        ("BUILT_FROM", CHECKOUT_RUN, f"commit:{CHECKOUT_SHA}"),
        ("BUILT_FROM", LINUX, f"commit:{CHECKOUT_SHA}"), ("BUILT_FROM", DARWIN, f"commit:{CHECKOUT_SHA}"),
        ("IN_REPOSITORY", f"commit:{CHECKOUT_SHA}", "repo:checkout"),
    }  # fmt: skip
    assert set(nodes) == {CHECKOUT_RUN, LINUX, DARWIN, f"commit:{CHECKOUT_SHA}", "repo:checkout"}


def test_records_carry_provenance_of_the_file() -> None:
    result = read("github-generic-v1.json")
    records: list[Node | Edge] = [*result.nodes, *result.edges]
    assert {(r.provenance.source, r.provenance.location, r.provenance.run_id) for r in records} == {
        ("provenance/github-generic-v1.json", "/", "run-1")}
    [built_from] = [e for e in result.edges if e.type is RelType.BUILT_FROM and e.src == CHECKOUT_RUN]
    assert built_from.props == {"uri": "git+https://github.com/acme/checkout@refs/heads/main"}
    assert result.errors == []


def test_v02_statement_with_materials_and_config_source() -> None:
    nodes, edges = graph(read("container-v0.2.json"))
    build = nodes["build:7712345678-1"]
    assert (build.at, build.props["slsa_version"], build.props["source_ref"]) == (
        datetime(2026, 2, 27, 16, 2, 11, tzinfo=UTC), "v0.2", "refs/tags/v2.4.1")
    assert build.props["build_type"] == "https://github.com/slsa-framework/slsa-github-generator/container@v1"
    assert nodes[PAYMENTS_IMAGE].name == "ghcr.io/acme/payments"
    assert edges == {
        ("PRODUCED", "build:7712345678-1", PAYMENTS_IMAGE),
        ("BUILT_FROM", "build:7712345678-1", f"commit:{PAYMENTS_SHA}"), ("BUILT_FROM", PAYMENTS_IMAGE, f"commit:{PAYMENTS_SHA}"),
        ("IN_REPOSITORY", f"commit:{PAYMENTS_SHA}", "repo:payments"),
    }  # fmt: skip


def test_only_git_commits_count_as_sources() -> None:
    value = statement("github-generic-v1.json")
    value["predicate"]["buildDefinition"]["resolvedDependencies"] = [
        {"uri": "git+ssh://git@gitlab.example.com/shop/cart.git@refs/heads/main", "digest": {"sha1": "a" * 40}},
        {"uri": "https://example.com/tool.tar.gz", "digest": {"sha1": "b" * 40}},
        {"uri": "pkg:golang/example.com/lib@v1.2.0", "digest": {"gitCommit": "C" * 40}},
        {"uri": "pkg:docker/golang@1.22", "digest": {"sha256": "d" * 64}},
        {"name": "inputs", "content": "e30="},
        {"uri": "git@github.com:acme/Web-UI.git@refs/tags/v3", "digest": {"gitCommit": "e" * 40}},
    ]
    _, edges = graph(READER.read(as_file(value), CTX))
    assert {dst for kind, src, dst in edges if kind == "BUILT_FROM" and src == CHECKOUT_RUN} == {
        f"commit:{'a' * 40}", f"commit:{'c' * 40}", f"commit:{'e' * 40}"}
    # a package URL names no repository
    assert {(src, dst) for kind, src, dst in edges if kind == "IN_REPOSITORY"} == {
        (f"commit:{'a' * 40}", "repo:cart"), (f"commit:{'e' * 40}", "repo:web-ui")}


def test_source_uri_loses_credentials_and_builds_without_invocation_get_a_stable_id() -> None:
    value = statement("github-generic-v1.json")
    value["predicate"]["buildDefinition"]["resolvedDependencies"][0]["uri"] = (
        "git+https://x-access-token:ghs_secret@github.com/acme/checkout@refs/heads/main")
    del value["predicate"]["runDetails"]["metadata"]
    nodes, _ = graph(READER.read(as_file(value), CTX))
    key = json.dumps([value["predicate"]["runDetails"]["builder"]["id"], value["predicate"]["buildDefinition"]["buildType"],
                      sorted([LINUX, DARWIN])])  # fmt: skip
    build = nodes["build:slsa-" + hashlib.sha256(key.encode()).hexdigest()[:32]]
    assert build.props["source_uri"] == "git+https://github.com/acme/checkout@refs/heads/main"
    assert (build.name, build.at) == ("build of checkout-linux-amd64.tar.gz", None)
    assert "ghs_secret" not in json.dumps([n.props for n in nodes.values()])


# -- envelopes and files of many statements ---------------------------------------------------------


def test_dsse_envelope_is_unwrapped() -> None:
    nodes, edges = graph(read("inventory-attestation.dsse.json"))
    run = "build:https://github.com/acme/inventory/actions/runs/9011223344/attempts/2"
    assert nodes[run].props["builder_id"] == "https://github.com/acme/inventory/.github/workflows/build.yml@refs/heads/main"
    assert ("BUILT_FROM", run, "commit:c0ffee00d15ea5e0123456789abcdef012345678") in edges
    assert ("IN_REPOSITORY", "commit:c0ffee00d15ea5e0123456789abcdef012345678", "repo:inventory") in edges


@pytest.mark.parametrize("wrap", ["standard", "urlsafe-unpadded", "sigstore-bundle"])
def test_envelope_encodings_and_bundles_give_the_same_graph(wrap: str) -> None:
    value = statement("github-generic-v1.json")
    if wrap == "standard":
        wrapped: dict[str, Any] = envelope(value)
    elif wrap == "urlsafe-unpadded":
        wrapped = envelope(value, lambda raw: base64.urlsafe_b64encode(raw).rstrip(b"="))
    else:
        wrapped = {"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json", "verificationMaterial": {},
                   "dsseEnvelope": envelope(value)}  # fmt: skip
    assert shape(READER.read(as_file(wrapped), CTX)) == shape(read("github-generic-v1.json"))


def test_intoto_jsonl_holds_one_statement_per_line() -> None:
    result = read("release.intoto.jsonl")
    nodes, edges = graph(result)
    builds = {n.id: n.provenance.location for n in nodes.values() if n.label is NodeLabel.BUILD}
    assert len(builds) == 2 and builds["build:7712345678-1"] == "line 2"
    [cli] = [b for b in builds if b != "build:7712345678-1"]
    assert cli.startswith("build:slsa-") and builds[cli] == "line 1"
    assert ("BUILT_FROM", cli, "commit:0a1b2c3d4e5f60718293a4b5c6d7e8f901234567") in edges
    assert ("IN_REPOSITORY", "commit:0a1b2c3d4e5f60718293a4b5c6d7e8f901234567", "repo:checkout-cli") in edges
    assert result.errors == []


def test_a_json_array_of_statements() -> None:
    value = [statement("github-generic-v1.json"), envelope(statement("container-v0.2.json"))]
    nodes, _ = graph(READER.read(as_file(value), CTX))
    assert {CHECKOUT_RUN, "build:7712345678-1"} <= set(nodes)


def test_bad_lines_are_record_errors_and_good_lines_still_count() -> None:
    result = read("mixed.intoto.jsonl")
    assert [n.id for n in result.nodes if n.label is NodeLabel.BUILD] == [
        n.id for n in read("release.intoto.jsonl").nodes if n.provenance.location == "line 1" and n.label is NodeLabel.BUILD]
    assert result.errors == [
        RecordError("line 2", "statement.predicate.metadata.buildStartedOn: 'yesterday' is not an RFC 3339 time"),
        RecordError("line 3", "column 58: invalid JSON (Expecting value)"),
        RecordError("line 4", "column 1: invalid JSON (Expecting value)"),
    ]
    assert not any(n.id == "build:7712345678-1" for n in result.nodes)  # nothing of a failed statement is kept


def test_duplicate_statements_give_one_record_per_id() -> None:
    line = json.dumps(statement("github-generic-v1.json"))
    result = READER.read(SourceFile(path="p/dup.intoto.jsonl", data=f"{line}\n{line}\n".encode()), CTX)
    assert len(result.nodes) == 5 and len(result.edges) == 6


# -- errors -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("broken-syntax.json", "provenance/broken-syntax.json: line 27 column 1: invalid JSON (Expecting property name"),
        ("sbom-statement.json", "provenance/sbom-statement.json: statement.predicateType: 'https://spdx.dev/Document' is "
         "not SLSA provenance (expected https://slsa.dev/provenance/v1 or https://slsa.dev/provenance/v0.2)"),
        ("missing-builder-id.json", "provenance/missing-builder-id.json: statement.predicate.runDetails.builder: "
         "missing required field 'id'"),
        ("bad-subject-digest.json", "provenance/bad-subject-digest.json: statement.subject[1].digest.sha256: "
         "'not-a-digest' is not a hex digest of 64 characters"),
        ("bad-payload.dsse.json", "provenance/bad-payload.dsse.json: envelope.payload: not base64 of a JSON statement"),
    ],
)
def test_broken_files_are_refused_with_the_field_named(name: str, message: str) -> None:
    with pytest.raises(FormatError) as caught:
        read(name)
    assert str(caught.value).startswith(message)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"  \n", "p/x.json: the file is empty (expected an in-toto statement or DSSE envelope)"),
        (b"[]", "p/x.json: the JSON array is empty (expected in-toto statements)"),
        (b'{"_type": "https://in-toto.io/Statement/v1"\xff}', "p/x.json: byte 43 is not UTF-8"),
        (b'{"_type": "https://in-toto.io/Statement/v2", "predicateType": "x", "predicate": {}, "subject": []}',
         "p/x.json: statement._type: 'https://in-toto.io/Statement/v2' is not an in-toto Statement v1 or v0.1"),
        (b'{"payloadType": "application/vnd.cncf.notary", "payload": "e30="}',
         "p/x.json: envelope.payloadType: expected 'application/vnd.in-toto+json', got 'application/vnd.cncf.notary'"),
        (b'{"payloadType": "application/vnd.in-toto+json", "payload": "' + base64.b64encode(b"[1]") + b'"}',
         "p/x.json: statement: expected an in-toto statement object, got list"),
        (b'[{"_type": "https://in-toto.io/Statement/v1"}, 3]',
         "p/x.json: no usable statement (2 errors; first: /0: statement: missing required field 'predicateType')"),
        (b"[" * 100_000, "p/x.json: invalid JSON (RecursionError)"),
    ],
)
def test_whole_file_problems(data: bytes, message: str) -> None:
    with pytest.raises(FormatError) as caught:
        READER.read(SourceFile(path="p/x.json", data=data), CTX)
    assert str(caught.value).startswith(message)


def test_a_single_line_jsonl_names_its_line() -> None:
    line = json.dumps(statement("sbom-statement.json")).encode()
    with pytest.raises(FormatError, match=r"^p/one\.intoto\.jsonl: line 1: statement\.predicateType: "):
        READER.read(SourceFile(path="p/one.intoto.jsonl", data=line), CTX)


def test_a_subject_needs_a_digest_and_times_need_a_zone() -> None:
    value = statement("github-generic-v1.json")
    value["subject"].append({"name": "checksums.txt"})
    with pytest.raises(FormatError, match=r"statement\.subject\[2\]\.digest: expected a non-empty object"):
        READER.read(as_file(value), CTX)
    value = statement("github-generic-v1.json")
    value["predicate"]["runDetails"]["metadata"]["startedOn"] = "2026-03-02T09:14:05"
    with pytest.raises(FormatError, match=r"runDetails\.metadata\.startedOn: '2026-03-02T09:14:05' has no time zone"):
        READER.read(as_file(value), CTX)


# -- the provenance chain ---------------------------------------------------------------------------


def test_artifact_to_build_to_commit_to_pull_request_to_requirement(tmp_path: Path) -> None:
    repo, shas = build_checkout(tmp_path / "checkout")
    git = GIT_READER.read(repo_source(repo.path, "repos/checkout"), CTX)
    value = statement("github-generic-v1.json")
    value["predicate"]["buildDefinition"]["resolvedDependencies"][0]["digest"]["gitCommit"] = shas["m1"]
    slsa = READER.read(as_file(value), CTX)

    nodes: dict[str, Node] = {}
    for node in [*git.nodes, *slsa.nodes]:  # as the store does: a placeholder never overwrites a real node
        if node.id not in nodes or nodes[node.id].placeholder:
            nodes[node.id] = node
    out: dict[tuple[str, RelType], list[str]] = defaultdict(list)
    into: dict[tuple[str, RelType], list[str]] = defaultdict(list)
    for e in [*git.edges, *slsa.edges]:
        out[e.src, e.type].append(e.dst)
        into[e.dst, e.type].append(e.src)

    [build] = into[LINUX, RelType.PRODUCED]
    [commit] = out[build, RelType.BUILT_FROM]
    assert out[LINUX, RelType.BUILT_FROM] == [commit] == [f"commit:{shas['m1']}"]
    assert not nodes[commit].placeholder
    assert nodes[commit].props["subject"] == "Merge pull request #10 from acme/feature/PAY-7-timeouts"
    assert out[commit, RelType.IN_REPOSITORY] == ["repo:checkout"] * 2  # the same edge id from both readers
    assert not nodes["repo:checkout"].placeholder
    [pr] = out[commit, RelType.INCLUDED_IN]
    assert (pr, nodes[pr].name) == ("pr:checkout#10", "Tune upstream timeouts")
    assert sorted(out[pr, RelType.IMPLEMENTS]) == ["req:PAY-7", "req:checkout#4"]
    assert {nodes[r].name for r in out[pr, RelType.IMPLEMENTS]} == {"PAY-7", "checkout#4"}
    shared = {e.id for e in git.edges} & {e.id for e in slsa.edges}
    assert shared == {Edge(RelType.IN_REPOSITORY, commit, "repo:checkout", slsa.edges[0].provenance).id}


# -- robustness -------------------------------------------------------------------------------------


def _read_or_refuse(file: SourceFile) -> None:
    with contextlib.suppress(VidyaError):
        READER.read(file, CTX)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            out += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            out += _paths(item, (*prefix, i))
    return out


def _replace(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    copy = value.copy()
    copy[path[0]] = _replace(value[path[0]], path[1:], new)
    return copy


@settings(max_examples=150, deadline=None)
@given(data=st.binary(max_size=600), name=st.sampled_from(["x.json", "x.intoto.jsonl"]))
def test_arbitrary_bytes_read_or_are_refused_cleanly(data: bytes, name: str) -> None:
    _read_or_refuse(SourceFile(path=f"p/{name}", data=data))


@settings(max_examples=200, deadline=None)
@given(name=st.sampled_from(["github-generic-v1.json", "container-v0.2.json"]), pick=st.integers(0, 10_000),
       new=json_values, wrap=st.booleans())  # fmt: skip
def test_mutated_statements_read_or_are_refused_cleanly(name: str, pick: int, new: Any, wrap: bool) -> None:
    value = statement(name)
    paths = _paths(value)
    mutated = _replace(value, paths[pick % len(paths)], new)
    _read_or_refuse(as_file(envelope(mutated) if wrap and isinstance(mutated, dict) else mutated))


@settings(max_examples=150, deadline=None)
@given(name=st.sampled_from(VALID), cuts=st.lists(st.tuples(st.integers(0, 5000), st.binary(max_size=4)), max_size=4))
def test_byte_mutated_fixtures_read_or_are_refused_cleanly(name: str, cuts: list[tuple[int, bytes]]) -> None:
    data = bytearray((FIXTURES / name).read_bytes())
    for at, chunk in cuts:
        at %= len(data)
        data[at : at + len(chunk)] = chunk
    _read_or_refuse(fixture(name, bytes(data)))
