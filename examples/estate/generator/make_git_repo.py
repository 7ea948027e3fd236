"""Build Larkspur's ``commerce`` monorepo (payments, checkout, orders) with reproducible commit shas.

Usage::

    python examples/estate/generator/make_git_repo.py /tmp/larkspur-commerce        # prints the releases as JSON
    vidya ingest /tmp/larkspur-commerce

Every commit has fixed content, author, committer and dates (``GIT_AUTHOR_DATE`` /
``GIT_COMMITTER_DATE``) and git runs without the user's or the system's configuration,
so the same shas come out on every machine. Feature branches are merged into ``main``
with GitHub-style merge commits (``Merge pull request #N from larkspur/branch``) whose
messages carry the requirement (``PAY-142``) or the issue they fix (``Fixes #12``).
Each release PR bumps ``services/<service>/VERSION`` and is tagged ``<service>/v<version>``;
the SLSA statements in ``provenance/`` name these merge commits as their source.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

ORG = "larkspur"
REPO = "commerce"
DOMAIN = "larkspur.example"
GITHUB = ("GitHub", "noreply@github.com")
IMPORTED_AT = datetime(2026, 10, 20, 9, 0, tzinfo=UTC)
#: the versions running when the services moved into the monorepo
BASE_VERSIONS = {"payments": "1.44.0", "checkout": "2.30.0", "orders": "3.17.0"}
LANG_DIR = {
    "payments": "src/main/java/com/larkspur/payments",
    "checkout": "src/main/java/com/larkspur/checkout",
    "orders": "src/main/java/com/larkspur/orders",
}


@dataclass(frozen=True)
class Commit:
    author: str
    hours_before_merge: float
    message: str
    file: str  # relative to the service's source folder
    line: str  # appended to the file


@dataclass(frozen=True)
class PullRequest:
    number: int
    service: str
    version: str | None  # the release this PR ships; None for a non-release PR
    branch: str
    title: str
    merged_at: datetime
    merger: str
    commits: tuple[Commit, ...]


def _t(month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


C = Commit
PULL_REQUESTS: tuple[PullRequest, ...] = (
    PullRequest(
        41,
        "checkout",
        "2.31.0",
        "chk-88-delivery-estimate",
        "CHK-88: Show the delivery estimate on the review step",
        _t(10, 21, 14, 20),
        "Sofia Marino",
        (
            C(
                "Daniel Cho",
                26,
                "CHK-88: Fetch delivery estimates from shipping-api",
                "DeliveryEstimate.java",
                "record DeliveryEstimate(String carrier, LocalDate earliest, LocalDate latest) {}",
            ),
            C(
                "Daniel Cho",
                3,
                "CHK-88: Render the estimate on the review step",
                "ReviewStep.java",
                'view.put("deliveryEstimate", shipping.estimate(cart.address(), cart.items()));',
            ),
        ),
    ),
    PullRequest(
        42,
        "payments",
        "1.45.0",
        "pay-142-idempotency-keys",
        "PAY-142: Add idempotency keys to capture requests",
        _t(10, 22, 10, 12),
        "Omar Haddad",
        (
            C(
                "Julia Novak",
                30,
                "PAY-142: Send an Idempotency-Key header on capture",
                "CaptureClient.java",
                'request.header("Idempotency-Key", capture.paymentId() + ":" + capture.attempt());',
            ),
            C(
                "Julia Novak",
                20,
                "PAY-142: Store idempotency keys for 24 hours",
                "IdempotencyStore.java",
                "static final Duration KEY_TTL = Duration.ofHours(24);",
            ),
            C(
                "Ravi Iyer",
                2,
                "Add tests for repeated captures",
                "CaptureClientTest.java",
                "@Test void repeatedCaptureIsDeduplicated() { assertEquals(1, processor.captures()); }",
            ),
        ),
    ),
    PullRequest(
        43,
        "orders",
        "3.18.0",
        "ord-57-status-history",
        "ORD-57: Add an order status history endpoint",
        _t(10, 23, 9, 30),
        "Ingrid Larsen",
        (
            C(
                "Samuel Adeyemi",
                28,
                "ORD-57: Record every status transition",
                "StatusHistory.java",
                "history.append(orderId, from, to, Instant.now(clock));",
            ),
            C(
                "Mei Lin",
                5,
                "ORD-57: GET /v1/orders/{id}/history",
                "OrdersController.java",
                '@GetMapping("/v1/orders/{id}/history") List<StatusChange> history(@PathVariable UUID id)',
            ),
        ),
    ),
    PullRequest(
        44,
        "checkout",
        "2.32.0",
        "chk-91-address-validation",
        "CHK-91: Validate addresses through shipping-api",
        _t(10, 27, 10, 5),
        "Sofia Marino",
        (
            C(
                "Grace Mensah",
                22,
                "CHK-91: Call shipping-api to validate the delivery address",
                "AddressValidator.java",
                "return shipping.validate(address).orElseThrow(InvalidAddressException::new);",
            ),
        ),
    ),
    PullRequest(
        45,
        "payments",
        "1.46.0",
        "pay-151-apple-pay",
        "PAY-151: Support Apple Pay wallet tokens",
        _t(10, 28, 13, 40),
        "Omar Haddad",
        (
            C(
                "Ravi Iyer",
                48,
                "PAY-151: Decrypt Apple Pay payment tokens",
                "WalletTokenDecoder.java",
                "PaymentToken token = applePay.decrypt(envelope, merchantKeys.current());",
            ),
            C(
                "Ravi Iyer",
                6,
                "PAY-151: Route wallet payments to the network token flow",
                "AuthorisationRouter.java",
                "if (method.isWallet()) return networkTokenFlow.authorise(payment);",
            ),
        ),
    ),
    PullRequest(
        46,
        "checkout",
        "2.32.1",
        "fix-voucher-on-cart-edit",
        "Keep the voucher when the cart is edited",
        _t(10, 30, 15, 45),
        "Daniel Cho",
        (
            C(
                "Grace Mensah",
                4,
                "Keep the applied voucher when items change\n\nFixes #19",
                "VoucherPolicy.java",
                "if (cart.voucher() != null && promotions.stillValid(cart)) keep(cart.voucher());",
            ),
        ),
    ),
    PullRequest(
        47,
        "payments",
        "1.46.1",
        "fix-double-refund",
        "Fix a double refund on partial captures",
        _t(11, 3, 9, 25),
        "Julia Novak",
        (
            C(
                "Omar Haddad",
                5,
                "Refund only the captured amount on partial captures\n\nFixes #12",
                "RefundService.java",
                "Money refundable = capture.amount().min(request.amount().minus(alreadyRefunded));",
            ),
        ),
    ),
    PullRequest(
        48,
        "checkout",
        "2.33.0",
        "chk-97-one-click-pay",
        "CHK-97: One-click pay for saved cards",
        _t(11, 5, 11, 15),
        "Sofia Marino",
        (
            C(
                "Daniel Cho",
                50,
                "CHK-97: One-click pay with a saved card (behind checkout.one-click-pay)",
                "OneClickPay.java",
                'if (flags.enabled("checkout.one-click-pay", customer)) return payments.payWithSavedCard(cart);',
            ),
            C(
                "Grace Mensah",
                8,
                "CHK-97: Skip the payment step when one-click pay is on",
                "CheckoutFlow.java",
                "steps.remove(Step.PAYMENT_METHOD);",
            ),
        ),
    ),
    PullRequest(
        49,
        "orders",
        "3.19.0",
        "ord-61-paginate-by-created-at",
        "ORD-61: Paginate the order list by created_at",
        _t(11, 6, 13, 10),
        "Ingrid Larsen",
        (
            C(
                "Mei Lin",
                27,
                "ORD-61: Keyset pagination on (created_at, id)",
                "OrderRepository.java",
                "WHERE seller_id = :seller AND (created_at, id) < (:cursorAt, :cursorId) ORDER BY created_at DESC, id DESC",
            ),
            C(
                "Mei Lin",
                26,
                "ORD-61: Add V88 migration: index orders(created_at)",
                "db/V88__index_orders_created_at.sql",
                "CREATE INDEX orders_created_at_idx ON orders (seller_id, created_at DESC, id DESC);",
            ),
        ),
    ),
    PullRequest(
        50,
        "orders",
        "3.19.1",
        "fix-export-timeout",
        "Stream the order export for large sellers",
        _t(11, 10, 10, 20),
        "Samuel Adeyemi",
        (
            C(
                "Samuel Adeyemi",
                6,
                "Stream order exports instead of loading them whole\n\nFixes #27",
                "OrderExport.java",
                "try (Stream<Order> orders = repository.streamBySeller(sellerId)) { csv.write(orders); }",
            ),
        ),
    ),
    PullRequest(
        51,
        "payments",
        "1.47.0",
        "pay-163-retry-timeouts",
        "PAY-163: Retry card-processor authorisations on timeout",
        _t(11, 10, 13, 5),
        "Omar Haddad",
        (
            C(
                "Julia Novak",
                25,
                "PAY-163: Retry authorisations that time out",
                "AuthorisationClient.java",
                "return retry.withMaxAttempts(5).onTimeout().call(() -> processor.authorise(request));",
            ),
            C(
                "Julia Novak",
                4,
                "PAY-163: Lower the authorisation timeout to 2 seconds",
                "application.yaml",
                "card-processor.timeout: 2s",
            ),
        ),
    ),
    PullRequest(
        52,
        "payments",
        "1.47.1",
        "cap-authorisation-retries",
        "Cap authorisation retries and add jitter",
        _t(11, 11, 10, 30),
        "Ravi Iyer",
        (
            C(
                "Ravi Iyer",
                14,
                "Cap authorisation retries at 2 with jittered backoff\n\nFixes #31",
                "AuthorisationClient.java",
                "return retry.withMaxAttempts(2).backoff(jittered(Duration.ofMillis(200))).call(() -> "
                "processor.authorise(request));",
            ),
            C(
                "Julia Novak",
                3,
                "Restore the 8 second authorisation timeout\n\nRefs #31",
                "application.yaml",
                "card-processor.timeout: 8s",
            ),
        ),
    ),
    PullRequest(
        53,
        "checkout",
        "2.34.0",
        "chk-102-tax-lines",
        "CHK-102: Split tax lines per seller",
        _t(11, 12, 11, 15),
        "Sofia Marino",
        (
            C(
                "Grace Mensah",
                30,
                "CHK-102: Compute tax per seller",
                "TaxLines.java",
                "return cart.bySeller().map((seller, items) -> tax.calculate(seller.nexus(), items));",
            ),
        ),
    ),
    PullRequest(
        54,
        "checkout",
        None,
        "ci-pin-actions",
        "CI: pin GitHub Actions to commit shas",
        _t(11, 13, 9, 0),
        "Marta Kowalski",
        (
            C(
                "Marta Kowalski",
                2,
                "CI: pin actions/checkout and docker/build-push-action to shas",
                "../../.github/pins.txt",
                "actions/checkout@b4ffde65f46336ab88eb53be808477a3936bae11",
            ),
        ),
    ),
    PullRequest(
        55,
        "orders",
        "3.20.0",
        "ord-66-cancel-refund-ref",
        "ORD-66: Emit order.cancelled with the refund reference",
        _t(11, 16, 14, 0),
        "Ingrid Larsen",
        (
            C(
                "Samuel Adeyemi",
                24,
                "ORD-66: Add refundReference to order.cancelled",
                "OrderEvents.java",
                'event.put("refundReference", refund.map(Refund::reference).orElse(null));',
            ),
        ),
    ),
    PullRequest(
        56,
        "payments",
        "1.48.0",
        "pay-170-refund-reasons",
        "PAY-170: Emit payment.refunded events with reason codes",
        _t(11, 17, 11, 0),
        "Omar Haddad",
        (
            C(
                "Julia Novak",
                29,
                "PAY-170: Add reason codes to refunds",
                "RefundReason.java",
                "enum RefundReason { CUSTOMER_REQUEST, DAMAGED, NOT_DELIVERED, FRAUD, OTHER }",
            ),
            C(
                "Ravi Iyer",
                5,
                "PAY-170: Publish the reason on payment.refunded",
                "PaymentEvents.java",
                'event.put("reason", refund.reason().name());',
            ),
        ),
    ),
    PullRequest(
        57,
        "checkout",
        "2.35.0",
        "chk-104-gift-messages",
        "CHK-104: Gift messages at checkout",
        _t(11, 18, 9, 50),
        "Daniel Cho",
        (
            C(
                "Daniel Cho",
                20,
                "CHK-104: Accept a gift message per order",
                "GiftMessage.java",
                "record GiftMessage(@Size(max = 240) String text, boolean hidePrices) {}",
            ),
        ),
    ),
)


def email(name: str) -> str:
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    return ".".join(folded.lower().split()) + "@" + DOMAIN


def _git_date(t: datetime) -> str:
    return f"{int(t.timestamp())} +0000"


class Repo:
    def __init__(self, path: Path, home: Path) -> None:
        self.path = path
        self.base_env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(home),
            "LC_ALL": "C",
            "TZ": "UTC",
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": os.devnull,
        }

    def git(
        self,
        *args: str,
        author: tuple[str, str] | None = None,
        committer: tuple[str, str] | None = None,
        when: datetime | None = None,
    ) -> str:
        env = dict(self.base_env)
        if author and committer and when:
            env.update(
                GIT_AUTHOR_NAME=author[0],
                GIT_AUTHOR_EMAIL=author[1],
                GIT_AUTHOR_DATE=_git_date(when),
                GIT_COMMITTER_NAME=committer[0],
                GIT_COMMITTER_EMAIL=committer[1],
                GIT_COMMITTER_DATE=_git_date(when),
            )
        cmd = [
            "git",
            "-c",
            "core.autocrlf=false",
            "-c",
            "commit.gpgsign=false",
            "-c",
            "tag.gpgsign=false",
            "-c",
            "core.fileMode=true",
            *args,
        ]
        done = subprocess.run(cmd, cwd=self.path, env=env, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"git {' '.join(args)} failed: {done.stderr.strip()}")
        return done.stdout.strip()

    def write(self, rel: str, text: str, append: bool = False) -> None:
        path = self.path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        old = path.read_text() if append and path.exists() else ""
        path.write_text(old + text)
        self.git("add", "--", rel)


def _initial_tree(repo: Repo) -> None:
    repo.write(
        "README.md",
        "# commerce\n\nLarkspur's commerce monorepo: payments, checkout and orders.\n"
        "Each service builds from `services/<name>` with `.github/workflows/release-<name>.yml`.\n",
    )
    repo.write(
        ".github/CODEOWNERS",
        "/services/payments/ @larkspur/payments-team\n/services/checkout/ @larkspur/commerce-team\n"
        "/services/orders/ @larkspur/fulfilment-team\n",
    )
    for service, version in BASE_VERSIONS.items():
        repo.write(
            f".github/workflows/release-{service}.yml",
            f"name: release-{service}\non:\n  push:\n    branches: [main]\n    paths: ['services/{service}/**']\n"
            f"jobs:\n  build:\n    runs-on: ubuntu-24.04\n    permissions: {{id-token: write, packages: write, "
            f"attestations: write}}\n"
            f"    steps:\n      - uses: actions/checkout@v4\n      - uses: docker/build-push-action@v6\n"
            f"        with: {{context: services/{service}, push: true, tags: 'ghcr.io/{ORG}/{service}:${{{{ env.VERSION "
            f"}}}}'}}\n"
            f"      - uses: actions/attest-build-provenance@v2\n",
        )
        repo.write(f"services/{service}/VERSION", version + "\n")
        repo.write(
            f"services/{service}/CHANGELOG.md", f"# {service} changelog\n\n## {version}\n\n- Imported into the monorepo.\n"
        )


def _pull_request(repo: Repo, pr: PullRequest) -> None:
    repo.git("checkout", "-q", "-b", pr.branch)
    for commit in pr.commits:
        when = pr.merged_at - timedelta(hours=commit.hours_before_merge)
        source = f"services/{pr.service}/{LANG_DIR[pr.service]}/{commit.file}"
        if commit.file.startswith("db/"):
            source = f"services/{pr.service}/{commit.file}"
        elif commit.file.startswith("../../"):
            source = commit.file[len("../../") :]
        repo.write(str(Path(source)), commit.line + "\n", append=True)
        person = (commit.author, email(commit.author))
        repo.git("commit", "-q", "-m", commit.message, author=person, committer=person, when=when)
    if pr.version:
        when = pr.merged_at - timedelta(minutes=20)
        repo.write(f"services/{pr.service}/VERSION", pr.version + "\n")
        repo.write(f"services/{pr.service}/CHANGELOG.md", f"\n## {pr.version}\n\n- {pr.title} (#{pr.number})\n", append=True)
        person = (pr.commits[-1].author, email(pr.commits[-1].author))
        repo.git("commit", "-q", "-m", f"Release {pr.service} {pr.version}", author=person, committer=person, when=when)
    repo.git("checkout", "-q", "main")
    message = f"Merge pull request #{pr.number} from {ORG}/{pr.branch}\n\n{pr.title}"
    repo.git(
        "merge",
        "-q",
        "--no-ff",
        "--no-log",
        "-m",
        message,
        pr.branch,
        author=(pr.merger, email(pr.merger)),
        committer=GITHUB,
        when=pr.merged_at,
    )
    repo.git("branch", "-q", "-d", pr.branch)


def build(dest: Path) -> list[dict[str, str]]:
    """Create the repository at ``dest`` (which must not exist or be empty); return the releases."""
    dest.mkdir(parents=True, exist_ok=True)
    if any(dest.iterdir()):
        raise SystemExit(f"{dest}: not empty; give a new directory")
    with tempfile.TemporaryDirectory() as home:
        repo = Repo(dest, Path(home))
        repo.git("init", "-q", "--template=", "-b", "main")
        _initial_tree(repo)
        importer = ("Marta Kowalski", email("Marta Kowalski"))
        repo.git(
            "commit",
            "-q",
            "-m",
            "Import payments, checkout and orders into the commerce monorepo",
            author=importer,
            committer=importer,
            when=IMPORTED_AT,
        )
        releases = []
        for pr in sorted(PULL_REQUESTS, key=lambda p: p.merged_at):
            _pull_request(repo, pr)
            sha = repo.git("rev-parse", "HEAD")
            if pr.version:
                tag = f"{pr.service}/v{pr.version}"
                repo.git("tag", tag)
                releases.append(
                    {
                        "service": pr.service,
                        "version": pr.version,
                        "commit": sha,
                        "tag": tag,
                        "pull_request": str(pr.number),
                        "merged_at": pr.merged_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    }
                )
        return releases


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: make_git_repo.py DIRECTORY", file=sys.stderr)
        return 2
    releases = build(Path(argv[0]))
    print(json.dumps(releases, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
