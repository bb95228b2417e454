"""Every side effect, in one place: a new consumer is one module plus its name in SIDE_EFFECTS.

Each module of `consumers` named there defines its consumer as `CONSUMER`, or as
`consumer(mail)` when it needs the mail server's options.
"""

import importlib
from types import ModuleType

from consumers.mailer import MailOptions
from consumers.runtime.definition import Consumer

SIDE_EFFECTS = ("notifications", "analytics", "loyalty")


def all_consumers(mail: MailOptions | None = None) -> list[Consumer]:
    modules = [importlib.import_module(f"consumers.{name}") for name in SIDE_EFFECTS]
    return [_consumer_of(module, mail or MailOptions()) for module in modules]


def select(consumers: list[Consumer], names: list[str] | None) -> list[Consumer]:
    """The consumers called `names` (all when None); an unknown name is an error."""
    if not names:
        return consumers
    known = {c.name: c for c in consumers}
    unknown = sorted(set(names) - set(known))
    if unknown:
        raise ValueError(f"unknown consumer(s) {', '.join(unknown)}; known: {', '.join(known)}")
    return [known[n] for n in names]


def _consumer_of(module: ModuleType, mail: MailOptions) -> Consumer:
    made = (
        module.consumer(mail) if hasattr(module, "consumer") else getattr(module, "CONSUMER", None)
    )
    if not isinstance(made, Consumer):
        raise TypeError(f"{module.__name__} defines neither CONSUMER nor consumer(mail)")
    return made
