"""Larkspur's topology as data: teams, people, domains, systems, components, resources and APIs.

Everything else in the estate (events, alerts, incidents, runbooks) names entities from here,
so this module is the one place a service is declared.
"""

from __future__ import annotations

from gen_components import COMPONENTS, Component
from gen_resources import RESOURCES, Resource

# team -> (display name, parent, members)
TEAMS: dict[str, tuple[str, str, list[str]]] = {
    "larkspur": ("Larkspur", "", []),
    "engineering": ("Engineering", "larkspur", ["Helen Okafor"]),
    "platform-team": ("Platform", "engineering", ["Marta Kowalski", "Tomás Rivera", "Jonas Becker"]),
    "sre-team": ("Site Reliability Engineering", "engineering", ["Priya Raman", "Dmitri Volkov", "Aisha Bello"]),
    "storefront-team": ("Storefront", "engineering", ["Lena Fischer", "Kenji Watanabe"]),
    "commerce-team": ("Checkout & Cart", "engineering", ["Sofia Marino", "Daniel Cho", "Grace Mensah"]),
    "payments-team": ("Payments", "engineering", ["Omar Haddad", "Julia Novak", "Ravi Iyer"]),
    "discovery-team": ("Discovery", "engineering", ["Chloe Dubois", "Mateo García"]),
    "fulfilment-team": ("Fulfilment", "engineering", ["Ingrid Larsen", "Samuel Adeyemi", "Mei Lin"]),
    "identity-team": ("Identity", "engineering", ["Noah Schmidt", "Fatima Zahra"]),
    "growth-team": ("Growth & Messaging", "engineering", ["Lucas Moreau"]),
    "marketplace-team": ("Marketplace", "engineering", ["Ana Costa"]),
    "data-team": ("Data Platform", "engineering", ["Erik Johansson", "Yuki Tanaka"]),
}

# domain -> description
DOMAINS: dict[str, str] = {
    "commerce": "Buying things: cart, checkout and payments.",
    "discovery": "Finding things: catalogue, search, recommendations and reviews.",
    "fulfilment": "Getting things to customers: orders, stock, shipping and returns.",
    "identity": "Customer accounts, sign-in and sessions.",
    "marketplace": "Tools for the sellers who list on Larkspur.",
    "platform": "Shared infrastructure: edge, configuration, flags, messaging and Kafka.",
    "data": "Event collection and analytics.",
}

# system -> (domain, owner, description)
SYSTEMS: dict[str, tuple[str, str, str]] = {
    "edge": ("platform", "platform-team", "CDN, API gateway and the customer-facing front ends."),
    "checkout-system": ("commerce", "commerce-team", "Cart, pricing, promotions, tax and the checkout flow."),
    "payments-system": ("commerce", "payments-team", "Payment authorisation and capture, fraud checks, ledger and payouts."),
    "catalog-system": ("discovery", "discovery-team", "Product catalogue, images and reviews."),
    "search-system": ("discovery", "discovery-team", "Search, indexing and recommendations."),
    "fulfilment-system": ("fulfilment", "fulfilment-team", "Orders, inventory, shipping, returns and warehouse sync."),
    "identity-system": ("identity", "identity-team", "Accounts, authentication and sessions."),
    "platform-core": ("platform", "platform-team", "Configuration, feature flags and the Kafka cluster."),
    "messaging": ("platform", "growth-team", "E-mail, SMS and push notifications."),
    "seller-system": ("marketplace", "marketplace-team", "Seller portal and seller API."),
    "analytics": ("data", "data-team", "Clickstream collection, ETL and the warehouse."),
}

__all__ = ["COMPONENTS", "RESOURCES", "Component", "Resource"]

BY_NAME: dict[str, Component | Resource] = {e.name: e for e in [*COMPONENTS, *RESOURCES]}
COMPONENT_NAMES = [c.name for c in COMPONENTS]
API_PROVIDER: dict[str, str] = {c.api: c.name for c in COMPONENTS if c.api}


def kind_of(name: str) -> str:
    return "component" if isinstance(BY_NAME[name], Component) else "resource"


def ref(name: str) -> str:
    """The Backstage entity reference of a component or resource."""
    return f"{kind_of(name)}:default/{name}"


def depends_on(name: str) -> tuple[str, ...]:
    return BY_NAME[name].depends_on


def reaches(src: str, dst: str) -> bool:
    """Whether ``src`` depends on ``dst`` (or is it), following dependsOn transitively."""
    seen, todo = set(), [src]
    while todo:
        cur = todo.pop()
        if cur == dst:
            return True
        if cur not in seen:
            seen.add(cur)
            todo.extend(depends_on(cur))
    return False


def consumed_apis(c: Component) -> list[str]:
    return [f"api:default/{BY_NAME[d].api}" for d in c.depends_on if isinstance(BY_NAME[d], Component) and BY_NAME[d].api]  # type: ignore[union-attr]


def people() -> list[tuple[str, str]]:
    """(person, team) for everyone in the org."""
    return [(p, team) for team, (_, _, members) in TEAMS.items() for p in members]


def owner_of(name: str) -> str:
    return BY_NAME[name].owner


def team_members(team: str) -> list[str]:
    return TEAMS[team][2]
