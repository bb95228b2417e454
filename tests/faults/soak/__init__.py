"""The chaos soak: many orders of every kind while workers, consumers, a broker node,
PostgreSQL and the Temporal dev server are SIGKILLed and restarted at random; the invariants
are checked from the services' and stores' own data at the end. `make soak` runs it at scale
(`python -m tests.faults.soak`), tests/faults/test_chaos_soak.py a short run in CI."""
