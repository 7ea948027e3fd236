"""Runbooks for Larkspur's data stores and Kafka (Markdown)."""

from __future__ import annotations

PLATFORM_RUNBOOKS: dict[str, str] = {}

PLATFORM_RUNBOOKS["kafka-consumer-lag.md"] = r"""# KafkaConsumerLag

## Meaning

A consumer group on `kafka-main` is more than 10,000 messages behind on a topic. The labels
name the `topic` and the `consumergroup`. Known groups:

| consumer group | service | topic |
|---|---|---|
| shipping-label-writer | shipping | orders-events |
| ledger-posting | ledger | payment-events |
| search-indexer | search-indexer | catalog-events |
| notifications | notifications | notification-requests |
| analytics-etl-hourly | analytics-etl | clickstream |

`analytics-etl-hourly` lags every night around 02:00 while the hourly batch catches up; it
resolves by itself and does not need action (`ShippingLabelBacklog` is the customer-facing
symptom of shipping lag).

## Impact

Work is delayed, not lost: late shipping labels, stale ledger balances, stale search results.

## Diagnosis

```shell
kubectl -n platform exec -it kafka-0 -- kafka-consumer-groups.sh --bootstrap-server localhost:9092 \
  --describe --group shipping-label-writer
```

1. Lag growing on all partitions: the consumer is too slow (a deploy that added synchronous
   calls to the consume loop, bigger batches).
2. Lag stuck and the group rebalancing (`Preparing to rebalance group` in the broker logs):
   poll batches take longer than `max.poll.interval.ms`.
3. Lag on a few partitions only: a poison message or a stuck consumer.

## Mitigation

- Roll back the consumer's last deploy ([rollback-a-deploy](rollback-a-deploy.md)).
- Scale consumers up to the partition count (24): `kubectl -n fulfilment scale deploy/shipping --replicas=12`.
- Skip a poison message only with the owning team's agreement
  (`kafka-consumer-groups.sh --reset-offsets --shift-by 1 --topic orders-events:7 --execute`).

## Escalation

The consumer's team; Platform on-call for broker problems.
"""

PLATFORM_RUNBOOKS["kafka-broker-down.md"] = r"""# KafkaUnderReplicatedPartitions

## Meaning

Partitions on `kafka-main` (brokers kafka-0.prod:9092, kafka-1.prod:9092, kafka-2.prod:9092)
have fewer in-sync replicas than their replication factor (3). Usually a broker is down.

## Impact

Topics use `min.insync.replicas=2`. With one broker down most partitions still accept writes;
partitions whose remaining follower is also lagging reject writes with `NOT_ENOUGH_REPLICAS`,
which fails order creation in `orders`.

## Diagnosis

```shell
kubectl -n platform get pods -l app=kafka -o wide
kubectl -n platform exec kafka-0 -- kafka-topics.sh --bootstrap-server localhost:9092 --describe --under-replicated-partitions
kubectl -n platform exec kafka-0 -- kafka-topics.sh --bootstrap-server localhost:9092 --describe --under-min-isr-partitions
```

## Mitigation

1. Bring the broker back (restart the pod; replace a failed volume with the
   `kafka-volume-replace` procedure in the platform wiki).
2. Once it is in sync, restore preferred leaders:

   ```shell
   kubectl -n platform exec kafka-0 -- kafka-leader-election.sh --bootstrap-server localhost:9092 \
     --election-type preferred --all-topic-partitions
   ```

3. Do not lower `min.insync.replicas` to get writes through: it risks losing order events.

## Escalation

Platform on-call.
"""

