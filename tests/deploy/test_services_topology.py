"""The three-service topology (ingestion, strategy workers, execution over Redis Streams) as
Compose and Kubernetes deploy it: exactly one writer of orders whichever way Compose is started,
strategy workers that scale, a Redis for the streams that persists, probes on gRPC health, and a
configuration the engine accepts that differs from the single process's only where it must."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped]  # PyYAML (installed with yamllint) ships no types

from entrypoints.validation import load_validated
from tests.deploy.contract import DEPLOY
from tests.deploy.test_container_files import dockerfile_instructions
from tests.deploy.test_validators import compose_config

CONFIG = DEPLOY / "config"
SERVICES_CONFIG = CONFIG / "tradeplane-services.toml"
IMAGE_SERVICES_CONFIG = "/etc/tradeplane/tradeplane-services.toml"
SERVICES_K8S = DEPLOY / "k8s" / "services"
SERVICES = ("ingestion", "strategy", "execution")
ENV_FILES = {
    "default": (),
    "offline": ("--env-file", str(DEPLOY / "offline.env"), "--profile", "offline"),
    "services": ("--env-file", str(DEPLOY / "services.env"), "--profile", "services"),
}


def replicas(service: dict[str, Any] | None) -> int:
    """A service's containers: a service its profile leaves out (Compose v2) runs none."""
    if service is None:
        return 0
    return int(service.get("deploy", {}).get("replicas", 1))


def option(command: list[str], flag: str) -> str:
    return command[command.index(flag) + 1]


# -- Compose ----------------------------------------------------------------------------------


@pytest.mark.parametrize("variant", sorted(ENV_FILES))
def test_compose_never_runs_two_writers_of_orders(tmp_path: Path, variant: str) -> None:
    services = compose_config(tmp_path, *ENV_FILES[variant])["services"]

    writers = replicas(services.get("tradeplane")) + replicas(services.get("execution"))
    assert writers == 1, variant


