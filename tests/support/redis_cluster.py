"""A real Redis Cluster of private redis-server masters, formed from Python.

Formed with CLUSTER ADDSLOTSRANGE / SET-CONFIG-EPOCH / MEET rather than
`redis-cli --cluster create`, so it needs no redis-cli and fails with Redis's own errors.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path

from tests.support.ports import free_loopback_port
from tests.support.redis_clients import probe_client
from tests.support.redis_process import (
    PrivateRedisServer,
    start_private_redis_server,
    stop_servers,
)

HASH_SLOTS = 16384
FORM_TIMEOUT_S = 30.0
POLL_INTERVAL_S = 0.1
# Short enough that a failed node is noticed within a test's patience, long enough for a
# slow CI machine not to declare healthy nodes dead.
NODE_TIMEOUT_MS = 5000


def cluster_node_args(bus_port: int) -> list[str]:
    return [
        "--cluster-enabled", "yes",
        "--cluster-config-file", "nodes.conf",
        # An explicit bus port: the default, port + 10000, may be taken or above 65535.
        "--cluster-port", str(bus_port),
        "--cluster-node-timeout", str(NODE_TIMEOUT_MS),
        # Otherwise a node learns its own address only from peers, and may report "" meanwhile.
        "--cluster-announce-ip", "127.0.0.1",
    ]  # fmt: skip


def slot_ranges(masters: int) -> list[tuple[int, int]]:
    """Split all hash slots into `masters` contiguous inclusive ranges."""
    bounds = [HASH_SLOTS * i // masters for i in range(masters + 1)]
    return [(bounds[i], bounds[i + 1] - 1) for i in range(masters)]


def start_cluster(
    executable: str, make_workdir: Callable[[], Path], masters: int = 3
) -> list[PrivateRedisServer]:
    """Start `masters` cluster-enabled servers and form them into one healthy cluster."""
    nodes: list[PrivateRedisServer] = []
    try:
        for _ in range(masters):
            nodes.append(_start_cluster_node(executable, make_workdir()))
        form_cluster(nodes)
    except BaseException:
        stop_servers(nodes)
        raise
    return nodes


def _start_cluster_node(executable: str, workdir: Path) -> PrivateRedisServer:
    return start_private_redis_server(executable, workdir, lambda: cluster_node_args(free_loopback_port()))


def form_cluster(nodes: Sequence[PrivateRedisServer]) -> None:
    for epoch, (node, (first_slot, last_slot)) in enumerate(
        zip(nodes, slot_ranges(len(nodes)), strict=True), start=1
    ):
        with probe_client(node.host, node.port) as client:
            # Distinct epochs up front, as redis-cli does: equal ones would be resolved by
            # gossip eventually, but only after a needless wait.
            client.execute_command("CLUSTER", "SET-CONFIG-EPOCH", epoch)
            client.execute_command("CLUSTER", "ADDSLOTSRANGE", first_slot, last_slot)
    introducer, *others = nodes
    with probe_client(introducer.host, introducer.port) as client:
        for node in others:
            client.execute_command("CLUSTER", "MEET", node.host, node.port, _bus_port(node))
    wait_until_cluster_ok(nodes)


def _bus_port(node: PrivateRedisServer) -> int:
    with probe_client(node.host, node.port) as client:
        config: dict[str, str] = client.config_get("cluster-port")
    return int(config["cluster-port"])


def cluster_info(host: str, port: int) -> dict[str, str]:
    """CLUSTER INFO of one node as a dict (e.g. {"cluster_state": "ok", ...})."""
    with probe_client(host, port) as client:
        text: str = client.execute_command("CLUSTER", "INFO")
    pairs = (line.split(":", 1) for line in text.splitlines() if ":" in line)
    return {key.strip(): value.strip() for key, value in pairs}


def _is_healthy_member(info: dict[str, str], cluster_size: int) -> bool:
    return (
        info.get("cluster_state") == "ok"
        and info.get("cluster_known_nodes") == str(cluster_size)
        and info.get("cluster_slots_ok") == str(HASH_SLOTS)
    )


def wait_until_cluster_ok(nodes: Sequence[PrivateRedisServer], timeout_s: float = FORM_TIMEOUT_S) -> None:
    """Return once every node sees all nodes and all slots served, as clients will rely on."""
    deadline = time.monotonic() + timeout_s
    while True:
        infos = {node.port: cluster_info(node.host, node.port) for node in nodes}
        if all(_is_healthy_member(info, len(nodes)) for info in infos.values()):
            return
        if time.monotonic() >= deadline:
            raise TimeoutError(f"Redis Cluster not ok within {timeout_s}s; CLUSTER INFO per port: {infos}")
        time.sleep(POLL_INTERVAL_S)
