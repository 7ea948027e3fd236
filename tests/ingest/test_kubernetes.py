"""The Kubernetes manifest reader: workloads as services, env vars as hinted dependencies."""

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
from ingest import backstage, registry
from ingest.kubernetes import HINT_KEY, READER
from ingest.records import EntityHint, ReadContext, ReadResult, SourceFile
from tests.ingest.test_backstage import fixture_windows, mutate, mutate_bytes

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "kubernetes"
CTX = ReadContext(run_id="run-1", ingested_at=datetime(2026, 3, 1, 12, 0, tzinfo=UTC))


def source(rel: str) -> SourceFile:
    path = FIXTURES / rel
    return SourceFile(path=rel, data=path.read_bytes(), origin=path)


def read_text(text: str, path: str = "manifests.yaml") -> ReadResult:
    return READER.read(SourceFile(path=path, data=textwrap.dedent(text).encode()), CTX)


def hints(result: ReadResult) -> list[tuple[str, str, str, str]]:
    """(source, hinted name, env var, location) per hinted edge."""
    return [
        (h.src, dict(h.hint.values)["name"], str(h.props["env_var"]), str(h.provenance.location)) for h in result.hinted
    ]


def deployment(
    env: dict[str, str] | None = None,
    *,
    name: str = "web",
    labels: dict[str, str] | None = None,
    annotations: dict[str, str] | None = None,
    replicas: int | None = None,
) -> str:
    """A Deployment in namespace ``shop`` with one container and the given env vars, as YAML."""
    container = {"name": "main", "image": f"example/{name}:1", "env": [{"name": k, "value": v} for k, v in (env or {}).items()]}
    spec: dict[str, Any] = {"template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": [container]}}}
    if replicas is not None:
        spec["replicas"] = replicas
    metadata = {"name": name, "namespace": "shop", "labels": labels or {}, "annotations": annotations or {}}
    return yaml.safe_dump({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": metadata, "spec": spec}, sort_keys=False)


# --- sniffing -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "data", "claimed"),
    [
        ("deploy.yaml", b"apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\n", True),
        ("svc.yml", b"apiVersion: v1\nkind: Service\n", True),
        ("all.yaml", b"apiVersion: v1\nkind: List\nitems:\n  - apiVersion: apps/v1\n    kind: StatefulSet\n", True),
        ("cm.yaml", b"apiVersion: v1\nkind: ConfigMap\n", False),
        ("catalog.yaml", b"apiVersion: backstage.io/v1alpha1\nkind: Component\n---\napiVersion: v1\nkind: Service\n", False),
        ("catalog-info.yaml", b"apiVersion: backstage.io/v1alpha1\nkind: Component\n", False),
        ("deploy.json", b'{"apiVersion": "apps/v1", "kind": "Deployment"}', False),
        ("notes.yaml", b"kind: Deployment\n", False),
        ("text.yaml", b"apiVersion: apps/v1\ndescription: kind: Deployment\n", False),
    ],
)
def test_sniff_claims_workload_manifests_and_never_backstage_files(path: str, data: bytes, claimed: bool) -> None:
    assert READER.sniff(SourceFile(path=path, data=data)) is claimed


def test_detect_prefers_backstage_for_catalogs_and_picks_kubernetes_for_manifests() -> None:
    topology: list[registry.Reader] = [backstage.READER, READER]
    assert registry.detect(source("shop/checkout.yaml"), topology) is READER
    catalog = Path(__file__).resolve().parents[1] / "fixtures" / "backstage" / "shop" / "catalog-info.yaml"
    assert registry.detect(SourceFile(path="catalog-info.yaml", data=catalog.read_bytes()), topology) is backstage.READER
    assert READER.priority == registry.PRIORITY_TOPOLOGY + 1
    assert not READER.sniff(SourceFile(path="deploy", data=b"", is_directory=True))


def test_neither_yaml_reader_claims_another_readers_fixtures() -> None:
    root = FIXTURES.parent
    others = [p for p in root.rglob("*") if p.is_file() and p.relative_to(root).parts[0] not in ("backstage", "kubernetes")]
    for path in others:
        file = SourceFile(path=path.relative_to(root).as_posix(), data=path.read_bytes(), origin=path)
        assert not READER.sniff(file) and not backstage.READER.sniff(file), file.path


# --- the shop manifests ------------------------------------------------------------------


def test_workloads_become_service_nodes() -> None:
    result = READER.read(source("shop/checkout.yaml"), CTX)
    assert result.errors == [] and result.edges == []
    nodes = {n.id: n for n in result.nodes}
    assert list(nodes) == ["service:default/checkout", "service:shop/orders-db"]
    checkout = nodes["service:default/checkout"]
    assert (checkout.label, checkout.name) == (NodeLabel.SERVICE, "checkout")
    # named by backstage.io/kubernetes-id: the catalog owns the node, the manifest only stands in for it
    assert checkout.placeholder and not nodes["service:shop/orders-db"].placeholder
    assert checkout.props == {
        "namespace": "shop",
        "k8s_kind": "Deployment",
        "workloads": ["Deployment shop/checkout"],
        "replicas": 3,
        "images": [
            "busybox:1.36",
            "registry.example.com/shop/checkout@sha256:4f1c2b3a5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708",
            "envoyproxy/envoy:v1.30.1",
        ],
        "ports": ["http:80/TCP"],
    }
    assert (checkout.provenance.source, checkout.provenance.location) == ("shop/checkout.yaml", "document 1 (line 2)")
    assert nodes["service:shop/orders-db"].props == {
        "namespace": "shop",
        "k8s_kind": "StatefulSet",
        "workloads": ["StatefulSet shop/orders-db"],
        "replicas": 2,
        "images": ["postgres:15.6"],
        "ports": ["5432/TCP"],
    }


def test_env_vars_naming_cluster_hosts_become_hinted_dependencies() -> None:
    result = READER.read(source("shop/checkout.yaml"), CTX)
    at = "document 1 (line 2) spec.template.spec"
    assert hints(result) == [
        ("service:default/checkout", "orders-db", "ORDERS_DB_HOST", f"{at}.initContainers[0].env[0]"),
        ("service:default/checkout", "cart", "CART_URL", f"{at}.containers[0].env[1]"),
        ("service:default/checkout", "payments", "PAYMENTS_ADDR", f"{at}.containers[0].env[2]"),
        ("service:default/checkout", "kafka", "KAFKA_BOOTSTRAP_ADDR", f"{at}.containers[0].env[3]"),
        ("service:default/checkout", "cart-cache", "CACHE_URL", f"{at}.containers[0].env[4]"),
    ]
    first = result.hinted[0]
    assert first.type is RelType.DEPENDS_ON and first.key == HINT_KEY
    assert first.hint == EntityHint.of({"name": "orders-db"}) and first.hint.fallback is None


@pytest.mark.parametrize(
    ("value", "names"),
    [
        ("redis", ["redis"]),
        ("redis:6379", ["redis"]),
        ("orders-db.shop.svc.cluster.local", ["orders-db"]),
        ("orders-db.shop.svc:5432", ["orders-db"]),
        ("http://inventory.shop.svc.cluster.local:8080/v1", ["inventory"]),
        ("postgres://app:p@ss/word@orders-db:5432/orders", ["orders-db"]),
        ("kafka-0.kafka.shop.svc:9092,kafka-1.kafka.shop.svc:9092", ["kafka"]),
        ("Search", ["search"]),
        ("https://api.stripe.com/v1", []),
        ("orders-db.shop", []),
        ("localhost:5432", []),
        ("127.0.0.1", []),
        ("0.0.0.0:8080", []),
        (":8080", []),
        ("$(DB_HOST)", []),
        ("9000", []),
        ("web", []),  # the workload itself
    ],
)
def test_which_env_values_name_a_service(value: str, names: list[str]) -> None:
    result = read_text(deployment({"UPSTREAM_URL": value}))
    assert [name for _, name, _, _ in hints(result)] == names


def test_only_host_url_and_addr_variables_are_read() -> None:
    result = read_text(deployment({"CART_HOST": "cart", "SEARCH_ADDR": "search", "PEER": "peer", "QUEUE_NAME": "orders"}))
    assert [name for _, name, _, _ in hints(result)] == ["cart", "search"]


def test_a_service_object_adds_ports_to_the_workload_it_selects() -> None:
    result = read_text(deployment() + textwrap.dedent("""\
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: web-public, namespace: shop}
        spec:
          selector: {app: web}
          ports: [{name: https, port: 443, protocol: TCP}, {port: 53, protocol: UDP}]
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: web, namespace: other}
        spec:
          ports: [{port: 9999}]
    """))
    assert result.nodes[0].props["ports"] == ["https:443/TCP", "53/UDP"]


def test_a_service_alone_reads_as_nothing_without_error() -> None:
    result = read_text("apiVersion: v1\nkind: Service\nmetadata: {name: cart}\nspec: {ports: [{port: 80}]}\n")
    assert (result.nodes, result.hinted, result.errors) == ([], [], [])


def test_kubernetes_id_label_or_annotation_names_the_catalog_component() -> None:
    by_label = read_text(deployment(labels={"backstage.io/kubernetes-id": "storefront"}))
    assert [n.id for n in by_label.nodes] == ["service:default/storefront"]
    annotated = read_text(deployment(annotations={"backstage.io/kubernetes-id": "component:shop/Web"}))
    assert [n.id for n in annotated.nodes] == ["service:shop/web"]
    plain = read_text(deployment())
    assert [(n.id, n.placeholder) for n in plain.nodes] == [("service:shop/web", False)]
    wrong = read_text(deployment(labels={"backstage.io/kubernetes-id": "group:web"}) + "---\n" + deployment(name="api"))
    assert [str(e) for e in wrong.errors] == [
        "document 1 (line 1): backstage.io/kubernetes-id 'group:web': expected the name of a component"
    ]


def test_workloads_sharing_a_kubernetes_id_merge_into_one_service() -> None:
    label = {"backstage.io/kubernetes-id": "web"}
    api = deployment({"DB_HOST": "db"}, name="web-api", labels=label, replicas=2)
    worker = deployment({"QUEUE_ADDR": "queue"}, name="web-worker", labels=label, replicas=1)
    result = read_text(api + "---\n" + worker)
    assert len(result.nodes) == 1
    node = result.nodes[0]
    assert (node.id, node.name) == ("service:default/web", "web-api")
    assert node.props["workloads"] == ["Deployment shop/web-api", "Deployment shop/web-worker"]
    assert node.props["replicas"] == 3
    assert node.props["images"] == ["example/web-api:1", "example/web-worker:1"]
    assert [name for _, name, _, _ in hints(result)] == ["db", "queue"]


def test_list_items_and_other_kinds() -> None:
    result = READER.read(source("shop/node-exporter.yaml"), CTX)
    assert result.errors == []
    assert [(n.id, n.props["k8s_kind"], n.provenance.location) for n in result.nodes] == [
        ("service:monitoring/node-exporter", "DaemonSet", "document 1 (line 1) items[0]")
    ]
    assert "replicas" not in result.nodes[0].props
    assert hints(result) == [(
        "service:monitoring/node-exporter", "pushgateway", "PUSHGATEWAY_URL",
        "document 1 (line 1) items[0] spec.template.spec.containers[0].env[0]",
    )]


# --- broken input ---------------------------------------------------------------------------


def test_broken_objects_are_recorded_and_the_good_ones_kept() -> None:
    result = READER.read(source("broken/mixed.yaml"), CTX)
    assert [n.id for n in result.nodes] == ["service:default/search"]
    assert [str(e) for e in result.errors] == [
        "document 2 (line 13): metadata: missing (required)",
        "document 3 (line 18): spec.replicas: expected a whole number, got 'three'",
        "document 4 (line 25): metadata.name 'Index_Store': expected a DNS subdomain name (lower-case letters, digits, '-', '.')",
        "document 5 (line 30): kind: missing (required)",
        "document 6 (line 34): spec.template.spec.containers: expected a list of mappings, got a string",
    ]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "k.yaml: the file is empty (expected YAML documents)"),
        (b"\xc3\x28", "k.yaml: byte 0 is not UTF-8"),
        (b"apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: [x}\n", "k.yaml: line 3 column 20: invalid YAML"),
        (
            b"apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec: {replicas: -1}\n",
            "k.yaml: no usable workloads; document 1 (line 1): spec.replicas: expected a whole number, got -1",
        ),
        (
            b"apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: web}\n",
            "k.yaml: a Backstage catalog file, not Kubernetes manifests (use --source-type backstage)",
        ),
        (
            b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web}\n",
            "k.yaml: no Deployment, StatefulSet, DaemonSet or Service objects (found kinds: ConfigMap)",
        ),
    ],
)
def test_unusable_files_raise_format_errors_naming_the_file(data: bytes, message: str) -> None:
    with pytest.raises(FormatError) as caught:
        READER.read(SourceFile(path="k.yaml", data=data), CTX)
    assert str(caught.value).startswith(message)


