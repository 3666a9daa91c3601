"""Deployment assets checked against the code they deploy: commands, settings, search attributes.

Docker can't run here, so compose and the Dockerfile are checked structurally. Kubernetes
manifests are built with `kubectl kustomize`, rules with `promtool` and the Alertmanager snippet
with `amtool` when those tools are installed (Debian: kubectl, prometheus,
prometheus-alertmanager).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tomllib
import types
import typing
from pathlib import Path

import pytest
import yaml
from pydantic import BaseModel
from sqlalchemy.engine import make_url

from infra.settings import Settings
from tests.conftest import missing

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "infra" / "deploy"
KUBERNETES = DEPLOY / "kubernetes"
PROMETHEUS = DEPLOY / "prometheus"
LIM_SERVICES = ("temporal-search-attributes", "migrate", "worker", "api")


def is_settings_variable(name: str) -> bool:
    """Whether `LIM_A__B` names a field of Settings (`a`, then field `b` of that group)."""
    if not name.startswith("LIM_"):
        return False
    model: type[BaseModel] = Settings
    for part in name.removeprefix("LIM_").lower().split("__"):
        if part not in model.model_fields:
            return False
        nested = _model_in(model.model_fields[part].annotation)
        if nested is None:
            return True  # a plain value, or a dict whose keys are the rest of the name
        model = nested
    return True


def _model_in(annotation: object) -> type[BaseModel] | None:
    candidates = typing.get_args(annotation) if isinstance(
        annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union else (
        annotation,)
    return next((c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)), None)


def lim_commands() -> set[str]:
    cli = pytest.importorskip("worker.cli", reason="worker.cli not written yet")
    import typer.main

    return set(typer.main.get_command(cli.app).commands)


def product_search_attributes() -> list[str]:
    product = pytest.importorskip("infra.temporal", reason="infra.temporal not committed yet")
    return [key.name for key in product.SEARCH_ATTRIBUTES]


def load(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


def compose() -> dict:
    return load(ROOT / "docker-compose.yml")


def registered_in_script(script: str) -> list[str]:
    match = re.search(r"for name in ([\w ]+); do", script)
    assert match, "the script registers attributes in a `for name in ...` loop"
    assert "--type Keyword" in script
    return match.group(1).split()


# --- settings names ---------------------------------------------------------------------------

def test_the_settings_name_check_knows_real_names_from_made_up_ones():
    assert is_settings_variable("LIM_DATABASE_URL")
    assert is_settings_variable("LIM_NOTIFY__SLACK__BOT_TOKEN")
    assert is_settings_variable("LIM_INGEST__DISPATCH_CONCURRENCY")
    assert not is_settings_variable("LIM_DATABASE")
    assert not is_settings_variable("LIM_NOTIFY__SLACK__TOKEN")
    assert not is_settings_variable("DATABASE_URL")


def test_every_variable_lim_up_passes_to_children_is_a_setting(tmp_path):
    from worker.up import child_environment

    env = child_environment(Settings(data_dir=tmp_path, config_file=tmp_path / "c.yaml"), {})
    assert [name for name in env if name.startswith("LIM_") and
            not is_settings_variable(name)] == []


# --- docker compose ---------------------------------------------------------------------------

def test_compose_runs_postgres_temporal_ui_jobs_worker_and_api():
    services = compose()["services"]
    assert set(services) == {"postgresql", "temporal", "temporal-ui", *LIM_SERVICES}
    assert services["temporal"]["environment"]["DB"] == "postgres12"
    assert services["temporal-ui"]["environment"]["TEMPORAL_ADDRESS"] == "temporal:7233"


def test_compose_temporal_reads_our_dynamic_config():
    temporal = compose()["services"]["temporal"]
    source, target, *_ = next(v for v in temporal["volumes"] if "dynamicconfig" in v).split(":")
    assert (ROOT / source).resolve() == DEPLOY / "temporal" / "dynamicconfig.yaml"
    assert target == "/etc/temporal/" + temporal["environment"]["DYNAMIC_CONFIG_FILE_PATH"]


def test_compose_product_services_use_real_settings_and_postgres():
    services = compose()["services"]
    for name in LIM_SERVICES:
        env = services[name]["environment"]
        assert [var for var in env if not is_settings_variable(var)] == [], name
        assert env["LIM_TEMPORAL_ADDRESS"] == "temporal:7233"
        url = make_url(env["LIM_DATABASE_URL"].replace("${POSTGRES_PASSWORD:-lim}", "pw"))
        assert (url.drivername, url.host, url.database) == ("postgresql+psycopg", "postgresql",
                                                            "lim")


def test_compose_product_services_run_lim_commands_that_exist():
    services = compose()["services"]
    commands = {services[name]["command"][0] for name in ("migrate", "worker", "api")}
    assert commands <= lim_commands()


def test_compose_registers_exactly_the_workflow_search_attributes():
    job = compose()["services"]["temporal-search-attributes"]
    assert registered_in_script(job["command"][0]) == product_search_attributes()


def test_compose_starts_worker_and_api_only_after_migrations_and_attributes():
    services = compose()["services"]
    for name in ("worker", "api"):
        depends = services[name]["depends_on"]
        assert depends["migrate"]["condition"] == "service_completed_successfully"
        assert depends["temporal-search-attributes"]["condition"] == (
            "service_completed_successfully")


def test_compose_workers_can_be_scaled():
    worker = compose()["services"]["worker"]
    assert "container_name" not in worker and "ports" not in worker


def test_compose_api_health_check_asks_the_api_port():
    api = compose()["services"]["api"]
    port = api["environment"]["LIM_API_PORT"]
    assert f"{port}:{port}" in api["ports"]
    assert f"127.0.0.1:{port}/readyz" in " ".join(api["healthcheck"]["test"])


# --- Dockerfile -------------------------------------------------------------------------------

def test_dockerfile_installs_every_package_with_the_constraints():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim", dockerfile, re.MULTILINE)
    assert "--constraint constraints.txt" in dockerfile
    packages = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"][
        "packages"]["find"]["include"]
    for package in (p.rstrip("*") for p in packages):
        assert f"COPY {package} {package}" in dockerfile


def test_dockerfile_runs_lim_as_an_unprivileged_user():
    dockerfile = (ROOT / "Dockerfile").read_text()
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert 'ENTRYPOINT ["lim"]' in dockerfile and "lim" in scripts
    assert re.search(r"^USER \d+$", dockerfile, re.MULTILINE)
    env_names = re.findall(r"\b(LIM_\w+)=", dockerfile)
    assert env_names and all(is_settings_variable(name) for name in env_names)


# --- Temporal dynamic config ------------------------------------------------------------------

def test_dynamic_config_values_have_temporals_shape():
    config = load(DEPLOY / "temporal" / "dynamicconfig.yaml")
    assert config["frontend.enableUpdateWorkflowExecution"] == [{"value": True}]
    for key, entries in config.items():
        assert re.fullmatch(r"[a-z]+(\.[A-Za-z]+)+", key), key
        for entry in entries:
            assert set(entry) <= {"value", "constraints"} and "value" in entry, key


# --- Kubernetes -------------------------------------------------------------------------------

def kubernetes_documents() -> list[dict]:
    kustomization = load(KUBERNETES / "kustomization.yaml")
    return [doc for resource in kustomization["resources"]
            for doc in yaml.safe_load_all((KUBERNETES / resource).read_text())]


def containers() -> list[dict]:
    return [container for doc in kubernetes_documents() if doc["kind"] in ("Deployment", "Job")
            for container in doc["spec"]["template"]["spec"]["containers"]]


def test_kubernetes_runs_our_image_with_lim_commands_that_exist():
    args = [c["args"][0] for c in containers() if c.get("command") is None]
    assert sorted(args) == ["api", "migrate", "worker"]
    assert set(args) <= lim_commands()
    assert {c["image"] for c in containers()} == {"llm-incident-manager"}


def test_kubernetes_config_uses_real_settings():
    config = next(d for d in kubernetes_documents() if d["kind"] == "ConfigMap")
    assert [name for name in config["data"] if not is_settings_variable(name)] == []
    refs = {ref.get("configMapRef", {}).get("name") for c in containers()
            for ref in c["envFrom"]}
    assert config["metadata"]["name"] in refs


def test_kubernetes_registers_exactly_the_workflow_search_attributes():
    job = next(c for c in containers() if c.get("command"))
    assert registered_in_script(job["args"][0]) == product_search_attributes()


def test_kubernetes_api_probes_health_endpoints_on_the_configured_port():
    api = next(c for c in containers() if c.get("args") == ["api"])
    config = next(d for d in kubernetes_documents() if d["kind"] == "ConfigMap")
    assert api["ports"][0]["containerPort"] == int(config["data"]["LIM_API_PORT"])
    assert api["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert api["livenessProbe"]["httpGet"]["path"] == "/healthz"


def test_kubernetes_base_builds_with_kustomize():
    kubectl = shutil.which("kubectl") or missing("kubectl not installed (Debian kubernetes-client)")
    built = subprocess.run([kubectl, "kustomize", str(KUBERNETES)], check=True,
                           capture_output=True, text=True, timeout=60).stdout
    kinds = [doc["kind"] for doc in yaml.safe_load_all(built)]
    assert sorted(kinds) == ["ConfigMap", "Deployment", "Deployment", "Job", "Job", "Service"]


# --- Prometheus and Alertmanager --------------------------------------------------------------

def alert_rules() -> list[dict]:
    return [rule for group in load(PROMETHEUS / "lim-rules.yaml")["groups"]
            for rule in group["rules"]]


def test_rules_cover_api_errors_outbox_lag_undelivered_pages_and_worker_down():
    names = {rule["alert"] for rule in alert_rules()}
    assert {"LimApiErrors", "LimOutboxLag", "LimPageUndelivered", "LimWorkerDown"} <= names


def test_every_rule_is_routable_and_has_a_runbook_in_the_docs():
    anchors = {re.sub(r"[^a-z0-9 -]", "", heading.lower()).replace(" ", "-") for heading in
               re.findall(r"^#+ (.+)$", (ROOT / "docs" / "deploy.md").read_text(), re.MULTILINE)}
    for rule in alert_rules():
        assert rule["labels"]["lim_self"] == "true" and rule["labels"]["severity"], rule["alert"]
        path, anchor = rule["annotations"]["runbook_url"].split("#")
        assert path == "docs/deploy.md" and anchor in anchors, rule["alert"]


def test_rules_pass_promtool_and_their_unit_tests():
    promtool = shutil.which("promtool") or missing("promtool not installed (prometheus)")
    for args in (["check", "rules", "lim-rules.yaml"], ["test", "rules", "lim-rules.test.yaml"]):
        done = subprocess.run([promtool, *args], cwd=PROMETHEUS, capture_output=True, text=True,
                              timeout=60, check=False)
        assert done.returncode == 0, done.stdout + done.stderr


def test_alertmanager_sends_to_our_webhook_with_a_bearer_key():
    config = load(PROMETHEUS / "alertmanager.yaml")
    receiver = next(r for r in config["receivers"] if r["name"] == config["route"]["receiver"])
    webhook = receiver["webhook_configs"][0]
    assert webhook["url"].endswith("/api/v1/alerts/alertmanager")
    assert webhook["http_config"]["authorization"]["type"] == "Bearer"
    assert webhook["send_resolved"] is True


def test_alertmanager_sends_our_own_alerts_somewhere_independent_first():
    routes = load(PROMETHEUS / "alertmanager.yaml")["route"]["routes"]
    first_self_route = next(r for r in routes if r["matchers"] == ['lim_self="true"'])
    assert first_self_route["receiver"] != "lim" and first_self_route["continue"] is True


def test_alertmanager_snippet_passes_amtool():
    amtool = shutil.which("amtool") or missing("amtool not installed (prometheus-alertmanager)")
    done = subprocess.run([amtool, "check-config", "alertmanager.yaml"], cwd=PROMETHEUS,
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
