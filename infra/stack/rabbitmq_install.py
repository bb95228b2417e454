"""Finding RabbitMQ's scripts, installing Debian's package when they are missing.

Nothing is downloaded by hand: RabbitMQ comes from the OS package (apt-get, when root).
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import subprocess
from pathlib import Path

from infra.stack.apt import apt_install
from infra.stack.errors import StackError

log = logging.getLogger(__name__)

INSTALL_HINT = "sudo apt-get install -y rabbitmq-server"
# Debian's /usr/sbin/rabbitmq-* are wrappers that `su` to the rabbitmq user and redirect output to
# /var/log/rabbitmq; the real scripts live here and take our environment as is.
DEBIAN_SCRIPTS = Path("/usr/lib/rabbitmq/bin")
SYSTEM_EPMD_PORT = 4369


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
    apt_install("rabbitmq-server")
    # Where a service started anyway (no policy-rc.d support): stop it, then its epmd.
    _stop_system_rabbitmq()
    stop_unused_epmd(SYSTEM_EPMD_PORT)
    if (scripts := rabbitmq_scripts_dir()) is None:
        raise StackError("rabbitmq-server is still missing after apt-get install")
    return scripts


def stop_unused_epmd(port: int) -> None:
    """Stop the epmd on `port` if it runs and no Erlang node is registered with it."""
    epmd = shutil.which("epmd")
    if epmd is None:
        return
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RABBITMQ_", "ERL_"))}
    env["ERL_EPMD_PORT"] = str(port)
    with contextlib.suppress(subprocess.TimeoutExpired):
        names = subprocess.run(
            [epmd, "-names"], env=env, capture_output=True, text=True, timeout=10
        )
        # epmd refuses `-kill` itself while a node is registered; checked here to say so.
        if names.returncode == 0 and "name " not in names.stdout:
            subprocess.run([epmd, "-kill"], env=env, capture_output=True, timeout=10)


def _stop_system_rabbitmq() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RABBITMQ_", "ERL_"))}
    # Not `rabbitmqctl stop`: with no broker running, the CLI itself starts a system epmd.
    if shutil.which("service") is None:
        return
    with contextlib.suppress(subprocess.TimeoutExpired):
        subprocess.run(
            ["service", "rabbitmq-server", "stop"], env=env, capture_output=True, timeout=60
        )
