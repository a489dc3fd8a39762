"""Static checks of deploy/: the image, the compose file and the Kubernetes manifests.

Docker is not available here, so nothing is built or started: every file is loaded and the
references between them are checked against the code they run — environment variable names
against service/config.py, probe and health-check paths against the routes of service/app.py,
container commands against the `groupbuy` click command, ports against each other, Secret and
ConfigMap keys against their users, kustomize resources and patches against the files.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import click
import pytest
import yaml
from click.testing import CliRunner
from pydantic import AliasChoices
from starlette.routing import Match

from service.cli import main as cli_main
from service.config import Settings

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
DOCKERFILE = DEPLOY / "Dockerfile"
COMPOSE = DEPLOY / "compose.yaml"
K8S = DEPLOY / "k8s"
BASE = K8S / "base"
OVERLAY = K8S / "overlays" / "example"

SECRET_NAME = "groupbuy-secrets"
CONFIG_NAME = "groupbuy-config"
OWNER_ONLY = "DATABASE_URL"  # the owner role's URL: only migrate and the scheduler may get it


# ---------------------------------------------------------------------------------------------
# what the code accepts


def settings_env_names() -> set[str]:
    """Every environment variable service/config.py reads (upper case; it is case-insensitive)."""
    prefix = Settings.model_config.get("env_prefix", "")
    names: set[str] = set()
    for field_name, field in Settings.model_fields.items():
        alias = field.validation_alias
        if isinstance(alias, AliasChoices):
            names |= {c.upper() for c in alias.choices if isinstance(c, str)}
        elif isinstance(alias, str):
            names.add(alias.upper())
        else:
            names.add(f"{prefix}{field_name}".upper())
    return names


ENV_NAMES = settings_env_names()


def generated_secrets() -> set[str]:
    """Settings secrets that, when not configured, are generated and kept in the data directory:
    each replica would make up its own (and a read-only root filesystem makes that fail), so a
    deployment must provide every one of them. Found as the `<field>_value` properties."""
    prefix = Settings.model_config.get("env_prefix", "")
    return {f"{prefix}{name[: -len('_value')]}".upper() for name, attr in vars(Settings).items()
            if isinstance(attr, property) and name.endswith("_value") and name[: -len("_value")]
            in Settings.model_fields}


# Generated secrets only `groupbuy migrate` needs (it sets the app role's password). The API gets
# every other one (a new one added to Settings fails these tests until deploy/ provides it); the
# workers only those they use (webhook signatures).
MIGRATE_ONLY_SECRETS = {"GROUPBUY_APP_DB_PASSWORD"}
WORKER_SECRETS = {"GROUPBUY_WEBHOOK_KEY"}


def needed_secrets(subcommand: str) -> set[str]:
    if subcommand == "serve":
        return generated_secrets() - MIGRATE_ONLY_SECRETS
    if subcommand == "worker":
        return WORKER_SECRETS
    return set()


def test_generated_secrets_are_found() -> None:
    expected = {"GROUPBUY_PLATFORM_TOKEN", "GROUPBUY_JWT_SECRET", "GROUPBUY_APP_DB_PASSWORD"}
    assert expected <= generated_secrets()
    assert WORKER_SECRETS <= generated_secrets()


def test_the_env_names_include_the_documented_ones() -> None:
    for name in ("DATABASE_URL", "REDIS_URL", "PORT", "GROUPBUY_APP_DATABASE_URL", "GROUPBUY_APP_DB_PASSWORD",
                 "GROUPBUY_PLATFORM_TOKEN", "GROUPBUY_JWT_SECRET", "GROUPBUY_ENV", "GROUPBUY_HOST"):
        assert name in ENV_NAMES


def _routes() -> list[Any]:
    from service.app import create_app

    app: Any = create_app()
    # create_app() may wrap the Starlette app in middleware: unwrap until the router.
    for _ in range(20):
        if hasattr(app, "routes"):
            return list(app.routes)
        app = getattr(app, "app", None)
        assert app is not None, "no Starlette app with routes found inside create_app()"
    raise AssertionError("create_app() is wrapped too deeply")


ROUTES = _routes()


def route_exists(path: str, method: str = "GET") -> bool:
    scope = {"type": "http", "path": path, "method": method, "root_path": ""}
    return any(route.matches(scope)[0] == Match.FULL for route in ROUTES)


def test_route_check_tells_existing_from_missing() -> None:
    assert route_exists("/healthz") and route_exists("/readyz")
    assert not route_exists("/no-such-probe")


def check_groupbuy_argv(argv: list[str]) -> click.Command:
    """The argv a container runs is a valid `groupbuy` invocation: the (sub)command exists and its
    options parse and convert (click parses them without running anything)."""
    assert argv and argv[0] == "groupbuy", f"{argv}: not the groupbuy command"
    command: click.Command = cli_main
    args = list(argv[1:])
    path = ["groupbuy"]
    while isinstance(command, click.Group):
        assert args, f"{argv}: no subcommand"
        name = args.pop(0)
        sub = command.get_command(click.Context(command), name)
        assert sub is not None, f"{argv}: `{' '.join(path)} {name}` does not exist"
        path.append(name)
        command = sub
    try:
        command.make_context(" ".join(path), args)
    except click.ClickException as e:
        raise AssertionError(f"{argv}: {e.format_message()}") from e
    return command


def test_the_argv_check_refuses_unknown_commands_and_options() -> None:
    with pytest.raises(AssertionError):
        check_groupbuy_argv(["groupbuy", "no-such-command"])
    with pytest.raises(AssertionError):
        check_groupbuy_argv(["groupbuy", "serve", "--no-such-option"])
    with pytest.raises(AssertionError):
        check_groupbuy_argv(["groupbuy", "serve", "--port", "not-a-number"])
    check_groupbuy_argv(["groupbuy", "serve", "--host", "0.0.0.0", "--port", "8000"])


def groupbuy_help() -> str:
    result = CliRunner().invoke(cli_main, ["--help"])
    assert result.exit_code == 0, result.output
    return result.output


def listed_in_help(subcommand: str) -> bool:
    return re.search(rf"^\s+{re.escape(subcommand)}\s", groupbuy_help(), re.M) is not None


def test_pyproject_installs_the_groupbuy_entry_point() -> None:
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts.get("groupbuy") == "service.cli:main"


# ---------------------------------------------------------------------------------------------
# the Dockerfile


def dockerfile_instructions() -> list[tuple[str, str]]:
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    out = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        keyword, _, rest = line.partition(" ")
        out.append((keyword.upper(), rest.strip()))
    return out


def dockerfile_stages() -> list[list[tuple[str, str]]]:
    stages: list[list[tuple[str, str]]] = []
    for keyword, rest in dockerfile_instructions():
        if keyword == "FROM":
            stages.append([])
        if stages:
            stages[-1].append((keyword, rest))
    return stages


def exec_form(value: str) -> list[str]:
    parsed = yaml.safe_load(value)  # a JSON array is YAML
    assert isinstance(parsed, list) and all(isinstance(x, str) for x in parsed), f"not exec form: {value}"
    return parsed


def image_entrypoint() -> list[str]:
    final = dockerfile_stages()[-1]
    entry = [rest for keyword, rest in final if keyword == "ENTRYPOINT"]
    assert entry, "the final stage has no ENTRYPOINT"
    return exec_form(entry[-1])


def image_cmd() -> list[str]:
    cmd = [rest for keyword, rest in dockerfile_stages()[-1] if keyword == "CMD"]
    return exec_form(cmd[-1]) if cmd else []


def test_the_image_is_multi_stage_and_its_runtime_stage_is_clean() -> None:
    stages = dockerfile_stages()
    assert len(stages) >= 2, "expected a build stage and a runtime stage"
    names = [re.search(r"\bAS\s+(\S+)", rest, re.I) for _, rest in (s[0] for s in stages)]
    build_names = {m.group(1) for m in names[:-1] if m}
    final = stages[-1]
    copied_from = {m.group(1) for kw, rest in final if kw == "COPY"
                   for m in [re.search(r"--from=(\S+)", rest)] if m}
    assert copied_from and copied_from <= build_names, "the runtime stage copies from an unknown stage"
    final_text = " ".join(rest for _, rest in final)
    for forbidden in ("pip install", "[dev]", "gcc", "build-essential", "apt-get install"):
        assert forbidden not in final_text, f"runtime stage runs {forbidden!r}"
    # only runtime dependencies: the build installs the package itself, never its dev extra
    build_text = " ".join(rest for stage in stages[:-1] for _, rest in stage)
    assert "pip install" in build_text and "[dev]" not in build_text and ".[" not in build_text


def test_the_image_runs_as_a_non_root_user() -> None:
    users = [rest for keyword, rest in dockerfile_stages()[-1] if keyword == "USER"]
    assert users, "the runtime stage has no USER"
    user = users[-1].split(":")[0]
    assert user not in {"root", "0"}, f"runs as {users[-1]}"


def test_the_entry_point_is_groupbuy_and_the_default_command_is_valid() -> None:
    assert image_entrypoint() == ["groupbuy"]
    check_groupbuy_argv(image_entrypoint() + image_cmd())


def test_the_image_exposes_the_api_port() -> None:
    exposed = {rest.split("/")[0] for keyword, rest in dockerfile_stages()[-1] if keyword == "EXPOSE"}
    port = option_value(image_cmd(), "--port")
    assert port in exposed


def test_the_image_env_names_are_known() -> None:
    for keyword, rest in dockerfile_stages()[-1]:
        if keyword == "ENV":
            for name in re.findall(r"(\w+)=", rest):
                assert name.upper() in ENV_NAMES or name.startswith(("PYTHON", "PATH")), name


def dockerignore_patterns() -> list[str]:
    return [line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()
            if line.strip() and not line.startswith("#")]


def test_the_build_context_keeps_what_the_image_copies_and_drops_local_state() -> None:
    patterns = dockerignore_patterns()
    for must_ignore in (".git", ".venv", ".data", "tests"):
        assert must_ignore in patterns, f".dockerignore should exclude {must_ignore}"
    for keyword, rest in dockerfile_instructions():
        if keyword == "COPY" and "--from" not in rest:
            sources = rest.split()[:-1]
            for source in sources:
                assert (ROOT / source).exists(), f"COPY {source}: not in the repository"
                top = source.strip("./").split("/")[0]
                assert top not in patterns, f"COPY {source} but .dockerignore excludes it"


# ---------------------------------------------------------------------------------------------
# the compose file


def load_compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())


def option_value(argv: list[str], option: str) -> str | None:
    if option in argv:
        return argv[argv.index(option) + 1]
    for arg in argv:
        if arg.startswith(option + "="):
            return arg.split("=", 1)[1]
    return None


def compose_groupbuy_services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    out = {}
    for name, service in compose["services"].items():
        build = service.get("build")
        if isinstance(build, dict) and build.get("dockerfile", "").endswith("deploy/Dockerfile"):
            out[name] = service
    return out


def compose_argv(service: dict[str, Any]) -> list[str]:
    entry = service.get("entrypoint", image_entrypoint())
    entry = shlex.split(entry) if isinstance(entry, str) else list(entry)
    command = service.get("command", image_cmd())
    command = shlex.split(command) if isinstance(command, str) else list(command)
    return entry + [str(x) for x in command]


def env_dict(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {str(k): str(v) for k, v in env.items()}


def test_compose_has_every_part() -> None:
    compose = load_compose()
    services = compose["services"]
    assert services["postgres"]["image"].startswith("postgres:")
    assert services["redis"]["image"].startswith("redis:")
    gb = compose_groupbuy_services(compose)
    by_sub = {}
    for name, service in gb.items():
        by_sub.setdefault(compose_argv(service)[1], []).append((name, service))
    replicas = {sub: sum(s.get("deploy", {}).get("replicas", 1) for _, s in items)
                for sub, items in by_sub.items()}
    assert replicas.get("migrate") == 1
    assert replicas.get("serve", 0) >= 2, "two API replicas"
    assert replicas.get("worker", 0) >= 2, "two workers"
    assert replicas.get("scheduler", 0) >= 1
    (migrate_name, migrate), = by_sub["migrate"]
    assert str(migrate.get("restart", "no")) == "no", "migrate is one-shot"


def test_compose_commands_exist_in_groupbuy_help() -> None:
    for name, service in compose_groupbuy_services(load_compose()).items():
        argv = compose_argv(service)
        check_groupbuy_argv(argv)
        assert listed_in_help(argv[1]), f"{name}: `{argv[1]}` is not listed in groupbuy --help"


def test_compose_build_points_at_the_dockerfile() -> None:
    for name, service in compose_groupbuy_services(load_compose()).items():
        context = (DEPLOY / service["build"]["context"]).resolve()
        assert (context / service["build"]["dockerfile"]).resolve() == DOCKERFILE, name


def test_compose_services_start_after_migrate_and_their_dependencies() -> None:
    compose = load_compose()
    services = compose["services"]
    for name, service in compose_groupbuy_services(compose).items():
        deps = service.get("depends_on") or {}
        assert isinstance(deps, dict), f"{name}: depends_on needs conditions"
        for dep, cond in deps.items():
            assert dep in services, f"{name} depends on unknown service {dep}"
            if cond["condition"] == "service_healthy":
                assert "healthcheck" in services[dep], f"{name} waits for {dep} to be healthy: no healthcheck"
        if compose_argv(service)[1] == "migrate":
            assert deps["postgres"]["condition"] == "service_healthy"
        else:
            migrates = [d for d in deps if compose_argv(services[d])[1:2] == ["migrate"]] if deps else []
            assert migrates and deps[migrates[0]]["condition"] == "service_completed_successfully", (
                f"{name} must start after the migration completed"
            )


def test_compose_env_names_are_settings() -> None:
    for name, service in compose_groupbuy_services(load_compose()).items():
        for env in env_dict(service):
            assert env.upper() in ENV_NAMES, f"{name}: {env} is not read by service/config.py"


def test_compose_variables_are_in_the_env_example() -> None:
    example = set(env_example())
    used = set(re.findall(r"\$\{(\w+)", COMPOSE.read_text()))
    assert used, "compose uses no variables?"
    assert used <= example, f"variables not in deploy/.env.example: {sorted(used - example)}"


_VARIABLE = re.compile(r"\$\{(\w+)(?:(:?[-?])([^}]*))?\}")


def interpolate(value: str, variables: dict[str, str]) -> str:
    """Compose's ${VAR}, ${VAR:-default} and ${VAR:?error} interpolation."""

    def one(m: re.Match[str]) -> str:
        name, op, arg = m.group(1), m.group(2), m.group(3)
        if name in variables and (variables[name] or not (op or "").startswith(":")):
            return variables[name]
        assert not (op or "").endswith("?"), f"${{{name}}} is required: {arg}"
        return arg if op else ""

    return _VARIABLE.sub(one, value)


