"""Every side effect, in one place: a new consumer is one module plus one line here."""

from consumers import analytics, loyalty, notifications
from consumers.mailer import MailOptions
from consumers.runtime.definition import Consumer


def all_consumers(mail: MailOptions | None = None) -> list[Consumer]:
    return [
        notifications.consumer(mail or MailOptions()),
        analytics.CONSUMER,
        loyalty.CONSUMER,
    ]


def select(consumers: list[Consumer], names: list[str] | None) -> list[Consumer]:
    """The consumers called `names` (all when None); an unknown name is an error."""
    if not names:
        return consumers
    known = {c.name: c for c in consumers}
    unknown = sorted(set(names) - set(known))
    if unknown:
        raise ValueError(f"unknown consumer(s) {', '.join(unknown)}; known: {', '.join(known)}")
    return [known[n] for n in names]
