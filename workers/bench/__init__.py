"""`podium bench`: the saga against the bare engine, hybrid against all-orchestrated, and the
consumer runtime against raw aio-pika, measured side by side in one run (docs/benchmarks.md)."""

from workers.bench.run import run_bench

__all__ = ["run_bench"]