PLATFORM_RUNBOOKS["postgres-replication-lag.md"] = r"""# PostgresReplicationLag

## Meaning

A Postgres replica (Patroni cluster) is more than 30 seconds behind its primary. The
`instance` label names the replica, e.g. `catalog-db-2.prod:5432` or `payments-db-2.prod:5432`.
`CatalogHighLatency` points here too: catalog reads go to replicas.

## Impact

Reads routed to replicas return stale data (stale prices and stock in the catalogue, stale
search). A replica too far behind cannot be promoted automatically
(`maximum_lag_on_failover` is 1 GB).

## Diagnosis

On the primary:

```sql
SELECT application_name, state, pg_size_pretty(pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)) AS lag
FROM pg_stat_replication;
```

Big write bursts cause lag: backfills, table rewrites (`ALTER TABLE ... ADD COLUMN ... DEFAULT`
with a volatile default), `VACUUM FULL`. Find them:

```sql
SELECT pid, now() - query_start AS running, left(query, 100) FROM pg_stat_activity
WHERE state = 'active' AND query !~ 'pg_stat' ORDER BY running DESC LIMIT 10;
```

## Mitigation

- Cancel a runaway backfill (`SELECT pg_cancel_backend(<pid>);`) and re-run it in batches at night.
- Route reads to the primary while the replica catches up: `consul kv put catalog/db.read_from_replica false`.

## Escalation

The owning team of the cluster; SRE on-call for Patroni.
"""

PLATFORM_RUNBOOKS["postgres-connections-saturated.md"] = r"""# PostgresConnectionsSaturated

## Meaning

More than 90% of `max_connections` are in use on a Postgres cluster (`cluster` label, e.g. `orders-db`).

## Impact

New connections fail with `FATAL: sorry, too many clients already`; services fail requests.

## Diagnosis

```sql
SHOW max_connections;
SELECT usename, application_name, state, count(*) FROM pg_stat_activity GROUP BY 1, 2, 3 ORDER BY 4 DESC;
```

Compare with the sum of the pool sizes of all clients (orders: 20 pods x 12 connections).
Check whether `max_connections` changed recently: it is managed by Terraform (workspace
`prod-databases`) and applied by Patroni.

## Mitigation

- Put `max_connections` back and restart (the setting needs a restart):

  ```shell
  patronictl -c /etc/patroni/patroni.yml edit-config orders-db -p max_connections=400
  patronictl -c /etc/patroni/patroni.yml restart orders-db --pending
  ```

- Restarting the clients frees idle connections only for a few minutes.

## Escalation

SRE on-call.
"""

PLATFORM_RUNBOOKS["schema-migrations.md"] = r"""# Schema migrations and PostgresLongRunningQueries

## Meaning

`PostgresLongRunningQueries` fires when a query on a cluster has run for more than 5 minutes.
On Sunday nights the weekly seller report on `catalog-db` trips it; that one is expected.
During the day it usually means a migration or a backfill.

## Impact

DDL takes locks. `CREATE INDEX` without `CONCURRENTLY` blocks writes to the table; adding a
foreign key validates it under a lock; `ALTER TABLE ... ADD COLUMN ... DEFAULT <volatile>`
rewrites the whole table under an ACCESS EXCLUSIVE lock.

## Diagnosis

Who blocks whom:

```sql
SELECT blocked.pid AS blocked_pid, left(blocked.query, 60) AS blocked_query,
       blocking.pid AS blocking_pid, left(blocking.query, 60) AS blocking_query
FROM pg_stat_activity blocked
JOIN pg_stat_activity blocking ON blocking.pid = ANY(pg_blocking_pids(blocked.pid));
```

Flyway records what ran:

```sql
SELECT version, description, installed_on, success FROM flyway_schema_history ORDER BY installed_rank DESC LIMIT 5;
```

## Mitigation

1. Cancel the migration: `SELECT pg_cancel_backend(<blocking_pid>);` (Flyway rolls the
   transaction back). Rolling back the application deploy does not release the lock.
2. Re-run it safely: `CREATE INDEX CONCURRENTLY` (outside a transaction: Flyway
   `executeInTransaction=false`), constraints as `NOT VALID` then `VALIDATE CONSTRAINT`,
   backfills in batches of 5,000 rows.
3. A table rewrite that is almost done: let it finish; cancelling rolls back all of it.

## Escalation

The owning team; SRE on-call.
"""

