"""Issue 10's goals, each with the figure this run measured and whether it was met."""

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Goal:
    name: str
    measured: float  # ms for a time, a ratio for a comparison
    target: float
    at_most: bool  # met when measured <= target (a time), else when measured >= target
    unit: str  # "ms" or "x"
    note: str = ""  # what the figure is, when not plain

    @property
    def ratio(self) -> float:
        """Measured / target: at most 1 meets a time goal, at least 1 a comparison."""
        return self.measured / self.target if self.target else float("nan")

    @property
    def met(self) -> bool:
        return self.measured <= self.target if self.at_most else self.measured >= self.target

    def as_dict(self) -> dict[str, Any]:
        return asdict(self) | {"ratio": self.ratio, "met": self.met}


def goals_of(report: dict[str, Any]) -> list[Goal]:
    """The goals whose figures this report has."""
    goals = []
    confirm = report.get("confirmation_ms", {}).get("c1")
    if confirm:
        for pct, limit in (("p50", 100.0), ("p99", 150.0)):
            goals.append(
                Goal(
                    f"time to confirmation {pct}, conc 1",
                    confirm[pct],
                    limit,
                    True,
                    "ms",
                )
            )
    key = f"c{report['config'].get('concurrency', 16)}"
    saturated = report["ratios"].get(key, {})
    rates = {v: s["per_second"] for v, s in report["latency_ms"].get(key, {}).items()}
    for baseline, target, what in (
        ("all_regular", 1.5, "bare all-regular"),
        ("same_shape", 0.9, "bare same shape"),
    ):
        pair = f"podium/{baseline}"
        if pair in saturated:
            goals.append(
                Goal(
                    f"saturated throughput vs {what}",
                    saturated[pair]["throughput"],
                    target,
                    False,
                    "x",
                    f"{rates['podium']:.1f} vs {rates[baseline]:.1f} wf/s at conc {key[1:]}",
                )
            )
    lag = report.get("event_lag_ms", {}).get("open")
    if lag:
        rate = report.get("open_loop", {})
        goals.append(
            Goal(
                f"event lag p99, open loop {rate.get('rate', 0):.1f}/s",
                lag["p99"],
                50.0,
                True,
                "ms",
                rate.get("source", ""),
            )
        )
    consumer = report.get("consumer_throughput")
    if consumer:
        goals.append(
            Goal(
                "one consumer with its store vs raw aio-pika",
                consumer["runtime/raw"],
                0.8,
                False,
                "x",
            )
        )
    return goals
