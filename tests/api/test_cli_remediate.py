"""``vidya remediate``, ``approve``, ``execute``, ``audit`` and ``policy``.

Errors are checked in a separate process, as a user meets them (one line, exit 1); the
rest runs in-process through click's runner, which is much faster.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner, Result

from agents.records import CandidateKind
from api.cli import cli
from graph.factory import GraphConfig, open_store
from tests.agents.helpers import shop, svc
from tests.agents.test_remediation import saved_diagnosis
from tests.api.test_cli import vidya

ACTORS = {"VIDYA_ALLOWED_ACTORS": "alice, bob"}
_CLEAN = {"VIDYA_ALLOWED_ACTORS": None, "VIDYA_EXECUTOR_URL": None, "VIDYA_EXECUTOR_TOKEN": None,
          "VIDYA_POLICY_FILE": None, "VIDYA_GRAPH_BACKEND": None}


def run(*args: str, home: Path, env: dict[str, str] | None = None) -> Result:
    """The command in this process; Vidya errors surface as exceptions here (they are checked with ``vidya``)."""
    return CliRunner().invoke(cli, [*args, "--home", str(home)], env={**_CLEAN, **(env or {})},
                              catch_exceptions=False)


@pytest.fixture
def home(tmp_path: Path) -> tuple[Path, str]:
    """A data directory holding the shop and a saved diagnosis of web: a deploy of web at 80%."""
    home = tmp_path / "home"
    store = open_store(GraphConfig(sqlite_path=home / "graph.db"))
    try:
        shop().change("deploy:web-9", svc("web"), 10).write(store)
        did = saved_diagnosis(store, svc("web"), [(CandidateKind.DEPLOY, "deploy:web-9", svc("web"), 0.8)],
                              signal="WebHighErrorRate")
    finally:
        store.close()
    return home, did


@pytest.fixture
def webhook() -> Iterator[tuple[str, list[dict[str, object]]]]:
    received: list[dict[str, object]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b'{"job": "j-1"}')

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook", received
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_remediate_names_action_target_tier_approval_and_past_outcomes(home: tuple[Path, str]) -> None:
    path, did = home
    result = run("remediate", did, "--json", home=path)
    assert result.exit_code == 0, result.output
    plan = json.loads(result.stdout)
    assert plan["diagnosis_id"] == did and plan["policy"]["version"] >= 1
    [rec] = plan["recommendations"]
    assert {k: rec[k] for k in ("action", "target", "tier", "approval", "status", "blast_radius")} == {
        "action": "rollback_deploy", "target": svc("web"), "tier": "review", "approval": "async_human",
        "status": "needs_approval", "blast_radius": "single_service"}
    assert rec["past_outcomes"] == [] and rec["candidate"]["node_id"] == "deploy:web-9"
    table = run("remediate", did, home=path, env={"COLUMNS": "200"})
    assert table.exit_code == 0, table.output
    assert "rollback_deploy" in table.stdout and "review" in table.stdout and "needs async_human" in table.stdout
    missing = vidya("remediate", "diagnosis:nope", home=path)
    assert missing.returncode == 1 and "diagnosis:nope: no saved diagnosis" in missing.stderr


def test_approve_execute_and_audit(home: tuple[Path, str], webhook: tuple[str, list[dict[str, object]]]) -> None:
    path, did = home
    url, received = webhook
    rid = json.loads(run("remediate", did, "--json", home=path).stdout)["recommendations"][0]["id"]
    hook = {**ACTORS, "VIDYA_EXECUTOR_URL": url, "VIDYA_EXECUTOR_TOKEN": "t0k"}

    no_executor = vidya("execute", rid, "--as", "bob", home=path, env=ACTORS)
    assert no_executor.returncode == 1
    assert "no executor configured (set VIDYA_EXECUTOR_URL)" in no_executor.stderr
    unapproved = run("execute", rid, "--as", "bob", home=path, env=hook)
    assert unapproved.exit_code == 1 and "needs a async_human approval" in unapproved.stdout
    assert run("approve", rid, "--by", "mallory", home=path, env=ACTORS).exit_code == 1
    assert run("approve", rid, "--by", "alice", home=path, env=ACTORS).exit_code == 0
    done = run("execute", rid, "--as", "bob", "--json", home=path, env=hook)
    assert done.exit_code == 0, done.output
    report = json.loads(done.stdout)
    assert report["status"] == "succeeded" and report["result"]["http_status"] == 200
    assert [(r["action"], r["approver"], r["actor"]) for r in received] == [("rollback_deploy", "alice", "bob")]

    trail = json.loads(run("audit", "--since", "1h", "--json", home=path).stdout)
    assert [(e["kind"], e["actor"]) for e in trail] == [
        ("recommendation", "vidya"), ("execution", "bob"), ("execution", "bob"),
        ("approval", "mallory"), ("approval", "alice"), ("execution", "bob")]
    # the diagnosis entry is dated when the diagnosis was made
    since_june = json.loads(run("audit", "--since", "2026-06-01T00:00:00Z", "--until", "1h", "--json",
                                home=path).stdout)
    assert [(e["kind"], e["at"]) for e in since_june] == [("diagnosis", "2026-06-01T12:01:00+00:00")]
    executions = json.loads(run("audit", "--since", "1h", "--kind", "execution", "--target", "web", "--json",
                                home=path).stdout)
    assert [e["outputs"]["status"] for e in executions] == ["refused", "refused", "succeeded"]
    recommended_at = trail[0]["at"]
    why = json.loads(run("audit", "--why", "rollback", "--at", recommended_at, "--json", home=path).stdout)
    assert why[0]["recommendation"]["tier"] == "review" and why[0]["diagnosis"] == did
    assert why[0]["candidates"][0]["node_id"] == "deploy:web-9"
    assert [f["kind"] for f in why[0]["followups"]] == ["execution", "execution", "approval", "approval", "execution"]
    bad = vidya("audit", "--since", "yesterday", home=path)
    assert bad.returncode == 1 and "--since 'yesterday': expected an RFC 3339 time" in bad.stderr


def test_policy_show_and_check(tmp_path: Path) -> None:
    shown = json.loads(run("policy", "show", "--json", home=tmp_path).stdout)
    assert [t["name"] for t in shown["tiers"]] == ["auto", "review", "live", "platform"]
    assert run("policy", "check", home=tmp_path).exit_code == 0
    bad = tmp_path / "policy.yaml"
    doc = {"version": 1, "tiers": [{"name": "auto", "max_blast_radius": "single_pod", "min_confidence": 1.2,
                                    "actions": ["restart_pod"], "approval": "none", "cooldown": "30m"}]}
    bad.write_text(yaml.safe_dump(doc))
    checked = vidya("policy", "check", str(bad), home=tmp_path)
    assert checked.returncode == 1
    assert checked.stderr.strip() == f"error: {bad}: tiers[0] (auto).min_confidence: 1.2 is outside [0, 1]"
    as_json = run("policy", "check", "--json", home=tmp_path, env={"VIDYA_POLICY_FILE": str(bad)})
    assert as_json.exit_code == 1 and json.loads(as_json.stdout)["ok"] is False