def env_example() -> dict[str, str]:
    return env_file(DEPLOY / ".env.example")


def test_compose_least_privilege_and_urls() -> None:
    compose = load_compose()
    services = compose["services"]
    app_role = Settings.model_fields["app_db_role"].default
    passwords = set()
    variables = env_example()
    for name, service in compose_groupbuy_services(compose).items():
        env = {k: interpolate(v, variables) for k, v in env_dict(service).items()}
        sub = compose_argv(service)[1]
        if sub in {"serve", "worker"}:
            assert OWNER_ONLY not in env, f"{name} ({sub}) must not get the owner's {OWNER_ONLY}"
            assert "GROUPBUY_APP_DATABASE_URL" in env, f"{name} ({sub}) must connect as the app role"
            missing = needed_secrets(sub) - set(env)
            assert not missing, f"{name}: {missing} would be generated per container"
        if sub == "migrate":
            assert OWNER_ONLY in env and "GROUPBUY_APP_DB_PASSWORD" in env
            passwords.add(env["GROUPBUY_APP_DB_PASSWORD"])
        if sub == "scheduler":
            assert OWNER_ONLY in env, "the scheduler's leadership lock uses the owner connection"
        for key, value in env.items():
            if key.endswith("_URL"):
                url = urlsplit(value)
                assert url.hostname in services, f"{name}: {key} points at {url.hostname}, not a service"
                if key == "GROUPBUY_APP_DATABASE_URL":
                    assert url.username == app_role
                    passwords.add(url.password)
    assert len(passwords) == 1, f"the app role's password differs between migrate and the URLs: {passwords}"


