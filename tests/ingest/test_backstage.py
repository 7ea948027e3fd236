"""The Backstage catalog reader: entities, relations, reference resolution, locations, errors."""

from __future__ import annotations

import contextlib
import copy
import textwrap
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from graph.errors import FormatError, VidyaError
from graph.schema import NodeLabel, RelType
from ingest import backstage, kubernetes, registry
from ingest.backstage import READER
from ingest.records import ReadContext, ReadResult, SourceFile

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "backstage"
CTX = ReadContext(run_id="run-1", ingested_at=datetime(2026, 3, 1, 12, 0, tzinfo=UTC))
R = RelType


def source(path: Path, root: Path = FIXTURES) -> SourceFile:
    """A file as the walker hands it over: path relative to the ingest root, origin on disk."""
    return SourceFile(path=path.relative_to(root).as_posix(), data=path.read_bytes(), origin=path)


def read_fixture(rel: str) -> ReadResult:
    return READER.read(source(FIXTURES / rel), CTX)


def read_text(text: str, path: str = "catalog.yaml") -> ReadResult:
    return READER.read(SourceFile(path=path, data=textwrap.dedent(text).encode()), CTX)


def edges(result: ReadResult) -> set[tuple[str, str, str]]:
    return {(str(e.type), e.src, e.dst) for e in result.edges}


def errors(result: ReadResult) -> list[str]:
    return [str(e) for e in result.errors]


# --- sniffing -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "data", "claimed"),
    [
        ("catalog-info.yaml", b"anything: at all\n", True),
        ("svc/catalog-info.yml", b"", True),
        ("teams.yaml", b"# teams\napiVersion: backstage.io/v1alpha1\nkind: Group\n", True),
        ("apis.yml", b'"apiVersion": "backstage.io/v1beta1"\n', True),
        ("deploy.yaml", b"apiVersion: apps/v1\nkind: Deployment\n", False),
        ("template.yaml", b"apiVersion: scaffolder.backstage.io/v1beta3\nkind: Template\n", False),
        ("k8s.yaml", b"apiVersion: apps/v1\nmetadata:\n  labels:\n    backstage.io/kubernetes-id: x\n", False),
        ("catalog.json", b'{"apiVersion": "backstage.io/v1alpha1"}', False),
        ("notes.md", b"apiVersion: backstage.io/v1alpha1\n", False),
    ],
)
def test_sniff_claims_backstage_catalog_files_only(path: str, data: bytes, claimed: bool) -> None:
    assert READER.sniff(SourceFile(path=path, data=data)) is claimed


def test_sniff_refuses_directories_and_detect_picks_the_reader() -> None:
    assert not READER.sniff(SourceFile(path="catalog-info.yaml", data=b"", is_directory=True))
    topology: list[registry.Reader] = [READER, kubernetes.READER]  # both YAML readers, in registry order
    assert registry.detect(source(FIXTURES / "shop/catalog-info.yaml"), topology) is READER
    assert registry.reader_named("backstage", topology) is READER
    assert READER.priority == registry.PRIORITY_TOPOLOGY


# --- the shop estate ------------------------------------------------------------------


def test_shop_estate_nodes_have_ids_labels_and_names() -> None:
    result = read_fixture("shop/catalog-info.yaml")
    assert result.errors == []
    labels = {n.id: n.label for n in result.nodes}
    assert labels == {
        "domain:default/commerce": NodeLabel.DOMAIN,
        "system:default/shop": NodeLabel.SYSTEM,
        "service:default/storefront": NodeLabel.SERVICE,
        "service:default/checkout": NodeLabel.SERVICE,
        "service:default/cart": NodeLabel.SERVICE,
        "service:default/cart-worker": NodeLabel.SERVICE,
        "api:default/checkout-api": NodeLabel.API,
        "api:default/cart-api": NodeLabel.API,
        "resource:default/orders-db": NodeLabel.RESOURCE,
        "resource:default/cart-cache": NodeLabel.RESOURCE,
        "resource:default/order-events": NodeLabel.RESOURCE,
        "team:default/org-commerce": NodeLabel.TEAM,
        "team:default/team-shop": NodeLabel.TEAM,
        "team:default/team-payments": NodeLabel.TEAM,
        "person:default/alice": NodeLabel.PERSON,
        "person:default/bob": NodeLabel.PERSON,
        "person:default/carol": NodeLabel.PERSON,
        "service:payments/payments": NodeLabel.SERVICE,
        "api:payments/payments-api": NodeLabel.API,
        "resource:payments/payments-db": NodeLabel.RESOURCE,
    }
    assert all(n.name == n.id.rsplit("/", 1)[1] for n in result.nodes)


