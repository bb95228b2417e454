"""CPU time of processes, from /proc: user + system time of all their threads."""

import os
from dataclasses import dataclass
from pathlib import Path

TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")
LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1", "[::1]")


def cpu_seconds(pid: int | str = "self") -> float:
    """utime + stime of a process, in seconds (fields 14 and 15 of /proc/<pid>/stat)."""
    # The command name (field 2) may hold spaces or parentheses: split after its last ")".
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS_PER_SECOND


def listening_pid(address: str) -> int | None:
    """The local process listening on `address` ("host:port"), if it is on this machine and
    visible to this user; None otherwise."""
    host, _, port = address.rpartition(":")
    if host not in LOCAL_HOSTS or not port.isdigit():
        return None
    sockets = _listening_sockets(int(port))
    if not sockets:
        return None
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if any(os.readlink(fd) in sockets for fd in (proc / "fd").iterdir()):
                return int(proc.name)
        except OSError:  # gone meanwhile, or not ours to look at
            continue
    return None


def _listening_sockets(port: int) -> set[str]:
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            cols = row.split()
            local, state, inode = cols[1], cols[3], cols[9]
            if state == "0A" and int(local.rsplit(":", 1)[1], 16) == port:  # 0A: LISTEN
                found.add(f"socket:[{inode}]")
    return found


@dataclass(frozen=True)
class Reading:
    """CPU seconds so far of the worker process, the Temporal server and this process."""

    worker: float
    server: float | None
    bench: float

    @classmethod
    def take(cls, worker_pid: int, server_pid: int | None) -> "Reading":
        server = None
        if server_pid is not None:
            try:
                server = cpu_seconds(server_pid)
            except OSError:
                server = None
        return cls(cpu_seconds(worker_pid), server, cpu_seconds())

    def since(self, before: "Reading") -> "Reading":
        server = None
        if self.server is not None and before.server is not None:
            server = self.server - before.server
        return Reading(self.worker - before.worker, server, self.bench - before.bench)
