"""SLSA v1 provenance (in-toto Statement v1) for every release built from the commerce monorepo."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from gen_common import GIT_REPO, GITHUB_ORG, REGISTRY, Writer, dump_json, image_digest, iso, rng


def statement(release: dict[str, str]) -> dict[str, Any]:
    service, version, commit = release["service"], release["version"], release["commit"]
    merged = datetime.fromisoformat(release["merged_at"].replace("Z", "+00:00"))
    r = rng("build", service, version)
    run_id = 11_000_000_000 + r.randrange(10**9)
    repo_url = f"https://github.com/{GITHUB_ORG}/{GIT_REPO}"
    workflow = f".github/workflows/release-{service}.yml"
    return {
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": f"{REGISTRY}/{service}", "digest": {"sha256": image_digest(service, version)}}],
        "predicateType": "https://slsa.dev/provenance/v1",
        "predicate": {
            "buildDefinition": {
                "buildType": "https://actions.github.io/buildtypes/workflow/v1",
                "externalParameters": {"workflow": {"ref": "refs/heads/main", "repository": repo_url, "path": workflow}},
                "internalParameters": {
                    "github": {
                        "event_name": "push",
                        "repository_id": "781240556",
                        "repository_owner_id": "90817264",
                        "runner_environment": "github-hosted",
                    }
                },
                "resolvedDependencies": [{"uri": f"git+{repo_url}@refs/heads/main", "digest": {"gitCommit": commit}}],
            },
            "runDetails": {
                "builder": {"id": f"{repo_url}/{workflow}@refs/heads/main"},
                "metadata": {
                    "invocationId": f"{repo_url}/actions/runs/{run_id}/attempts/1",
                    "startedOn": iso(merged + timedelta(seconds=20)),
                    "finishedOn": iso(merged + timedelta(minutes=9)),
                },
            },
        },
    }


def write_provenance(w: Writer, releases: list[dict[str, str]]) -> None:
    for rel in releases:
        w.text(f"provenance/{rel['service']}-{rel['version']}.intoto.json", dump_json(statement(rel)))
