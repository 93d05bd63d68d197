"""The image, its configuration and the Kubernetes workload say what they promise: the engine's
own validation accepts the container configuration (and the Kubernetes copy differs only in
storage), one replica with probes and resources, secrets reach the engine as its variables."""

from __future__ import annotations

import os
import re
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped]  # PyYAML (installed with yamllint) ships no types

from entrypoints.validation import load_validated
from tests.deploy.contract import DEPLOY

ROOT = DEPLOY.parent
CONTAINER_CONFIG = DEPLOY / "config" / "tradeplane.toml"
K8S = DEPLOY / "k8s"


def k8s_documents() -> list[dict[str, Any]]:
    return [
        document
        for path in sorted(K8S.rglob("*.yaml"))
        for document in yaml.safe_load_all(path.read_text())
        if document
    ]


def k8s_resource(kind: str, name: str) -> dict[str, Any]:
    for document in k8s_documents():
        if document["kind"] == kind and document["metadata"]["name"] == name:
            return document
    raise AssertionError(f"no {kind} {name} under {K8S}")


def test_the_engine_accepts_the_container_configuration() -> None:
    settings = load_validated(CONTAINER_CONFIG, {})

    assert settings.metrics["listen"] == "0.0.0.0:9464"
    assert settings.grpc.listen == "0.0.0.0:50051"
    assert settings.grpc.enabled
    assert not settings.grpc.tls_cert
    assert settings.grpc.tokens == ()  # tokens come from the environment, never the file
    assert settings.web.listen == "0.0.0.0:8080"
    assert all(
        url.startswith("postgresql+psycopg://tradeplane@postgres:5432/")
        for url in settings.storage.urls().values()
    )
    assert settings.redis.cache
    assert settings.redis.url == "redis://redis:6379/0"


def test_the_simulator_override_of_compose_is_accepted() -> None:
    environ = {
        "TRADEPLANE_FEEDS__BINANCE__WS_URL": "ws://exchange-sim:9001",
        "TRADEPLANE_FEEDS__BINANCE__REST_URL": "http://exchange-sim:9001",
    }
    settings = load_validated(CONTAINER_CONFIG, environ)

    (feed,) = settings.feeds
    assert feed.options["ws_url"] == "ws://exchange-sim:9001"


def kubernetes_toml() -> str:
    data: str = k8s_resource("ConfigMap", "tradeplane-config")["data"]["tradeplane.toml"]
    return data


def test_the_kubernetes_configuration_is_the_containers_but_for_storage(tmp_path: Path) -> None:
    mounted = tmp_path / "tradeplane.toml"
    mounted.write_text(kubernetes_toml())
    settings = load_validated(mounted, {})
    image = tomllib.loads(CONTAINER_CONFIG.read_text())
    kubernetes = tomllib.loads(kubernetes_toml())

    assert settings.storage.urls()["trades"] == "sqlite:////var/lib/tradeplane/tradeplane.db"
    for section in ("storage", "redis"):
        image.pop(section), kubernetes.pop(section)
    assert kubernetes == image


def test_one_replica_with_probes_resources_and_its_own_volume() -> None:
    workload = k8s_resource("StatefulSet", "tradeplane")
    spec = workload["spec"]
    pod = spec["template"]
    (engine,) = pod["spec"]["containers"]

    assert spec["replicas"] == 1
    assert "only writer of" in (K8S / "40-statefulset.yaml").read_text()  # why one replica
    assert {"name": "web", "containerPort": 8080} in engine["ports"]
    assert engine["livenessProbe"]["grpc"]["port"] == 50051
    assert engine["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert engine["startupProbe"]["httpGet"]["path"] == "/healthz"
    assert {"requests", "limits"} <= set(engine["resources"])
    assert pod["metadata"]["annotations"]["prometheus.io/port"] == "9464"
    assert pod["spec"]["securityContext"]["runAsNonRoot"] is True
    assert spec["volumeClaimTemplates"][0]["metadata"]["name"] == "state"
    assert pod["spec"]["initContainers"][0]["args"][0] == "migrate"


def test_the_secret_templates_hold_no_values() -> None:
    secrets = [document for document in k8s_documents() if document["kind"] == "Secret"]

    assert {secret["metadata"]["name"] for secret in secrets} == {
        "tradeplane-secrets",
        "tradeplane-binance",
        "tradeplane-database",
    }
    for secret in secrets:
        assert set(secret["stringData"].values()) == {""}, secret["metadata"]["name"]
        assert "data" not in secret


def test_the_migration_job_runs_migrate_with_the_database_secret() -> None:
    job = k8s_resource("Job", "tradeplane-migrate")
    (container,) = job["spec"]["template"]["spec"]["containers"]

    assert container["args"] == ["migrate", "--config", "/etc/tradeplane/tradeplane.toml"]
    assert container["envFrom"] == [{"secretRef": {"name": "tradeplane-database", "optional": True}}]


def dockerfile_instructions() -> list[tuple[str, str]]:
    text = (DEPLOY / "Dockerfile").read_text().replace("\\\n", " ")
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1] if " " in line.strip() else "")
        for line in text.splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]


