"""Routine changes: the configuration keys, feature flags and migrations Larkspur changes every week.

Keys that an incident changes are not listed here, so the routine history never touches them
and their old/new values stay exactly what the incident says.
"""

from __future__ import annotations

from gen_scenarios import t

#: service -> (Consul key under the service's prefix, values it takes)
CONFIG_KEYS: dict[str, list[tuple[str, list[object]]]] = {
    "checkout": [
        ("http.client.payments.timeout_ms", [3000, 4000, 5000]),
        ("order.reservation_ttl_seconds", [600, 900]),
        ("max_items_per_order", [50, 100]),
    ],
    "pricing": [("fx.refresh_interval_seconds", [60, 120, 300]), ("rules.eval_timeout_ms", [50, 80])],
    "payments": [
        ("card-processor.pool.max_connections", [64, 96, 128]),
        ("risk.review_threshold", [0.7, 0.75, 0.8]),
        ("capture.batch_size", [100, 200]),
    ],
    "api-gateway": [
        ("timeouts.upstream_ms", [5000, 8000]),
        ("retry.max_attempts", [1, 2]),
        ("cors.max_age_seconds", [600, 3600]),
    ],
    "search": [("query.max_terms", [32, 64]), ("index.refresh_interval", ["1s", "5s"]), ("suggest.min_prefix", [2, 3])],
    "recommendations": [("model.batch_size", [32, 64]), ("candidates.limit", [200, 400])],
    "cart": [("cart.ttl_days", [30, 60]), ("merge_on_login", [True, False])],
    "auth": [("token.ttl_minutes", [15, 30]), ("jwks.cache_seconds", [300, 600])],
    "orders": [("export.page_size", [500, 1000]), ("cancel.window_minutes", [30, 60])],
    "shipping": [("label.batch_size", [20, 50]), ("carrier.dhl.enabled", [True, False])],
    "notifications": [("email.rate_per_second", [50, 100]), ("sms.primary_carrier", ["twilio", "sinch"])],
    "fraud": [("score.timeout_ms", [150, 250])],
    "inventory": [("reservation.ttl_seconds", [900, 1200])],
    "web-frontend": [("ssr.cache_seconds", [30, 60]), ("images.quality", [75, 82])],
    "mobile-bff": [("min_app_version.ios", ["5.12.0", "5.13.0"]), ("min_app_version.android", ["5.8.0", "5.9.0"])],
    "tax": [("provider.timeout_ms", [800, 1200])],
    "ledger": [("posting.batch_size", [500, 1000])],
    "promotions": [("voucher.max_per_order", [1, 2])],
}
#: resource -> (Terraform-managed setting, values)
RESOURCE_CONFIG_KEYS: dict[str, list[tuple[str, list[object]]]] = {
    "catalog-db": [("work_mem", ["16MB", "32MB"]), ("autovacuum_vacuum_scale_factor", [0.05, 0.1])],
    "payments-db": [("statement_timeout", ["30s", "60s"])],
    "kafka-main": [("log.retention.hours", [72, 168]), ("num.io.threads", [8, 16])],
    "search-es": [("indices.memory.index_buffer_size", ["10%", "15%"])],
    "session-cache": [("maxmemory-policy", ["volatile-lru", "allkeys-lru"])],
    "analytics-warehouse": [("slot_reservation", [500, 1000])],
}
#: service -> flags it evaluates (boolean flags, or rollout percentages when the values are ints)
FLAGS: dict[str, list[tuple[str, list[object]]]] = {
    "web-frontend": [
        ("web.dark-mode", [False, True]),
        ("web.sticky-basket", [False, True]),
        ("web.reviews-carousel", [0, 25, 50, 100]),
    ],
    "mobile-bff": [("app.new-onboarding", [0, 10, 50, 100]), ("app.apple-pay-button", [False, True])],
    "checkout": [("checkout.gift-messages", [False, True]), ("checkout.address-autocomplete", [0, 50, 100])],
    "recommendations": [("recs.trending-row", [False, True])],
    "search": [("search.typo-tolerance", [False, True]), ("search.sponsored-listings", [0, 10, 25])],
    "promotions": [("promotions.bundle-discounts", [False, True]), ("promotions.flash-sale-banner", [False, True])],
    "payments": [("payments.3ds-frictionless", [False, True])],
    "catalog": [("catalog.variant-grouping", [False, True])],
    "notifications": [("notifications.push-digest", [False, True])],
}
#: database -> migration descriptions routine releases apply
MIGRATIONS: dict[str, list[str]] = {
    "orders-db": [
        "Add orders.gift_message",
        "Add index on order_items(product_id)",
        "Add table order_notes",
        "Drop unused column orders.legacy_ref",
    ],
    "payments-db": ["Add payments.wallet_type", "Add table refund_reasons", "Add index on captures(created_at)"],
    "accounts-db": ["Add accounts.marketing_consent_at", "Add table login_devices"],
    "catalog-db": [
        "Add products.brand_id",
        "Add table product_badges",
        "Add index on reviews(product_id, created_at)",
        "Add listings.handling_days",
    ],
    "inventory-db": ["Add warehouses.timezone", "Add table stock_snapshots"],
    "ledger-db": ["Add entries.reference_type", "Partition entries by month"],
    "pricing-db": ["Add price_rules.priority", "Add table currency_overrides", "Add vouchers.max_uses"],
    "fulfilment-db": ["Add shipments.carrier_service", "Add table return_labels"],
}
#: the first migration version each database is on at the start of the window (before pinning)
MIGRATION_START: dict[str, int] = {
    "payments-db": 126,
    "accounts-db": 51,
    "catalog-db": 208,
    "inventory-db": 54,
    "ledger-db": 33,
    "pricing-db": 70,
    "fulfilment-db": 41,
}