def test_the_services_profile_runs_one_execution_one_ingestion_and_scalable_workers(tmp_path: Path) -> None:
    services = compose_config(tmp_path, *ENV_FILES["services"])["services"]

    assert replicas(services["tradeplane"]) == 0
    assert replicas(services["execution"]) == 1
    assert replicas(services["ingestion"]) == 1
    assert replicas(services["strategy"]) >= 2
    for name in (*SERVICES, "redis-streams"):
        assert services[name]["profiles"] == ["services"], name
    for name in SERVICES:
        command = services[name]["command"]
        assert command[0] == "run", name
        assert option(command, "--service") == name
        assert option(command, "--config") == IMAGE_SERVICES_CONFIG
        assert services[name]["depends_on"]["redis-streams"]["condition"] == "service_healthy", name
        assert "grpc_health" in " ".join(services[name]["healthcheck"]["test"]), name
        assert "container_name" not in services[name], name  # --scale needs Compose's own names
    for name in ("ingestion", "strategy"):
        command = services[name]["command"]
        assert option(command, "--grpc-listen") == "0.0.0.0:50051", name
        assert option(command, "--metrics-listen") == "0.0.0.0:9464", name
        assert "ports" not in services[name], name  # inside the project's network only
        assert "--web-listen" not in command, name  # the workers refuse the web console
    for name in ("ingestion", "execution"):
        assert services[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"


def test_execution_takes_the_single_process_place_its_ports_secrets_and_volume(tmp_path: Path) -> None:
    services = compose_config(tmp_path, *ENV_FILES["services"])["services"]
    engine, execution = services["tradeplane"], services["execution"]

    assert execution["ports"] == engine["ports"]
    assert option(execution["command"], "--web-listen") == "0.0.0.0:8080"
    assert execution["secrets"] == engine["secrets"]
    assert execution["volumes"] == engine["volumes"]
    assert execution["stop_grace_period"] == engine["stop_grace_period"]
    # Workers hold no order, no store, no venue key: the admin token only, for GetStatus.
    assert {entry["source"] for entry in services["strategy"]["secrets"]} == {"tradeplane_admin_token"}
    ingestion = {entry["source"] for entry in services["ingestion"]["secrets"]}
    assert ingestion == {"postgres_password", "tradeplane_admin_token"}


def test_the_streams_redis_persists_every_second_on_its_volume(tmp_path: Path) -> None:
    config = compose_config(tmp_path, *ENV_FILES["services"])
    redis = config["services"]["redis-streams"]
    command = redis["command"]

    assert option(command, "--appendonly") == "yes"
    assert option(command, "--appendfsync") in ("everysec", "always")
    assert option(command, "--maxmemory-policy") == "noeviction"
    assert any(str(volume).startswith("redis-streams-data:/data") for volume in redis["volumes"])
    assert "redis-streams-data" in config["volumes"]
    assert "test" in redis["healthcheck"]


# -- the configuration ------------------------------------------------------------------------


def test_the_engine_accepts_the_services_configuration() -> None:
    settings = load_validated(SERVICES_CONFIG, {})

    assert settings.bus.kind == "redis"
    assert settings.redis.url == "redis://redis-streams:6379/0"
    assert settings.grpc.listen == "0.0.0.0:50051"
    assert settings.metrics["listen"] == "0.0.0.0:9464"


def test_the_services_configuration_is_the_single_process_one_plus_the_bus() -> None:
    single = tomllib.loads((CONFIG / "tradeplane.toml").read_text())
    services = tomllib.loads(SERVICES_CONFIG.read_text())

    assert services.pop("bus")["kind"] == "redis"
    assert services["redis"].pop("url") != single["redis"].pop("url")
    # No [web]: the workers would refuse it; execution gets --web-listen on its command line.
    assert single.pop("web") == {"listen": "0.0.0.0:8080"}
    assert services == single


def test_the_image_carries_the_services_configuration() -> None:
    copies = [args for kind, args in dockerfile_instructions() if kind == "COPY"]
    assert f"deploy/config/tradeplane-services.toml {IMAGE_SERVICES_CONFIG}" in copies


# -- Kubernetes -------------------------------------------------------------------------------


def services_documents() -> list[tuple[Path, dict[str, Any]]]:
    return [
        (path, document)
        for path in sorted(SERVICES_K8S.glob("*.yaml"))
        for document in yaml.safe_load_all(path.read_text())
        if document
    ]


def resource(kind: str, name: str) -> dict[str, Any]:
    for _, document in services_documents():
        if document["kind"] == kind and document["metadata"]["name"] == name:
            return document
    raise AssertionError(f"no {kind} {name} under {SERVICES_K8S}")


def only_container(workload: dict[str, Any]) -> dict[str, Any]:
    containers: list[dict[str, Any]] = workload["spec"]["template"]["spec"]["containers"]
    (container,) = containers
    return container


def test_every_services_manifest_says_its_topology_and_stays_out_of_the_single_one() -> None:
    paths = sorted(SERVICES_K8S.glob("*.yaml"))
    assert len(paths) >= 5
    for path in paths:
        assert path.read_text().startswith("# Topology: three services"), path
    single_selector = {"app.kubernetes.io/name": "tradeplane"}
    for path, document in services_documents():
        assert document["metadata"]["namespace"] == "tradeplane", path
        template = document.get("spec", {}).get("template")
        if template is not None:
            labels = template["metadata"]["labels"]
            assert not single_selector.items() <= labels.items(), path  # not the single Service's pods
            assert labels["app.kubernetes.io/part-of"] == "tradeplane", path  # may reach the streams


def test_one_execution_that_never_overlaps_itself() -> None:
    execution = resource("StatefulSet", "tradeplane-execution")
    container = only_container(execution)

    assert execution["spec"]["replicas"] == 1
    assert execution["spec"]["podManagementPolicy"] == "OrderedReady"
    assert option(container["args"], "--service") == "execution"
    assert option(container["args"], "--web-listen") == "0.0.0.0:8080"
    assert {"name": "web", "containerPort": 8080} in container["ports"]
    assert container["livenessProbe"]["grpc"]["port"] == 50051
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    secrets = {source["secretRef"]["name"] for source in container["envFrom"]}
    assert secrets == {"tradeplane-secrets", "tradeplane-binance", "tradeplane-database"}
    assert execution["spec"]["template"]["spec"]["initContainers"][0]["args"][0] == "migrate"
    assert execution["spec"]["volumeClaimTemplates"][0]["metadata"]["name"] == "state"


def test_one_ingestion_recreated_and_scalable_strategy_workers() -> None:
    ingestion = resource("Deployment", "tradeplane-ingestion")
    strategy = resource("Deployment", "tradeplane-strategy")

    assert ingestion["spec"]["replicas"] == 1
    assert ingestion["spec"]["strategy"]["type"] == "Recreate"
    assert strategy["spec"]["replicas"] >= 2
    assert strategy["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    assert (
        "kubectl -n tradeplane scale deployment/tradeplane-strategy"
        in (SERVICES_K8S / "60-strategy.yaml").read_text()
    )
    assert only_container(strategy)["envFrom"] == [{"secretRef": {"name": "tradeplane-secrets"}}]
    for workload in (ingestion, strategy):
        container = only_container(workload)
        assert option(container["args"], "--grpc-listen") == "0.0.0.0:50051"
        assert option(container["args"], "--metrics-listen") == "0.0.0.0:9464"
        for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
            assert container[probe]["grpc"]["port"] == 50051, probe


@pytest.mark.parametrize(
    ("kind", "name"),
    [
        ("StatefulSet", "tradeplane-execution"),
        ("Deployment", "tradeplane-ingestion"),
        ("Deployment", "tradeplane-strategy"),
        ("StatefulSet", "tradeplane-streams"),
    ],
)
def test_every_workload_is_locked_down_with_resources(kind: str, name: str) -> None:
    workload = resource(kind, name)
    pod = workload["spec"]["template"]["spec"]
    container = only_container(workload)

    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert container["securityContext"]["capabilities"]["drop"] == ["ALL"]
    assert {"requests", "limits"} <= set(container["resources"])
    if name != "tradeplane-streams":
        annotations = workload["spec"]["template"]["metadata"]["annotations"]
        assert annotations["prometheus.io/scrape"] == "true"
        assert annotations["prometheus.io/port"] == "9464"
        assert option(container["args"], "--config") == IMAGE_SERVICES_CONFIG


def test_the_streams_redis_appends_to_its_volume() -> None:
    redis = resource("StatefulSet", "tradeplane-streams")
    container = only_container(redis)
    args = container["args"]

    assert redis["spec"]["replicas"] == 1
    assert option(args, "--appendonly") == "yes"
    assert option(args, "--appendfsync") in ("everysec", "always")
    assert option(args, "--maxmemory-policy") == "noeviction"
    (claim,) = redis["spec"]["volumeClaimTemplates"]
    (mount,) = container["volumeMounts"]
    assert mount == {"name": claim["metadata"]["name"], "mountPath": option(args, "--dir")}


def kubernetes_services_toml() -> str:
    data: str = resource("ConfigMap", "tradeplane-services-config")["data"]["tradeplane-services.toml"]
    return data


def test_the_kubernetes_services_configuration_is_the_images_but_for_storage_and_streams(
    tmp_path: Path,
) -> None:
    mounted = tmp_path / "tradeplane-services.toml"
    mounted.write_text(kubernetes_services_toml())
    settings = load_validated(mounted, {})
    image = tomllib.loads(SERVICES_CONFIG.read_text())
    kubernetes = tomllib.loads(kubernetes_services_toml())

    assert settings.bus.kind == "redis"
    streams = resource("Service", "tradeplane-streams")
    (port,) = streams["spec"]["ports"]
    assert settings.redis.url == f"redis://{streams['metadata']['name']}:{port['port']}/0"
    image.pop("storage"), kubernetes.pop("storage")
    image["redis"].pop("url"), kubernetes["redis"].pop("url")
    assert kubernetes == image


def test_every_service_is_reachable_for_grpc_and_metrics() -> None:
    for name in ("tradeplane-execution", "tradeplane-ingestion", "tradeplane-strategy"):
        service = resource("Service", name)
        assert service["spec"]["selector"] == {"app.kubernetes.io/name": name}
        web = {"web": 8080} if name == "tradeplane-execution" else {}  # only execution serves it
        assert {port["name"]: port["port"] for port in service["spec"]["ports"]} == {
            "grpc": 50051,
            "metrics": 9464,
            **web,
        }
        assert service["metadata"]["annotations"]["prometheus.io/scrape"] == "true"


# -- Prometheus -------------------------------------------------------------------------------


def test_prometheus_scrapes_each_service_and_every_strategy_worker() -> None:
    config = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}

    assert jobs["tradeplane"]["static_configs"][0]["targets"] == ["tradeplane:9464"]
    assert jobs["tradeplane-ingestion"]["static_configs"][0]["targets"] == ["ingestion:9464"]
    assert jobs["tradeplane-execution"]["static_configs"][0]["targets"] == ["execution:9464"]
    (workers,) = jobs["tradeplane-strategy"]["dns_sd_configs"]
    assert workers["names"] == ["strategy"]
    assert workers["port"] == 9464


def test_every_service_of_a_deployment_agrees_on_the_shards() -> None:
    shards = {
        tomllib.loads(SERVICES_CONFIG.read_text())["bus"]["shards"],
        tomllib.loads(kubernetes_services_toml())["bus"]["shards"],
    }
    assert len(shards) == 1