def test_the_image_builds_a_wheel_then_runs_as_a_user_with_a_healthcheck() -> None:
    instructions = dockerfile_instructions()
    stages = [args for kind, args in instructions if kind == "FROM"]
    final = instructions[max(i for i, (kind, _) in enumerate(instructions) if kind == "FROM") :]

    assert len(stages) == 2
    assert stages[0].endswith("AS builder")
    assert any(kind == "RUN" and "pip wheel" in args for kind, args in instructions)
    assert ("USER", "10001:10001") in final
    assert ("ENTRYPOINT", '["tradeplane"]') in final
    assert ("CMD", '["run", "--config", "/etc/tradeplane/tradeplane.toml"]') in final
    (healthcheck,) = [args for kind, args in final if kind == "HEALTHCHECK"]
    assert "http://127.0.0.1:9464/healthz" in healthcheck
    assert "urllib" in healthcheck


def test_everything_the_image_copies_exists_and_is_not_docker_ignored() -> None:
    ignored = [
        line.strip().rstrip("/")
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#") and not line.startswith("!")
    ]
    sources = [
        source
        for kind, args in dockerfile_instructions()
        if kind == "COPY" and "--from=" not in args
        for source in args.split()[:-1]
        if not source.startswith("--")
    ]
    assert "migrations/" in sources
    assert "deploy/config/tradeplane.toml" in sources
    for source in sources:
        assert (ROOT / source).exists(), source
        assert not any(
            source.rstrip("/") == pattern or source.startswith(pattern + "/") for pattern in ignored
        )
    for heavy in (".venv", ".git", "data", "tests"):
        assert heavy in ignored, heavy


def test_the_wheel_the_image_installs_carries_the_migrations_where_the_code_looks() -> None:
    """adapters/persistence/migrate.py finds migrations/ two folders above itself, which in an
    installed wheel is site-packages/migrations: the package list ships it, and the builder
    stage copies it in before building the wheel."""
    source = (ROOT / "adapters" / "persistence" / "migrate.py").read_text()
    assert 'Path(__file__).resolve().parents[2] / "migrations"' in source
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert '"migrations*"' in pyproject
    assert (ROOT / "migrations" / "__init__.py").exists()
    assert (ROOT / "migrations" / "versions" / "__init__.py").exists()
    copies = [
        args for kind, args in dockerfile_instructions() if kind == "COPY" and args.startswith("migrations/")
    ]
    assert copies == ["migrations/ migrations/"]


def run_secrets_env(secrets: Path) -> dict[str, str]:
    result = subprocess.run(
        ["sh", str(DEPLOY / "docker" / "secrets-env"), "env"],
        env={"PATH": os.environ["PATH"], "SECRETS_DIR": str(secrets)},
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return dict(line.split("=", 1) for line in result.stdout.splitlines() if "=" in line)


def test_secrets_env_exports_each_secret_file_as_its_variable(tmp_path: Path) -> None:
    (tmp_path / "tradeplane_admin_token").write_text("token-0123456789abcdef\n")
    (tmp_path / "pgpassword").write_text("pa$$ 'word\"")
    (tmp_path / "tradeplane_binance_api_key").write_text("")  # empty: no key
    (tmp_path / "Not-A-Name").write_text("x")

    environment = run_secrets_env(tmp_path)

    assert environment["TRADEPLANE_ADMIN_TOKEN"] == "token-0123456789abcdef"
    assert environment["PGPASSWORD"] == "pa$$ 'word\""
    assert "TRADEPLANE_BINANCE_API_KEY" not in environment
    assert not any(re.match(r"NOT-A-NAME", name, re.IGNORECASE) for name in environment)


def test_secrets_env_runs_the_command_when_there_are_no_secrets(tmp_path: Path) -> None:
    assert "TRADEPLANE_ADMIN_TOKEN" not in run_secrets_env(tmp_path / "absent")


@pytest.mark.parametrize("package", ["prometheus", "docker-compose"])
def test_ci_installs_the_debian_validators_when_missing(package: str) -> None:
    script = (ROOT / ".ci" / "run").read_text()
    assert f"missing+=({package})" in script
    assert 'apt-get install -y --no-install-recommends "${missing[@]}"' in script
    subprocess.run(["bash", "-n", str(ROOT / ".ci" / "run")], check=True, timeout=30)
