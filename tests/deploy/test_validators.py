"""Every deployment file passes the real validator of its kind: hadolint, docker-compose config,
kubernetes-validate (strict, against the API schemas), promtool and yamllint. No Docker engine
or cluster is needed; a validator that is missing fails the test with how to install it."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped]  # PyYAML (installed with yamllint) ships no types

from tests.deploy.contract import DEPLOY
from tests.deploy.promql import with_grafana_variables_replaced
from tests.deploy.tools import run, tool

ROOT = DEPLOY.parent
K8S = DEPLOY / "k8s"
PROMETHEUS = DEPLOY / "prometheus"
DASHBOARD = DEPLOY / "grafana" / "dashboards" / "tradeplane.json"
SECRET_FILES = (
    "postgres_password",
    "grafana_admin_password",
    "tradeplane_admin_token",
    "tradeplane_binance_api_key",
    "tradeplane_binance_api_secret",
)


def test_hadolint_passes_the_dockerfile() -> None:
    run([tool("hadolint"), "--failure-threshold", "info", str(DEPLOY / "Dockerfile")])


def test_yamllint_passes_every_yaml_file() -> None:
    run([tool("yamllint"), "--strict", "-c", str(DEPLOY / ".yamllint.yaml"), str(DEPLOY)])


def k8s_manifests() -> list[Path]:
    return sorted(K8S.rglob("*.yaml"))


def test_every_kubernetes_manifest_is_valid_against_the_api_schemas() -> None:
    manifests = k8s_manifests()
    assert len(manifests) >= 5, manifests
    run([tool("kubernetes-validate"), "--strict", "--quiet", *map(str, manifests)])


def test_promtool_checks_the_configuration_and_the_rules() -> None:
    promtool = tool("promtool")
    run([promtool, "check", "config", str(PROMETHEUS / "prometheus.yml")])
    run([promtool, "check", "rules", str(PROMETHEUS / "alerts.yml")])


def test_promtool_unit_tests_fire_every_alert_and_keep_it_quiet_otherwise() -> None:
    output = run([tool("promtool"), "test", "rules", "alerts_test.yml"], cwd=PROMETHEUS)
    assert "SUCCESS" in output
    tests = yaml.safe_load((PROMETHEUS / "alerts_test.yml").read_text())["tests"]
    fired = {case["alertname"] for test in tests for case in test["alert_rule_test"] if case["exp_alerts"]}
    quiet = {
        case["alertname"] for test in tests for case in test["alert_rule_test"] if not case["exp_alerts"]
    }
    rules = {
        rule["alert"]
        for group in yaml.safe_load((PROMETHEUS / "alerts.yml").read_text())["groups"]
        for rule in group["rules"]
    }
    assert fired == rules, f"alerts no test fires: {sorted(rules - fired)}"
    assert quiet == rules, f"alerts no test keeps quiet: {sorted(rules - quiet)}"


def dashboard_expressions() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    exprs = [target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])]
    exprs += [annotation["expr"] for annotation in dashboard["annotations"]["list"] if "expr" in annotation]
    return exprs


def test_every_dashboard_query_is_valid_promql(tmp_path: Path) -> None:
    """promtool reads each query as a recording rule's expression (Grafana's variables as 5m)."""
    exprs = dashboard_expressions()
    assert len(exprs) > 20
    rules = [
        {"record": f"dashboard:query_{index}", "expr": with_grafana_variables_replaced(expr)}
        for index, expr in enumerate(exprs)
    ]
    path = tmp_path / "dashboard_rules.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    run([tool("promtool"), "check", "rules", str(path)])


def compose_config(tmp_path: Path, *extra: str) -> dict[str, Any]:
    """``docker-compose config`` rendered with secret files in a temporary folder."""
    secrets = tmp_path / "secrets"
    secrets.mkdir(exist_ok=True)
    for name in SECRET_FILES:
        (secrets / name).write_text("not-a-real-secret\n")
    env = {key: value for key, value in os.environ.items() if not key.startswith(("TRADEPLANE_", "COMPOSE_"))}
    env["TRADEPLANE_SECRETS_DIR"] = str(secrets)
    command = [tool("docker-compose"), "--project-directory", str(DEPLOY), "-f", str(DEPLOY / "compose.yaml")]
    rendered = run([*command, *extra, "config"], cwd=DEPLOY, env=env)
    config: dict[str, Any] = yaml.safe_load(rendered)
    return config


def test_compose_renders_the_stack_with_the_engine_after_its_migration(tmp_path: Path) -> None:
    config = compose_config(tmp_path)
    services = config["services"]

    assert set(services) >= {
        "tradeplane",
        "migrate",
        "postgres",
        "redis",
        "prometheus",
        "grafana",
        "exchange-sim",
    }
    engine = services["tradeplane"]
    assert engine["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert engine["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert services["migrate"]["command"][0] == "migrate"
    assert services["exchange-sim"]["profiles"] == ["offline"]
    for name in ("tradeplane", "postgres", "redis", "prometheus", "grafana", "exchange-sim"):
        assert "test" in services[name].get("healthcheck", {}), name
    assert engine["environment"]["TRADEPLANE_FEEDS__BINANCE__WS_URL"].startswith("wss://stream.binance.com")
    assert {"tradeplane-data", "postgres-data"} <= set(config["volumes"])


def test_compose_secrets_are_files_never_values(tmp_path: Path) -> None:
    config = compose_config(tmp_path)

    assert set(config["secrets"]) == set(SECRET_FILES)
    for name, secret in config["secrets"].items():
        assert Path(secret["file"]).parent == tmp_path / "secrets", name
    for name, service in config["services"].items():
        for key, value in (service.get("environment") or {}).items():
            if any(word in key for word in ("TOKEN", "SECRET", "PASSWORD", "API_KEY")):
                assert key.endswith("_FILE"), (name, key)
                assert str(value).startswith("/run/secrets/"), (name, key)
    engine_secrets = {entry["source"] for entry in config["services"]["tradeplane"]["secrets"]}
    assert engine_secrets == {"postgres_password", *(s for s in SECRET_FILES if s.startswith("tradeplane_"))}


def test_the_offline_profile_points_the_engine_at_the_simulator(tmp_path: Path) -> None:
    config = compose_config(tmp_path, "--env-file", str(DEPLOY / "offline.env"), "--profile", "offline")
    environment = config["services"]["tradeplane"]["environment"]

    assert environment["TRADEPLANE_FEEDS__BINANCE__WS_URL"] == "ws://exchange-sim:9001"
    assert environment["TRADEPLANE_FEEDS__BINANCE__REST_URL"] == "http://exchange-sim:9001"
    command = config["services"]["exchange-sim"]["command"]
    assert command[:3] == ["exchange-sim", "--host", "0.0.0.0"]
    assert command[command.index("--port") + 1] == "9001"


@pytest.mark.parametrize("broken", ["depends_on: [nowhere]", "ports: [not-a-port-mapping:x:y:z]"])
def test_compose_validation_can_fail(tmp_path: Path, broken: str) -> None:
    compose = (DEPLOY / "compose.yaml").read_text()
    planted = compose.replace("  redis:\n", f"  redis:\n    {broken}\n", 1)
    (tmp_path / "compose.yaml").write_text(planted)
    result = subprocess.run(
        [tool("docker-compose"), "-f", str(tmp_path / "compose.yaml"), "config", "-q"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "TRADEPLANE_SECRETS_DIR": str(tmp_path)},
    )
    assert result.returncode != 0, result.stdout