def test_component_props_carry_metadata_spec_and_useful_annotations() -> None:
    nodes = {n.id: n for n in read_fixture("shop/catalog-info.yaml").nodes}
    assert nodes["service:default/checkout"].props == {
        "namespace": "default",
        "title": "Checkout service",
        "description": "Turns a basket into an order, takes the payment and emits order events.",
        "type": "service",
        "lifecycle": "production",
        "tags": ["java", "tier-1"],
        "label:tier": "1",
        "annotation:backstage.io/kubernetes-id": "checkout",
        "annotation:pagerduty.com/service-id": "PCHK001",
        "annotation:vidya.dev/instances": "3",
    }
    storefront = nodes["service:default/storefront"].props
    assert storefront["link_count"] == 2 and storefront["type"] == "website"
    assert "annotation:backstage.io/managed-by-location" not in storefront


def test_kind_specific_props_of_apis_resources_teams_and_people() -> None:
    nodes = {n.id: n for n in read_fixture("shop/catalog-info.yaml").nodes}
    checkout_api = nodes["api:default/checkout-api"].props
    assert checkout_api["type"] == "openapi"
    assert str(checkout_api["definition_excerpt"]).startswith("openapi: 3.0.3\ninfo:\n  title: Checkout API")
    assert nodes["api:default/cart-api"].props["definition_ref"] == "$text ./apis/cart.proto"
    assert nodes["resource:default/order-events"].props["type"] == "queue"
    assert nodes["team:default/team-shop"].props == {
        "namespace": "default", "type": "team", "email": "shop-team@example.com", "display_name": "Shop team",
    }
    assert nodes["person:default/alice"].props == {
        "namespace": "default", "email": "alice@example.com", "display_name": "Alice Moreau",
    }


def test_shop_estate_relations_become_edges() -> None:
    found = edges(read_fixture("shop/catalog-info.yaml"))
    expected = {
        ("OWNED_BY", "domain:default/commerce", "team:default/org-commerce"),
        ("PART_OF", "system:default/shop", "domain:default/commerce"),
        ("CONSUMES_API", "service:default/storefront", "api:default/checkout-api"),
        ("PROVIDES_API", "service:default/checkout", "api:default/checkout-api"),
        ("CONSUMES_API", "service:default/checkout", "api:payments/payments-api"),
        ("DEPENDS_ON", "service:default/checkout", "resource:default/orders-db"),
        ("DEPENDS_ON", "service:default/checkout", "resource:default/order-events"),
        ("OWNED_BY", "service:default/cart-worker", "person:default/alice"),
        ("SUBCOMPONENT_OF", "service:default/cart-worker", "service:default/cart"),
        ("PART_OF", "api:default/cart-api", "system:default/shop"),
        ("OWNED_BY", "resource:default/orders-db", "team:default/team-shop"),
        ("MEMBER_OF", "team:default/team-shop", "team:default/org-commerce"),
        ("MEMBER_OF", "team:default/team-payments", "team:default/org-commerce"),
        ("MEMBER_OF", "person:default/alice", "team:default/team-shop"),
        ("MEMBER_OF", "person:default/carol", "team:default/team-payments"),
        ("OWNED_BY", "service:payments/payments", "team:default/team-payments"),
        ("PART_OF", "service:payments/payments", "system:default/shop"),
        ("DEPENDS_ON", "service:payments/payments", "resource:payments/payments-db"),
    }
    assert expected <= found
    assert len(found) == 48


def test_the_same_relation_stated_twice_is_one_edge() -> None:
    result = read_fixture("shop/catalog-info.yaml")
    ids = [e.id for e in result.edges]
    assert len(ids) == len(set(ids))
    # checkout dependsOn orders-db and orders-db dependencyOf checkout; team-shop parent + org children
    db = [e for e in result.edges if (e.type, e.dst) == (R.DEPENDS_ON, "resource:default/orders-db")]
    assert len(db) == 1 and db[0].provenance.location == "document 4 (line 50)"


