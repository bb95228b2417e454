"""A private RabbitMQ node: own node name, ports, epmd, cookie and generated `podium` password."""

from __future__ import annotations

import logging
import shutil
import subprocess

from infra.stack.config import StackConfig
from infra.stack.credentials import new_password, stored_password
from infra.stack.errors import StackError
from infra.stack.ports import port_open
from infra.stack.processes import (
    STOP_TIMEOUT,
    launch,
    live_pid,
    run_async,
    runner_kwargs,
    terminate_group,
    wait_gone,
)
from infra.stack.rabbitmq_install import (
    INSTALL_HINT,
    ensure_rabbitmq_installed,
    rabbitmq_scripts_dir,
)
from infra.stack.rabbitmq_node_files import node_env, runner_account, write_node_files

log = logging.getLogger(__name__)

START_TIMEOUT = 90.0


class RabbitNode:
    def __init__(self, config: StackConfig) -> None:
        self.config = config
        self.dir = config.home / "rabbitmq"
        self.pid_file = self.dir / "server.pid"  # the launcher: our process group
        self.credentials_file = self.dir / "credentials"
        self.log_file = config.logs / "rabbitmq.log"

    def start(self) -> int:
        """Start the node unless it runs; returns its launcher's pid once logins work."""
        if (pid := self.pid()) is not None:
            return pid
        scripts = ensure_rabbitmq_installed()
        c = self.config
        password = self.password(create=True)
        assert password is not None
        runner = runner_account(c.home)
        write_node_files(c, self.dir, password, runner, keep_owner=self.credentials_file)
        url = self.amqp_url(password)
        return launch(
            [str(scripts / "rabbitmq-server")],
            what=f"RabbitMQ node {c.node_name} on port {c.amqp_port}",
            ready=lambda: (
                port_open(c.amqp_port)
                and (c.amqps_port is None or port_open(c.amqps_port))
                and run_async(_login(url))
            ),
            timeout=START_TIMEOUT,
            log_file=self.log_file,
            pid_file=self.pid_file,
            env=node_env(c, self.dir),
            cwd=self.dir,
            runner=runner,
            extra_log=c.logs / "rabbitmq" / f"{c.node_name}.log",
        )

    def stop(self) -> None:
        """Stop the node gracefully (durable queues and persistent messages are kept)."""
        pid = self.pid()
        if pid is not None:
            try:
                self.rabbitmqctl("stop", timeout=STOP_TIMEOUT)
            except (StackError, subprocess.TimeoutExpired) as err:
                log.warning("rabbitmqctl stop failed (%s); signalling the node", err)
            if not wait_gone(pid, STOP_TIMEOUT):
                terminate_group(pid)
        self._stop_epmd()
        self.pid_file.unlink(missing_ok=True)

    def pid(self) -> int | None:
        return live_pid(
            self.pid_file,
            [b"rabbitmq-server"],
            env_marker=f"RABBITMQ_NODENAME={self.config.node_name}".encode(),
        )

    def rabbitmqctl(self, *args: str, timeout: float = 60.0) -> str:
        """Run `rabbitmqctl` against this node (right user, cookie and epmd)."""
        scripts = rabbitmq_scripts_dir()
        if scripts is None:
            raise StackError(f"RabbitMQ is not installed. Install it with:\n  {INSTALL_HINT}")
        cmd = [str(scripts / "rabbitmqctl"), "-n", self.config.node_name, *args]
        proc = subprocess.run(
            cmd,
            env=node_env(self.config, self.dir),
            cwd=self.dir,
            capture_output=True,
            text=True,
            timeout=timeout,
            **runner_kwargs(runner_account(self.config.home)),
        )
        if proc.returncode != 0:
            raise StackError(f"rabbitmqctl {' '.join(args)} failed: {proc.stderr or proc.stdout}")
        return proc.stdout

    def password(self, create: bool) -> str | None:
        if (password := stored_password(self.credentials_file)) is not None or not create:
            return password
        mnesia = self.dir / "mnesia"
        if mnesia.exists() and any(mnesia.iterdir()):
            raise StackError(
                f"{self.credentials_file} is missing but the node already has data; the podium "
                f"password is lost. Remove {self.dir} to start the broker afresh."
            )
        return new_password(self.credentials_file, self.config.user)

    def amqp_url(self, password: str) -> str:
        c = self.config
        return f"amqp://{c.user}:{password}@localhost:{c.amqp_port}/{c.vhost}"

    def amqps_url(self, password: str) -> str | None:
        c = self.config
        if c.amqps_port is None:
            return None
        return f"amqps://{c.user}:{password}@localhost:{c.amqps_port}/{c.vhost}"

    def _stop_epmd(self) -> None:
        epmd = shutil.which("epmd")
        if epmd is None:
            return
        env = {**node_env(self.config, self.dir), "ERL_EPMD_PORT": str(self.config.epmd_port)}
        names = subprocess.run([epmd, "-names"], env=env, capture_output=True, text=True)
        # Only our private epmd listens on this port; leave it if some node still uses it.
        if names.returncode == 0 and "name " not in names.stdout:
            subprocess.run([epmd, "-kill"], env=env, capture_output=True)


async def _login(url: str) -> bool:
    import aio_pika

    connection = await aio_pika.connect(url, timeout=5)
    await connection.close()
    return True
