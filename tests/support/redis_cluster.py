"""A throwaway Redis Cluster of three masters on loopback ports, for the cluster tests.

``local_redis_cluster()`` starts three ``redis-server --cluster-enabled yes`` processes in a
temporary directory, joins them with ``redis-cli --cluster create`` (no replicas), waits until
every node says ``cluster_state:ok`` and yields where they listen. The processes are killed and
the directory removed on the way out, failure included. Missing binaries raise: a cluster test
must fail, never skip, where it cannot run.
"""

from __future__ import annotations

import contextlib
import random
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import redis

HOST = "127.0.0.1"
NODES = 3
BUS_OFFSET = 10_000
"""A cluster node also listens on its port + 10000 (the cluster bus)."""
PORT_RANGE = (20_000, 29_990)
"""Where free ports are looked for: below the usual ephemeral range, its bus ports too."""


class ClusterStartError(RuntimeError):
    """The local cluster could not be started (binaries missing, ports taken, never became ok)."""


@dataclass(frozen=True, slots=True)
class ClusterInfo:
    """Where the nodes of a running local cluster listen."""

    ports: tuple[int, ...]
    directory: Path

    @property
    def urls(self) -> tuple[str, ...]:
        return tuple(f"redis://{HOST}:{port}" for port in self.ports)

    @property
    def url(self) -> str:
        """A startup URL (the first node's): a cluster client discovers the others from it."""
        return self.urls[0]


@contextlib.contextmanager
def local_redis_cluster(base_port: int | None = None, timeout_s: float = 30) -> Iterator[ClusterInfo]:
    """Start a three-master cluster on ``base_port``..``base_port+2`` (free ports when None),
    yield it once every node is ok, and always stop it and delete its files (bounded by ``timeout_s``)."""
    server, cli = _binary("redis-server"), _binary("redis-cli")
    deadline = time.monotonic() + timeout_s
    attempts = 1 if base_port is not None else 3  # free ports can be taken between probe and bind
    for attempt in range(attempts):
        ports = _ports(base_port)
        directory = Path(tempfile.mkdtemp(prefix="tradeplane-redis-cluster-"))
        processes: list[tuple[subprocess.Popen[bytes], IO[bytes]]] = []
        try:
            try:
                for port in ports:
                    processes.append(_start(server, port, directory))
                _wait_for_servers(ports, processes, deadline)
            except ClusterStartError:
                if attempt + 1 < attempts and time.monotonic() < deadline:
                    continue  # the finally below cleans this try up
                raise
            _create(cli, ports, directory, deadline)
            _wait_for_ok(ports, deadline)
            yield ClusterInfo(ports, directory)
            return
        finally:
            _stop(processes)
            shutil.rmtree(directory, ignore_errors=True)
    raise AssertionError("unreachable")  # pragma: no cover


def _binary(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise ClusterStartError(
            f"{name} is not on PATH: the Redis Cluster tests need redis-server and redis-cli "
            "(Debian/Ubuntu: apt-get install redis-server redis-tools)"
        )
    return path


def _free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind((HOST, port))
        except OSError:
            return False
    return True


def _ports(base_port: int | None) -> tuple[int, ...]:
    if base_port is not None:
        ports = tuple(range(base_port, base_port + NODES))
        taken = [p for port in ports for p in (port, port + BUS_OFFSET) if not _free(p)]
        if taken:
            raise ClusterStartError(f"ports {taken} are in use (a node needs its port and port+{BUS_OFFSET})")
        return ports
    for _ in range(200):
        start = random.randrange(*PORT_RANGE)
        ports = tuple(range(start, start + NODES))
        if all(_free(port) and _free(port + BUS_OFFSET) for port in ports):
            return ports
    raise ClusterStartError(f"no {NODES} free consecutive ports (with their bus ports) in {PORT_RANGE}")


def _start(server: str, port: int, directory: Path) -> tuple[subprocess.Popen[bytes], IO[bytes]]:
    log = (directory / f"redis-{port}.log").open("wb")
    command = [
        server,
        "--cluster-enabled", "yes",
        "--cluster-config-file", str(directory / f"nodes-{port}.conf"),
        "--port", str(port),
        "--bind", HOST,
        "--save", "",
        "--appendonly", "no",
        "--daemonize", "no",
        "--dir", str(directory),
    ]  # fmt: skip
    try:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=directory)
    except BaseException:
        log.close()
        raise
    return process, log


def _log_tail(directory: Path, port: int) -> str:
    try:
        return (directory / f"redis-{port}.log").read_text(errors="replace")[-2000:]
    except OSError:
        return ""


def _client(port: int) -> redis.Redis:
    return redis.Redis(host=HOST, port=port, socket_timeout=2.0, socket_connect_timeout=1.0)


def _wait_for_servers(
    ports: tuple[int, ...], processes: list[tuple[subprocess.Popen[bytes], IO[bytes]]], deadline: float
) -> None:
    for port, (process, log) in zip(ports, processes, strict=True):
        client = _client(port)
        try:
            while True:
                if process.poll() is not None:
                    directory = Path(log.name).parent
                    raise ClusterStartError(
                        f"redis-server on port {port} exited with {process.returncode}:\n"
                        f"{_log_tail(directory, port)}"
                    )
                try:
                    if client.ping():
                        break
                except (redis.RedisError, OSError):
                    pass
                if time.monotonic() >= deadline:
                    raise ClusterStartError(f"redis-server on port {port} did not answer PING in time")
                time.sleep(0.05)
        finally:
            client.close()


def _create(cli: str, ports: tuple[int, ...], directory: Path, deadline: float) -> None:
    command = [cli, "--cluster", "create", *(f"{HOST}:{port}" for port in ports)]
    command += ["--cluster-replicas", "0", "--cluster-yes"]
    try:
        done = subprocess.run(
            command,
            capture_output=True,
            timeout=max(deadline - time.monotonic(), 1.0),
            cwd=directory,
            check=False,
        )
    except subprocess.TimeoutExpired as error:
        raise ClusterStartError(
            f"redis-cli --cluster create did not finish in time: {error.output!r}"
        ) from error
    if done.returncode != 0:
        output = (done.stdout + done.stderr).decode(errors="replace")[-2000:]
        raise ClusterStartError(f"redis-cli --cluster create failed ({done.returncode}):\n{output}")


def _wait_for_ok(ports: tuple[int, ...], deadline: float) -> None:
    clients = [_client(port) for port in ports]
    try:
        last: dict[int, str] = {}
        while True:
            for port, client in zip(ports, clients, strict=True):
                try:
                    info = client.cluster("INFO")
                except (redis.RedisError, OSError) as error:
                    last[port] = f"{type(error).__name__}: {error}"
                    continue
                known = info.get("cluster_known_nodes")
                last[port] = f"cluster_state:{info.get('cluster_state')}, known nodes: {known}"
            if len(last) == len(ports) and all(
                state == f"cluster_state:ok, known nodes: {NODES}" for state in last.values()
            ):
                return
            if time.monotonic() >= deadline:
                raise ClusterStartError(f"the cluster did not become ok in time: {last}")
            time.sleep(0.05)
    finally:
        for client in clients:
            client.close()


def _stop(processes: list[tuple[subprocess.Popen[bytes], IO[bytes]]]) -> None:
    for process, _ in processes:
        if process.poll() is None:
            process.terminate()
    for process, log in processes:
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
        finally:
            log.close()
