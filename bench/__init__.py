"""`podium bench`: the saga against the bare engine, hybrid against all-orchestrated, and the
consumer runtime against raw aio-pika, measured side by side in one run (docs/benchmarks.md).

Nothing is imported here: the workflow sandbox imports this package again for every run of the
bench workflows (`bench.baseline`, `bench.all_orchestrated`), so it must stay empty.
"""
