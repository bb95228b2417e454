"""What holds customer data or secrets is private, and nothing Podium starts listens beyond
loopback: checked on the real stack, a real `podium worker` process and a real epmd."""

import concurrent.futures
import os
import shutil
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from ipaddress import ip_address
from pathlib import Path

import pytest

from infra.stack import LocalStack
from infra.stack.apt import services_held_back
from infra.stack.ports import free_port
from infra.stack.rabbitmq_install import stop_unused_epmd
from workers.runtime.settings import Settings

pytestmark = pytest.mark.integration
PODIUM = str(Path(sys.executable).parent / "podium")


def loose(top: Path) -> list[str]:
    """Everything under `top` that a group or other users could read, write or enter."""
    found = []
    for path in [top, *top.rglob("*")]:
        mode = path.lstat().st_mode
        if stat.S_ISLNK(mode) or stat.S_ISSOCK(mode):
            continue
        # A folder may be traverse-only (0711: the way to the broker's own folders, so it need
        # not run as root); nothing may be readable or writable by others.
        if mode & (0o066 if stat.S_ISDIR(mode) else 0o077):
            found.append(f"{path} {stat.filemode(mode)}")
    return found


@pytest.mark.restartable
def test_the_stack_writes_only_private_files(stack: LocalStack) -> None:
    stack.up()
    assert stack.temporal.db.exists()
    assert loose(stack.config.home) == []


@pytest.mark.restartable
def test_up_tightens_what_an_older_version_left_open(stack: LocalStack) -> None:
    stack.up()
    stack.config.home.chmod(0o755)
    stack.temporal.db.chmod(0o644)
    stack.up()
    assert stat.S_IMODE(stack.config.home.stat().st_mode) in (0o700, 0o711)
    assert stat.S_IMODE(stack.temporal.db.stat().st_mode) == 0o600


def test_a_worker_process_keeps_its_databases_private(settings: Settings, tmp_path: Path) -> None:
    data = tmp_path / "shared" / "data"
    data.mkdir(parents=True)
    data.chmod(0o755)
    (data / "orders.db").write_bytes(b"")  # as an older version left it
    (data / "orders.db").chmod(0o644)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PODIUM_")}
    env.update(
        PODIUM_TEMPORAL_ADDRESS=settings.temporal_address,
        PODIUM_TEMPORAL_NAMESPACE=settings.temporal_namespace,
        PODIUM_AMQP_URL=settings.amqp_url,
        PODIUM_DATA_DIR=str(data),
        PODIUM_TASK_QUEUE=settings.task_queue,
        PODIUM_EXCHANGE=settings.exchange,
        PODIUM_METRICS_PORT="0",
    )
    # Started with a lax umask: the worker must not depend on its caller's.
    worker = subprocess.Popen(
        [PODIUM, "worker"], env=env, cwd=tmp_path, stderr=subprocess.PIPE, umask=0o022
    )
    try:
        deadline = time.monotonic() + 30
        while not (data / "payments.db").exists() and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.communicate(timeout=30)
    assert (data / "payments.db").exists()
    assert loose(data) == []


def listening_sockets() -> dict[str, tuple[str, int]]:
    """Socket inode -> (address, port) of every listening TCP socket on the machine."""
    found: dict[str, tuple[str, int]] = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] != "0A":  # LISTEN
                continue
            address, port = fields[1].split(":")
            raw = bytes.fromhex(address)
            # The kernel prints each 32-bit word in host (little-endian) order.
            ordered = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
            found[fields[9]] = (str(ip_address(ordered)), int(port, 16))
    return found


def sockets_of(pid: int) -> set[str]:
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    return inodes


def sessions_processes(sessions: set[int]) -> set[int]:
    pids = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if os.getsid(int(entry.name)) in sessions:
                    pids.add(int(entry.name))
            except OSError:
                continue
    return pids


def test_nothing_the_stack_started_listens_beyond_loopback(stack: LocalStack) -> None:
    stack.up()
    status = stack.status()
    started = [s.pid for s in (status.temporal, status.rabbitmq, status.mail) if s.pid]
    assert len(started) == 3
    pids = sessions_processes({os.getsid(pid) for pid in started})
    listening = listening_sockets()
    ours = {listening[i] for pid in pids for i in sockets_of(pid) if i in listening}
    c = stack.config
    for port in (c.temporal_port, c.amqp_port, c.management_port, c.epmd_port, c.smtp_port):
        ours |= {where for where in listening.values() if where[1] == port}
    assert {port for _, port in ours} >= {c.temporal_port, c.amqp_port, c.epmd_port}
    beyond = sorted(where for where in ours if not ip_address(where[0]).is_loopback)
    assert beyond == []


def test_installing_rabbitmq_starts_no_service(tmp_path: Path) -> None:
    policy = tmp_path / "policy-rc.d"
    with services_held_back(policy):
        done = subprocess.run([str(policy), "rabbitmq-server", "start"], check=False)
        assert done.returncode == 101  # invoke-rc.d: "action not allowed"
    assert not policy.exists()
    policy.write_text("#!/bin/sh\nexit 0\n")  # the machine's own policy is left alone
    with services_held_back(policy):
        pass
    assert policy.read_text() == "#!/bin/sh\nexit 0\n"


@pytest.fixture
def lone_epmd() -> Iterator[int]:
    epmd = shutil.which("epmd")
    if epmd is None:
        pytest.skip("epmd is not installed")
    port = free_port()
    env = {**os.environ, "ERL_EPMD_PORT": str(port), "ERL_EPMD_ADDRESS": "127.0.0.1"}
    subprocess.run([epmd, "-daemon"], env=env, check=True)
    try:
        deadline = time.monotonic() + 10  # -daemon returns before the daemon listens
        while not any(p == port for _, p in listening_sockets().values()):
            assert time.monotonic() < deadline, "epmd did not start listening"
            time.sleep(0.05)
        yield port
    finally:
        subprocess.run([epmd, "-kill"], env=env, capture_output=True, check=False)


def test_an_epmd_left_without_nodes_is_stopped(lone_epmd: int) -> None:
    assert any(port == lone_epmd for _, port in listening_sockets().values())
    stop_unused_epmd(lone_epmd)
    deadline = time.monotonic() + 10
    while any(port == lone_epmd for _, port in listening_sockets().values()):
        assert time.monotonic() < deadline, "the lone epmd still listens"
        time.sleep(0.1)


def test_rabbitmqctl_calls_listen_on_loopback_only(stack: LocalStack) -> None:
    stack.up()
    seen: set[tuple[str, int]] = set()
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        call = pool.submit(stack.rabbitmq.rabbitmqctl, "eval", "timer:sleep(4000).")
        while not call.done():
            listening = listening_sockets()
            for pid in cli_pids(stack.config.node_name):
                seen |= {listening[i] for i in sockets_of(pid) if i in listening}
            time.sleep(0.2)
        call.result()
    assert seen, "the CLI's Erlang node was not seen listening"
    assert [where for where in seen if not ip_address(where[0]).is_loopback] == []


def cli_pids(node_name: str) -> set[int]:
    """Erlang VMs of `rabbitmqctl` talking to this node."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if b"rabbitmqctl" in cmdline and b"beam" in cmdline and node_name.encode() in cmdline:
            found.add(int(entry.name))
    return found
