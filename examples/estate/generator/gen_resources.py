"""Larkspur's data stores, queues and external dependencies (Backstage Resources) and their instances."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Resource:
    name: str
    system: str
    owner: str
    type: str
    description: str
    instances: tuple[str, ...] = ()
    depends_on: tuple[str, ...] = ()
    extra: dict[str, str] = field(default_factory=dict)


_PG = "postgres"


def _pg(name: str, system: str, owner: str, n: int, desc: str) -> Resource:
    return Resource(
        name,
        system,
        owner,
        "database",
        desc,
        tuple(f"{name}-{i}.prod:5432" for i in range(1, n + 1)),
        extra={"engine": "postgresql-15", "ha": "patroni"},
    )


def _redis(name: str, system: str, owner: str, desc: str) -> Resource:
    return Resource(
        name, system, owner, "cache", desc, tuple(f"{name}-{i}.prod:6379" for i in range(3)), extra={"engine": "redis-7.2"}
    )


def _topic(name: str, system: str, owner: str, desc: str) -> Resource:
    return Resource(name, system, owner, "kafka-topic", desc, (), ("kafka-main",), extra={"partitions": "24"})


RESOURCES: list[Resource] = [
    _pg("orders-db", "fulfilment-system", "fulfilment-team", 2, "Postgres cluster for orders."),
    _pg("payments-db", "payments-system", "payments-team", 2, "Postgres cluster for payments and refunds."),
    _pg("accounts-db", "identity-system", "identity-team", 2, "Postgres cluster for customer accounts."),
    _pg("catalog-db", "catalog-system", "discovery-team", 3, "Postgres cluster for products and reviews."),
    _pg("inventory-db", "fulfilment-system", "fulfilment-team", 2, "Postgres cluster for stock and reservations."),
    _pg("ledger-db", "payments-system", "payments-team", 2, "Postgres cluster for the ledger."),
    _pg("pricing-db", "checkout-system", "commerce-team", 2, "Postgres cluster for price rules and promotions."),
    _pg("fulfilment-db", "fulfilment-system", "fulfilment-team", 2, "Postgres cluster for shipments and returns."),
    _pg("platform-db", "platform-core", "platform-team", 2, "Postgres cluster behind the config service."),
    _redis("session-cache", "identity-system", "identity-team", "Redis holding sign-in sessions."),
    _redis("cart-cache", "checkout-system", "commerce-team", "Redis holding active carts."),
    _redis("pricing-cache", "checkout-system", "commerce-team", "Redis caching computed prices."),
    _redis("rate-limit-cache", "edge", "platform-team", "Redis counters for gateway rate limits."),
    _redis("fraud-cache", "payments-system", "payments-team", "Redis holding fraud features per customer."),
    Resource(
        "search-es",
        "search-system",
        "discovery-team",
        "search-cluster",
        "Elasticsearch 8 cluster for product search.",
        tuple(f"search-es-{i}.prod:9200" for i in range(3)),
        extra={"engine": "elasticsearch-8.15"},
    ),
    Resource(
        "kafka-main",
        "platform-core",
        "platform-team",
        "kafka-cluster",
        "The main Kafka cluster (3 brokers).",
        tuple(f"kafka-{i}.prod:9092" for i in range(3)),
        extra={"engine": "kafka-3.7"},
    ),
    _topic("orders-events", "fulfilment-system", "fulfilment-team", "Order lifecycle events."),
    _topic("payment-events", "payments-system", "payments-team", "Payment authorised/captured/refunded events."),
    _topic("inventory-events", "fulfilment-system", "fulfilment-team", "Stock level changes."),
    _topic("catalog-events", "catalog-system", "discovery-team", "Product created/updated events."),
    _topic("notification-requests", "messaging", "growth-team", "Requests to notify a customer."),
    _topic("clickstream", "analytics", "data-team", "Page views and clicks from web and apps."),
    Resource(
        "product-images",
        "catalog-system",
        "discovery-team",
        "s3-bucket",
        "S3 bucket with original product images.",
        extra={"bucket": "larkspur-prod-product-images"},
    ),
    Resource(
        "card-processor",
        "payments-system",
        "payments-team",
        "external-api",
        "Northwind Payments, the card acquirer (external).",
        ("api.northwind-payments.example:443",),
    ),
    Resource(
        "analytics-warehouse",
        "analytics",
        "data-team",
        "data-warehouse",
        "The analytics warehouse (BigQuery).",
        extra={"dataset": "larkspur_prod"},
    ),
]