def test_helm_templates_get_a_hint() -> None:
    with pytest.raises(FormatError, match=r"^broken/helm-deployment\.yaml: line 6 column 7: invalid YAML .*render it with `helm"):
        READER.read(source("broken/helm-deployment.yaml"), CTX)


# --- robustness -----------------------------------------------------------------------------

_FIXTURE_FILES = ["shop/checkout.yaml", "shop/node-exporter.yaml", "broken/mixed.yaml"]
_WINDOWS = fixture_windows([FIXTURES / rel for rel in _FIXTURE_FILES])


def _accepts(data: bytes) -> None:
    with contextlib.suppress(VidyaError):
        READER.read(SourceFile(path="manifests.yaml", data=data), CTX)


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=400))
def test_arbitrary_bytes_raise_only_vidya_errors(data: bytes) -> None:
    _accepts(data)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(_FIXTURE_FILES), st.data())
def test_mutated_fixture_text_raises_only_vidya_errors(rel: str, data: st.DataObject) -> None:
    _accepts(mutate_bytes((FIXTURES / rel).read_bytes(), data))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(_WINDOWS), st.data())
def test_mutated_fixture_values_raise_only_vidya_errors(window: list[Any], data: st.DataObject) -> None:
    documents = mutate(copy.deepcopy(window), data)
    _accepts(yaml.dump_all(documents, Dumper=getattr(yaml, "CSafeDumper", yaml.SafeDumper)).encode())