def _health_urls(service: dict[str, Any]) -> list[str]:
    test = service.get("healthcheck", {}).get("test", [])
    text = " ".join(test) if isinstance(test, list) else str(test)
    return re.findall(r"http://[^'\"\s]+", text)


def test_compose_api_healthcheck_uses_healthz_and_readyz_on_the_served_port() -> None:
    compose = load_compose()
    for name, service in compose_groupbuy_services(compose).items():
        argv = compose_argv(service)
        if argv[1] != "serve":
            continue
        port = option_value(argv, "--port")
        assert port in [str(p) for p in service.get("expose", [])], f"{name}: --port {port} not exposed"
        assert env_dict(service).get("PORT", port) == port
        text = " ".join(service["healthcheck"]["test"])
        paths = set(re.findall(r"/(?:healthz|readyz)\b", text))
        assert paths == {"/healthz", "/readyz"}, f"{name}: healthcheck uses {paths}"
        for path in paths:
            assert route_exists(path)
        for url in _health_urls(service):
            assert urlsplit(url).port == int(port)


def test_compose_load_balancer_targets_the_api_port() -> None:
    compose = load_compose()
    lb = compose["services"]["lb"]
    mounts = [v.split(":")[0] for v in lb["volumes"]]
    conf_path = DEPLOY / mounts[0]
    assert conf_path.exists()
    conf = conf_path.read_text()
    listen = re.search(r"listen\s+(\d+)", conf).group(1)
    assert any(str(p).endswith(f":{listen}") for p in lb["ports"]), "published port does not reach nginx"
    api_ports = {option_value(compose_argv(s), "--port") for s in compose_groupbuy_services(compose).values()
                 if compose_argv(s)[1] == "serve"}
    upstreams = set(re.findall(r"http://(\w+):(\d+)", conf))
    api_services = {n for n, s in compose_groupbuy_services(compose).items() if compose_argv(s)[1] == "serve"}
    assert upstreams and all(host in api_services and port in api_ports for host, port in upstreams)
    for url in _health_urls(lb):
        assert route_exists(urlsplit(url).path)


