"""Runbooks for the commerce and fulfilment alerts: checkout, payments, cart, orders, inventory (Markdown)."""

from __future__ import annotations

SERVICE_RUNBOOKS: dict[str, str] = {}

SERVICE_RUNBOOKS["checkout-high-latency.md"] = r"""# CheckoutHighLatency

## Meaning

The 99th percentile latency of `checkout` has been above 1.5 seconds for 5 minutes.
The alert also covers `PricingHighLatency`, which usually fires first when pricing is the slow hop.

## Impact

Customers wait on the review and payment steps; conversion drops roughly 3% for every
additional second. Checkout does not fail, so error-rate alerts stay quiet.

## Diagnosis

checkout calls, in order: `cart`, `pricing`, `promotions`, `tax`, `inventory`, `payments`,
`orders` and `shipping`. Find the slow hop first:

```promql
histogram_quantile(0.99, sum by (le, peer_service) (rate(http_client_duration_seconds_bucket{service="checkout"}[5m])))
```

1. If **pricing** is slow, check the pricing cache hit rate (normally above 90%):

   ```promql
   sum(rate(pricing_cache_hits_total[5m])) / sum(rate(pricing_cache_requests_total[5m]))
   ```

   A low hit rate almost always follows a change to `pricing/cache.ttl_seconds` or
   `pricing/cache.max_entries`. Look at the Consul history:

   ```shell
   consul kv get -detailed pricing/cache.ttl_seconds
   consul kv get -detailed pricing/cache.max_entries
   ```

2. If **cart** is slow, look at the number of inventory calls per GetCart in the traces
   (Tempo: `{ service.name = "cart" && name = "GetCart" }`). More than one call per cart
   means a regression in the batched stock lookup.
3. If **inventory** or **orders** is slow, check their databases for lock waits
   (see [schema-migrations](schema-migrations.md)).
4. List what changed around checkout in the last hour:

   ```shell
   vidya diagnose --service checkout --at "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
   argocd app history checkout-prod | tail -5
   ```

## Mitigation

- A recent deploy of checkout or of the slow dependency: roll it back
  ([rollback-a-deploy](rollback-a-deploy.md)).
- A recent Consul change: revert it ([revert-a-config-change](revert-a-config-change.md)).
- No change and a traffic spike: scale out pricing and cart
  (`kubectl -n commerce scale deploy/pricing --replicas=12`) and follow [traffic-spike](traffic-spike.md).

Scaling pricing does not help when the cache is thrashing: fix the cache settings first.

## Escalation

`#team-checkout`, then the Checkout & Cart on-call (`commerce-team`).
"""

SERVICE_RUNBOOKS["checkout-high-error-rate.md"] = r"""# CheckoutHighErrorRate

## Meaning

More than 2% of requests to `checkout` return a 5xx for 5 minutes.

## Impact

Customers cannot place orders. Every minute at 2% is about 40 lost orders at peak.

## Diagnosis

1. Which dependency fails? checkout logs the peer on every failed call:

   ```shell
   kubectl -n commerce logs deploy/checkout --since=15m | grep -E 'ERROR|peer=' \
     | awk '{print $NF}' | sort | uniq -c | sort -rn | head
   ```

2. Check the alerts of the dependencies: `PaymentsErrorRate`, `InventoryReservationFailures`,
   `OrdersHighErrorRate`, `ConfigServiceFetchErrors`.
3. `config refresh failed` in the logs means checkout cannot read its configuration from
   `config-service`; after 10 minutes it falls back to defaults.
4. `FATAL: sorry, too many clients already` from orders means `orders-db` is out of
   connections (see [postgres-connections-saturated](postgres-connections-saturated.md)).

## Mitigation

- Roll back the most recent deploy of checkout or of the failing dependency.
- If config-service is the problem, roll config-service back; clients recover on the next refresh.
- If payments is failing, follow [payments-error-rate](payments-error-rate.md).

## Escalation

Checkout & Cart on-call, then the incident commander rota in `#incident`.
"""

