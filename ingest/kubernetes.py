"""Kubernetes manifests -> the services they run, and what their environment says they call.

A Deployment, StatefulSet or DaemonSet becomes a service node. Its id comes
from the ``backstage.io/kubernetes-id`` label (or annotation), so it meets the
catalog's component of that name; without one it is
``service:<namespace>/<name>``. Container environment variables ending in
``_HOST``, ``_URL`` or ``_ADDR`` whose value names an in-cluster host become
``DEPENDS_ON`` edges the loader resolves by name::

    env:
      - name: ORDERS_DB_HOST
        value: orders-db.shop.svc.cluster.local   # -> DEPENDS_ON {name: orders-db}

A Service object adds its ports to the workload it selects in the same file.
Other kinds are ignored. See docs/formats/kubernetes.md.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, cast

from graph.errors import FormatError, VidyaError
from graph.model import Node, Props, Provenance
from graph.schema import NodeLabel, RelType, label_of
from ingest import registry
from ingest.ids import entity_id
from ingest.records import EntityHint, HintedEdge, ReadContext, ReadResult, RecordError, SourceFile
from ingest.yaml_fields import list_field, mapping_field, read_yaml_documents, string_field, type_name

WORKLOAD_KINDS = frozenset({"Deployment", "StatefulSet", "DaemonSet"})
KUBERNETES_ID = "backstage.io/kubernetes-id"
ENV_SUFFIXES = ("_HOST", "_URL", "_ADDR")
#: the key of hinted edges, so they never collide with a catalog's own DEPENDS_ON edge
HINT_KEY = "k8s-env"
SNIFF_BYTES = 16_384

_SNIFF_KIND = re.compile(rb"^[ \t-]*kind:[ \t]*[\"']?(?:Deployment|StatefulSet|DaemonSet|Service)[\"']?[ \t\r]*(?:#.*)?$", re.M)
_SNIFF_API = re.compile(rb"^[ \t-]*apiVersion:", re.M)
_SNIFF_BACKSTAGE = re.compile(rb"apiVersion[\"']?[ \t]*:[ \t]*[\"']?backstage\.io/")
_OBJECT_NAME = re.compile(r"^(?=.{1,253}$)[a-z0-9](?:[-a-z0-9.]*[a-z0-9])?$")
_DNS_LABEL = re.compile(r"^[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?$")
_LOCAL_HOSTS = frozenset({"localhost"})

log = logging.getLogger(__name__)


@dataclass(slots=True)
class Workload:
    """A workload being assembled; workloads sharing a kubernetes-id merge into one service."""

    id: str
    name: str
    namespace: str
    kind: str
    where: str
    pod_labels: dict[str, str]
    #: the id came from ``backstage.io/kubernetes-id``: the node belongs to the catalog
    catalog: bool = False
    names: list[str] = field(default_factory=list)
    images: list[str] = field(default_factory=list)
    replicas: int | None = None
    ports: list[str] = field(default_factory=list)
    #: (host name, env var, field path)
    hosts: list[tuple[str, str, str]] = field(default_factory=list)

    def merge(self, other: Workload) -> None:
        self.catalog = self.catalog or other.catalog
        self.names += other.names
        self.images += [image for image in other.images if image not in self.images]
        if other.replicas is not None:
            self.replicas = (self.replicas or 0) + other.replicas
        self.hosts += other.hosts

    def props(self) -> Props:
        values: dict[str, object] = {
            "namespace": self.namespace,
            "k8s_kind": self.kind,
            "workloads": self.names,
            "replicas": self.replicas,
            "images": self.images or None,
            "ports": self.ports or None,
        }
        return cast(Props, {key: value for key, value in values.items() if value is not None})

    def node(self, prov: Provenance) -> Node:
        # a catalog component's node is a placeholder here, so it never replaces what the catalog says
        return Node(self.id, NodeLabel.SERVICE, prov, name=self.name, props=self.props(), placeholder=self.catalog)


@dataclass(frozen=True, slots=True)
class ServiceObject:
    name: str
    namespace: str
    selector: dict[str, str]
    ports: list[str]


def service_hosts(value: str) -> list[str]:
    """The in-cluster service names a ``host``, ``host:port`` or URL value (or a comma list of them) points at."""
    names = []
    for part in value.split(","):
        text = part.strip()
        text = text.split("://", 1)[1] if "://" in text else text
        # userinfo first: an unescaped '/' or '@' in a password is common, an '@' in a path is not
        host = text.rsplit("@", 1)[-1].split("/", 1)[0].split(":", 1)[0].lower()
        labels = host.split(".")
        # name | name.namespace.svc[.cluster.local] | pod.name.namespace.svc... (a StatefulSet member)
        if len(labels) == 1 or labels[2:3] == ["svc"]:
            name = labels[0]
        elif labels[3:4] == ["svc"]:
            name = labels[1]
        else:
            continue
        if _DNS_LABEL.match(name) and name not in _LOCAL_HOSTS and name not in names:
            names.append(name)
    return names


def _string_map(mapping: dict[str, Any], key: str, where: str) -> dict[str, str]:
    return {k: str(v) for k, v in mapping_field(mapping, key, where).items() if isinstance(k, str) and v is not None}


def _workload_id(metadata: dict[str, Any], pod_labels: dict[str, str], namespace: str, name: str) -> tuple[str, bool]:
    """The workload's node id, and whether it names a catalog component (``backstage.io/kubernetes-id``)."""
    declared = (
        _string_map(metadata, "labels", "metadata.").get(KUBERNETES_ID)
        or _string_map(metadata, "annotations", "metadata.").get(KUBERNETES_ID)
        or pod_labels.get(KUBERNETES_ID)
    )
    if not declared:
        return entity_id(f"component:{namespace}/{name}"), False
    ident = entity_id(declared, default_kind="component")
    if label_of(ident) is not NodeLabel.SERVICE:
        raise FormatError(f"{KUBERNETES_ID} {declared[:80]!r}: expected the name of a component")
    return ident, True


