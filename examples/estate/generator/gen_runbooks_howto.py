"""Runbooks for traffic spikes and the how-to procedures: rollbacks, flags, configuration (Markdown)."""

from __future__ import annotations

HOWTO_RUNBOOKS: dict[str, str] = {}

HOWTO_RUNBOOKS["traffic-spike.md"] = r"""# Traffic spikes (ApiGatewayRequestRateSpike)

## Meaning

`ApiGatewayRequestRateSpike` fires when a gateway route (`route` label: `storefront-api`,
`search-api`...) receives more than three times last week's request rate. Marketing e-mails,
sales openings and bots cause spikes; a spike is not a change, so diagnosis finds no deploy.

## Impact

Services behind the route saturate: `SearchHighLatency`, `WebFrontendHighLatency`.

## Diagnosis

```promql
sum by (route) (rate(envoy_http_downstream_rq_total[5m]))
sum by (route) (rate(envoy_http_downstream_rq_total[5m] offset 1w))
```

Check `#marketing-launches` for campaigns; check the CDN for bot traffic.

## Mitigation

- Scale the saturated service and raise its HPA ceiling:

  ```shell
  kubectl -n discovery scale deploy/search --replicas=16
  kubectl -n storefront patch hpa web-frontend -p '{"spec":{"maxReplicas":48}}'
  ```

- For search, add data nodes and replicas (`PUT /products/_settings {"number_of_replicas": 2}`).
- Bots: block at the CDN rather than lowering gateway limits.

## Escalation

Platform on-call; incident commander for sales events.
"""

HOWTO_RUNBOOKS["rollback-a-deploy.md"] = r"""# How to roll back a deploy

Larkspur deploys services to production with Argo CD (application `<service>-prod`); the CDN
(`cdn`) deploys through Fastly. A rollback re-deploys the previous image; it is recorded as a
`service.rolledback` CDEvent.

## When

Roll back first and debug later when an alert started within about 30 minutes of a deploy of
the service or of one of its dependencies. A rollback does not help when the cause is a
dependency failure, a migration holding locks, or a configuration or flag change.

## Steps

1. Find the previous revision:

   ```shell
   argocd app history payments-prod | tail -5
   ```

2. Roll back to it (this disables auto-sync for the app):

   ```shell
   argocd app rollback payments-prod 41
   argocd app wait payments-prod --health --timeout 300
   ```

   Without Argo CD access: `kubectl -n payments rollout undo deploy/payments`.
3. Watch the alert that fired for 5 minutes.
4. Note the rollback in the incident ("Rolled back payments to 1.41.0 — error rate recovered")
   so the next on-call knows whether it helped.
5. Re-enable auto-sync after the fix is merged: `argocd app set payments-prod --sync-policy automated`.

## Fastly (cdn)

```shell
fastly service-version activate --service-id 4sLp2kGq --version <previous>
```
"""

HOWTO_RUNBOOKS["disable-a-feature-flag.md"] = r"""# How to disable a feature flag

Feature flags are served by `feature-flags` (flagd, OpenFeature) and edited with `larkflags`.
Every change is recorded as a `dev.cdeventsx.flagd-flag.changed` event.

## Steps

1. Find the flag and its current state:

   ```shell
   larkflags get checkout.one-click-pay
   larkflags history --service payments --since 2h
   ```

2. Turn a boolean flag off, or put a rollout back to its previous percentage:

   ```shell
   larkflags set payments.network-tokens --off --reason "INC: invalid_token_requestor"
   larkflags set recs.model-v3 --rollout 10 --reason "INC: recommendations CPU"
   ```

3. flagd pushes the change to all clients within 10 seconds. Verify:

   ```shell
   curl -s http://feature-flags.platform.svc:8013/flagd.evaluation.v1.Service/ResolveBoolean \
     -d '{"flagKey":"payments.network-tokens","context":{}}'
   ```

4. Record in the incident what you changed and whether it helped.

## Flags used during incidents

- `payments.secondary-acquirer`: routes card payments to the backup acquirer (see the
  card-processor failover procedure).
- `web.static-home-page`: serves a static home page when web-frontend is overloaded.
"""

HOWTO_RUNBOOKS["revert-a-config-change.md"] = r"""# How to revert a configuration change (and ConfigServiceFetchErrors)

Runtime configuration lives in Consul (key prefix per service, e.g. `pricing/cache.ttl_seconds`)
and is served to services by `config-service`. Every change is recorded as a
`dev.cdeventsx.consul-config.changed` event. Data store settings (`max_connections`, node types)
are Terraform-managed and recorded as `dev.cdeventsx.terraform-config.applied`.

## ConfigServiceFetchErrors

Services cannot refresh their configuration from config-service. They keep the last
configuration for 10 minutes and then fall back to built-in defaults, which are not
production values. Check config-service's last deploy and roll it back if it lines up.

## Steps

1. See what changed and when:

   ```shell
   consul kv get -detailed pricing/cache.ttl_seconds
   vidya search "config change pricing" --json | jq '.results[:5]'
   ```

2. Put the old value back:

   ```shell
   consul kv put pricing/cache.ttl_seconds 300
   ```

3. Services pick up Consul changes within 30 seconds (config-service watch). Verify:

   ```shell
   curl -s http://config-service.platform.svc:8080/v1/config/pricing | jq '."cache.ttl_seconds"'
   ```

4. Terraform settings: re-apply the previous plan in the workspace (`prod-databases`,
   `prod-caches`), then follow the data store's runbook for restarts.
"""
