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

from workers.stack.errors import StackError

log = logging.getLogger(__name__)

INSTALL_HINT = "sudo apt-get install -y rabbitmq-server"
# Debian's /usr/sbin/rabbitmq-* are wrappers that `su` to the rabbitmq user and redirect output to
# /var/log/rabbitmq; the real scripts live here and take our environment as is.
DEBIAN_SCRIPTS = Path("/usr/lib/rabbitmq/bin")


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