PLATFORM_RUNBOOKS["redis-evictions.md"] = r"""# RedisEvictions

## Meaning

A Redis instance evicted more than 1,000 keys in 5 minutes: it is at `maxmemory`.

## Impact

Depends on the cache: `cart-cache` evictions lose guest carts, `pricing-cache` evictions make
pricing recompute prices, `session-cache` evictions sign customers out.

## Diagnosis

```shell
redis-cli -h cart-cache-0.prod -p 6379 INFO memory | grep -E 'used_memory_human|maxmemory_human|maxmemory_policy'
redis-cli -h cart-cache-0.prod -p 6379 INFO stats | grep -E 'evicted_keys|keyspace_misses'
redis-cli -h cart-cache-0.prod -p 6379 --bigkeys
```

Check whether the node type changed (Terraform workspace `prod-caches`) or a client started
writing bigger values.

## Mitigation

- Revert a node-type downsize: re-apply the previous Terraform plan.
- Short term, raise `maxmemory` if the node has headroom: `redis-cli CONFIG SET maxmemory 6gb`.

## Escalation

The cache's owning team; Platform on-call.
"""

PLATFORM_RUNBOOKS["redis-instance-down.md"] = r"""# RedisInstanceDown

## Meaning

A Redis instance does not answer (`instance` label, e.g. `session-cache-1.prod:6379`).
Larkspur's Redis caches run as a primary and two replicas with three Sentinels.

## Impact

If the primary is down and Sentinel does not promote a replica, writes fail with
`READONLY You can't write against a read only replica`. For `session-cache` that breaks
sign-in (`AuthLoginFailures`) and signed-in requests (`ApiGatewayHigh5xxRate`).

## Diagnosis

```shell
redis-cli -h session-cache-0.prod -p 26379 SENTINEL get-master-addr-by-name session-cache
redis-cli -h session-cache-0.prod -p 26379 SENTINEL ckquorum session-cache
kubectl -n identity get pods -l app=redis-sentinel
```

`NOQUORUM` means too few Sentinels are up to fail over.

## Mitigation

1. Force a failover: `redis-cli -h session-cache-0.prod -p 26379 SENTINEL FAILOVER session-cache`.
2. Bring the missing Sentinels back (check PodDisruptionBudgets after node drains).
3. Rolling back the services that use the cache does not help.

## Escalation

Identity on-call for session-cache; SRE on-call.
"""

PLATFORM_RUNBOOKS["elasticsearch-cluster-red.md"] = r"""# ElasticsearchClusterHealthRed

## Meaning

`search-es` has at least one unassigned primary shard. `ElasticsearchDiskWatermarkHigh`
(85% disk) usually fires earlier: at 95% (flood stage) Elasticsearch makes the indices on the
node read-only.

## Impact

Searches that hit the missing shard fail (`SearchHighErrorRate`).

## Diagnosis

```shell
curl -s http://search-es-0.prod:9200/_cluster/health?pretty
curl -s 'http://search-es-0.prod:9200/_cat/shards?v&h=index,shard,prirep,state,unassigned.reason' | grep UNASSIGNED
curl -s http://search-es-0.prod:9200/_cluster/allocation/explain?pretty
curl -s 'http://search-es-0.prod:9200/_cat/allocation?v'
```

## Mitigation

1. Free disk: delete indices that are no longer aliased (`curl -s 'http://search-es-0.prod:9200/_cat/aliases?v'`
   shows the live one, e.g. `products` → `products-v42`):

   ```shell
   curl -X DELETE http://search-es-0.prod:9200/products-v39
   ```

2. Clear the read-only block:

   ```shell
   curl -X PUT http://search-es-0.prod:9200/_all/_settings -H 'Content-Type: application/json' \
     -d '{"index.blocks.read_only_allow_delete": null}'
   ```

3. Retry allocation: `curl -X POST 'http://search-es-0.prod:9200/_cluster/reroute?retry_failed=true'`.

## Escalation

Discovery on-call; SRE on-call for node replacement.
"""
