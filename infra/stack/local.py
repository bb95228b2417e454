"""The whole local stack: Temporal, RabbitMQ and the mail server, started and stopped together,
PostgreSQL when asked for (`with_postgres`) and more RabbitMQ nodes (`rabbit_nodes`).

The servers are detached processes that outlive the caller and are found again through pid files
under `home`. Used by `podium dev up|down|status` and by the integration tests (on free ports in a
tmp dir).
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import fcntl
import os
import pwd
from collections.abc import Iterator
from dataclasses import replace

from infra.stack.config import StackConfig
from infra.stack.errors import StackError
from infra.stack.mail import MailServer
from infra.stack.postgres import PostgresCluster
from infra.stack.processes import write_private
from infra.stack.rabbitmq import RabbitNode
from infra.stack.rabbitmq_cluster import RabbitCluster
from infra.stack.status import ServiceStatus, StackInfo, StackStatus
from infra.stack.temporal import TemporalServer
from workers.runtime.private_files import private_dir, tighten_files


class LocalStack:
    def __init__(self, config: StackConfig) -> None:
        self.config = replace(config, home=config.home.absolute())
        self.temporal = TemporalServer(self.config)
        self.rabbit_cluster = RabbitCluster(self.config)
        self.rabbitmq = self.rabbit_cluster.first  # the only node of a default stack
        self.mail = MailServer(self.config)
        self.postgres = PostgresCluster(self.config)
        self.env_file = self.config.home / "stack.env"

    def up(self) -> StackInfo:
        """Start whatever is not running yet; parts already running are left alone."""
        with self._lock():
            self.temporal.start()
            self.rabbit_cluster.start()
            self.mail.start()
            if self.config.with_postgres:
                self.postgres.start()
        info = self._info()
        if info is None:
            raise StackError(f"{self.rabbitmq.credentials_file} vanished while starting")
        write_private(self.env_file, env_text(info))
        return info

    def down(self) -> None:
        """Stop all servers; data stays in `home`. Harmless when nothing runs."""
        errors: list[str] = []
        parts = (self.rabbit_cluster, self.temporal, self.mail, self.postgres)
        # In parallel: a graceful broker stop takes ~6 s, the others' ~1 s. A cluster started
        # by an earlier `up --postgres` is stopped too.
        with self._lock(), concurrent.futures.ThreadPoolExecutor(max_workers=len(parts)) as pool:
            for stop in [pool.submit(part.stop) for part in parts]:
                try:
                    stop.result()
                except StackError as err:
                    errors.append(str(err))
        if errors:
            raise StackError("; ".join(errors))

    def status(self) -> StackStatus:
        c = self.config
        r_ports = {"amqp": c.amqp_port, "dist": c.dist_port, "epmd": c.epmd_port}
        if c.with_management:
            r_ports["management"] = c.management_port
        if c.amqps_port is not None:
            r_ports["amqps"] = c.amqps_port
        t_pid, r_pid, m_pid = self.temporal.pid(), self.rabbitmq.pid(), self.mail.pid()
        return StackStatus(
            temporal=ServiceStatus(
                "temporal",
                t_pid is not None,
                t_pid,
                {"grpc": c.temporal_port, "ui": c.temporal_ui_port},
                self.temporal.log_file,
            ),
            rabbitmq=ServiceStatus(
                "rabbitmq", r_pid is not None, r_pid, r_ports, self.rabbitmq.log_file
            ),
            mail=ServiceStatus(
                "mail", m_pid is not None, m_pid, {"smtp": c.smtp_port}, self.mail.log_file
            ),
            postgres=self._postgres_status(),
            info=self._info(),
            rabbitmq_peers=tuple(_peer_status(node) for node in self.rabbit_cluster.peers),
        )

    def _postgres_status(self) -> ServiceStatus | None:
        """Only for a stack that has a cluster: without one, `status` reads as it always did."""
        pid = self.postgres.pid()
        if pid is None and not (self.config.with_postgres or self.postgres.initialised):
            return None
        ports = {"sql": self.config.postgres_port}
        return ServiceStatus("postgres", pid is not None, pid, ports, self.postgres.log_file)

    @contextlib.contextmanager
    def _lock(self) -> Iterator[None]:
        """One `up`/`down` at a time per home (e.g. the CLI and a test racing)."""
        if os.geteuid() == 0 and (_has_account("rabbitmq") or _has_account("postgres")):
            # Traverse-only for others on the way to the servers' own 0700 folders, so they run
            # as `rabbitmq` and `postgres` rather than as root (PostgreSQL refuses root); nobody
            # else can list these, their files are 0600.
            for folder in (self.config.home, self.config.logs):
                private_dir(folder).chmod(0o711)
        else:
            private_dir(self.config.home)
        # The Temporal database and stack.env, perhaps written by an older, laxer version.
        tighten_files(self.config.home)
        lock = os.open(self.config.home / ".lock", os.O_WRONLY | os.O_CREAT, 0o600)
        with os.fdopen(lock, "w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            yield

    def _info(self) -> StackInfo | None:
        password = self.rabbitmq.password(create=False)
        if password is None:
            return None
        c = self.config
        return StackInfo(
            temporal_address=self.temporal.address,
            temporal_ui_url=self.temporal.ui_url,
            amqp_url=self.rabbitmq.amqp_url(password),
            amqp_urls=tuple(self.rabbit_cluster.amqp_urls(password)),
            management_url=f"http://localhost:{c.management_port}" if c.with_management else None,
            management_user=c.user,
            management_password=password,
            env_file=self.env_file,
            smtp_port=c.smtp_port,
            mail_dir=self.mail.dir,
            amqps_url=self.rabbitmq.amqps_url(password),
            database_url=self._database_url(),
        )

    def _database_url(self) -> str | None:
        """The cluster's URL while it runs; a stack without PostgreSQL has none."""
        if self.postgres.pid() is None:
            return None
        password = self.postgres.password(create=False)
        return None if password is None else self.postgres.url(password)


def env_text(info: StackInfo) -> str:
    """stack.env, which the settings object reads."""
    # A cluster's every node, node 1 first: clients fail over along the list.
    amqp_url = ",".join(info.amqp_urls or (info.amqp_url,))
    text = (
        f"PODIUM_AMQP_URL={amqp_url}\n"
        f"PODIUM_TEMPORAL_ADDRESS={info.temporal_address}\n"
        f"PODIUM_TEMPORAL_UI_URL={info.temporal_ui_url}\n"
        f"PODIUM_SMTP_PORT={info.smtp_port}\n"
        f"PODIUM_MAIL_DIR={info.mail_dir}\n"
    )
    if info.database_url is not None:
        text += f"PODIUM_DATABASE_URL={info.database_url}\n"
    return text


def _peer_status(node: RabbitNode) -> ServiceStatus:
    c = node.config
    pid = node.pid()
    ports = {"amqp": c.amqp_port, "dist": c.dist_port}
    if c.with_management:
        ports["management"] = c.management_port
    return ServiceStatus(f"rabbitmq-{node.index}", pid is not None, pid, ports, node.log_file)


def _has_account(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True