# ---------------------------------------------------------------------------------------------
# the Kubernetes manifests


def load_docs(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def kustomization(directory: Path) -> dict[str, Any]:
    return yaml.safe_load((directory / "kustomization.yaml").read_text())


def base_objects() -> list[dict[str, Any]]:
    out = []
    for resource in kustomization(BASE)["resources"]:
        out += load_docs(BASE / resource)
    return out


def by_kind(kind: str) -> dict[str, dict[str, Any]]:
    return {o["metadata"]["name"]: o for o in base_objects() if o["kind"] == kind}


def secret_keys(secret: dict[str, Any]) -> set[str]:
    return set(secret.get("stringData") or {}) | set(secret.get("data") or {})


def pod_specs() -> Iterator[tuple[str, dict[str, Any]]]:
    for obj in base_objects():
        if obj["kind"] in {"Deployment", "Job", "StatefulSet", "DaemonSet"}:
            yield f"{obj['kind']}/{obj['metadata']['name']}", obj["spec"]["template"]["spec"]


def containers() -> Iterator[tuple[str, dict[str, Any]]]:
    for label, spec in pod_specs():
        for c in spec.get("initContainers", []) + spec["containers"]:
            yield f"{label}/{c['name']}", c


def container_argv(c: dict[str, Any]) -> list[str]:
    command = c.get("command", image_entrypoint())
    args = c.get("args", [] if "command" in c else image_cmd())
    return [str(x) for x in command + args]


def env_file(path: Path) -> dict[str, str]:
    out = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            out[key.strip()] = value.strip()
    return out


def test_every_yaml_file_under_deploy_loads() -> None:
    files = sorted(DEPLOY.rglob("*.yaml")) + sorted(DEPLOY.rglob("*.yml"))
    assert len(files) > 10
    for path in files:
        assert load_docs(path), f"{path} is empty"


@pytest.mark.parametrize("directory", [BASE, OVERLAY], ids=["base", "overlay"])
def test_kustomization_files_exist(directory: Path) -> None:
    k = kustomization(directory)
    for resource in k.get("resources", []):
        target = (directory / resource).resolve()
        assert target.exists(), f"{directory.name}: resource {resource} does not exist"
        if target.is_dir():
            assert (target / "kustomization.yaml").exists(), f"{resource}: not a kustomization"
    for patch in k.get("patches", []):
        if "path" in patch:
            assert (directory / patch["path"]).exists(), patch["path"]
    for gen in k.get("configMapGenerator", []) + k.get("secretGenerator", []):
        for f in gen.get("envs", []) + gen.get("files", []):
            assert (directory / f.split("=")[-1]).exists(), f


def test_every_manifest_in_base_is_listed_in_its_kustomization() -> None:
    listed = set(kustomization(BASE)["resources"])
    present = {p.name for p in BASE.glob("*.yaml")} - {"kustomization.yaml"}
    assert present == listed, f"not listed: {present - listed}; missing: {listed - present}"


def test_base_has_every_part() -> None:
    deployments = by_kind("Deployment")
    subs = {container_argv(d["spec"]["template"]["spec"]["containers"][0])[1]: name
            for name, d in deployments.items()}
    assert {"serve", "worker", "scheduler"} <= set(subs)
    assert by_kind("Job"), "a migration Job"
    assert by_kind("HorizontalPodAutoscaler") and by_kind("PodDisruptionBudget") and by_kind("Service")
    assert CONFIG_NAME in by_kind("ConfigMap") and SECRET_NAME in by_kind("Secret")


def test_container_commands_exist_in_groupbuy_help() -> None:
    for label, c in containers():
        argv = container_argv(c)
        check_groupbuy_argv(argv)
        assert listed_in_help(argv[1]), f"{label}: `{argv[1]}` is not listed in groupbuy --help"


def test_containers_use_the_kustomize_image_name() -> None:
    names = {i["name"] for k in (kustomization(BASE), kustomization(OVERLAY)) for i in k["images"]}
    for label, c in containers():
        assert c["image"] in names, f"{label}: image {c['image']} is not rewritten by kustomize"


def test_env_names_and_secret_and_configmap_references() -> None:
    secrets = by_kind("Secret")
    configmaps = by_kind("ConfigMap")
    for name, cm in configmaps.items():
        for key in cm["data"]:
            assert key.upper() in ENV_NAMES, f"ConfigMap {name}: {key} is not read by service/config.py"
    for name, secret in secrets.items():
        for key in secret_keys(secret):
            assert key.upper() in ENV_NAMES, f"Secret {name}: {key} is not read by service/config.py"
    for label, c in containers():
        for src in c.get("envFrom", []):
            if "configMapRef" in src:
                assert src["configMapRef"]["name"] in configmaps, label
            if "secretRef" in src:
                assert src["secretRef"]["name"] in secrets, label
        for env in c.get("env", []):
            assert env["name"].upper() in ENV_NAMES, f"{label}: {env['name']} not read by service/config.py"
            ref = env.get("valueFrom", {})
            if "secretKeyRef" in ref:
                r = ref["secretKeyRef"]
                assert r["name"] in secrets, f"{label}: Secret {r['name']} does not exist"
                assert r["key"] in secret_keys(secrets[r["name"]]), f"{label}: Secret key {r['key']} missing"
            if "configMapKeyRef" in ref:
                r = ref["configMapKeyRef"]
                assert r["name"] in configmaps, f"{label}: ConfigMap {r['name']} does not exist"
                assert r["key"] in configmaps[r["name"]]["data"], f"{label}: ConfigMap key {r['key']} missing"


def _container_env_names(c: dict[str, Any]) -> set[str]:
    names = {e["name"] for e in c.get("env", [])}
    for src in c.get("envFrom", []):
        if "configMapRef" in src:
            names |= set(by_kind("ConfigMap")[src["configMapRef"]["name"]]["data"])
        if "secretRef" in src:
            names |= secret_keys(by_kind("Secret")[src["secretRef"]["name"]])
    return names


def test_each_component_gets_the_credentials_it_needs_and_no_more() -> None:
    for label, c in containers():
        sub = container_argv(c)[1]
        names = _container_env_names(c)
        if sub == "migrate":
            assert {"DATABASE_URL", "GROUPBUY_APP_DB_PASSWORD"} <= names, label
        elif sub == "scheduler":
            assert {"DATABASE_URL", "GROUPBUY_APP_DATABASE_URL", "REDIS_URL"} <= names, label
        else:
            assert OWNER_ONLY not in names, f"{label} must not get the owner's {OWNER_ONLY}"
            assert {"GROUPBUY_APP_DATABASE_URL", "REDIS_URL"} <= names, label
        missing = needed_secrets(sub) - names
        assert not missing, f"{label}: {missing} would be generated per pod"


@pytest.mark.parametrize("source", ["base", "overlay"])
def test_the_app_role_url_matches_the_password_migrate_sets(source: str) -> None:
    if source == "base":
        values = by_kind("Secret")[SECRET_NAME]["stringData"]
    else:
        gen = next(g for g in kustomization(OVERLAY)["secretGenerator"] if g["name"] == SECRET_NAME)
        values = {}
        for f in gen["envs"]:
            values |= env_file(OVERLAY / f)
        base_keys = secret_keys(by_kind("Secret")[SECRET_NAME])
        assert set(values) == base_keys, "the overlay's Secret drops or adds keys"
    role = by_kind("ConfigMap")[CONFIG_NAME]["data"].get("GROUPBUY_APP_DB_ROLE",
                                                         Settings.model_fields["app_db_role"].default)
    app = urlsplit(values["GROUPBUY_APP_DATABASE_URL"])
    owner = urlsplit(values["DATABASE_URL"])
    assert app.username == role and app.password == values["GROUPBUY_APP_DB_PASSWORD"]
    assert (app.hostname, app.port, app.path) == (owner.hostname, owner.port, owner.path), "not one database"


def test_api_ports_and_probes() -> None:
    configmap = by_kind("ConfigMap")[CONFIG_NAME]["data"]
    (api_name, api), = [(n, d) for n, d in by_kind("Deployment").items()
                        if container_argv(d["spec"]["template"]["spec"]["containers"][0])[1] == "serve"]
    c = api["spec"]["template"]["spec"]["containers"][0]
    port = int(option_value(container_argv(c), "--port"))
    assert int(configmap.get("PORT", port)) == port
    ports = {p["name"]: p["containerPort"] for p in c["ports"]}
    assert port in ports.values(), f"--port {port} is not a containerPort"
    assert c["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert c["livenessProbe"]["httpGet"]["path"] == "/healthz"
    for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
        if probe in c:
            get = c[probe]["httpGet"]
            assert route_exists(get["path"]), f"{probe} path {get['path']} is not a route of service/app.py"
            assert ports.get(get["port"], get["port"]) == port, f"{probe} port {get['port']}"
    # The Service reaches the api pods on that port.
    labels = api["spec"]["template"]["metadata"]["labels"]
    services = [s for s in by_kind("Service").values() if s["spec"]["selector"].items() <= labels.items()]
    assert services, "no Service selects the api pods"
    for s in services:
        for p in s["spec"]["ports"]:
            assert ports.get(p["targetPort"], p["targetPort"]) == port


def test_selectors_hpa_and_pdbs_match_the_workloads() -> None:
    deployments = by_kind("Deployment")
    for name, d in deployments.items():
        selector = d["spec"]["selector"]["matchLabels"]
        assert selector.items() <= d["spec"]["template"]["metadata"]["labels"].items(), name
    pdb_targets = set()
    for name, pdb in by_kind("PodDisruptionBudget").items():
        selector = pdb["spec"]["selector"]["matchLabels"]
        matched = [n for n, d in deployments.items()
                   if selector.items() <= d["spec"]["template"]["metadata"]["labels"].items()]
        assert len(matched) == 1, f"PDB {name} selects {matched}"
        pdb_targets |= set(matched)
    assert pdb_targets == set(deployments), f"no PodDisruptionBudget for {set(deployments) - pdb_targets}"
    for name, hpa in by_kind("HorizontalPodAutoscaler").items():
        target = hpa["spec"]["scaleTargetRef"]
        assert target["kind"] == "Deployment" and target["name"] in deployments, name
        d = deployments[target["name"]]
        assert "replicas" not in d["spec"], f"{target['name']}: replicas belong to the HPA {name}"
        assert container_argv(d["spec"]["template"]["spec"]["containers"][0])[1] == "serve"
        assert 1 <= hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"]


def test_resources_and_security_context_everywhere() -> None:
    for label, spec in pod_specs():
        assert spec["securityContext"]["runAsNonRoot"] is True, label
        assert spec["securityContext"]["runAsUser"] != 0, label
        assert spec.get("automountServiceAccountToken") is False, label
    for label, c in containers():
        for kind in ("requests", "limits"):
            for res in ("cpu", "memory"):
                assert res in c["resources"][kind], f"{label}: no {kind}.{res}"
        assert c["securityContext"]["allowPrivilegeEscalation"] is False, label
        assert c["securityContext"]["readOnlyRootFilesystem"] is True, label


def test_the_migration_job_runs_before_the_rollout() -> None:
    (job_name, job), = by_kind("Job").items()
    c = job["spec"]["template"]["spec"]["containers"][0]
    assert container_argv(c)[1] == "migrate"
    assert job["spec"]["template"]["spec"]["restartPolicy"] in {"Never", "OnFailure"}
    assert job["metadata"]["annotations"]["argocd.argoproj.io/hook"] == "PreSync"
    script = (K8S / "deploy.sh").read_text()
    component = job["metadata"]["labels"]["app.kubernetes.io/component"]
    assert f"job/{job_name}" in script and f"app.kubernetes.io/component={component}" in script
    wait = script.index(f"wait --for=condition=complete job/{job_name}")
    full_apply = script.index('kubectl apply -k "$overlay"\n')
    assert wait < full_apply, "deploy.sh must wait for the migration before applying the Deployments"
    for name in by_kind("Deployment"):
        assert f"groupbuy-{name.split('-', 1)[1]}" in script or name in script
    # the label selectors deploy.sh uses pick the right objects
    for obj in base_objects():
        labels = obj["metadata"].get("labels", {})
        if obj["kind"] == "Job":
            assert labels.get("app.kubernetes.io/component") == component
        elif obj["kind"] in {"ConfigMap", "Secret", "ServiceAccount"}:
            assert "app.kubernetes.io/component" not in labels, obj["metadata"]["name"]
    assert kustomization(BASE)["labels"][0]["pairs"]["app.kubernetes.io/part-of"] == "groupbuy"
    namespaces = load_docs(OVERLAY / "namespace.yaml")
    assert all(ns["metadata"]["labels"]["app.kubernetes.io/part-of"] == "groupbuy" for ns in namespaces)


def test_the_overlay_patches_things_that_exist() -> None:
    k = kustomization(OVERLAY)
    deployments = by_kind("Deployment")
    for r in k.get("replicas", []):
        assert r["name"] in deployments, f"replicas: no Deployment {r['name']}"
        assert "replicas" in deployments[r["name"]]["spec"], f"{r['name']} is scaled by an HPA"
    assert {i["name"] for i in k["images"]} <= {i["name"] for i in kustomization(BASE)["images"]}
    for gen, kind in (("configMapGenerator", "ConfigMap"), ("secretGenerator", "Secret")):
        for g in k.get(gen, []):
            assert g.get("behavior") in {"merge", "replace"} and g["name"] in by_kind(kind), g["name"]
            for literal in g.get("literals", []):
                assert literal.split("=", 1)[0].upper() in ENV_NAMES, literal
    names = {(o["kind"], o["metadata"]["name"]) for o in base_objects()}
    for patch in k.get("patches", []):
        if "target" in patch:
            assert (patch["target"]["kind"], patch["target"]["name"]) in names, patch["target"]
        else:
            for doc in load_docs(OVERLAY / patch["path"]):
                assert (doc["kind"], doc["metadata"]["name"]) in names, patch["path"]
                base = by_kind(doc["kind"])[doc["metadata"]["name"]]
                base_containers = {c["name"] for c in base["spec"]["template"]["spec"]["containers"]}
                for c in doc["spec"]["template"]["spec"].get("containers", []):
                    assert c["name"] in base_containers, f"{patch['path']}: no container {c['name']}"


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")
@pytest.mark.parametrize("directory", [BASE, OVERLAY], ids=["base", "overlay"])
def test_kustomize_renders(directory: Path) -> None:
    """kubectl kustomize works offline: the real renderer accepts the files."""
    out = subprocess.run(["kubectl", "kustomize", str(directory)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    rendered = [d for d in yaml.safe_load_all(out.stdout) if d]
    kinds = {d["kind"] for d in rendered}
    assert {"Deployment", "Job", "HorizontalPodAutoscaler", "PodDisruptionBudget", "ConfigMap", "Secret",
            "Service"} <= kinds
    if directory == OVERLAY:
        for d in rendered:
            if d["kind"] in {"Deployment", "Job"}:
                for c in d["spec"]["template"]["spec"]["containers"]:
                    assert c["image"] == "registry.example.com/acme/groupbuy:0.1.0"


def test_nginx_never_proxies_the_operators_endpoints() -> None:
    """/metrics (every tenant's order counts) and /status (component details) stay inside: the
    shipped nginx answers 404 for them before its catch-all location proxies anything."""
    conf = (DEPLOY / "nginx.conf").read_text()
    blocks = re.findall(r"location\s+(~\*?|=|\^~)?\s*(\S+)\s*\{([^}]*)\}", conf)
    refused = [(kind, pattern) for kind, pattern, body in blocks if re.search(r"return\s+404\s*;", body)]
    assert refused, "no location refuses the operators' endpoints"
    for path in ("/metrics", "/metrics/", "/status", "/status/x"):
        assert any((kind.startswith("~") and re.search(pattern, path)) or (kind == "=" and pattern == path)
                   or (kind in ("", "^~") and path.startswith(pattern)) for kind, pattern in refused), path
    for path in ("/graphql", "/app/", "/healthz", "/readyz", "/metricsx", "/statuses"):
        assert not any(kind.startswith("~") and re.search(pattern, path) for kind, pattern in refused), path
    assert re.search(r"client_header_timeout\s+\d+s", conf), "nginx must time out slow request heads"
