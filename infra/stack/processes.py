"""Detached server processes: spawning, pid files, liveness, readiness and stopping."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import os
import pwd
import signal
import subprocess
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from infra.stack.errors import StackError
from workers.runtime.private_files import private_dir

log = logging.getLogger(__name__)

STOP_TIMEOUT = 30.0


def runner_kwargs(runner: pwd.struct_passwd | None) -> dict[str, Any]:
    if runner is None:
        return {}
    return {"user": runner.pw_uid, "group": runner.pw_gid, "extra_groups": []}


def spawn(
    cmd: list[str],
    log_file: Path,
    env: dict[str, str],
    cwd: Path,
    runner: pwd.struct_passwd | None = None,
) -> subprocess.Popen[bytes]:
    """Start a detached process (own session, so it outlives us and is stopped as a group)."""
    private_dir(log_file.parent)
    fd = os.open(log_file, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    with os.fdopen(fd, "ab") as out:
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
            # The servers' databases, logs and mail are private like everything Podium writes.
            umask=0o077,
            **runner_kwargs(runner),
        )


def alive(pid: int) -> bool:
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


def live_pid(pid_file: Path, markers: list[bytes], env_marker: bytes | None = None) -> int | None:
    """The pid in `pid_file` if that process still runs and is ours; stale files are removed."""
    try:
        pid = int(pid_file.read_text().strip())
    except (FileNotFoundError, ValueError):
        return None
    if alive(pid) and _is_ours(pid, markers, env_marker):
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


def wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive(pid):
            return True
        time.sleep(0.1)
    return not alive(pid)


def terminate_group(pid: int, timeout: float = STOP_TIMEOUT) -> None:
    """SIGTERM the process group led by `pid`, then SIGKILL what is left after `timeout`."""
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5.0)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, sig)
        if wait_gone(pid, wait):
            return
    raise StackError(f"process {pid} survived SIGKILL")


def wait_until(
    ready: Callable[[], bool],
    proc: subprocess.Popen[bytes],
    timeout: float,
    what: str,
    log_file: Path,
    extra_log: Path | None = None,
) -> None:
    """Poll `ready` until it holds; kill the process group if it never does."""
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


def launch(
    cmd: list[str],
    *,
    what: str,
    ready: Callable[[], bool],
    timeout: float,
    log_file: Path,
    pid_file: Path,
    env: dict[str, str],
    cwd: Path,
    runner: pwd.struct_passwd | None = None,
    extra_log: Path | None = None,
) -> int:
    """Start a detached server, record its pid and wait until it is `ready`; return the pid."""
    started = time.monotonic()
    proc = spawn(cmd, log_file, env=env, cwd=cwd, runner=runner)
    write_private(pid_file, f"{proc.pid}\n")
    wait_until(ready, proc, timeout, what, log_file, extra_log)
    log.info("%s started in %.1fs (pid %d)", what, time.monotonic() - started, proc.pid)
    return proc.pid


def stop_recorded(pid: int | None, pid_file: Path) -> None:
    """Stop the process group a pid file recorded (if it still runs) and forget it."""
    if pid is not None:
        terminate_group(pid)
    pid_file.unlink(missing_ok=True)


def run_async(coro: Coroutine[Any, Any, bool]) -> bool:
    """Run a probe coroutine from sync code, even when the caller is inside an event loop."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()


def write_private(path: Path, text: str) -> None:
    """Write a file only its owner can read (it holds a password)."""
    private_dir(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chmod(path, 0o600)


def traversable_by(path: Path, account: pwd.struct_passwd) -> bool:
    """Whether `account` may pass through `path` and every folder above it."""
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
