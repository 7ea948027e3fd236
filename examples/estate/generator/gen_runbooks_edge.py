"""Runbooks for the edge, identity, discovery and messaging alerts (Markdown)."""

from __future__ import annotations

EDGE_RUNBOOKS: dict[str, str] = {}

EDGE_RUNBOOKS["api-gateway-high-5xx.md"] = r"""# ApiGatewayHigh5xxRate

## Meaning

More than 2% of responses from `api-gateway` (Envoy) are 5xx.

## Impact

Depends on the routes: signed-in traffic fails when `auth` fails, everything fails when the
gateway itself is unhealthy.

## Diagnosis

1. Which upstream cluster returns the errors?

   ```promql
   sum by (envoy_cluster_name) (rate(envoy_cluster_upstream_rq_xx{envoy_response_code_class="5"}[5m]))
   ```

2. If it is `auth`: check `AuthLoginFailures`, and the auth logs for
   `READONLY You can't write against a read only replica` (a `session-cache` failover problem)
   or `invalid audience` (token validation).
3. Check the sessions cache: `redis-cli -h session-cache-0.prod -p 26379 SENTINEL get-master-addr-by-name session-cache`.

## Mitigation

- session-cache primary lost and not promoted: see [redis-instance-down](redis-instance-down.md);
  a rollback of auth does not help.
- A bad auth deploy: roll back auth.
- Gateway config: `argocd app rollback api-gateway-prod <id>`.

## Escalation

Platform on-call (`platform-team`), Identity on-call for auth.
"""

EDGE_RUNBOOKS["api-gateway-rate-limiting.md"] = r"""# ApiGatewayRateLimiting

## Meaning

`api-gateway` answers more than 50 requests per second with 429.

## Impact

Clients over their limit are refused. If the limit applies to an internal caller such as
`mobile-bff`, every app user is affected.

## Diagnosis

1. Who is being limited?

   ```promql
   topk(10, sum by (client) (rate(envoy_ratelimit_over_limit_total[5m])))
   ```

2. The limits are in Consul: `consul kv get -detailed api-gateway/ratelimit.per_client_rps`.
   Limits are keyed by client IP unless a caller sends `X-Client-Id`; mobile-bff reaches the
   gateway from only a few pod IPs.

## Mitigation

- Revert a recent limit change ([revert-a-config-change](revert-a-config-change.md)).
- Block abusive clients at the CDN (`cdn`) instead of lowering global limits.

## Escalation

Platform on-call.
"""

EDGE_RUNBOOKS["auth-login-failures.md"] = r"""# AuthLoginFailures

## Meaning

More than 10% of sign-ins handled by `auth` fail.

## Impact

Customers cannot sign in; existing sessions may fail too when sessions cannot be read.

## Diagnosis

1. Errors by cause:

   ```shell
   kubectl -n identity logs deploy/auth --since=10m | grep -oE 'error="[^"]+"' | sort | uniq -c | sort -rn
   ```

2. `session-cache`: `READONLY` or connection refused → [redis-instance-down](redis-instance-down.md).
3. `accounts-db`: `connection refused` from accounts → the primary is down, see
   [postgres-primary-failover](postgres-primary-failover.html).
4. `invalid audience` / `invalid issuer` → token validation change in a recent auth deploy.

## Mitigation

- Roll back auth when the errors started with a deploy.
- Fail over session-cache or accounts-db when a primary is gone.

## Escalation

Identity on-call (`identity-team`).
"""

EDGE_RUNBOOKS["mobile-bff-high-error-rate.md"] = r"""# MobileBffHighErrorRate

## Meaning

More than 5% of requests from the iOS and Android apps to `mobile-bff` fail (4xx or 5xx).

## Impact

App users see error screens. App store reviews follow within the hour.

## Diagnosis

1. Split by status and app version:

   ```promql
   sum by (code, app_version) (rate(http_server_requests_total{service="mobile-bff",code=~"[45].."}[5m]))
   ```

2. **429** responses come from `api-gateway` rate limiting (see [api-gateway-rate-limiting](api-gateway-rate-limiting.md)).
3. Errors from **old app versions only** after a mobile-bff deploy mean a breaking response change.

## Mitigation

- Roll back mobile-bff: `argocd app rollback mobile-bff-prod <id>`.
- Revert gateway limit changes.

## Escalation

Storefront on-call (`storefront-team`).
"""

