"""Side-effect consumers: a small runtime on aio-pika and one module per side effect."""

from consumers.definition import Consumer
from consumers.options import RuntimeOptions, TopologyOptions
from consumers.outcomes import DeadLetter, RetryLater

__all__ = ["Consumer", "DeadLetter", "RetryLater", "RuntimeOptions", "TopologyOptions"]
