"""Finding PostgreSQL's server programs, installing Debian's package when they are missing, and
the account the cluster runs as.

Debian keeps `initdb`, `pg_ctl` and `postgres` off PATH, in `/usr/lib/postgresql/<N>/bin`.
"""

from __future__ import annotations

import glob
import grp
import logging
import os
import pwd
import shutil
import subprocess
from pathlib import Path

from infra.stack.apt import apt_install
from infra.stack.errors import StackError
from infra.stack.processes import runner_kwargs, traversable_by, write_private
from workers.runtime.private_files import private_dir

log = logging.getLogger(__name__)

INSTALL_HINT = "sudo apt-get install -y postgresql"
DEBIAN_ROOT = Path("/usr/lib/postgresql")
SERVER_PROGRAMS = ("initdb", "postgres", "pg_isready", "psql")
# Debian's package creates this account; the server refuses to run as root.
SERVER_ACCOUNT = "postgres"


def postgres_bin_dir() -> Path | None:
    """The folder holding `initdb` and `postgres` (the newest version found), or None."""
    candidates: list[Path] = []
    if DEBIAN_ROOT.is_dir():
        versions = [p for p in DEBIAN_ROOT.iterdir() if p.name.isdigit()]
        candidates += [p / "bin" for p in sorted(versions, key=lambda p: int(p.name), reverse=True)]
    if pg_config := shutil.which("pg_config"):
        done = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, timeout=10)
        if done.returncode == 0 and done.stdout.strip():
            candidates.append(Path(done.stdout.strip()))
    if initdb := shutil.which("initdb"):
        candidates.append(Path(initdb).resolve().parent)
    for folder in candidates:
        if all((folder / name).is_file() for name in SERVER_PROGRAMS):
            return folder
    return None


def ensure_postgres_installed() -> Path:
    """Return the server programs' folder, installing Debian's `postgresql` first if root."""
    if (found := postgres_bin_dir()) is not None:
        return found
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise StackError(f"PostgreSQL is not installed. Install it with: {INSTALL_HINT}")
    apt_install("postgresql")
    if (found := postgres_bin_dir()) is None:
        raise StackError("PostgreSQL's server programs are still missing after apt-get install")
    return found


def account_env(account: pwd.struct_passwd | None, folder: Path) -> dict[str, str]:
    """What the cluster's programs need in their environment to run as `account`.

    initdb and the server look their own account up by uid and stop when they cannot. Where
    the system's user database is unreadable to that account (an /etc/passwd of mode 0700),
    they get its entry from files of their own through nss_wrapper, as the official PostgreSQL
    container image does for accounts missing from /etc/passwd.
    """
    if account is None or _can_look_itself_up(account):
        return {}
    library = _nss_wrapper() or _install_nss_wrapper()
    private_dir(folder)
    group = grp.getgrgid(account.pw_gid).gr_name
    files = {
        "passwd": f"{account.pw_name}:x:{account.pw_uid}:{account.pw_gid}::{folder}:/bin/false\n",
        "group": f"{group}:x:{account.pw_gid}:\n",
    }
    for name, text in files.items():
        write_private(folder / name, text)
        os.chown(folder / name, account.pw_uid, account.pw_gid)
    folder.chmod(0o711)
    return {
        "LD_PRELOAD": str(library),
        "NSS_WRAPPER_PASSWD": str(folder / "passwd"),
        "NSS_WRAPPER_GROUP": str(folder / "group"),
    }


def _can_look_itself_up(account: pwd.struct_passwd) -> bool:
    probe = ["id", "-un"]
    done = subprocess.run(probe, capture_output=True, timeout=10, **runner_kwargs(account))
    return done.returncode == 0


def _nss_wrapper() -> Path | None:
    for pattern in ("/usr/lib/*/libnss_wrapper.so", "/usr/lib*/libnss_wrapper.so"):
        if found := sorted(glob.glob(pattern)):
            return Path(found[0])
    return None


def _install_nss_wrapper() -> Path:
    if shutil.which("apt-get") is None:
        raise StackError(
            f"user {SERVER_ACCOUNT} cannot read the system's user database and nss_wrapper is"
            " missing; install libnss-wrapper or run as a regular user"
        )
    apt_install("libnss-wrapper")
    if (found := _nss_wrapper()) is None:
        raise StackError("libnss_wrapper.so is still missing after apt-get install")
    return found


def cluster_account(home: Path) -> pwd.struct_passwd | None:
    """The account the cluster runs as: None (ourselves) unless we are root, then `postgres`.

    PostgreSQL refuses to start as root, so there is no fallback to root as for RabbitMQ: the
    `postgres` account must be able to reach `home`.
    """
    if os.geteuid() != 0:
        return None
    try:
        account = pwd.getpwnam(SERVER_ACCOUNT)
    except KeyError:
        raise StackError(
            f"PostgreSQL refuses to run as root and there is no `{SERVER_ACCOUNT}` account;"
            f" install Debian's package ({INSTALL_HINT}) or run as a regular user"
        ) from None
    if not traversable_by(home, account):
        raise StackError(
            f"PostgreSQL refuses to run as root and user {SERVER_ACCOUNT} cannot reach {home};"
            " let others traverse its parent folders (chmod o+x) or run as a regular user"
        )
    return account
