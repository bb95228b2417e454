"""A charged order never loses its email because of its address: international and quoted
addresses are delivered (SMTPUTF8) through the stack's debugging mail server; an address no
mail system could deliver to is dead-lettered at once with the reason, never retried."""

from email import message_from_string, policy

import pytest

from activities.publisher import EventPublisher
from consumers import notifications
from infra.mailserver import stored_emails
from tests.support.consumers import completed, count, dead_letters, store_of
from tests.support.servers import Mail
from tests.support.waits import until
from workers.bootstrap import registered, running_consumers
from workers.runtime.settings import Settings

pytestmark = pytest.mark.integration


def _received(mail: Mail, event_id: str) -> list[str]:
    """The To: headers of the emails the mail server stored for `event_id`."""
    found = []
    for path in stored_emails(mail.folder):
        if event_id in path.name:
            parsed = message_from_string(path.read_bytes().decode(), policy=policy.default)
            found.append(str(parsed["To"]))
    return found


@pytest.mark.parametrize(
    ("address", "to"),
    [
        ("jörg@example.de", "jörg@example.de"),
        ('"john doe"@example.com', '"john doe"@example.com'),
        ("info@bücher.de", "info@xn--bcher-kva.de"),
        ("用户@例子.广告", "用户@xn--fsqu00a.xn--4rr70v"),
    ],
)
async def test_an_unusual_but_legal_address_gets_its_email(
    settings: Settings, publisher: EventPublisher, mail: Mail, address: str, to: str
) -> None:
    event = completed(email=address)
    async with running_consumers(settings, names=[notifications.NAME]):
        await publisher.publish(event)
        await until(lambda: bool(_received(mail, event.event_id)), what="email")
    assert _received(mail, event.event_id) == [to]


async def test_an_undeliverable_address_is_dead_lettered_at_once_with_the_reason(
    settings: Settings, publisher: EventPublisher
) -> None:
    bad, good = completed(email="nobody@localhost"), completed()
    store = store_of(settings, registered(settings, [notifications.NAME])[0])
    async with running_consumers(settings, names=[notifications.NAME]):
        await publisher.publish(bad)
        await publisher.publish(good)
        dead = await dead_letters(settings, notifications.NAME, 1)
        await until(lambda: count(store, "SELECT count(*) FROM outbox") == 1, what="good")
    assert [d.message_id for d in dead] == [bad.event_id]
    assert dead[0].attempts == 0
    assert dead[0].reason.startswith("undeliverable recipient address: ")