def test_consumers_depend_on_the_providers_of_their_apis() -> None:
    inferred = {
        (e.src, e.dst): e.props for e in read_fixture("shop/catalog-info.yaml").edges if e.props.get("inferred_from")
    }
    assert inferred == {
        ("service:default/storefront", "service:default/checkout"): {
            "inferred_from": "consumesApis", "via_apis": ["api:default/checkout-api"],
        },
        ("service:default/storefront", "service:default/cart"): {
            "inferred_from": "consumesApis", "via_apis": ["api:default/cart-api"],
        },
        ("service:default/checkout", "service:default/cart"): {
            "inferred_from": "consumesApis", "via_apis": ["api:default/cart-api"],
        },
        ("service:default/checkout", "service:payments/payments"): {
            "inferred_from": "consumesApis", "via_apis": ["api:payments/payments-api"],
        },
    }


def test_api_dependency_is_not_inferred_over_an_explicit_one_or_to_itself() -> None:
    result = read_text("""
        apiVersion: backstage.io/v1alpha1
        kind: Component
        metadata: {name: a}
        spec: {providesApis: [x], consumesApis: [x, y], dependsOn: [component:b]}
        ---
        apiVersion: backstage.io/v1alpha1
        kind: Component
        metadata: {name: b}
        spec: {providesApis: [y]}
    """)
    depends = [e for e in result.edges if e.type is R.DEPENDS_ON]
    assert [(e.src, e.dst, e.props) for e in depends] == [("service:default/a", "service:default/b", {})]


def test_provenance_names_the_file_and_document() -> None:
    result = read_fixture("shop/catalog-info.yaml")
    node = next(n for n in result.nodes if n.id == "service:default/checkout")
    assert node.provenance.source == "shop/catalog-info.yaml"
    assert node.provenance.location == "document 4 (line 50)"
    assert node.provenance.run_id == "run-1"
    edge = next(e for e in result.edges if e.type is R.SUBCOMPONENT_OF)
    assert (edge.provenance.source, edge.provenance.location) == ("shop/catalog-info.yaml", "document 6 (line 89)")


# --- entity references ------------------------------------------------------------------


def _one(kind: str, spec: dict[str, Any], namespace: str | None = None) -> ReadResult:
    metadata: dict[str, Any] = {"name": "subject"}
    if namespace:
        metadata["namespace"] = namespace
    doc = {"apiVersion": "backstage.io/v1alpha1", "kind": kind, "metadata": metadata, "spec": spec}
    return READER.read(SourceFile(path="one.yaml", data=yaml.safe_dump(doc).encode()), CTX)


@pytest.mark.parametrize(
    ("kind", "field", "ref", "namespace", "expected"),
    [
        ("Component", "owner", "team-shop", None, "service:default/subject -OWNED_BY-> team:default/team-shop"),
        ("Component", "owner", "user:alice", None, "service:default/subject -OWNED_BY-> person:default/alice"),
        ("Component", "owner", "Group:Platform/SRE", None, "service:default/subject -OWNED_BY-> team:platform/sre"),
        ("Component", "owner", "sre", "ops", "service:ops/subject -OWNED_BY-> team:ops/sre"),
        ("Component", "owner", "default/sre", "ops", "service:ops/subject -OWNED_BY-> team:default/sre"),
        ("Component", "system", "Shop", None, "service:default/subject -PART_OF-> system:default/shop"),
        ("Component", "subcomponentOf", "cart", "shop", "service:shop/subject -SUBCOMPONENT_OF-> service:shop/cart"),
        ("Component", "providesApis", ["Payments-API"], None, "service:default/subject -PROVIDES_API-> api:default/payments-api"),
        ("Component", "consumesApis", ["payments/pay-api"], "shop", "service:shop/subject -CONSUMES_API-> api:payments/pay-api"),
        ("Component", "consumesApis", "single-api", None, "service:default/subject -CONSUMES_API-> api:default/single-api"),
        ("Component", "dependsOn", ["resource:db"], "ops", "service:ops/subject -DEPENDS_ON-> resource:ops/db"),
        ("Component", "dependsOn", ["COMPONENT:Default/Cart"], "ops", "service:ops/subject -DEPENDS_ON-> service:default/cart"),
        ("Component", "dependencyOf", ["component:web"], None, "service:default/web -DEPENDS_ON-> service:default/subject"),
        ("Resource", "dependsOn", ["resource:disk"], None, "resource:default/subject -DEPENDS_ON-> resource:default/disk"),
        ("API", "system", "shop", None, "api:default/subject -PART_OF-> system:default/shop"),
        ("System", "domain", "commerce", None, "system:default/subject -PART_OF-> domain:default/commerce"),
        ("Domain", "subdomainOf", "retail", None, "domain:default/subject -PART_OF-> domain:default/retail"),
        ("Group", "parent", "org", None, "team:default/subject -MEMBER_OF-> team:default/org"),
        ("Group", "children", ["squad"], None, "team:default/squad -MEMBER_OF-> team:default/subject"),
        ("Group", "members", ["alice"], "eu", "person:eu/alice -MEMBER_OF-> team:eu/subject"),
        ("User", "memberOf", ["admins"], None, "person:default/subject -MEMBER_OF-> team:default/admins"),
    ],
)
def test_references_resolve_like_backstage(kind: str, field: str, ref: object, namespace: str | None, expected: str) -> None:
    result = _one(kind, {field: ref}, namespace)
    assert result.errors == []
    assert [f"{e.src} -{e.type}-> {e.dst}" for e in result.edges] == [expected]


