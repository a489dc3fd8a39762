"""Static checks of the Citus compose profile (deploy/citus-compose.yaml) merged over
deploy/compose.yaml, and of deploy/README.md's "Moving to Citus". `make test-citus` runs the
cluster itself; this checks what an operator gets without one (no container runtime here)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
BASE = DEPLOY / "compose.yaml"
CITUS = DEPLOY / "citus-compose.yaml"
README = DEPLOY / "README.md"
ONE_SHOTS = ("citus-setup", "citus-distribute")


def merged() -> dict[str, Any]:
    """Compose's merge of the override: mappings merge key by key, anything else is replaced."""

    def merge(a: Any, b: Any) -> Any:
        if isinstance(a, dict) and isinstance(b, dict):
            return {k: merge(a[k], b[k]) if k in a and k in b else b.get(k, a.get(k)) for k in a | b}
        return b

    return merge(yaml.safe_load(BASE.read_text()), yaml.safe_load(CITUS.read_text()))


def settings(service: dict[str, Any]) -> dict[str, str]:
    argv = [str(a) for a in service["command"]]
    return dict(argv[i + 1].split("=", 1) for i, a in enumerate(argv) if a == "-c")


def active(service: dict[str, Any], profiles: set[str]) -> bool:
    return not service.get("profiles") or bool(set(service["profiles"]) & profiles)


def test_the_profile_is_a_coordinator_and_two_workers_with_what_citus_needs() -> None:
    services = merged()["services"]
    nodes = ["postgres"] + [n for n in services if n.startswith("citus-worker-")]
    assert len(nodes) == 3, nodes
    for name in nodes:
        node = services[name]
        assert node["image"] == "${CITUS_IMAGE:?set it in deploy/.env}", name
        found = settings(node)
        assert found["shared_preload_libraries"] == "citus", name
        assert found["wal_level"] == "logical", f"{name}: online shard moves need logical replication"
        assert "healthcheck" in node, name
        # the base file's keepalives are kept (the scheduler's leadership lock, deploy/README.md)
        assert {k: found.get(k) for k in settings(yaml.safe_load(BASE.read_text())["services"]["postgres"])
                if k.startswith("tcp_")} == {k: v for k, v in found.items() if k.startswith("tcp_")}
    volumes = merged()["volumes"]
    for name in nodes:
        (volume,) = services[name]["volumes"]
        assert volume.split(":")[0] in volumes and volume.endswith(":/var/lib/postgresql/data"), name
    assert len({services[n]["volumes"][0] for n in nodes}) == 3, "each node its own volume"


def test_the_setup_adds_every_worker_and_the_logins_on_every_node() -> None:
    services = merged()["services"]
    workers = sorted(n for n in services if n.startswith("citus-worker-"))
    script = services["citus-setup"]["command"][0]
    assert re.findall(r"citus_add_node\('([\w-]+)', 5432\)", script) == workers
    assert set(services["citus-setup"]["depends_on"]) == {"postgres", *workers}
    # The extension and the logins on every node: a worker reaches the other worker too, and
    # pg_dist_authinfo is not copied between nodes.
    loop = script.partition("done")[0]
    hosts = re.search(r"for h in ([\w\- ]+); do", loop)
    assert hosts and hosts.group(1).split() == ["postgres", *workers], loop
    assert "CREATE EXTENSION IF NOT EXISTS citus" in loop
    for role in ("groupbuy", "groupbuy_app"):
        assert f"(0, '{role}'" in loop and f"(-1, '{role}'" in loop, role
    assert "ON_ERROR_STOP=1" in services["citus-distribute"]["command"][0]
    assert "-f /citus.sql" in services["citus-distribute"]["command"][0]
    assert "./citus.sql:/citus.sql:ro" in services["citus-distribute"]["volumes"]


def test_everything_starts_in_order_and_every_dependency_is_active_with_the_profile() -> None:
    services = merged()["services"]
    on = {n for n, s in services.items() if active(s, {"citus"})}
    for name in on:
        for dep, cond in (services[name].get("depends_on") or {}).items():
            assert dep in on, f"{name} depends on {dep}, which the profile does not start"
            if cond["condition"] == "service_healthy":
                assert "healthcheck" in services[dep], (name, dep)
            if dep in ONE_SHOTS or dep == "migrate":
                assert cond["condition"] == "service_completed_successfully", (name, dep)
    deps = {n: set(services[n].get("depends_on") or {}) for n in on}
    assert "citus-setup" in deps["migrate"]
    assert "migrate" in deps["citus-distribute"]
    for app in ("api", "worker", "scheduler"):
        assert "citus-distribute" in deps[app], app
        assert services[app]["environment"]["GROUPBUY_CITUS"] == "true", app
    assert services["migrate"]["environment"]["GROUPBUY_CITUS"] == "true"
    for name in ONE_SHOTS:
        assert services[name]["restart"] == "no", name


def test_the_profile_variables_are_in_the_env_example() -> None:
    example = (DEPLOY / ".env.example").read_text()
    used = set(re.findall(r"\$\{(\w+)", CITUS.read_text()))
    missing = {v for v in used if not re.search(rf"^#?\s*{v}=", example, re.M)}
    assert missing == set(), f"variables not in deploy/.env.example: {sorted(missing)}"


def test_the_readme_says_how_to_move_and_what_each_step_locks() -> None:
    text = README.read_text()
    section = text.split("## Moving to Citus", 1)[1].split("\n## ", 1)[0]
    for heading in ("### Build or obtain Citus", "### Start a cluster", "### Distribute the database",
                    "### Add a worker and rebalance", "### Kubernetes"):
        assert heading in section, heading
    for call in ("citus_add_node", "citus_rebalance_start", "citus_move_shard_placement", "wal_level = logical",
                 "citus-compose.yaml", "make test-citus", "make bench-citus"):
        assert call in section, call
    # the tests it names exist
    for path, name in re.findall(r"`(tests/[\w/]+\.py)::(\w+)`", section):
        assert f"def {name}(" in (ROOT / path).read_text(), (path, name)
