"""What `up` returns and `status` reports, and how `podium dev status` prints it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from workers.runtime.redaction import redact_urls


@dataclass(frozen=True)
class StackInfo:
    temporal_address: str
    temporal_ui_url: str
    amqp_url: str
    management_url: str | None
    management_user: str
    management_password: str = field(repr=False)
    env_file: Path
    smtp_port: int
    mail_dir: Path
    amqps_url: str | None = None  # only with the stack's optional TLS listener
    database_url: str | None = field(default=None, repr=False)  # only with PostgreSQL
    # Every node's URL, node 1 (`amqp_url`) first; more than one for a cluster.
    amqp_urls: tuple[str, ...] = field(default=(), repr=False)


@dataclass(frozen=True)
class ServiceStatus:
    name: str
    running: bool
    pid: int | None
    ports: dict[str, int]
    log_file: Path


@dataclass(frozen=True)
class StackStatus:
    temporal: ServiceStatus
    rabbitmq: ServiceStatus
    mail: ServiceStatus
    postgres: ServiceStatus | None  # None for a stack without PostgreSQL
    info: StackInfo | None  # None until RabbitMQ has booted once (no password yet)
    rabbitmq_peers: tuple[ServiceStatus, ...] = ()  # nodes 2..N of a cluster

    @property
    def parts(self) -> tuple[ServiceStatus, ...]:
        parts = (self.temporal, self.rabbitmq, *self.rabbitmq_peers, self.mail, self.postgres)
        return tuple(svc for svc in parts if svc is not None)

    @property
    def running(self) -> bool:
        return all(svc.running for svc in self.parts)

    def describe(self) -> str:
        lines = []
        for svc in self.parts:
            state = f"running (pid {svc.pid})" if svc.running else "stopped"
            ports = ", ".join(f"{k} {v}" for k, v in svc.ports.items())
            lines.append(f"{svc.name:<9} {state:<22} {ports}  log: {svc.log_file}")
        if self.info:
            lines.append(f"Temporal UI:  {self.info.temporal_ui_url}")
            lines.append(f"Temporal:     {self.info.temporal_address}")
            for url in self.info.amqp_urls or (self.info.amqp_url,):
                lines.append(f"AMQP:         {url}")
            if self.info.amqps_url:
                lines.append(f"AMQPS:        {self.info.amqps_url}")
            if self.info.management_url:
                lines.append(
                    f"RabbitMQ UI:  {self.info.management_url} (user {self.info.management_user},"
                    f" password {self.info.management_password})"
                )
            lines.append(
                f"Mail (SMTP):  localhost:{self.info.smtp_port}, emails land in"
                f" {self.info.mail_dir}/"
            )
            if self.info.database_url:
                # The password stays in the 0600 files (stack.env, postgres/credentials).
                lines.append(f"PostgreSQL:   {redact_urls(self.info.database_url)}")
        return "\n".join(lines)