@pytest.mark.parametrize(
    ("field", "ref", "message"),
    [
        ("dependsOn", ["db"], "spec.dependsOn[0]: entity reference 'db': no kind given and none implied by the field"),
        ("dependsOn", ["group:sre"], "spec.dependsOn[0]: 'group:sre' names a Team; DEPENDS_ON here must name one of: "
         "API, Domain, Resource, Service or System"),
        ("owner", "component:cart", "spec.owner: 'component:cart' names a Service; OWNED_BY here must name one of: "
         "Person or Team"),
        ("owner", ["team-a", "team-b"], "spec.owner: expected an entity reference string, got a list"),
        ("providesApis", [7], "spec.providesApis[0]: expected an entity reference string, got an integer"),
        ("consumesApis", ["a:b:c"], "spec.consumesApis[0]: entity reference 'a:b:c': expected [kind:][namespace/]name"),
        ("dependsOn", ["template:x"], "spec.dependsOn[0]: entity reference 'template:x': kind 'template' is not one of "
         "api, component, domain, group, resource, system, user"),
    ],
)
def test_bad_references_are_recorded_and_the_entity_kept(field: str, ref: object, message: str) -> None:
    result = _one("Component", {field: ref})
    assert [n.id for n in result.nodes] == ["service:default/subject"]
    assert result.edges == []
    assert errors(result) == [f"document 1 (line 1): {message}"]


def test_entity_names_and_namespaces_are_case_insensitive_in_ids() -> None:
    result = read_text("""
        apiVersion: backstage.io/v1beta1
        kind: component
        metadata: {name: Checkout, namespace: Shop}
        ---
        apiVersion: backstage.io/v1alpha1
        kind: Component
        metadata: {name: CHECKOUT, namespace: shop}
    """)
    assert [(n.id, n.name) for n in result.nodes] == [("service:shop/checkout", "Checkout")]
    assert errors(result) == [
        "document 2 (line 6): service:shop/checkout is defined twice (first in catalog.yaml document 1 (line 2)); "
        "this one is skipped"
    ]


def test_long_text_is_truncated() -> None:
    result = read_text(f"""
        apiVersion: backstage.io/v1alpha1
        kind: API
        metadata:
          name: big
          description: {"d" * 5000}
          annotations: {{example.com/blob: {"a" * 5000}}}
        spec: {{definition: {"x" * 5000}}}
    """)
    props = result.nodes[0].props
    assert len(str(props["description"])) == backstage.TEXT_LIMIT
    assert len(str(props["definition_excerpt"])) == backstage.TEXT_LIMIT
    assert len(str(props["annotation:example.com/blob"])) == backstage.ANNOTATION_LIMIT


# --- locations ----------------------------------------------------------------------------


