"""Write the runbooks: Markdown for most, one exported from the wiki as HTML, one vendor-style PDF."""

from __future__ import annotations

from gen_common import Writer
from gen_pdf import render_pdf
from gen_runbooks_edge import EDGE_RUNBOOKS
from gen_runbooks_howto import HOWTO_RUNBOOKS
from gen_runbooks_platform import PLATFORM_RUNBOOKS
from gen_runbooks_services import SERVICE_RUNBOOKS

HTML_RUNBOOK = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Postgres primary failover (PostgresInstanceDown)</title>
<meta name="generator" content="Confluence export">
</head>
<body>
<div id="main-content" class="wiki-content">
<h1>Postgres primary failover (PostgresInstanceDown)</h1>
<p>Owner: <strong>sre-team</strong>. Applies to every Patroni-managed cluster: orders-db, payments-db,
accounts-db, catalog-db, inventory-db, ledger-db, pricing-db, fulfilment-db and platform-db.</p>

<h2>Meaning</h2>
<p><code>PostgresInstanceDown</code> fires when <code>pg_up == 0</code> for an instance, e.g.
<code>accounts-db-1.prod:5432</code>. If the instance was the primary, Patroni promotes the replica
automatically unless the replica is more than <code>maximum_lag_on_failover</code> (1 GB) behind.</p>

<h2>Impact</h2>
<p>Until a new primary is elected, writes fail. For accounts-db that means sign-in fails
(<code>AuthLoginFailures</code> on auth); for orders-db, order creation fails.</p>

<h2>Diagnosis</h2>
<ol>
<li>Check the cluster state:
<pre><code>patronictl -c /etc/patroni/patroni.yml list accounts-db</code></pre></li>
<li>If no member is <em>Leader</em>, check why Patroni did not fail over:
<pre><code>kubectl -n identity logs statefulset/accounts-db --since=15m | grep -iE 'failover|lag|not healthy'</code></pre>
A message like <code>not healthy enough for leader race</code> with a large lag means the replica was too far behind.</li>
<li>Check the replica's lag in bytes:
<pre><code>psql -h accounts-db-2.prod -U postgres -c \
  "SELECT pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn(),
          now() - pg_last_xact_replay_timestamp() AS delay;"</code></pre></li>
</ol>

<h2>Mitigation</h2>
<ol>
<li>Try to bring the old primary back (restart the pod or the instance). If it comes back within
a few minutes, no data is lost.</li>
<li>If it cannot come back, fail over manually and accept losing the replica's lag:
<pre><code>patronictl -c /etc/patroni/patroni.yml failover accounts-db --candidate accounts-db-2 --force</code></pre></li>
<li>Record in the incident how many seconds of writes were lost (compare the last LSN of the old primary
once its disk is readable).</li>
<li>Rebuild the old primary as a replica: <code>patronictl reinit accounts-db accounts-db-1</code>.</li>
</ol>

<h2>Escalation</h2>
<p>SRE on-call, then the database owner team (see the catalog entry of the resource).</p>
</div>
</body>
</html>
"""

PDF_BLOCKS: list[tuple[str, str]] = [
    ("h1", "Card processor failover procedure"),
    (
        "p",
        "Northwind Payments (card-processor) - acquirer incident procedure for Larkspur. Version 3.2, owner: payments-team. "
        "Applies when CardProcessorErrors or PaymentsErrorRate fire and the errors come from the acquirer.",
    ),
    ("h2", "1. Meaning"),
    (
        "p",
        "CardProcessorErrors is the blackbox probe of api.northwind-payments.example:443 plus the error counter of the "
        "payments service's acquirer client. It fires when the probe fails or more than 5 calls per second fail or time out.",
    ),
    ("h2", "2. Impact"),
    (
        "p",
        "Card payments (about 85% of volume) fail or hang while the acquirer is degraded. Wallet payments that use network "
        "tokens are routed the same way and are also affected. Checkout shows 'payment could not be processed'.",
    ),
    ("h2", "3. Diagnosis"),
    (
        "p",
        "First rule out our own changes: look at the last payments and fraud deploys and at payments flags. "
        "A payments release that retries on timeout multiplies the load on the acquirer and looks like an acquirer outage.",
    ),
    ("code", "argocd app history payments-prod | tail -3\nlarkflags history --service payments --since 2h"),
    ("p", "Compare our call rate to the acquirer with the authorisation rate. A ratio far above 1.0 means we are retrying:"),
    ("code", "sum(rate(card_processor_requests_total[5m])) / sum(rate(payments_authorisations_total[5m]))"),
    ("p", "Check the acquirer status page and the merchant dashboard for region-specific incidents (EU, UK)."),
    ("h2", "4. Mitigation: fail over to the backup acquirer"),
    ("p", "The payments service can route card authorisations to the backup acquirer. Enable the flag:"),
    ("code", 'larkflags set payments.secondary-acquirer --on --reason "Northwind degraded"'),
    (
        "p",
        "Within a minute PaymentsErrorRate should drop below 1%. The backup acquirer costs 0.4% more per transaction, "
        "so fail back when Northwind reports recovery:",
    ),
    ("code", 'larkflags set payments.secondary-acquirer --off --reason "Northwind recovered"'),
    (
        "p",
        "Do not enable the backup acquirer for a retry storm caused by our own release: the retries follow the traffic "
        "to the backup acquirer. Roll payments back instead (see rollback-a-deploy).",
    ),
    ("h2", "5. Contacting Northwind"),
    (
        "p",
        "Open a priority 1 ticket in the Northwind merchant portal with merchant id LARK-EU-0042, the time the errors "
        "started (UTC), sample request ids from the payments logs and the error codes. Phone escalation: +44 20 7946 0321.",
    ),
    ("h2", "6. After the incident"),
    (
        "p",
        "Reconcile authorisations that timed out: the nightly reconciliation job matches them with the acquirer's settlement "
        "file. Refund any duplicate captures it reports. Write the postmortem within five working days.",
    ),
    ("h2", "Appendix: error codes"),
    (
        "code",
        "NW-503  acquirer unavailable - retry on backup acquirer\nNW-504  upstream issuer timeout - do not retry\n"
        "NW-429  rate limited - we exceed 1,500 authorisations/s\nNW-401  invalid merchant credentials - rotate the key",
    ),
]


def write_runbooks(w: Writer) -> int:
    for name, text in sorted({**SERVICE_RUNBOOKS, **EDGE_RUNBOOKS, **PLATFORM_RUNBOOKS, **HOWTO_RUNBOOKS}.items()):
        w.text(f"runbooks/{name}", text)
    w.text("runbooks/postgres-primary-failover.html", HTML_RUNBOOK)
    w.bytes("runbooks/card-processor-failover.pdf", render_pdf("Card processor failover procedure", PDF_BLOCKS))
    return len(SERVICE_RUNBOOKS) + len(EDGE_RUNBOOKS) + len(PLATFORM_RUNBOOKS) + len(HOWTO_RUNBOOKS) + 2