def _container_hosts(containers: list[dict[str, Any]], where: str) -> list[tuple[str, str, str]]:
    hosts = []
    for index, container in enumerate(containers):
        for number, var in enumerate(list_field(container, "env", f"{where}[{index}].", dict)):
            name, value = var.get("name"), var.get("value")
            if not isinstance(name, str) or not isinstance(value, str) or not name.upper().endswith(ENV_SUFFIXES):
                continue
            at = f"{where}[{index}].env[{number}]"
            hosts += [(host, name, at) for host in service_hosts(value)]
    return hosts


def _pod_containers(pod_spec: dict[str, Any]) -> list[tuple[str, list[dict[str, Any]]]]:
    """(field path, containers) for the init containers and the containers of a pod template."""
    where = "spec.template.spec."
    return [(f"{where}{key}", list_field(pod_spec, key, where, dict)) for key in ("initContainers", "containers")]


def _replicas(spec: dict[str, Any]) -> int | None:
    replicas = spec.get("replicas")
    if replicas is not None and (isinstance(replicas, bool) or not isinstance(replicas, int) or replicas < 0):
        raise FormatError(f"spec.replicas: expected a whole number, got {replicas!r:.80}")
    return replicas


def parse_workload(doc: dict[str, Any], kind: str, where: str) -> Workload:
    metadata = mapping_field(doc, "metadata", "", required=True)
    name = string_field(metadata, "name", "metadata.", required=True) or ""
    if not _OBJECT_NAME.match(name):
        raise FormatError(f"metadata.name {name[:80]!r}: expected a DNS subdomain name (lower-case letters, digits, '-', '.')")
    namespace = (string_field(metadata, "namespace", "metadata.") or "default").lower()
    spec = mapping_field(doc, "spec", "")
    template = mapping_field(spec, "template", "spec.")
    pod_labels = _string_map(mapping_field(template, "metadata", "spec.template."), "labels", "spec.template.metadata.")
    groups = _pod_containers(mapping_field(template, "spec", "spec.template."))
    images = [c.get("image") for _, containers in groups for c in containers]
    hosts = [host for at, containers in groups for host in _container_hosts(containers, at)]
    ident, catalog = _workload_id(metadata, pod_labels, namespace, name)
    return Workload(
        id=ident,
        catalog=catalog,
        name=name,
        namespace=namespace,
        kind=kind,
        where=where,
        pod_labels=pod_labels,
        names=[f"{kind} {namespace}/{name}"],
        images=list(dict.fromkeys(image for image in images if isinstance(image, str) and image)),
        replicas=_replicas(spec),
        hosts=[host for host in hosts if host[0] != name],
    )


def parse_service(doc: dict[str, Any]) -> ServiceObject:
    metadata = mapping_field(doc, "metadata", "", required=True)
    name = string_field(metadata, "name", "metadata.", required=True) or ""
    namespace = (string_field(metadata, "namespace", "metadata.") or "default").lower()
    spec = mapping_field(doc, "spec", "")
    ports = []
    for index, port in enumerate(list_field(spec, "ports", "spec.", dict)):
        number, protocol, port_name = port.get("port"), port.get("protocol") or "TCP", port.get("name")
        if isinstance(number, bool) or not isinstance(number, int):
            raise FormatError(f"spec.ports[{index}].port: expected a port number, got {number!r:.80}")
        ports.append(f"{port_name}:{number}/{protocol}" if isinstance(port_name, str) and port_name else f"{number}/{protocol}")
    return ServiceObject(name, namespace, _string_map(spec, "selector", "spec."), ports)