def test_location_targets_are_read_with_their_own_provenance() -> None:
    result = read_fixture("shop/catalog-info.yaml")
    payments = next(n for n in result.nodes if n.id == "service:payments/payments")
    assert payments.provenance.source == "shop/components/payments.yaml"
    assert payments.provenance.location == "document 1 (line 3)"
    single = READER.read(source(FIXTURES / "shop/catalog-info.yaml", root=FIXTURES / "shop"), CTX)
    payments = next(n for n in single.nodes if n.id == "service:payments/payments")
    assert payments.provenance.source == "components/payments.yaml"


def _write(directory: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (directory / name).parent.mkdir(parents=True, exist_ok=True)
        (directory / name).write_text(textwrap.dedent(text))


def _location(*targets: str) -> str:
    items = "".join(f"\n    - {t}" for t in targets)
    return f"apiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata: {{name: loc}}\nspec:\n  targets:{items}\n"


def _component(name: str) -> str:
    return f"apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {{name: {name}}}\n"


def test_location_globs_nesting_and_cycles(tmp_path: Path) -> None:
    _write(tmp_path, {
        "catalog/all.yaml": _location("./services/*.yaml", "./nested.yaml", "./all.yaml"),
        "catalog/services/a.yaml": _component("a"),
        "catalog/services/b.yaml": _component("b") + "---\n" + _location("../nested.yaml", "../all.yaml"),
        "catalog/nested.yaml": _component("c"),
    })
    result = READER.read(source(tmp_path / "catalog/all.yaml", root=tmp_path), CTX)
    assert result.errors == []
    assert {n.id: n.provenance.source for n in result.nodes} == {
        "service:default/a": "catalog/services/a.yaml",
        "service:default/b": "catalog/services/b.yaml",
        "service:default/c": "catalog/nested.yaml",
    }


def test_location_targets_outside_the_catalog_or_remote_are_refused(tmp_path: Path) -> None:
    (tmp_path / "secret.yaml").write_text(_component("secret"))
    (tmp_path / "catalog").mkdir()
    (tmp_path / "catalog" / "link.yaml").symlink_to(tmp_path / "secret.yaml")
    _write(tmp_path, {
        "catalog/all.yaml": _component("main") + "---\n" + _location(
            "../secret.yaml", "./link.yaml", "/etc/hostname", "https://example.com/catalog.yaml", "./missing.yaml",
        ),
    })
    result = READER.read(source(tmp_path / "catalog/all.yaml", root=tmp_path), CTX)
    assert [n.id for n in result.nodes] == ["service:default/main"]
    where = "document 2 (line 5)"
    escape = "leaves the catalog file's directory (locations are read only inside it)"
    assert errors(result) == [
        f"{where}: spec.targets[0] '../secret.yaml': {escape}",
        f"{where}: spec.targets[1] './link.yaml': {escape}",
        f"{where}: spec.targets[2] '/etc/hostname': expected a path relative to the catalog file",
        f"{where}: spec.targets[3] 'https://example.com/catalog.yaml': remote location not fetched "
        "(only files relative to the catalog file are read)",
        f"{where}: spec.targets[4] './missing.yaml': no such file",
    ]


def test_location_problems_in_target_files_are_recorded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _write(tmp_path, {
        "all.yaml": _component("main") + "---\n" + _location("./bad.yaml", "./half.yaml", "./big.yaml"),
        "bad.yaml": "kind: [unclosed\n",
        "half.yaml": _component("ok") + "---\nkind: Component\n",
        "big.yaml": _component("big") + "# " + "x" * 200 + "\n",
    })
    monkeypatch.setattr(backstage, "MAX_TARGET_BYTES", 150)
    result = READER.read(source(tmp_path / "all.yaml", root=tmp_path), CTX)
    assert [n.id for n in result.nodes] == ["service:default/main", "service:default/ok"]
    assert errors(result) == [
        "document 2 (line 5): spec.targets[0] './bad.yaml': bad.yaml: line 2 column 1: invalid YAML "
        "(expected ',' or ']', but got '<stream end>')",
        "half.yaml document 2 (line 5): apiVersion: missing (required)",
        "document 2 (line 5): spec.targets[2] './big.yaml': big.yaml: 275 bytes is over the 150-byte limit for location targets",
    ]


def test_unresolvable_location_targets_are_recorded(tmp_path: Path) -> None:
    (tmp_path / "loop.yaml").symlink_to(tmp_path / "loop.yaml")
    _write(tmp_path, {"all.yaml": _component("main") + "---\n" + _location("./loop.yaml", "./" + "x" * 300)})
    result = READER.read(source(tmp_path / "all.yaml", root=tmp_path), CTX)
    assert [n.id for n in result.nodes] == ["service:default/main"]
    assert len(result.errors) == 2
    assert all(": cannot resolve the path (" in e.message for e in result.errors)


def test_locations_without_a_file_on_disk_are_reported() -> None:
    result = read_text(_component("main") + "---\n" + _location("./other.yaml"))
    assert [n.id for n in result.nodes] == ["service:default/main"]
    assert errors(result) == [
        "document 2 (line 5): spec.targets[0] './other.yaml': not read: the catalog was not read from a file on disk"
    ]


def test_deeply_nested_locations_stop(tmp_path: Path) -> None:
    files = {f"l{i}.yaml": _component(f"c{i}") + "---\n" + _location(f"./l{i + 1}.yaml") for i in range(8)}
    _write(tmp_path, files)
    result = READER.read(source(tmp_path / "l0.yaml", root=tmp_path), CTX)
    assert [n.id for n in result.nodes] == [f"service:default/c{i}" for i in range(backstage.MAX_DEPTH + 1)]
    assert errors(result) == [
        "l5.yaml document 2 (line 5): spec.targets[0] './l6.yaml': locations nested deeper than 5 levels are not followed"
    ]


# --- broken input ---------------------------------------------------------------------------


def test_broken_documents_are_recorded_and_the_good_ones_kept() -> None:
    result = read_fixture("broken/mixed.yaml")
    assert [n.id for n in result.nodes] == ["service:default/search"]
    assert edges(result) == {
        ("PART_OF", "service:default/search", "system:default/shop"),
        ("PROVIDES_API", "service:default/search", "api:default/search-api"),
        ("DEPENDS_ON", "service:default/search", "resource:default/search-index"),
    }
    assert errors(result) == [
        "document 1 (line 2): spec.owner: 'component:checkout' names a Service; OWNED_BY here must name one of: Person or Team",
        "document 1 (line 2): spec.providesApis[1]: expected an entity reference string, got an integer",
        "document 1 (line 2): spec.dependsOn[0]: entity reference 'search-index': no kind given and none implied by the field",
        "document 1 (line 2): spec.dependsOn[2]: 'group:team-shop' names a Team; DEPENDS_ON here must name one of: "
        "API, Domain, Resource, Service or System",
        "document 1 (line 2): spec.dependsOn[3]: entity reference 'resource:a:b': expected [kind:][namespace/]name",
        "document 2 (line 17): kind: missing (required)",
        "document 3 (line 22): kind 'Widget': not a catalog kind Vidya reads "
        "(expected one of API, Component, Domain, Group, Location, Resource, System, User)",
        "document 4 (line 27): expected a mapping with apiVersion, kind and metadata, got a list",
        "document 5 (line 30): metadata.name 'bad name!': expected 1-63 letters, digits, '-', '_' or '.', "
        "starting and ending alphanumeric",
        "document 6 (line 35): service:default/search is defined twice (first in broken/mixed.yaml document 1 (line 2)); "
        "this one is skipped",
        "document 8 (line 47): spec.targets[0] 'https://github.com/example/catalog/blob/main/all.yaml': "
        "remote location not fetched (only files relative to the catalog file are read)",
        "document 8 (line 47): spec.targets[1] '../../../etc/passwd': leaves the catalog file's directory "
        "(locations are read only inside it)",
        "document 8 (line 47): spec.targets[2] './missing.yaml': no such file",
    ]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "catalog.yaml: the file is empty (expected YAML documents)"),
        (b"# only a comment\n---\n", "catalog.yaml: no YAML documents, only comments or blank documents"),
        (b"\xff\xfe\x00junk", "catalog.yaml: byte 0 is not UTF-8"),
        (b"a: 2024-13-45\n", "catalog.yaml: invalid YAML (month must be in 1..12)"),
        (
            b"apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: [x}\n",
            "catalog.yaml: line 3 column 20: invalid YAML (expected ',' or ']', but got '}')",
        ),
        (
            b"apiVersion: scaffolder.backstage.io/v1beta3\nkind: Template\nmetadata: {name: t}\n",
            "catalog.yaml: no usable Backstage entities (1 document(s) of kinds Vidya does not model;",
        ),
        (
            b"apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\n",
            "catalog.yaml: no usable Backstage entities; document 1 (line 1): apiVersion 'apps/v1': not a Backstage "
            "catalog entity (expected backstage.io/v1alpha1 or backstage.io/v1beta1)",
        ),
        (
            b"apiVersion: backstage.io/v1alpha1\nkind: Group\n---\nkind: User\n",
            "catalog.yaml: no usable Backstage entities; document 1 (line 1): metadata: missing (required) (and 1 more problem)",
        ),
    ],
)
def test_unusable_files_raise_format_errors_naming_the_file(data: bytes, message: str) -> None:
    with pytest.raises(FormatError) as caught:
        READER.read(SourceFile(path="catalog.yaml", data=data), CTX)
    assert str(caught.value).startswith(message)


