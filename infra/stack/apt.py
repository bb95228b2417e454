"""Installing a Debian package the stack needs (as root, with apt-get), without letting the
package start the system's own copy of the server."""

from __future__ import annotations

import contextlib
import logging
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

from infra.stack.errors import StackError

log = logging.getLogger(__name__)

POLICY_RC_D = Path("/usr/sbin/policy-rc.d")
_HOLD_BACK = (
    "#!/bin/sh\n# Written by podium while a package installs: start no service.\nexit 101\n"
)


def apt_install(package: str) -> None:
    log.warning("installing the %s package with apt-get", package)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-q", "--no-install-recommends", package]
    # rabbitmq-server would start the system's broker (and an epmd on every interface),
    # postgresql the system's cluster on 5432: the stack uses neither.
    with services_held_back():
        if subprocess.run(install, env=env, capture_output=True).returncode != 0:
            # Fresh CI images often have no package lists yet.
            subprocess.run(["apt-get", "update", "-q"], env=env, capture_output=True, check=False)
            done = subprocess.run(install, env=env, capture_output=True, text=True)
            if done.returncode != 0:
                raise StackError(f"apt-get install {package} failed:\n{done.stderr[-2000:]}")


@contextlib.contextmanager
def services_held_back(policy: Path = POLICY_RC_D) -> Iterator[None]:
    """Debian's way to keep packages from starting services while they install: invoke-rc.d
    asks `policy-rc.d`, and 101 means "not allowed". An existing policy is left as it is."""
    if policy.exists():
        yield
        return
    policy.write_text(_HOLD_BACK)
    policy.chmod(0o755)
    try:
        yield
    finally:
        if policy.read_text() == _HOLD_BACK:
            policy.unlink()