@dataclass(slots=True)
class _Found:
    workloads: dict[str, Workload] = field(default_factory=dict)
    services: list[ServiceObject] = field(default_factory=list)
    ignored: Counter[str] = field(default_factory=Counter)
    errors: list[RecordError] = field(default_factory=list)


def _read_object(doc: object, where: str, found: _Found) -> None:
    if not isinstance(doc, dict):
        raise FormatError(f"expected a mapping with apiVersion and kind, got {type_name(doc)}")
    api_version = string_field(doc, "apiVersion", "", required=True) or ""
    kind = string_field(doc, "kind", "", required=True) or ""
    if api_version.startswith("backstage.io/"):
        found.ignored["Backstage " + kind] += 1
    elif kind == "List" and api_version == "v1":
        for index, item in enumerate(list_field(doc, "items", "", object)):
            _read_guarded(item, f"{where} items[{index}]", found)
    elif kind in WORKLOAD_KINDS:
        workload = parse_workload(doc, kind, where)
        if workload.id in found.workloads:
            found.workloads[workload.id].merge(workload)
        else:
            found.workloads[workload.id] = workload
    elif kind == "Service" and api_version == "v1":
        found.services.append(parse_service(doc))
    else:
        found.ignored[kind] += 1


def _read_guarded(doc: object, where: str, found: _Found) -> None:
    try:
        _read_object(doc, where, found)
    except VidyaError as exc:
        found.errors.append(RecordError(where, str(exc)))


def _attach_ports(found: _Found) -> None:
    for service in found.services:
        for workload in found.workloads.values():
            same_name = workload.name == service.name
            selected = bool(service.selector) and service.selector.items() <= workload.pod_labels.items()
            if workload.namespace == service.namespace and (same_name or selected):
                workload.ports += [port for port in service.ports if port not in workload.ports]


def _records(file: SourceFile, ctx: ReadContext, workloads: list[Workload]) -> ReadResult:
    result = ReadResult()
    for workload in workloads:
        result.nodes.append(workload.node(ctx.provenance(file, workload.where)))
        seen: set[str] = set()
        for host, var, at in workload.hosts:
            if host in seen:
                continue
            seen.add(host)
            hint = EntityHint.of({"name": host})
            hinted_prov = ctx.provenance(file, f"{workload.where} {at}")
            result.hinted.append(HintedEdge(RelType.DEPENDS_ON, workload.id, hint, hinted_prov, {"env_var": var}, HINT_KEY))
    return result


class KubernetesReader:
    name = "kubernetes"
    description = "Kubernetes manifests: Deployments, StatefulSets and DaemonSets as services, env vars as dependencies"
    priority = registry.PRIORITY_TOPOLOGY + 1
    version = "1"

    def sniff(self, file: SourceFile) -> bool:
        if file.is_directory or file.suffix not in (".yaml", ".yml"):
            return False
        head = file.data[:SNIFF_BYTES]
        return bool(_SNIFF_API.search(head) and _SNIFF_KIND.search(head) and not _SNIFF_BACKSTAGE.search(head))

    def read(self, file: SourceFile, ctx: ReadContext) -> ReadResult:
        try:
            documents = read_yaml_documents(file)
        except FormatError as exc:
            if b"{{" not in file.data:
                raise
            raise FormatError(f"{exc}; this looks like a Helm template: render it with `helm template` first") from None
        found = _Found()
        for number, (line, doc) in enumerate(documents, start=1):
            if doc is not None:
                _read_guarded(doc, f"document {number} (line {line})", found)
        _attach_ports(found)
        if found.ignored:
            log.debug("%s: ignored %s", file.path, ", ".join(f"{n} {kind}" for kind, n in sorted(found.ignored.items())))
        if not found.workloads and (found.errors or not found.services):
            raise _nothing_usable(file, found)
        result = _records(file, ctx, list(found.workloads.values()))
        result.errors = found.errors
        return result


def _nothing_usable(file: SourceFile, found: _Found) -> FormatError:
    if found.errors:
        return FormatError(f"{file.path}: no usable workloads; {found.errors[0]}")
    if any(kind.startswith("Backstage ") for kind in found.ignored):
        return FormatError(f"{file.path}: a Backstage catalog file, not Kubernetes manifests (use --source-type backstage)")
    kinds = ", ".join(sorted(found.ignored)) or "none"
    return FormatError(f"{file.path}: no Deployment, StatefulSet, DaemonSet or Service objects (found kinds: {kinds})")


READER = KubernetesReader()
