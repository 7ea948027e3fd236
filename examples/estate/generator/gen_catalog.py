"""Write Larkspur's Backstage catalog: a root Location and one file per area."""

from __future__ import annotations

from typing import Any

from gen_common import EMAIL_DOMAIN, GIT_REPO, GITHUB_ORG, RUNBOOK_BASE, Writer, dump_yaml_docs, email, pd_id, username
from gen_topology import (
    API_PROVIDER,
    COMPONENTS,
    DOMAINS,
    RESOURCES,
    SYSTEMS,
    TEAMS,
    Component,
    Resource,
    consumed_apis,
    people,
    ref,
)

API_VERSION = "backstage.io/v1alpha1"
#: services whose code lives in the provenance monorepo built by make_git_repo.py
MONOREPO_SERVICES = ("payments", "checkout", "orders")
#: the runbook each service links to (file names under runbooks/)
SERVICE_RUNBOOKS: dict[str, str] = {
    "checkout": "checkout-high-latency.md",
    "payments": "payments-error-rate.md",
    "cart": "cart-high-error-rate.md",
    "orders": "orders-high-latency.md",
    "api-gateway": "api-gateway-high-5xx.md",
    "auth": "auth-login-failures.md",
    "search": "search-high-latency.md",
    "recommendations": "recommendations-high-latency.md",
    "web-frontend": "web-frontend-high-latency.md",
    "mobile-bff": "mobile-bff-high-error-rate.md",
    "inventory": "inventory-reservation-failures.md",
    "notifications": "notifications-send-failures.md",
    "shipping": "kafka-consumer-lag.md",
    "ledger": "kafka-consumer-lag.md",
}
FILES: dict[str, list[str]] = {
    "components-edge.yaml": ["edge"],
    "components-commerce.yaml": ["checkout-system", "payments-system"],
    "components-discovery.yaml": ["catalog-system", "search-system"],
    "components-fulfilment.yaml": ["fulfilment-system"],
    "components-platform.yaml": ["identity-system", "platform-core", "messaging", "seller-system", "analytics"],
}


def _meta(name: str, description: str, **extra: Any) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "description": description}
    meta.update({k: v for k, v in extra.items() if v})
    return meta


def _org() -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = []
    for team, (display, parent, members) in TEAMS.items():
        spec: dict[str, Any] = {
            "type": "organization" if not parent else ("department" if parent == "larkspur" else "team"),
            "profile": {"displayName": display, "email": f"{team}@{EMAIL_DOMAIN}"},
            "children": sorted(t for t, (_, p, _) in TEAMS.items() if p == team),
        }
        if parent:
            spec["parent"] = parent
        spec["members"] = [username(m) for m in members]
        docs.append({"apiVersion": API_VERSION, "kind": "Group", "metadata": _meta(team, f"The {display} group."), "spec": spec})
    for person, team in people():
        docs.append(
            {
                "apiVersion": API_VERSION,
                "kind": "User",
                "metadata": {"name": username(person)},
                "spec": {"profile": {"displayName": person, "email": email(person)}, "memberOf": [team]},
            }
        )
    return docs


def _domains_and_systems() -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = []
    owners = {d: next(o for (dom, o, _) in SYSTEMS.values() if dom == d) for d in DOMAINS}
    for domain, desc in DOMAINS.items():
        docs.append(
            {
                "apiVersion": API_VERSION,
                "kind": "Domain",
                "metadata": _meta(domain, desc),
                "spec": {"owner": f"group:default/{owners[domain]}"},
            }
        )
    for system, (domain, owner, desc) in SYSTEMS.items():
        docs.append(
            {
                "apiVersion": API_VERSION,
                "kind": "System",
                "metadata": _meta(system, desc),
                "spec": {"owner": f"group:default/{owner}", "domain": f"domain:default/{domain}"},
            }
        )
    return docs


def _slug(c: Component) -> str:
    return f"{GITHUB_ORG}/{GIT_REPO}" if c.name in MONOREPO_SERVICES else f"{GITHUB_ORG}/{c.name}"