SERVICE_RUNBOOKS["payments-error-rate.md"] = r"""# PaymentsErrorRate

## Meaning

More than 5% of payment authorisations handled by `payments` ended in an error (not a
decline) over 5 minutes. `CardProcessorErrors` is the blackbox probe of Northwind Payments
(`card-processor`) and usually fires alongside when the acquirer is the problem.

## Impact

Customers see "your payment could not be processed". Card payments are about 85% of volume.

## Diagnosis

1. Errors by reason:

   ```promql
   sum by (reason) (rate(payments_requests_total{outcome="error"}[5m]))
   ```

   - `acquirer_unavailable` / `timeout`: the acquirer. Check https://status.northwind-payments.example
     and the `CardProcessorErrors` alert.
   - `db_pool_timeout` (`HikariPool-1 - Connection is not available`): payments' connection pool
     to `payments-db`. Compare active connections with the pool maximum:

     ```promql
     hikaricp_connections_active{service="payments"} / hikaricp_connections_max{service="payments"}
     ```

   - `invalid_token_requestor`: network tokens (`payments.network-tokens` flag).
2. What changed? payments deploys, payments flags, and fraud (payments calls fraud first):

   ```shell
   argocd app history payments-prod | tail -5
   larkflags history --service payments --since 2h
   ```

## Mitigation

- A bad payments release: roll back (`argocd app rollback payments-prod <id>`). Restarting pods
  does not help with pool or config regressions.
- Acquirer outage: route card traffic to the backup acquirer by enabling
  `payments.secondary-acquirer` (see the card-processor failover procedure, `card-processor-failover.pdf`).
  Switch it off again when Northwind reports recovery.
- A flag change: disable the flag ([disable-a-feature-flag](disable-a-feature-flag.md)).

## Escalation

Payments on-call (`payments-team`). For acquirer outages also open a ticket with Northwind
(priority 1, merchant id LARK-EU-0042).
"""

SERVICE_RUNBOOKS["payments-high-latency.md"] = r"""# PaymentsHighLatency

## Meaning

The p99 of payment authorisation in `payments` is above 4 seconds.

## Impact

Checkout waits on payments; above 8 seconds checkout gives up and shows an error.

## Diagnosis

1. Split the time between our code and the acquirer:

   ```promql
   histogram_quantile(0.99, sum by (le) (rate(card_processor_request_duration_seconds_bucket[5m])))
   sum(rate(card_processor_requests_total[5m]))
   ```

   If the **call rate** to the acquirer is several times the authorisation rate, payments is
   retrying: a retry storm. Retries make a slow acquirer slower.
2. Check `payments-db` for lock waits and replication lag; a running migration on
   `refunds` or `payments` tables shows up here
   (`SELECT pid, now() - query_start, query FROM pg_stat_activity WHERE state <> 'idle' ORDER BY 2 DESC;`).
3. Check the latest deploy: `argocd app history payments-prod | tail -3`.

## Mitigation

- Retry storm after a deploy: roll back payments. Enabling `payments.secondary-acquirer`
  does not help, the retries follow the traffic.
- Slow acquirer without retries: enable `payments.secondary-acquirer`.
- Table rewrite by a migration: see [schema-migrations](schema-migrations.md); do not cancel a
  rewrite that is nearly done.

## Escalation

Payments on-call.
"""

SERVICE_RUNBOOKS["payments-decline-rate-high.md"] = r"""# PaymentsDeclineRateHigh

## Meaning

More than 12% of authorisations in `payments` are declined over 10 minutes (normal: about 3%).

## Impact

Genuine customers cannot pay. A spike in declines is lost revenue, not an outage, so it
often goes unnoticed for a while.

## Diagnosis

```promql
sum by (decline_reason) (rate(payments_declines_total[10m]))
```

- `fraud_rejected` dominating: `fraud` is rejecting. Check the fraud score distribution and
  the last fraud deploy (`argocd app history fraud-prod`). A threshold shipped in the wrong
  unit (0.35 instead of 85%) has happened before.
- `issuer_declined` across all BINs: ask Northwind whether an issuer has an outage.
- `3ds_failed`: check the `payments.3ds-frictionless` flag.

## Mitigation

- Roll back fraud if its last deploy lines up with the spike.
- As a stop-gap, the fraud team can set `risk.review_threshold` in Consul
  (`consul kv put payments/risk.review_threshold 0.8`) to send borderline scores to manual review.

## Escalation

Payments on-call; fraud analysts in `#fraud-ops` for threshold questions.
"""

