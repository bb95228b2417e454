"""What the tests share: the stack and its settings, podium processes and in-process workers,
bounded waits, the management API client, factories and the global invariants."""