EDGE_RUNBOOKS["web-frontend-high-latency.md"] = r"""# WebFrontendHighLatency and WebFrontendHighErrorRate

## Meaning

`web-frontend` (Next.js, server-side rendered) renders pages slower than 2s at p95, or more
than 2% of renders fail.

## Impact

Slow or broken storefront pages; `cdn` serves cached pages only for signed-out visitors.

## Diagnosis

1. Traffic: compare with last week (`ApiGatewayRequestRateSpike` fires on big spikes).
2. Saturation: is the HPA at its maximum?

   ```shell
   kubectl -n storefront get hpa web-frontend
   kubectl -n storefront top pods -l app=web-frontend | sort -k2 -rn | head
   ```

3. Slow blocks: the "You may also like" block waits up to 1.5s for `recommendations`.
4. Render errors after a flag change: `larkflags history --service web-frontend --since 2h`.

## Mitigation

- At max replicas: raise the HPA ceiling (`kubectl -n storefront patch hpa web-frontend -p '{"spec":{"maxReplicas":48}}'`).
- A page flag: disable it ([disable-a-feature-flag](disable-a-feature-flag.md)).
- Slow recommendations: see [recommendations-high-latency](recommendations-high-latency.md).

## Escalation

Storefront on-call.
"""

EDGE_RUNBOOKS["search-high-latency.md"] = r"""# SearchHighLatency

## Meaning

The p99 latency of `search` is above 1.2 seconds.

## Impact

Slow search results and autocomplete; search drives about 40% of product views.

## Diagnosis

1. Traffic or cost? If the request rate is flat, a query got more expensive:

   ```promql
   sum(rate(http_server_requests_total{service="search"}[5m]))
   sum(rate(elasticsearch_thread_pool_rejected_count{type="search"}[5m]))
   ```

2. Flags that change query cost: `search.semantic-ranking`, `search.typo-tolerance`.
3. Cluster health: `curl -s http://search-es-0.prod:9200/_cluster/health?pretty`.

## Mitigation

- Expensive flag: turn it off.
- Real traffic: scale search (`kubectl -n discovery scale deploy/search --replicas=16`) and add
  data nodes, see [traffic-spike](traffic-spike.md).

## Escalation

Discovery on-call (`discovery-team`).
"""

EDGE_RUNBOOKS["search-high-error-rate.md"] = r"""# SearchHighErrorRate

## Meaning

More than 2% of searches fail with a 5xx.

## Impact

Customers get an empty result page.

## Diagnosis

1. Is `search-es` healthy?

   ```shell
   curl -s http://search-es-0.prod:9200/_cluster/health?pretty
   curl -s 'http://search-es-0.prod:9200/_cat/allocation?v'
   ```

   Red means an unassigned primary: see [elasticsearch-cluster-red](elasticsearch-cluster-red.md).
2. If the cluster is green, look at the exceptions in search:

   ```shell
   kubectl -n discovery logs deploy/search --since=10m | grep -E 'Exception' | sort | uniq -c | sort -rn | head
   ```

   `ParseException` after a deploy points at the query parser.

## Mitigation

- Roll back search when the errors started with a deploy.
- Fix the cluster when it is red.

## Escalation

Discovery on-call.
"""

EDGE_RUNBOOKS["recommendations-high-latency.md"] = r"""# RecommendationsHighLatency

## Meaning

The p99 of `recommendations` is above 600ms.

## Impact

Product pages render slower: `web-frontend` waits up to 1.5s for the block.

## Diagnosis

1. CPU saturation on the model servers: `kubectl -n discovery top pods -l app=recommendations`.
2. Model rollout flags: `recs.model-v3` (percentage of traffic on the v3 model),
   `recs.trending-row`.
3. OOM kills (`KubeContainerOOMKilled` on recommendations is chronic and usually harmless).

## Mitigation

- Lower the rollout percentage of a new model: `larkflags set recs.model-v3 --rollout 10`.
- Scale out: `kubectl -n discovery scale deploy/recommendations --replicas=12`.

## Escalation

Discovery on-call.
"""

EDGE_RUNBOOKS["notifications-send-failures.md"] = r"""# NotificationsSendFailures

## Meaning

More than 5% of notifications rendered by `notifications` fail to send. Related alerts:
`EmailBounceRateHigh` (email-sender) and `SmsGatewayHighLatency` (sms-gateway) are usually
carrier-side and do not need action at night.

## Impact

Order confirmations and shipping e-mails are delayed or lost.

## Diagnosis

1. Render or delivery?

   ```shell
   kubectl -n messaging logs deploy/notifications --since=15m | grep -E 'render|undefined variable' | head
   ```

2. Lag on `notification-requests` for the `notifications` consumer group (see [kafka-consumer-lag](kafka-consumer-lag.md)).

## Mitigation

- Template errors after a deploy: roll back notifications, then re-queue failed sends with
  `kubectl -n messaging create job resend --from=cronjob/notifications-resend`.
- Carrier problems: switch the SMS carrier (`consul kv put notifications/sms.primary_carrier sinch`).

## Escalation

Growth & Messaging on-call (`growth-team`).
"""
