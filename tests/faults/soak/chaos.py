"""The soak's kills: on a seeded random schedule, SIGKILL one part of the system and start it
again a moment later (a worker, a consumer process, a broker node, PostgreSQL, the Temporal dev
server), and bring back any `podium` process that died of its own accord. Every step is printed
with its time since the start."""

import asyncio
import contextlib
import os
import random
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from infra.stack import LocalStack
from infra.stack.processes import wait_gone
from tests.support.running import Process

TARGETS = ("worker", "consumers", "broker node", "postgresql", "temporal")


@dataclass
class Chaos:
    stack: LocalStack
    processes: dict[str, Process]
    rng: random.Random
    started: float = field(default_factory=time.monotonic)
    log: list[str] = field(default_factory=list)
    kills: list[str] = field(default_factory=list)

    def say(self, what: str) -> None:
        line = f"[{time.monotonic() - self.started:7.1f}s] {what}"
        self.log.append(line)
        print(line, flush=True)

    def schedule(self, kills: int, within: float) -> list[tuple[float, str]]:
        """`kills` moments in the first `within` seconds: every kind of target at least once
        (when `kills` allows), the rest drawn at random."""
        kinds = list(TARGETS)[:kills] + self.rng.choices(TARGETS, k=max(0, kills - len(TARGETS)))
        self.rng.shuffle(kinds)
        moments = sorted(self.rng.uniform(0.1 * within, within) for _ in kinds)
        return list(zip(moments, kinds, strict=True))

    async def run(self, kills: int, within: float) -> None:
        for moment, kind in self.schedule(kills, within):
            while (wait := moment - (time.monotonic() - self.started)) > 0:
                await asyncio.sleep(min(wait, 0.5))
                self.revive()
            await self.strike(kind)
        self.revive()

    async def guard(self, until: Callable[[], bool]) -> None:
        """Keep the processes running (after the kills) until `until()`."""
        while not until():
            self.revive()
            await asyncio.sleep(0.5)

    def revive(self) -> None:
        for name, process in self.processes.items():
            if process.proc is not None and (code := process.proc.poll()) is not None:
                self.say(f"{name} exited by itself (code {code}); started again")
                process.start()

    async def strike(self, kind: str) -> None:
        down = self.rng.uniform(0.3, 2.0)
        name, kill, start = self._target(kind)
        await asyncio.to_thread(kill)
        self.kills.append(kind)
        self.say(f"SIGKILL {name}")
        await asyncio.sleep(down)
        await asyncio.to_thread(start)
        self.say(f"restarted {name}")

    def _target(self, kind: str) -> tuple[str, Callable[[], object], Callable[[], object]]:
        if kind in ("worker", "consumers"):
            name = self.rng.choice(sorted(n for n in self.processes if n.startswith(kind)))
            process = self.processes[name]
            return name, process.kill, process.start
        if kind == "broker node":
            node = self.rng.choice(self.stack.rabbit_cluster.nodes)
            return f"RabbitMQ node {node.config.node_name}", node.kill, node.start
        if kind == "postgresql":
            pg = self.stack.postgres
            return "PostgreSQL", lambda: crash(pg.pid(), pg.pid_file), pg.start
        server = self.stack.temporal
        return (
            "the Temporal dev server",
            lambda: crash(server.pid(), server.pid_file),
            server.start,
        )


def crash(pid: int | None, pid_file: Path) -> None:
    """SIGKILL a stack server and every process of its group, as a power cut would."""
    if pid is not None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
        if not wait_gone(pid, 10):
            raise RuntimeError(f"pid {pid} survived SIGKILL")
    pid_file.unlink(missing_ok=True)
