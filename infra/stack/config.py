"""Where the local stack keeps its state and which ports it listens on."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path

from infra.stack.ports import free_port_in, free_ports, free_run
from workers.runtime.settings import BENCH_NAMESPACE

TLS_FILES = ("ca.pem", "server.pem", "server-key.pem")


@dataclass(frozen=True)
class StackConfig:
    home: Path = Path(".podium")
    temporal_port: int = 7233
    temporal_ui_port: int = 8233
    # Given, not left to the dev server: its own pick of a free port can race ours and take
    # the gRPC port before the gRPC listener binds it.
    temporal_http_port: int = 7243
    temporal_metrics_port: int = 7244
    # Created by the dev server at start, each with the search attributes: the user's orders,
    # the benchmark's runs (and the tests' namespace in a test's stack).
    namespaces: tuple[str, ...] = ("default", BENCH_NAMESPACE)
    amqp_port: int = 5679
    management_port: int = 15679
    dist_port: int = 25679
    # A private epmd too, so the node is invisible to (and unaffected by) the system's Erlang nodes
    # and `down` can stop everything it started.
    epmd_port: int = 14369
    node_name: str = "podium@localhost"
    # More than one: a private cluster whose node N listens on amqp_port + N - 1 (and likewise
    # management_port and dist_port), named like node_name with a `-N` suffix; see
    # infra/stack/rabbitmq_cluster.py.
    rabbit_nodes: int = 1
    vhost: str = "podium"
    user: str = "podium"
    with_management: bool = True
    smtp_port: int = 8025
    # A private PostgreSQL cluster, only with `podium dev up --postgres` (SQLite is the default).
    with_postgres: bool = False
    postgres_port: int = 5439
    database: str = "podium"
    # Optional mutual-TLS listener (off by default): `tls_dir` holds the broker's CA, certificate
    # and key under the names in TLS_FILES; clients must present a certificate of that CA.
    amqps_port: int | None = None
    tls_dir: Path | None = None

    @property
    def logs(self) -> Path:
        return self.home / "logs"

    @classmethod
    def ephemeral(
        cls, home: Path, with_postgres: bool = False, rabbit_nodes: int = 1
    ) -> StackConfig:
        """Free ports and a unique node name, for a test's private stack."""
        with free_ports(9) as ports:
            temporal, ui, http, metrics, amqp, management, epmd, smtp, postgres = ports
            # CLI tools use dist_port + 10000..10010, so keep it well below 55535.
            dist = free_port_in(20000, 45000)
            if rabbit_nodes > 1:
                # A run of free ports each, one per node, below the kernel's ephemeral range
                # (32768 up), from which any outgoing connection could take one meanwhile.
                amqp = free_run(rabbit_nodes, 12000, 20000)
                management = free_run(rabbit_nodes, 12000, 20000, avoid=amqp)
                dist = free_run(rabbit_nodes, 20000, 30000)
        return cls(
            home=home,
            temporal_port=temporal,
            temporal_ui_port=ui,
            temporal_http_port=http,
            temporal_metrics_port=metrics,
            amqp_port=amqp,
            management_port=management,
            dist_port=dist,
            epmd_port=epmd,
            node_name=f"podium-{secrets.token_hex(4)}@localhost",
            smtp_port=smtp,
            with_postgres=with_postgres,
            postgres_port=postgres,
            rabbit_nodes=rabbit_nodes,
        )