def test_bad_yaml_fixture_names_the_position() -> None:
    with pytest.raises(FormatError, match=r"^broken/bad-yaml\.yaml: line 6 column 5: invalid YAML \(expected ',' or ']'"):
        read_fixture("broken/bad-yaml.yaml")


# --- robustness -----------------------------------------------------------------------------

_FIXTURE_FILES = ["shop/catalog-info.yaml", "shop/components/payments.yaml", "broken/mixed.yaml"]
_SCALARS = st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=20)
_VALUES = st.recursive(
    _SCALARS, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3), max_leaves=8
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _paths(item, (*prefix, index))
    return found


def mutate(documents: list[Any], data: st.DataObject, values: st.SearchStrategy[Any] = _VALUES) -> list[Any]:
    """Replace a few values anywhere in the documents with arbitrary ones (shared with the kubernetes tests)."""
    for _ in range(data.draw(st.integers(1, 3))):
        paths = _paths(documents)[1:]
        path = data.draw(st.sampled_from(paths))
        parent = documents
        for step in path[:-1]:
            parent = parent[step]
        parent[path[-1]] = data.draw(values)
    return documents


def mutate_bytes(raw: bytes, data: st.DataObject) -> bytes:
    """Overwrite a few short runs of bytes with arbitrary ones."""
    text = bytearray(raw)
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(text) - 1))
        text[at : at + data.draw(st.integers(0, 8))] = data.draw(st.binary(max_size=6))
    return bytes(text)


