"""`podium bench --log-cost`: what a consumer's INFO line costs, written by the thread that logs
it (as short commands do) and handed off to the writer thread (as `podium worker` and `podium
consumers` do), side by side in alternating rounds.

Two figures per way: the time the logging thread (an event loop, in a consumer) spends per
line, and the time until every line is written. The writer thread holds the GIL while it
redacts and renders, so handing off moves the rendering out of the loop's turn and the write
(a system call that may block on a slow pipe) out of the loop altogether, but does not make
the work smaller: the second figure says by how much the total moved.
"""

import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import structlog

from workers.runtime.logging import MAX_QUEUED, configure_logging, flush_logging

WAYS = ("written in place", "handed off")


@dataclass(frozen=True)
class LogCost:
    lines: int
    rounds: int
    emit_us: dict[str, float]  # per line, median over the rounds
    total_us: dict[str, float]  # per line, until written

    def table(self) -> list[str]:
        base_emit, base_total = self.emit_us[WAYS[0]], self.total_us[WAYS[0]]
        rows = [
            f"one consumer INFO line, {self.lines} lines x {self.rounds} rounds per way "
            "(medians, microseconds per line)",
            f"{'way':<18} {'logging thread':>15} {'ratio':>6} {'until written':>14} {'ratio':>6}",
        ]
        for way in WAYS:
            rows.append(
                f"{way:<18} {self.emit_us[way]:>15.1f} {self.emit_us[way] / base_emit:>6.2f}"
                f" {self.total_us[way]:>14.1f} {self.total_us[way] / base_total:>6.2f}"
            )
        return rows


def _round(folder: Path, way: str, lines: int) -> tuple[float, float]:
    file = folder / f"{way.replace(' ', '-')}.log"
    configure_logging("INFO", "json", file=file, off_loop=way == WAYS[1])
    log = structlog.get_logger("consumers.loyalty").bind(
        consumer="loyalty", event_id="5f0c6a1e-9f7b-5d0e-8c1a-2b3c4d5e6f70", order_id="ord-42"
    )
    started = time.perf_counter()
    for _ in range(lines):
        log.info("event handled", event_type="order.completed.v1", outcome="processed", ms=1.7)
    emitted = time.perf_counter()
    flush_logging()
    written = time.perf_counter()
    file.unlink()
    return (emitted - started) / lines * 1e6, (written - started) / lines * 1e6


def measure_log_cost(lines: int = 5000, rounds: int = 5) -> LogCost:
    """Alternating rounds of `lines` lines each way; the process's logging is left configured
    to the last way's file, gone: the caller configures it again."""
    lines = min(lines, MAX_QUEUED)  # more would block the logging thread on the writer
    emit: dict[str, list[float]] = {way: [] for way in WAYS}
    total: dict[str, list[float]] = {way: [] for way in WAYS}
    with tempfile.TemporaryDirectory(prefix="podium-log-cost-") as tmp:
        for number in range(rounds):
            for way in WAYS if number % 2 == 0 else WAYS[::-1]:  # ABBA: drift hits both
                emit_us, total_us = _round(Path(tmp), way, lines)
                emit[way].append(emit_us)
                total[way].append(total_us)
    return LogCost(
        lines=lines,
        rounds=rounds,
        emit_us={way: statistics.median(values) for way, values in emit.items()},
        total_us={way: statistics.median(values) for way, values in total.items()},
    )