#: changes that follow up on incidents or roll features out: (kind, target, time, fields)
EXTRA_CHANGES: list[tuple[str, str, object, dict[str, object]]] = [
    (
        "migration",
        "catalog-db",
        t(10, 15, 1, 30),
        {"script": "backfill_products_search_vector_batched", "description": "Backfill products.search_vector in 5k-row batches"},
    ),
    (
        "migration",
        "inventory-db",
        t(10, 27, 2, 0),
        {
            "script": "add_fk_reservations_warehouses_not_valid",
            "description": "Add foreign key reservations -> warehouses NOT VALID, then VALIDATE",
        },
    ),
    (
        "migration",
        "orders-db",
        t(11, 7, 2, 0),
        {
            "script": "index_orders_created_at_concurrently",
            "description": "CREATE INDEX CONCURRENTLY orders(seller_id, created_at)",
        },
    ),
    (
        "migration",
        "payments-db",
        t(11, 17, 11, 45),
        {"script": "backfill_refunds_reason_code", "description": "Backfill refunds.reason_code in batches"},
    ),
    ("flag", "checkout", t(11, 6, 10, 0), {"key": "checkout.one-click-pay", "old": 0, "new": 10}),
    ("flag", "checkout", t(11, 12, 10, 30), {"key": "checkout.one-click-pay", "old": 10, "new": 50}),
    ("flag", "checkout", t(11, 17, 10, 0), {"key": "checkout.one-click-pay", "old": 50, "new": 100}),
    ("flag", "payments", t(11, 2, 10, 0), {"key": "payments.network-tokens", "old": False, "new": True}),
    ("flag", "recommendations", t(10, 8, 10, 0), {"key": "recs.model-v3", "old": 10, "new": 25}),
    ("flag", "recommendations", t(10, 13, 10, 0), {"key": "recs.model-v3", "old": 25, "new": 50}),
    ("flag", "recommendations", t(10, 20, 10, 0), {"key": "recs.model-v3", "old": 50, "new": 100}),
    ("flag", "web-frontend", t(10, 7, 9, 30), {"key": "web.new-product-page", "old": 0, "new": 10}),
    ("flag", "web-frontend", t(10, 14, 9, 30), {"key": "web.new-product-page", "old": 10, "new": 50}),
    ("flag", "web-frontend", t(10, 21, 9, 30), {"key": "web.new-product-page", "old": 50, "new": 100}),
]

#: (time, type predicate, environment, what happened)
ENVIRONMENT_EVENTS: list[tuple[object, str, str, str]] = [
    (t(9, 22, 9, 0), "modified", "production", "Kubernetes 1.30 upgrade of the prod-eu-1 cluster"),
    (t(9, 28, 13, 0), "created", "preview-chk-88", "Preview environment for CHK-88"),
    (t(10, 2, 16, 0), "deleted", "preview-chk-88", "Preview environment for CHK-88 removed"),
    (t(10, 12, 9, 0), "modified", "staging", "Staging moved to the prod-eu-1 node image"),
    (t(11, 2, 8, 0), "modified", "production", "Node pool prod-eu-1-general moved to c7i instances"),
    (t(11, 9, 12, 0), "created", "loadtest", "Load test environment for Singles Day"),
    (t(11, 13, 18, 0), "deleted", "loadtest", "Load test environment removed"),
]
