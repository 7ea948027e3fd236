"""The Prometheus alerting rules Larkspur runs: names, severities, expressions and runbooks.

Runbook file names here are the ones ``gen_runbooks`` writes, so an alert's ``runbook_url``
annotation always points at a runbook in the estate.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from gen_common import PROMETHEUS_URL, RUNBOOK_BASE
from gen_topology import BY_NAME, Component, Resource


@dataclass(frozen=True)
class AlertDef:
    severity: str
    expr: str  # ``$s`` is replaced by the service or resource name
    summary: str
    description: str
    runbook: str = ""
    job: str = ""


A = AlertDef
ALERTS: dict[str, AlertDef] = {
    "CheckoutHighLatency": A(
        "critical",
        'histogram_quantile(0.99, sum by (le) (rate(http_server_duration_seconds_bucket{service="checkout"}[5m]))) > 1.5',
        "checkout p99 latency above 1.5s",
        "p99 latency of checkout is {value}s (threshold 1.5s).",
        "checkout-high-latency.md",
    ),
    "CheckoutHighErrorRate": A(
        "critical",
        'sum(rate(http_server_requests_total{service="checkout",code=~"5.."}[5m])) / '
        'sum(rate(http_server_requests_total{service="checkout"}[5m])) > 0.02',
        "checkout 5xx ratio above 2%",
        "{value}% of checkout requests fail with 5xx.",
        "checkout-high-error-rate.md",
    ),
    "PaymentsErrorRate": A(
        "critical",
        'sum(rate(payments_requests_total{outcome="error"}[5m])) / sum(rate(payments_requests_total[5m])) > 0.05',
        "payments error ratio above 5%",
        "{value}% of payment authorisations end in an error.",
        "payments-error-rate.md",
    ),
    "PaymentsHighLatency": A(
        "critical",
        "histogram_quantile(0.99, sum by (le) (rate(payments_authorise_duration_seconds_bucket[5m]))) > 4",
        "payments authorisation p99 above 4s",
        "p99 authorisation time is {value}s.",
        "payments-high-latency.md",
    ),
    "PaymentsDeclineRateHigh": A(
        "warning",
        "sum(rate(payments_declines_total[10m])) / sum(rate(payments_authorisations_total[10m])) > 0.12",
        "payment decline ratio above 12%",
        "{value}% of authorisations are declined (normal: 3%).",
        "payments-decline-rate-high.md",
    ),
    "CardProcessorErrors": A(
        "critical",
        'probe_success{job="blackbox",target="card-processor"} == 0 or rate(card_processor_errors_total[5m]) > 5',
        "Northwind Payments API errors or timeouts",
        "card-processor returns errors or times out ({value}/s).",
        "payments-error-rate.md",
        "blackbox",
    ),
    "CartHighErrorRate": A(
        "critical",
        'sum(rate(http_server_requests_total{service="cart",code=~"5.."}[5m])) / '
        'sum(rate(http_server_requests_total{service="cart"}[5m])) > 0.02',
        "cart 5xx ratio above 2%",
        "{value}% of cart requests fail.",
        "cart-high-error-rate.md",
    ),
    "CartHighLatency": A(
        "warning",
        'histogram_quantile(0.99, sum by (le) (rate(http_server_duration_seconds_bucket{service="cart"}[5m]))) > 0.8',
        "cart p99 latency above 800ms",
        "p99 latency of cart is {value}s.",
        "cart-high-error-rate.md",
    ),
    "PricingHighLatency": A(
        "warning",
        'histogram_quantile(0.99, sum by (le) (rate(grpc_server_handling_seconds_bucket{service="pricing"}[5m]))) > 0.5',
        "pricing p99 latency above 500ms",
        "p99 of pricing GetPrices is {value}s.",
        "checkout-high-latency.md",
    ),
    "OrdersHighLatency": A(
        "critical",
        'histogram_quantile(0.99, sum by (le) (rate(http_server_duration_seconds_bucket{service="orders"}[5m]))) > 1',
        "orders p99 latency above 1s",
        "p99 latency of orders is {value}s.",
        "orders-high-latency.md",
    ),
    "OrdersHighErrorRate": A(
        "critical",
        'sum(rate(http_server_requests_total{service="orders",code=~"5.."}[5m])) / '
        'sum(rate(http_server_requests_total{service="orders"}[5m])) > 0.02',
        "orders 5xx ratio above 2%",
        "{value}% of orders requests fail.",
        "orders-high-latency.md",
    ),
    "InventoryReservationFailures": A(
        "critical",
        'sum(rate(inventory_reservations_total{result="failed"}[5m])) / sum(rate(inventory_reservations_total[5m])) > 0.05',
        "inventory reservations failing",
        "{value}% of stock reservations fail.",
        "inventory-reservation-failures.md",
    ),
    "ApiGatewayHigh5xxRate": A(
        "critical",
        'sum(rate(envoy_http_downstream_rq_xx{envoy_response_code_class="5"}[5m])) / '
        "sum(rate(envoy_http_downstream_rq_total[5m])) > 0.02",
        "api-gateway 5xx ratio above 2%",
        "{value}% of gateway responses are 5xx.",
        "api-gateway-high-5xx.md",
        "envoy",
    ),
    "ApiGatewayRateLimiting": A(
        "warning",
        'sum(rate(envoy_http_downstream_rq_xx{envoy_response_code="429"}[5m])) > 50',
        "api-gateway is rate limiting clients",
        "{value} requests/s are answered 429.",
        "api-gateway-rate-limiting.md",
        "envoy",
    ),
    "ApiGatewayRequestRateSpike": A(
        "warning",
        "sum by (route) (rate(envoy_http_downstream_rq_total[5m])) > 3 * sum by (route) "
        "(rate(envoy_http_downstream_rq_total[5m] offset 1w))",
        "request rate 3x above last week",
        "Requests on route {route} are {value}x last week's rate.",
        "traffic-spike.md",
        "envoy",
    ),
    "AuthLoginFailures": A(
        "critical",
        'sum(rate(auth_logins_total{result="error"}[5m])) / sum(rate(auth_logins_total[5m])) > 0.1',
        "sign-in failures above 10%",
        "{value}% of sign-ins fail.",
        "auth-login-failures.md",
    ),
    "MobileBffHighErrorRate": A(
        "critical",
        'sum(rate(http_server_requests_total{service="mobile-bff",code=~"[45].."}[5m])) / '
        'sum(rate(http_server_requests_total{service="mobile-bff"}[5m])) > 0.05',
        "mobile-bff error ratio above 5%",
        "{value}% of app requests fail.",
        "mobile-bff-high-error-rate.md",
    ),
    "WebFrontendHighLatency": A(
        "critical",
        "histogram_quantile(0.95, sum by (le) (rate(nextjs_request_duration_seconds_bucket[5m]))) > 2",
        "web-frontend p95 above 2s",
        "p95 page render time is {value}s.",
        "web-frontend-high-latency.md",
    ),
    "WebFrontendHighErrorRate": A(
        "critical",
        'sum(rate(nextjs_requests_total{status=~"5.."}[5m])) / sum(rate(nextjs_requests_total[5m])) > 0.02',
        "web-frontend 5xx ratio above 2%",
        "{value}% of page renders fail.",
        "web-frontend-high-latency.md",
    ),
    "SearchHighLatency": A(
        "critical",
        'histogram_quantile(0.99, sum by (le) (rate(http_server_duration_seconds_bucket{service="search"}[5m]))) > 1.2',
        "search p99 latency above 1.2s",
        "p99 latency of search is {value}s.",
        "search-high-latency.md",
    ),
    "SearchHighErrorRate": A(
        "critical",
        'sum(rate(http_server_requests_total{service="search",code=~"5.."}[5m])) / '
        'sum(rate(http_server_requests_total{service="search"}[5m])) > 0.02',
        "search 5xx ratio above 2%",
        "{value}% of searches fail.",
        "search-high-error-rate.md",
    ),
    "CatalogHighLatency": A(
        "warning",
        'histogram_quantile(0.99, sum by (le) (rate(http_server_duration_seconds_bucket{service="catalog"}[5m]))) > 0.8',
        "catalog p99 latency above 800ms",
        "p99 latency of catalog is {value}s.",
        "postgres-replication-lag.md",
    ),
    "RecommendationsHighLatency": A(
        "warning",
        'histogram_quantile(0.99, sum by (le) (rate(http_server_duration_seconds_bucket{service="recommendations"}[5m]))) > 0.6',
        "recommendations p99 above 600ms",
        "p99 latency of recommendations is {value}s.",
        "recommendations-high-latency.md",
    ),
    "NotificationsSendFailures": A(
        "warning",
        'sum(rate(notifications_sent_total{result="failed"}[10m])) / sum(rate(notifications_sent_total[10m])) > 0.05',
        "notification sends failing",
        "{value}% of notifications fail to send.",
        "notifications-send-failures.md",
    ),
    "ShippingLabelBacklog": A(
        "warning",
        "shipping_labels_pending > 500",
        "shipping label backlog above 500",
        "{value} orders wait for a shipping label.",
        "kafka-consumer-lag.md",
    ),
    "ConfigServiceFetchErrors": A(
        "critical",
        "sum(rate(config_client_fetch_errors_total[5m])) > 10",
        "services cannot fetch configuration",
        "{value} config fetches/s fail across services.",
        "revert-a-config-change.md",
    ),
    "KafkaConsumerLag": A(
        "warning",
        "sum by (consumergroup, topic) (kafka_consumergroup_lag) > 10000",
        "Kafka consumer group lagging",
        "Consumer group {consumergroup} is {value} messages behind on {topic}.",
        "kafka-consumer-lag.md",
        "kafka-exporter",
    ),
    "KafkaUnderReplicatedPartitions": A(
        "critical",
        "sum(kafka_server_replicamanager_underreplicatedpartitions) > 0",
        "Kafka has under-replicated partitions",
        "{value} partitions are under-replicated.",
        "kafka-broker-down.md",
        "kafka-jmx",
    ),
    "PostgresReplicationLag": A(
        "warning",
        "pg_replication_lag_seconds > 30",
        "Postgres replica lagging",
        "Replica {instance} is {value}s behind the primary.",
        "postgres-replication-lag.md",
        "postgres-exporter",
    ),
    "PostgresConnectionsSaturated": A(
        "critical",
        "sum by (cluster) (pg_stat_activity_count) / on (cluster) pg_settings_max_connections > 0.9",
        "Postgres connections above 90% of max_connections",
        "{value}% of connections in use on {cluster}.",
        "postgres-connections-saturated.md",
        "postgres-exporter",
    ),
    "PostgresInstanceDown": A(
        "critical",
        "pg_up == 0",
        "Postgres instance down",
        "{instance} does not answer.",
        "postgres-primary-failover.html",
        "postgres-exporter",
    ),
    "PostgresLongRunningQueries": A(
        "warning",
        'max by (cluster) (pg_stat_activity_max_tx_duration{state="active"}) > 300',
        "Postgres query running for more than 5 minutes",
        "The longest query on {cluster} runs for {value}s.",
        "schema-migrations.md",
        "postgres-exporter",
    ),
    "RedisEvictions": A(
        "warning",
        "increase(redis_evicted_keys_total[5m]) > 1000",
        "Redis evicting keys",
        "{instance} evicted {value} keys in 5 minutes.",
        "redis-evictions.md",
        "redis-exporter",
    ),
    "RedisInstanceDown": A(
        "critical",
        "redis_up == 0",
        "Redis instance down",
        "{instance} does not answer.",
        "redis-instance-down.md",
        "redis-exporter",
    ),
    "ElasticsearchClusterHealthRed": A(
        "critical",
        'elasticsearch_cluster_health_status{color="red"} == 1',
        "Elasticsearch cluster is red",
        "Cluster {cluster} has unassigned primary shards.",
        "elasticsearch-cluster-red.md",
        "elasticsearch-exporter",
    ),
    "ElasticsearchDiskWatermarkHigh": A(
        "warning",
        "1 - elasticsearch_filesystem_data_available_bytes / elasticsearch_filesystem_data_size_bytes > 0.85",
        "Elasticsearch data disk above the high watermark",
        "{instance} disk is {value}% full.",
        "elasticsearch-cluster-red.md",
        "elasticsearch-exporter",
    ),
    # chronic and decoy alerts
    "KubePodCrashLooping": A(
        "warning",
        'max_over_time(kube_pod_container_status_waiting_reason{reason="CrashLoopBackOff"}[5m]) >= 1',
        "Pod is crash looping",
        "Pod {pod} is in CrashLoopBackOff.",
        "",
        "kube-state-metrics",
    ),
    "KubeContainerOOMKilled": A(
        "warning",
        "increase(kube_pod_container_status_restarts_total[10m]) > 0 and on (pod) "
        'kube_pod_container_status_last_terminated_reason{reason="OOMKilled"} == 1',
        "Container OOM killed",
        "Container in pod {pod} was OOM killed.",
        "",
        "kube-state-metrics",
    ),
    "CertificateExpiringSoon": A(
        "info",
        "probe_ssl_earliest_cert_expiry - time() < 21 * 86400",
        "TLS certificate expires in less than 21 days",
        "The certificate of {instance} expires in {value} days.",
        "",
        "blackbox",
    ),
    "CPUThrottlingHigh": A(
        "info",
        "sum(increase(container_cpu_cfs_throttled_periods_total[5m])) / sum(increase(container_cpu_cfs_periods_total[5m])) "
        "> 0.25",
        "Container CPU throttled",
        "{value}% of CPU periods of {pod} are throttled.",
        "",
        "cadvisor",
    ),
    "SmsGatewayHighLatency": A(
        "warning",
        "histogram_quantile(0.99, sum by (le) (rate(sms_send_duration_seconds_bucket[5m]))) > 5",
        "SMS carrier slow",
        "p99 SMS send time is {value}s.",
        "notifications-send-failures.md",
    ),
    "EmailBounceRateHigh": A(
        "warning",
        "sum(rate(email_bounces_total[1h])) / sum(rate(email_sent_total[1h])) > 0.05",
        "e-mail bounce rate above 5%",
        "{value}% of e-mails bounce.",
        "notifications-send-failures.md",
    ),
}


def labels_for(alertname: str, entity: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The label set Prometheus attaches to ``alertname`` firing on ``entity``."""
    d = ALERTS[alertname]
    e = BY_NAME[entity]
    labels = {"alertname": alertname, "severity": d.severity, "env": "production", "team": e.owner}
    if isinstance(e, Component):
        labels.update(service=e.name, namespace=e.namespace, job=d.job or e.name)
    elif isinstance(e, Resource):
        labels["job"] = d.job or "blackbox"
        if e.type == "kafka-topic":
            labels["topic"] = e.name
        elif e.instances:
            labels["cluster"] = e.name
            labels["instance"] = e.instances[0]
    labels.update(extra or {})
    return labels


def generator_url(alertname: str) -> str:
    return f"{PROMETHEUS_URL}/graph?g0.expr={quote(ALERTS[alertname].expr, safe='')}&g0.tab=1"


def annotations_for(alertname: str, labels: dict[str, str], value: str) -> dict[str, str]:
    d = ALERTS[alertname]
    fields = {**labels, "value": value}
    out = {"summary": d.summary, "description": d.description.format_map(_Default(fields))}
    if d.runbook:
        out["runbook_url"] = f"{RUNBOOK_BASE}/{d.runbook}"
    return out


class _Default(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "?"
