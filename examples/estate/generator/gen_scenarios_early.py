"""Incident scenarios of late September to mid October 2026; see ``gen_scenarios`` for the fields."""

from __future__ import annotations

from gen_scenarios import Action, Scenario, t

X = Action
EARLY: list[Scenario] = [
    Scenario(
        "payments-pool-exhaustion",
        t(9, 23, 14, 7),
        "deploy",
        "payments",
        "payments",
        "PaymentsErrorRate",
        6,
        24,
        "P1",
        "Payments errors after {bad} shrank the database connection pool",
        "payments {bad} moved the datasource settings into a shared library whose default HikariCP maximumPoolSize is 10 "
        "(payments ran with 40). At lunch-time load, authorisations queued for a connection to payments-db and timed out "
        "after 3 seconds (`HikariPool-1 - Connection is not available, request timed out after 3000ms`).",
        "For 24 minutes about 7% of payment authorisations failed; checkout showed 'payment could not be processed' "
        "to roughly 1,900 customers. No double charges.",
        (
            X(3, "Omar Haddad", "Acknowledged. payments 5xx at 7%, logs full of 'HikariPool-1 - Connection is not available'."),
            X(8, "Omar Haddad", "Restarted two payments pods — no change, the new pods hit the same pool exhaustion."),
            X(
                12,
                "Priya Raman",
                "payments-db looks healthy: 61 of 400 connections in use, no locks. The pool limit is in the app.",
            ),
            X(
                16,
                "Omar Haddad",
                "Rolled back payments to {prev} — error rate recovered within 3 minutes.",
                ("rollback", "payments"),
            ),
            X(24, "Omar Haddad", "Error ratio at 0.1% for 8 minutes. Resolving."),
        ),
        (
            "PAY-131: set maximumPoolSize explicitly in payments and alert on pool wait time",
            "PAY-132: canary payments releases at 5% for 15 minutes before full rollout",
            "SRE-77: add HikariCP pending-threads panel to the payments dashboard",
        ),
        more_alerts=(("checkout", "CheckoutHighErrorRate", 2, {}),),
        decoys=(("deploy", "recommendations", -12), ("flag", "web-frontend", 3)),
        fixed_by=3,
    ),
    Scenario(
        "pricing-cache-ttl",
        t(9, 29, 10, 32),
        "config",
        "pricing",
        "checkout",
        "CheckoutHighLatency",
        11,
        22,
        "P2",
        "Checkout latency after pricing cache TTL was set to 5 seconds",
        "A Consul change meant for the staging key space set `pricing/cache.ttl_seconds` from {old} to {new} in production. "
        "The pricing cache hit rate fell from 94% to 31%, every miss recomputed prices against pricing-db and catalog, and "
        "checkout's GetPrices call went from 40ms to over 2 seconds at p99.",
        "Checkout p99 was above 2.5s for 22 minutes; conversion dropped about 9% in that window.",
        (
            X(5, "Sofia Marino", "checkout p99 2.8s; traces show 2.1s inside pricing GetPrices."),
            X(12, "Sofia Marino", "Scaled pricing from 6 to 12 replicas — p99 improved only slightly (2.8s to 2.4s)."),
            X(
                17,
                "Priya Raman",
                "pricing-cache hit rate is 31%, normally 94%. Consul history: cache.ttl_seconds changed at 10:32.",
            ),
            X(
                19,
                "Sofia Marino",
                "Reverted pricing/cache.ttl_seconds to {old} in Consul — hit rate back to 93%, checkout p99 "
                "under 600ms within 4 minutes.",
                ("config", "pricing", "cache.ttl_seconds", 5, 300),
            ),
        ),
        (
            "SRE-81: separate Consul ACL tokens for staging and production key spaces",
            "CHK-73: alert on pricing cache hit rate below 80%",
        ),
        change={"key": "cache.ttl_seconds", "old": 300, "new": 5},
        more_alerts=(("pricing", "PricingHighLatency", -2, {}),),
        decoys=(("deploy", "seller-portal", -20),),
        fixed_by=3,
    ),
    Scenario(
        "recs-model-v3-rollout",
        t(10, 1, 16, 5),
        "flag",
        "recommendations",
        "recommendations",
        "RecommendationsHighLatency",
        7,
        19,
        "P3",
        "Recommendations latency after model v3 went to 100%",
        "The `recs.model-v3` flag went from {old}% to {new}% of traffic in one step. Model v3 loads item embeddings per request "
        "instead of from the shared memory map, so at full traffic the recommendations pods saturated their CPU and p99 "
        "climbed to 2.4s. web-frontend waits up to 1.5s for the 'You may also like' block before rendering the page.",
        "Product pages were about 1s slower at p95 for 19 minutes; no errors.",
        (
            X(4, "Chloe Dubois", "recommendations CPU at 100% on all pods since 16:06."),
            X(
                9,
                "Chloe Dubois",
                "Set recs.model-v3 back to {old}% — p99 back to 180ms within 2 minutes.",
                ("flag", "recommendations", "recs.model-v3", 100, 10),
            ),
            X(19, "Chloe Dubois", "Stable for 10 minutes, resolving."),
        ),
        (
            "DISC-44: load v3 embeddings from the memory-mapped file",
            "DISC-45: roll out model changes 10% → 25% → 50% → 100% with a soak",
        ),
        change={"key": "recs.model-v3", "old": 10, "new": 100},
        more_alerts=(("web-frontend", "WebFrontendHighLatency", 3, {}),),
        decoys=(("deploy", "shipping", -25),),
    ),
    Scenario(
        "web-new-product-page",
        t(10, 5, 14, 0),
        "flag",
        "web-frontend",
        "web-frontend",
        "WebFrontendHighErrorRate",
        6,
        14,
        "P2",
        "Product page errors after the new product page was switched on for everyone",
        "`web.new-product-page` went from {old}% to {new}%. The new page assumes every product has a `brand` object; "
        "about 4% of marketplace listings have none, and those pages failed to render (`TypeError: Cannot read properties "
        "of null (reading 'slug')`).",
        "About 4% of product page views returned a 500 for 14 minutes.",
        (
            X(3, "Lena Fischer", "5xx only on /p/ routes; stack traces from ProductHeader.tsx."),
            X(
                6,
                "Lena Fischer",
                "Disabled web.new-product-page (set to {old}%) — errors stopped immediately.",
                ("flag", "web-frontend", "web.new-product-page", 100, 0),
            ),
            X(14, "Lena Fischer", "Resolving; fix in review."),
        ),
        ("WEB-210: null-safe brand in ProductHeader", "WEB-211: ramp page-level flags gradually"),
        change={"key": "web.new-product-page", "old": 0, "new": 100},
        decoys=(("deploy", "inventory", -30), ("config", "notifications", 2)),
    ),
    Scenario(
        "cart-n-plus-one",
        t(10, 6, 11, 18),
        "deploy",
        "cart",
        "checkout",
        "CheckoutHighLatency",
        14,
        26,
        "P2",
        "Checkout latency after cart {bad} fetched stock line by line",
        "cart {bad} replaced the batched stock lookup with one inventory call and one cart-cache GET per line item. "
        "Carts with many items (marketplace bundles) made 40+ sequential calls and checkout waited on cart for up to 3 seconds.",
        "Checkout p99 above 2s for 26 minutes; no failed orders.",
        (
            X(
                4,
                "Daniel Cho",
                "Same alert as the pricing TTL incident last week, so checked pricing first: cache hit rate 95%, not pricing.",
            ),
            X(
                10,
                "Daniel Cho",
                "Traces: cart GetCart makes one inventory call per line item since 11:18 — cart deployed {bad} then.",
            ),
            X(14, "Daniel Cho", "Rolled back cart to {prev} — checkout p99 back to 450ms.", ("rollback", "cart")),
            X(26, "Daniel Cho", "Resolving."),
        ),
        ("CHK-80: restore the batched stock lookup and add a test with a 50-item cart",),
        more_alerts=(("cart", "CartHighLatency", -2, {}),),
        decoys=(("deploy", "reviews", -8),),
        fixed_by=2,
    ),
    Scenario(
        "cart-cache-downsized",
        t(10, 7, 15, 10),
        "config",
        "cart-cache",
        "cart",
        "CartHighLatency",
        24,
        35,
        "P3",
        "Cart latency after cart-cache was moved to smaller nodes",
        "A Terraform change moved cart-cache from node type {old} to {new} to cut cost. With a quarter of the memory, "
        "Redis started evicting active carts (maxmemory-policy allkeys-lru) and cart fell back to rebuilding them from "
        "Postgres.",
        "Cart reads were 4x slower for 35 minutes and about 600 guest carts were lost.",
        (
            X(2, "Grace Mensah", "RedisEvictions on cart-cache-0: 40k keys evicted in 5 minutes."),
            X(12, "Grace Mensah", "Terraform run at 15:10 changed node_type. Re-applying the previous plan."),
            X(
                30,
                "Grace Mensah",
                "cart-cache back on {old}; evictions stopped, latency normal.",
                ("config", "cart-cache", "node_type", "cache.r6g.medium", "cache.r6g.xlarge"),
            ),
            X(35, "Grace Mensah", "Resolving."),
        ),
        ("CHK-77: alert on used_memory / maxmemory above 85%", "PLAT-120: require a capacity check for cache resizes"),
        change={"key": "node_type", "old": "cache.r6g.xlarge", "new": "cache.r6g.medium"},
        more_alerts=(("cart-cache", "RedisEvictions", -4, {}),),
        fixed_by=2,
    ),
    Scenario(
        "session-cache-node-loss",
        t(10, 8, 14, 41),
        "dependency",
        "session-cache",
        "api-gateway",
        "ApiGatewayHigh5xxRate",
        3,
        21,
        "P1",
        "Gateway 5xx when the session-cache primary was lost",
        "session-cache-1 (the Redis primary) was lost to an EC2 instance retirement. Sentinel did not promote a replica: "
        "one of the three sentinels had been down since a node drain on Monday, so quorum (2) could not be reached with "
        "the primary's own sentinel gone. auth could not read sessions and the gateway returned 503 for signed-in requests.",
        "21 minutes of 5xx for signed-in customers (about 30% of gateway traffic).",
        (
            X(3, "Aisha Bello", "5xx at 28%, all from auth. auth was deployed at 14:19."),
            X(
                6,
                "Noah Schmidt",
                "Rolled back auth to {prev@auth} — no improvement, errors are 'READONLY You can't write against "
                "a read only replica'.",
                ("rollback", "auth"),
            ),
            X(
                12,
                "Aisha Bello",
                "session-cache-1.prod:6379 is gone (instance retired). Sentinel has no quorum: sentinel-2 down since Monday.",
            ),
            X(17, "Aisha Bello", "Forced failover with SENTINEL FAILOVER session-cache — 5xx back to baseline."),
            X(21, "Aisha Bello", "Resolving. Re-deploying the auth release that was rolled back, it was not the cause."),
        ),
        ("SRE-90: alert when fewer than 3 sentinels are up", "SRE-91: run the sentinel pods with a PodDisruptionBudget"),
        more_alerts=(
            ("session-cache", "RedisInstanceDown", -3, {"instance": "session-cache-1.prod:6379"}),
            ("auth", "AuthLoginFailures", -1, {}),
        ),
        decoys=(("deploy", "auth", -22),),
        fixed_by=3,
    ),
    Scenario(
        "search-autumn-sale-spike",
        t(10, 9, 18, 58),
        "traffic",
        "api-gateway",
        "search",
        "SearchHighLatency",
        6,
        34,
        "P2",
        "Search latency during the Autumn Sale e-mail traffic",
        "The Autumn Sale e-mail went to 2.1 million customers at 18:58. Search requests rose 4.2x within five minutes; "
        "search-es ran out of search thread-pool capacity (queue rejections) and search p99 went to 3s. No change was involved.",
        "Search p99 above 1.2s for 34 minutes at the start of the sale; about 3% of searches timed out.",
        (
            X(
                4,
                "Mateo García",
                "No search deploys in the last 24h. Request rate on search-api is 4.2x last week — the Autumn "
                "Sale e-mail went out at 18:58.",
            ),
            X(
                9,
                "Mateo García",
                "Scaled search from 8 to 16 replicas — CPU fine now but p99 still 2.5s, ES thread pool rejecting.",
            ),
            X(
                21,
                "Dmitri Volkov",
                "Added two search-es data nodes and raised replicas of products-v42 to 2 — p99 back under 900ms.",
            ),
            X(34, "Mateo García", "Traffic falling off, resolving."),
        ),
        ("GROW-30: tell #ops-oncall before large e-mail campaigns", "DISC-50: pre-scale search for planned campaigns"),
        more_alerts=(("api-gateway", "ApiGatewayRequestRateSpike", -6, {"route": "search-api"}),),
        decoys=(("deploy", "payouts", -40),),
        fixed_by=2,
    ),
    Scenario(
        "orders-db-max-connections",
        t(10, 13, 10, 5),
        "config",
        "orders-db",
        "checkout",
        "CheckoutHighErrorRate",
        18,
        31,
        "P1",
        "Checkout errors after orders-db max_connections was halved",
        "A Terraform change to the orders-db parameter group lowered max_connections from {old} to {new} to free memory for "
        "shared_buffers. It took effect at the next Patroni reload. At the late-morning peak orders needed about 260 "
        "connections and new ones failed with `FATAL: sorry, too many clients already`.",
        "About 4% of checkouts failed for 31 minutes (order creation failed after payment authorisation; the authorisations "
        "were voided automatically).",
        (
            X(5, "Ingrid Larsen", "orders logs: 'FATAL: sorry, too many clients already'. orders-db at 200/200 connections."),
            X(
                11,
                "Ingrid Larsen",
                "Restarted orders pods to drop idle connections — errors dropped for 2 minutes, then came back.",
            ),
            X(
                19,
                "Dmitri Volkov",
                "Terraform applied max_connections=200 this morning. Raised it back to {old} with patronictl "
                "edit-config and a rolling restart.",
                ("config", "orders-db", "max_connections", 200, 400),
            ),
            X(31, "Dmitri Volkov", "Errors cleared after the switchover. Resolving."),
        ),
        ("SRE-84: size max_connections from the pool settings of all clients", "ORD-52: put PgBouncer in front of orders-db"),
        change={"key": "max_connections", "old": 400, "new": 200},
        more_alerts=(("orders-db", "PostgresConnectionsSaturated", -2, {}), ("orders", "OrdersHighErrorRate", 0, {})),
        decoys=(("deploy", "catalog", 4),),
        fixed_by=2,
    ),
    Scenario(
        "catalog-backfill-migration",
        t(10, 14, 13, 30),
        "migration",
        "catalog-db",
        "catalog",
        "CatalogHighLatency",
        9,
        28,
        "P3",
        "Catalog latency during the search_vector backfill",
        "Migration {script} backfilled `products.search_vector` for 9 million rows in one UPDATE. It saturated catalog-db-1's "
        "disk I/O and the WAL volume put both replicas minutes behind, so catalog reads routed to replicas returned stale "
        "data and reads on the primary slowed down.",
        "Catalog p99 around 1.5s and stale product data in search for 28 minutes.",
        (
            X(2, "Chloe Dubois", "catalog-db replication lag 240s and rising; a single UPDATE on products running since 13:30."),
            X(8, "Chloe Dubois", "Cancelled the backfill with pg_cancel_backend — replicas caught up in 6 minutes."),
            X(28, "Chloe Dubois", "Resolving. Will re-run the backfill in 5k-row batches at night."),
        ),
        ("DISC-47: backfills in batches with a lag check", "DISC-48: run data migrations outside business hours"),
        change={"script": "backfill_products_search_vector", "description": "Backfill products.search_vector"},
        more_alerts=(
            ("catalog-db", "PostgresReplicationLag", -3, {"instance": "catalog-db-2.prod:5432"}),
            ("search-indexer", "KafkaConsumerLag", 6, {"topic": "catalog-events", "consumergroup": "search-indexer"}),
        ),
        decoys=(("deploy", "mobile-bff", -15),),
    ),
]