def _component(c: Component) -> dict[str, Any]:
    annotations = {
        "backstage.io/kubernetes-id": c.name,
        "backstage.io/kubernetes-namespace": c.namespace,
        "github.com/project-slug": _slug(c),
        "pagerduty.com/service-id": pd_id("service", c.name),
        "argocd/app-name": f"{c.name}-prod",
        "prometheus.io/alert-selector": f'service="{c.name}"',
    }
    links = [
        {
            "url": f"https://grafana.larkspur.internal/d/{c.name}/{c.name}-overview",
            "title": "Grafana dashboard",
            "icon": "dashboard",
        }
    ]
    if c.name in SERVICE_RUNBOOKS:
        links.append({"url": f"{RUNBOOK_BASE}/{SERVICE_RUNBOOKS[c.name]}", "title": "Runbook", "icon": "docs"})
    spec: dict[str, Any] = {
        "type": c.type,
        "lifecycle": "production",
        "owner": f"group:default/{c.owner}",
        "system": f"system:default/{c.system}",
    }
    if c.depends_on:
        spec["dependsOn"] = [ref(d) for d in c.depends_on]
    if c.api:
        spec["providesApis"] = [f"api:default/{c.api}"]
    if consumed := consumed_apis(c):
        spec["consumesApis"] = consumed
    return {
        "apiVersion": API_VERSION,
        "kind": "Component",
        "metadata": _meta(c.name, c.description, tags=[c.language, c.namespace], annotations=annotations, links=links),
        "spec": spec,
    }


def _api(c: Component) -> dict[str, Any]:
    title = c.api.replace("-", " ").title().replace("Api", "API")
    if c.api_type == "grpc":
        package = c.name.replace("-", "_")
        definition = (
            f'syntax = "proto3";\npackage larkspur.{package}.v1;\n\n'
            f"service {title.replace(' ', '').replace('API', '')}Service {{\n"
            f"  rpc Get (Get{title.replace(' ', '')}Request) returns (Get{title.replace(' ', '')}Response);\n}}\n"
        )
    else:
        definition = (
            f"openapi: 3.0.3\ninfo:\n  title: {title}\n  version: 1.0.0\n"
            f"servers:\n  - url: https://{c.name}.{c.namespace}.svc.cluster.local\n"
            f"paths:\n  /v1/{c.name}:\n    get:\n      summary: List {c.name} resources\n"
            f"      responses:\n        '200':\n          description: OK\n"
        )
    return {
        "apiVersion": API_VERSION,
        "kind": "API",
        "metadata": _meta(c.api, f"The API that {c.name} provides."),
        "spec": {
            "type": c.api_type,
            "lifecycle": "production",
            "owner": f"group:default/{c.owner}",
            "system": f"system:default/{c.system}",
            "definition": definition,
        },
    }


def _resource(r: Resource) -> dict[str, Any]:
    annotations: dict[str, str] = {}
    if r.instances:
        annotations["vidya.dev/instances"] = ",".join(r.instances)
    annotations.update({f"larkspur.dev/{k}": v for k, v in r.extra.items()})
    spec: dict[str, Any] = {"type": r.type, "owner": f"group:default/{r.owner}", "system": f"system:default/{r.system}"}
    if r.depends_on:
        spec["dependsOn"] = [ref(d) for d in r.depends_on]
    return {
        "apiVersion": API_VERSION,
        "kind": "Resource",
        "metadata": _meta(r.name, r.description, annotations=annotations),
        "spec": spec,
    }


def write_catalog(w: Writer) -> None:
    files: dict[str, list[dict[str, Any]]] = {"org.yaml": _org(), "systems.yaml": _domains_and_systems()}
    for file, systems in FILES.items():
        comps = [c for c in COMPONENTS if c.system in systems]
        files[file] = [_component(c) for c in comps]
    files["apis.yaml"] = [_api(c) for c in COMPONENTS if c.api]
    files["resources.yaml"] = [_resource(r) for r in RESOURCES]
    assert sorted(API_PROVIDER.values()) == sorted(c.name for c in COMPONENTS if c.api)
    root = {
        "apiVersion": API_VERSION,
        "kind": "Location",
        "metadata": {"name": "larkspur-catalog", "description": "Everything in Larkspur's software catalog."},
        "spec": {"type": "file", "targets": [f"./{name}" for name in files]},
    }
    w.text("catalog/catalog-info.yaml", dump_yaml_docs([root]))
    for name, docs in files.items():
        w.text(f"catalog/{name}", dump_yaml_docs(docs))