def _accepts(file: SourceFile, reader: registry.Reader = READER) -> None:
    with contextlib.suppress(VidyaError):
        reader.read(file, CTX)


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=400))
def test_arbitrary_bytes_raise_only_vidya_errors(data: bytes) -> None:
    _accepts(SourceFile(path="catalog-info.yaml", data=data))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(_FIXTURE_FILES), st.data())
def test_mutated_fixture_text_raises_only_vidya_errors(rel: str, data: st.DataObject) -> None:
    _accepts(SourceFile(path=rel, data=mutate_bytes((FIXTURES / rel).read_bytes(), data), origin=FIXTURES / rel))


def fixture_windows(files: list[Path], size: int = 3) -> list[list[Any]]:
    """Runs of ``size`` consecutive documents from each file: small inputs keep the property tests fast."""
    windows = []
    for path in files:
        documents = [doc for doc in yaml.safe_load_all(path.read_text()) if doc is not None]
        windows += [documents[start : start + size] for start in range(0, max(len(documents) - size, 0) + 1)]
    return windows


_WINDOWS = fixture_windows([FIXTURES / rel for rel in _FIXTURE_FILES])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(_WINDOWS), st.data())
def test_mutated_fixture_values_raise_only_vidya_errors(window: list[Any], data: st.DataObject) -> None:
    text = yaml.dump_all(mutate(copy.deepcopy(window), data), Dumper=getattr(yaml, "CSafeDumper", yaml.SafeDumper))
    _accepts(SourceFile(path="shop/catalog-info.yaml", data=text.encode(), origin=FIXTURES / "shop/catalog-info.yaml"))