SERVICE_RUNBOOKS["cart-high-error-rate.md"] = r"""# CartHighErrorRate and CartHighLatency

## Meaning

`CartHighErrorRate`: more than 2% of `cart` requests fail. `CartHighLatency`: p99 above 800ms.

## Impact

Customers cannot add items or their cart appears empty. Guest carts live only in `cart-cache`
(Redis); signed-in carts are also written to Postgres.

## Diagnosis

1. Decoding errors (`missing field`, `unknown variant`) after a deploy mean the stored cart
   format changed incompatibly:

   ```shell
   kubectl -n commerce logs deploy/cart --since=10m | grep -c 'decode cart'
   ```

2. Evictions on `cart-cache` make cart rebuild carts from Postgres (slow) or lose guest carts:

   ```shell
   redis-cli -h cart-cache-0.prod -p 6379 INFO stats | grep evicted_keys
   redis-cli -h cart-cache-0.prod -p 6379 INFO memory | grep -E 'used_memory_human|maxmemory_human'
   ```

3. Many inventory calls per cart read: see [checkout-high-latency](checkout-high-latency.md).

## Mitigation

- Roll back cart; then repair carts written by the bad version with
  `kubectl -n commerce create job cart-repair --from=cronjob/cart-repair`.
- Evictions: follow [redis-evictions](redis-evictions.md).

## Escalation

Checkout & Cart on-call.
"""

SERVICE_RUNBOOKS["orders-high-latency.md"] = r"""# OrdersHighLatency and OrdersHighErrorRate

## Meaning

`orders` p99 above 1 second, or more than 2% of its requests failing.

## Impact

Checkout cannot create orders; payments are authorised and then voided automatically.

## Diagnosis

1. Lock waits on `orders-db` (a migration, a long transaction):

   ```sql
   SELECT pid, wait_event_type, wait_event, now() - query_start AS running, left(query, 80)
   FROM pg_stat_activity WHERE datname = 'orders' AND state <> 'idle' ORDER BY running DESC LIMIT 20;
   ```

2. Connection limits: `FATAL: sorry, too many clients already` means
   [postgres-connections-saturated](postgres-connections-saturated.md).
3. Publishing to Kafka: `NOT_ENOUGH_REPLICAS` from the producer means `orders-events` has
   partitions below `min.insync.replicas`; see [kafka-broker-down](kafka-broker-down.md).

## Mitigation

- A blocking migration: cancel it (`SELECT pg_cancel_backend(<pid>);`) and re-run it
  without blocking DDL (see [schema-migrations](schema-migrations.md)). Rolling back the orders
  app does not release a lock held by the migration job.
- Kafka: wait for ISR recovery or move leadership (`kafka-leader-election.sh --election-type preferred`).

## Escalation

Fulfilment on-call (`fulfilment-team`).
"""

SERVICE_RUNBOOKS["inventory-reservation-failures.md"] = r"""# InventoryReservationFailures

## Meaning

More than 5% of stock reservations made by `inventory` fail.

## Impact

Checkout shows "item no longer available" for items that are in stock.

## Diagnosis

1. Compare failures with real stock:

   ```sql
   SELECT sku, on_hand, reserved FROM stock WHERE reserved > on_hand LIMIT 20;
   ```

   Rows here mean reservations are being double counted.
2. Locks on `inventory-db` (foreign key validation, migrations) make reservations time out.
3. Check the last inventory deploy: `argocd app history inventory-prod | tail -3`.

## Mitigation

- Roll back inventory, then release phantom reservations:
  `kubectl -n fulfilment create job release-reservations --from=cronjob/reservation-cleanup`.
- A blocking migration: cancel it and re-add constraints as `NOT VALID` + `VALIDATE CONSTRAINT`.

## Escalation

Fulfilment on-call.
"""
