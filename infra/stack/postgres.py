"""A private PostgreSQL cluster: own data folder, port and socket folder, loopback only, and an
application role `podium` (not a superuser) with a generated password.

The superuser `postgres` only logs in over the cluster's own unix socket (peer authentication,
mapped from the account that owns the cluster); over TCP it is refused.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pwd
import signal
import subprocess
from pathlib import Path

from infra.stack.config import StackConfig
from infra.stack.credentials import new_password, stored_password
from infra.stack.errors import StackError
from infra.stack.ports import port_open
from infra.stack.postgres_install import account_env, cluster_account, ensure_postgres_installed
from infra.stack.processes import (
    STOP_TIMEOUT,
    launch,
    live_pid,
    runner_kwargs,
    terminate_group,
    wait_gone,
    write_private,
)
from workers.runtime.private_files import private_dir

log = logging.getLogger(__name__)

START_TIMEOUT = 60.0
RUN_TIMEOUT = 120.0  # initdb, psql
SUPERUSER = "postgres"
# The kernel's limit on a unix socket's path (108 bytes with the final NUL).
MAX_SOCKET_PATH = 107


class PostgresCluster:
    def __init__(self, config: StackConfig) -> None:
        self.config = config
        self.dir = config.home / "postgres"
        self.data = self.dir / "data"
        self.socket_dir = self.dir / "run"  # never /var/run/postgresql: that is the system's
        self.pid_file = self.dir / "server.pid"
        self.credentials_file = self.dir / "credentials"
        self.log_file = config.logs / "postgres.log"

    @property
    def initialised(self) -> bool:
        return (self.data / "PG_VERSION").exists()

    def start(self) -> int:
        """Start the cluster unless it runs (creating it on first use); returns the server's
        pid once the application role logs in over TCP."""
        if (pid := self.pid()) is not None:
            return pid
        c = self.config
        if port_open(c.postgres_port):
            # Most likely another PostgreSQL; say so rather than "exited with code 1".
            raise StackError(
                f"port {c.postgres_port} is taken by another process; stop it or pick another"
            )
        bin_dir = ensure_postgres_installed()
        if os.geteuid() == 0:
            # Traverse-only, as the stack does for RabbitMQ: the cluster runs as `postgres`.
            private_dir(c.home).chmod(0o711)
        runner = cluster_account(c.home)
        password = self.password(create=True)
        assert password is not None
        env = _server_env() | account_env(runner, self.dir / "nss")
        self._prepare(bin_dir, runner, env)
        cmd = [str(bin_dir / "postgres"), "-D", str(self.data)]
        for setting in (
            f"port={c.postgres_port}",
            "listen_addresses=127.0.0.1",
            f"unix_socket_directories={self.socket_dir}",
            "unix_socket_permissions=0700",
            "password_encryption=scram-sha-256",
            "logging_collector=off",  # to stderr, which is our log file
        ):
            cmd += ["-c", setting]
        pid = launch(
            cmd,
            what=f"PostgreSQL on port {c.postgres_port}",
            ready=lambda: self._accepting(bin_dir),
            timeout=START_TIMEOUT,
            log_file=self.log_file,
            pid_file=self.pid_file,
            env=env,
            cwd=self.dir,
            runner=runner,
        )
        try:
            self._bootstrap(bin_dir, runner, env, password)
            _log_in(self.url(password))
        except StackError:
            self.stop()
            raise
        return pid

    def stop(self) -> None:
        """Fast shutdown: clients are disconnected, a clean checkpoint is written."""
        pid = self.pid()
        if pid is not None:
            # SIGTERM would be the "smart" shutdown, waiting for every client to leave.
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGINT)
            if not wait_gone(pid, STOP_TIMEOUT):
                terminate_group(pid)
        self.pid_file.unlink(missing_ok=True)

    def pid(self) -> int | None:
        return live_pid(self.pid_file, [b"postgres", str(self.data).encode()])

    def password(self, create: bool) -> str | None:
        if (password := stored_password(self.credentials_file)) is not None or not create:
            return password
        # Also after a lost credentials file: the next start sets the role's password anew.
        return new_password(self.credentials_file, self.config.user)

    def url(self, password: str) -> str:
        c = self.config
        # 127.0.0.1, not localhost: the server listens on IPv4 loopback only.
        return f"postgresql://{c.user}:{password}@127.0.0.1:{c.postgres_port}/{c.database}"

    def _prepare(
        self, bin_dir: Path, runner: pwd.struct_passwd | None, env: dict[str, str]
    ) -> None:
        """Folders owned by the cluster's account, `initdb` on first use, access rules."""
        private_dir(self.dir)
        if runner is not None:
            self.dir.chmod(0o711)  # traverse-only: the server's account reaches its folders
        socket = self.socket_dir / f".s.PGSQL.{self.config.postgres_port}"
        if len(str(socket)) > MAX_SOCKET_PATH:
            raise StackError(f"{socket} is too long for a unix socket; use a shorter home folder")
        for folder in (self.data, self.socket_dir):
            private_dir(folder)
            if runner is not None:
                os.chown(folder, runner.pw_uid, runner.pw_gid)
        if not self.initialised:
            _run(
                [
                    str(bin_dir / "initdb"),
                    f"--pgdata={self.data}",
                    f"--username={SUPERUSER}",
                    "--auth-local=peer",
                    "--auth-host=scram-sha-256",
                    "--encoding=UTF8",
                    "--locale=C",
                ],
                runner,
                env,
                "initdb",
            )
        owner = runner.pw_name if runner is not None else _current_account()
        rules = {
            "pg_hba.conf": (
                "# Written by podium at every start.\n"
                f"local all {SUPERUSER} peer map=owner\n"
                f"host all {SUPERUSER} 127.0.0.1/32 reject\n"
                f"host {self.config.database} {self.config.user} 127.0.0.1/32 scram-sha-256\n"
            ),
            "pg_ident.conf": f"owner {owner} {SUPERUSER}\n",
        }
        for name, text in rules.items():
            write_private(self.data / name, text)
            if runner is not None:
                os.chown(self.data / name, runner.pw_uid, runner.pw_gid)

    def _accepting(self, bin_dir: Path) -> bool:
        probe = [str(bin_dir / "pg_isready"), "-q", "-h", str(self.socket_dir)]
        probe += ["-p", str(self.config.postgres_port), "-U", SUPERUSER, "-d", "postgres"]
        return subprocess.run(probe, env=_server_env(), timeout=10).returncode == 0

    def _bootstrap(
        self, bin_dir: Path, runner: pwd.struct_passwd | None, env: dict[str, str], password: str
    ) -> None:
        """The application role and its database, as the superuser over the socket; idempotent."""
        role, db = self.config.user, self.config.database
        # On stdin, never in argv, where any local user could read the password.
        sql = (
            f"SELECT 'CREATE ROLE {role}' WHERE NOT EXISTS"
            f" (SELECT FROM pg_roles WHERE rolname = '{role}')\\gexec\n"
            f"ALTER ROLE {role} WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION"
            f" NOBYPASSRLS PASSWORD '{password}';\n"
            f"SELECT 'CREATE DATABASE {db} OWNER {role}' WHERE NOT EXISTS"
            f" (SELECT FROM pg_database WHERE datname = '{db}')\\gexec\n"
            f"REVOKE ALL ON DATABASE {db} FROM PUBLIC;\n"
        )
        psql = [str(bin_dir / "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1"]
        psql += ["-h", str(self.socket_dir), "-p", str(self.config.postgres_port)]
        psql += ["-U", SUPERUSER, "-d", "postgres"]
        _run(psql, runner, env, "creating the podium role and database", stdin=sql)


def _run(
    cmd: list[str],
    runner: pwd.struct_passwd | None,
    env: dict[str, str],
    what: str,
    stdin: str | None = None,
) -> None:
    try:
        done = subprocess.run(
            cmd,
            input=stdin,
            capture_output=True,
            text=True,
            env=env,
            cwd="/",
            timeout=RUN_TIMEOUT,
            umask=0o077,
            **runner_kwargs(runner),
        )
    except subprocess.TimeoutExpired:
        raise StackError(f"{what} did not finish within {RUN_TIMEOUT:.0f}s") from None
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()
        raise StackError(f"{what} failed: {detail[-1] if detail else f'exit {done.returncode}'}")


def _server_env() -> dict[str, str]:
    # PGDATA, PGPORT, PGHOST... from the caller's shell must not redirect our tools.
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env["LC_ALL"] = "C"
    return env


def _current_account() -> str:
    try:
        return pwd.getpwuid(os.geteuid()).pw_name
    except KeyError:
        raise StackError(
            f"user id {os.geteuid()} has no account name; PostgreSQL's peer login needs one"
        ) from None


def _log_in(url: str) -> None:
    """A real login of the application role over TCP: the proof the cluster is usable."""
    import psycopg

    try:
        with psycopg.connect(url, connect_timeout=5) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as err:
        first = str(err).strip().splitlines()
        raise StackError(f"the podium role cannot log in: {first[0] if first else err}") from None
