"""The consumer tests run on the session's broker, each with its own exchange, consumer queues,
data folder and mail server, and consumers that retry within the test's patience."""

from collections.abc import AsyncIterator

import pytest

from activities.publisher import EventPublisher
from tests.support.servers import Mail, quick_consumers
from workers.runtime.settings import Settings


@pytest.fixture
def settings(settings: Settings, mail: Mail) -> Settings:
    return quick_consumers(settings, mail).model_copy(update={"publish_timeout_seconds": 5})


@pytest.fixture
async def publisher(settings: Settings) -> AsyncIterator[EventPublisher]:
    publisher = EventPublisher(settings.amqp_url, settings.exchange, timeout=5)
    yield publisher
    await publisher.close()
